package policy

import (
	"fmt"

	"github.com/evident-dev/evident/internal/evidence"
)

// Release statuses, computed from the approval records.
const (
	StatusSealed   = "sealed"   // archived, not (yet) approved
	StatusApproved = "approved" // every approval the class needs is there
	StatusRejected = "rejected" // an approver rejected it
	StatusRevoked  = "revoked"  // an approver revoked it (terminal)
)

// Signature is an accepted approval record, as status computation needs it.
type Signature struct {
	Decision string
	Name     string // printed name: one person, however many keys or roles
	Role     string
}

// Status computes a release's status from its accepted records, in order,
// for a release of class c: revoked if any record revokes it, else rejected
// if any rejects it, else approved when the class's required roles are each
// filled by an approval (by different people when the policy says so), else
// sealed. missing says what approvals are still needed.
func (p *Policy) Status(c evidence.Class, sigs []Signature) (status string, missing []string) {
	for _, s := range sigs {
		if s.Decision == evidence.DecisionRevoked {
			return StatusRevoked, nil
		}
	}
	for _, s := range sigs {
		if s.Decision == evidence.DecisionRejected {
			return StatusRejected, nil
		}
	}
	need := p.Approvals[c]
	var approvals []Signature
	for _, s := range sigs {
		if s.Decision == evidence.DecisionApproved {
			approvals = append(approvals, s)
		}
	}
	filled := assign(need.Roles, approvals, need.Distinct)
	for i, role := range need.Roles {
		if filled[i] < 0 {
			m := "an approval by a " + role
			if need.Distinct {
				m += " (a person who has not filled another required role)"
			}
			missing = append(missing, m)
		}
	}
	if len(missing) > 0 {
		return StatusSealed, missing
	}
	return StatusApproved, nil
}

// assign matches required roles to approvals: filled[i] is the index of the
// approval filling role i, or -1. With distinct, no person fills two roles.
// It maximises the number of roles filled (a bipartite matching by
// augmenting paths; the inputs are a handful of roles and signatures).
func assign(roles []string, approvals []Signature, distinct bool) []int {
	filled := make([]int, len(roles))
	for i := range filled {
		filled[i] = -1
	}
	// With distinct, the right-hand side is people; otherwise approvals.
	owner := func(j int) string {
		if distinct {
			return approvals[j].Name
		}
		return fmt.Sprint(j)
	}
	taken := map[string]int{} // owner -> role index
	var try func(i int, seen map[string]bool) bool
	try = func(i int, seen map[string]bool) bool {
		for j, a := range approvals {
			if a.Role != roles[i] {
				continue
			}
			o := owner(j)
			if seen[o] {
				continue
			}
			seen[o] = true
			prev, used := taken[o]
			if !used || try(prev, seen) {
				taken[o] = i
				filled[i] = j
				return true
			}
		}
		return false
	}
	for i := range roles {
		try(i, map[string]bool{})
	}
	return filled
}
