package sign

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// fuzzKey is a fixed Ed25519 key, so that bundles signed with it in one run
// still verify when the fuzzer replays them in another.
func fuzzKey(t testing.TB) *PrivateKey {
	t.Helper()
	seed := bytes.Repeat([]byte{0x5e}, ed25519.SeedSize)
	k, err := newPrivateKey(ed25519.NewKeyFromSeed(seed), false)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// corpusFiles returns the contents of every file in dir.
func corpusFiles(t testing.TB, dir string) [][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzDecodeStatement(f *testing.F) {
	for _, dir := range []string{corpusSigstore, corpusProvenance} {
		for _, b := range corpusFiles(f, dir) {
			f.Add(b)
		}
	}
	for _, name := range []string{
		"sigstore/conformance_bundle-v0.3_github-actions-slsa-v1_dsse.json",
		"sigstore/trivy_cosign-bundle-v0.3_cyclonedx-attestation.json",
		"provenance/chainloop_dsse_statement-v1_custom-predicate.json",
		"provenance/google-bcid_vsa-v1_dsse.jsonl",
	} {
		f.Add(corpusPayload(f, filepath.Join("../../testdata/corpus", name)))
	}
	p, err := testStatement(f, "a", "b").Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p)

	f.Fuzz(func(t *testing.T, payload []byte) {
		st, err := DecodeStatement(payload)
		if err != nil {
			if k := evidence.KindOf(err); k != evidence.KindInvalid {
				t.Fatalf("error kind %s: %v", k, err)
			}
			return
		}
		// Whatever decodes encodes, and decodes again to the same.
		enc, err := st.Encode()
		if err != nil {
			t.Fatalf("decoded statement does not encode: %v", err)
		}
		again, err := DecodeStatement(enc)
		if err != nil {
			t.Fatalf("encoded statement does not decode: %v\n%s", err, enc)
		}
		if diff := cmp.Diff(st, again, digestCmp); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func FuzzVerify(f *testing.F) {
	k := fuzzKey(f)
	trust := Trust{Keys: []*PublicKey{k.Public()}}
	for _, b := range corpusFiles(f, corpusSigstore) {
		f.Add(b)
	}
	f.Add(signStatement(f, k, testStatement(f, "firmware.bin", "app.apk")))
	f.Add(signStatement(f, mustGenerate(f, AlgECDSAP256), testStatement(f)))

	f.Fuzz(func(t *testing.T, bundle []byte) {
		v, err := Verify(context.Background(), bundle, trust)
		if err != nil {
			if k := evidence.KindOf(err); k != evidence.KindInvalid && k != evidence.KindVerification {
				t.Fatalf("error kind %s: %v", k, err)
			}
			if v != nil {
				t.Fatal("result returned with an error")
			}
			return
		}
		if v.SignerKeyID != k.Public().ID() || v.Statement == nil {
			t.Fatalf("verified %+v", v)
		}
		// Only canonical statements were ever signed with this key.
		enc, err := v.Statement.Encode()
		if err != nil || !bytes.Equal(enc, v.Payload) {
			t.Fatalf("verified payload is not the statement's encoding (%v):\n%s\n%s", err, v.Payload, enc)
		}
	})
}
