package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/archive"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/blob/fsblob"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlite"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/httpapi"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// LogOrigin is the log origin of archives made by NewArchive.
const LogOrigin = "evident.test/log"

// Archive is an archive for a test, over the default stores (a blob
// directory and a SQLite catalog) in a temporary directory, with the stores
// at hand for tests that look underneath the API.
type Archive struct {
	*archive.Archive
	Blobs   *fsblob.Store
	Catalog *sqlite.DB
	// LogKey is the log's note verifier key.
	LogKey string
	// LogSigner signs the log's checkpoints and audit packs: tests use it
	// to forge what only the archive could sign.
	LogSigner note.Signer
	// Dir holds the stores.
	Dir string
}

// NewArchive returns an archive over fsblob and sqlite in t.TempDir() with a
// fresh log key, accepting releases signed by trust. The stores are closed
// when the test ends.
func NewArchive(t testing.TB, trust ...*sign.PublicKey) *Archive {
	t.Helper()
	return NewArchiveTrust(t, sign.Trust{Keys: trust}, nil)
}

// NewArchiveTrust is NewArchive with a whole trust policy: keys, keyless
// identities and a trusted root (which also verifies keyless approvers and
// the timestamps of approvals), and the trusted root's JSON that audit
// packs carry (nil for none), as evidentd serve --trusted-root or
// --tsa-chain wires them.
func NewArchiveTrust(t testing.TB, trust sign.Trust, trustedRootJSON []byte) *Archive {
	t.Helper()
	dir := t.TempDir()
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"), fsblob.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	cat, err := sqlite.Open(context.Background(), filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	skey, vkey, err := tlog.GenerateKey(LogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tlog.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := archive.New(archive.Config{
		Blobs: blobs, Catalog: cat, Trust: trust, TrustedRootJSON: trustedRootJSON,
		LogSigner: signer, LogVerifierKey: vkey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Archive{Archive: a, Blobs: blobs, Catalog: cat, LogKey: vkey, LogSigner: signer, Dir: dir}
}

// RegisterApprover registers name in role, identified by key, in the
// approver registry, as evidentd approver add --key does.
func (a *Archive) RegisterApprover(t testing.TB, name, role string, key *sign.PublicKey) {
	t.Helper()
	pem, err := key.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	a.insertApprover(t, catalog.Approver{Name: name, Role: role, KeyID: key.ID(), PublicKey: pem})
}

// RegisterKeylessApprover registers name in role, identified by a keyless
// OIDC identity: the issuer and a regular expression the certificate
// subject must match in full, as evidentd approver add --issuer --subject
// does.
func (a *Archive) RegisterKeylessApprover(t testing.TB, name, role, issuer, subjectRegexp string) {
	t.Helper()
	a.insertApprover(t, catalog.Approver{Name: name, Role: role, Issuer: issuer, Subject: subjectRegexp})
}

func (a *Archive) insertApprover(t testing.TB, ap catalog.Approver) {
	t.Helper()
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	ap.ID, ap.CreatedAt = "apr_"+hex.EncodeToString(id), time.Now().UTC()
	ctx := context.Background()
	err := a.Catalog.Update(ctx, func(tx catalog.Tx) error { return tx.InsertApprover(ctx, ap) })
	if err != nil {
		t.Fatalf("register approver %s (%s): %v", ap.Name, ap.Role, err)
	}
}

// Token mints an API token of role, stored in the catalog as
// `evidentd token create` does, and returns its secret.
func (a *Archive) Token(t testing.TB, role string) string {
	t.Helper()
	secret, id, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = a.Catalog.Update(ctx, func(tx catalog.Tx) error {
		return tx.InsertToken(ctx, catalog.Token{ID: id, Name: "test-" + role, Role: role, Hash: hash, CreatedAt: time.Now().UTC()})
	})
	if err != nil {
		t.Fatalf("insert token: %v", err)
	}
	return secret
}

// As returns the archive in-process as seen by a principal of role; role ""
// is a caller without credentials.
func (a *Archive) As(role string) api.Archive {
	if role == "" {
		return a.Archive
	}
	return AsPrincipal(a.Archive, auth.Principal{Name: "test-" + role, Role: role})
}

// NewServer serves a over HTTP (package httpapi, as evidentd does) until the
// test ends. opts adjust the configuration (limits). It returns the server
// and a function that mints a token of a role.
func NewServer(t testing.TB, a *Archive, opts ...func(*httpapi.Config)) (*httptest.Server, func(role string) string) {
	t.Helper()
	cfg := httpapi.Config{Archive: a.Archive, Auth: a.Archive, Ready: a.Catalog.Ping}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := httpapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, func(role string) string { return a.Token(t, role) }
}

// Client returns a client of srv using token ("" for none).
func Client(t testing.TB, srv *httptest.Server, token string) *client.Client {
	t.Helper()
	c, err := client.New(srv.URL, token, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Push uploads the sealed release in dir through a and pushes it; the push
// must succeed.
func Push(t testing.TB, a api.Archive, dir string) *api.PushResult {
	t.Helper()
	_, res, err := client.PushDir(context.Background(), a, dir)
	if err != nil {
		t.Fatalf("push %s: %v", dir, err)
	}
	return res
}

// Upload uploads the blobs of the sealed release in dir through a, without
// pushing it, and returns the push request naming it.
func Upload(t testing.TB, a api.Archive, dir string) api.PushRequest {
	t.Helper()
	u, err := client.UploadDir(context.Background(), a, dir)
	if err != nil {
		t.Fatalf("upload %s: %v", dir, err)
	}
	return u.Request
}

// AsPrincipal returns a as seen by p: every call carries p in its context,
// as the HTTP layer does for an authenticated request.
func AsPrincipal(a api.Archive, p auth.Principal) api.Archive { return principal{a, p} }

type principal struct {
	a api.Archive
	p auth.Principal
}

func (x principal) ctx(ctx context.Context) context.Context { return auth.WithPrincipal(ctx, x.p) }

func (x principal) MissingBlobs(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	return x.a.MissingBlobs(x.ctx(ctx), ds)
}

func (x principal) PutBlob(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	return x.a.PutBlob(x.ctx(ctx), d, size, r)
}

func (x principal) GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	return x.a.GetBlob(x.ctx(ctx), d)
}

func (x principal) PushRelease(ctx context.Context, req api.PushRequest) (*api.PushResult, error) {
	return x.a.PushRelease(x.ctx(ctx), req)
}

func (x principal) Release(ctx context.Context, ref evidence.ReleaseRef) (*api.Release, error) {
	return x.a.Release(x.ctx(ctx), ref)
}

func (x principal) History(ctx context.Context, product string) ([]api.ReleaseSummary, error) {
	return x.a.History(x.ctx(ctx), product)
}

func (x principal) Products(ctx context.Context) ([]api.Product, error) {
	return x.a.Products(x.ctx(ctx))
}

func (x principal) FindArtifact(ctx context.Context, d digest.Digest) ([]api.ArtifactHit, error) {
	return x.a.FindArtifact(x.ctx(ctx), d)
}

func (x principal) FindComponent(ctx context.Context, name, version string) ([]api.ComponentHit, error) {
	return x.a.FindComponent(x.ctx(ctx), name, version)
}

func (x principal) FindSOUP(ctx context.Context, purl string) ([]api.SOUPHit, error) {
	return x.a.FindSOUP(x.ctx(ctx), purl)
}

func (x principal) Export(ctx context.Context, ref evidence.ReleaseRef, w io.Writer) error {
	return x.a.Export(x.ctx(ctx), ref, w)
}

func (x principal) SubmitApproval(ctx context.Context, bundleJSON []byte) (*api.ApprovalResult, error) {
	return x.a.SubmitApproval(x.ctx(ctx), bundleJSON)
}

func (x principal) Status(ctx context.Context, ref evidence.ReleaseRef) (*api.ReleaseStatus, error) {
	return x.a.Status(x.ctx(ctx), ref)
}

func (x principal) LogInfo(ctx context.Context) (*api.LogInfo, error) {
	return x.a.LogInfo(x.ctx(ctx))
}

func (x principal) LogProof(ctx context.Context, index uint64) (*tlog.Proof, error) {
	return x.a.LogProof(x.ctx(ctx), index)
}
