package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/httpapi"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/verify"
)

// sealedOnce is the example release, sealed by the first test that needs it
// into a directory that lives until TestMain ends.
var sealedOnce struct {
	sync.Once
	root string // removed by TestMain
	dir  string
	key  *sign.PrivateKey
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sealedOnce.root != "" {
		os.RemoveAll(sealedOnce.root)
	}
	os.Exit(code)
}

// sealedRelease returns the example release sealed for this package's tests
// and the key that signed it. Tests must not change it (copy it first).
func sealedRelease(t *testing.T) (string, *sign.PrivateKey) {
	t.Helper()
	sealedOnce.Do(func() {
		root, err := os.MkdirTemp("", "httpapi-test-")
		if err != nil {
			t.Fatal(err)
		}
		sealedOnce.root = root
		key, err := sign.GenerateKey(sign.AlgECDSAP256)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(root, "release")
		testutil.Seal(t, testutil.Project(t, testutil.Wearable), dir, key, testutil.GitHubEnv())
		sealedOnce.dir, sealedOnce.key = dir, key
	})
	if sealedOnce.dir == "" {
		t.Fatal("sealing the example release failed in an earlier test")
	}
	return sealedOnce.dir, sealedOnce.key
}

// live is a server whose archive holds the example release.
type live struct {
	srv     *httptest.Server
	handler *httpapi.Server
	arch    *testutil.Archive
	token   func(role string) string
	dir     string // the pushed release
	m       *evidence.Manifest
	req     api.PushRequest
	push    *api.PushResult
}

// newLive serves a new archive holding the example release.
func newLive(t *testing.T, opts ...func(*httpapi.Config)) *live {
	t.Helper()
	dir, key := sealedRelease(t)
	arch := testutil.NewArchive(t, key.Public())
	srv, token := testutil.NewServer(t, arch, opts...)
	l := &live{srv: srv, handler: srv.Config.Handler.(*httpapi.Server), arch: arch, token: token, dir: dir, m: testutil.ReadManifest(t, dir)}
	l.push = testutil.Push(t, arch.As("admin"), dir)
	l.req = api.PushRequest{
		Manifest: digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.ManifestFile))),
		Bundle:   digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, verify.BundleFile))),
	}
	return l
}

// request builds a request to the server; body may be nil.
func (l *live) request(t *testing.T, method, path string, body []byte, token string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, l.srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// do sends req and returns the response with its whole body.
func (l *live) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := l.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return resp, b
}

// errorBody decodes a JSON error response strictly: {code, message}, both
// set, nothing else.
func errorBody(t *testing.T, resp *http.Response, b []byte) api.ErrorBody {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error response Content-Type %q, want application/json", ct)
	}
	var e api.ErrorBody
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	if e.Code == "" || strings.TrimSpace(e.Message) == "" {
		t.Errorf("error body %q: code and message must both be set", b)
	}
	return e
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
