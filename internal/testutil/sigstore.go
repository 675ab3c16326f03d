package testutil

// Sigstore for the end-to-end tests: the offline instance of package
// signtest set up for the example's release workflow, trust files written
// where the commands read them, and signed approval records.

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/sign/signtest"
)

// WorkflowRef is the GitHub Actions workflow GitHubEnv runs, as its OIDC
// token's job_workflow_ref names it; a keyless seal in that job is signed
// by WorkflowSubject.
const (
	WorkflowRef     = "acme-medical/wearable-monitor/.github/workflows/release.yml@refs/tags/" + Tag
	WorkflowSubject = "https://github.com/" + WorkflowRef
	// WorkflowPattern matches the release workflow on any tag.
	WorkflowPattern = `https://github\.com/acme-medical/wearable-monitor/\.github/workflows/release\.yml@refs/tags/v.*`
)

// NewSigstore starts an offline Sigstore instance (Fulcio, a timestamp
// authority, GitHub Actions' token endpoint) whose tokens are those of the
// job GitHubEnv describes, valid for ttl (0: five minutes; negative:
// minted expired). It stops when the test ends.
func NewSigstore(t testing.TB, ttl time.Duration) *signtest.Instance {
	t.Helper()
	return signtest.NewInstance(t, signtest.Options{WorkflowRef: WorkflowRef, TokenTTL: ttl})
}

// KeylessGitHubEnv is GitHubEnv in a job with `permissions: id-token:
// write` whose token endpoint is s's.
func KeylessGitHubEnv(s *signtest.Instance) map[string]string {
	env := GitHubEnv()
	for k, v := range s.GitHubEnv() {
		env[k] = v
	}
	return env
}

// WriteTrustedRoot writes tr as a trusted_root.json at path and returns
// path.
func WriteTrustedRoot(t testing.TB, path string, tr *root.TrustedRoot) string {
	t.Helper()
	b, err := tr.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, path, b)
	return path
}

// TimestampServer starts the real timestamp authority (see
// signtest.StartTimestampServer: it skips the test without the binary,
// unless EVIDENT_TEST_NO_SKIP=1) and writes its certificate chain to
// dir/tsa-chain.pem, whose path it returns.
func TimestampServer(t testing.TB, dir string) (*signtest.TimestampServer, string) {
	t.Helper()
	srv := signtest.StartTimestampServer(t)
	chain := filepath.Join(dir, "tsa-chain.pem")
	WriteFile(t, chain, srv.ChainPEM(t))
	return srv, chain
}

// NewApproval is the approval record `evident approve` signs for the
// release ref with manifest digest md: decision by name in role with key
// (a passphrase-protected key: authentication key+passphrase), meaning as
// given, signed now (to the second, as the CLI records it).
func NewApproval(ref evidence.ReleaseRef, md digest.Digest, decision, name, role, meaning string, key *sign.PublicKey) evidence.Approval {
	return evidence.Approval{
		ManifestDigest: md, Product: ref.Product, Version: ref.Version,
		Decision: decision, Meaning: meaning,
		Signer:   evidence.Signer{Name: name, Role: role, Identity: key.ID(), Authentication: evidence.AuthKeyPassphrase},
		SignedAt: time.Now().UTC().Truncate(time.Second),
	}
}

// ApprovalStatement is the statement an approval record is signed as: its
// predicate is ap (not validated here, so that tests can sign bad records)
// and its only subject the approved manifest.
func ApprovalStatement(t testing.TB, ap evidence.Approval) sign.Statement {
	t.Helper()
	pred, err := json.Marshal(ap)
	if err != nil {
		t.Fatal(err)
	}
	return sign.Statement{
		Subjects:      []sign.Subject{{Name: ap.Product + "@" + ap.Version, Digest: ap.ManifestDigest}},
		PredicateType: evidence.PredicateTypeApproval, Predicate: pred,
	}
}

// SignApproval signs ap with key into a bundle, as evident approve does.
func SignApproval(t testing.TB, key *sign.PrivateKey, ap evidence.Approval) []byte {
	t.Helper()
	return SignBundle(t, ApprovalStatement(t, ap), sign.NewKeySigner(key))
}

// SignBundle signs st with signer and returns the bundle.
func SignBundle(t testing.TB, st sign.Statement, signer sign.Signer) []byte {
	t.Helper()
	payload, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	b, err := signer.Sign(context.Background(), payload)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return b
}
