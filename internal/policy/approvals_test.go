package policy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

// Signatures of the people in these tests. Alice is registered as release
// manager and as QA (a person with two roles is registered twice); Bob and
// Carol are QA.
var (
	aliceRM  = policy.Signature{Decision: evidence.DecisionApproved, Name: "Alice Andersson", Role: "release-manager"}
	aliceQA  = policy.Signature{Decision: evidence.DecisionApproved, Name: "Alice Andersson", Role: "qa"}
	bobQA    = policy.Signature{Decision: evidence.DecisionApproved, Name: "Bob Berg", Role: "qa"}
	carolQA  = policy.Signature{Decision: evidence.DecisionApproved, Name: "Carol Cruz", Role: "qa"}
	bobDev   = policy.Signature{Decision: evidence.DecisionApproved, Name: "Bob Berg", Role: "developer"}
	bobRejQA = policy.Signature{Decision: evidence.DecisionRejected, Name: "Bob Berg", Role: "qa"}
	aliceRev = policy.Signature{Decision: evidence.DecisionRevoked, Name: "Alice Andersson", Role: "release-manager"}
)

// What Missing says for a role.
const (
	needRM         = "an approval by a release-manager"
	needQA         = "an approval by a qa"
	distinctSuffix = " (a person who has not filled another required role)"
)

func loadPolicy(t *testing.T, yaml string) *policy.Policy {
	t.Helper()
	p, err := policy.Load(strings.NewReader(yaml))
	if err != nil {
		t.Fatalf("policy %q: %v", yaml, err)
	}
	return p
}

func sigs(s ...policy.Signature) []policy.Signature { return s }

func TestStatus(t *testing.T) {
	def := policy.Default()
	// Class C's two roles in the other order: matching must not depend on
	// the order the policy lists them in.
	qaFirst := loadPolicy(t, "name: qa-first\napprovals:\n  C: {roles: [qa, release-manager], distinct: true}\n")
	twoQA := loadPolicy(t, "name: two-qa\napprovals:\n  C: {roles: [qa, qa], distinct: true}\n")
	notDistinct := loadPolicy(t, "name: same-person-ok\napprovals:\n  B: {roles: [release-manager, qa], distinct: false}\n")
	twoRolesB := loadPolicy(t, "name: b-two\napprovals:\n  B: {roles: [release-manager, qa], distinct: true}\n")

	tests := []struct {
		name        string
		pol         *policy.Policy
		class       evidence.Class
		sigs        []policy.Signature
		wantStatus  string
		wantMissing []string
	}{
		// The default table.
		{"A: nothing signed", def, evidence.ClassA, nil, policy.StatusSealed, []string{needRM}},
		{"A: release manager", def, evidence.ClassA, sigs(aliceRM), policy.StatusApproved, nil},
		{"A: QA only is not enough", def, evidence.ClassA, sigs(bobQA), policy.StatusSealed, []string{needRM}},
		{"B: nothing signed", def, evidence.ClassB, nil, policy.StatusSealed, []string{needRM}},
		{"B: release manager", def, evidence.ClassB, sigs(aliceRM), policy.StatusApproved, nil},
		{"C: nothing signed", def, evidence.ClassC, nil, policy.StatusSealed, []string{needRM + distinctSuffix, needQA + distinctSuffix}},
		{"C: release manager only", def, evidence.ClassC, sigs(aliceRM), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"C: QA only", def, evidence.ClassC, sigs(bobQA), policy.StatusSealed, []string{needRM + distinctSuffix}},
		{"C: release manager and QA, two people", def, evidence.ClassC, sigs(aliceRM, bobQA), policy.StatusApproved, nil},
		{"C: QA signed first", def, evidence.ClassC, sigs(bobQA, aliceRM), policy.StatusApproved, nil},
		{"C: one person in both roles", def, evidence.ClassC, sigs(aliceRM, aliceQA), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"C: an unrelated role does not count", def, evidence.ClassC, sigs(aliceRM, bobDev), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"C: more approvals than needed", def, evidence.ClassC, sigs(aliceRM, bobQA, carolQA), policy.StatusApproved, nil},

		// Matching that needs reassignment: Alice's QA approval is listed
		// first, but she is the only release manager; Bob must take QA.
		{"C: reassignment", def, evidence.ClassC, sigs(aliceQA, aliceRM, bobQA), policy.StatusApproved, nil},
		{"C: reassignment, roles in the other order", qaFirst, evidence.ClassC, sigs(aliceQA, aliceRM, bobQA), policy.StatusApproved, nil},
		{"C: reassignment impossible", qaFirst, evidence.ClassC, sigs(aliceQA, aliceRM), policy.StatusSealed, []string{needRM + distinctSuffix}},

		// Overrides.
		{"two QA roles, two QA people", twoQA, evidence.ClassC, sigs(bobQA, carolQA), policy.StatusApproved, nil},
		{"two QA roles, one QA person", twoQA, evidence.ClassC, sigs(bobQA), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"two QA roles, one person's QA approval twice", twoQA, evidence.ClassC, sigs(bobQA, bobQA), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"two QA roles, a release manager does not count", twoQA, evidence.ClassC, sigs(aliceRM, bobQA), policy.StatusSealed, []string{needQA + distinctSuffix}},
		{"not distinct: one person fills both", notDistinct, evidence.ClassB, sigs(aliceRM, aliceQA), policy.StatusApproved, nil},
		{"not distinct: missing names no person rule", notDistinct, evidence.ClassB, sigs(aliceRM), policy.StatusSealed, []string{needQA}},
		{"an override of B leaves C alone", twoRolesB, evidence.ClassC, sigs(aliceRM, bobQA), policy.StatusApproved, nil},
		{"B with two distinct roles", twoRolesB, evidence.ClassB, sigs(aliceRM, aliceQA), policy.StatusSealed, []string{needQA + distinctSuffix}},

		// Rejections and revocations.
		{"a rejection", def, evidence.ClassC, sigs(bobRejQA), policy.StatusRejected, nil},
		{"a rejection beside approvals", def, evidence.ClassC, sigs(aliceRM, bobRejQA), policy.StatusRejected, nil},
		{"a rejection after approval", def, evidence.ClassA, sigs(aliceRM, bobRejQA), policy.StatusRejected, nil},
		{"a revocation of a sealed release", def, evidence.ClassC, sigs(aliceRev), policy.StatusRevoked, nil},
		{"a revocation after approval", def, evidence.ClassC, sigs(aliceRM, bobQA, aliceRev), policy.StatusRevoked, nil},
		{"a revocation after a rejection", def, evidence.ClassC, sigs(bobRejQA, aliceRev), policy.StatusRevoked, nil},
		{"a revocation listed first", def, evidence.ClassA, sigs(aliceRev, aliceRM), policy.StatusRevoked, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]policy.Signature(nil), tt.sigs...)
			status, missing := tt.pol.Status(tt.class, tt.sigs)
			if status != tt.wantStatus {
				t.Errorf("status %q, want %q", status, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(in, tt.sigs); diff != "" {
				t.Errorf("Status changed its input (-before +after):\n%s", diff)
			}
		})
	}
}

// Status survives the archived form of a policy: what a verifier decodes
// from the release's policy document gives the same status as the policy
// the release was sealed under.
func TestStatusAfterEncodeDecode(t *testing.T) {
	p := loadPolicy(t, "name: two-qa\napprovals:\n  C: {roles: [qa, qa], distinct: true}\n")
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	q, err := policy.Decode(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range [][]policy.Signature{nil, sigs(bobQA), sigs(bobQA, carolQA), sigs(bobQA, bobRejQA)} {
		ws, wm := p.Status(evidence.ClassC, s)
		gs, gm := q.Status(evidence.ClassC, s)
		if ws != gs || !cmp.Equal(wm, gm) {
			t.Errorf("signatures %v: decoded policy says %s %v, the original %s %v", s, gs, gm, ws, wm)
		}
	}
}
