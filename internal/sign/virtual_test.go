package sign

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/evident-dev/evident/internal/evidence"
)

// noCTLogs hides the VirtualSigstore's CT log: it lists one but issues
// certificates without SCTs, and Verify requires an SCT from any CT log
// the trusted root names.
type noCTLogs struct{ *ca.VirtualSigstore }

func (noCTLogs) CTLogs() map[string]*root.TransparencyLog { return nil }

// virtualBundle has the VirtualSigstore attest payload for identity and
// issuer (certificate, RFC 3161 timestamp, Rekor entry with inclusion
// proof) and returns it as a bundle v0.3.
func virtualBundle(t *testing.T, vs *ca.VirtualSigstore, identity, issuer string, payload []byte) []byte {
	t.Helper()
	ent, err := vs.AttestAtTime(identity, issuer, payload, time.Now().Add(time.Minute), true)
	if err != nil {
		t.Fatal(err)
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		t.Fatal(err)
	}
	env := sc.(*sgbundle.Envelope).RawEnvelope()
	pl, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	tss, _ := ent.Timestamps()
	entries, _ := ent.TlogEntries()
	pb := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:                   &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: vc.Certificate().Raw}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: pl, PayloadType: env.PayloadType, Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	for _, ts := range tss {
		pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps, &protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	for _, e := range entries {
		// The entry's proto form lacks what tlog.NewEntry keeps aside:
		// its kind and its signed entry timestamp, which the
		// VirtualSigstore signs again on request.
		tle := proto.Clone(e.TransparencyLogEntry()).(*protorekor.TransparencyLogEntry)
		tle.KindVersion = &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"}
		set, err := vs.RekorSignPayload(tlog.RekorPayload{
			Body:           base64.StdEncoding.EncodeToString(tle.CanonicalizedBody),
			IntegratedTime: tle.IntegratedTime,
			LogIndex:       tle.LogIndex,
			LogID:          hex.EncodeToString(tle.LogId.KeyId),
		})
		if err != nil {
			t.Fatal(err)
		}
		tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
		pb.VerificationMaterial.TlogEntries = append(pb.VerificationMaterial.TlogEntries, tle)
	}
	b, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bundles of sigstore-go's virtual Sigstore (Fulcio, TSA and Rekor in one)
// verify by identity, with the time from the TSA and from Rekor.
func TestVerifyVirtualSigstore(t *testing.T) {
	ctx := context.Background()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	const (
		subject = "release-manager@acme.example"
		issuer  = "https://accounts.acme.example"
	)
	payload, _ := testStatement(t, "firmware.bin").Encode()
	full := virtualBundle(t, vs, subject, issuer, payload)
	without := func(field string) []byte {
		d := parseDoc(t, full)
		delete(d.obj("verificationMaterial"), field)
		return d.bytes(t)
	}
	tm := noCTLogs{vs}
	trust := Trust{Identities: []Identity{{Issuer: issuer, Subject: subject}}, TrustedRoot: tm}

	t.Run("timestamp and log entry", func(t *testing.T) {
		v, err := Verify(ctx, full, trust)
		if err != nil {
			t.Fatal(err)
		}
		var sources []string
		for _, ts := range v.Timestamps {
			sources = append(sources, ts.Source)
		}
		if len(sources) != 2 || sources[0] != TimeSourceTSA || sources[1] != TimeSourceRekor {
			t.Fatalf("timestamp sources %v, want [rfc3161 rekor]", sources)
		}
		if v.SignerIdentity != issuer+"|"+subject {
			t.Errorf("SignerIdentity %q", v.SignerIdentity)
		}
		if at, _ := v.SigningTime(); !at.Equal(v.Timestamps[0].Time) {
			t.Errorf("SigningTime %v, want the TSA's %v", at, v.Timestamps[0].Time)
		}
	})
	t.Run("log entry only", func(t *testing.T) {
		b := without("timestampVerificationData")
		v, err := Verify(ctx, b, trust)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Timestamps) != 1 || v.Timestamps[0].Source != TimeSourceRekor {
			t.Errorf("Timestamps %+v, want Rekor's only", v.Timestamps)
		}
		req := trust
		req.RequireTimestamp = true
		_, err = Verify(ctx, b, req)
		checkErr(t, err, evidence.KindVerification, "the bundle carries no RFC 3161 timestamp from a trusted timestamp authority, and the trust policy requires one")
	})
	t.Run("timestamp only", func(t *testing.T) {
		v, err := Verify(ctx, without("tlogEntries"), trust)
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Timestamps) != 1 || v.Timestamps[0].Source != TimeSourceTSA {
			t.Errorf("Timestamps %+v, want the TSA's only", v.Timestamps)
		}
	})

	rejects := []struct {
		name   string
		bundle []byte
		trust  Trust
		want   string
	}{
		{"wrong subject", full, Trust{Identities: []Identity{{Issuer: issuer, Subject: "someone-else@acme.example"}}, TrustedRoot: tm}, `signed by "release-manager@acme.example"`},
		{"wrong issuer", full, Trust{Identities: []Identity{{Issuer: "https://accounts.other.example", SubjectRegexp: ".*@acme\\.example"}}, TrustedRoot: tm}, `(OIDC issuer "https://accounts.acme.example"), which matches none`},
		{"no identities", full, Trust{Keys: []*PublicKey{mustGenerate(t, AlgEd25519).Public()}, TrustedRoot: tm}, "only keys are trusted"},
		{"CT log without SCT", full, Trust{Identities: trust.Identities, TrustedRoot: vs}, "failed to verify signed certificate timestamp"},
		{"log entry from an untrusted log", without("timestampVerificationData"), Trust{Identities: trust.Identities, TrustedRoot: withoutRekor{tm}}, "failed to verify log inclusion"},
		{"neither timestamp nor log entry", func() []byte {
			d := parseDoc(t, full)
			delete(d.obj("verificationMaterial"), "timestampVerificationData")
			delete(d.obj("verificationMaterial"), "tlogEntries")
			return d.bytes(t)
		}(), trust, "has no trusted time"},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(ctx, tc.bundle, tc.trust)
			checkErr(t, err, evidence.KindVerification, tc.want)
		})
	}
}

// withoutRekor hides the Rekor logs of a trusted root.
type withoutRekor struct{ root.TrustedMaterial }

func (withoutRekor) RekorLogs() map[string]*root.TransparencyLog { return nil }

func TestSigningTime(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tsa := func(d time.Duration) TrustedTime { return TrustedTime{Time: t0.Add(d), Source: TimeSourceTSA} }
	rekor := func(d time.Duration) TrustedTime { return TrustedTime{Time: t0.Add(d), Source: TimeSourceRekor} }
	tests := []struct {
		name string
		ts   []TrustedTime
		want time.Time
		ok   bool
	}{
		{"none", nil, time.Time{}, false},
		{"Rekor only: the earliest", []TrustedTime{rekor(time.Minute), rekor(0)}, t0, true},
		{"a TSA's time wins over an earlier Rekor time", []TrustedTime{rekor(-time.Hour), tsa(time.Minute)}, t0.Add(time.Minute), true},
		{"the earliest of two TSAs", []TrustedTime{tsa(2 * time.Second), tsa(time.Second), rekor(0)}, t0.Add(time.Second), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := (&Verified{Timestamps: tc.ts}).SigningTime()
			if !got.Equal(tc.want) || ok != tc.ok {
				t.Errorf("SigningTime = %v, %v; want %v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
