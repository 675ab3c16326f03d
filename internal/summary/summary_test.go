package summary_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/summary"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// wearable is a small release in the shape of the example product: built
// here rather than collected, so that the summary's tests do not move with
// the policy's rule set.
func wearable(t *testing.T) summary.Release {
	t.Helper()
	yes := true
	d := func(s string) digest.Digest { return digest.FromBytes([]byte(s)) }
	m := &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: "wearable-monitor", Version: "2.4.0"},
		CreatedAt:     time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
		Generator:     evidence.Generator{Name: "evident", Version: "test"},
		SafetyClass:   evidence.ClassC,
		Components: []evidence.Component{
			{
				Name: "wm-firmware", Kind: evidence.KindFirmware, Version: "3.1.2", SafetyClass: evidence.ClassC,
				Evidence: []evidence.EvidenceRef{
					{Type: evidence.TypeTestReport, Digest: d("unit"), Level: evidence.LevelUnit, Tests: &evidence.TestSummary{Tests: 30, Passed: 29, Failed: 1}},
					{Type: evidence.TypeTestReport, Digest: d("hil"), Level: evidence.LevelIntegration, Tests: &evidence.TestSummary{Tests: 9, Passed: 9, Skipped: 0}},
					{Type: evidence.TypeSBOM, Digest: d("sbom"), SBOM: &evidence.SBOMSummary{Components: 8, Gaps: []evidence.SOUPGap{{Field: evidence.SOUPFieldEndOfSupport, Count: 4}}}},
					{Type: evidence.TypeChangeReview, Digest: d("changes"), Changes: &evidence.ChangeSummary{
						Source: "github", Repository: "acme/wm-firmware", Base: "v3.1.1", Head: "v3.1.2", Commits: 12, Reviewed: 12,
					}},
				},
				Anomalies: []evidence.AnomalyEntry{
					{ID: "FW-0042", Status: "open", RiskAcceptable: &yes, Rationale: "r", EvaluatedBy: "QA", EvaluatedAt: "2026-11-01"},
					{ID: "FW-0040", Status: "closed"},
				},
			},
			{
				Name: "wm-app", Kind: evidence.KindApp, Version: "5.0.1", SafetyClass: evidence.ClassB,
				Evidence: []evidence.EvidenceRef{
					{Type: evidence.TypeTestReport, Digest: d("app"), Level: evidence.LevelUnit, Tests: &evidence.TestSummary{Tests: 17, Passed: 17}},
					{Type: evidence.TypeSBOM, Digest: d("appsbom"), SBOM: &evidence.SBOMSummary{Components: 7, Gaps: []evidence.SOUPGap{
						{Field: evidence.SOUPFieldManufacturer, Count: 1}, {Field: evidence.SOUPFieldEndOfSupport, Count: 7},
					}}},
				},
				Anomalies: []evidence.AnomalyEntry{{ID: "APP-7", Status: "open"}},
			},
		},
		Policy: evidence.PolicyResult{
			Name: "evident-iec62304-default/v1", Digest: d("policy"), Outcome: evidence.OutcomePass,
			Rules: []evidence.RuleResult{
				{Rule: "tests.unit", Clause: "5.5.5", Component: "wm-firmware", Outcome: evidence.OutcomePass, Message: "unit test evidence"},
				{Rule: "changes.reviewed", Clause: "8.2", Component: "wm-firmware", Outcome: evidence.OutcomePass,
					Message: "all 12 change(s) in acme/wm-firmware v3.1.1..v3.1.2 reviewed by someone other than their author"},
				{Rule: "soup.support", Clause: "8.1.2", Component: "wm-firmware", Outcome: evidence.OutcomeWarn,
					Message: "4 gap(s) in end-of-support date", Missing: []string{"zlib@1.3.1: no endOfSupport", "littlefs@2.9.3: no endOfSupport"}},
				{Rule: "soup.manufacturer", Clause: "8.1.2", Component: "wm-app", Outcome: evidence.OutcomeWarn,
					Message: "1 gap(s) in manufacturer", Missing: []string{"MPAndroidChart@v3.1.0: no manufacturer"}},
				{Rule: "artifacts.digested", Clause: "5.8.7", Outcome: evidence.OutcomePass, Message: "every artifact digested"},
			},
		},
	}
	md, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return summary.Release{Manifest: m, ManifestDigest: md}
}

func render(t *testing.T, r summary.Release, opts summary.Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := summary.Markdown(&b, r, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestMarkdownGolden(t *testing.T) {
	r := wearable(t)
	r.Signed = true
	r.Archive = &summary.Archive{URL: "http://127.0.0.1:8080/api/v1/products/wearable-monitor/releases/2.4.0", Created: true, LogIndex: 3, Signer: "key:sha256:0a1b2c"}
	golden(t, "archived.md", render(t, r, summary.Options{}))

	// The same release failing its policy: a rule with hostile text.
	m := *r.Manifest
	m.Policy.Outcome = evidence.OutcomeFail
	m.Policy.Rules = append([]evidence.RuleResult{{
		Rule: "anomalies.evaluated", Clause: "5.8.3", Component: "wm-firmware", Outcome: evidence.OutcomeFail,
		Message: "2 anomalies | not evaluated <script>alert(1)</script>",
		Missing: []string{"FW-0042: no rationale\nsecond line", "FW-0043: no evaluator", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
	}}, m.Policy.Rules...)
	failed := summary.Release{Manifest: &m, ManifestDigest: r.ManifestDigest}
	golden(t, "policy-failed.md", render(t, failed, summary.Options{Heading: 3}))
}

func TestStatus(t *testing.T) {
	r := wearable(t)
	failing := *r.Manifest
	failing.Policy.Outcome = evidence.OutcomeFail
	for _, c := range []struct {
		r     summary.Release
		want  string
		title string
	}{
		{summary.Release{Manifest: r.Manifest}, summary.StatusCollected, "wearable-monitor 2.4.0: policy passed, not signed (collected only)"},
		{summary.Release{Manifest: r.Manifest, Signed: true}, summary.StatusSealed, "wearable-monitor 2.4.0: sealed (not pushed to an archive)"},
		{summary.Release{Manifest: r.Manifest, Signed: true, Archive: &summary.Archive{}}, summary.StatusArchived, "wearable-monitor 2.4.0: sealed and archived"},
		{summary.Release{Manifest: &failing, Signed: true}, summary.StatusPolicyFailed, "wearable-monitor 2.4.0: NOT SEALED, the policy failed (0 rules)"},
	} {
		if got := c.r.Status(); got != c.want {
			t.Errorf("status %q, want %q", got, c.want)
		}
		if got := summary.Title(c.r); got != c.title {
			t.Errorf("title %q, want %q", got, c.title)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	r := wearable(t)
	m := *r.Manifest
	m.Policy.Outcome = evidence.OutcomeFail
	m.Policy.Rules = []evidence.RuleResult{{
		Rule: "x`y|z", Component: "wm-app", Outcome: evidence.OutcomeFail,
		Message: "a | b\n| c <img src=x> ", Missing: []string{"<b>bold</b>\r\nnext"},
	}}
	got := render(t, summary.Release{Manifest: &m}, summary.Options{})
	for _, bad := range []string{"<img", "<b>", "\n| c", "x`y"} {
		if strings.Contains(got, bad) {
			t.Errorf("summary contains %q:\n%s", bad, got)
		}
	}
	for _, want := range []string{"`x'y\\|z`", "a \\| b \\| c &lt;img src=x&gt;", "&lt;b&gt;bold&lt;/b&gt; next"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}

// A component with unreviewed changes: its row counts them and the failing
// changes.reviewed rule names them, the authors' names escaped.
func TestMarkdownChanges(t *testing.T) {
	r := wearable(t)
	m := r.Manifest
	c := m.Components[0].Evidence[3].Changes
	c.Reviewed, c.Unreviewed = 11, 1
	c.UnreviewedChanges = []evidence.UnreviewedChange{{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Author: "<img src=x>|x", Reason: "no approving review"}}
	m.Policy.Outcome = evidence.OutcomeFail
	m.Policy.Rules[1] = evidence.RuleResult{
		Rule: "changes.reviewed", Clause: "8.2", Component: "wm-firmware", Outcome: evidence.OutcomeFail,
		Message: "1 of 12 change(s) in acme/wm-firmware v3.1.1..v3.1.2 not reviewed by someone other than their author",
		Missing: []string{"8f14e45 (<img src=x>|x): no approving review"},
	}
	got := render(t, summary.Release{Manifest: m}, summary.Options{})
	for _, want := range []string{
		"| Anomalies | Changes | Policy |",
		"| 1 open, all evaluated | 12 commits, 11 reviewed, 1 unreviewed | ❌ 1 failed |",
		"| 1 open, 1 not evaluated | not recorded | ✅ pass, 1 warning |",
		"- ❌ **wm-firmware** `changes.reviewed` (IEC 62304 8.2): 1 of 12 change(s) in acme/wm-firmware v3.1.1..v3.1.2 not reviewed by someone other than their author\n" +
			"  - 8f14e45 (&lt;img src=x&gt;\\|x): no approving review\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "<img") {
		t.Errorf("summary carries an author's markup:\n%s", got)
	}
}

func TestMarkdownMaxBytes(t *testing.T) {
	r := wearable(t)
	m := *r.Manifest
	m.Policy.Outcome = evidence.OutcomeFail
	for i := range 2000 {
		m.Policy.Rules = append(m.Policy.Rules, evidence.RuleResult{
			Rule: "tests.failed", Component: "wm-firmware", Outcome: evidence.OutcomeFail,
			Message: strings.Repeat("failing test without an evaluated anomaly ", 3) + string(rune('a'+i%26)),
		})
	}
	full := render(t, summary.Release{Manifest: &m}, summary.Options{})
	const max = 65535
	if len(full) <= max {
		t.Fatalf("the test needs a summary over %d bytes, got %d", max, len(full))
	}
	got := render(t, summary.Release{Manifest: &m}, summary.Options{MaxBytes: max})
	if len(got) > max {
		t.Errorf("summary of %d bytes, want at most %d", len(got), max)
	}
	for _, want := range []string{"### Components", "more findings than fit here", "<sub>Made by evident test"} {
		if !strings.Contains(got, want) {
			t.Errorf("cut summary lacks %q", want)
		}
	}
}
