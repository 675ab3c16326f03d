package oidc

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// jwt builds an unsigned-looking compact JWS around a raw payload; the
// signature part is never checked here.
func jwt(payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"ES256","typ":"JWT"}`)) + "." + enc([]byte(payload)) + "." + enc([]byte("signature"))
}

func jwtClaims(t testing.TB, claims map[string]any) string {
	t.Helper()
	b, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return jwt(string(b))
}

func checkErr(t testing.TB, err error, kind evidence.Kind, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s error containing %q", kind, want)
	}
	if got := evidence.KindOf(err); got != kind {
		t.Errorf("error kind %s, want %s (error: %v)", got, kind, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

// A GitHub Actions ID token's claims, as GitHub documents them.
const githubPayload = `{"jti":"example-id","sub":"repo:acme/monitor:ref:refs/tags/v1.2.0","aud":"sigstore",` +
	`"ref":"refs/tags/v1.2.0","repository":"acme/monitor","job_workflow_ref":"acme/monitor/.github/workflows/release.yml@refs/tags/v1.2.0",` +
	`"iss":"https://token.actions.githubusercontent.com","nbf":1767268800,"exp":1767269400,"iat":1767268800}`

func TestParseUnverified(t *testing.T) {
	at := func(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
	tests := []struct {
		name  string
		token string
		want  *Claims
	}{
		{"GitHub Actions", jwt(githubPayload), &Claims{
			Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/monitor:ref:refs/tags/v1.2.0",
			Audience: []string{"sigstore"}, Expiry: at(1767269400), NotBefore: at(1767268800), IssuedAt: at(1767268800),
		}},
		{"GitLab, audience list", jwt(`{"iss":"https://gitlab.com","sub":"project_path:acme/monitor:ref_type:tag:ref:v1.2.0","aud":["sigstore","other"],"exp":1767269400}`), &Claims{
			Issuer: "https://gitlab.com", Subject: "project_path:acme/monitor:ref_type:tag:ref:v1.2.0", Audience: []string{"sigstore", "other"}, Expiry: at(1767269400),
		}},
		{"fractional exp, no aud", jwt(`{"iss":"https://issuer.example","exp":1767269400.5}`), &Claims{
			Issuer: "https://issuer.example", Expiry: time.Unix(1767269400, 5e8).UTC(),
		}},
		{"padded segments", strings.Replace(jwt(`{"iss":"https://i.example"}`), ".", "==.", 1), &Claims{Issuer: "https://i.example"}},
		{"null claims", jwt(`{"iss":"https://i.example","sub":null,"aud":null,"exp":null}`), &Claims{Issuer: "https://i.example"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseUnverified(tc.token)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseUnverifiedRejects(t *testing.T) {
	tests := []struct {
		name  string
		token string
		want  string
	}{
		{"empty", "", "the OIDC token is empty"},
		{"not a JWT", "ghs_notajwt", "the OIDC token is not a JWT: it has 1 dot-separated parts, want 3"},
		{"JWE (five parts)", "a.b.c.d.e", "it has 5 dot-separated parts"},
		{"empty header", "." + strings.SplitN(jwt(`{"iss":"x"}`), ".", 2)[1], "the OIDC token's header is not base64url: it is empty"},
		{"payload not base64url", "eyJhbGciOiJub25lIn0.@@@.c2ln", "the OIDC token's payload is not base64url: bad character at offset 0"},
		{"payload not JSON", jwt("not json"), "the OIDC token's claims: not a JSON object"},
		{"payload a JSON array", jwt(`["iss"]`), "not a JSON object"},
		{"payload JSON null", jwt(`null`), "not a JSON object"},
		{"two objects", jwt(`{"iss":"x"}{"iss":"y"}`), "unexpected data after the JSON object"},
		{"no issuer", jwt(`{"sub":"x","aud":"sigstore"}`), "iss (issuer) is missing"},
		{"issuer not a string", jwt(`{"iss":42}`), "iss is not a string"},
		{"audience a number", jwt(`{"iss":"x","aud":7}`), "aud is neither a string nor an array of strings"},
		{"exp a string", jwt(`{"iss":"x","exp":"tomorrow"}`), "exp is not a number of seconds since 1970"},
		{"exp huge", jwt(`{"iss":"x","exp":1e300}`), "exp is out of range"},
		{"not UTF-8", jwt("{\"iss\":\"\xff\"}"), "not valid UTF-8"},
		{"too large", strings.Repeat("a", MaxTokenSize+1), "more than the 65536-byte limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseUnverified(tc.token)
			if c != nil {
				t.Error("claims came back with the error")
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

func TestClaimsCheck(t *testing.T) {
	exp := time.Date(2026, 1, 1, 12, 10, 0, 0, time.UTC)
	nbf := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := &Claims{Issuer: "https://token.actions.githubusercontent.com", Audience: []string{"sigstore"}, Expiry: exp, NotBefore: nbf}
	tests := []struct {
		name     string
		claims   *Claims
		now      time.Time
		audience string
		want     string // "" when accepted
	}{
		{"valid", c, nbf.Add(time.Minute), "", ""},
		{"valid, audience named", c, nbf.Add(time.Minute), "sigstore", ""},
		{"expired", c, exp.Add(90 * time.Second), "", "the OIDC token expired at 2026-01-01T12:10:00Z (1m30s ago)"},
		{"expires this instant", c, exp, "", "the OIDC token expired at 2026-01-01T12:10:00Z (0s ago)"},
		{"not yet valid", c, nbf.Add(-time.Minute), "", "the OIDC token is not valid before 2026-01-01T12:00:00Z (in 1m0s); check this machine's clock"},
		{"wrong audience", &Claims{Issuer: "x", Audience: []string{"https://github.com/acme"}}, nbf, "", `the OIDC token is for audience "https://github.com/acme", not "sigstore": request it with audience "sigstore"`},
		{"configured audience", c, nbf, "private-fulcio", `the OIDC token is for audience "sigstore", not "private-fulcio"`},
		{"no audience", &Claims{Issuer: "x"}, nbf, "", `the OIDC token is for no audience, not "sigstore"`},
		{"one of several audiences", &Claims{Issuer: "x", Audience: []string{"a", "sigstore"}}, nbf, "", ""},
		{"no exp", &Claims{Issuer: "x", Audience: []string{"sigstore"}}, nbf, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.claims.Check(tc.now, tc.audience)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, evidence.KindUnauthorized, tc.want)
		})
	}
}

// No error about a token quotes it, whatever part is broken.
func TestParseUnverifiedNeverEchoes(t *testing.T) {
	const secret = "s3cr3t-claim-value-s3cr3t"
	tokens := []string{
		jwt(`{"iss":42,"secret":"` + secret + `"}`),
		jwt(`{"iss":"x","aud":7,"secret":"` + secret + `"}`),
		jwt(`{"iss":"x","exp":"` + secret + `"}`),
		jwt(`{"secret":"` + secret + `"`),
		jwt(secret),
		secret + "." + secret + "." + secret,
		secret,
	}
	for _, tok := range tokens {
		_, err := ParseUnverified(tok)
		if err == nil {
			t.Errorf("token %q parsed", tok)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), tok) {
			t.Errorf("error quotes the token: %v", err)
		}
	}
}
