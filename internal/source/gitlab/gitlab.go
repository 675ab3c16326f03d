// Package gitlab reads residual anomalies tracked as GitLab issues through
// the GitLab REST API v4, with net/http: the issues of a project that carry
// given labels, every page of them (X-Next-Page, or the Link header's next
// URL on the same server).
//
// Requests are retried on 5xx, 429 and rate limits (source.Retry); 401, 403
// and 404 become errors that say what to check. The token is never part of
// a message.
package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
)

// Token variables: a personal, project or group access token with the
// read_api scope in GITLAB_TOKEN; failing that, a job's CI_JOB_TOKEN.
const (
	DefaultTokenEnv = "GITLAB_TOKEN"
	JobTokenEnv     = "CI_JOB_TOKEN"
)

// DefaultIDPrefix prefixes an issue's number (iid) to make an anomaly id
// when the issue does not give one.
const DefaultIDPrefix = "GL-"

// maxPage bounds one page of an answer.
const maxPage = 32 << 20

// Options configures a Client.
type Options struct {
	// BaseURL is the instance (https://gitlab.example.com) or its API root
	// (.../api/v4, CI_API_V4_URL in a job).
	BaseURL string
	Token   source.Secret
	// TokenEnv names the variable Token came from, for messages; when it
	// is JobTokenEnv the token is sent as a job token.
	TokenEnv   string
	HTTPClient *http.Client
	Retry      source.Retry
}

// Client reads one GitLab instance.
type Client struct {
	opts Options
	api  *url.URL // .../api/v4/
}

// New returns a client. It fails only on a malformed BaseURL.
func New(opts Options) (*Client, error) {
	if opts.TokenEnv == "" {
		opts.TokenEnv = DefaultTokenEnv
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitLab URL %q: want https://HOST or https://HOST/api/v4", opts.BaseURL)
	}
	if u.User != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitLab URL: credentials in the URL are not allowed; the token comes from $%s", opts.TokenEnv)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(u.Path, "/api/v4") {
		u.Path += "/api/v4"
	}
	u.Path += "/"
	u.RawPath = ""
	return &Client{opts: opts, api: u}, nil
}

// IssuesQuery selects the issues that track residual anomalies.
type IssuesQuery struct {
	Project string   // group/subgroup/project, or the numeric project id
	Labels  []string // every one must be on the issue
	State   string   // opened (default; "open" too), closed or all
}

// apiIssue is the part of GitLab's issue that is read.
type apiIssue struct {
	IID         int       `json:"iid"`
	Title       string    `json:"title"`
	Description string    `json:"description"`
	State       string    `json:"state"`
	WebURL      string    `json:"web_url"`
	CreatedAt   time.Time `json:"created_at"`
	Author      struct {
		Username string `json:"username"`
	} `json:"author"`
}

// Issues lists the issues of q in creation order.
func (c *Client) Issues(ctx context.Context, q IssuesQuery) ([]source.Issue, error) {
	if strings.TrimSpace(q.Project) == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitLab issues: no project")
	}
	state := q.State
	switch state {
	case "", "open", "opened":
		state = "opened"
	case "closed", "all":
	default:
		return nil, evidence.Errorf(evidence.KindInvalid, "GitLab issues of %s: state %q: want opened, closed or all", q.Project, q.State)
	}
	v := url.Values{}
	if len(q.Labels) > 0 {
		v.Set("labels", strings.Join(q.Labels, ","))
	}
	v.Set("state", state)
	v.Set("order_by", "created_at")
	v.Set("sort", "asc")
	v.Set("per_page", "100")
	next, err := url.Parse(c.api.String() + "projects/" + url.PathEscape(q.Project) + "/issues?" + v.Encode())
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitLab project %q: %v", q.Project, err)
	}
	what := fmt.Sprintf("list the %s issues labelled %s in %s", state, strings.Join(q.Labels, ", "), q.Project)
	var out []source.Issue
	for n := 0; next != nil; n++ {
		if n >= 1000 {
			return nil, evidence.Errorf(evidence.KindInvalid, "GitLab: %s: more than 1000 pages", what)
		}
		var page []apiIssue
		var h http.Header
		if h, err = c.get(ctx, what, q.Project, next, &page); err != nil {
			return nil, err
		}
		for _, i := range page {
			out = append(out, source.Issue{
				Number: i.IID, URL: i.WebURL, Title: i.Title, Body: i.Description, Open: i.State == "opened",
				Author: i.Author.Username, CreatedAt: i.CreatedAt,
			})
		}
		if next, err = c.nextPage(next, h); err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "GitLab: %s: %v", what, err)
		}
	}
	return out, nil
}

// nextPage returns the URL of the next page, or nil after the last. It
// prefers X-Next-Page (offset pagination); without it, the Link header's
// next URL, which must point to the same server (the token goes with it).
func (c *Client) nextPage(cur *url.URL, h http.Header) (*url.URL, error) {
	if np := strings.TrimSpace(h.Get("X-Next-Page")); np != "" {
		p, err := strconv.Atoi(np)
		if err != nil || p < 1 {
			return nil, fmt.Errorf("X-Next-Page %q is not a page number", np)
		}
		u := *cur
		v := u.Query()
		if old, _ := strconv.Atoi(v.Get("page")); p <= max(old, 1) {
			return nil, fmt.Errorf("X-Next-Page %d does not follow page %d", p, max(old, 1))
		}
		v.Set("page", np)
		u.RawQuery = v.Encode()
		return &u, nil
	}
	if _, present := h["X-Next-Page"]; present {
		return nil, nil // the last page of offset pagination
	}
	for _, link := range strings.Split(h.Get("Link"), ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := cur.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return nil, fmt.Errorf("the Link header's next URL: %v", err)
		}
		if u.Scheme != c.api.Scheme || u.Host != c.api.Host {
			return nil, fmt.Errorf("the Link header's next page is on another server (%s); not following it with the token", u.Host)
		}
		return u, nil
	}
	return nil, nil
}

// get fetches u into v, with retries, and explains a final failure.
func (c *Client) get(ctx context.Context, what, project string, u *url.URL, v any) (http.Header, error) {
	var hdr http.Header
	err := c.opts.Retry.Do(ctx, "GitLab: "+what, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "evident")
		if c.opts.Token.IsSet() {
			if c.opts.TokenEnv == JobTokenEnv {
				req.Header.Set("JOB-TOKEN", c.opts.Token.Reveal())
			} else {
				req.Header.Set("PRIVATE-TOKEN", c.opts.Token.Reveal())
			}
		}
		resp, err := c.opts.HTTPClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &statusError{status: resp.StatusCode, header: resp.Header, message: apiMessage(body)}
		}
		if len(body) > maxPage {
			return evidence.Errorf(evidence.KindTooLarge, "GitLab: %s: a page larger than %d bytes", what, maxPage)
		}
		if err := json.Unmarshal(body, v); err != nil {
			return evidence.Errorf(evidence.KindInvalid, "GitLab: %s: the answer is not the expected JSON: %v", what, err)
		}
		hdr = resp.Header
		return nil
	}, c.classify)
	if err != nil {
		return nil, c.explain(err, what, project)
	}
	return hdr, nil
}

// statusError is an answer other than 200.
type statusError struct {
	status  int
	header  http.Header
	message string
}

func (e *statusError) Error() string {
	if e.message == "" {
		return fmt.Sprintf("%d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("%d %s", e.status, strings.TrimPrefix(e.message, strconv.Itoa(e.status)+" "))
}

// apiMessage reads GitLab's {"message": ...} or {"error": ...}.
func apiMessage(body []byte) string {
	var m struct {
		Message any    `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	switch msg := m.Message.(type) {
	case string:
		return msg
	case nil:
	default:
		b, _ := json.Marshal(msg)
		return string(b)
	}
	return m.Error
}

func (c *Client) classify(err error) source.Verdict {
	var se *statusError
	if errors.As(err, &se) {
		now := time.Now()
		if c.opts.Retry.Now != nil {
			now = c.opts.Retry.Now()
		}
		return source.ClassifyHTTP(se.status, se.header, now)
	}
	if source.Transient(err) {
		return source.Verdict{Retry: true, Reason: "network error: " + err.Error()}
	}
	return source.Verdict{}
}

// explain turns a final failure into an error that says what to check.
func (c *Client) explain(err error, what, project string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var gu *source.GaveUpError
	if errors.As(err, &gu) {
		return &evidence.Error{Kind: evidence.KindInternal, Message: fmt.Sprintf("%v (try again later)", gu), Err: err}
	}
	var se *statusError
	if !errors.As(err, &se) {
		if _, ok := err.(*evidence.Error); ok {
			return err
		}
		return fmt.Errorf("GitLab: %s: %w", what, err)
	}
	prefix := fmt.Sprintf("GitLab: %s: %v", what, se)
	job := c.opts.TokenEnv == JobTokenEnv
	tokenState := fmt.Sprintf("neither $%s nor $%s is set", DefaultTokenEnv, JobTokenEnv)
	if c.opts.Token.IsSet() {
		tokenState = fmt.Sprintf("the token is from $%s", c.opts.TokenEnv)
	}
	var msg string
	switch se.status {
	case http.StatusUnauthorized:
		switch {
		case !c.opts.Token.IsSet():
			msg = fmt.Sprintf("%s: no token: set $%s to an access token with the read_api scope", prefix, DefaultTokenEnv)
		case job:
			msg = fmt.Sprintf("%s: GitLab rejected the job token ($%s); set $%s to an access token with the read_api scope", prefix, JobTokenEnv, DefaultTokenEnv)
		default:
			msg = fmt.Sprintf("%s: GitLab rejected the token in $%s (expired, revoked or for another instance?); set a valid token with the read_api scope", prefix, c.opts.TokenEnv)
		}
	case http.StatusForbidden:
		msg = fmt.Sprintf("%s: the token may not read the issues of %s (%s): it needs the read_api scope and access to the project", prefix, project, tokenState)
		if job {
			msg += fmt.Sprintf("; a CI job token reaches only some API endpoints: set $%s to a project access token with read_api", DefaultTokenEnv)
		}
	case http.StatusNotFound:
		msg = fmt.Sprintf("%s: project %s does not exist, or it is private and the token cannot see it (%s); check the project path (group/project) or id, and the token's read_api scope",
			prefix, project, tokenState)
	default:
		msg = prefix
	}
	return &evidence.Error{Kind: source.KindForStatus(se.status), Message: msg, Err: err}
}
