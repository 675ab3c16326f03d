// Package apitest is the contract suite of api.Archive. Run runs it against
// any implementation: the store-backed archive in-process (package archive's
// tests) and the same archive through HTTP (package httpapi's tests, via
// package client). The same assertions hold both ways: the transport must
// not change what a caller sees, error kinds included.
//
// The suite pushes the example product (testdata/wearable), sealed once per
// Run, and variants of it re-signed with the trusted key (another createdAt,
// another version, a recorded policy result that lies) or with a key the
// archive does not trust. It must be called from a package directory two
// levels below the repository root (see testutil.Wearable).
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/rederive"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// Env is one archive under test.
type Env struct {
	// As returns the archive as seen by a principal of role (auth.RoleCI,
	// ...); role "" is a caller without credentials. Every role sees the
	// same archive.
	As func(role string) api.Archive
	// RegisterApprover registers name in role, identified by key, in the
	// archive's approver registry (what evidentd approver add does; the
	// API has no call for it). The approval tests need it.
	RegisterApprover func(t *testing.T, name, role string, key *sign.PublicKey)
	// SubmitStatus, when set, submits an approval bundle over HTTP as a
	// principal of role ("" for none) and returns the response status, so
	// that the suite checks the status of every refusal. nil in-process.
	SubmitStatus func(t *testing.T, role string, bundle []byte) int
}

// Setup returns a new, empty archive that accepts releases signed by
// trusted (and by no other key). The archive must live until t ends.
type Setup func(t *testing.T, trusted *sign.PublicKey) Env

// Run runs the contract suite. Tests that change what the archive holds get
// a new archive each; tests that only look share one holding two releases
// of the example (2.4.0, then 2.5.0), which keeps the suite fast: the
// durable stores pay for every push with fsyncs.
func Run(t *testing.T, setup Setup) {
	fx := newFixture(t, setup)
	type test struct {
		name string
		fn   func(t *testing.T, fx *fixture, env Env)
	}
	writers := []test{
		{"MissingBlobs", testMissingBlobs},
		{"BlobRoundTrip", testBlobRoundTrip},
		{"BlobDigestMismatch", testBlobDigestMismatch},
		{"Push", testPush},
		{"PushAgain", testPushAgain},
		{"PushConcurrently", testPushConcurrently},
		{"PushConflict", testPushConflict},
		{"PushRejected", testPushRejected},
		{"EmptyArchive", testEmptyArchive},
		{"Approvals", testApprovals},
		{"ApprovalRefused", testApprovalRefused},
		{"ApprovalSequence", testApprovalSequence},
		{"ApprovalNoApprovers", testApprovalNoApprovers},
	}
	readers := []test{
		{"ReleaseHistoryProducts", testReleaseHistoryProducts},
		{"FindArtifact", testFindArtifact},
		{"FindComponent", testFindComponent},
		{"FindSOUP", testFindSOUP},
		{"Export", testExport},
		{"Log", testLog},
		{"NotFound", testNotFound},
		{"InvalidInput", testInvalidInput},
		{"Authorization", testAuthorization},
	}
	for _, tt := range writers {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, fx, fx.env(t))
		})
	}
	shared := fx.env(t)
	fx.sharedStart = time.Now().Add(-time.Second)
	push(t, shared, fx.base)
	push(t, shared, fx.next)
	fx.sharedEnd = time.Now().Add(time.Second)
	for _, tt := range readers {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, fx, shared)
		})
	}
}

// release is a sealed release directory.
type release struct {
	dir string
	m   *evidence.Manifest
	req api.PushRequest // digests of its manifest.json and bundle
}

func (r release) ref() evidence.ReleaseRef { return r.m.Ref() }

// fixture is what every test pushes, and how it gets an archive.
type fixture struct {
	setup Setup
	key   *sign.PrivateKey // trusted by every archive the suite sets up
	// base is the example sealed with key. conflict is base with another
	// createdAt and next is base as version 2.5.0 a day later, both
	// re-signed with key. lied records a policy result other than what the
	// archived policy gives, re-signed with key; untrusted is base signed
	// by a key the archive does not trust.
	base, conflict, next, lied, untrusted release
	// sharedStart and sharedEnd bracket the pushes of the shared archive.
	sharedStart, sharedEnd time.Time
}

// env returns a new, empty archive trusting fx.key.
func (fx *fixture) env(t *testing.T) Env { return fx.setup(t, fx.key.Public()) }

func newFixture(t *testing.T, setup Setup) *fixture {
	t.Helper()
	key := newKey(t)
	other := newKey(t)
	dir := filepath.Join(t.TempDir(), "release")
	testutil.Seal(t, testutil.Project(t, testutil.Wearable), dir, key, testutil.GitHubEnv())
	fx := &fixture{setup: setup, key: key, base: load(t, dir)}
	fx.conflict = variant(t, fx.base, key, func(m *evidence.Manifest) { m.CreatedAt = m.CreatedAt.Add(time.Hour) })
	fx.next = variant(t, fx.base, key, func(m *evidence.Manifest) {
		m.Product.Version = "2.5.0"
		m.CreatedAt = m.CreatedAt.Add(24 * time.Hour)
	})
	fx.lied = variant(t, fx.base, key, func(m *evidence.Manifest) { m.Policy.Rules[0].Message = "all fine" })
	fx.untrusted = variant(t, fx.base, other, func(*evidence.Manifest) {})
	return fx
}

func newKey(t *testing.T) *sign.PrivateKey {
	t.Helper()
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func load(t *testing.T, dir string) release {
	t.Helper()
	mb := testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile))
	bb := testutil.ReadFile(t, filepath.Join(dir, verify.BundleFile))
	return release{dir: dir, m: testutil.ReadManifest(t, dir), req: api.PushRequest{Manifest: digest.FromBytes(mb), Bundle: digest.FromBytes(bb)}}
}

// variant copies r, edits its manifest and signs it with key.
func variant(t *testing.T, r release, key *sign.PrivateKey, edit func(*evidence.Manifest)) release {
	t.Helper()
	dir := testutil.CopyRelease(t, r.dir)
	m := testutil.ReadManifest(t, dir)
	edit(m)
	testutil.Resign(t, dir, m, key)
	return load(t, dir)
}

// push uploads and pushes r as CI; it must succeed.
func push(t *testing.T, env Env, r release) *api.PushResult {
	t.Helper()
	_, res, err := client.PushDir(context.Background(), env.As(auth.RoleCI), r.dir)
	if err != nil {
		t.Fatalf("push %s: %v", r.ref(), err)
	}
	return res
}

// files maps the blobs of r to their files.
func (r release) files() map[digest.Digest]string {
	files := map[digest.Digest]string{
		r.req.Manifest: filepath.Join(r.dir, verify.ManifestFile),
		r.req.Bundle:   filepath.Join(r.dir, verify.BundleFile),
	}
	for _, d := range r.m.EvidenceDigests() {
		files[d] = filepath.Join(r.dir, filepath.FromSlash(verify.EvidencePath(d)))
	}
	return files
}

// putAll uploads the manifest, bundle and evidence of r through a, except
// skip.
func putAll(t *testing.T, a api.Archive, r release, skip digest.Digest) {
	t.Helper()
	for d := range r.files() {
		if d != skip {
			putOnly(t, a, r, d)
		}
	}
}

// putOnly uploads the blob d of r through a.
func putOnly(t *testing.T, a api.Archive, r release, d digest.Digest) {
	t.Helper()
	path, ok := r.files()[d]
	if !ok {
		t.Fatalf("%s is not a blob of %s", d, r.ref())
	}
	b := testutil.ReadFile(t, path)
	if err := a.PutBlob(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatalf("put %s: %v", path, err)
	}
}

// wantKind fails the test unless err is of kind and its message contains
// every one of contains.
func wantKind(t *testing.T, err error, kind evidence.Kind, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one of kind %q", kind)
	}
	t.Logf("%s: %v", evidence.KindOf(err), err)
	if got := evidence.KindOf(err); got != kind {
		t.Fatalf("error %q is of kind %q, want %q", err, got, kind)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func randomBlob(t *testing.T, n int) ([]byte, digest.Digest) {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b, digest.FromBytes(b)
}

func readBlob(t *testing.T, a api.Archive, d digest.Digest) ([]byte, int64) {
	t.Helper()
	rc, n, err := a.GetBlob(context.Background(), d)
	if err != nil {
		t.Fatalf("get %s: %v", d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", d, err)
	}
	return b, n
}

// cmpDigest compares digests (their fields are unexported).
var cmpDigest = cmp.Comparer(func(a, b digest.Digest) bool { return a == b })

// equateEmpty treats nil and empty slices alike: JSON cannot tell them apart.
var equateEmpty = cmpopts.EquateEmpty()

func testMissingBlobs(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	ci := env.As(auth.RoleCI)
	a, da := randomBlob(t, 100)
	_, db := randomBlob(t, 100)
	tests := []struct {
		name     string
		put      bool
		ask      []digest.Digest
		want     []digest.Digest
		wantKind evidence.Kind
	}{
		{name: "none asked", ask: nil, want: nil},
		{name: "nothing stored", ask: []digest.Digest{da, db}, want: []digest.Digest{da, db}},
		{name: "one stored", put: true, ask: []digest.Digest{da, db}, want: []digest.Digest{db}},
		{name: "an empty digest", ask: []digest.Digest{da, {}}, wantKind: evidence.KindInvalid},
	}
	for _, tt := range tests {
		if tt.put {
			if err := ci.PutBlob(ctx, da, int64(len(a)), bytes.NewReader(a)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ci.MissingBlobs(ctx, tt.ask)
		if tt.wantKind != "" {
			wantKind(t, err, tt.wantKind)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, got, equateEmpty, cmpDigest); diff != "" {
			t.Errorf("%s: missing (-want +got):\n%s", tt.name, diff)
		}
	}
}

func testBlobRoundTrip(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	ci, auditor := env.As(auth.RoleCI), env.As(auth.RoleAuditor)
	large, _ := randomBlob(t, 3<<20)
	tests := []struct {
		name    string
		content []byte
		size    func(n int) int64 // the size the caller announces
	}{
		{"small", []byte("hello evidence\n"), func(n int) int64 { return int64(n) }},
		{"empty", []byte{}, func(n int) int64 { return int64(n) }},
		{"several MiB", large, func(n int) int64 { return int64(n) }},
		{"size unknown", []byte("streamed without a length\n"), func(int) int64 { return -1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := digest.FromBytes(tt.content)
			for i := range 2 { // the second put is idempotent
				if err := ci.PutBlob(ctx, d, tt.size(len(tt.content)), bytes.NewReader(tt.content)); err != nil {
					t.Fatalf("put %d: %v", i+1, err)
				}
				got, n := readBlob(t, auditor, d)
				if !bytes.Equal(got, tt.content) {
					t.Fatalf("after put %d: got %d bytes back, not the %d put", i+1, len(got), len(tt.content))
				}
				if n != int64(len(tt.content)) {
					t.Errorf("after put %d: size %d, want %d", i+1, n, len(tt.content))
				}
			}
			missing, err := ci.MissingBlobs(ctx, []digest.Digest{d})
			if err != nil || len(missing) != 0 {
				t.Errorf("MissingBlobs after put = %v, %v; want none", missing, err)
			}
		})
	}
}

func testBlobDigestMismatch(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	ci, auditor := env.As(auth.RoleCI), env.As(auth.RoleAuditor)
	right := []byte("the content the digest names\n")
	d := digest.FromBytes(right)
	tests := []struct {
		name    string
		content []byte
		size    int64
	}{
		{"other content", []byte("other content of another length\n"), -1},
		{"other content, same length", []byte("THE CONTENT THE DIGEST NAMES\n"), int64(len(right))},
		{"a prefix", right[:10], 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size < 0 {
				size = int64(len(tt.content))
			}
			err := ci.PutBlob(ctx, d, size, bytes.NewReader(tt.content))
			wantKind(t, err, evidence.KindInvalid, d.String())
			missing, err := ci.MissingBlobs(ctx, []digest.Digest{d})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]digest.Digest{d}, missing, cmpDigest); diff != "" {
				t.Errorf("the blob was stored (missing -want +got):\n%s", diff)
			}
			_, _, err = auditor.GetBlob(ctx, d)
			wantKind(t, err, evidence.KindNotFound)
		})
	}
	// Nothing was poisoned: the right content is accepted afterwards.
	if err := ci.PutBlob(ctx, d, int64(len(right)), bytes.NewReader(right)); err != nil {
		t.Fatalf("put the right content: %v", err)
	}
	if got, _ := readBlob(t, auditor, d); !bytes.Equal(got, right) {
		t.Errorf("got %q back", got)
	}
}

// wantEntry checks that p verifies with vkey and logs release r.
func wantEntry(t *testing.T, p *tlog.Proof, vkey string, r release) tlog.Checkpoint {
	t.Helper()
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("log key: %v", err)
	}
	e, cp, err := p.Verify(v)
	if err != nil {
		t.Fatalf("the log proof does not verify: %v", err)
	}
	want := tlog.Entry{Type: tlog.EntryRelease, Product: r.m.Product.Name, Version: r.m.Product.Version, Manifest: r.req.Manifest, Record: r.req.Bundle}
	if diff := cmp.Diff(want, e, cmpDigest); diff != "" {
		t.Errorf("log entry (-want +got):\n%s", diff)
	}
	return cp
}

func logInfo(t *testing.T, env Env) *api.LogInfo {
	t.Helper()
	info, err := env.As(auth.RoleAuditor).LogInfo(context.Background())
	if err != nil {
		t.Fatalf("LogInfo: %v", err)
	}
	return info
}

func testPush(t *testing.T, fx *fixture, env Env) {
	u, res, err := client.PushDir(context.Background(), env.As(auth.RoleCI), fx.base.dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(fx.base.m.EvidenceDigests()) + 2; u.Uploaded != want {
		t.Errorf("uploaded %d blobs, want %d (evidence, manifest, bundle)", u.Uploaded, want)
	}
	want := api.PushResult{
		Release: "wearable-monitor@2.4.0", ManifestDigest: fx.base.req.Manifest, Created: true,
		Signer: fx.key.Public().ID(), LogKey: logInfo(t, env).VerifierKey,
	}
	got := *res
	got.Log = nil
	if diff := cmp.Diff(want, got, cmpDigest); diff != "" {
		t.Errorf("push result (-want +got):\n%s", diff)
	}
	if res.Log == nil {
		t.Fatal("no log proof")
	}
	cp := wantEntry(t, res.Log, res.LogKey, fx.base)
	if res.Log.Index != 0 || cp.Size != 1 {
		t.Errorf("log entry %d of %d, want 0 of 1", res.Log.Index, cp.Size)
	}
	if cp.Origin != logInfo(t, env).Origin {
		t.Errorf("proof checkpoint origin %q, LogInfo says %q", cp.Origin, logInfo(t, env).Origin)
	}
}

func testPushAgain(t *testing.T, fx *fixture, env Env) {
	first := push(t, env, fx.base)
	u, again, err := client.PushDir(context.Background(), env.As(auth.RoleCI), fx.base.dir)
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	if u.Uploaded != 0 {
		t.Errorf("second push uploaded %d blobs, want none (the archive has them)", u.Uploaded)
	}
	if again.Created {
		t.Error("second push: Created is true, want false")
	}
	if again.Log == nil || again.Log.Index != first.Log.Index {
		t.Fatalf("second push: log proof %+v, want index %d", again.Log, first.Log.Index)
	}
	wantEntry(t, again.Log, again.LogKey, fx.base)
	if info := logInfo(t, env); info.Size != 1 {
		t.Errorf("log size %d after an identical re-push, want 1", info.Size)
	}
	// The bare PushRelease, without uploading, is as idempotent.
	res, err := env.As(auth.RoleAdmin).PushRelease(context.Background(), fx.base.req)
	if err != nil || res.Created || res.Log.Index != first.Log.Index {
		t.Errorf("third push = %+v, %v; want not created, index %d", res, err, first.Log.Index)
	}
}

// Concurrent pushes of one release create it once.
func testPushConcurrently(t *testing.T, fx *fixture, env Env) {
	ci := env.As(auth.RoleCI)
	putAll(t, ci, fx.base, digest.Digest{})
	const n = 4
	var wg sync.WaitGroup
	results := make([]*api.PushResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { results[i], errs[i] = ci.PushRelease(context.Background(), fx.base.req) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("push %d: %v", i, errs[i])
		}
		if results[i].Created {
			created++
		}
		if results[i].Log.Index != 0 {
			t.Errorf("push %d: log index %d, want 0", i, results[i].Log.Index)
		}
	}
	if created != 1 {
		t.Errorf("%d concurrent pushes reported Created, want exactly 1", created)
	}
	if info := logInfo(t, env); info.Size != 1 {
		t.Errorf("log size %d, want 1", info.Size)
	}
}

func testPushConflict(t *testing.T, fx *fixture, env Env) {
	push(t, env, fx.base)
	_, _, err := client.PushDir(context.Background(), env.As(auth.RoleCI), fx.conflict.dir)
	wantKind(t, err, evidence.KindConflict, "wearable-monitor@2.4.0", fx.base.req.Manifest.String())
	rel, err := env.As(auth.RoleAuditor).Release(context.Background(), fx.base.ref())
	if err != nil {
		t.Fatal(err)
	}
	if rel.ManifestDigest != fx.base.req.Manifest {
		t.Errorf("after a conflicting push the release has manifest %s, want the first %s", rel.ManifestDigest, fx.base.req.Manifest)
	}
	if info := logInfo(t, env); info.Size != 1 {
		t.Errorf("log size %d after a refused push, want 1", info.Size)
	}
}

// wantNothingArchived checks that no release is visible and the log is empty.
func wantNothingArchived(t *testing.T, fx *fixture, env Env) {
	t.Helper()
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	_, err := auditor.Release(ctx, fx.base.ref())
	wantKind(t, err, evidence.KindNotFound)
	_, err = auditor.History(ctx, fx.base.m.Product.Name)
	wantKind(t, err, evidence.KindNotFound)
	if ps, err := auditor.Products(ctx); err != nil || len(ps) != 0 {
		t.Errorf("Products = %v, %v; want none", ps, err)
	}
	art := fx.base.m.Components[0].Artifacts[0].Digest
	if hits, err := auditor.FindArtifact(ctx, art); err != nil || len(hits) != 0 {
		t.Errorf("FindArtifact = %v, %v; want none", hits, err)
	}
	if info := logInfo(t, env); info.Size != 0 {
		t.Errorf("log size %d, want 0", info.Size)
	}
}

// testPushRejected pushes releases that must be refused, one after the
// other into the same archive, and checks after each that nothing became
// visible. The order matters: each case adds blobs, so that the ones
// missing a blob come first, the one missing the manifest before all.
func testPushRejected(t *testing.T, fx *fixture, env Env) {
	ci := env.As(auth.RoleCI)
	unit := fx.base.m.Components[0].Evidence[0]
	tests := []struct {
		name     string
		upload   func(t *testing.T) api.PushRequest
		kind     evidence.Kind
		contains []string
	}{
		{
			name:     "nothing uploaded",
			upload:   func(t *testing.T) api.PushRequest { return fx.base.req },
			kind:     evidence.KindInvalid,
			contains: []string{"manifest", fx.base.req.Manifest.String()},
		},
		{
			name: "the bundle not uploaded",
			upload: func(t *testing.T) api.PushRequest {
				putOnly(t, ci, fx.base, fx.base.req.Manifest)
				return fx.base.req
			},
			kind:     evidence.KindInvalid,
			contains: []string{"bundle", fx.base.req.Bundle.String()},
		},
		{
			name: "an evidence blob not uploaded",
			upload: func(t *testing.T) api.PushRequest {
				putAll(t, ci, fx.base, unit.Digest)
				return fx.base.req
			},
			kind:     evidence.KindInvalid,
			contains: []string{unit.Digest.String(), unit.Name},
		},
		{
			name:     "signed by an untrusted key",
			upload:   func(t *testing.T) api.PushRequest { return testutil.Upload(t, ci, fx.untrusted.dir) },
			kind:     evidence.KindVerification,
			contains: []string{"unknown key"},
		},
		{
			name:     "recorded policy result edited and re-signed by the trusted key",
			upload:   func(t *testing.T) api.PushRequest { return testutil.Upload(t, ci, fx.lied.dir) },
			kind:     evidence.KindVerification,
			contains: []string{"re-evaluating"},
		},
		{
			name: "manifest and bundle swapped",
			upload: func(t *testing.T) api.PushRequest {
				putAll(t, ci, fx.base, digest.Digest{})
				return api.PushRequest{Manifest: fx.base.req.Bundle, Bundle: fx.base.req.Manifest}
			},
			kind: evidence.KindInvalid,
		},
		{
			name:   "no digests",
			upload: func(t *testing.T) api.PushRequest { return api.PushRequest{} },
			kind:   evidence.KindInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ci.PushRelease(context.Background(), tt.upload(t))
			wantKind(t, err, tt.kind, tt.contains...)
			wantNothingArchived(t, fx, env)
		})
	}
}

// summary is what the archive should say about r pushed by the suite.
func summary(fx *fixture, r release, index uint64) api.ReleaseSummary {
	return api.ReleaseSummary{
		Product: r.m.Product.Name, Version: r.m.Product.Version,
		ManifestDigest: r.req.Manifest, BundleDigest: r.req.Bundle,
		SafetyClass: string(r.m.SafetyClass), CreatedAt: r.m.CreatedAt,
		Signer: fx.key.Public().ID(), LogIndex: index, Status: api.StatusSealed,
	}
}

var cmpSummary = cmp.Options{
	cmpopts.IgnoreFields(api.ReleaseSummary{}, "AcceptedAt"),
	cmpDigest,
}

func testReleaseHistoryProducts(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	start, end := fx.sharedStart, fx.sharedEnd

	var summaries []api.ReleaseSummary
	for i, r := range []release{fx.base, fx.next} {
		rel, err := auditor.Release(ctx, r.ref())
		if err != nil {
			t.Fatalf("Release %s: %v", r.ref(), err)
		}
		if diff := cmp.Diff(summary(fx, r, uint64(i)), rel.ReleaseSummary, cmpSummary); diff != "" {
			t.Errorf("Release %s (-want +got):\n%s", r.ref(), diff)
		}
		if at := rel.AcceptedAt; at.Before(start) || at.After(end) {
			t.Errorf("Release %s: accepted at %s, not during the push (%s to %s)", r.ref(), at, start, end)
		}
		if rel.Manifest == nil || !evidence.Equal(rel.Manifest, r.m) {
			t.Errorf("Release %s: the manifest is not the pushed one", r.ref())
		}
		summaries = append(summaries, rel.ReleaseSummary)
	}

	hist, err := auditor.History(ctx, "wearable-monitor")
	if err != nil {
		t.Fatal(err)
	}
	// Newest first, each as Release describes it.
	if diff := cmp.Diff([]api.ReleaseSummary{summaries[1], summaries[0]}, hist, cmpDigest); diff != "" {
		t.Errorf("History (-want +got):\n%s", diff)
	}

	ps, err := auditor.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Product{{Name: "wearable-monitor", Releases: 2, LatestVersion: "2.5.0", LatestAt: fx.next.m.CreatedAt}}
	if diff := cmp.Diff(want, ps); diff != "" {
		t.Errorf("Products (-want +got):\n%s", diff)
	}
}

func sortHits[T any](less func(a, b T) int) cmp.Option {
	return cmpopts.SortSlices(func(a, b T) bool { return less(a, b) < 0 })
}

func testFindArtifact(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	byDigest := sortHits(func(a, b api.ArtifactHit) int {
		return strings.Compare(a.Version+a.Component+a.Name, b.Version+b.Component+b.Name)
	})
	// Every artifact of the example, looked up by its digest, is found in
	// both releases with its name and size.
	for _, c := range fx.base.m.Components {
		for _, art := range c.Artifacts {
			var want []api.ArtifactHit
			for _, r := range []release{fx.base, fx.next} {
				for _, rc := range r.m.Components {
					for _, ra := range rc.Artifacts {
						if ra.Digest == art.Digest {
							want = append(want, api.ArtifactHit{Product: r.m.Product.Name, Version: r.m.Product.Version,
								Component: rc.Name, ComponentVersion: rc.Version, Name: ra.Name, Size: ra.Size})
						}
					}
				}
			}
			got, err := auditor.FindArtifact(ctx, art.Digest)
			if err != nil {
				t.Fatalf("FindArtifact %s: %v", art.Name, err)
			}
			if diff := cmp.Diff(want, got, byDigest); diff != "" {
				t.Errorf("FindArtifact %s (-want +got):\n%s", art.Name, diff)
			}
		}
	}
	// Evidence is not an artifact; unknown content is nowhere.
	_, unknown := randomBlob(t, 32)
	for _, d := range []digest.Digest{unknown, fx.base.m.Components[0].Evidence[0].Digest} {
		got, err := auditor.FindArtifact(ctx, d)
		if err != nil || len(got) != 0 {
			t.Errorf("FindArtifact %s = %v, %v; want no hits", d, got, err)
		}
	}
}

func testFindComponent(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	hit := func(version string) api.ComponentHit {
		return api.ComponentHit{Product: "wearable-monitor", Version: version, Component: "wm-firmware",
			ComponentVersion: "3.1.2", Kind: "firmware", SafetyClass: "C"}
	}
	tests := []struct {
		name, component, version string
		want                     []api.ComponentHit
	}{
		{"in both releases", "wm-firmware", "3.1.2", []api.ComponentHit{hit("2.4.0"), hit("2.5.0")}},
		{"another version", "wm-firmware", "3.1.3", nil},
		{"unknown component", "wm-bootloader", "3.1.2", nil},
		{"names are exact", "wm-Firmware", "3.1.2", nil},
	}
	byVersion := sortHits(func(a, b api.ComponentHit) int { return strings.Compare(a.Version, b.Version) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auditor.FindComponent(ctx, tt.component, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, equateEmpty, byVersion); diff != "" {
				t.Errorf("FindComponent (-want +got):\n%s", diff)
			}
		})
	}
}

func testFindSOUP(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	fwZlib := api.SOUPHit{Product: "wearable-monitor", Version: "2.4.0", Component: "wm-firmware", ComponentVersion: "3.1.2",
		Package: "zlib", PackageVersion: "1.3.1", PURL: "pkg:github/madler/zlib@v1.3.1"}
	appZlib := api.SOUPHit{Product: "wearable-monitor", Version: "2.4.0", Component: "wm-app", ComponentVersion: "5.0.1",
		Package: "zlib", PackageVersion: "1.2.13", PURL: "pkg:github/madler/zlib@v1.2.13"}
	coreKtx := api.SOUPHit{Product: "wearable-monitor", Version: "2.4.0", Component: "wm-app", ComponentVersion: "5.0.1",
		Package: "androidx.core/core-ktx", PackageVersion: "1.13.1", PURL: "pkg:maven/androidx.core/core-ktx@1.13.1?type=aar"}
	reactQuery := api.SOUPHit{Product: "wearable-monitor", Version: "2.4.0", Component: "wm-dashboard", ComponentVersion: "2.7.0",
		Package: "@tanstack/react-query", PackageVersion: "5.59.0", PURL: "pkg:npm/%40tanstack/react-query@5.59.0"}
	// Both releases of the shared archive ship the same SOUP.
	inBoth := func(hits ...api.SOUPHit) []api.SOUPHit {
		var out []api.SOUPHit
		for _, v := range []string{"2.4.0", "2.5.0"} {
			for _, h := range hits {
				h.Version = v
				out = append(out, h)
			}
		}
		return out
	}
	tests := []struct {
		name, purl string
		want       []api.SOUPHit
	}{
		{"without version: every version", "pkg:github/madler/zlib", inBoth(fwZlib, appZlib)},
		{"with the purl's version", "pkg:github/madler/zlib@v1.3.1", inBoth(fwZlib)},
		{"with the SBOM's version", "pkg:github/madler/zlib@1.2.13", inBoth(appZlib)},
		{"another version", "pkg:github/madler/zlib@v1.3.2", nil},
		{"with qualifiers as stated", "pkg:maven/androidx.core/core-ktx@1.13.1?type=aar", inBoth(coreKtx)},
		{"qualifiers are ignored", "pkg:maven/androidx.core/core-ktx@1.13.1?type=jar&classifier=sources", inBoth(coreKtx)},
		{"without qualifiers", "pkg:maven/androidx.core/core-ktx@1.13.1", inBoth(coreKtx)},
		{"a subpath is ignored", "pkg:maven/androidx.core/core-ktx@1.13.1#some/path", inBoth(coreKtx)},
		{"an encoded namespace", "pkg:npm/%40tanstack/react-query@5.59.0", inBoth(reactQuery)},
		{"an unknown package", "pkg:npm/left-pad", nil},
		{"another type", "pkg:npm/zlib", nil},
	}
	byComponent := sortHits(func(a, b api.SOUPHit) int {
		return strings.Compare(a.Version+a.Component+a.PURL, b.Version+b.Component+b.PURL)
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := auditor.FindSOUP(ctx, tt.purl)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, equateEmpty, byComponent); diff != "" {
				t.Errorf("FindSOUP %s (-want +got):\n%s", tt.purl, diff)
			}
		})
	}
}

func testExport(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	var buf bytes.Buffer
	if err := auditor.Export(ctx, fx.base.ref(), &buf); err != nil {
		t.Fatal(err)
	}
	p, err := pack.Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatalf("the exported pack does not open: %v", err)
	}
	rep, err := verify.Pack(ctx, p, verify.PackOptions{
		Options: verify.Options{Trust: sign.Trust{Keys: []*sign.PublicKey{fx.key.Public()}}, Derive: rederive.Check},
		LogKey:  logInfo(t, env).VerifierKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Err() != nil {
		t.Fatalf("the exported pack does not verify: %v", rep.Err())
	}
	if rep.Release != "wearable-monitor@2.4.0" || rep.ManifestDigest != fx.base.req.Manifest.String() {
		t.Errorf("the pack holds %s %s", rep.Release, rep.ManifestDigest)
	}

	// A pack verified with another archive's log key does not verify.
	_, otherKey, err := tlog.GenerateKey(testutil.LogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = verify.Pack(ctx, p, verify.PackOptions{
		Options: verify.Options{Trust: sign.Trust{Keys: []*sign.PublicKey{fx.key.Public()}}, Derive: rederive.Check},
		LogKey:  otherKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK {
		t.Error("the pack verifies with a log key that is not the archive's")
	}
}

// openCheckpoint opens info's checkpoint with info's key and checks it
// says what info says.
func openCheckpoint(t *testing.T, info *api.LogInfo) tlog.Checkpoint {
	t.Helper()
	v, err := tlog.NewVerifier(info.VerifierKey)
	if err != nil {
		t.Fatalf("verifier key: %v", err)
	}
	cp, err := tlog.OpenCheckpoint([]byte(info.Checkpoint), v)
	if err != nil {
		t.Fatalf("the checkpoint does not open with its key: %v", err)
	}
	if cp.Size != info.Size || cp.Origin != info.Origin || v.Name() != info.Origin {
		t.Errorf("checkpoint %s size %d, LogInfo says %s size %d (key %s)", cp.Origin, cp.Size, info.Origin, info.Size, v.Name())
	}
	return cp
}

func testEmptyArchive(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	info := logInfo(t, env)
	if info.Size != 0 {
		t.Errorf("new archive: log size %d", info.Size)
	}
	openCheckpoint(t, info)
	_, err := auditor.LogProof(ctx, 0)
	wantKind(t, err, evidence.KindNotFound)
	wantNothingArchived(t, fx, env)
	if hits, err := auditor.FindSOUP(ctx, "pkg:github/madler/zlib"); err != nil || len(hits) != 0 {
		t.Errorf("FindSOUP = %v, %v; want none", hits, err)
	}
}

func testLog(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	info := logInfo(t, env)
	if info.Size != 2 {
		t.Errorf("after two pushes: log size %d, want 2", info.Size)
	}
	cp := openCheckpoint(t, info)
	for i, r := range []release{fx.base, fx.next} {
		p, err := auditor.LogProof(ctx, uint64(i))
		if err != nil {
			t.Fatalf("LogProof %d: %v", i, err)
		}
		pcp := wantEntry(t, p, info.VerifierKey, r)
		if p.Index != uint64(i) || pcp.Size != cp.Size || !bytes.Equal(pcp.Root, cp.Root) {
			t.Errorf("proof %d: index %d in a tree of %d, want the tree LogInfo signed (%d)", i, p.Index, pcp.Size, cp.Size)
		}
	}
	_, err := auditor.LogProof(ctx, 2)
	wantKind(t, err, evidence.KindNotFound, "2")
}

func testNotFound(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor := env.As(auth.RoleAuditor)
	_, unknown := randomBlob(t, 16)
	tests := []struct {
		name string
		call func() error
		what string // the message names it
	}{
		{"release of an unknown version", func() error {
			_, err := auditor.Release(ctx, evidence.ReleaseRef{Product: "wearable-monitor", Version: "9.9.9"})
			return err
		}, "wearable-monitor@9.9.9"},
		{"release of an unknown product", func() error {
			_, err := auditor.Release(ctx, evidence.ReleaseRef{Product: "infusion-pump", Version: "2.4.0"})
			return err
		}, "infusion-pump@2.4.0"},
		{"history of an unknown product", func() error {
			_, err := auditor.History(ctx, "infusion-pump")
			return err
		}, "infusion-pump"},
		{"unknown blob", func() error {
			_, _, err := auditor.GetBlob(ctx, unknown)
			return err
		}, unknown.String()},
		{"export of an unknown release", func() error {
			var buf bytes.Buffer
			err := auditor.Export(ctx, evidence.ReleaseRef{Product: "wearable-monitor", Version: "9.9.9"}, &buf)
			if buf.Len() != 0 {
				return fmt.Errorf("%d bytes written for an unknown release", buf.Len())
			}
			return err
		}, "wearable-monitor@9.9.9"},
		{"status of an unknown release", func() error {
			_, err := auditor.Status(ctx, evidence.ReleaseRef{Product: "wearable-monitor", Version: "9.9.9"})
			return err
		}, "wearable-monitor@9.9.9"},
		{"log index beyond the log", func() error {
			_, err := auditor.LogProof(ctx, 2)
			return err
		}, "2"},
		{"log index far beyond the log", func() error {
			_, err := auditor.LogProof(ctx, 1<<63)
			return err
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, tt.call(), evidence.KindNotFound, tt.what)
		})
	}
}

func testInvalidInput(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	auditor, ci := env.As(auth.RoleAuditor), env.As(auth.RoleCI)
	tests := []struct {
		name string
		call func() error
	}{
		{"release: product with a slash", func() error {
			_, err := auditor.Release(ctx, evidence.ReleaseRef{Product: "../wearable-monitor", Version: "2.4.0"})
			return err
		}},
		{"release: version ..", func() error {
			_, err := auditor.Release(ctx, evidence.ReleaseRef{Product: "wearable-monitor", Version: ".."})
			return err
		}},
		{"release: empty version", func() error {
			_, err := auditor.Release(ctx, evidence.ReleaseRef{Product: "wearable-monitor"})
			return err
		}},
		{"history: empty product", func() error {
			_, err := auditor.History(ctx, "")
			return err
		}},
		{"history: product ..", func() error {
			_, err := auditor.History(ctx, "..")
			return err
		}},
		{"export: product with a space", func() error {
			return auditor.Export(ctx, evidence.ReleaseRef{Product: "wearable monitor", Version: "2.4.0"}, io.Discard)
		}},
		{"status: version with a slash", func() error {
			_, err := auditor.Status(ctx, evidence.ReleaseRef{Product: "wearable-monitor", Version: "2.4.0/x"})
			return err
		}},
		{"component: name with a slash", func() error {
			_, err := auditor.FindComponent(ctx, "wm/firmware", "3.1.2")
			return err
		}},
		{"component: empty version", func() error {
			_, err := auditor.FindComponent(ctx, "wm-firmware", "")
			return err
		}},
		{"soup: not a purl", func() error {
			_, err := auditor.FindSOUP(ctx, "zlib")
			return err
		}},
		{"soup: empty", func() error {
			_, err := auditor.FindSOUP(ctx, "")
			return err
		}},
		{"soup: a purl without a name", func() error {
			_, err := auditor.FindSOUP(ctx, "pkg:github/")
			return err
		}},
		{"artifact: empty digest", func() error {
			_, err := auditor.FindArtifact(ctx, digest.Digest{})
			return err
		}},
		{"get blob: empty digest", func() error {
			_, _, err := auditor.GetBlob(ctx, digest.Digest{})
			return err
		}},
		{"put blob: empty digest", func() error {
			return ci.PutBlob(ctx, digest.Digest{}, 1, strings.NewReader("x"))
		}},
		{"push: manifest digest empty", func() error {
			_, err := ci.PushRelease(ctx, api.PushRequest{Bundle: fx.base.req.Bundle})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, tt.call(), evidence.KindInvalid)
		})
	}
}

// testAuthorization checks the role policy of the archive: CI pushes and
// reads nothing; auditors and approvers read and push nothing; admins do
// both; without credentials nothing is allowed.
func testAuthorization(t *testing.T, fx *fixture, env Env) {
	ctx := context.Background()
	blob := []byte("authorised content\n")
	ops := []struct {
		name string
		push bool // needs the push right, else the read right
		call func(a api.Archive) error
	}{
		{"MissingBlobs", true, func(a api.Archive) error {
			_, err := a.MissingBlobs(ctx, []digest.Digest{fx.base.req.Manifest})
			return err
		}},
		{"PutBlob", true, func(a api.Archive) error {
			return a.PutBlob(ctx, digest.FromBytes(blob), int64(len(blob)), bytes.NewReader(blob))
		}},
		{"PushRelease", true, func(a api.Archive) error {
			_, err := a.PushRelease(ctx, fx.base.req)
			return err
		}},
		{"GetBlob", false, func(a api.Archive) error {
			rc, _, err := a.GetBlob(ctx, fx.base.req.Manifest)
			if err == nil {
				rc.Close()
			}
			return err
		}},
		{"Release", false, func(a api.Archive) error {
			_, err := a.Release(ctx, fx.base.ref())
			return err
		}},
		{"History", false, func(a api.Archive) error {
			_, err := a.History(ctx, fx.base.m.Product.Name)
			return err
		}},
		{"Products", false, func(a api.Archive) error {
			_, err := a.Products(ctx)
			return err
		}},
		{"FindArtifact", false, func(a api.Archive) error {
			_, err := a.FindArtifact(ctx, fx.base.m.Components[0].Artifacts[0].Digest)
			return err
		}},
		{"FindComponent", false, func(a api.Archive) error {
			_, err := a.FindComponent(ctx, "wm-firmware", "3.1.2")
			return err
		}},
		{"FindSOUP", false, func(a api.Archive) error {
			_, err := a.FindSOUP(ctx, "pkg:github/madler/zlib")
			return err
		}},
		{"Export", false, func(a api.Archive) error { return a.Export(ctx, fx.base.ref(), io.Discard) }},
		{"Status", false, func(a api.Archive) error {
			_, err := a.Status(ctx, fx.base.ref())
			return err
		}},
		{"LogInfo", false, func(a api.Archive) error {
			_, err := a.LogInfo(ctx)
			return err
		}},
		{"LogProof", false, func(a api.Archive) error {
			_, err := a.LogProof(ctx, 0)
			return err
		}},
	}
	roles := []struct {
		role       string
		push, read bool
	}{
		{"", false, false},
		{auth.RoleCI, true, false},
		{auth.RoleAuditor, false, true},
		{auth.RoleApprover, false, true},
		{auth.RoleAdmin, true, true},
	}
	for _, r := range roles {
		a := env.As(r.role)
		for _, op := range ops {
			name := r.role
			if name == "" {
				name = "anonymous"
			}
			t.Run(name+"/"+op.name, func(t *testing.T) {
				err := op.call(a)
				allowed := (op.push && r.push) || (!op.push && r.read)
				switch {
				case r.role == "":
					wantKind(t, err, evidence.KindUnauthorized)
				case !allowed:
					wantKind(t, err, evidence.KindForbidden, r.role)
				case err != nil:
					t.Errorf("allowed, but: %v (kind %s)", err, evidence.KindOf(err))
				}
			})
		}
	}
	// The refused pushes changed nothing, the allowed ones were idempotent.
	if info := logInfo(t, env); info.Size != 2 {
		t.Errorf("log size %d, want 2", info.Size)
	}
}
