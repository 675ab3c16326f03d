// Package policy decides whether a release record is complete for the safety
// classes of its components. The default table follows IEC 62304 as mapped in
// REGULATORY.md; a policy file overrides any cell of it. Evaluation is a pure
// function of the manifest, so the runner, the archive and an offline
// verifier all reach the same result from the same policy document, which is
// archived with the release.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// Requirement is how strictly a rule applies to a class.
type Requirement string

const (
	Required Requirement = "required" // unmet: the policy fails
	Warn     Requirement = "warn"     // unmet: reported, the policy still passes
	Off      Requirement = "off"      // not checked
)

func (r Requirement) valid() bool { return r == Required || r == Warn || r == Off }

// ByClass gives a rule's requirement per safety class.
type ByClass struct {
	A Requirement `json:"A" yaml:"A"`
	B Requirement `json:"B" yaml:"B"`
	C Requirement `json:"C" yaml:"C"`
}

// For returns the requirement for class c (Off for an unknown class).
func (b ByClass) For(c evidence.Class) Requirement {
	switch c {
	case evidence.ClassA:
		return b.A
	case evidence.ClassB:
		return b.B
	case evidence.ClassC:
		return b.C
	}
	return Off
}

// Approvals says which signed approvals a release of one class needs before
// its status is "approved".
type Approvals struct {
	// Roles lists the roles that must each approve, e.g. [release-manager, qa].
	Roles []string `json:"roles" yaml:"roles"`
	// Distinct requires every role to be filled by a different person.
	Distinct bool `json:"distinct" yaml:"distinct"`
}

// Policy is a complete, effective policy: every rule has a requirement for
// every class. Its JSON encoding is archived with each release.
type Policy struct {
	Name      string                       `json:"name"`
	Rules     map[string]ByClass           `json:"rules"`
	Approvals map[evidence.Class]Approvals `json:"approvals"`
	// AllowUnencryptedApproverKeys lets an approver sign with a key that has
	// no passphrase (21 CFR 11.200 wants two components; off by default).
	AllowUnencryptedApproverKeys bool `json:"allowUnencryptedApproverKeys"`
}

// DefaultName names the built-in policy.
const DefaultName = "evident-iec62304-default/v1"

// Default returns the built-in class table (REGULATORY.md, "Release tasks by
// safety class"), with approvals per DESIGN 3.3: class C needs a release
// manager and QA, two different people; A and B one release manager.
func Default() *Policy {
	req, warn, off := Required, Warn, Off
	return &Policy{
		Name: DefaultName,
		Rules: map[string]ByClass{
			RuleArtifacts:           {req, req, req},
			RuleProvenance:          {warn, req, req},
			RuleSBOM:                {req, req, req},
			RuleSOUPDesignator:      {req, req, req},
			RuleSOUPManufacturer:    {warn, warn, req},
			RuleSOUPSupport:         {warn, warn, warn},
			RuleAnomaliesListed:     {req, req, req},
			RuleAnomaliesEvaluated:  {warn, req, req},
			RuleAnomaliesAcceptable: {req, req, req},
			RuleTestsUnit:           {off, req, req},
			RuleTestsIntegration:    {off, req, req},
			RuleTestsPassing:        {req, req, req},
			RuleTestsSystem:         {req, req, req},
			RuleChangesReviewed:     {off, req, req}, // applies only where a change source is configured
		},
		Approvals: map[evidence.Class]Approvals{
			evidence.ClassA: {Roles: []string{"release-manager"}},
			evidence.ClassB: {Roles: []string{"release-manager"}},
			evidence.ClassC: {Roles: []string{"release-manager", "qa"}, Distinct: true},
		},
	}
}

// Override is the policy-file format: a name and any cells to change.
//
//	name: acme-62304
//	rules:
//	  soup.manufacturer: {B: required}
//	  tests.system: {A: warn}
//	approvals:
//	  B: {roles: [release-manager, qa], distinct: true}
type Override struct {
	Name                         string                       `yaml:"name"`
	Rules                        map[string]map[string]string `yaml:"rules"`
	Approvals                    map[string]Approvals         `yaml:"approvals"`
	AllowUnencryptedApproverKeys *bool                        `yaml:"allowUnencryptedApproverKeys"`
}

// MaxFileSize bounds a policy file.
const MaxFileSize = 1 << 20

// Load reads a policy file (YAML) and applies it over the default table.
// Unknown keys, rules, classes and requirements are errors.
func Load(r io.Reader) (*Policy, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: %v", err)
	}
	if len(b) > MaxFileSize {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: larger than %d bytes", MaxFileSize)
	}
	var o Override
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		if err == io.EOF {
			return nil, evidence.Errorf(evidence.KindInvalid, "policy: the file is empty")
		}
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: %s", describeYAMLError(err))
	}
	var next yaml.Node
	if err := dec.Decode(&next); err != io.EOF {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: a second YAML document follows the first; a policy file holds one")
	}
	p := Default()
	if err := p.apply(o); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: %v", err)
	}
	return p, nil
}

var (
	unknownFieldRE = regexp.MustCompile(`^(line \d+): field (.+) not found in type \S+$`)
	cannotDecodeRE = regexp.MustCompile("^(line \\d+): cannot unmarshal !!(\\w+) (?:`(.*)` )?into (\\S+)$")
)

// describeYAMLError rewords yaml's decoding errors, which name Go types, for
// the author of the file: one line per problem, keys as written.
func describeYAMLError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	parts := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		if m := unknownFieldRE.FindStringSubmatch(e); m != nil {
			e = fmt.Sprintf("%s: unknown key %q", m[1], m[2])
		} else if m := cannotDecodeRE.FindStringSubmatch(e); m != nil {
			got := map[string]string{"seq": "a list", "map": "a mapping", "str": "the string " + strconv.Quote(m[3])}[m[2]]
			if got == "" {
				got = m[2] + " " + m[3]
			}
			want := m[4]
			switch {
			case strings.HasPrefix(want, "map["):
				want = "a mapping"
			case strings.HasPrefix(want, "[]"):
				want = "a list"
			case want == "string":
				want = "a string"
			case want == "bool":
				want = "true or false"
			}
			e = fmt.Sprintf("%s: want %s, got %s", m[1], want, got)
		}
		parts[i] = e
	}
	return strings.Join(parts, "; ")
}

func (p *Policy) apply(o Override) error {
	if o.Name == "" {
		return fmt.Errorf("name is required (it is recorded in every release checked against this policy)")
	}
	p.Name = o.Name
	ids := make([]string, 0, len(o.Rules))
	for id := range o.Rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		cur, ok := p.Rules[id]
		if !ok {
			return fmt.Errorf("rules: unknown rule %q (known: %s)", id, strings.Join(RuleIDs(), ", "))
		}
		for cls, val := range o.Rules[id] {
			r := Requirement(val)
			if !r.valid() {
				return fmt.Errorf("rules.%s.%s: %q: want required, warn or off", id, cls, val)
			}
			switch evidence.Class(cls) {
			case evidence.ClassA:
				cur.A = r
			case evidence.ClassB:
				cur.B = r
			case evidence.ClassC:
				cur.C = r
			default:
				return fmt.Errorf("rules.%s: class %q: want A, B or C", id, cls)
			}
		}
		p.Rules[id] = cur
	}
	for cls, a := range o.Approvals {
		if !evidence.Class(cls).Valid() {
			return fmt.Errorf("approvals: class %q: want A, B or C", cls)
		}
		for _, role := range a.Roles {
			if err := evidence.ValidateName("approvals."+cls+".roles", role); err != nil {
				return err
			}
		}
		p.Approvals[evidence.Class(cls)] = a
	}
	if o.AllowUnencryptedApproverKeys != nil {
		p.AllowUnencryptedApproverKeys = *o.AllowUnencryptedApproverKeys
	}
	return nil
}

// Validate checks that every known rule has a valid requirement for every
// class and that no unknown rule is present.
func (p *Policy) Validate() error {
	if p.Name == "" {
		return evidence.Errorf(evidence.KindInvalid, "policy: name is empty")
	}
	for id, bc := range p.Rules {
		if _, ok := rules[id]; !ok {
			return evidence.Errorf(evidence.KindInvalid, "policy: unknown rule %q", id)
		}
		for _, r := range []Requirement{bc.A, bc.B, bc.C} {
			if !r.valid() {
				return evidence.Errorf(evidence.KindInvalid, "policy: rule %q: requirement %q: want required, warn or off", id, r)
			}
		}
	}
	for id := range rules {
		if _, ok := p.Rules[id]; !ok {
			return evidence.Errorf(evidence.KindInvalid, "policy: rule %q has no requirements", id)
		}
	}
	for cls := range p.Approvals {
		if !cls.Valid() {
			return evidence.Errorf(evidence.KindInvalid, "policy: approvals: class %q", cls)
		}
	}
	return nil
}

// Encode returns the canonical JSON of the effective policy: the bytes that
// are archived as the release's policy evidence.
func (p *Policy) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Digest returns the digest of the canonical encoding.
func (p *Policy) Digest() (digest.Digest, error) {
	b, err := p.Encode()
	if err != nil {
		return digest.Digest{}, err
	}
	return digest.FromBytes(b), nil
}

// Decode reads an archived policy document (canonical JSON) strictly.
func Decode(r io.Reader) (*Policy, error) {
	var p Policy
	if err := evidence.DecodeStrictJSON(r, &p, MaxFileSize); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy document: %v", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}
