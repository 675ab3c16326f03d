package sign

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

func signStatement(t testing.TB, k *PrivateKey, st Statement) []byte {
	t.Helper()
	payload, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewKeySigner(k).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bundleDoc is a bundle as generic JSON, for tampering with.
type bundleDoc map[string]any

func parseDoc(t testing.TB, b []byte) bundleDoc {
	t.Helper()
	var d bundleDoc
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d bundleDoc) obj(path ...string) map[string]any {
	m := map[string]any(d)
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func (d bundleDoc) sigs() []any { return d.obj("dsseEnvelope")["signatures"].([]any) }

func (d bundleDoc) bytes(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			st := testStatement(t, "firmware.bin", "app.apk")
			payload, err := st.Encode()
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewKeySigner(k).Sign(context.Background(), payload)
			if err != nil {
				t.Fatal(err)
			}

			// The shape cosign and other Sigstore clients expect.
			d := parseDoc(t, b)
			if d["mediaType"] != "application/vnd.dev.sigstore.bundle.v0.3+json" {
				t.Errorf("mediaType %v", d["mediaType"])
			}
			if hint := d.obj("verificationMaterial", "publicKey")["hint"]; hint != k.Public().ID() {
				t.Errorf("key hint %v, want %s", hint, k.Public().ID())
			}
			env := d.obj("dsseEnvelope")
			if env["payloadType"] != "application/vnd.in-toto+json" || len(d.sigs()) != 1 {
				t.Errorf("envelope %v", env)
			}
			if got, _ := base64.StdEncoding.DecodeString(env["payload"].(string)); string(got) != string(payload) {
				t.Errorf("DSSE payload is not the encoded statement:\n%s", got)
			}

			other := mustGenerate(t, AlgECDSAP256)
			v, err := Verify(context.Background(), b, Trust{Keys: []*PublicKey{other.Public(), k.Public()}})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if diff := cmp.Diff(&st, v.Statement, digestCmp); diff != "" {
				t.Errorf("verified statement (-want +got):\n%s", diff)
			}
			if string(v.Payload) != string(payload) {
				t.Errorf("Payload differs from what was signed")
			}
			if v.SignerKeyID != k.Public().ID() {
				t.Errorf("SignerKeyID %s, want %s", v.SignerKeyID, k.Public().ID())
			}
		})
	}
}

func TestSignRefusesInvalidPayload(t *testing.T) {
	k := mustGenerate(t, AlgECDSAP256)
	tests := []struct{ name, payload, want string }{
		{"not a statement", `{"hello":"world"}`, `unknown field "hello"`},
		{"statement v0.1", `{"_type":"https://in-toto.io/Statement/v0.1","subject":[],"predicateType":"https://x.dev/p","predicate":{}}`, `_type "https://in-toto.io/Statement/v0.1" is not supported`},
		{"no subjects", `{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://x.dev/p","predicate":{}}`, "no subjects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewKeySigner(k).Sign(context.Background(), []byte(tc.payload))
			checkErr(t, err, evidence.KindInvalid, "refusing to sign: statement: "+tc.want)
		})
	}
	t.Run("nil key", func(t *testing.T) {
		p, _ := testStatement(t).Encode()
		_, err := NewKeySigner(nil).Sign(context.Background(), p)
		checkErr(t, err, evidence.KindInvalid, "no signing key")
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		p, _ := testStatement(t).Encode()
		if _, err := NewKeySigner(k).Sign(ctx, p); err != context.Canceled {
			t.Errorf("Sign with a cancelled context: %v", err)
		}
	})
}

func TestVerifyRejects(t *testing.T) {
	ctx := context.Background()
	signer := mustGenerate(t, AlgECDSAP256)
	other := mustGenerate(t, AlgEd25519)
	good := signStatement(t, signer, testStatement(t))
	trustSigner := Trust{Keys: []*PublicKey{signer.Public()}}
	trustOther := Trust{Keys: []*PublicKey{other.Public()}}

	// A statement evident would not write, signed by the trusted key
	// without the signer's own check.
	v01 := rawDSSEBundle(t, signer, []byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"name":"a","digest":{"sha256":"`+digest.FromBytes(nil).Hex()+`"}}],"predicateType":"https://x.dev/p","predicate":{}}`))

	tamper := func(f func(d bundleDoc)) []byte {
		d := parseDoc(t, good)
		f(d)
		return d.bytes(t)
	}
	otherPayload, _ := testStatement(t, "other.bin").Encode()

	tests := []struct {
		name   string
		bundle []byte
		trust  Trust
		kind   evidence.Kind
		want   string
	}{
		{"payload replaced", tamper(func(d bundleDoc) {
			d.obj("dsseEnvelope")["payload"] = base64.StdEncoding.EncodeToString(otherPayload)
		}), trustSigner, evidence.KindVerification, "signature does not verify with trusted key " + signer.Public().ID()},
		{"signature altered", tamper(func(d bundleDoc) {
			s := d.sigs()[0].(map[string]any)
			sig, _ := base64.StdEncoding.DecodeString(s["sig"].(string))
			sig[len(sig)/2] ^= 1
			s["sig"] = base64.StdEncoding.EncodeToString(sig)
		}), trustSigner, evidence.KindVerification, "signature does not verify"},
		{"signed by an untrusted key", good, trustOther, evidence.KindVerification, `signed by an unknown key "` + signer.Public().ID() + `"`},
		{"hint names a trusted key that did not sign", tamper(func(d bundleDoc) {
			d.obj("verificationMaterial", "publicKey")["hint"] = other.Public().ID()
		}), trustOther, evidence.KindVerification, "signature does not verify with trusted key " + other.Public().ID() + " named by the bundle"},
		{"no hint, untrusted key", tamper(func(d bundleDoc) {
			d.obj("verificationMaterial", "publicKey")["hint"] = ""
		}), trustOther, evidence.KindVerification, "signed by an unknown key (the bundle has no key hint)"},
		{"empty trust", good, Trust{}, evidence.KindVerification, "no trusted keys"},
		{"nil trusted key", good, Trust{Keys: []*PublicKey{nil}}, evidence.KindInvalid, "trusted key 0 is nil"},
		{"payload type changed", tamper(func(d bundleDoc) {
			d.obj("dsseEnvelope")["payloadType"] = "text/plain"
		}), trustSigner, evidence.KindInvalid, `DSSE payloadType is "text/plain"`},
		{"two signatures", tamper(func(d bundleDoc) {
			env := d.obj("dsseEnvelope")
			env["signatures"] = append(d.sigs(), d.sigs()[0])
		}), trustSigner, evidence.KindInvalid, "DSSE envelope has 2 signatures"},
		{"no signature", tamper(func(d bundleDoc) {
			d.obj("dsseEnvelope")["signatures"] = []any{}
		}), trustSigner, evidence.KindInvalid, "DSSE envelope has 0 signatures"},
		{"empty signature", tamper(func(d bundleDoc) {
			d.sigs()[0].(map[string]any)["sig"] = ""
		}), trustSigner, evidence.KindInvalid, "DSSE signature is empty"},
		{"empty payload", tamper(func(d bundleDoc) {
			d.obj("dsseEnvelope")["payload"] = ""
		}), trustSigner, evidence.KindInvalid, "DSSE payload is empty"},
		{"message signature instead of DSSE", tamper(func(d bundleDoc) {
			delete(d, "dsseEnvelope")
			d["messageSignature"] = map[string]any{
				"messageDigest": map[string]any{"algorithm": "SHA2_256", "digest": base64.StdEncoding.EncodeToString(make([]byte, 32))},
				"signature":     base64.StdEncoding.EncodeToString([]byte("sig")),
			}
		}), trustSigner, evidence.KindInvalid, "bundle holds a message signature, not a DSSE envelope"},
		{"bundle v0.2", tamper(func(d bundleDoc) {
			d["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2"
		}), trustSigner, evidence.KindInvalid, "Sigstore bundle version 0.2 is not supported"},
		{"bundle v0.4", tamper(func(d bundleDoc) {
			d["mediaType"] = "application/vnd.dev.sigstore.bundle.v0.4+json"
		}), trustSigner, evidence.KindInvalid, `mediaType "application/vnd.dev.sigstore.bundle.v0.4+json"`},
		{"no mediaType", tamper(func(d bundleDoc) { delete(d, "mediaType") }), trustSigner, evidence.KindInvalid, "mediaType is missing"},
		{"unknown bundle field", tamper(func(d bundleDoc) { d["extra"] = 1 }), trustSigner, evidence.KindInvalid, `unknown field "extra"`},
		{"no verification material", tamper(func(d bundleDoc) { delete(d, "verificationMaterial") }), trustSigner, evidence.KindInvalid, "missing verification material"},
		{"not JSON", []byte("hello"), trustSigner, evidence.KindInvalid, "malformed Sigstore bundle"},
		{"empty input", nil, trustSigner, evidence.KindInvalid, "bundle is empty"},
		{"JSON null", []byte("null"), trustSigner, evidence.KindInvalid, "malformed Sigstore bundle"},
		{"empty JSON object", []byte("{}"), trustSigner, evidence.KindInvalid, "mediaType is missing"},
		{"too large", make([]byte, MaxBundleSize+1), trustSigner, evidence.KindInvalid, "more than the"},
		{"trusted key signed a statement v0.1", v01, trustSigner, evidence.KindInvalid, `signed payload: statement: _type "https://in-toto.io/Statement/v0.1" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Verify(ctx, tc.bundle, tc.trust)
			if v != nil {
				t.Errorf("Verify returned a result with its error")
			}
			checkErr(t, err, tc.kind, tc.want)
		})
	}
}

// A bundle from another tool carries another hint format (cosign: base64
// of the SHA-256) or none; the hint only orders the keys tried.
func TestVerifyIgnoresForeignHint(t *testing.T) {
	k := mustGenerate(t, AlgEd25519)
	for _, hint := range []string{"", "8pAwJqwaeA3ofuHd1rT1vhF2TxfpRvjR93h+zdx7a+8=", mustGenerate(t, AlgECDSAP256).Public().ID()} {
		d := parseDoc(t, signStatement(t, k, testStatement(t)))
		d.obj("verificationMaterial", "publicKey")["hint"] = hint
		v, err := Verify(context.Background(), d.bytes(t), Trust{Keys: []*PublicKey{mustGenerate(t, AlgECDSAP256).Public(), k.Public()}})
		if err != nil {
			t.Fatalf("hint %q: %v", hint, err)
		}
		if v.SignerKeyID != k.Public().ID() {
			t.Errorf("hint %q: SignerKeyID %s", hint, v.SignerKeyID)
		}
	}
}

func TestVerifyAcceptsLegacyV03MediaType(t *testing.T) {
	k := mustGenerate(t, AlgECDSAP256)
	d := parseDoc(t, signStatement(t, k, testStatement(t)))
	d["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.3" // as cosign writes it
	if _, err := Verify(context.Background(), d.bytes(t), Trust{Keys: []*PublicKey{k.Public()}}); err != nil {
		t.Fatal(err)
	}
}

func mustKeypair(t testing.TB, k *PrivateKey) *keypair {
	t.Helper()
	kp, err := newKeypair(k)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// rawDSSEBundle signs payload without checking that it is a statement.
func rawDSSEBundle(t testing.TB, k *PrivateKey, payload []byte) []byte {
	t.Helper()
	pb, err := sgsign.Bundle(&sgsign.DSSEData{Data: payload, PayloadType: PayloadType}, mustKeypair(t, k), sgsign.BundleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
