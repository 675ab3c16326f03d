package signtest

import (
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/oidc"
)

// ActionsRequestToken is the request token of Instance's GitHub token
// endpoint (ACTIONS_ID_TOKEN_REQUEST_TOKEN).
const ActionsRequestToken = "actions-request-token-not-a-secret"

// Options configure an Instance.
type Options struct {
	// WorkflowRef is the job_workflow_ref of the GitHub tokens the
	// instance's token endpoint mints, "OWNER/REPO/.github/workflows/F.yml@REF";
	// Fulcio certifies "https://github.com/" + WorkflowRef.
	WorkflowRef string
	// TokenTTL is how long those tokens are valid (default five minutes;
	// negative: they are minted expired).
	TokenTTL time.Duration
}

// Instance is a whole offline Sigstore instance: a Fulcio with its CA, a
// timestamp authority, GitHub and GitLab OIDC issuers (Fulcio trusts both),
// GitHub Actions' token endpoint for one workflow, and the trusted root of
// the CA and TSA.
type Instance struct {
	CA     *CA
	TSA    *TSA
	GitHub *Issuer
	GitLab *Issuer
	Fulcio *Fulcio
	// TokenURL is the token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL).
	TokenURL string
	// Subject is what Fulcio certifies for the endpoint's tokens.
	Subject     string
	TrustedRoot *root.TrustedRoot
}

// NewInstance starts an instance; it stops when the test ends.
func NewInstance(t testing.TB, opts Options) *Instance {
	t.Helper()
	if opts.WorkflowRef == "" {
		t.Fatal("signtest.NewInstance: Options.WorkflowRef is required")
	}
	ttl := opts.TokenTTL
	if ttl == 0 {
		ttl = 5 * time.Minute
	}
	i := &Instance{CA: NewCA(t), TSA: NewTSA(t), Subject: "https://github.com/" + opts.WorkflowRef}
	i.GitHub = NewIssuer(t, GitHubIssuer)
	i.GitLab = NewIssuer(t, GitLabIssuer)
	i.Fulcio = NewFulcio(t, i.CA, i.GitHub, i.GitLab)
	claims := func(aud string) map[string]any { return GitHubClaims(opts.WorkflowRef, aud, ttl) }
	i.TokenURL = GitHubTokenEndpoint(t, i.GitHub, ActionsRequestToken, claims).URL + "/token?api-version=2.0"
	i.TrustedRoot = TrustedRoot(t, i.CA, i.TSA)
	return i
}

// GitHubEnv is what a GitHub Actions job with `permissions: id-token:
// write` finds in its environment to get a token from the instance.
func (i *Instance) GitHubEnv() map[string]string {
	return map[string]string{
		oidc.EnvGitHubRequestURL:   i.TokenURL,
		oidc.EnvGitHubRequestToken: ActionsRequestToken,
	}
}

// TrustedRootJSON is the instance's trusted root as trusted_root.json.
func (i *Instance) TrustedRootJSON(t testing.TB) []byte {
	t.Helper()
	b, err := i.TrustedRoot.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
