package record_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/record"
)

// release is a small release whose firmware records the review of its
// changes, one of them unreviewed by an author with a hostile name, and
// whose app records none.
func release() *evidence.Manifest {
	d := func(s string) digest.Digest { return digest.FromBytes([]byte(s)) }
	return &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: "wearable-monitor", Version: "2.4.0"},
		CreatedAt:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Generator:     evidence.Generator{Name: "evident", Version: "test"},
		SafetyClass:   evidence.ClassC,
		Components: []evidence.Component{
			{
				Name: "wm-firmware", Kind: evidence.KindFirmware, Version: "3.1.2", SafetyClass: evidence.ClassC,
				Evidence: []evidence.EvidenceRef{
					{Type: evidence.TypeTestReport, Name: "unit.xml", Digest: d("unit"), Level: evidence.LevelUnit, Tests: &evidence.TestSummary{Tests: 3, Passed: 3}},
					{Type: evidence.TypeChangeReview, Format: evidence.FormatChangesJSON, Name: "changes.json", Digest: d("changes"),
						Changes: &evidence.ChangeSummary{
							Source: "github", Repository: "acme/wm-firmware", Base: "v3.1.1", Head: "v3.1.2",
							Commits: 12, Reviewed: 10, Unreviewed: 2,
							UnreviewedChanges: []evidence.UnreviewedChange{
								{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Author: "<script>alert(1)</script>", Reason: "no approving review"},
							},
						}},
				},
			},
			{
				Name: "wm-app", Kind: evidence.KindApp, Version: "5.0.1", SafetyClass: evidence.ClassB,
				Evidence: []evidence.EvidenceRef{
					{Type: evidence.TypeTestReport, Name: "app.xml", Digest: d("app"), Level: evidence.LevelUnit, Tests: &evidence.TestSummary{Tests: 1, Passed: 1}},
				},
			},
		},
		Policy: evidence.PolicyResult{
			Name: "evident-iec62304-default/v1", Digest: d("policy"), Outcome: evidence.OutcomeFail,
			Rules: []evidence.RuleResult{{
				Rule: "changes.reviewed", Clause: "8.2", Component: "wm-firmware", Outcome: evidence.OutcomeFail,
				Message: "2 of 12 change(s) in acme/wm-firmware v3.1.1..v3.1.2 not reviewed by someone other than their author",
			}},
		},
	}
}

func render(t *testing.T, m *evidence.Manifest) string {
	t.Helper()
	var b bytes.Buffer
	if err := record.Render(&b, record.Input{Manifest: m, Status: "rejected", Generator: "evident test"}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// section returns the part of the page about one component: from its
// heading to the next component's.
func section(t *testing.T, page, heading string) string {
	t.Helper()
	i := strings.Index(page, "<h2>"+heading)
	if i < 0 {
		t.Fatalf("no section %q in:\n%s", heading, page)
	}
	s := page[i+len("<h2>"):]
	if j := strings.Index(s, "<h2>"); j >= 0 {
		s = s[:j]
	}
	return s
}

func TestRenderChanges(t *testing.T) {
	page := render(t, release())

	fw := section(t, page, "wm-firmware 3.1.2")
	for _, want := range []string{
		"<h3>Changes and their review</h3>",
		`<tr><td>Range</td><td class="mono">v3.1.1..v3.1.2</td></tr>`,
		`<tr><td>Repository</td><td class="mono">acme/wm-firmware (github)</td></tr>`,
		"<tr><td>Commits</td><td>12</td></tr>",
		"<tr><td>Reviewed</td><td>10 by someone other than their author</td></tr>",
		`<tr><td>Unreviewed</td><td class="fail">2</td></tr>`,
		"<h4>Unreviewed commits in acme/wm-firmware</h4>",
		`<tr><td class="mono">8f14e45</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>no approving review</td></tr>`,
		"… and 1 more unreviewed commit(s) not listed here",
	} {
		if !strings.Contains(fw, want) {
			t.Errorf("firmware section lacks %q:\n%s", want, fw)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("the page carries the author's markup unescaped:\n%s", page)
	}
	if app := section(t, page, "wm-app 5.0.1"); strings.Contains(app, "Changes and their review") {
		t.Errorf("a component without change evidence has a changes part:\n%s", app)
	}
}

func TestRenderChangesAllReviewed(t *testing.T) {
	m := release()
	c := m.Components[0].Evidence[1].Changes
	c.Base, c.Reviewed, c.Unreviewed, c.UnreviewedChanges = "", 12, 0, nil
	fw := section(t, render(t, m), "wm-firmware 3.1.2")
	for _, want := range []string{
		`<tr><td>Range</td><td class="mono">all history up to v3.1.2</td></tr>`,
		"<tr><td>Unreviewed</td><td>0</td></tr>",
	} {
		if !strings.Contains(fw, want) {
			t.Errorf("firmware section lacks %q:\n%s", want, fw)
		}
	}
	for _, bad := range []string{"Unreviewed commits in", "not listed here"} {
		if strings.Contains(fw, bad) {
			t.Errorf("firmware section has %q though every change was reviewed:\n%s", bad, fw)
		}
	}
}
