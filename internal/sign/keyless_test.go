package sign

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/oidc"
	"github.com/evident-dev/evident/internal/sign/signtest"
)

// The identities of the fakes: the release workflow of the running
// example, on a tag.
const (
	githubIssuer       = signtest.GitHubIssuer
	gitlabIssuer       = signtest.GitLabIssuer
	releaseWorkflowRef = "acme/monitor/.github/workflows/release.yml@refs/tags/v1.2.0"
	releaseSubject     = "https://github.com/" + releaseWorkflowRef
	releasePattern     = `https://github\.com/acme/monitor/\.github/workflows/release\.yml@refs/tags/v.*`
)

// keylessEnv is an offline Sigstore instance: a Fulcio, a timestamp
// authority, and GitHub Actions' token endpoint for the release workflow.
type keylessEnv struct{ *signtest.Instance }

func newKeylessEnv(t *testing.T, tokenTTL time.Duration) *keylessEnv {
	t.Helper()
	return &keylessEnv{signtest.NewInstance(t, signtest.Options{WorkflowRef: releaseWorkflowRef, TokenTTL: tokenTTL})}
}

// githubSource is the token source a job with `id-token: write` gets.
func (e *keylessEnv) githubSource(audience string) *oidc.GitHubActions {
	return &oidc.GitHubActions{Env: oidc.MapEnv(e.GitHubEnv()), Audience: audience}
}

func (e *keylessEnv) options(src oidc.Source) KeylessOptions {
	return KeylessOptions{
		Token:       src.Token,
		FulcioURL:   e.Fulcio.URL(),
		TSAURLs:     []string{e.TSA.URL()},
		TrustedRoot: e.TrustedRoot,
	}
}

func mustKeyless(t *testing.T, opts KeylessOptions) Signer {
	t.Helper()
	s, err := NewKeylessSigner(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeylessRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newKeylessEnv(t, 5*time.Minute)
	st := testStatement(t, "firmware.bin", "app.apk")
	payload, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	b, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, payload)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}

	// The shape other Sigstore clients expect: a single certificate, one
	// RFC 3161 timestamp, no log entry (none configured).
	d := parseDoc(t, b)
	vm := d.obj("verificationMaterial")
	if _, ok := vm["certificate"]; !ok {
		t.Errorf("no certificate in the verification material: %v", vm)
	}
	if n := len(d.obj("verificationMaterial", "timestampVerificationData")["rfc3161Timestamps"].([]any)); n != 1 {
		t.Errorf("%d RFC 3161 timestamps, want 1", n)
	}
	if _, ok := vm["tlogEntries"]; ok {
		t.Errorf("tlog entries without a Rekor configured: %v", vm["tlogEntries"])
	}

	trust := Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: releasePattern}}, TrustedRoot: e.TrustedRoot, RequireTimestamp: true}
	v, err := Verify(ctx, b, trust)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if diff := cmp.Diff(&st, v.Statement, digestCmp); diff != "" {
		t.Errorf("statement (-want +got):\n%s", diff)
	}
	wantSigner := &CertificateSigner{Issuer: githubIssuer, Subject: releaseSubject, Matched: trust.Identities[0]}
	if diff := cmp.Diff(wantSigner, v.Certificate); diff != "" {
		t.Errorf("certificate signer (-want +got):\n%s", diff)
	}
	if v.SignerIdentity != githubIssuer+"|"+releaseSubject || v.SignerKeyID != "" {
		t.Errorf("SignerIdentity %q, SignerKeyID %q", v.SignerIdentity, v.SignerKeyID)
	}
	if len(v.Timestamps) != 1 || v.Timestamps[0].Source != TimeSourceTSA || v.Timestamps[0].URI != e.TSA.BaseURL() {
		t.Fatalf("Timestamps %+v, want one from %s", v.Timestamps, e.TSA.BaseURL())
	}
	if at, ok := v.SigningTime(); !ok || at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
		t.Errorf("SigningTime %v %v, want about now", at, ok)
	}
}

// GitLab's ID token comes from a CI/CD variable; the certificate names
// the pipeline's CI config.
func TestKeylessGitLab(t *testing.T) {
	e := newKeylessEnv(t, 5*time.Minute)
	claims := map[string]any{
		"aud": "sigstore", "sub": "project_path:acme/monitor:ref_type:tag:ref:v1.2.0",
		"ci_config_ref_uri": "gitlab.com/acme/monitor//.gitlab-ci.yml@refs/tags/v1.2.0",
		"exp":               time.Now().Add(5 * time.Minute).Unix(),
	}
	src := &oidc.GitLab{Env: oidc.MapEnv(map[string]string{"SIGSTORE_ID_TOKEN": e.GitLab.MustMint(t, claims)})}
	payload, _ := testStatement(t).Encode()
	b, err := mustKeyless(t, e.options(src)).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	const subject = "https://gitlab.com/acme/monitor//.gitlab-ci.yml@refs/tags/v1.2.0"
	v, err := Verify(context.Background(), b, Trust{Identities: []Identity{{Issuer: gitlabIssuer, Subject: subject}}, TrustedRoot: e.TrustedRoot})
	if err != nil {
		t.Fatal(err)
	}
	if v.SignerIdentity != gitlabIssuer+"|"+subject {
		t.Errorf("SignerIdentity %q", v.SignerIdentity)
	}
}

func TestVerifyKeylessRejects(t *testing.T) {
	ctx := context.Background()
	e := newKeylessEnv(t, 5*time.Minute)
	payload, _ := testStatement(t).Encode()
	good, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	release := Identity{Issuer: githubIssuer, SubjectRegexp: releasePattern}
	other := newKeylessEnv(t, 5*time.Minute) // another instance: other CA, other TSA
	noTimestamps := func() []byte {
		d := parseDoc(t, good)
		delete(d.obj("verificationMaterial"), "timestampVerificationData")
		return d.bytes(t)
	}()
	tampered := func() []byte {
		d := parseDoc(t, good)
		p, _ := testStatement(t, "other.bin").Encode()
		d.obj("dsseEnvelope")["payload"] = base64.StdEncoding.EncodeToString(p)
		return d.bytes(t)
	}()
	key := mustGenerate(t, AlgECDSAP256)

	tests := []struct {
		name   string
		bundle []byte
		trust  Trust
		kind   evidence.Kind
		want   string
	}{
		{"wrong subject", good, Trust{Identities: []Identity{{Issuer: githubIssuer, Subject: "https://github.com/acme/monitor/.github/workflows/ci.yml@refs/heads/main"}}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, `signed by "` + releaseSubject + `" (OIDC issuer "` + githubIssuer + `"), which matches none of the 1 trusted identities`},
		{"pattern matching only a prefix", good, Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/acme/monitor/`}}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "which matches none of the 1 trusted identities"},
		{"pattern for another repository", good, Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: `https://github\.com/acme/other/.*`}}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "which matches none"},
		{"wrong issuer", good, Trust{Identities: []Identity{{Issuer: gitlabIssuer, SubjectRegexp: releasePattern}}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "which matches none of the 1 trusted identities"},
		{"no identities, only keys", good, Trust{Keys: []*PublicKey{key.Public()}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "bundle is signed with a certificate (keyless signing), but only keys are trusted"},
		{"identities without a trusted root", good, Trust{Identities: []Identity{release}},
			evidence.KindInvalid, "keyless identities are trusted, but the trusted root has no Fulcio certificate authority"},
		{"trusted root of another instance", good, Trust{Identities: []Identity{release}, TrustedRoot: other.TrustedRoot},
			evidence.KindVerification, "keyless signature does not verify against the trusted root"},
		{"timestamp from an untrusted authority", good, Trust{Identities: []Identity{release}, TrustedRoot: signtest.TrustedRoot(t, e.CA, other.TSA)},
			evidence.KindVerification, "keyless signature does not verify against the trusted root"},
		{"timestamp removed", noTimestamps, Trust{Identities: []Identity{release}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "bundle is signed with a short-lived certificate but has no trusted time: no RFC 3161 timestamp and no transparency log entry"},
		{"trusted root without timestamp authority", good, Trust{Identities: []Identity{release}, TrustedRoot: signtest.TrustedRoot(t, e.CA)},
			evidence.KindVerification, "its RFC 3161 timestamps cannot be checked"},
		{"timestamp required but none trusted", good, Trust{Identities: []Identity{release}, TrustedRoot: signtest.TrustedRoot(t, e.CA), RequireTimestamp: true},
			evidence.KindInvalid, "a timestamp is required, but the trusted root has no timestamp authority"},
		{"payload replaced", tampered, Trust{Identities: []Identity{release}, TrustedRoot: e.TrustedRoot},
			evidence.KindVerification, "keyless signature does not verify against the trusted root"},
		{"identity without issuer", good, Trust{Identities: []Identity{{SubjectRegexp: ".*"}}, TrustedRoot: e.TrustedRoot},
			evidence.KindInvalid, "trusted identity 0 (|~.*): the OIDC issuer is empty"},
		{"identity without subject", good, Trust{Identities: []Identity{{Issuer: githubIssuer}}, TrustedRoot: e.TrustedRoot},
			evidence.KindInvalid, "neither a subject nor a subject pattern"},
		{"identity with subject and pattern", good, Trust{Identities: []Identity{{Issuer: githubIssuer, Subject: releaseSubject, SubjectRegexp: releasePattern}}, TrustedRoot: e.TrustedRoot},
			evidence.KindInvalid, "both a subject and a subject pattern"},
		{"pattern that does not compile", good, Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: "refs/tags/(v"}}, TrustedRoot: e.TrustedRoot},
			evidence.KindInvalid, "subject pattern: error parsing regexp"},
		{"typed nil trusted root", good, Trust{Identities: []Identity{release}, TrustedRoot: (*root.TrustedRoot)(nil)},
			evidence.KindInvalid, "no Fulcio certificate authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Verify(ctx, tc.bundle, tc.trust)
			if v != nil {
				t.Errorf("Verify returned a result with its error")
			}
			checkErr(t, err, tc.kind, tc.want)
		})
	}

	// The same bundle verifies for every form of the right identity, and
	// among other identities.
	for _, id := range []Identity{
		{Issuer: githubIssuer, Subject: releaseSubject},
		release,
		{Issuer: githubIssuer, SubjectRegexp: `^https://github\.com/acme/monitor/.*$`},
	} {
		trust := Trust{Keys: []*PublicKey{key.Public()}, Identities: []Identity{{Issuer: gitlabIssuer, SubjectRegexp: ".*"}, id}, TrustedRoot: e.TrustedRoot}
		v, err := Verify(ctx, good, trust)
		if err != nil {
			t.Errorf("identity %s: %v", id, err)
			continue
		}
		if v.Certificate.Matched != id {
			t.Errorf("identity %s: matched %s", id, v.Certificate.Matched)
		}
	}
}

// A certificate lives minutes; the signature stays valid for as long as a
// trusted timestamp shows it was made while the certificate was valid.
func TestKeylessExpiredCertificate(t *testing.T) {
	ctx := context.Background()
	e := newKeylessEnv(t, 5*time.Minute)
	payload, _ := testStatement(t).Encode()
	trust := Trust{Identities: []Identity{{Issuer: githubIssuer, SubjectRegexp: releasePattern}}, TrustedRoot: e.TrustedRoot}
	// The certificate expired ten minutes ago.
	e.Fulcio.SetValidity(func() (time.Time, time.Time) {
		now := time.Now()
		return now.Add(-30 * time.Minute), now.Add(-10 * time.Minute)
	})

	t.Run("timestamped while valid", func(t *testing.T) {
		e.TSA.SetClock(func() time.Time { return time.Now().Add(-20 * time.Minute) })
		b, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, payload)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		v, err := Verify(ctx, b, trust)
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if at, _ := v.SigningTime(); time.Since(at) < 19*time.Minute {
			t.Errorf("SigningTime %v, want 20 minutes ago", at)
		}
	})
	t.Run("timestamped after expiry", func(t *testing.T) {
		e.TSA.SetClock(time.Now)
		// With the trusted root the signer notices at once and returns
		// nothing.
		_, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, payload)
		checkErr(t, err, evidence.KindVerification, "the bundle just signed does not verify against the trusted root")
		// Without it the bundle comes back, and Verify refuses it.
		opts := e.options(e.githubSource(""))
		opts.TrustedRoot = nil
		b, err := mustKeyless(t, opts).Sign(ctx, payload)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Verify(ctx, b, trust)
		checkErr(t, err, evidence.KindVerification, "failed to verify leaf certificate")
	})
}

func TestKeylessSignFailures(t *testing.T) {
	ctx := context.Background()
	payload, _ := testStatement(t).Encode()

	t.Run("expired token", func(t *testing.T) {
		e := newKeylessEnv(t, -time.Minute)
		b, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, payload)
		checkErr(t, err, evidence.KindUnauthorized, "the OIDC token expired at ")
		if b != nil || e.Fulcio.Requests() != 0 || e.TSA.Requests() != 0 {
			t.Errorf("bundle %v, %d Fulcio and %d TSA requests; want nothing", b != nil, e.Fulcio.Requests(), e.TSA.Requests())
		}
	})
	t.Run("wrong audience", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		b, err := mustKeyless(t, e.options(e.githubSource("evident"))).Sign(ctx, payload)
		checkErr(t, err, evidence.KindUnauthorized, `the OIDC token is for audience "evident", not "sigstore"`)
		if b != nil || e.Fulcio.Requests() != 0 {
			t.Errorf("bundle %v, %d Fulcio requests; want nothing", b != nil, e.Fulcio.Requests())
		}
	})
	t.Run("configured audience", func(t *testing.T) {
		// A private Fulcio may want another audience; the check follows
		// the configuration (this Fulcio still wants sigstore, and says so).
		e := newKeylessEnv(t, 5*time.Minute)
		opts := e.options(e.githubSource("evident"))
		opts.Audience = "evident"
		_, err := mustKeyless(t, opts).Sign(ctx, payload)
		checkErr(t, err, evidence.KindUnauthorized, "Fulcio at "+e.Fulcio.URL()+" refused the identity token (HTTP 401)")
		if e.Fulcio.Requests() != 1 {
			t.Errorf("%d Fulcio requests, want 1", e.Fulcio.Requests())
		}
	})
	t.Run("token from an issuer Fulcio does not know", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		stranger := signtest.NewIssuer(t, "https://issuer.invalid")
		tok := stranger.MustMint(t, map[string]any{"aud": "sigstore", "sub": "x", "exp": time.Now().Add(time.Minute).Unix()})
		b, err := mustKeyless(t, e.options(oidc.NewStatic(tok))).Sign(ctx, payload)
		checkErr(t, err, evidence.KindUnauthorized, `refused the identity token (HTTP 401): {"code":401,"message":"There was an error processing the identity token: unknown issuer`)
		if b != nil {
			t.Error("a bundle came back")
		}
		if strings.Contains(err.Error(), tok) {
			t.Error("the error quotes the token")
		}
	})
	t.Run("GitHub job without id-token permission", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		src := &oidc.GitHubActions{Env: oidc.MapEnv(map[string]string{"GITHUB_ACTIONS": "true"})}
		_, err := mustKeyless(t, e.options(src)).Sign(ctx, payload)
		checkErr(t, err, evidence.KindUnauthorized, "get an OIDC identity token: GitHub Actions did not offer an OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set): the job needs `permissions: id-token: write`")
	})
	t.Run("timestamp authority down", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		opts := e.options(e.githubSource(""))
		opts.TSAURLs = []string{closedPortURL(t) + "/api/v1/timestamp"}
		b, err := mustKeyless(t, opts).Sign(ctx, payload)
		if err == nil || b != nil {
			t.Fatalf("Sign with the TSA down: bundle %v, error %v", b != nil, err)
		}
		if want := "get an RFC 3161 timestamp from " + opts.TSAURLs[0] + ": dial tcp"; !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("error %q, want it to contain %q and connection refused", err, want)
		}
	})
	t.Run("Fulcio rejects the request", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		opts := e.options(e.githubSource(""))
		opts.FulcioURL = strings.TrimSuffix(newStatusServer(t, http.StatusBadRequest, `{"code":3,"message":"The signature supplied in the request could not be verified"}`), "/api/v1/timestamp")
		_, err := mustKeyless(t, opts).Sign(ctx, payload)
		checkErr(t, err, evidence.KindInvalid, "Fulcio at "+opts.FulcioURL+` rejected the certificate request (HTTP 400): {"code":3,"message":"The signature supplied in the request could not be verified"}`)
	})
	t.Run("Fulcio down", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		opts := e.options(e.githubSource(""))
		opts.FulcioURL = closedPortURL(t)
		_, err := mustKeyless(t, opts).Sign(ctx, payload)
		checkErr(t, err, evidence.KindInternal, "get a signing certificate from Fulcio at "+opts.FulcioURL+": dial tcp")
		if e.TSA.Requests() != 0 {
			t.Errorf("the TSA was asked %d times", e.TSA.Requests())
		}
	})
	t.Run("invalid payload", func(t *testing.T) {
		e := newKeylessEnv(t, 5*time.Minute)
		_, err := mustKeyless(t, e.options(e.githubSource(""))).Sign(ctx, []byte(`{"hello":"world"}`))
		checkErr(t, err, evidence.KindInvalid, "refusing to sign: statement: unknown field")
		if e.Fulcio.Requests() != 0 {
			t.Error("Fulcio was asked for an invalid payload")
		}
	})
}

// closedPortURL is an http URL on 127.0.0.1 where nothing listens.
func closedPortURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestNewKeylessSignerRejects(t *testing.T) {
	tok := func(context.Context) (string, error) { return "", nil }
	tests := []struct {
		name string
		opts KeylessOptions
		want string
	}{
		{"no token source", KeylessOptions{FulcioURL: "https://fulcio.example", TSAURLs: []string{"https://tsa.example/api/v1/timestamp"}}, "keyless signing needs an OIDC identity token source"},
		{"Fulcio without trusted time", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example"}, "keyless signing needs a trusted time: configure a timestamp authority (or a Rekor log)"},
		{"TSA without Fulcio", KeylessOptions{Token: tok, TSAURLs: []string{"https://tsa.example/api/v1/timestamp"}}, "keyless signing needs a Fulcio URL"},
		{"bad Fulcio URL", KeylessOptions{Token: tok, FulcioURL: "fulcio.example", TSAURLs: []string{"https://tsa.example"}}, `Fulcio URL "fulcio.example" is not an absolute http(s) URL`},
		{"bad TSA URL", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", TSAURLs: []string{"ftp://tsa.example"}}, `timestamp authority URL "ftp://tsa.example" is not an absolute http(s) URL`},
		{"TSA twice", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", TSAURLs: []string{"https://tsa.example", "https://tsa.example"}}, "timestamp authority https://tsa.example is named twice"},
		{"credentials in a URL", KeylessOptions{Token: tok, FulcioURL: "https://user:pw@fulcio.example", TSAURLs: []string{"https://tsa.example"}}, "Fulcio URL must not carry credentials"},
		{"bad Rekor URL", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", RekorURLs: []string{"rekor"}}, `Rekor URL "rekor" is not an absolute http(s) URL`},
		{"trusted root without Fulcio", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", TSAURLs: []string{"https://tsa.example"}, TrustedRoot: signtest.TrustedRoot(t, nil, signtest.NewTSA(t))}, "the trusted root has no Fulcio certificate authority"},
		{"trusted root without the TSA", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", TSAURLs: []string{"https://tsa.example"}, TrustedRoot: signtest.TrustedRoot(t, signtest.NewCA(t))},
			"timestamps are requested from https://tsa.example, but the trusted root has no timestamp authority to verify them"},
		{"trusted root without Rekor", KeylessOptions{Token: tok, FulcioURL: "https://fulcio.example", TSAURLs: []string{"https://tsa.example"}, RekorURLs: []string{"https://rekor.example"}, TrustedRoot: signtest.TrustedRoot(t, signtest.NewCA(t), signtest.NewTSA(t))},
			"signatures are to be recorded in Rekor, but the trusted root has no Rekor log"},
		{"Rekor v2 without TSA", KeylessOptions{Token: tok, SigningConfig: rekorV2Only(t)}, "Rekor v2 logs do not sign the time of an entry, so configure a timestamp authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewKeylessSigner(tc.opts)
			if s != nil {
				t.Error("a signer came back with the error")
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}

// rekorV2Only is a signing config with a Fulcio and a Rekor v2 log only.
func rekorV2Only(t *testing.T) *root.SigningConfig {
	t.Helper()
	sc, err := ParseSigningConfig([]byte(`{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [{"url": "https://fulcio.internal", "majorApiVersion": 1, "validFor": {"start": "2024-01-01T00:00:00Z"}, "operator": "acme"}],
  "rekorTlogUrls": [{"url": "https://log2025.rekor.internal", "majorApiVersion": 2, "validFor": {"start": "2024-01-01T00:00:00Z"}, "operator": "acme"}],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": {"selector": "ANY"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// Which services a keyless signature uses. Nothing is contacted here.
func TestKeylessInstance(t *testing.T) {
	staging, err := ParseSigningConfig(readFile(t, filepath.Join(corpusSigstore, "sigstore-go_signing-config_v0.2.json")))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		opts KeylessOptions
		want instance
	}{
		{"nothing configured: public-good", KeylessOptions{}, instance{
			fulcioURL: "https://fulcio.sigstore.dev", tsaURLs: []string{"https://timestamp.sigstore.dev/api/v1/timestamp"}, rekor: []rekorURL{{"https://rekor.sigstore.dev", 1}}}},
		{"signing config", KeylessOptions{SigningConfig: staging}, instance{
			fulcioURL: "https://fulcio.sigstage.dev", tsaURLs: []string{"https://timestamp.sigstage.dev/api/v1/timestamp"}, rekor: []rekorURL{{"https://rekor.sigstage.dev", 1}}}},
		{"signing config, own TSA", KeylessOptions{SigningConfig: staging, TSAURLs: []string{"https://tsa.example/api/v1/timestamp"}}, instance{
			fulcioURL: "https://fulcio.sigstage.dev", tsaURLs: []string{"https://tsa.example/api/v1/timestamp"}, rekor: []rekorURL{{"https://rekor.sigstage.dev", 1}}}},
		{"air-gapped: Fulcio and TSA, no Rekor", KeylessOptions{FulcioURL: "https://fulcio.internal", TSAURLs: []string{"https://tsa.internal/api/v1/timestamp"}}, instance{
			fulcioURL: "https://fulcio.internal", tsaURLs: []string{"https://tsa.internal/api/v1/timestamp"}}},
		{"Fulcio and Rekor", KeylessOptions{FulcioURL: "https://fulcio.internal", RekorURLs: []string{"https://rekor.internal"}}, instance{
			fulcioURL: "https://fulcio.internal", rekor: []rekorURL{{"https://rekor.internal", 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.opts.resolveInstance(now)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(instance{}, rekorURL{})); diff != "" {
				t.Errorf("instance (-want +got):\n%s", diff)
			}
		})
	}
	// The staging config's TSA is valid only from 2025-04-09.
	_, err = (&KeylessOptions{SigningConfig: staging}).resolveInstance(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	checkErr(t, err, evidence.KindInvalid, "signing config: no usable timestamp authority")
}

func TestIdentityValidate(t *testing.T) {
	tests := []struct {
		id   Identity
		want string // "" when valid
	}{
		{Identity{Issuer: githubIssuer, Subject: releaseSubject}, ""},
		{Identity{Issuer: githubIssuer, SubjectRegexp: releasePattern}, ""},
		{Identity{Subject: releaseSubject}, "identity |" + releaseSubject + ": the OIDC issuer is empty"},
		{Identity{Issuer: githubIssuer}, "identity " + githubIssuer + "|: neither a subject nor a subject pattern"},
		{Identity{Issuer: githubIssuer, Subject: "a", SubjectRegexp: "a"}, "both a subject and a subject pattern; give one"},
		{Identity{Issuer: githubIssuer, SubjectRegexp: "(?P<"}, "subject pattern: error parsing regexp"},
	}
	for _, tc := range tests {
		t.Run(tc.id.String(), func(t *testing.T) {
			err := tc.id.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkErr(t, err, evidence.KindInvalid, tc.want)
		})
	}
}
