package github_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
	"github.com/evident-dev/evident/internal/source/github"
	"github.com/evident-dev/evident/internal/source/github/githubtest"
)

func sha(c byte) string { return strings.Repeat(string(c), 40) }

const token = "ghp_s3cr3tTOKENvalue"

// fake is acme/wm-firmware: v3.1.1 at b; v3.1.2 at f adds four commits:
// c reviewed after a change request, d pushed straight to main, e approved
// only by its own author, f by a bot account approved by bob.
func fake(t *testing.T) *githubtest.Server {
	s := githubtest.New(t, "acme", "wm-firmware")
	s.Token = token
	s.PerPage = 2 // every list spans pages
	s.Commits = []githubtest.Commit{
		{SHA: sha('a'), Login: "alice", Message: "Initial release"},
		{SHA: sha('b'), Login: "alice", Message: "Release 3.1.1"},
		{SHA: sha('c'), Login: "alice", Message: "Debounce the motion filter\n\nDetails."},
		{SHA: sha('d'), Login: "mallory", Message: "Hotfix"},
		{SHA: sha('e'), Login: "carol", Message: "Tune thresholds"},
		{SHA: sha('f'), AuthorName: "Release Bot", Message: "Bump version"},
	}
	s.Tags = map[string]string{
		"v2.9.0": sha('a'), "v3.1.0": sha('a'), "v3.1.1": sha('b'), "v3.2.0-rc.1": sha('e'), "v3.1.2": sha('f'),
		"nightly": sha('f'), "fw-3.0.0": sha('a'),
	}
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	s.PRs = map[string][]githubtest.PR{
		sha('c'): {{Number: 10, Author: "alice", Merged: true}},
		sha('e'): {{Number: 11, Author: "dave", Merged: true}, {Number: 9, Author: "carol", Merged: false}},
		sha('f'): {{Number: 12, Author: "release-bot", Merged: true}},
	}
	s.Reviews = map[int][]githubtest.Review{
		10: {{Reviewer: "bob", State: "CHANGES_REQUESTED", At: at}, {Reviewer: "bob", State: "COMMENTED", At: at}, {Reviewer: "erin", State: "COMMENTED", At: at}, {Reviewer: "bob", State: "APPROVED", At: at.Add(time.Hour)}},
		11: {{Reviewer: "carol", State: "APPROVED", At: at}},
		12: {{Reviewer: "bob", State: "APPROVED", At: at}},
	}
	return s
}

// sleeps records the waits of a retry instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func client(t *testing.T, s *githubtest.Server, tok string, sl *sleeps) *github.Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	c, err := github.New(github.Options{APIURL: s.APIURL(), Token: source.Secret(tok), Retry: source.Retry{Sleep: sl.sleep}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var wantCommits = []review.Commit{
	{SHA: sha('c'), Author: "alice", Title: "Debounce the motion filter", Reviewed: true, PullRequests: []review.PullRequest{{
		Number: 10, URL: "https://github.example/acme/wm-firmware/pull/10", Author: "alice", Merged: true, Approvers: []string{"bob"},
		Reviews: []review.Review{
			{Reviewer: "bob", State: "APPROVED", SubmittedAt: "2026-11-02T11:00:00Z", CommitID: sha('f')},
			{Reviewer: "erin", State: "COMMENTED", SubmittedAt: "2026-11-02T10:00:00Z", CommitID: sha('f')},
		},
	}}},
	{SHA: sha('d'), Author: "mallory", Title: "Hotfix", PullRequests: []review.PullRequest{}, Reason: review.ReasonNoPullRequest},
	{SHA: sha('e'), Author: "carol", Title: "Tune thresholds", Reason: review.ReasonSelfApproved, PullRequests: []review.PullRequest{
		{Number: 9, URL: "https://github.example/acme/wm-firmware/pull/9", Author: "carol", Reviews: []review.Review{}, Approvers: []string{}},
		{Number: 11, URL: "https://github.example/acme/wm-firmware/pull/11", Author: "dave", Merged: true, Approvers: []string{"carol"},
			Reviews: []review.Review{{Reviewer: "carol", State: "APPROVED", SubmittedAt: "2026-11-02T10:00:00Z", CommitID: sha('f')}}},
	}},
	{SHA: sha('f'), AuthorName: "Release Bot", Title: "Bump version", Reviewed: true, PullRequests: []review.PullRequest{
		{Number: 12, URL: "https://github.example/acme/wm-firmware/pull/12", Author: "release-bot", Merged: true, Approvers: []string{"bob"},
			Reviews: []review.Review{{Reviewer: "bob", State: "APPROVED", SubmittedAt: "2026-11-02T10:00:00Z", CommitID: sha('f')}}},
	}},
}

func TestChanges(t *testing.T) {
	s := fake(t)
	rec, err := client(t, s, token, nil).Changes(context.Background(), github.ChangesQuery{
		Repository: "acme/wm-firmware", Until: sha('f'), UntilRef: "v3.1.2", Version: "3.1.2",
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&review.Point{Ref: "v3.1.1", SHA: sha('b')}, rec.Base); diff != "" {
		t.Errorf("base (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(review.Point{Ref: "v3.1.2", SHA: sha('f')}, rec.Head); diff != "" {
		t.Errorf("head (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantCommits, rec.Commits); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	if want := []string{`base v3.1.1: the highest release tag matching "v*" below the release tag v3.1.2`}; !cmp.Equal(want, rec.Notes) {
		t.Errorf("notes %q, want %q", rec.Notes, want)
	}
	// The record encodes, reads back, and its summary names the
	// unreviewed commits.
	b, err := review.Encode(rec)
	if err != nil {
		t.Fatal(err)
	}
	_, sum, err := review.Read(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Commits != 4 || sum.Reviewed != 2 || len(sum.UnreviewedChanges) != 2 || sum.UnreviewedChanges[0].SHA != sha('d') {
		t.Errorf("summary %+v", sum)
	}
	// Every list was paged through (two items a page), and a pull request's
	// reviews were read once.
	var compares, reviews10 int
	for _, r := range s.Requests() {
		if strings.Contains(r, "/compare/") {
			compares++
		}
		if strings.Contains(r, "/pulls/10/reviews") {
			reviews10++
		}
	}
	if compares != 2 || reviews10 != 2 {
		t.Errorf("%d compare and %d review requests for #10, want 2 and 2 (pages of two):\n%s", compares, reviews10, strings.Join(s.Requests(), "\n"))
	}
}

func TestChangesBase(t *testing.T) {
	for _, tc := range []struct {
		name     string
		q        github.ChangesQuery
		wantBase *review.Point
		commits  int
		note     string
	}{
		{"from the component version when the ref is no tag", github.ChangesQuery{Until: sha('f'), UntilRef: "main", Version: "3.1.2"},
			&review.Point{Ref: "v3.1.1", SHA: sha('b')}, 4, "below the component version 3.1.2"},
		{"since set", github.ChangesQuery{Until: sha('f'), Since: "v3.1.0"}, &review.Point{Ref: "v3.1.0", SHA: sha('a')}, 5, "set in the configuration"},
		{"since a commit", github.ChangesQuery{Until: sha('f'), Since: sha('c')}, &review.Point{SHA: sha('c')}, 3, "set in the configuration"},
		{"until a ref, resolved", github.ChangesQuery{Until: "v3.1.2"}, &review.Point{Ref: "v3.1.1", SHA: sha('b')}, 4, "below the release tag v3.1.2"},
		{"a tag pattern", github.ChangesQuery{Until: sha('f'), UntilRef: "fw-3.1.2", TagPattern: "fw-*"}, &review.Point{Ref: "fw-3.0.0", SHA: sha('a')}, 5, `matching "fw-*"`},
		{"pre-releases are not releases", github.ChangesQuery{Until: sha('f'), Version: "3.3.0"}, &review.Point{Ref: "v3.1.2", SHA: sha('f')}, 0, "below the component version 3.3.0"},
		{"first release, all history", github.ChangesQuery{Until: sha('a'), UntilRef: "v2.9.0", AllIfNoPrevious: true}, nil, 1, "a first release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Repository = "acme/wm-firmware"
			rec, err := client(t, fake(t), token, nil).Changes(context.Background(), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantBase, rec.Base); diff != "" {
				t.Errorf("base (-want +got):\n%s", diff)
			}
			if len(rec.Commits) != tc.commits {
				t.Errorf("%d commits, want %d", len(rec.Commits), tc.commits)
			}
			if len(rec.Notes) != 1 || !strings.Contains(rec.Notes[0], tc.note) {
				t.Errorf("notes %q, want one containing %q", rec.Notes, tc.note)
			}
		})
	}
}

// TestRetry: 5xx, 429 and both of GitHub's rate limits are retried, with the
// waits GitHub asks for, and the record comes out complete.
func TestRetry(t *testing.T) {
	s := fake(t)
	s.Fail("/repos/acme/wm-firmware/compare",
		githubtest.ServerError(502),
		githubtest.Fault{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "7"}},
		githubtest.SecondaryRateLimit(42),
	)
	s.Fail("/repos/acme/wm-firmware/pulls/12/reviews", githubtest.PrimaryRateLimit(time.Now().Add(30*time.Second)), githubtest.ServerError(503))
	sl := &sleeps{}
	rec, err := client(t, s, token, sl).Changes(context.Background(), github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('f'), UntilRef: "v3.1.2"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantCommits, rec.Commits); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	if len(sl.d) != 5 {
		t.Fatalf("waits %v, want 5", sl.d)
	}
	if sl.d[0] != time.Second || sl.d[1] != 7*time.Second || sl.d[2] != 42*time.Second || sl.d[4] != 2*time.Second {
		t.Errorf("waits %v, want 1s (backoff), 7s (Retry-After), 42s (secondary limit), ~31s (reset), 2s (second backoff of that request)", sl.d)
	}
	if sl.d[3] < 25*time.Second || sl.d[3] > 32*time.Second {
		t.Errorf("wait for the primary limit's reset %v, want about 31s", sl.d[3])
	}
}

func TestErrors(t *testing.T) {
	q := github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('f'), UntilRef: "v3.1.2"}
	for _, tc := range []struct {
		name  string
		setup func(s *githubtest.Server)
		token string
		q     github.ChangesQuery
		kind  evidence.Kind
		want  []string
	}{
		{"server keeps failing", func(s *githubtest.Server) {
			for range 5 {
				s.Fail("/repos/acme/wm-firmware/tags", githubtest.ServerError(503))
			}
		}, token, q, evidence.KindInternal, []string{"list the tags of acme/wm-firmware: still failing: HTTP 503, 5 attempts", "try again later"}},
		{"rate limit resets too late", func(s *githubtest.Server) {
			s.Fail("/repos/acme/wm-firmware/tags", githubtest.PrimaryRateLimit(time.Now().Add(time.Hour)))
		}, token, q, evidence.KindInternal, []string{"rate limit (1000 requests an hour) is used up", "longer than evident waits (2m0s)", "the limit resets at", "try again after the reset"}},
		{"bad token", nil, "ghp_wrong", q, evidence.KindUnauthorized, []string{"401 Bad credentials", "rejected the token in $GITHUB_TOKEN"}},
		{"private repository, no token", func(s *githubtest.Server) { s.Private = true }, "", q, evidence.KindNotFound,
			[]string{"404 Not Found", "acme/wm-firmware does not exist, or it is private", "$GITHUB_TOKEN is not set", "`contents: read`"}},
		{"token without pull-requests: read", func(s *githubtest.Server) { s.Denied = map[string]bool{"pulls": true} }, token, q, evidence.KindForbidden,
			[]string{"403 Resource not accessible by integration", "may not read pull requests of acme/wm-firmware", "`permissions: pull-requests: read`", "GitHub accepts: pull_requests=read"}},
		{"unknown since", nil, token, github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('f'), Since: "v0.0.1"}, evidence.KindNotFound,
			[]string{"compare v0.0.1...ffffffffffff in acme/wm-firmware: 404", "or v0.0.1 or ffffffffffff in it"}},
		{"no previous release", nil, token, github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('a'), UntilRef: "v2.9.0"}, evidence.KindInvalid,
			[]string{`no release tag matching "v*" precedes the release tag v2.9.0`, "noPreviousRelease: all", "changes.github.since"}},
		{"no version to go by", nil, token, github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('f'), UntilRef: "main", Version: "nightly"}, evidence.KindInvalid,
			[]string{"cannot tell which tag is the previous release", "set changes.github.since"}},
		{"since after until", nil, token, github.ChangesQuery{Repository: "acme/wm-firmware", Until: sha('b'), Since: "v3.1.2"}, evidence.KindInvalid,
			[]string{"is behind the base v3.1.2"}},
		{"bad repository", nil, token, github.ChangesQuery{Repository: "acme", Until: sha('f')}, evidence.KindInvalid, []string{`"acme": want OWNER/NAME`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fake(t)
			if tc.setup != nil {
				tc.setup(s)
			}
			_, err := client(t, s, tc.token, nil).Changes(context.Background(), tc.q)
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
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
}

func TestIssues(t *testing.T) {
	s := fake(t)
	created := time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC)
	s.Issues = []githubtest.Issue{
		{Number: 7, Title: "Alert latency under motion", State: "open", Labels: []string{"anomaly", "fw"}, Author: "qa-bot", Created: created,
			Body: "### Kind\n\nperformance\n\n### Risk acceptable\n\nYes\n\n### Rationale\n\nBuffered.\n\n### Evaluated by\n\nM. L.\n\n### Evaluated at\n\n2026-11-18\n"},
		{Number: 3, Title: "Typo in the pairing screen", State: "open", Labels: []string{"anomaly"}, Author: "ux", Created: created,
			Body: "Found in review.\n\n```yaml\nkind: usability\n```\n"},
		{Number: 5, Title: "Fix the typo", State: "open", Labels: []string{"anomaly"}, PR: true},
		{Number: 4, Title: "Old crash", State: "closed", Labels: []string{"anomaly"}, Body: "```yaml\nkind: defect\n```"},
		{Number: 8, Title: "Feature request", State: "open", Labels: []string{"enhancement"}},
	}
	issues, err := client(t, s, token, nil).Issues(context.Background(), github.IssuesQuery{Repository: "acme/wm-firmware", Labels: []string{"anomaly"}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := source.IssueAnomalies(issues, github.DefaultIDPrefix)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, a.ID+" "+a.Kind+" "+a.Status+" "+a.Links[0])
	}
	want := []string{
		"GH-3 usability open https://github.example/acme/wm-firmware/issues/3",
		"GH-7 performance open https://github.example/acme/wm-firmware/issues/7",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("anomalies (-want +got):\n%s", diff)
	}
	if a := list[1]; a.Discovered == nil || a.Discovered.Date != "2026-10-02" || a.Discovered.By != "qa-bot" || !a.Entry().Evaluated() {
		t.Errorf("GH-7: %+v", a)
	}
	var pagedIssues bool
	for _, r := range s.Requests() {
		pagedIssues = pagedIssues || (strings.Contains(r, "/issues?") && strings.Contains(r, "page=2"))
	}
	if !pagedIssues {
		t.Error("the issues were not paged through")
	}

	// State all includes the closed issue, as closed.
	issues, err = client(t, s, token, nil).Issues(context.Background(), github.IssuesQuery{Repository: "acme/wm-firmware", Labels: []string{"anomaly"}, State: "all"})
	if err != nil {
		t.Fatal(err)
	}
	list, err = source.IssueAnomalies(issues, "FW-")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[1].ID != "FW-4" || list[1].Status != evidence.AnomalyClosed {
		t.Errorf("state all: %+v", list)
	}
}

func TestIssuesErrors(t *testing.T) {
	s := fake(t)
	s.Issues = []githubtest.Issue{
		{Number: 2, Title: "No fields", State: "open", Labels: []string{"anomaly"}, Body: "It crashes sometimes."},
		{Number: 6, Title: "Half filled", State: "open", Labels: []string{"anomaly"}, Body: "### Risk acceptable\n\nNo\n\n### Evaluated by\n\nQA\n"},
		{Number: 9, Title: "Bad date", State: "open", Labels: []string{"anomaly"}, Body: "### Kind\n\ndefect\n\n### Evaluated at\n\nlast week\n"},
	}
	issues, err := client(t, s, token, nil).Issues(context.Background(), github.IssuesQuery{Repository: "acme/wm-firmware", Labels: []string{"anomaly"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = source.IssueAnomalies(issues, github.DefaultIDPrefix)
	if err == nil {
		t.Fatal("no error")
	}
	for _, w := range []string{
		"issue #2 (https://github.example/acme/wm-firmware/issues/2): the body has no anomaly fields",
		`issue #6 (https://github.example/acme/wm-firmware/issues/6): missing kind, rationale (required with riskAcceptable) (a section "Kind", "Rationale" in the issue form`,
		`issue #9 (https://github.example/acme/wm-firmware/issues/9): section "Evaluated at": "last week" is not a date`,
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}

	s.Denied = map[string]bool{"issues": true}
	_, err = client(t, s, token, nil).Issues(context.Background(), github.IssuesQuery{Repository: "acme/wm-firmware", Labels: []string{"anomaly"}})
	if !evidence.IsKind(err, evidence.KindForbidden) || !strings.Contains(err.Error(), "`permissions: issues: read`") {
		t.Errorf("denied issues: %v", err)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := source.Secret(token)
	for _, got := range []string{s.String(), s.GoString(), fmtAll(s)} {
		if strings.Contains(got, "s3cr3t") {
			t.Errorf("the secret shows: %s", got)
		}
	}
	if s.Reveal() != token {
		t.Error("Reveal")
	}
}

func fmtAll(s source.Secret) string {
	b, _ := json.Marshal(struct{ T source.Secret }{s})
	return fmt.Sprintf("%v %s %q %x %+v %#v", s, s, s, s, s, s) + string(b)
}
