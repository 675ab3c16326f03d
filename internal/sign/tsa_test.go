package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign/signtest"
)

func mustTSARoot(t testing.TB, chainPEM []byte) *root.TrustedRoot {
	t.Helper()
	tr, err := TrustedRootFromTSAChain(chainPEM)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func mustKeySigner(t testing.TB, k *PrivateKey, opts KeySignerOptions) Signer {
	t.Helper()
	s, err := NewKeySignerWithOptions(k, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Key-signed releases and approvals carry trusted time when a TSA is
// configured; a key-based Trust checks it against the TSA's chain.
func TestKeySignerTimestamp(t *testing.T) {
	ctx := context.Background()
	tsa := signtest.NewTSA(t)
	other := signtest.NewTSA(t)
	tsaRoot := mustTSARoot(t, tsa.ChainPEM())
	k := mustGenerate(t, AlgECDSAP256)
	keys := []*PublicKey{k.Public()}
	payload, _ := testStatement(t).Encode()

	before := time.Now().Add(-time.Second)
	stamped, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{tsa.URL()}, TrustedRoot: tsaRoot}).Sign(ctx, payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	plain, err := NewKeySigner(k).Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := parseDoc(t, plain).obj("verificationMaterial")["timestampVerificationData"]; ok {
		t.Error("NewKeySigner's bundle carries a timestamp")
	}

	t.Run("verified against the TSA chain", func(t *testing.T) {
		v, err := Verify(ctx, stamped, Trust{Keys: keys, TrustedRoot: tsaRoot, RequireTimestamp: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Timestamps) != 1 || v.Timestamps[0].Source != TimeSourceTSA || v.UncheckedTimestamps != 0 {
			t.Fatalf("Timestamps %+v, unchecked %d", v.Timestamps, v.UncheckedTimestamps)
		}
		if at := v.Timestamps[0].Time; at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
			t.Errorf("timestamp %v, want about now", at)
		}
		if v.SignerKeyID != k.Public().ID() || v.SignerIdentity != k.Public().ID() || v.Certificate != nil {
			t.Errorf("signer %q / %q / %v", v.SignerKeyID, v.SignerIdentity, v.Certificate)
		}
	})
	t.Run("key only: timestamp counted, not checked", func(t *testing.T) {
		v, err := Verify(ctx, stamped, Trust{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Timestamps) != 0 || v.UncheckedTimestamps != 1 {
			t.Errorf("Timestamps %+v, unchecked %d; want none checked, 1 unchecked", v.Timestamps, v.UncheckedTimestamps)
		}
	})
	t.Run("the TSA chain combined with another trusted root", func(t *testing.T) {
		tm := root.TrustedMaterialCollection{signtest.TrustedRoot(t, signtest.NewCA(t)), tsaRoot}
		if _, err := Verify(ctx, stamped, Trust{Keys: keys, TrustedRoot: tm, RequireTimestamp: true}); err != nil {
			t.Fatal(err)
		}
	})

	corrupt := func() []byte {
		d := parseDoc(t, stamped)
		ts := d.obj("verificationMaterial", "timestampVerificationData")["rfc3161Timestamps"].([]any)[0].(map[string]any)
		raw, _ := base64.StdEncoding.DecodeString(ts["signedTimestamp"].(string))
		raw[len(raw)-10] ^= 1
		ts["signedTimestamp"] = base64.StdEncoding.EncodeToString(raw)
		return d.bytes(t)
	}()
	otherKey := mustGenerate(t, AlgEd25519)
	rejects := []struct {
		name   string
		bundle []byte
		trust  Trust
		kind   evidence.Kind
		want   string
	}{
		{"another TSA's chain", stamped, Trust{Keys: keys, TrustedRoot: mustTSARoot(t, other.ChainPEM())}, evidence.KindVerification, "RFC 3161 timestamp does not verify against the trusted timestamp authorities"},
		{"timestamp corrupted", corrupt, Trust{Keys: keys, TrustedRoot: tsaRoot}, evidence.KindVerification, "RFC 3161 timestamp does not verify"},
		{"timestamp required, none in the bundle", plain, Trust{Keys: keys, TrustedRoot: tsaRoot, RequireTimestamp: true}, evidence.KindVerification, "the bundle carries no RFC 3161 timestamp from a trusted timestamp authority"},
		{"timestamp required, no TSA trusted", stamped, Trust{Keys: keys, RequireTimestamp: true}, evidence.KindInvalid, "a timestamp is required, but the trusted root has no timestamp authority"},
		{"timestamped, but by another key", stamped, Trust{Keys: []*PublicKey{otherKey.Public()}, TrustedRoot: tsaRoot}, evidence.KindVerification, "signed by an unknown key"},
		{"only keyless identities trusted", stamped, Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: ".*"}}, TrustedRoot: signtest.TrustedRoot(t, signtest.NewCA(t), tsa)}, evidence.KindVerification, "bundle is signed with a key, but only keyless identities are trusted"},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Verify(ctx, tc.bundle, tc.trust)
			if v != nil {
				t.Error("Verify returned a result with its error")
			}
			checkErr(t, err, tc.kind, tc.want)
		})
	}
}

func TestKeySignerTimestampFailures(t *testing.T) {
	ctx := context.Background()
	k := mustGenerate(t, AlgEd25519)
	payload, _ := testStatement(t).Encode()

	t.Run("TSA down", func(t *testing.T) {
		u := closedPortURL(t) + "/api/v1/timestamp"
		b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{u}}).Sign(ctx, payload)
		if b != nil || err == nil {
			t.Fatalf("bundle %v, error %v", b != nil, err)
		}
		if want := "get an RFC 3161 timestamp from " + u + ": dial tcp"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %q, want %q ... connection refused", err, want)
		}
	})
	t.Run("TSA answers an error", func(t *testing.T) {
		srv := newStatusServer(t, http.StatusBadRequest, "unsupported hash")
		b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{srv}}).Sign(ctx, payload)
		if b != nil || err == nil || !strings.Contains(err.Error(), "get an RFC 3161 timestamp from "+srv+": timestamp authority returned 400: unsupported hash") {
			t.Errorf("bundle %v, error %v", b != nil, err)
		}
	})
	t.Run("TSA answers garbage", func(t *testing.T) {
		srv := newStatusServer(t, http.StatusOK, "not a timestamp response")
		b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{srv}}).Sign(ctx, payload)
		if b != nil || err == nil || !strings.Contains(err.Error(), "get an RFC 3161 timestamp from "+srv+": ") {
			t.Errorf("bundle %v, error %v", b != nil, err)
		}
	})
	t.Run("a TSA the trusted root does not know", func(t *testing.T) {
		tsa, other := signtest.NewTSA(t), signtest.NewTSA(t)
		_, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{tsa.URL()}, TrustedRoot: mustTSARoot(t, other.ChainPEM())}).Sign(ctx, payload)
		checkErr(t, err, evidence.KindInternal, "the bundle just signed does not verify: RFC 3161 timestamp does not verify")
	})
	t.Run("bad options", func(t *testing.T) {
		_, err := NewKeySignerWithOptions(k, KeySignerOptions{TSAURLs: []string{"timestamp.example"}})
		checkErr(t, err, evidence.KindInvalid, `timestamp authority URL "timestamp.example" is not an absolute http(s) URL`)
		_, err = NewKeySignerWithOptions(nil, KeySignerOptions{})
		checkErr(t, err, evidence.KindInvalid, "no signing key")
	})
}

// newStatusServer answers every request with status and body.
func newStatusServer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/api/v1/timestamp"
}

func TestTrustedRootFromTSAChain(t *testing.T) {
	tsa := signtest.NewTSA(t)
	k := mustGenerate(t, AlgECDSAP256)
	payload, _ := testStatement(t).Encode()
	stamped, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{tsa.URL()}}).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	verifies := func(t *testing.T, tm root.TrustedMaterial) {
		t.Helper()
		if _, err := Verify(context.Background(), stamped, Trust{Keys: []*PublicKey{k.Public()}, TrustedRoot: tm, RequireTimestamp: true}); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}

	t.Run("written as trusted_root.json and read back", func(t *testing.T) {
		js, err := mustTSARoot(t, tsa.ChainPEM()).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ParseTrustedRoot(js)
		if err != nil {
			t.Fatalf("ParseTrustedRoot(%s): %v", js, err)
		}
		verifies(t, tr)
	})
	t.Run("CA certificates only", func(t *testing.T) {
		// The timestamps do not carry the leaf (the signer does not ask for
		// it), so a chain without it verifies nothing.
		tr := mustTSARoot(t, signtest.CertPEM(tsa.Intermediate, tsa.Root))
		_, err := Verify(context.Background(), stamped, Trust{Keys: []*PublicKey{k.Public()}, TrustedRoot: tr})
		checkErr(t, err, evidence.KindVerification, "RFC 3161 timestamp does not verify")
	})

	keyPEM, _ := k.MarshalPKCS8PEM()
	tests := []struct {
		name string
		pem  []byte
		want string
	}{
		{"empty", nil, "certificate chain: no PEM certificate found"},
		{"not PEM", []byte("hello"), "certificate chain: unexpected data after PEM block 0"},
		{"root first", signtest.CertPEM(tsa.Root, tsa.Intermediate, tsa.Leaf), "certificate 1 (CN=sigstore,O=sigstore.dev) is not signed by certificate 2 (CN=evident-test-tsa-intermediate,O=evident test); want the chain leaf first, root last"},
		{"no root", signtest.CertPEM(tsa.Leaf, tsa.Intermediate), "the last certificate (CN=evident-test-tsa-intermediate,O=evident test) is not a self-signed root CA"},
		{"a key among the certificates", append(signtest.CertPEM(tsa.Leaf), keyPEM...), `PEM block 2 is "PRIVATE KEY", want "CERTIFICATE"`},
		{"garbage certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("garbage")}), "certificate chain: certificate 1: x509: malformed certificate"},
		{"trailing data", append(tsa.ChainPEM(), "trailer"...), "certificate chain: unexpected data after PEM block 3"},
		{"too large", bytes.Repeat([]byte("a"), MaxTrustFileSize+1), "more than the"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := TrustedRootFromTSAChain(tc.pem)
			if tr != nil {
				t.Error("a trusted root came back with the error")
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func TestParseTrustFiles(t *testing.T) {
	read := func(name string) []byte { return readFile(t, filepath.Join(corpusSigstore, name)) }
	for _, name := range []string{"sigstore-go_trusted-root_public-good.json", "cosign_trusted-root_pgi.json", "gh-cli_trusted-root_public-good-two-fulcio-cas.json", "sigstore-go_trusted-root_scaffolding.json", "conformance_trusted-root_rekor-v2.json", "conformance_trusted-root_custom-intoto.json"} {
		tr, err := ParseTrustedRoot(read(name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(tr.FulcioCertificateAuthorities()) == 0 {
			t.Errorf("%s: no Fulcio CA", name)
		}
	}
	if _, err := ParseSigningConfig(read("sigstore-go_signing-config_v0.2.json")); err != nil {
		t.Errorf("signing config: %v", err)
	}
	tests := []struct {
		name string
		data []byte
		sc   bool
		want string
	}{
		{"bundle as trusted root", read("sigstore-js_bundle-v0.3_dsse.json"), false, `not a Sigstore trusted root: mediaType "application/vnd.dev.sigstore.bundle+json;version=0.3"`},
		{"signing config as trusted root", read("sigstore-go_signing-config_v0.2.json"), false, "not a Sigstore trusted root: mediaType \"application/vnd.dev.sigstore.signingconfig.v0.2+json\""},
		{"trusted root as signing config", read("sigstore-go_trusted-root_public-good.json"), true, "not a Sigstore signing config: mediaType \"application/vnd.dev.sigstore.trustedroot+json;version=0.1\""},
		{"bad media type", read("sigstore-python_trusted-root_bad-mediaType.json"), false, `mediaType "bad-media-type"`},
		{"tlog key without validity start", read("conformance_FAIL_trusted-root-tlog-missing-validity-start.json"), false, "invalid trusted root: "},
		{"not JSON", []byte("{"), false, "trusted root is not JSON: invalid JSON at byte 1"},
		{"empty", nil, true, "signing config is empty"},
		{"no media type", []byte(`{"tlogs":[]}`), false, "not a Sigstore trusted root: mediaType is missing"},
		{"unknown field", []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","extra":1}`), false, `invalid trusted root: `},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.sc {
				_, err = ParseSigningConfig(tc.data)
			} else {
				_, err = ParseTrustedRoot(tc.data)
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

// The real timestamp authority (sigstore's timestamp-server, in-memory
// signer) on 127.0.0.1, found through EVIDENT_TIMESTAMP_SERVER, then PATH;
// without it the test skips, unless EVIDENT_TEST_NO_SKIP=1.
func TestTimestampServer(t *testing.T) {
	srv := signtest.StartTimestampServer(t)
	base := srv.URL
	ctx := context.Background()
	chain := srv.ChainPEM(t)
	tsaRoot, err := TrustedRootFromTSAChain(chain)
	if err != nil {
		t.Fatalf("TrustedRootFromTSAChain(the server's chain): %v\n%s", err, chain)
	}

	payload, _ := testStatement(t, "firmware.bin").Encode()
	for _, alg := range []string{AlgECDSAP256, AlgEd25519} {
		t.Run(alg, func(t *testing.T) {
			k := mustGenerate(t, alg)
			before := time.Now().Add(-time.Second)
			b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{base + "/api/v1/timestamp"}, TrustedRoot: tsaRoot}).Sign(ctx, payload)
			if err != nil {
				t.Fatalf("Sign with the timestamp server: %v", err)
			}
			v, err := Verify(ctx, b, Trust{Keys: []*PublicKey{k.Public()}, TrustedRoot: tsaRoot, RequireTimestamp: true})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			at, ok := v.SigningTime()
			if !ok || at.Before(before.Truncate(time.Second)) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("SigningTime %v %v, want about now", at, ok)
			}
			_, err = Verify(ctx, b, Trust{Keys: []*PublicKey{k.Public()}, TrustedRoot: mustTSARoot(t, signtest.NewTSA(t).ChainPEM())})
			checkErr(t, err, evidence.KindVerification, "RFC 3161 timestamp does not verify against the trusted timestamp authorities")
		})
	}

	t.Run("server down", func(t *testing.T) {
		srv.Stop()
		k := mustGenerate(t, AlgECDSAP256)
		b, err := mustKeySigner(t, k, KeySignerOptions{TSAURLs: []string{base + "/api/v1/timestamp"}, TrustedRoot: tsaRoot}).Sign(ctx, payload)
		if b != nil || err == nil || !strings.Contains(err.Error(), "get an RFC 3161 timestamp from "+base+"/api/v1/timestamp: ") || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Sign with the server down: bundle %v, error %v", b != nil, err)
		}
	})
}
