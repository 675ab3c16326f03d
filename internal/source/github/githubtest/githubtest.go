// Package githubtest is a fake of the part of the GitHub REST API that
// evident reads — tags, commits, compare, the pull requests of a commit,
// reviews, issues — served by httptest with GitHub's pagination (page and
// per_page, answered with a Link header), authentication and error
// answers, and faults injected per path (5xx, 429, primary and secondary
// rate limits).
package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Commit is one commit of the fake's linear history.
type Commit struct {
	SHA        string
	Login      string // the author's GitHub login; "" when none is linked
	AuthorName string
	Message    string
}

// PR is a pull request.
type PR struct {
	Number int
	Author string
	Merged bool
}

// Review is one submitted review.
type Review struct {
	Reviewer string
	State    string // APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED
	At       time.Time
}

// Issue is an issue (or, with PR set, a pull request as the issues API
// lists it).
type Issue struct {
	Number  int
	Title   string
	Body    string
	State   string // open, closed
	Labels  []string
	Author  string
	Created time.Time
	PR      bool
}

// Fault is an answer served instead of the real one.
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is the fake. Set its fields before the first request; the
// exported methods are safe for concurrent use.
type Server struct {
	*httptest.Server

	Owner, Repo string
	// Token is the only token accepted ("" accepts any); a request with
	// another gets 401.
	Token string
	// Denied lists API areas ("pulls", "issues", "contents") the token
	// may not read: 403 with X-Accepted-GitHub-Permissions, as GitHub
	// answers a fine-grained token without that permission.
	Denied  map[string]bool
	Private bool // without a token, the repository is not found (404)
	// PerPage caps per_page (GitHub caps it at 100), so that tests page
	// through short lists.
	PerPage int

	Commits []Commit          // oldest first
	Tags    map[string]string // tag name -> commit sha
	PRs     map[string][]PR   // commit sha -> pull requests
	Reviews map[int][]Review  // pull request -> reviews, in submission order
	Issues  []Issue

	mu       sync.Mutex
	faults   map[string][]Fault // path prefix -> faults, served first-in first-out
	requests []string
}

// New starts a fake for owner/repo and stops it when the test ends.
func New(t testing.TB, owner, repo string) *Server {
	s := &Server{Owner: owner, Repo: repo, Tags: map[string]string{}, PRs: map[string][]PR{}, Reviews: map[int][]Review{}, faults: map[string][]Fault{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the REST API root to configure (GitHub Enterprise layout).
func (s *Server) APIURL() string { return s.URL + "/api/v3" }

// Fail queues faults for the requests whose path (after /api/v3) starts
// with prefix, such as "/repos/acme/fw/compare".
func (s *Server) Fail(prefix string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[prefix] = append(s.faults[prefix], faults...)
}

// Requests returns the requests served so far, "GET /repos/...?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// SecondaryRateLimit is GitHub's answer to too many requests in a burst.
func SecondaryRateLimit(retryAfter int) Fault {
	return Fault{Status: http.StatusForbidden, Header: map[string]string{"Retry-After": strconv.Itoa(retryAfter)},
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
}

// PrimaryRateLimit is GitHub's answer once the hourly limit is used up.
func PrimaryRateLimit(reset time.Time) Fault {
	return Fault{Status: http.StatusForbidden, Header: map[string]string{
		"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	}, Body: `{"message":"API rate limit exceeded for installation.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`}
}

// ServerError is a 5xx answer.
func ServerError(status int) Fault {
	return Fault{Status: status, Body: `{"message":"Server Error"}`}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v3")
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+p+query(r))
	var fault *Fault
	for prefix, fs := range s.faults {
		if len(fs) > 0 && strings.HasPrefix(p, prefix) {
			fault = &fs[0]
			s.faults[prefix] = fs[1:]
			break
		}
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if !ok || r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	if fault != nil {
		for k, v := range fault.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, fault.Body)
		return
	}
	auth := r.Header.Get("Authorization")
	if s.Token != "" && auth != "" && auth != "Bearer "+s.Token {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(seg) < 4 || seg[0] != "repos" || seg[1] != s.Owner || seg[2] != s.Repo || (s.Private && auth == "") {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	area := map[string]string{"pulls": "pulls", "issues": "issues"}[seg[3]]
	if seg[3] == "commits" && len(seg) == 6 && seg[5] == "pulls" {
		area = "pulls"
	}
	if area == "" {
		area = "contents"
	}
	if s.Denied[area] {
		perm := map[string]string{"pulls": "pull_requests=read", "issues": "issues=read", "contents": "contents=read"}[area]
		w.Header().Set("X-Accepted-GitHub-Permissions", perm)
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return
	}
	switch {
	case seg[3] == "tags" && len(seg) == 4:
		var tags []map[string]any
		for _, name := range sortedKeys(s.Tags) {
			tags = append(tags, map[string]any{"name": name, "commit": map[string]any{"sha": s.Tags[name]}})
		}
		s.paginate(w, r, tags, nil)
	case seg[3] == "commits" && len(seg) == 4:
		head := s.resolve(r.URL.Query().Get("sha"))
		if head < 0 {
			writeError(w, http.StatusNotFound, "Not Found")
			return
		}
		var list []map[string]any
		for i := head; i >= 0; i-- { // newest first
			list = append(list, s.commitJSON(s.Commits[i]))
		}
		s.paginate(w, r, list, nil)
	case seg[3] == "commits" && len(seg) == 5:
		i := s.resolve(unescape(seg[4]))
		if i < 0 {
			writeError(w, http.StatusUnprocessableEntity, "No commit found for SHA: "+unescape(seg[4]))
			return
		}
		if strings.Contains(r.Header.Get("Accept"), "sha") {
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, s.Commits[i].SHA)
			return
		}
		writeJSON(w, s.commitJSON(s.Commits[i]))
	case seg[3] == "commits" && len(seg) == 6 && seg[5] == "pulls":
		var list []map[string]any
		for _, pr := range s.PRs[seg[4]] {
			list = append(list, s.prJSON(pr))
		}
		s.paginate(w, r, list, nil)
	case seg[3] == "compare" && len(seg) == 5:
		s.compare(w, r, seg[4])
	case seg[3] == "pulls" && len(seg) == 6 && seg[5] == "reviews":
		n, _ := strconv.Atoi(seg[4])
		var list []map[string]any
		for i, rv := range s.Reviews[n] {
			list = append(list, map[string]any{
				"id": n*1000 + i, "user": map[string]any{"login": rv.Reviewer}, "state": rv.State,
				"submitted_at": rv.At.UTC().Format(time.RFC3339), "commit_id": s.Commits[len(s.Commits)-1].SHA,
			})
		}
		s.paginate(w, r, list, nil)
	case seg[3] == "issues" && len(seg) == 4:
		s.issues(w, r)
	default:
		writeError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) compare(w http.ResponseWriter, r *http.Request, basehead string) {
	base, head, ok := strings.Cut(unescape(basehead), "...")
	bi, hi := s.resolve(base), s.resolve(head)
	if !ok || bi < 0 || hi < 0 {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	status := "ahead"
	var list []map[string]any
	switch {
	case bi == hi:
		status = "identical"
	case hi < bi:
		status = "behind"
	default:
		for i := bi + 1; i <= hi; i++ {
			list = append(list, s.commitJSON(s.Commits[i]))
		}
	}
	obj := map[string]any{
		"status": status, "ahead_by": max(hi-bi, 0), "behind_by": max(bi-hi, 0), "total_commits": len(list),
		"base_commit": s.commitJSON(s.Commits[bi]), "merge_base_commit": s.commitJSON(s.Commits[min(bi, hi)]),
	}
	s.paginate(w, r, list, func(page []map[string]any) any {
		obj["commits"] = page
		return obj
	})
}

func (s *Server) issues(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var list []map[string]any
	for _, is := range s.Issues {
		if state != "all" && is.State != state || !hasAll(is.Labels, want) {
			continue
		}
		var labels []map[string]any
		for _, l := range is.Labels {
			labels = append(labels, map[string]any{"name": l})
		}
		o := map[string]any{
			"number": is.Number, "title": is.Title, "body": is.Body, "state": is.State, "labels": labels,
			"user": map[string]any{"login": is.Author}, "created_at": is.Created.UTC().Format(time.RFC3339),
			"html_url": fmt.Sprintf("https://github.example/%s/%s/issues/%d", s.Owner, s.Repo, is.Number),
		}
		if is.PR {
			o["pull_request"] = map[string]any{"url": "x"}
		}
		list = append(list, o)
	}
	s.paginate(w, r, list, nil)
}

// resolve finds a commit by sha, tag or "main" (the last commit).
func (s *Server) resolve(ref string) int {
	if ref == "main" || ref == "" {
		return len(s.Commits) - 1
	}
	if sha, ok := s.Tags[ref]; ok {
		ref = sha
	}
	for i, c := range s.Commits {
		if c.SHA == ref {
			return i
		}
	}
	return -1
}

func (s *Server) commitJSON(c Commit) map[string]any {
	o := map[string]any{
		"sha":    c.SHA,
		"commit": map[string]any{"message": c.Message, "author": map[string]any{"name": c.AuthorName, "email": "x@example.com"}},
	}
	if c.Login != "" {
		o["author"] = map[string]any{"login": c.Login}
	}
	return o
}

func (s *Server) prJSON(pr PR) map[string]any {
	o := map[string]any{
		"number": pr.Number, "state": "closed", "user": map[string]any{"login": pr.Author},
		"html_url": fmt.Sprintf("https://github.example/%s/%s/pull/%d", s.Owner, s.Repo, pr.Number),
	}
	if pr.Merged {
		o["merged_at"] = "2026-11-01T12:00:00Z"
	} else {
		o["state"] = "open"
	}
	return o
}

// paginate writes one page of list (page and per_page from the query, 30
// a page by default, as GitHub) with a Link header naming the next and last
// pages. wrap, when set, turns the page into the answer's body.
func (s *Server) paginate(w http.ResponseWriter, r *http.Request, list []map[string]any, wrap func([]map[string]any) any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if s.PerPage > 0 {
		per = min(per, s.PerPage)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := max(1, (len(list)+per-1)/per)
	from, to := min((page-1)*per, len(list)), min(page*per, len(list))
	pageItems := list[from:to]
	if pageItems == nil {
		pageItems = []map[string]any{}
	}
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
		v := r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		u.RawQuery = v.Encode()
		return fmt.Sprintf(`<%s>; rel="%s"`, u.String(), rel)
	}
	var links []string
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"), link(page-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	var body any = pageItems
	if wrap != nil {
		body = wrap(pageItems)
	}
	writeJSON(w, body)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	writeJSON(w, map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest"})
}

func query(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func hasAll(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || strings.EqualFold(h, w)
		}
		if !found {
			return false
		}
	}
	return true
}
