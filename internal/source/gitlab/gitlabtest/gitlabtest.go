// Package gitlabtest is a fake of GitLab's REST API v4 issues endpoint,
// served by httptest: offset pagination (X-Page, X-Next-Page and a Link
// header) or, with KeysetOnly, the Link header alone; PRIVATE-TOKEN and
// JOB-TOKEN authentication; GitLab's error answers; and faults injected in
// order (5xx, 429 with Retry-After).
package gitlabtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue is a GitLab issue.
type Issue struct {
	IID     int
	Title   string
	Body    string
	State   string // opened, closed
	Labels  []string
	Author  string
	Created time.Time
}

// Fault is an answer served instead of the real one.
type Fault struct {
	Status int
	Header map[string]string
	Body   string
}

// Server is the fake. Set its fields before the first request.
type Server struct {
	*httptest.Server

	Project string // group/project
	ID      int    // its numeric id
	// Token and JobToken are the accepted PRIVATE-TOKEN and JOB-TOKEN
	// ("" accepts none of that kind). With both empty, anything goes.
	Token, JobToken string
	// Private: without a valid token the project is not found (404).
	Private bool
	// JobTokenForbidden answers a job token with 403, as GitLab does for
	// endpoints a CI job token may not use.
	JobTokenForbidden bool
	PerPage           int  // caps per_page
	KeysetOnly        bool // paginate with the Link header only
	Issues            []Issue

	mu       sync.Mutex
	faults   []Fault
	requests []string
}

// New starts a fake for project and stops it when the test ends.
func New(t testing.TB, project string, id int) *Server {
	s := &Server{Project: project, ID: id}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Fail queues faults, served to the next requests.
func (s *Server) Fail(faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, faults...)
}

// Requests returns the requests served so far: method, escaped path, query.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.EscapedPath()+"?"+r.URL.RawQuery)
	var fault *Fault
	if len(s.faults) > 0 {
		fault = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if fault != nil {
		for k, v := range fault.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(fault.Status)
		fmt.Fprint(w, fault.Body)
		return
	}
	pt, jt := r.Header.Get("PRIVATE-TOKEN"), r.Header.Get("JOB-TOKEN")
	authed := s.Token == "" && s.JobToken == ""
	switch {
	case pt != "" && pt != s.Token, jt != "" && jt != s.JobToken:
		writeError(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	case pt != "" || jt != "":
		authed = true
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/api/v4/projects/")
	project, tail, _ := strings.Cut(rest, "/")
	p, _ := url.PathUnescape(project)
	if !ok || tail != "issues" || (p != s.Project && p != strconv.Itoa(s.ID)) || (s.Private && !authed) {
		writeError(w, http.StatusNotFound, "404 Project Not Found")
		return
	}
	if jt != "" && s.JobTokenForbidden {
		writeError(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	var want []string
	if l := q.Get("labels"); l != "" {
		want = strings.Split(l, ",")
	}
	var list []map[string]any
	for _, is := range s.Issues {
		if (state != "all" && state != "" && is.State != state) || !hasAll(is.Labels, want) {
			continue
		}
		list = append(list, map[string]any{
			"id": 1000 + is.IID, "iid": is.IID, "project_id": s.ID, "title": is.Title, "description": is.Body,
			"state": is.State, "labels": is.Labels, "author": map[string]any{"username": is.Author},
			"created_at": is.Created.UTC().Format(time.RFC3339),
			"web_url":    fmt.Sprintf("https://gitlab.example/%s/-/issues/%d", s.Project, is.IID),
		})
	}
	s.paginate(w, r, list)
}

func (s *Server) paginate(w http.ResponseWriter, r *http.Request, list []map[string]any) {
	q := r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 20
	}
	if s.PerPage > 0 {
		per = min(per, s.PerPage)
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if s.KeysetOnly {
		page, _ = strconv.Atoi(q.Get("cursor"))
	}
	if page <= 0 {
		page = 1
	}
	last := max(1, (len(list)+per-1)/per)
	from, to := min((page-1)*per, len(list)), min(page*per, len(list))
	next := ""
	if page < last {
		next = strconv.Itoa(page + 1)
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
		v := r.URL.Query()
		if s.KeysetOnly {
			v.Set("cursor", next)
		} else {
			v.Set("page", next)
		}
		u.RawQuery = v.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s>; rel="next"`, u.String()))
	}
	if !s.KeysetOnly {
		w.Header().Set("X-Page", strconv.Itoa(page))
		w.Header().Set("X-Next-Page", next)
		w.Header().Set("X-Total-Pages", strconv.Itoa(last))
	}
	items := list[from:to]
	if items == nil {
		items = []map[string]any{}
	}
	b, _ := json.Marshal(items)
	w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}

func hasAll(have, want []string) bool {
	for _, x := range want {
		found := false
		for _, h := range have {
			found = found || h == x
		}
		if !found {
			return false
		}
	}
	return true
}
