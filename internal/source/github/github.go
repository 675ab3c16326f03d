// Package github reads evidence from the GitHub REST API with
// github.com/google/go-github: the change-review record of a release (the
// commits since the previous release, the pull requests they came through
// and those pull requests' reviews) and residual anomalies tracked as
// issues.
//
// Every request is retried on 5xx, 429 and GitHub's primary and secondary
// rate limits (source.Retry); 401, 403 and 404 become errors that say what
// to check: the token, its permissions, the repository's name or
// visibility. The token is never part of a message.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/source"
)

// DefaultTokenEnv is the variable the token is read from by default; in
// GitHub Actions it is set with env: GITHUB_TOKEN: ${{ github.token }}.
const DefaultTokenEnv = "GITHUB_TOKEN"

// Options configures a Client.
type Options struct {
	// APIURL is the REST API root: empty for github.com, the
	// https://HOST/api/v3 of a GitHub Enterprise Server (GITHUB_API_URL in
	// Actions).
	APIURL string
	Token  source.Secret
	// TokenEnv names the variable Token came from, for messages.
	TokenEnv   string
	HTTPClient *http.Client // http.DefaultClient's behaviour with a timeout when nil
	Retry      source.Retry
}

// Client reads one GitHub instance.
type Client struct {
	opts Options
	api  *gh.Client
}

// New returns a client. It fails only on a malformed APIURL.
func New(opts Options) (*Client, error) {
	if opts.TokenEnv == "" {
		opts.TokenEnv = DefaultTokenEnv
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.APIURL != "" {
		u, err := url.Parse(opts.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, evidence.Errorf(evidence.KindInvalid, "GitHub API URL %q: want https://HOST/api/v3 (or empty for github.com)", opts.APIURL)
		}
		if u.User != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "GitHub API URL: credentials in the URL are not allowed; the token comes from $%s", opts.TokenEnv)
		}
	}
	c := &Client{opts: opts}
	c.api = c.newAPI()
	return c, nil
}

// newAPI builds the go-github client. It is rebuilt after a rate limit: the
// client remembers a limit and refuses requests locally until its reset
// time, which the retry has already waited for.
func (c *Client) newAPI() *gh.Client {
	api := gh.NewClient(c.opts.HTTPClient)
	if c.opts.Token.IsSet() {
		api = api.WithAuthToken(c.opts.Token.Reveal())
	}
	if c.opts.APIURL != "" {
		u, _ := url.Parse(c.opts.APIURL) // checked in New
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		api.BaseURL = u
	}
	api.UserAgent = "evident"
	return api
}

// Permissions a request needs, as a workflow's permissions: block names
// them.
const (
	permContents = "contents: read"
	permPulls    = "pull-requests: read"
	permIssues   = "issues: read"
)

// call runs one API request with retries and explains its final failure.
// repo is the repository it concerns, perm the permission it needs.
func (c *Client) call(ctx context.Context, what, repo, perm string, fn func(ctx context.Context, api *gh.Client) (*gh.Response, error)) error {
	err := c.opts.Retry.Do(ctx, "GitHub: "+what, func(ctx context.Context) error {
		_, err := fn(ctx, c.api)
		return err
	}, c.classify)
	if err == nil {
		return nil
	}
	return c.explain(err, what, repo, perm)
}

// classify decides whether a failed request is worth another attempt.
func (c *Client) classify(err error) source.Verdict {
	now := time.Now()
	if c.opts.Retry.Now != nil {
		now = c.opts.Retry.Now()
	}
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	var acc *gh.AcceptedError
	switch {
	case errors.As(err, &rl):
		c.api = c.newAPI()
		reset := rl.Rate.Reset.Time
		return source.Verdict{Retry: true, After: max(reset.Sub(now), 0) + time.Second, Until: reset,
			Reason: fmt.Sprintf("the API rate limit (%d requests an hour) is used up", rl.Rate.Limit)}
	case errors.As(err, &abuse):
		c.api = c.newAPI()
		after := time.Minute // GitHub's advice when it does not say
		if abuse.RetryAfter != nil {
			after = *abuse.RetryAfter
		}
		return source.Verdict{Retry: true, After: after, Until: now.Add(after), Reason: "GitHub's secondary rate limit was hit"}
	case errors.As(err, &acc):
		return source.Verdict{Retry: true, Reason: "HTTP 202: GitHub is still computing the answer"}
	case errors.As(err, &er) && er.Response != nil:
		return source.ClassifyHTTP(er.Response.StatusCode, er.Response.Header, now)
	case source.Transient(err):
		return source.Verdict{Retry: true, Reason: "network error: " + err.Error()}
	}
	return source.Verdict{}
}

// explain turns a final failure into an error that says what to check.
func (c *Client) explain(err error, what, repo, perm string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var gu *source.GaveUpError
	if errors.As(err, &gu) {
		hint := "try again later"
		if strings.Contains(gu.Reason, "rate limit") {
			hint = "try again after the reset"
			if !c.opts.Token.IsSet() {
				hint += fmt.Sprintf("; without a token GitHub allows 60 requests an hour: set $%s", c.opts.TokenEnv)
			}
		}
		return &evidence.Error{Kind: evidence.KindInternal, Message: fmt.Sprintf("%v (%s)", gu, hint), Err: err}
	}
	var er *gh.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return fmt.Errorf("GitHub: %s: %w", what, err)
	}
	status := er.Response.StatusCode
	says := strings.TrimSpace(er.Message)
	if says == "" {
		says = http.StatusText(status)
	}
	prefix := fmt.Sprintf("GitHub: %s: %d %s", what, status, says)
	tokenState := fmt.Sprintf("$%s is not set", c.opts.TokenEnv)
	if c.opts.Token.IsSet() {
		tokenState = fmt.Sprintf("the token is from $%s", c.opts.TokenEnv)
	}
	var msg string
	switch status {
	case http.StatusUnauthorized:
		if c.opts.Token.IsSet() {
			msg = fmt.Sprintf("%s: GitHub rejected the token in $%s (expired, revoked or for another GitHub instance?); set a valid token", prefix, c.opts.TokenEnv)
		} else {
			msg = fmt.Sprintf("%s: no token: set $%s (in GitHub Actions: env: %s: ${{ github.token }})", prefix, c.opts.TokenEnv, c.opts.TokenEnv)
		}
	case http.StatusForbidden:
		msg = fmt.Sprintf("%s: the token may not read %s of %s (%s): a workflow needs `permissions: %s`, a fine-grained token the same repository permission, a classic token the repo scope for a private repository",
			prefix, area(perm), repo, tokenState, perm)
		if acc := er.Response.Header.Get("X-Accepted-GitHub-Permissions"); acc != "" {
			msg += "; GitHub accepts: " + acc
		}
		if sso := er.Response.Header.Get("X-GitHub-SSO"); sso != "" {
			msg += "; the organization enforces SAML single sign-on: authorize the token for it"
		}
	case http.StatusNotFound:
		msg = fmt.Sprintf("%s: %s does not exist, or it is private and the token cannot see it (%s); check the repository name and that the token has `%s` on it",
			prefix, repo, tokenState, perm)
	default:
		msg = prefix
	}
	return &evidence.Error{Kind: source.KindForStatus(status), Message: msg, Err: err}
}

// area names what a permission covers, for messages.
func area(perm string) string {
	switch perm {
	case permPulls:
		return "pull requests"
	case permIssues:
		return "issues"
	}
	return "the contents (commits, tags)"
}

var repoRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$`)

// SplitRepository splits "owner/name".
func SplitRepository(repo string) (owner, name string, err error) {
	m := repoRE.FindStringSubmatch(repo)
	if m == nil {
		return "", "", evidence.Errorf(evidence.KindInvalid, "GitHub repository %q: want OWNER/NAME", repo)
	}
	return m[1], m[2], nil
}

// pages calls list for page 1, 2, ... until the answer says there is no
// next page (go-github reads the Link header), or limit pages were read.
func pages(limit int, list func(page int) (*gh.Response, error)) error {
	page := 1
	for n := 0; ; n++ {
		if n >= limit {
			return &pageError{fmt.Sprintf("more than %d pages", limit)}
		}
		resp, err := list(page)
		if err != nil {
			return err
		}
		if resp == nil || resp.NextPage == 0 {
			return nil
		}
		if resp.NextPage <= page {
			return &pageError{fmt.Sprintf("the Link header's next page %d does not follow page %d", resp.NextPage, page)}
		}
		page = resp.NextPage
	}
}

// pageError is a pagination that does not end.
type pageError struct{ msg string }

func (e *pageError) Error() string { return e.msg }
