package client_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

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

// sealed seals the example release with a new key.
func sealed(t *testing.T) (string, *sign.PrivateKey) {
	t.Helper()
	key, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "release")
	testutil.Seal(t, testutil.Project(t, testutil.Wearable), dir, key, testutil.GitHubEnv())
	return dir, key
}

// TestPushDir pushes a sealed release through the HTTP client, checks the
// proof, and refuses proofs that do not show this release in this log.
func TestPushDir(t *testing.T) {
	ctx := context.Background()
	dir, key := sealed(t)
	arch := testutil.NewArchive(t, key.Public())
	srv, token := testutil.NewServer(t, arch)
	c := testutil.Client(t, srv, token(auth.RoleCI))

	u, res, err := client.PushDir(ctx, c, dir)
	if err != nil {
		t.Fatal(err)
	}
	m := testutil.ReadManifest(t, dir)
	if want := len(m.EvidenceDigests()) + 2; u.Uploaded != want || u.UploadedBytes <= 0 {
		t.Errorf("uploaded %d blobs (%d bytes), want %d", u.Uploaded, u.UploadedBytes, want)
	}
	if u.Ref.String() != "wearable-monitor@2.4.0" || !evidence.Equal(u.Manifest, m) {
		t.Errorf("upload of %s, want wearable-monitor@2.4.0 with the sealed manifest", u.Ref)
	}
	if u.Request.Manifest != digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile))) {
		t.Errorf("request names manifest %s, not manifest.json", u.Request.Manifest)
	}
	if err := client.CheckProof(res, arch.LogKey, u); err != nil {
		t.Fatalf("CheckProof with the archive's key: %v", err)
	}

	_, otherKey, err := tlog.GenerateKey(testutil.LogOrigin)
	if err != nil {
		t.Fatal(err)
	}
	other := *u
	other.Ref.Version = "2.4.1"
	tampered := *res
	tamperedLog := *res.Log
	tamperedLog.Leaf = append([]byte(nil), res.Log.Leaf...)
	tamperedLog.Leaf[len(tamperedLog.Leaf)/2] ^= 1
	tampered.Log = &tamperedLog
	noProof := *res
	noProof.Log = nil
	tests := []struct {
		name     string
		check    func() error
		contains string
	}{
		{name: "another log's key", check: func() error { return client.CheckProof(res, otherKey, u) }, contains: "does not verify"},
		{name: "not a key", check: func() error { return client.CheckProof(res, "not a key", u) }, contains: "log key"},
		{name: "another release", check: func() error { return client.CheckProof(res, arch.LogKey, &other) }, contains: "not this release"},
		{name: "a tampered leaf", check: func() error { return client.CheckProof(&tampered, arch.LogKey, u) }, contains: "does not verify"},
		{name: "no proof", check: func() error { return client.CheckProof(&noProof, arch.LogKey, u) }, contains: "no log proof"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantKind(t, tt.check(), evidence.KindVerification, tt.contains)
		})
	}

	// Again: nothing to upload, nothing created.
	u, res, err = client.PushDir(ctx, c, dir)
	if err != nil {
		t.Fatal(err)
	}
	if u.Uploaded != 0 || res.Created {
		t.Errorf("second push uploaded %d blobs, created %v; want 0, false", u.Uploaded, res.Created)
	}
}

// TestUploadDirRefuses checks what UploadDir refuses to upload, and that
// nothing becomes visible.
func TestUploadDirRefuses(t *testing.T) {
	ctx := context.Background()
	dir, key := sealed(t)
	m := testutil.ReadManifest(t, dir)
	unit := m.Components[0].Evidence[0]
	tests := []struct {
		name     string
		edit     func(t *testing.T, dir string)
		kind     evidence.Kind
		contains []string
	}{
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, verify.ManifestFile)) },
			evidence.KindInvalid, []string{"not a sealed release"}},
		{"no bundle", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, verify.BundleFile)) },
			evidence.KindInvalid, []string{"not sealed", "evident seal"}},
		{"a manifest that is not one", func(t *testing.T, dir string) {
			testutil.WriteFile(t, filepath.Join(dir, verify.ManifestFile), []byte("{}"))
		}, evidence.KindInvalid, nil},
		{"an evidence file missing", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, filepath.FromSlash(verify.EvidencePath(unit.Digest))))
		}, evidence.KindInvalid, []string{unit.Digest.String()}},
		{"an evidence file changed since sealing", func(t *testing.T, dir string) {
			testutil.FlipByte(t, filepath.Join(dir, filepath.FromSlash(verify.EvidencePath(unit.Digest))), 10)
		}, evidence.KindInvalid, []string{unit.Digest.String(), "mismatch"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arch := testutil.NewArchive(t, key.Public())
			srv, token := testutil.NewServer(t, arch)
			d := testutil.CopyRelease(t, dir)
			tt.edit(t, d)
			_, _, err := client.PushDir(ctx, testutil.Client(t, srv, token(auth.RoleCI)), d)
			wantKind(t, err, tt.kind, tt.contains...)
			if _, err := arch.As(auth.RoleAuditor).Release(ctx, m.Ref()); !evidence.IsKind(err, evidence.KindNotFound) {
				t.Errorf("after a refused upload, Release = %v; want not found", err)
			}
		})
	}
}

// TestServerErrors checks how the client reports what a server, or
// something in front of it, answers: the server's JSON error keeps its kind
// and message; anything else is classified by its status.
func TestServerErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		status   int
		ctype    string
		body     string
		kind     evidence.Kind
		contains string
	}{
		{"the server's conflict", 409, "application/json", `{"code":"conflict","message":"p@1 already exists"}`, evidence.KindConflict, "p@1 already exists"},
		{"the server's policy refusal", 422, "application/json", `{"code":"policy","message":"does not pass"}`, evidence.KindPolicy, "does not pass"},
		{"a proxy's HTML page", 502, "text/html", "<html>Bad Gateway</html>", evidence.KindInternal, "502"},
		{"a 401 without a body", 401, "", "", evidence.KindUnauthorized, "401"},
		{"a 413 from a proxy", 413, "text/plain", "too big", evidence.KindTooLarge, "413"},
		{"JSON without a code", 404, "application/json", `{"error":"nope"}`, evidence.KindNotFound, "404"},
		{"success with a body that is not JSON", 200, "text/plain", "ok", evidence.KindInternal, "answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.ctype != "" {
					w.Header().Set("Content-Type", tt.ctype)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := testutil.Client(t, srv, "evd_x")
			_, err := c.Products(ctx)
			wantKind(t, err, tt.kind, tt.contains)
		})
	}
}

// TestGetBlobVerifies checks that a blob read through the client is
// verified against its digest: a server (or cache) sending other content
// is caught before the reader reports the end.
func TestGetBlobVerifies(t *testing.T) {
	content := []byte("the real content\n")
	d := digest.FromBytes(content)
	for _, tt := range []struct {
		name, sent string
		ok         bool
	}{
		{"the content", string(content), true},
		{"other content", "the fake content\n", false},
		{"cut short", string(content[:5]), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(len(tt.sent)))
				io.WriteString(w, tt.sent)
			}))
			defer srv.Close()
			rc, _, err := testutil.Client(t, srv, "evd_x").GetBlob(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if tt.ok && (err != nil || string(b) != string(content)) {
				t.Errorf("read %q, %v; want the content", b, err)
			}
			if !tt.ok && err == nil {
				t.Errorf("read %q without an error", b)
			}
		})
	}
}

func TestNew(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"https://evidentd.example.com/base/", true},
		{"ftp://evidentd.example.com", false},
		{"evidentd.example.com", false},
		{"https://user:secret@evidentd.example.com", false},
		{"http://", false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			_, err := client.New(tt.url, "evd_x", nil)
			if tt.ok && err != nil {
				t.Errorf("New: %v", err)
			}
			if !tt.ok {
				wantKind(t, err, evidence.KindInvalid)
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("the error %q shows the password", err)
				}
			}
		})
	}
}
