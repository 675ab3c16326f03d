package archive_test

// Approvals beneath the API: what the audit trail and the blob store hold
// after accepted and refused records, trusted time from a timestamp
// authority, keyless approvers, a policy that allows keys without a
// passphrase, and concurrent submissions. The contract suite
// (apitest.Run, above) covers what every caller sees.

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/oidc"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/sign/signtest"
	"github.com/evident-dev/evident/internal/testutil"
)

const (
	maria  = "Dr. Maria Lindqvist"
	sven   = "Sven Olsen"
	roleRM = "release-manager"
	roleQA = "qa"
)

// sealedRelease is the example sealed once for these tests.
type sealedRelease struct {
	dir string
	key *sign.PrivateKey
	m   *evidence.Manifest
	md  digest.Digest
}

func (r sealedRelease) ref() evidence.ReleaseRef { return r.m.Ref() }

// seal seals the example with a new key under pol (nil: the default).
func seal(t *testing.T, pol *policy.Policy) sealedRelease {
	t.Helper()
	key, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	project := testutil.Project(t, testutil.Wearable)
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(project, config.DefaultFile)})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "release")
	st, err := runner.Collect(context.Background(), runner.Options{
		Config: cfg, Policy: pol, Out: dir, Env: ci.MapEnv(testutil.GitHubEnv()), Git: ci.NewGit(cfg.Dir),
		Now: testutil.Now, Version: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Discard()
	if err := st.Sign(context.Background(), sign.NewKeySigner(key)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(); err != nil {
		t.Fatal(err)
	}
	m := testutil.ReadManifest(t, dir)
	return sealedRelease{dir: dir, key: key, m: m, md: digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, runner.ManifestFile)))}
}

func newKey(t *testing.T) *sign.PrivateKey {
	t.Helper()
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// archiveWith returns an archive with trust (the release key is added) and
// rel pushed.
func archiveWith(t *testing.T, rel sealedRelease, trust sign.Trust, rootJSON []byte) *testutil.Archive {
	t.Helper()
	trust.Keys = append(trust.Keys, rel.key.Public())
	a := testutil.NewArchiveTrust(t, trust, rootJSON)
	testutil.Push(t, a.As(auth.RoleCI), rel.dir)
	return a
}

func auditEvents(t *testing.T, a *testutil.Archive) []catalog.AuditEvent {
	t.Helper()
	evs, err := a.Catalog.AuditEvents(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func wantKind(t *testing.T, err error, kind evidence.Kind, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one of kind %q", kind)
	}
	if got := evidence.KindOf(err); got != kind {
		t.Fatalf("error %q is of kind %q, want %q", err, got, kind)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func TestApprovals(t *testing.T) {
	rel := seal(t, nil)

	t.Run("audit trail and blob store", func(t *testing.T) { testAuditTrail(t, rel) })
	t.Run("trusted time", func(t *testing.T) { testTrustedTime(t, rel) })
	t.Run("keyless approvers", func(t *testing.T) { testKeylessApprovers(t, rel) })
	t.Run("concurrent submissions", func(t *testing.T) { testConcurrent(t, rel) })
}

// Every submission leaves an audit event: a refusal one naming its kind and
// reason, never "ok"; an acceptance one naming who signed what. A refused
// record is not in the blob store.
func testAuditTrail(t *testing.T, rel sealedRelease) {
	ctx := context.Background()
	a := archiveWith(t, rel, sign.Trust{}, nil)
	mk := newKey(t)
	a.RegisterApprover(t, maria, roleRM, mk.Public())
	approver := a.As(auth.RoleApprover)

	ap := testutil.NewApproval(rel.ref(), rel.md, evidence.DecisionApproved, maria, roleRM, "approved for release", mk.Public())
	bad := ap
	bad.Signer.Authentication = evidence.AuthKey
	refused := testutil.SignApproval(t, mk, bad)
	before := len(auditEvents(t, a))
	_, err := approver.SubmitApproval(ctx, refused)
	wantKind(t, err, evidence.KindForbidden, "no passphrase")
	evs := auditEvents(t, a)[before:]
	if len(evs) != 1 {
		t.Fatalf("%d audit events for a refusal, want 1: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Action != "approval.submit" || e.Outcome != string(evidence.KindForbidden) ||
		e.Target != digest.FromBytes(refused).String() || !strings.Contains(e.Detail, "no passphrase") || !strings.Contains(e.Actor, auth.RoleApprover) {
		t.Errorf("refusal event %+v", e)
	}
	if _, _, err := a.Blobs.Get(ctx, digest.FromBytes(refused)); err == nil {
		t.Error("the refused record is in the blob store")
	}

	good := testutil.SignApproval(t, mk, ap)
	res, err := approver.SubmitApproval(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	evs = auditEvents(t, a)[before+1:]
	if len(evs) != 1 {
		t.Fatalf("%d audit events for an acceptance, want 1: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Action != "approval.approved" || e.Outcome != "ok" || e.Target != rel.ref().String() ||
		!strings.Contains(e.Detail, maria) || !strings.Contains(e.Detail, `"approved for release"`) || !strings.Contains(e.Detail, "status sealed") {
		t.Errorf("acceptance event %+v", e)
	}
	if rc, n, err := a.Blobs.Get(ctx, res.Signature.Record); err != nil || n != int64(len(good)) {
		t.Errorf("the accepted record in the blob store: %d bytes, %v", n, err)
	} else {
		rc.Close()
	}
	recs, err := a.Catalog.Approvals(ctx, rel.m.Product.Name, rel.m.Product.Version)
	if err != nil || len(recs) != 1 || recs[0].BundleDigest != digest.FromBytes(good) || recs[0].Timestamped {
		t.Errorf("catalog records %+v, %v; want the one accepted, not timestamped", recs, err)
	}
	for _, e := range auditEvents(t, a) {
		if e.Outcome == "ok" && strings.HasPrefix(e.Action, "approval.") && e.Seq != evs[0].Seq {
			t.Errorf("an audit event claims success for something else: %+v", e)
		}
	}
}

// With a timestamp authority the archive trusts, the recorded time is the
// authority's, not the signer's clock, and the signature says so.
func testTrustedTime(t *testing.T, rel sealedRelease) {
	ctx := context.Background()
	tsa, other := signtest.NewTSA(t), signtest.NewTSA(t)
	tsaRoot, err := sign.TrustedRootFromTSAChain(tsa.ChainPEM())
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := tsaRoot.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	// The authority's clock is ten minutes behind the signer's.
	tsaTime := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	tsa.SetClock(func() time.Time { return tsaTime })
	other.SetClock(func() time.Time { return tsaTime })
	stamped := func(t *testing.T, k *sign.PrivateKey, tsaURL string, ap evidence.Approval) []byte {
		s, err := sign.NewKeySignerWithOptions(k, sign.KeySignerOptions{TSAURLs: []string{tsaURL}})
		if err != nil {
			t.Fatal(err)
		}
		return testutil.SignBundle(t, testutil.ApprovalStatement(t, ap), s)
	}

	tests := []struct {
		name     string
		trusted  bool // the archive trusts tsa
		tsaURL   string
		signedAt time.Time // the signer's clock
		kind     evidence.Kind
		contains string
		wantAt   time.Time
		wantTSA  bool
	}{
		{name: "timestamped by the trusted authority", trusted: true, tsaURL: tsa.URL(), signedAt: time.Now(), wantAt: tsaTime, wantTSA: true},
		{name: "the signer's clock in the future, timestamped", trusted: true, tsaURL: tsa.URL(), signedAt: time.Now().Add(24 * time.Hour), wantAt: tsaTime, wantTSA: true},
		{name: "timestamped by an authority the archive does not trust", trusted: true, tsaURL: other.URL(), signedAt: time.Now(),
			kind: evidence.KindForbidden, contains: "RFC 3161 timestamp does not verify"},
		{name: "an archive without timestamp authorities", trusted: false, tsaURL: tsa.URL(), signedAt: time.Now().Add(-time.Hour), wantAt: time.Now().Add(-time.Hour), wantTSA: false},
		{name: "the signer's clock in the future, not trusted", trusted: false, tsaURL: tsa.URL(), signedAt: time.Now().Add(24 * time.Hour),
			kind: evidence.KindInvalid, contains: "in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a *testutil.Archive
			if tt.trusted {
				a = archiveWith(t, rel, sign.Trust{TrustedRoot: tsaRoot}, rootJSON)
			} else {
				a = archiveWith(t, rel, sign.Trust{}, nil)
			}
			mk := newKey(t)
			a.RegisterApprover(t, maria, roleRM, mk.Public())
			ap := testutil.NewApproval(rel.ref(), rel.md, evidence.DecisionApproved, maria, roleRM, "approved for release", mk.Public())
			ap.SignedAt = tt.signedAt.UTC().Truncate(time.Second)
			res, err := a.As(auth.RoleApprover).SubmitApproval(ctx, stamped(t, mk, tt.tsaURL, ap))
			if tt.kind != "" {
				wantKind(t, err, tt.kind, tt.contains)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := res.Signature
			if got.Timestamped != tt.wantTSA || got.SignedAt.Sub(tt.wantAt.Truncate(time.Second)).Abs() > time.Second {
				t.Errorf("signed at %s (timestamped %v), want %s (timestamped %v)", got.SignedAt, got.Timestamped, tt.wantAt, tt.wantTSA)
			}
			st, err := a.As(auth.RoleAuditor).Status(ctx, rel.ref())
			if err != nil || len(st.Signatures) != 1 || !st.Signatures[0].SignedAt.Equal(got.SignedAt) || st.Signatures[0].Timestamped != got.Timestamped {
				t.Errorf("Status = %+v, %v; want the signature as accepted", st, err)
			}
		})
	}
}

// A keyless approver is registered by OIDC issuer and subject pattern; the
// archive verifies the certificate against its trusted root and binds the
// subject to the registry.
func testKeylessApprovers(t *testing.T, rel sealedRelease) {
	ctx := context.Background()
	inst := testutil.NewSigstore(t, 0)
	a := archiveWith(t, rel, sign.Trust{TrustedRoot: inst.TrustedRoot}, inst.TrustedRootJSON(t))
	a.RegisterKeylessApprover(t, maria, roleRM, signtest.GitLabIssuer, `maria\.lindqvist@acme-medical\.example`)
	// A pattern that would match a prefix only, were it not anchored.
	a.RegisterKeylessApprover(t, sven, roleQA, signtest.GitLabIssuer, `sven`)

	keyless := func(t *testing.T, email string, ap evidence.Approval) []byte {
		tok := inst.GitLab.MustMint(t, map[string]any{"aud": "sigstore", "sub": email, "email": email, "email_verified": true, "exp": time.Now().Add(5 * time.Minute).Unix()})
		s, err := sign.NewKeylessSigner(sign.KeylessOptions{
			Token: oidc.NewStatic(tok).Token, FulcioURL: inst.Fulcio.URL(), TSAURLs: []string{inst.TSA.URL()}, TrustedRoot: inst.TrustedRoot,
		})
		if err != nil {
			t.Fatal(err)
		}
		return testutil.SignBundle(t, testutil.ApprovalStatement(t, ap), s)
	}
	record := func(name, role string) evidence.Approval {
		ap := testutil.NewApproval(rel.ref(), rel.md, evidence.DecisionApproved, name, role, "approved for release", newKey(t).Public())
		ap.Signer.Identity, ap.Signer.Authentication = signtest.GitLabIssuer, evidence.AuthOIDC
		return ap
	}

	t.Run("a subject the registry does not match in full", func(t *testing.T) {
		_, err := a.As(auth.RoleApprover).SubmitApproval(ctx, keyless(t, "sven.olsen@acme-medical.example", record(sven, roleQA)))
		wantKind(t, err, evidence.KindForbidden, "not signed by a registered approver")
	})
	t.Run("a registered subject in another person's name", func(t *testing.T) {
		_, err := a.As(auth.RoleApprover).SubmitApproval(ctx, keyless(t, "maria.lindqvist@acme-medical.example", record(sven, roleRM)))
		wantKind(t, err, evidence.KindForbidden, `belongs to "Dr. Maria Lindqvist"`)
	})
	t.Run("the registered subject", func(t *testing.T) {
		res, err := a.As(auth.RoleApprover).SubmitApproval(ctx, keyless(t, "maria.lindqvist@acme-medical.example", record(maria, roleRM)))
		if err != nil {
			t.Fatal(err)
		}
		s := res.Signature
		if s.Identity != signtest.GitLabIssuer+"|maria.lindqvist@acme-medical.example" || s.Authentication != evidence.AuthOIDC || !s.Timestamped || s.Name != maria {
			t.Errorf("signature %+v; want Maria's certificate identity, oidc, timestamped", s)
		}
	})
}

// Concurrent submissions of one person's approval record one of them.
func testConcurrent(t *testing.T, rel sealedRelease) {
	ctx := context.Background()
	a := archiveWith(t, rel, sign.Trust{}, nil)
	mk := newKey(t)
	a.RegisterApprover(t, maria, roleRM, mk.Public())
	const n = 4
	bundles := make([][]byte, n)
	for i := range bundles {
		ap := testutil.NewApproval(rel.ref(), rel.md, evidence.DecisionApproved, maria, roleRM, "approved for release", mk.Public())
		ap.SignedAt = ap.SignedAt.Add(-time.Duration(i) * time.Second)
		bundles[i] = testutil.SignApproval(t, mk, ap)
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = a.As(auth.RoleApprover).SubmitApproval(ctx, bundles[i]) })
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case evidence.KindOf(err) != evidence.KindConflict:
			t.Errorf("submission %d: %v, want a conflict", i, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent approvals by one person accepted, want 1", ok, n)
	}
	st, err := a.As(auth.RoleAuditor).Status(ctx, rel.ref())
	if err != nil || len(st.Signatures) != 1 {
		t.Errorf("Status = %+v, %v; want one signature", st, err)
	}
	info, err := a.As(auth.RoleAuditor).LogInfo(ctx)
	if err != nil || info.Size != 2 {
		t.Errorf("log size %v, %v; want 2", info, err)
	}
}

// A policy that allows keys without a passphrase lets an approver sign with
// one; the record says so.
func TestApprovalUnencryptedKeyAllowed(t *testing.T) {
	pol, err := policy.Load(strings.NewReader("name: acme-single-factor\nallowUnencryptedApproverKeys: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	rel := seal(t, pol)
	a := archiveWith(t, rel, sign.Trust{}, nil)
	mk := newKey(t)
	a.RegisterApprover(t, maria, roleRM, mk.Public())
	ctx := context.Background()
	st, err := a.As(auth.RoleAuditor).Status(ctx, rel.ref())
	if err != nil {
		t.Fatal(err)
	}
	if !st.AllowUnencryptedKeys {
		t.Error("Status: AllowUnencryptedKeys is false under a policy that allows them")
	}
	ap := testutil.NewApproval(rel.ref(), rel.md, evidence.DecisionApproved, maria, roleRM, "approved for release", mk.Public())
	ap.Signer.Authentication = evidence.AuthKey
	res, err := a.As(auth.RoleApprover).SubmitApproval(ctx, testutil.SignApproval(t, mk, ap))
	if err != nil {
		t.Fatalf("an unencrypted key under a policy that allows it: %v", err)
	}
	if res.Signature.Authentication != evidence.AuthKey || res.Status != api.StatusSealed {
		t.Errorf("signature %+v, status %s", res.Signature, res.Status)
	}
}
