package oidc

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

const requestToken = "actions-request-token-value"

// tokenEndpoint plays ACTIONS_ID_TOKEN_REQUEST_URL: it records the last
// request and answers with status and body.
type tokenEndpoint struct {
	srv    *httptest.Server
	status int
	body   string
	last   *http.Request
}

func newTokenEndpoint(t *testing.T, status int, body string) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{status: status, body: body}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.last = r.Clone(context.Background())
		w.WriteHeader(e.status)
		fmt.Fprint(w, e.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *tokenEndpoint) env() Env {
	return MapEnv(map[string]string{
		"GITHUB_ACTIONS":      "true",
		EnvGitHubRequestURL:   e.srv.URL + "/_apis/token?api-version=2.0",
		EnvGitHubRequestToken: requestToken,
	})
}

func TestGitHubActionsToken(t *testing.T) {
	idToken := jwt(githubPayload)
	e := newTokenEndpoint(t, http.StatusOK, `{"count":1,"value":"`+idToken+`"}`)
	for _, tc := range []struct{ audience, want string }{{"", "sigstore"}, {"private-fulcio", "private-fulcio"}} {
		g := &GitHubActions{Env: e.env(), Client: e.srv.Client(), Audience: tc.audience}
		tok, err := g.Token(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tok != idToken {
			t.Errorf("token %q, want the endpoint's", tok)
		}
		q := e.last.URL.Query()
		if q.Get("audience") != tc.want || q.Get("api-version") != "2.0" || e.last.URL.Path != "/_apis/token" {
			t.Errorf("request URL %s, want /_apis/token with api-version=2.0 and audience=%s", e.last.URL, tc.want)
		}
		if got := e.last.Header.Get("Authorization"); got != "bearer "+requestToken {
			t.Errorf("Authorization %q", got)
		}
		if e.last.Method != http.MethodGet {
			t.Errorf("method %s", e.last.Method)
		}
	}
}

func TestGitHubActionsTokenFailures(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   evidence.Kind
		want   string
	}{
		{"refused", http.StatusForbidden, `{"message":"Resource not accessible by integration"}`, evidence.KindUnauthorized,
			"GitHub Actions' token endpoint refused the request (HTTP 403): {\"message\":\"Resource not accessible by integration\"}; check that the job has `permissions: id-token: write`"},
		{"refused, echoing the request token", http.StatusUnauthorized, `bad token ` + requestToken, evidence.KindUnauthorized,
			"refused the request (HTTP 401): bad token [redacted];"},
		{"server error", http.StatusBadGateway, "upstream down", evidence.KindInternal, "GitHub Actions' token endpoint answered HTTP 502: upstream down"},
		{"not JSON", http.StatusOK, "<html>", evidence.KindInvalid, `GitHub Actions' token response is not the JSON object {"value": token} expected`},
		{"JSON array", http.StatusOK, `["x"]`, evidence.KindInvalid, "is not the JSON object"},
		{"no value", http.StatusOK, `{"count":0}`, evidence.KindInvalid, `GitHub Actions' token response holds no token ("value" is missing or empty)`},
		{"empty value", http.StatusOK, `{"value":"  "}`, evidence.KindInvalid, "holds no token"},
		{"value not a string", http.StatusOK, `{"value":3}`, evidence.KindInvalid, "is not the JSON object"},
		{"too large", http.StatusOK, `{"value":"` + strings.Repeat("a", maxResponseSize) + `"}`, evidence.KindInvalid, "token response is larger than 1048576 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newTokenEndpoint(t, tc.status, tc.body)
			tok, err := (&GitHubActions{Env: e.env(), Client: e.srv.Client()}).Token(context.Background())
			if tok != "" {
				t.Errorf("token %q came back with the error", tok)
			}
			checkErr(t, err, tc.kind, tc.want)
		})
	}

	t.Run("endpoint unreachable", func(t *testing.T) {
		e := newTokenEndpoint(t, http.StatusOK, "")
		env := e.env()
		e.srv.Close()
		_, err := (&GitHubActions{Env: env}).Token(context.Background())
		if err == nil || !strings.Contains(err.Error(), "ask GitHub Actions for an OIDC token: Get ") {
			t.Errorf("error %v", err)
		}
		if strings.Contains(err.Error(), requestToken) {
			t.Error("the error quotes the request token")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		e := newTokenEndpoint(t, http.StatusOK, `{"value":"x"}`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := (&GitHubActions{Env: e.env()}).Token(ctx); err != context.Canceled {
			t.Errorf("error %v, want context.Canceled", err)
		}
	})
	t.Run("URL not http", func(t *testing.T) {
		env := MapEnv(map[string]string{EnvGitHubRequestURL: "file:///etc/passwd", EnvGitHubRequestToken: requestToken})
		_, err := (&GitHubActions{Env: env}).Token(context.Background())
		checkErr(t, err, evidence.KindInvalid, "ACTIONS_ID_TOKEN_REQUEST_URL is not an http(s) URL")
	})
	for name, env := range map[string]map[string]string{
		"no variables":        {"GITHUB_ACTIONS": "true"},
		"no request token":    {EnvGitHubRequestURL: "https://token.example"},
		"no request URL":      {EnvGitHubRequestToken: requestToken},
		"empty request token": {EnvGitHubRequestURL: "https://token.example", EnvGitHubRequestToken: ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := (&GitHubActions{Env: MapEnv(env)}).Token(context.Background())
			checkErr(t, err, evidence.KindUnauthorized, "the job needs `permissions: id-token: write`")
		})
	}
	t.Run("nil Env", func(t *testing.T) {
		_, err := (&GitHubActions{}).Token(context.Background())
		checkErr(t, err, evidence.KindUnauthorized, "the job needs `permissions: id-token: write`")
	})
}

func TestGitLabToken(t *testing.T) {
	idToken := jwt(`{"iss":"https://gitlab.com","aud":"sigstore"}`)
	tests := []struct {
		name     string
		env      map[string]string
		variable string
		kind     evidence.Kind
		want     string // the token, or the error text
	}{
		{"default variable", map[string]string{"SIGSTORE_ID_TOKEN": idToken}, "", "", idToken},
		{"configured variable", map[string]string{"EVIDENT_ID_TOKEN": idToken + "\n"}, "EVIDENT_ID_TOKEN", "", idToken},
		{"variable not set", map[string]string{"GITLAB_CI": "true"}, "", evidence.KindUnauthorized,
			"GitLab CI did not provide an ID token in $SIGSTORE_ID_TOKEN: add to the job `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}`"},
		{"configured variable not set", map[string]string{"SIGSTORE_ID_TOKEN": idToken}, "MY_TOKEN", evidence.KindUnauthorized, "did not provide an ID token in $MY_TOKEN"},
		{"variable empty", map[string]string{"SIGSTORE_ID_TOKEN": " "}, "", evidence.KindUnauthorized, "did not provide an ID token in $SIGSTORE_ID_TOKEN"},
		{"not a variable name", nil, "$(curl evil)", evidence.KindInvalid, `"$(curl evil)" is not a CI/CD variable name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := (&GitLab{Env: MapEnv(tc.env), Variable: tc.variable}).Token(context.Background())
			if tc.kind == "" {
				if err != nil || tok != tc.want {
					t.Fatalf("Token = %q, %v", tok, err)
				}
				return
			}
			checkErr(t, err, tc.kind, tc.want)
		})
	}
}

func TestDetect(t *testing.T) {
	idToken := jwt(`{"iss":"https://gitlab.com","aud":"sigstore"}`)
	githubEnv := map[string]string{"GITHUB_ACTIONS": "true", EnvGitHubRequestURL: "https://token.example/x", EnvGitHubRequestToken: requestToken}
	tests := []struct {
		name string
		env  map[string]string
		opts DetectOptions
		want string // the source's kind, or the error text
	}{
		{"explicit token wins", map[string]string{EnvIdentityToken: "from-env", "GITHUB_ACTIONS": "true"}, DetectOptions{Token: "from-flag"}, "static:from-flag"},
		{"EVIDENT_IDENTITY_TOKEN", map[string]string{EnvIdentityToken: "from-env", "GITHUB_ACTIONS": "true"}, DetectOptions{}, "static:from-env"},
		{"GitHub Actions", githubEnv, DetectOptions{}, "github"},
		{"GitHub Actions without permission", map[string]string{"GITHUB_ACTIONS": "true"}, DetectOptions{},
			"GitHub Actions did not offer an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): the job needs `permissions: id-token: write`"},
		{"GitLab CI", map[string]string{"GITLAB_CI": "true", "SIGSTORE_ID_TOKEN": idToken}, DetectOptions{}, "gitlab"},
		{"GitLab CI, configured variable", map[string]string{"GITLAB_CI": "true", "ID": idToken}, DetectOptions{GitLabVariable: "ID"}, "gitlab"},
		{"GitLab CI without ID token", map[string]string{"GITLAB_CI": "true"}, DetectOptions{}, "add to the job `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}`"},
		{"a developer's machine", map[string]string{"HOME": "/home/dev"}, DetectOptions{},
			"no OIDC identity token for keyless signing: not running in GitHub Actions or GitLab CI; pass a token with --identity-token or EVIDENT_IDENTITY_TOKEN, or sign with a key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := Detect(MapEnv(tc.env), nil, tc.opts)
			var got string
			switch s := src.(type) {
			case *Static:
				tok, _ := s.Token(context.Background())
				got = "static:" + tok
			case *GitHubActions:
				got = "github"
			case *GitLab:
				got = "gitlab"
			case nil:
				if err == nil {
					t.Fatal("no source and no error")
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %q, want it to contain %q", err, tc.want)
				}
				if evidence.KindOf(err) != evidence.KindUnauthorized {
					t.Errorf("kind %s", evidence.KindOf(err))
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("Detect = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

// Printing a source, by mistake or in a debug line, shows no token.
func TestSourcesDoNotPrintTokens(t *testing.T) {
	const tok = "eyJ.secret-token-value.sig"
	srcs := []Source{
		NewStatic(tok),
		&GitHubActions{Env: MapEnv(map[string]string{EnvGitHubRequestToken: tok})},
		&GitLab{Env: MapEnv(map[string]string{"SIGSTORE_ID_TOKEN": tok})},
	}
	for _, s := range srcs {
		for _, format := range []string{"%v", "%+v", "%s", "%#v"} {
			if out := fmt.Sprintf(format, s); strings.Contains(out, "secret-token-value") {
				t.Errorf("%s of %T shows the token: %s", format, s, out)
			}
		}
	}
	if _, err := NewStatic("  ").Token(context.Background()); err == nil || !strings.Contains(err.Error(), "the identity token given is empty") {
		t.Errorf("empty static token: %v", err)
	}
}

func TestGitHubActionsURLKeepsQuery(t *testing.T) {
	// The request URL GitHub hands out already has a query; audience is
	// added to it, not appended as a second "?".
	e := newTokenEndpoint(t, http.StatusOK, `{"value":"x.y.z"}`)
	env := MapEnv(map[string]string{
		EnvGitHubRequestURL:   e.srv.URL + "/token?api-version=2.0&audience=wrong",
		EnvGitHubRequestToken: requestToken,
	})
	if _, err := (&GitHubActions{Env: env}).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := (url.Values{"api-version": {"2.0"}, "audience": {"sigstore"}}); e.last.URL.Query().Encode() != want.Encode() {
		t.Errorf("query %s, want %s", e.last.URL.RawQuery, want.Encode())
	}
}
