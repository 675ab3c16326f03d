package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/rederive"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/source"
	"github.com/evident-dev/evident/internal/source/github/githubtest"
	"github.com/evident-dev/evident/internal/source/gitlab/gitlabtest"
	"github.com/evident-dev/evident/internal/testutil"
)

const ghToken = "ghs_runnerTestToken"

func sha(c byte) string { return strings.Repeat(string(c), 40) }

// wearableGitHub is the example's repository on a fake GitHub: v2.3.0,
// then three commits up to the commit GitHubEnv builds, tagged v2.4.0.
// Every commit came through a merged, approved pull request unless the test
// changes that.
func wearableGitHub(t *testing.T) *githubtest.Server {
	s := githubtest.New(t, "acme-medical", "wearable-monitor")
	s.Token = ghToken
	s.Commits = []githubtest.Commit{
		{SHA: sha('a'), Login: "maria", Message: "wearable-monitor 2.3.0"},
		{SHA: sha('b'), Login: "jonas", Message: "fw: debounce the motion filter"},
		{SHA: sha('c'), Login: "aisha", Message: "alert: escalate after 90 s"},
		{SHA: testutil.GitHubCommit, Login: "maria", Message: "wearable-monitor 2.4.0"},
	}
	s.Tags = map[string]string{"v2.3.0": sha('a'), "v2.4.0": testutil.GitHubCommit}
	at := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	for i, c := range s.Commits[1:] {
		n := 40 + i
		s.PRs[c.SHA] = []githubtest.PR{{Number: n, Author: c.Login, Merged: true}}
		s.Reviews[n] = []githubtest.Review{{Reviewer: "sven", State: "APPROVED", At: at}}
	}
	return s
}

func noWait(context.Context, time.Duration) error { return nil }

// sourcesOptions collects cfg in GitHub Actions with a token for the fakes.
func sourcesOptions(cfg *config.Config, out string, extra map[string]string) runner.Options {
	env := testutil.GitHubEnv()
	env["GITHUB_TOKEN"] = ghToken
	for k, v := range extra {
		env[k] = v
	}
	o := collectOptions(cfg, out)
	o.Env = ci.MapEnv(env)
	o.Retry = source.Retry{Sleep: noWait}
	return o
}

func ruleResult(m *evidence.Manifest, rule, comp string) *evidence.RuleResult {
	for i, r := range m.Policy.Rules {
		if r.Rule == rule && r.Component == comp {
			return &m.Policy.Rules[i]
		}
	}
	return nil
}

// component returns the named component of a config.
func component(t *testing.T, cfg *config.Config, name string) *config.Component {
	t.Helper()
	for i := range cfg.Components {
		if cfg.Components[i].Name == name {
			return &cfg.Components[i]
		}
	}
	t.Fatalf("no component %s", name)
	return nil
}

// collectCommit collects and commits the release, checks that every
// summary re-derives from the archived files, and returns the manifest and
// the release directory.
func collectCommit(t *testing.T, opts runner.Options) (*evidence.Manifest, string) {
	t.Helper()
	st, err := runner.Collect(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	out, err := st.Commit()
	if err != nil {
		t.Fatal(err)
	}
	n, probs := rederive.Check(context.Background(), os.DirFS(out), st.Manifest)
	if len(probs) > 0 || n == 0 {
		t.Errorf("rederive: %d summaries, problems %v", n, probs)
	}
	return st.Manifest, out
}

func TestChangeReviewEvidence(t *testing.T) {
	gh := wearableGitHub(t)
	project := testutil.Project(t, testutil.Wearable)
	cfg := loadConfig(t, project)
	cfg.Components[0].Changes = &config.Changes{GitHub: &config.GitHubChanges{APIURL: gh.APIURL()}} // wm-firmware, class C

	m, out := collectCommit(t, sourcesOptions(cfg, filepath.Join(t.TempDir(), "release"), nil))
	fw := m.Component("wm-firmware")
	var refs []evidence.EvidenceRef
	for _, r := range fw.Evidence {
		if r.Type == evidence.TypeChangeReview {
			refs = append(refs, r)
		}
	}
	if len(refs) != 1 {
		t.Fatalf("%d change-review references, want 1", len(refs))
	}
	want := evidence.ChangeSummary{Source: "github", Repository: "acme-medical/wearable-monitor", Base: "v2.3.0", Head: "v2.4.0", Commits: 3, Reviewed: 3}
	if diff := cmp.Diff(&want, refs[0].Changes); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	if refs[0].Name != "changes/github/acme-medical/wearable-monitor.changes.json" || refs[0].Format != evidence.FormatChangesJSON {
		t.Errorf("reference %s %s", refs[0].Name, refs[0].Format)
	}
	r := ruleResult(m, policy.RuleChangesReviewed, "wm-firmware")
	if r == nil || r.Outcome != evidence.OutcomePass || r.Message != "all 3 change(s) in acme-medical/wearable-monitor v2.3.0..v2.4.0 reviewed by someone other than their author" {
		t.Errorf("changes.reviewed: %+v", r)
	}
	// Components without a change source are not judged by the rule.
	if r := ruleResult(m, policy.RuleChangesReviewed, "wm-alert-service"); r != nil {
		t.Errorf("changes.reviewed applied to a component without a change source: %+v", r)
	}
	if !m.Policy.Passed() {
		t.Errorf("policy failed: %+v", m.Policy.Rules)
	}

	// verify re-derives the summary from the archived record: a manifest
	// that claims otherwise is caught.
	for i := range fw.Evidence {
		if fw.Evidence[i].Type == evidence.TypeChangeReview {
			fw.Evidence[i].Changes.Reviewed, fw.Evidence[i].Changes.Unreviewed = 2, 1
		}
	}
	_, probs := rederive.Check(context.Background(), os.DirFS(out), m)
	if len(probs) != 1 || !strings.Contains(probs[0], "wm-firmware: changes/github/acme-medical/wearable-monitor.changes.json: the manifest's change-review summary differs from the record") {
		t.Errorf("rederive of a changed summary: %q", probs)
	}
}

func TestChangeReviewUnreviewed(t *testing.T) {
	gh := wearableGitHub(t)
	delete(gh.PRs, sha('c')) // pushed straight to main
	gh.Reviews[40] = []githubtest.Review{{Reviewer: "jonas", State: "APPROVED", At: time.Now()}}
	project := testutil.Project(t, testutil.Wearable)
	cfg := loadConfig(t, project)
	cfg.Components[0].Changes = &config.Changes{GitHub: &config.GitHubChanges{APIURL: gh.APIURL()}}

	st, err := runner.Collect(context.Background(), sourcesOptions(cfg, filepath.Join(t.TempDir(), "release"), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	m := st.Manifest
	if m.Policy.Passed() {
		t.Error("the policy passes with unreviewed changes in a class C component")
	}
	r := ruleResult(m, policy.RuleChangesReviewed, "wm-firmware")
	if r == nil || r.Outcome != evidence.OutcomeFail {
		t.Fatalf("changes.reviewed: %+v", r)
	}
	wantMissing := []string{"bbbbbbb (jonas): approved only by its author", "ccccccc (aisha): no pull request"}
	if diff := cmp.Diff(wantMissing, r.Missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(r.Message, "2 of 3 change(s) in acme-medical/wearable-monitor v2.3.0..v2.4.0 not reviewed") {
		t.Errorf("message %q", r.Message)
	}
}

func TestIssueAnomalies(t *testing.T) {
	gh := wearableGitHub(t)
	created := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	evaluated := "### Kind\n\nperformance\n\n### Risk acceptable\n\nYes\n\n### Rationale\n\nBuffered for 24 h.\n\n" +
		"### Evaluated by\n\nDr. Maria Lindqvist\n\n### Evaluated at\n\n2026-11-18\n"
	gh.Issues = []githubtest.Issue{
		{Number: 17, Title: "BLE reconnect takes 45 s", State: "open", Labels: []string{"anomaly", "wm-firmware"}, Author: "qa", Created: created, Body: evaluated},
		{Number: 18, Title: "Unrelated", State: "open", Labels: []string{"anomaly", "wm-app"}, Body: "x"},
	}
	gl := gitlabtest.New(t, "wearable/alert-service", 7)
	gl.Token = "glpat-runner"
	gl.Issues = []gitlabtest.Issue{
		{IID: 5, Title: "Escalation timer drifts", State: "opened", Labels: []string{"anomaly"}, Created: created,
			Body: "```yaml\nkind: defect\nriskAcceptable: true\nrationale: Drift under 1 s.\nevaluatedBy: QA board\nevaluatedAt: 2026-11-18\n```"},
	}
	project := testutil.Project(t, testutil.Wearable)
	cfg := loadConfig(t, project)
	cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitHub: &config.GitHubIssues{APIURL: gh.APIURL(), Labels: []string{"anomaly", "wm-firmware"}}}
	alert := component(t, cfg, "wm-alert-service")
	alert.AnomalyIssues = &config.AnomalyIssues{GitLab: &config.GitLabIssues{Project: "wearable/alert-service", BaseURL: gl.URL}}

	m, _ := collectCommit(t, sourcesOptions(cfg, filepath.Join(t.TempDir(), "release"), map[string]string{"GITLAB_TOKEN": "glpat-runner"}))
	for comp, want := range map[string]struct{ name, id string }{
		"wm-firmware":      {"issues/github/acme-medical/wearable-monitor.anomalies.json", "GH-17"},
		"wm-alert-service": {"issues/gitlab/wearable/alert-service.anomalies.json", "GL-5"},
	} {
		c := m.Component(comp)
		found := false
		for _, r := range c.Evidence {
			if r.Name == want.name {
				found = r.Type == evidence.TypeAnomalies && r.Format == evidence.FormatAnomaliesJSON && r.Anomalies.Total == 1 && r.Anomalies.Evaluated == 1
			}
		}
		if !found {
			t.Errorf("%s: no anomaly list %s with one evaluated anomaly: %+v", comp, want.name, c.Evidence)
		}
		ok := false
		for _, a := range c.Anomalies {
			ok = ok || (a.ID == want.id && a.Evaluated())
		}
		if !ok {
			t.Errorf("%s: anomaly %s missing: %+v", comp, want.id, c.Anomalies)
		}
	}
	if !m.Policy.Passed() {
		t.Errorf("policy failed: %+v", m.Policy.Rules)
	}
}

// TestIssueAnomalyUnevaluated: an anomaly issue without an evaluation is
// sealed as such, and a class C release fails its policy naming it.
func TestIssueAnomalyUnevaluated(t *testing.T) {
	gh := wearableGitHub(t)
	gh.Issues = []githubtest.Issue{{Number: 21, Title: "HR spikes", State: "open", Labels: []string{"anomaly"}, Body: "```yaml\nkind: defect\n```"}}
	cfg := loadConfig(t, testutil.Project(t, testutil.Wearable))
	cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitHub: &config.GitHubIssues{APIURL: gh.APIURL()}}
	st, err := runner.Collect(context.Background(), sourcesOptions(cfg, filepath.Join(t.TempDir(), "release"), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	r := ruleResult(st.Manifest, policy.RuleAnomaliesEvaluated, "wm-firmware")
	if r == nil || r.Outcome != evidence.OutcomeFail || !cmp.Equal(r.Missing, []string{"GH-21: no riskAcceptable, rationale, evaluatedBy, evaluatedAt"}) {
		t.Errorf("anomalies.evaluated: %+v", r)
	}
}

// TestSourceErrors: a source that cannot be read fails the collection with
// an error naming the component, the key and what to check; nothing is
// left behind.
func TestSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(cfg *config.Config, gh *githubtest.Server)
		env   map[string]string
		kind  evidence.Kind
		want  []string
	}{
		{"token without pull-requests: read", func(cfg *config.Config, gh *githubtest.Server) {
			gh.Denied = map[string]bool{"pulls": true}
			cfg.Components[0].Changes = &config.Changes{GitHub: &config.GitHubChanges{APIURL: gh.APIURL()}}
		}, nil, evidence.KindForbidden, []string{"components[0] (wm-firmware).changes.github: GitHub: list the pull requests of commit", "`permissions: pull-requests: read`"}},
		{"first release", func(cfg *config.Config, gh *githubtest.Server) {
			delete(gh.Tags, "v2.3.0")
			cfg.Components[0].Changes = &config.Changes{GitHub: &config.GitHubChanges{APIURL: gh.APIURL()}}
		}, nil, evidence.KindInvalid, []string{`no release tag matching "v*" precedes the release tag v2.4.0`, "noPreviousRelease: all"}},
		{"GitHub keeps failing", func(cfg *config.Config, gh *githubtest.Server) {
			for range 5 {
				gh.Fail("/repos/acme-medical/wearable-monitor/issues", githubtest.ServerError(502))
			}
			cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitHub: &config.GitHubIssues{APIURL: gh.APIURL()}}
		}, nil, evidence.KindInternal, []string{"components[0] (wm-firmware)", "still failing: HTTP 502, 5 attempts"}},
		{"an issue without fields", func(cfg *config.Config, gh *githubtest.Server) {
			gh.Issues = []githubtest.Issue{{Number: 3, Title: "Crash", State: "open", Labels: []string{"anomaly"}, Body: "It crashed."}}
			cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitHub: &config.GitHubIssues{APIURL: gh.APIURL()}}
		}, nil, evidence.KindInvalid, []string{"anomalyIssues.github: GitHub issues of acme-medical/wearable-monitor: issue #3 (https://github.example/acme-medical/wearable-monitor/issues/3): the body has no anomaly fields"}},
		{"an issue id already used by the anomaly list", func(cfg *config.Config, gh *githubtest.Server) {
			gh.Issues = []githubtest.Issue{{Number: 3, Title: "Dup", State: "open", Labels: []string{"anomaly"}, Body: "```yaml\nid: ANOM-FW-0042\nkind: defect\n```"}}
			cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitHub: &config.GitHubIssues{APIURL: gh.APIURL()}}
		}, nil, evidence.KindInvalid, []string{"anomaly id ANOM-FW-0042 appears in both anomalies/fw.yaml and issues/github/acme-medical/wearable-monitor.anomalies.json"}},
		{"no GitLab project", func(cfg *config.Config, gh *githubtest.Server) {
			cfg.Components[0].AnomalyIssues = &config.AnomalyIssues{GitLab: &config.GitLabIssues{}}
		}, nil, evidence.KindInvalid, []string{"anomalyIssues.gitlab.project: not set, and the build names no GitLab project (CI_PROJECT_PATH)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := wearableGitHub(t)
			cfg := loadConfig(t, testutil.Project(t, testutil.Wearable))
			tc.setup(cfg, gh)
			out := filepath.Join(t.TempDir(), "release")
			st, err := runner.Collect(context.Background(), sourcesOptions(cfg, out, tc.env))
			if err == nil {
				st.Discard()
				t.Fatal("Collect succeeded")
			}
			if k := evidence.KindOf(err); k != tc.kind {
				t.Errorf("kind %s, want %s: %v", k, tc.kind, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), ghToken) {
				t.Errorf("the error shows the token: %v", err)
			}
			testutil.NoStaging(t, out)
		})
	}
}
