package sign

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign/signtest"
)

// FuzzVerifyKeyless verifies arbitrary bundles against a trust policy with
// keyless identities and the corpus's public-good trusted root (which also
// holds timestamp authorities, so the timestamps of key bundles are
// checked too).
func FuzzVerifyKeyless(f *testing.F) {
	k := fuzzKey(f)
	tr, err := ParseTrustedRoot(readFile(f, filepath.Join(corpusSigstore, "sigstore-go_trusted-root_public-good.json")))
	if err != nil {
		f.Fatal(err)
	}
	trust := Trust{
		Keys:        []*PublicKey{k.Public()},
		Identities:  []Identity{{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/.*`}},
		TrustedRoot: tr,
	}
	for _, b := range corpusFiles(f, corpusSigstore) {
		f.Add(b)
	}
	f.Add(signStatement(f, k, testStatement(f, "firmware.bin")))

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
		switch {
		case v.Certificate != nil:
			if v.Certificate.Issuer != githubIssuer || v.SignerIdentity != githubIssuer+"|"+v.Certificate.Subject || len(v.Timestamps) == 0 {
				t.Fatalf("keyless result %+v", v)
			}
		case v.SignerKeyID != k.Public().ID():
			t.Fatalf("key result %+v", v)
		}
	})
}

func FuzzTrustedRootFromTSAChain(f *testing.F) {
	tsa := signtest.NewTSA(f)
	f.Add(tsa.ChainPEM())
	f.Add(signtest.CertPEM(tsa.Intermediate, tsa.Root))
	f.Add(signtest.CertPEM(tsa.Root))
	f.Add(signtest.CertPEM(tsa.Root, tsa.Leaf))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, chain []byte) {
		tr, err := TrustedRootFromTSAChain(chain)
		if err != nil {
			if k := evidence.KindOf(err); k != evidence.KindInvalid {
				t.Fatalf("error kind %s: %v", k, err)
			}
			return
		}
		if len(tr.TimestampingAuthorities()) != 1 {
			t.Fatalf("%d timestamp authorities", len(tr.TimestampingAuthorities()))
		}
		js, err := tr.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		if _, err := ParseTrustedRoot(js); err != nil {
			t.Fatalf("the written trusted root does not read back: %v\n%s", err, js)
		}
	})
}

func FuzzParseTrustedRoot(f *testing.F) {
	for _, b := range corpusFiles(f, corpusSigstore) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, parse := range []func([]byte) error{
			func(b []byte) error { _, err := ParseTrustedRoot(b); return err },
			func(b []byte) error { _, err := ParseSigningConfig(b); return err },
		} {
			if err := parse(data); err != nil && evidence.KindOf(err) != evidence.KindInvalid {
				t.Fatalf("error kind %s: %v", evidence.KindOf(err), err)
			}
		}
	})
}
