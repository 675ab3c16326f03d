package oidc

import (
	"context"
	"net/http"
	"strings"

	"github.com/evident-dev/evident/internal/evidence"
)

// Env looks up an environment variable; ok is false when it is not set.
// main passes os.LookupEnv, tests a map's lookup.
type Env func(key string) (value string, ok bool)

// MapEnv returns an Env backed by m (nil is an empty environment).
func MapEnv(m map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// EnvIdentityToken is the environment variable that hands evident an
// identity token directly, wherever it runs.
const EnvIdentityToken = "EVIDENT_IDENTITY_TOKEN"

// Source yields an OIDC identity token. Token may do network I/O and
// honours ctx; its errors never contain a token. A Source is asked once per
// signature: CI tokens live minutes, so it must not be cached beyond that.
type Source interface {
	Token(ctx context.Context) (string, error)
}

// Static is a Source that returns a token the caller already holds (a
// --identity-token flag, EnvIdentityToken). Its String and GoString do not
// show the token, so printing a Static by mistake leaks nothing.
type Static struct{ token string }

// NewStatic returns a Static holding token.
func NewStatic(token string) *Static { return &Static{token: token} }

// Token returns the token, or an evidence.KindInvalid error when it is
// empty.
func (s *Static) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if s == nil || strings.TrimSpace(s.token) == "" {
		return "", evidence.Errorf(evidence.KindInvalid, "the identity token given is empty")
	}
	return strings.TrimSpace(s.token), nil
}

// String describes the source without the token.
func (s *Static) String() string { return "oidc.Static(token redacted)" }

// GoString is String, so that %#v does not print the token either.
func (s *Static) GoString() string { return s.String() }

// DetectOptions tunes Detect.
type DetectOptions struct {
	// Token, when not empty, is used as is (a --identity-token flag); it
	// wins over everything in the environment.
	Token string
	// Audience is the audience requested from GitHub Actions;
	// DefaultAudience when empty.
	Audience string
	// GitLabVariable names the CI/CD variable holding GitLab's ID token;
	// GitLabDefaultVariable when empty.
	GitLabVariable string
}

// Detect picks the token source for where evident runs, in this order: an
// explicit opts.Token; EnvIdentityToken when set; GitHub Actions when
// GITHUB_ACTIONS=true (its token endpoint, through client); GitLab CI when
// GITLAB_CI=true (the variable opts.GitLabVariable). Anywhere else it is an
// evidence.KindUnauthorized error that says how to give a token. It only
// chooses; no token is fetched until Token is called, except that a GitHub
// job without `permissions: id-token: write` and a GitLab job without the
// ID token variable are reported here, at once.
func Detect(env Env, client *http.Client, opts DetectOptions) (Source, error) {
	if opts.Token != "" {
		return NewStatic(opts.Token), nil
	}
	if env == nil {
		env = MapEnv(nil)
	}
	if tok, ok := env(EnvIdentityToken); ok && strings.TrimSpace(tok) != "" {
		return NewStatic(tok), nil
	}
	if v, _ := env("GITHUB_ACTIONS"); v == "true" {
		gh := &GitHubActions{Env: env, Client: client, Audience: opts.Audience}
		if err := gh.check(); err != nil {
			return nil, err
		}
		return gh, nil
	}
	if v, _ := env("GITLAB_CI"); v == "true" {
		gl := &GitLab{Env: env, Variable: opts.GitLabVariable}
		if err := gl.check(); err != nil {
			return nil, err
		}
		return gl, nil
	}
	return nil, evidence.Errorf(evidence.KindUnauthorized,
		"no OIDC identity token for keyless signing: not running in GitHub Actions or GitLab CI; pass a token with --identity-token or %s, or sign with a key", EnvIdentityToken)
}
