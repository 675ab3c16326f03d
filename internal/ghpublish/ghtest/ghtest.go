// Package ghtest is a fake of the parts of GitHub's REST API that evident
// publishes to: releases (by tag, and the paginated list that drafts are
// found in), release assets (list, upload to the uploads host, download
// through a redirect to storage, delete) and check runs. It answers like
// GitHub Enterprise Server does — the API under /api/v3, uploads under
// /api/uploads — so a client that works against it honours GITHUB_API_URL
// and each release's upload_url rather than assuming github.com.
//
// Tests set the token's permissions, make releases and queue failures
// (5xx, 429, secondary rate limits) to check what a client does with them.
package ghtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is the fake. Its fields may be changed by the test between
// requests, under Lock/Unlock when requests may be in flight.
type Server struct {
	*httptest.Server
	// Owner and Repo name the one repository it holds.
	Owner, Repo string
	// Token is the token it accepts ("Bearer" or "token" scheme).
	Token string
	// ContentsWrite and ChecksWrite are the token's permissions.
	ContentsWrite, ChecksWrite bool
	// PageSize is the most items a list returns per page, whatever
	// per_page asks (GitHub: 100); small values exercise pagination.
	PageSize int

	mu        sync.Mutex
	releases  []*Release
	checkRuns []CheckRun
	failures  map[string][]Failure // by route ("GET releases/tags", ...)
	nextID    int64
	requests  []string
}

// Release is a release the fake holds.
type Release struct {
	ID     int64
	Tag    string
	Draft  bool
	Assets []*Asset
}

// Asset is an asset of a release.
type Asset struct {
	ID          int64
	Name        string
	ContentType string
	Data        []byte
	// State is "uploaded", or "starter" for one an interrupted upload
	// left behind.
	State string
}

// CheckRun is a check run as created.
type CheckRun struct {
	ID          int64
	Name        string
	HeadSHA     string `json:"head_sha"`
	Status      string
	Conclusion  string
	DetailsURL  string `json:"details_url"`
	ExternalID  string `json:"external_id"`
	Title       string
	Summary     string
	CompletedAt string `json:"completed_at"`
}

// Failure is an answer the fake gives instead of the real one.
type Failure struct {
	Status int
	Header map[string]string
	Body   string
}

// Failures GitHub gives.
var (
	// ServerError is a 502 from GitHub's edge.
	ServerError = Failure{Status: http.StatusBadGateway, Body: `{"message":"Server Error"}`}
	// TooManyRequests is a 429 with Retry-After.
	TooManyRequests = Failure{Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}, Body: `{"message":"Too Many Requests"}`}
	// SecondaryRateLimit is GitHub's 403 for too many requests at once.
	SecondaryRateLimit = Failure{Status: http.StatusForbidden, Header: map[string]string{"Retry-After": "2"},
		Body: `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`}
)

// PrimaryRateLimit is the 403 of an exhausted hourly limit that resets at
// reset.
func PrimaryRateLimit(reset time.Time) Failure {
	return Failure{Status: http.StatusForbidden, Header: map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10),
	}, Body: `{"message":"API rate limit exceeded for installation ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}`}
}

// APIPath and UploadPath are where the fake serves the API and uploads.
const (
	APIPath    = "/api/v3"
	UploadPath = "/api/uploads"
)

// New starts a fake for owner/repo that accepts token with every
// permission; it stops when the test ends.
func New(t testing.TB, owner, repo, token string) *Server {
	s := &Server{Owner: owner, Repo: repo, Token: token, ContentsWrite: true, ChecksWrite: true, PageSize: 100,
		failures: map[string][]Failure{}, nextID: 1000}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// APIURL is the API's base URL, as GITHUB_API_URL gives it.
func (s *Server) APIURL() string { return s.URL + APIPath }

// AddRelease adds a release of tag and returns it.
func (s *Server) AddRelease(tag string, draft bool) *Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &Release{ID: s.id(), Tag: tag, Draft: draft}
	s.releases = append(s.releases, r)
	return r
}

// AddAsset attaches an asset to r directly.
func (s *Server) AddAsset(r *Release, name string, data []byte, state string) *Asset {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &Asset{ID: s.id(), Name: name, ContentType: "application/octet-stream", Data: data, State: state}
	r.Assets = append(r.Assets, a)
	return a
}

// Fail queues failures for a route, answered in order before the route
// works again. Routes: "GET releases/tags", "GET releases", "GET assets",
// "POST upload", "GET asset", "DELETE asset", "POST check-runs".
func (s *Server) Fail(route string, fs ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[route] = append(s.failures[route], fs...)
}

// Release returns a copy of the release of tag, or nil.
func (s *Server) Release(tag string) *Release {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.releases {
		if r.Tag == tag {
			c := *r
			c.Assets = nil
			for _, a := range r.Assets {
				ac := *a
				c.Assets = append(c.Assets, &ac)
			}
			return &c
		}
	}
	return nil
}

// CheckRuns returns the check runs created so far.
func (s *Server) CheckRuns() []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CheckRun(nil), s.checkRuns...)
}

// Requests returns "METHOD path" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) id() int64 {
	s.nextID++
	return s.nextID
}

type apiError struct {
	status int
	body   string
}

func errorf(status int, format string, args ...any) *apiError {
	b, _ := json.Marshal(map[string]string{"message": fmt.Sprintf(format, args...), "documentation_url": "https://docs.github.com/rest"})
	return &apiError{status, string(b)}
}

var notAccessible = errorf(http.StatusForbidden, "Resource not accessible by integration")

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	w.Header().Set("X-RateLimit-Limit", "5000")
	w.Header().Set("X-RateLimit-Remaining", "4999")
	w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))

	if strings.HasPrefix(r.URL.Path, "/storage/") {
		// Release asset storage: pre-signed URLs, no token. A client that
		// sends the GitHub token here leaks it to a third party.
		if r.Header.Get("Authorization") != "" {
			s.write(w, errorf(http.StatusBadRequest, "storage got an Authorization header"), nil)
			return
		}
		s.serveStorage(w, r)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+s.Token && got != "token "+s.Token {
		s.write(w, errorf(http.StatusUnauthorized, "Bad credentials"), nil)
		return
	}
	route, args, ok := s.route(r)
	if !ok {
		s.write(w, errorf(http.StatusNotFound, "Not Found"), nil)
		return
	}
	if fs := s.failures[route]; len(fs) > 0 {
		f := fs[0]
		s.failures[route] = fs[1:]
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
		return
	}
	v, e := s.handle(route, args, r)
	s.write(w, e, v)
}

// route maps a request to a route name and its path arguments.
func (s *Server) route(r *http.Request) (string, []string, bool) {
	p := r.URL.Path
	repo := "/repos/" + s.Owner + "/" + s.Repo + "/"
	switch {
	case strings.HasPrefix(p, UploadPath+repo):
		rest := strings.TrimPrefix(p, UploadPath+repo)
		var id string
		if _, err := fmt.Sscanf(rest, "releases/%s", &id); err == nil && strings.HasSuffix(id, "/assets") && r.Method == http.MethodPost {
			return "POST upload", []string{strings.TrimSuffix(id, "/assets")}, true
		}
		return "", nil, false
	case strings.HasPrefix(p, APIPath+repo):
		parts := strings.Split(strings.TrimPrefix(p, APIPath+repo), "/")
		switch {
		case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "releases" && parts[1] == "tags":
			return "GET releases/tags", parts[2:], true
		case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "releases":
			return "GET releases", nil, true
		case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "releases" && parts[2] == "assets":
			return "GET assets", parts[1:2], true
		case len(parts) == 3 && parts[0] == "releases" && parts[1] == "assets" && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
			return r.Method + " asset", parts[2:], true
		case r.Method == http.MethodPost && len(parts) == 1 && parts[0] == "check-runs":
			return "POST check-runs", nil, true
		}
	}
	return "", nil, false
}

func (s *Server) handle(route string, args []string, r *http.Request) (any, *apiError) {
	switch route {
	case "GET releases/tags":
		for _, rel := range s.releases {
			if rel.Tag == args[0] && !rel.Draft {
				return s.releaseJSON(rel), nil
			}
		}
		return nil, errorf(http.StatusNotFound, "Not Found")
	case "GET releases":
		var all []any
		for i := len(s.releases) - 1; i >= 0; i-- { // newest first
			all = append(all, s.releaseJSON(s.releases[i]))
		}
		return s.page(r, all), nil
	case "GET assets":
		rel := s.releaseByID(args[0])
		if rel == nil {
			return nil, errorf(http.StatusNotFound, "Not Found")
		}
		var all []any
		for _, a := range rel.Assets {
			all = append(all, s.assetJSON(a))
		}
		return s.page(r, all), nil
	case "POST upload":
		if !s.ContentsWrite {
			return nil, notAccessible
		}
		rel := s.releaseByID(args[0])
		if rel == nil {
			return nil, errorf(http.StatusNotFound, "Not Found")
		}
		name := r.URL.Query().Get("name")
		if name == "" || r.Header.Get("Content-Type") == "" || r.ContentLength < 0 {
			return nil, errorf(http.StatusBadRequest, "name, Content-Type and Content-Length are required")
		}
		for _, a := range rel.Assets {
			if a.Name == name {
				return nil, &apiError{http.StatusUnprocessableEntity,
					`{"message":"Validation Failed","errors":[{"resource":"ReleaseAsset","code":"already_exists","field":"name"}]}`}
			}
		}
		data, err := io.ReadAll(r.Body)
		if err != nil || int64(len(data)) != r.ContentLength {
			return nil, errorf(http.StatusBadRequest, "body does not match Content-Length")
		}
		a := &Asset{ID: s.id(), Name: name, ContentType: r.Header.Get("Content-Type"), Data: data, State: "uploaded"}
		rel.Assets = append(rel.Assets, a)
		return created{s.assetJSON(a)}, nil
	case "GET asset":
		a, _ := s.assetByID(args[0])
		if a == nil {
			return nil, errorf(http.StatusNotFound, "Not Found")
		}
		if r.Header.Get("Accept") != "application/octet-stream" {
			return s.assetJSON(a), nil
		}
		return redirect(s.URL + "/storage/" + args[0]), nil
	case "DELETE asset":
		if !s.ContentsWrite {
			return nil, notAccessible
		}
		a, rel := s.assetByID(args[0])
		if a == nil {
			return nil, errorf(http.StatusNotFound, "Not Found")
		}
		for i, x := range rel.Assets {
			if x == a {
				rel.Assets = append(rel.Assets[:i], rel.Assets[i+1:]...)
				break
			}
		}
		return noContent{}, nil
	case "POST check-runs":
		if !s.ChecksWrite {
			return nil, notAccessible
		}
		var in struct {
			Name        string `json:"name"`
			HeadSHA     string `json:"head_sha"`
			Status      string `json:"status"`
			Conclusion  string `json:"conclusion"`
			DetailsURL  string `json:"details_url"`
			ExternalID  string `json:"external_id"`
			CompletedAt string `json:"completed_at"`
			Output      struct {
				Title   string `json:"title"`
				Summary string `json:"summary"`
			} `json:"output"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			return nil, errorf(http.StatusBadRequest, "Problems parsing JSON")
		}
		if in.Name == "" || len(in.HeadSHA) != 40 || in.Output.Title == "" || len([]rune(in.Output.Summary)) > 65535 {
			return nil, &apiError{http.StatusUnprocessableEntity, `{"message":"Invalid request.","errors":["name, head_sha, output.title required; output.summary at most 65535 characters"]}`}
		}
		if in.Status == "completed" && (in.Conclusion == "" || in.CompletedAt == "") {
			return nil, &apiError{http.StatusUnprocessableEntity, `{"message":"Invalid request.","errors":["conclusion and completed_at are required when status is completed"]}`}
		}
		cr := CheckRun{ID: s.id(), Name: in.Name, HeadSHA: in.HeadSHA, Status: in.Status, Conclusion: in.Conclusion,
			DetailsURL: in.DetailsURL, ExternalID: in.ExternalID, Title: in.Output.Title, Summary: in.Output.Summary, CompletedAt: in.CompletedAt}
		s.checkRuns = append(s.checkRuns, cr)
		return created{map[string]any{
			"id": cr.ID, "name": cr.Name, "head_sha": cr.HeadSHA, "status": cr.Status, "conclusion": cr.Conclusion,
			"html_url": fmt.Sprintf("https://github.com/%s/%s/runs/%d", s.Owner, s.Repo, cr.ID),
		}}, nil
	}
	return nil, errorf(http.StatusNotFound, "Not Found")
}

func (s *Server) serveStorage(w http.ResponseWriter, r *http.Request) {
	a, _ := s.assetByID(strings.TrimPrefix(r.URL.Path, "/storage/"))
	if a == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Write(a.Data)
}

type created struct{ v any }
type redirect string
type noContent struct{}

func (s *Server) write(w http.ResponseWriter, e *apiError, v any) {
	w.Header().Set("Content-Type", "application/json")
	if e != nil {
		w.WriteHeader(e.status)
		io.WriteString(w, e.body)
		return
	}
	status := http.StatusOK
	switch x := v.(type) {
	case created:
		status, v = http.StatusCreated, x.v
	case redirect:
		w.Header().Set("Location", string(x))
		w.WriteHeader(http.StatusFound)
		return
	case noContent:
		w.WriteHeader(http.StatusNoContent)
		return
	case paged:
		if x.link != "" {
			w.Header().Set("Link", x.link)
		}
		v = x.items
	}
	var buf bytes.Buffer
	json.NewEncoder(&buf).Encode(v)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type paged struct {
	items []any
	link  string
}

// page cuts a list into GitHub's pages with a Link header.
func (s *Server) page(r *http.Request, all []any) paged {
	size := s.PageSize
	if pp, err := strconv.Atoi(r.URL.Query().Get("per_page")); err == nil && pp > 0 && pp < size {
		size = pp
	}
	page := 1
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil && p > 0 {
		page = p
	}
	lo, hi := min((page-1)*size, len(all)), min(page*size, len(all))
	items := append([]any{}, all[lo:hi]...)
	var links []string
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	if hi < len(all) {
		q := u.Query()
		q.Set("page", strconv.Itoa(page+1))
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf(`<%s>; rel="next"`, u.String()))
		q.Set("page", strconv.Itoa((len(all)+size-1)/size))
		u.RawQuery = q.Encode()
		links = append(links, fmt.Sprintf(`<%s>; rel="last"`, u.String()))
	}
	return paged{items: items, link: strings.Join(links, ", ")}
}

func (s *Server) releaseJSON(r *Release) map[string]any {
	return map[string]any{
		"id": r.ID, "tag_name": r.Tag, "draft": r.Draft, "name": r.Tag,
		"html_url":   fmt.Sprintf("https://github.com/%s/%s/releases/tag/%s", s.Owner, s.Repo, r.Tag),
		"upload_url": fmt.Sprintf("%s%s/repos/%s/%s/releases/%d/assets{?name,label}", s.URL, UploadPath, s.Owner, s.Repo, r.ID),
	}
}

func (s *Server) assetJSON(a *Asset) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "content_type": a.ContentType, "size": len(a.Data), "state": a.State,
		"url":                  fmt.Sprintf("%s%s/repos/%s/%s/releases/assets/%d", s.URL, APIPath, s.Owner, s.Repo, a.ID),
		"browser_download_url": fmt.Sprintf("https://github.com/%s/%s/releases/download/%s", s.Owner, s.Repo, a.Name),
	}
}

func (s *Server) releaseByID(id string) *Release {
	for _, r := range s.releases {
		if strconv.FormatInt(r.ID, 10) == id {
			return r
		}
	}
	return nil
}

func (s *Server) assetByID(id string) (*Asset, *Release) {
	for _, r := range s.releases {
		for _, a := range r.Assets {
			if strconv.FormatInt(a.ID, 10) == id {
				return a, r
			}
		}
	}
	return nil, nil
}

// AssetNames returns the sorted names of r's assets.
func (r *Release) AssetNames() []string {
	var ns []string
	for _, a := range r.Assets {
		ns = append(ns, a.Name)
	}
	sort.Strings(ns)
	return ns
}

// Asset returns r's asset of that name, or nil.
func (r *Release) Asset(name string) *Asset {
	for _, a := range r.Assets {
		if a.Name == name {
			return a
		}
	}
	return nil
}
