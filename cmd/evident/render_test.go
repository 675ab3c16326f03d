package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// The table for people counts each component's changes and how many were
// reviewed; a component that records no change review shows a dash, and
// the failing changes.reviewed rule names the unreviewed commits.
func TestRenderReleaseChanges(t *testing.T) {
	changes := func(commits, reviewed int) evidence.EvidenceRef {
		return evidence.EvidenceRef{Type: evidence.TypeChangeReview, Changes: &evidence.ChangeSummary{
			Source: "github", Repository: "acme/x", Head: "v1", Commits: commits, Reviewed: reviewed, Unreviewed: commits - reviewed,
		}}
	}
	m := &evidence.Manifest{
		Product:     evidence.Product{Name: "wearable-monitor", Version: "2.4.0"},
		SafetyClass: evidence.ClassC,
		Components: []evidence.Component{
			{Name: "wm-firmware", Version: "3.1.2", SafetyClass: evidence.ClassC, Evidence: []evidence.EvidenceRef{
				{Type: evidence.TypeTestReport, Tests: &evidence.TestSummary{Tests: 2, Passed: 2}},
				changes(9, 8), changes(3, 3),
			}},
			{Name: "wm-app", Version: "5.0.1", SafetyClass: evidence.ClassB},
		},
		Policy: evidence.PolicyResult{Name: "p", Outcome: evidence.OutcomeFail, Rules: []evidence.RuleResult{{
			Rule: "changes.reviewed", Clause: "8.2", Component: "wm-firmware", Outcome: evidence.OutcomeFail,
			Message: "1 of 12 change(s) not reviewed", Missing: []string{"8f14e45 (mallory): no approving review"},
		}}},
	}
	var b bytes.Buffer
	renderRelease(&b, m, "sha256:00", "NOT SEALED: policy failed")
	rows := map[string][]string{}
	for line := range strings.Lines(b.String()) {
		if f := strings.Fields(line); len(f) > 0 {
			rows[f[0]] = f
		}
	}
	for name, want := range map[string]string{"COMPONENT": "commits/reviewed/unreviewed", "wm-firmware": "12/11/1", "wm-app": "-"} {
		if f := rows[name]; len(f) == 0 || f[len(f)-1] != want {
			t.Errorf("row %s ends with %q, want %q:\n%s", name, f, want, b.String())
		}
	}
	if !strings.Contains(b.String(), "          - 8f14e45 (mallory): no approving review\n") {
		t.Errorf("the unreviewed commit is not named:\n%s", b.String())
	}
}
