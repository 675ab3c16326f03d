// Package ghpublish publishes a sealed release to GitHub, through the REST
// API (github.com/google/go-github): the manifest and its signature bundle
// as assets of the GitHub release of the tag being built, and the policy
// result as a check run on the commit.
//
// It creates nothing else: not the release (a release workflow, or a person,
// makes it; a draft is fine), not tags, not comments. Assets already on the
// release are compared byte for byte: an identical one is left alone (a
// re-run is a no-op), a different one is an error unless the caller asks
// for it to be replaced. Transient failures (5xx, 429, rate limits that
// reset soon, network errors) are retried with backoff, then reported with
// what to do; a refusal names the token permission that is missing.
package ghpublish

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/evident-dev/evident/internal/evidence"
)

// DefaultAPIURL is github.com's REST API. GitHub Enterprise Server's is
// https://HOST/api/v3; in a workflow GITHUB_API_URL says which.
const DefaultAPIURL = "https://api.github.com"

// Token is a GitHub token. It prints as a placeholder, so that a Config in a
// log line or an error leaks nothing.
type Token string

func (Token) String() string   { return "(token redacted)" }
func (Token) GoString() string { return "(token redacted)" }

// Config says which repository to publish to, and how.
type Config struct {
	// APIURL is the REST API's base URL (DefaultAPIURL when empty).
	APIURL string
	// Repository is OWNER/NAME (GITHUB_REPOSITORY).
	Repository string
	Token      Token
	// HTTPClient's transport carries the requests (http.DefaultTransport
	// when nil); its timeout bounds each attempt.
	HTTPClient *http.Client
	Retry      Retry
	UserAgent  string
}

// Publisher publishes to one repository.
type Publisher struct {
	gh          *github.Client
	download    *http.Client // follows an asset's redirect to storage, without the token
	owner, repo string
}

var repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// New returns a Publisher for cfg.
func New(cfg Config) (*Publisher, error) {
	if !repoRE.MatchString(cfg.Repository) {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitHub repository %q is not OWNER/NAME", cfg.Repository)
	}
	if cfg.Token == "" {
		return nil, evidence.Errorf(evidence.KindUnauthorized, "no GitHub token: in a workflow pass `github-token: ${{ github.token }}` (or set GITHUB_TOKEN)")
	}
	api := cfg.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	u, err := url.Parse(api)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "GitHub API URL %q is not an http(s) URL", api)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	base := http.DefaultTransport
	timeout := 2 * time.Minute
	if cfg.HTTPClient != nil {
		if cfg.HTTPClient.Transport != nil {
			base = cfg.HTTPClient.Transport
		}
		if cfg.HTTPClient.Timeout > 0 {
			timeout = cfg.HTTPClient.Timeout
		}
	}
	rt := &retryTransport{next: base, retry: cfg.Retry.withDefaults()}
	gh := github.NewClient(&http.Client{Transport: rt, Timeout: timeout}).WithAuthToken(string(cfg.Token))
	gh.BaseURL = u
	// Uploads go to the URL each release names (upload_url), so this
	// default is only a fallback.
	gh.UploadURL = u
	if cfg.UserAgent != "" {
		gh.UserAgent = cfg.UserAgent
	}
	owner, repo, _ := strings.Cut(cfg.Repository, "/")
	return &Publisher{
		gh:       gh,
		download: &http.Client{Transport: rt, Timeout: timeout},
		owner:    owner, repo: repo,
	}, nil
}

// Repository returns OWNER/NAME.
func (p *Publisher) Repository() string { return p.owner + "/" + p.repo }

// Permissions a GITHUB_TOKEN needs, as a workflow's `permissions:` names
// them.
const (
	PermissionContents = "contents: write"
	PermissionChecks   = "checks: write"
)

// apiError turns an error of a call into one that says what failed and
// what to do about it. op is what was being done ("upload asset x"),
// permission the token permission it needs.
func (p *Publisher) apiError(err error, op, permission string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if te, ok := asTransient(err); ok {
		return evidence.Errorf(evidence.KindInternal, "%s: %s", op, te.Error())
	}
	var er *github.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		var rl *github.RateLimitError
		if errors.As(err, &rl) {
			return evidence.Errorf(evidence.KindInternal, "%s: GitHub API rate limit exhausted until %s: retry after that",
				op, rl.Rate.Reset.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	status := er.Response.StatusCode
	msg := er.Message
	switch status {
	case http.StatusUnauthorized:
		return evidence.Errorf(evidence.KindUnauthorized, "%s: GitHub rejected the token (401 %s): it is missing, expired or revoked", op, msg)
	case http.StatusForbidden:
		return evidence.Errorf(evidence.KindForbidden,
			"%s: GitHub refused (403 %s): the token lacks the %q permission on %s; in the workflow add `permissions: %s` to the job (a pull request from a fork only ever gets a read-only token)",
			op, msg, permission, p.Repository(), permission)
	case http.StatusNotFound:
		return evidence.Errorf(evidence.KindNotFound,
			"%s: GitHub answered 404 (%s): %s does not exist or the token cannot see it (a private repository needs a token with access to it)",
			op, msg, p.Repository())
	}
	detail := msg
	for _, e := range er.Errors {
		detail += "; " + strings.TrimSpace(e.Field+" "+e.Code+" "+e.Message)
	}
	return evidence.Errorf(evidence.KindInvalid, "%s: GitHub answered %d: %s", op, status, detail)
}
