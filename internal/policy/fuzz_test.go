package policy_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

// FuzzLoad: Load never panics, errors are invalid-input errors, and an
// accepted policy file yields a valid policy whose canonical encoding
// decodes to the same policy.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"name: acme-62304-v3\nrules:\n  soup.manufacturer: {B: required}\n  tests.system: {A: warn}\n",
		"name: acme\napprovals:\n  B: {roles: [release-manager, qa], distinct: true}\nallowUnencryptedApproverKeys: true\n",
		"name: acme\nrules:\n  tests.system: {D: warn}\n",
		"name: acme\nrulez: {}\n",
		"name: acme\n---\nname: b\n",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := policy.Load(strings.NewReader(in))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("Load returned an invalid policy: %v", err)
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := policy.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("the encoding of a loaded policy does not decode: %v\n%s", err, b)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("Decode(Encode(p)) differs (-want +got):\n%s", diff)
		}
	})
}

// FuzzDecode: Decode never panics, and what it accepts re-encodes to a
// document that decodes to the same policy.
func FuzzDecode(f *testing.F) {
	def, err := policy.Default().Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add(bytes.Replace(def, []byte(`"A": "warn"`), []byte(`"A": "maybe"`), 1))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := policy.Decode(bytes.NewReader(in))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		b, err := p.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := policy.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("re-encoded policy does not decode: %v", err)
		}
		if diff := cmp.Diff(p, back); diff != "" {
			t.Fatalf("round trip differs (-want +got):\n%s", diff)
		}
	})
}
