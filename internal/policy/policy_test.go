package policy_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

func TestLoad(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want func(p *policy.Policy) // applied to Default
	}{
		{
			name: "the README example",
			in:   "name: acme-62304-v3          # recorded in every release checked against it\nrules:\n  soup.manufacturer: {B: required}\n  tests.system: {A: warn}\n",
			want: func(p *policy.Policy) {
				p.Name = "acme-62304-v3"
				p.Rules[policy.RuleSOUPManufacturer] = policy.ByClass{A: warn, B: req, C: req}
				p.Rules[policy.RuleTestsSystem] = policy.ByClass{A: warn, B: req, C: req}
			},
		},
		{
			name: "a name only",
			in:   "name: acme\n",
			want: func(p *policy.Policy) { p.Name = "acme" },
		},
		{
			name: "every class of a rule, and off",
			in:   "name: acme\nrules:\n  changes.reviewed: {A: warn, B: required, C: required}\n  tests.unit: {C: off}\n",
			want: func(p *policy.Policy) {
				p.Name = "acme"
				p.Rules[policy.RuleChangesReviewed] = policy.ByClass{A: warn, B: req, C: req}
				p.Rules[policy.RuleTestsUnit] = policy.ByClass{A: off, B: req, C: off}
			},
		},
		{
			name: "approvals and unencrypted keys",
			in: `name: acme
approvals:
  B: {roles: [release-manager, qa], distinct: true}
  A: {roles: []}
allowUnencryptedApproverKeys: true
`,
			want: func(p *policy.Policy) {
				p.Name = "acme"
				p.Approvals[evidence.ClassB] = policy.Approvals{Roles: []string{"release-manager", "qa"}, Distinct: true}
				p.Approvals[evidence.ClassA] = policy.Approvals{Roles: []string{}}
				p.AllowUnencryptedApproverKeys = true
			},
		},
		{
			name: "an empty rules mapping",
			in:   "name: acme\nrules: {}\n",
			want: func(p *policy.Policy) { p.Name = "acme" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.Load(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			want := policy.Default()
			tc.want(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Load (-want +got):\n%s", diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("a loaded policy is invalid: %v", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"empty file", "", "policy: the file is empty"},
		{"comments only", "# nothing yet\n", "policy: the file is empty"},
		{"missing name", "rules:\n  tests.system: {A: warn}\n", "policy: name is required (it is recorded in every release checked against this policy)"},
		{"empty name", "name: ''\n", "policy: name is required"},
		{"unknown rule", "name: acme\nrules:\n  soup.vendor: {B: required}\n", `policy: rules: unknown rule "soup.vendor" (known: anomalies.acceptable, anomalies.evaluated, anomalies.listed, artifacts.digested, changes.reviewed, provenance.recorded, sbom.present, soup.designator, soup.manufacturer, soup.support, tests.integration, tests.passing, tests.system, tests.unit)`},
		{"bad class", "name: acme\nrules:\n  tests.system: {D: warn}\n", `policy: rules.tests.system: class "D": want A, B or C`},
		{"lower-case class", "name: acme\nrules:\n  tests.system: {a: warn}\n", `policy: rules.tests.system: class "a": want A, B or C`},
		{"bad requirement", "name: acme\nrules:\n  tests.system: {A: optional}\n", `policy: rules.tests.system.A: "optional": want required, warn or off`},
		{"upper-case requirement", "name: acme\nrules:\n  tests.system: {A: Required}\n", `policy: rules.tests.system.A: "Required": want required, warn or off`},
		{"boolean requirement", "name: acme\nrules:\n  tests.system: {A: no}\n", `rules.tests.system.A: "no": want required, warn or off`},
		{"unknown top-level key", "name: acme\nrulez:\n  tests.system: {A: warn}\n", `policy: line 2: unknown key "rulez"`},
		{"unknown approvals key", "name: acme\napprovals:\n  C: {roles: [qa], quorum: 2}\n", `policy: line 3: unknown key "quorum"`},
		{"rules as a list", "name: acme\nrules: [tests.system]\n", "policy: line 2: want a mapping, got a list"},
		{"a rule as a string", "name: acme\nrules:\n  tests.system: warn\n", "policy: line 3: want a mapping, got the string \"warn\""},
		{"name as a list", "name: [acme]\n", "policy: line 1: want a string, got a list"},
		{"bad boolean", "name: acme\nallowUnencryptedApproverKeys: maybe\n", "policy: line 2: want true or false, got the string \"maybe\""},
		{"approvals for an unknown class", "name: acme\napprovals:\n  D: {roles: [qa]}\n", `policy: approvals: class "D": want A, B or C`},
		{"bad role", "name: acme\napprovals:\n  C: {roles: [release manager]}\n", `policy: approvals.C.roles "release manager": use letters`},
		{"repeated key", "name: acme\nname: other\n", `mapping key "name" already defined at line 1`},
		{"malformed YAML", "name: acme\nrules: {tests.system: {A: warn}\n", "policy: "},
		{"two documents", "name: acme\n---\nname: other\nrules:\n  tests.system: {A: off}\n", "policy: a second YAML document follows the first"},
		{"too large", "name: acme\n#" + strings.Repeat("x", policy.MaxFileSize) + "\n", "policy: larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Load(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Load accepts it: %+v", p)
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %q, want invalid: %v", evidence.KindOf(err), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error lacks %q:\n%v", tc.want, err)
			}
			if strings.Contains(err.Error(), "policy.Override") || strings.Contains(err.Error(), "map[string]") {
				t.Errorf("error speaks of Go types: %v", err)
			}
		})
	}
}

// TestLoadReadsBounded: Load reads at most MaxFileSize+1 bytes of an
// endless input.
func TestLoadReadsBounded(t *testing.T) {
	src := &countingReader{r: io.MultiReader(strings.NewReader("name: acme\n#"), endless{})}
	if _, err := policy.Load(src); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want too large", err)
	}
	if src.n > policy.MaxFileSize+1 {
		t.Errorf("read %d bytes", src.n)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestOverrideChangesOutcome: a policy file changes what a release needs.
func TestOverrideChangesOutcome(t *testing.T) {
	for _, tc := range []struct {
		name     string
		override string
		mutate   func(t *testing.T, m *evidence.Manifest)
		before   string // outcome under the built-in table
		after    string
	}{
		{
			name:     "manufacturer required for class B",
			override: "name: acme\nrules:\n  soup.manufacturer: {B: required}\n",
			mutate: func(t *testing.T, m *evidence.Manifest) {
				m.Components = []evidence.Component{passing("wm-app", evidence.ClassB)}
				m.SafetyClass = evidence.ClassB
				gaps(t, &m.Components[0], evidence.SOUPGap{Field: evidence.SOUPFieldManufacturer, Count: 1, Examples: []string{"okhttp@4.12.0"}})
			},
			before: evidence.OutcomePass, after: evidence.OutcomeFail,
		},
		{
			name:     "system tests only a warning for class A",
			override: "name: acme\nrules:\n  tests.system: {A: warn}\n",
			mutate: func(t *testing.T, m *evidence.Manifest) {
				m.Components = []evidence.Component{passing("wm-dashboard", evidence.ClassA)}
				m.SafetyClass = evidence.ClassA
				m.Evidence = nil
			},
			before: evidence.OutcomeFail, after: evidence.OutcomePass,
		},
		{
			name:     "unreviewed changes only a warning for class C",
			override: "name: acme\nrules:\n  changes.reviewed: {C: warn}\n",
			mutate: func(t *testing.T, m *evidence.Manifest) {
				s := ref(t, &m.Components[0], evidence.TypeChangeReview, "").Changes
				s.Reviewed, s.Unreviewed = 4, 1
				s.UnreviewedChanges = []evidence.UnreviewedChange{{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Author: "mallory", Reason: "no pull request"}}
			},
			before: evidence.OutcomeFail, after: evidence.OutcomePass,
		},
		{
			name:     "unit tests turned off for class B",
			override: "name: acme\nrules:\n  tests.unit: {B: off}\n",
			mutate: func(t *testing.T, m *evidence.Manifest) {
				m.Components = []evidence.Component{passing("wm-app", evidence.ClassB)}
				m.SafetyClass = evidence.ClassB
				drop(&m.Components[0], evidence.TypeTestReport, evidence.LevelUnit)
			},
			before: evidence.OutcomeFail, after: evidence.OutcomePass,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Load(strings.NewReader(tc.override))
			if err != nil {
				t.Fatal(err)
			}
			m := release(passing("wm-fw", evidence.ClassC))
			tc.mutate(t, m)
			before, err := policy.Evaluate(m, policy.Default())
			if err != nil {
				t.Fatal(err)
			}
			after, err := policy.Evaluate(m, p)
			if err != nil {
				t.Fatal(err)
			}
			if before.Outcome != tc.before || after.Outcome != tc.after {
				t.Errorf("outcome %s under the default, %s under the override; want %s, %s", before.Outcome, after.Outcome, tc.before, tc.after)
			}
			if after.Name != "acme" || after.Digest == before.Digest {
				t.Errorf("result records policy %q %s; want acme with its own digest", after.Name, after.Digest)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	loaded, err := policy.Load(strings.NewReader("name: acme\nrules:\n  tests.system: {A: warn}\napprovals:\n  B: {roles: [release-manager, qa], distinct: true}\nallowUnencryptedApproverKeys: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range map[string]*policy.Policy{"default": policy.Default(), "loaded": loaded} {
		t.Run(name, func(t *testing.T) {
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasSuffix(b, []byte("}\n")) {
				t.Error("Encode does not end in a newline")
			}
			back, err := policy.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("Decode(Encode(p)) (-want +got):\n%s", diff)
			}
			again, err := back.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, again) {
				t.Error("Encode is not stable across a round trip")
			}
			d, err := p.Digest()
			if err != nil {
				t.Fatal(err)
			}
			if d != digest.FromBytes(b) {
				t.Error("Digest is not the digest of Encode")
			}
		})
	}
	// Encoding is canonical: the same policy built twice encodes the same
	// (maps are written in key order).
	a, _ := policy.Default().Encode()
	b, _ := policy.Default().Encode()
	if !bytes.Equal(a, b) {
		t.Error("two encodings of Default differ")
	}
}

func TestDecodeStrict(t *testing.T) {
	canonical, err := policy.Default().Encode()
	if err != nil {
		t.Fatal(err)
	}
	replace := func(old, new string) string {
		if !bytes.Contains(canonical, []byte(old)) {
			t.Fatalf("the encoding has no %q", old)
		}
		return strings.Replace(string(canonical), old, new, 1)
	}
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"unknown field", replace(`"name":`, `"version": 2, "name":`), `policy document: json: unknown field "version"`},
		{"trailing data", string(canonical) + "{}", "policy document: unexpected data after the JSON value"},
		{"truncated", string(canonical[:len(canonical)/2]), "policy document: truncated JSON"},
		{"empty", "", "policy document: empty input"},
		{"no name", replace(`"name": "evident-iec62304-default/v1"`, `"name": ""`), "policy: name is empty"},
		{"unknown rule", replace(`"rules": {`, `"rules": {"soup.vendor": {"A": "off", "B": "off", "C": "off"}, `), `policy: unknown rule "soup.vendor"`},
		{"missing rule", replace(`"tests.unit": {`, `"tests.unitx": {`), `policy: unknown rule "tests.unitx"`},
		{"bad requirement", replace(`"A": "warn"`, `"A": "maybe"`), `requirement "maybe": want required, warn or off`},
		{"missing class", replace(`"C": "warn"`, `"D": "warn"`), `policy document: json: unknown field "D"`},
		{"no rules", replace(`"rules": {`, `"rulesx": {`), `unknown field "rulesx"`},
		{"approvals for an unknown class", replace(`"approvals": {`, `"approvals": {"D": {"roles": [], "distinct": false}, `), `policy: approvals: class "D"`},
		{"too large", string(canonical) + strings.Repeat(" ", policy.MaxFileSize), "policy document: larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := policy.Decode(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("Decode accepts it: %+v", p)
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %q, want invalid: %v", evidence.KindOf(err), err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error lacks %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestDecodeRequiresEveryRule: an archived policy must state every rule; a
// document written by an older evident that lacks a rule is refused rather
// than read as "off".
func TestDecodeRequiresEveryRule(t *testing.T) {
	p := policy.Default()
	delete(p.Rules, policy.RuleSOUPSupport)
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	_, err = policy.Decode(bytes.NewReader(b))
	if err == nil || !strings.Contains(err.Error(), `rule "soup.support" has no requirements`) {
		t.Errorf("err = %v, want the missing rule named", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(p *policy.Policy)
		want   string
	}{
		{"default", func(*policy.Policy) {}, ""},
		{"empty name", func(p *policy.Policy) { p.Name = "" }, "policy: name is empty"},
		{"unknown rule", func(p *policy.Policy) { p.Rules["x"] = policy.ByClass{A: off, B: off, C: off} }, `policy: unknown rule "x"`},
		{"empty requirement", func(p *policy.Policy) { p.Rules[policy.RuleSBOM] = policy.ByClass{A: req, B: req} }, `policy: rule "sbom.present": requirement "": want required, warn or off`},
		{"missing rule", func(p *policy.Policy) { delete(p.Rules, policy.RuleSBOM) }, `policy: rule "sbom.present" has no requirements`},
		{"bad approvals class", func(p *policy.Policy) { p.Approvals["E"] = policy.Approvals{} }, `policy: approvals: class "E"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy.Default()
			tc.mutate(p)
			err := p.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("err = %v, want invalid %q", err, tc.want)
			}
		})
	}
}
