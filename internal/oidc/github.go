package oidc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/evidence"
)

// The variables GitHub Actions sets in a job that may request an ID token.
const (
	EnvGitHubRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// maxResponseSize bounds what is read from a token endpoint.
const maxResponseSize = 1 << 20

// GitHubActions is a Source that asks the GitHub Actions token endpoint
// for an ID token: GET $ACTIONS_ID_TOKEN_REQUEST_URL with the audience
// added to its query, authorised by "bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN";
// the answer is JSON {"value": token}. GitHub sets the two variables only in
// a job with `permissions: id-token: write`.
type GitHubActions struct {
	Env      Env
	Client   *http.Client // http.DefaultClient when nil
	Audience string       // DefaultAudience when empty
}

// Token fetches a fresh token. A job without the permission, a refused
// request and an HTTP failure are evidence.KindUnauthorized errors; a
// malformed answer is evidence.KindInvalid; a network failure is returned
// wrapped.
func (g *GitHubActions) Token(ctx context.Context) (string, error) {
	if err := g.check(); err != nil {
		return "", err
	}
	rawURL, _ := g.env()(EnvGitHubRequestURL)
	reqToken, _ := g.env()(EnvGitHubRequestToken)
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", evidence.Errorf(evidence.KindInvalid, "%s is not an http(s) URL", EnvGitHubRequestURL)
	}
	aud := g.Audience
	if aud == "" {
		aud = DefaultAudience
	}
	q := u.Query()
	q.Set("audience", aud)
	u.RawQuery = q.Encode()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions token request: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	client := g.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", ctxErr
		}
		// *url.Error names the URL, which holds no secret (the request
		// token travels in a header).
		return "", fmt.Errorf("ask GitHub Actions for an OIDC token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseSize+1))
	if err != nil {
		return "", fmt.Errorf("read GitHub Actions' token response: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", evidence.Errorf(evidence.KindUnauthorized, "GitHub Actions' token endpoint refused the request (HTTP %d)%s; check that the job has `permissions: id-token: write`",
			resp.StatusCode, errorDetail(body, reqToken))
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GitHub Actions' token endpoint answered HTTP %d%s", resp.StatusCode, errorDetail(body, reqToken))
	}
	if len(body) > maxResponseSize {
		return "", evidence.Errorf(evidence.KindInvalid, "GitHub Actions' token response is larger than %d bytes", maxResponseSize)
	}
	var out struct {
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", evidence.Errorf(evidence.KindInvalid, "GitHub Actions' token response is not the JSON object {\"value\": token} expected")
	}
	if out.Value == nil || strings.TrimSpace(*out.Value) == "" {
		return "", evidence.Errorf(evidence.KindInvalid, "GitHub Actions' token response holds no token (\"value\" is missing or empty)")
	}
	return strings.TrimSpace(*out.Value), nil
}

func (g *GitHubActions) env() Env {
	if g.Env == nil {
		return MapEnv(nil)
	}
	return g.Env
}

// check reports a job that cannot request a token.
func (g *GitHubActions) check() error {
	u, _ := g.env()(EnvGitHubRequestURL)
	t, _ := g.env()(EnvGitHubRequestToken)
	if u == "" || t == "" {
		return evidence.Errorf(evidence.KindUnauthorized,
			"GitHub Actions did not offer an OIDC token (%s and %s are not set): the job needs `permissions: id-token: write`",
			EnvGitHubRequestURL, EnvGitHubRequestToken)
	}
	return nil
}

// String describes the source; it holds no secret.
func (g *GitHubActions) String() string {
	return "GitHub Actions OIDC token (audience " + cmpOr(g.Audience, DefaultAudience) + ")"
}

// errorDetail quotes the start of an error body, for a message: without
// the request token, should the endpoint echo it, and only when it is text.
func errorDetail(body []byte, secret string) string {
	s := strings.TrimSpace(string(body))
	if s == "" || !utf8.ValidString(s) {
		return ""
	}
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "[redacted]")
	}
	s = strings.Join(strings.Fields(s), " ")
	return ": " + truncate(s, 200)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
