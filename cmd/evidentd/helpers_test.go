package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/client"
	evconfig "github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

// The tests in this package are of two kinds. The in-process ones
// (main_test.go) call run, main without the process, and are the ones worth
// running with -race. The process-level ones (crash, flood, upload) run the
// real binaries, built once by testutil.BuildBinaries, as a CI job and an
// operator would, and kill them.

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinaries()
	testutil.StopS3()
	os.Exit(code)
}

// sealed is a sealed release directory read into memory: everything a push
// uploads.
type sealed struct {
	dir              string
	ref              evidence.ReleaseRef
	manifest, bundle digest.Digest
	// blobs is every blob the release references, manifest and bundle
	// included; all holds their digests in upload order.
	blobs map[digest.Digest][]byte
	all   []digest.Digest
}

// sealVersions seals the wearable example once per version, each with one
// evidence file of its own (the firmware release notes name the version)
// and the rest shared, signed with one new key. It returns the key and the
// releases in the order of versions.
func sealVersions(t *testing.T, versions ...string) (testutil.Key, []*sealed) {
	t.Helper()
	key := testutil.NewKey(t, t.TempDir(), "release")
	return key, sealWith(t, key, "", versions...)
}

// sealWith is sealVersions with a given key and a line of text, extra,
// added to the firmware release notes of every version: releases sealed
// with different extra text have different manifests.
func sealWith(t *testing.T, key testutil.Key, extra string, versions ...string) []*sealed {
	t.Helper()
	project := testutil.Project(t, testutil.Wearable)
	outDir := t.TempDir()
	notes := filepath.Join(project, "docs", "fw-release-notes.md")
	base := testutil.ReadFile(t, notes)
	var rels []*sealed
	for _, v := range versions {
		testutil.WriteFile(t, notes, append(bytes.Clone(base), []byte("\nBuild of wearable-monitor "+v+"."+extra+"\n")...))
		cfg, err := evconfig.Load(evconfig.LoadOptions{
			Path: filepath.Join(project, evconfig.DefaultFile),
			Sets: []string{"product.version=" + v},
		})
		if err != nil {
			t.Fatalf("load config: %v", err)
		}
		out := filepath.Join(outDir, "wearable-monitor-"+v)
		st, err := runner.Collect(context.Background(), runner.Options{
			Config: cfg, Out: out, Env: ci.MapEnv(testutil.GitHubEnv()), Git: ci.NewGit(cfg.Dir),
			Now: testutil.Now, Version: "test",
		})
		if err != nil {
			t.Fatalf("collect %s: %v", v, err)
		}
		if err := st.Sign(context.Background(), sign.NewKeySigner(key.Private)); err != nil {
			st.Discard()
			t.Fatalf("sign %s: %v", v, err)
		}
		if _, err := st.Commit(); err != nil {
			st.Discard()
			t.Fatalf("commit %s: %v", v, err)
		}
		rels = append(rels, readSealed(t, out))
	}
	return rels
}

// readSealed reads the sealed release directory dir.
func readSealed(t *testing.T, dir string) *sealed {
	t.Helper()
	mb := testutil.ReadFile(t, filepath.Join(dir, runner.ManifestFile))
	bb := testutil.ReadFile(t, filepath.Join(dir, runner.BundleFile))
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	s := &sealed{
		dir: dir, ref: m.Ref(), manifest: digest.FromBytes(mb), bundle: digest.FromBytes(bb),
		blobs: map[digest.Digest][]byte{},
	}
	for _, d := range m.EvidenceDigests() {
		s.blobs[d] = testutil.ReadFile(t, filepath.Join(dir, runner.EvidencePath(d)))
		s.all = append(s.all, d)
	}
	s.blobs[s.manifest], s.blobs[s.bundle] = mb, bb
	s.all = append(s.all, s.manifest, s.bundle)
	return s
}

// push does what evident push does, through the client: it uploads the
// blobs the archive lacks, then pushes the release.
func push(ctx context.Context, c *client.Client, s *sealed) (*api.PushResult, error) {
	missing, err := c.MissingBlobs(ctx, s.all)
	if err != nil {
		return nil, fmt.Errorf("missing blobs: %w", err)
	}
	for _, d := range missing {
		b, ok := s.blobs[d]
		if !ok {
			return nil, fmt.Errorf("the archive asked for %s, which %s does not reference", d, s.ref)
		}
		if err := c.PutBlob(ctx, d, int64(len(b)), bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("put %s: %w", d, err)
		}
	}
	res, err := c.PushRelease(ctx, api.PushRequest{Manifest: s.manifest, Bundle: s.bundle})
	if err != nil {
		return nil, fmt.Errorf("push release: %w", err)
	}
	return res, nil
}

// checkPushResult fails the test unless res is the archive's signed word,
// under the log key in the file logKeyFile, that s is in its log.
func checkPushResult(t *testing.T, res *api.PushResult, s *sealed, logKeyFile string) {
	t.Helper()
	if res.Release != s.ref.String() || res.ManifestDigest != s.manifest {
		t.Errorf("push of %s answered release %s manifest %s", s.ref, res.Release, res.ManifestDigest)
	}
	v, err := tlog.NewVerifier(strings.TrimSpace(string(testutil.ReadFile(t, logKeyFile))))
	if err != nil {
		t.Fatal(err)
	}
	if res.Log == nil {
		t.Fatalf("push of %s: no log proof", s.ref)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		t.Fatalf("push of %s: the log proof does not verify: %v", s.ref, err)
	}
	if e.Type != tlog.EntryRelease || e.Product != s.ref.Product || e.Version != s.ref.Version || e.Manifest != s.manifest || e.Record != s.bundle {
		t.Errorf("push of %s: the log entry is %+v", s.ref, e)
	}
}

// newClient returns a client of the archive at url with token.
func newClient(t *testing.T, url, token string) *client.Client {
	t.Helper()
	c, err := client.New(url, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// timeout returns a context that ends after d or with the test.
func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a bytes.Buffer safe for concurrent use: the output of an
// in-process server read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// blobFiles lists the blob files under the data directory's blob store
// (DATA/blobs/sha256/..), relative to it.
func blobFiles(t *testing.T, data string) []string {
	t.Helper()
	var files []string
	root := filepath.Join(data, "blobs", "sha256")
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// blobFile is the path of d's file in the data directory's blob store.
func blobFile(data string, d digest.Digest) string {
	return filepath.Join(data, "blobs", "sha256", d.Hex()[:2], d.Hex())
}

// newClientWith returns a client of the archive at url with token, over hc.
func newClientWith(url, token string, hc *http.Client) (*client.Client, error) {
	return client.New(url, token, hc)
}

// upload is a blob upload written by hand on a raw connection, so that a
// test can stop it anywhere: PUT /api/v1/blobs/DIGEST with a Content-Length.
type upload struct {
	conn    net.Conn
	br      *bufio.Reader
	content []byte
	d       digest.Digest
	sent    int
}

// startUpload connects to the archive at url and sends the headers of an
// upload of size pseudo-random bytes (from seed).
func startUpload(t *testing.T, url, token string, size int, seed byte) *upload {
	t.Helper()
	content := make([]byte, size)
	rand.NewChaCha8([32]byte{seed}).Read(content)
	u := &upload{content: content, d: digest.FromBytes(content)}
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	u.conn, u.br = c, bufio.NewReader(c)
	_, err = fmt.Fprintf(c, "PUT /api/v1/blobs/%s HTTP/1.1\r\nHost: evidentd\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", u.d, token, size)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// send writes the next n bytes of the content, or all the rest when n < 0.
func (u *upload) send(t *testing.T, n int) {
	t.Helper()
	if n < 0 || u.sent+n > len(u.content) {
		n = len(u.content) - u.sent
	}
	u.conn.SetWriteDeadline(time.Now().Add(time.Minute))
	if _, err := u.conn.Write(u.content[u.sent : u.sent+n]); err != nil {
		t.Fatalf("upload: %v", err)
	}
	u.sent += n
}

// response reads the server's answer: its status and body.
func (u *upload) response(t *testing.T) (int, string) {
	t.Helper()
	u.conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(u.br, nil)
	if err != nil {
		t.Fatalf("upload: reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
