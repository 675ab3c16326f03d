package gitlab_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
	"github.com/evident-dev/evident/internal/source/gitlab"
	"github.com/evident-dev/evident/internal/source/gitlab/gitlabtest"
)

const token = "glpat-s3cr3tVALUE"

var created = time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC)

func fake(t *testing.T) *gitlabtest.Server {
	s := gitlabtest.New(t, "wearable/alert-service", 42)
	s.Token, s.JobToken = token, "job-s3cr3t"
	s.Private = true
	s.PerPage = 2
	form := "### Kind\n\nDefect\n\n### Risk acceptable\n\nNo\n\n### Rationale\n\nEscalation may be late.\n\n### Evaluated by\n\nQA board\n\n### Evaluated at\n\n2026-11-18\n\n### Status\n\nOpen\n"
	s.Issues = []gitlabtest.Issue{
		{IID: 31, Title: "Escalation delayed when a clinician is offline", State: "opened", Labels: []string{"anomaly", "alert"}, Author: "jdoe", Created: created, Body: form},
		{IID: 12, Title: "Timezone shown as UTC", State: "opened", Labels: []string{"anomaly"}, Author: "qa", Created: created,
			Body: "Seen on the dashboard.\n\n```yaml\nkind: usability\nriskAcceptable: true\nrationale: Cosmetic.\nevaluatedBy: QA board\nevaluatedAt: 2026-11-18\n```\n"},
		{IID: 14, Title: "Fixed crash", State: "closed", Labels: []string{"anomaly"}, Body: "```yaml\nkind: defect\n```\n"},
		{IID: 15, Title: "Retry storms", State: "opened", Labels: []string{"anomaly"}, Body: "```yaml\nkind: performance\n```\n"},
		{IID: 20, Title: "A wish", State: "opened", Labels: []string{"feature"}},
	}
	return s
}

type sleeps struct{ d []time.Duration }

func (s *sleeps) sleep(_ context.Context, d time.Duration) error { s.d = append(s.d, d); return nil }

func client(t *testing.T, s *gitlabtest.Server, base, tok, env string, sl *sleeps) *gitlab.Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	if base == "" {
		base = s.URL
	}
	c, err := gitlab.New(gitlab.Options{BaseURL: base, Token: source.Secret(tok), TokenEnv: env, Retry: source.Retry{Sleep: sl.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ids(t *testing.T, issues []source.Issue) []string {
	t.Helper()
	list, err := source.IssueAnomalies(issues, gitlab.DefaultIDPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		out = append(out, a.ID+" "+a.Kind+" "+a.Status)
	}
	return out
}

func TestIssues(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(*gitlabtest.Server)
		base    string
		project string
		tok     string
		env     string
	}{
		{"offset pagination, project path, access token", nil, "", "wearable/alert-service", token, ""},
		{"keyset pagination (Link only), project id, API URL", func(s *gitlabtest.Server) { s.KeysetOnly = true }, "/api/v4/", "42", token, ""},
		{"job token", nil, "", "wearable/alert-service", "job-s3cr3t", gitlab.JobTokenEnv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			base := ""
			if tc.base != "" {
				base = s.URL + tc.base
			}
			issues, err := client(t, s, base, tc.tok, tc.env, nil).Issues(context.Background(), gitlab.IssuesQuery{Project: tc.project, Labels: []string{"anomaly"}})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"GL-12 usability open", "GL-15 performance open", "GL-31 defect open"}
			if diff := cmp.Diff(want, ids(t, issues)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := len(s.Requests()); n != 2 {
				t.Errorf("%d requests, want 2 pages:\n%s", n, strings.Join(s.Requests(), "\n"))
			}
			if tc.project != "42" && !strings.Contains(s.Requests()[0], "/projects/wearable%2Falert-service/issues") {
				t.Errorf("project path not escaped: %s", s.Requests()[0])
			}
		})
	}
	// Closed issues with state all, status from the issue's state.
	s := fake(t)
	issues, err := client(t, s, "", token, "", nil).Issues(context.Background(), gitlab.IssuesQuery{Project: "wearable/alert-service", Labels: []string{"anomaly"}, State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(t, issues); !cmp.Equal(got, []string{"GL-12 usability open", "GL-14 defect closed", "GL-15 performance open", "GL-31 defect open"}) {
		t.Errorf("state all: %v", got)
	}
}

func TestRetry(t *testing.T) {
	s := fake(t)
	s.Fail(
		gitlabtest.Fault{Status: http.StatusBadGateway, Body: "<html>bad gateway</html>"},
		gitlabtest.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "9", "RateLimit-Remaining": "0"}},
	)
	sl := &sleeps{}
	issues, err := client(t, s, "", token, "", sl).Issues(context.Background(), gitlab.IssuesQuery{Project: "wearable/alert-service", Labels: []string{"anomaly"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(issues) != 3 {
		t.Errorf("%d issues, want 3", len(issues))
	}
	if !cmp.Equal(sl.d, []time.Duration{time.Second, 9 * time.Second}) {
		t.Errorf("waits %v, want [1s 9s]", sl.d)
	}
}

func TestErrors(t *testing.T) {
	q := gitlab.IssuesQuery{Project: "wearable/alert-service", Labels: []string{"anomaly"}}
	for _, tc := range []struct {
		name  string
		setup func(*gitlabtest.Server)
		tok   string
		env   string
		q     gitlab.IssuesQuery
		kind  evidence.Kind
		want  []string
	}{
		{"keeps failing", func(s *gitlabtest.Server) {
			for range 5 {
				s.Fail(gitlabtest.Fault{Status: 500})
			}
		}, token, "", q, evidence.KindInternal, []string{"still failing: HTTP 500, 5 attempts", "try again later"}},
		{"rate limited for long", func(s *gitlabtest.Server) {
			s.Fail(gitlabtest.Fault{Status: 429, Header: map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "4102444800"}})
		}, token, "", q, evidence.KindInternal, []string{"HTTP 429 (rate limited)", "longer than evident waits", "resets at 2100-01-01T00:00:00Z"}},
		{"bad token", nil, "glpat-wrong", "", q, evidence.KindUnauthorized, []string{"401 Unauthorized", "rejected the token in $GITLAB_TOKEN"}},
		{"private project, no token", nil, "", "", q, evidence.KindNotFound,
			[]string{"404 Project Not Found", "project wearable/alert-service does not exist, or it is private", "neither $GITLAB_TOKEN nor $CI_JOB_TOKEN is set"}},
		{"job token not allowed", func(s *gitlabtest.Server) { s.JobTokenForbidden = true }, "job-s3cr3t", gitlab.JobTokenEnv, q, evidence.KindForbidden,
			[]string{"403 Forbidden", "a CI job token reaches only some API endpoints", "$GITLAB_TOKEN"}},
		{"bad state", nil, token, "", gitlab.IssuesQuery{Project: "x/y", State: "open-ish"}, evidence.KindInvalid, []string{`state "open-ish"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			_, err := client(t, s, "", tc.tok, tc.env, nil).Issues(context.Background(), tc.q)
			if err == nil {
				t.Fatal("no error")
			}
			if k := evidence.KindOf(err); k != tc.kind {
				t.Errorf("kind %s, want %s: %v", k, tc.kind, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if tc.tok != "" && strings.Contains(err.Error(), tc.tok) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestLinkToAnotherServerIsNotFollowed(t *testing.T) {
	s := fake(t)
	other := gitlabtest.New(t, "wearable/alert-service", 42)
	other.KeysetOnly = true
	// A Link header pointing elsewhere must not receive the token.
	s.Fail(gitlabtest.Fault{Status: 200, Header: map[string]string{"Link": "<" + other.URL + "/api/v4/projects/42/issues?cursor=2>; rel=\"next\""}, Body: "[]"})
	_, err := client(t, s, "", token, "", nil).Issues(context.Background(), gitlab.IssuesQuery{Project: "42"})
	if err == nil || !strings.Contains(err.Error(), "on another server") {
		t.Errorf("err %v, want a refusal to follow the link", err)
	}
	if len(other.Requests()) != 0 {
		t.Errorf("the other server was asked: %v", other.Requests())
	}
}
