package main

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
)

// TestStoreURLErrors checks that every command that opens the stores
// refuses a bad --catalog, --blobs or --retain-days with an error that
// names the flag and the problem, and never shows a secret of the URL.
func TestStoreURLErrors(t *testing.T) {
	clearEnv(t)
	commands := [][]string{
		{"serve", "--addr", "127.0.0.1:0"},
		{"token", "list"},
		{"token", "revoke", "tk-none"},
		{"approver", "list"},
		{"fsck"},
	}
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		code     int
		want     []string
		mustNot  []string
		noDir    bool // the data directory is not created
		commands int  // how many of commands to run it with (default all)
	}{
		{name: "unknown blob scheme", args: []string{"--blobs", "ftp://host/blobs"}, code: exitUsage,
			want: []string{"--blobs", `unsupported store "ftp://"`, "s3://"}},
		{name: "unknown catalog scheme", args: []string{"--catalog", "mysql://user:hunter2@host/db"}, code: exitUsage,
			want: []string{"--catalog", `unsupported store "mysql://"`, "postgres://"}, mustNot: []string{"hunter2"}},
		{name: "catalog from the environment", env: map[string]string{"EVIDENTD_CATALOG": "mongodb://db"}, code: exitUsage,
			want: []string{"--catalog", `"mongodb://"`}},
		{name: "blobs from the environment", env: map[string]string{"EVIDENTD_BLOBS": "gs://bucket"}, code: exitUsage,
			want: []string{"--blobs", `"gs://"`}},
		{name: "relative file URL", args: []string{"--blobs", "file://blobs"}, code: exitUsage,
			want: []string{"--blobs", "three slashes"}},
		{name: "bad bucket", args: []string{"--blobs", "s3://Evidence_Archive/prod"}, code: exitUsage,
			want: []string{"--blobs", "bucket name"}, noDir: true},
		{name: "credentials in the S3 URL", args: []string{"--blobs", "s3://AKIAEXAMPLE:wJalrXUtnFEMI@bucket/x"}, code: exitUsage,
			want: []string{"--blobs", "credentials do not belong in the URL", "AWS_ACCESS_KEY_ID"}, mustNot: []string{"wJalrXUtnFEMI"}},
		{name: "unknown S3 parameter", args: []string{"--blobs", "s3://bucket?endpoint=http://127.0.0.1:1&secret=hunter2"}, code: exitUsage,
			want: []string{"--blobs", `unknown query parameter "secret"`}, mustNot: []string{"hunter2"}},
		{name: "malformed postgres URL", args: []string{"--catalog", "postgres://evident:p%zzw0rd@db/evident"}, code: exitUsage,
			want: []string{"--catalog", "malformed", "percent-encoded"}, mustNot: []string{"p%zzw0rd", "zzw0rd"}},
		// Nothing listens on port 1: the error is the connection's, with
		// the password hidden.
		{name: "postgres unreachable", args: []string{"--catalog", "postgres://evident:hunter2@127.0.0.1:1/evident?connect_timeout=5"}, code: exitError,
			want: []string{"--catalog postgres://evident:xxxxx@127.0.0.1:1/evident"}, mustNot: []string{"hunter2"}, commands: 1},
		{name: "no AWS credentials", args: []string{"--blobs", "s3://evidence?endpoint=http://127.0.0.1:1"}, env: noAWS, code: exitError,
			want: []string{"--blobs", "s3://evidence", "no AWS credentials", "AWS_ACCESS_KEY_ID"}},
		{name: "retention on a directory", args: []string{"--retain-days", "30"}, code: exitUsage,
			want: []string{"--retain-days", "s3://"}},
		{name: "negative retention", args: []string{"--retain-days", "-1"}, code: exitUsage,
			want: []string{"--retain-days -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			n := len(commands)
			if tc.commands > 0 {
				n = tc.commands
			}
			for _, cmd := range commands[:n] {
				data := filepath.Join(t.TempDir(), "data")
				args := append(append(append([]string{}, cmd...), "--data", data, "--log-key", filepath.Join(t.TempDir(), "log.key")), tc.args...)
				if tc.noDir {
					args = append(args, "--catalog", "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"))
				}
				r := evidentd(t, args...)
				if r.code != tc.code {
					t.Errorf("%s: want exit %d, got %v", cmd[0], tc.code, r)
					continue
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("%s: stderr does not say %q:\n%s", cmd[0], w, r.stderr)
					}
				}
				for _, s := range tc.mustNot {
					if strings.Contains(r.stdout+r.stderr, s) {
						t.Errorf("%s: the output shows the secret %q:\n%s%s", cmd[0], s, r.stdout, r.stderr)
					}
				}
				if _, err := os.Stat(data); tc.noDir && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: with every store elsewhere, the data directory was created (%v)", cmd[0], err)
				}
			}
		})
	}
}

// noAWS is an environment without AWS credentials.
var noAWS = map[string]string{
	"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
	"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_WEB_IDENTITY_TOKEN_FILE": "",
	"AWS_CONTAINER_CREDENTIALS_FULL_URI": "", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_EC2_METADATA_DISABLED": "true",
}

// sharedStores are the stores of an archive that outgrew one machine, and
// what its replicas share: a catalog in a fresh PostgreSQL schema, blobs in
// a fresh S3 location and a log key file.
type sharedStores struct {
	catalog, blobs, logKey string
}

// newSharedStores returns fresh shared stores, or skips the test (fails it
// under EVIDENT_TEST_NO_SKIP=1) when PostgreSQL or S3 is not available.
func newSharedStores(t *testing.T) sharedStores {
	t.Helper()
	return sharedStores{
		catalog: testutil.Postgres(t),
		blobs:   testutil.S3(t),
		logKey:  filepath.Join(t.TempDir(), "log.key"),
	}
}

// args are the flags that name the stores.
func (s sharedStores) args() []string {
	return []string{"--catalog", s.catalog, "--blobs", s.blobs, "--log-key", s.logKey}
}

// env names the stores in EVIDENTD_* variables instead.
func (s sharedStores) env() []string {
	return []string{"EVIDENTD_CATALOG=" + s.catalog, "EVIDENTD_BLOBS=" + s.blobs, "EVIDENTD_LOG_KEY=" + s.logKey}
}

// logKeyPub is the file of the log's public key.
func (s sharedStores) logKeyPub() string { return s.logKey + ".pub" }

// createToken runs evidentd token create on the stores, named by the
// EVIDENTD_* variables, and returns the token.
func (s sharedStores) createToken(t *testing.T, evidentd, role, name string) string {
	t.Helper()
	r := testutil.RunBinary(t, evidentd, s.env(), "token", "create", "--data", filepath.Join(t.TempDir(), "unused"), "--role", role, "--name", name)
	if r.Code != 0 {
		t.Fatalf("evidentd token create: %v", r)
	}
	return strings.TrimSpace(r.Stdout)
}

// TestServePostgresS3 runs evidentd serve on PostgreSQL and S3, pushes a
// release through it, looks it up, and checks the stores with fsck. The
// server writes nothing to its data directory: it is stateless.
func TestServePostgresS3(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evidentd on PostgreSQL and S3; not with -short")
	}
	st := newSharedStores(t)
	bins := testutil.BuildBinaries(t)
	key, rels := sealVersions(t, "2.4.0")
	rel := rels[0]
	ciToken := st.createToken(t, bins.Evidentd, "ci", "release-pipeline")
	auditorToken := st.createToken(t, bins.Evidentd, "auditor", "auditor")

	data := filepath.Join(t.TempDir(), "data")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: data, TrustedKeys: []string{key.PublicFile}, Args: st.args()})
	srv.WaitReady(30 * time.Second)

	ctx := timeout(t, 2*time.Minute)
	res, err := push(ctx, newClient(t, srv.URL(), ciToken), rel)
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if !res.Created {
		t.Errorf("the first push of %s answered created=false", rel.ref)
	}
	checkPushResult(t, res, rel, st.logKeyPub())
	again, err := push(ctx, newClient(t, srv.URL(), ciToken), rel)
	if err != nil {
		t.Fatalf("push again: %v", err)
	}
	if again.Created || again.Log.Index != res.Log.Index {
		t.Errorf("the repeated push answered created=%v at log index %d, want false at %d", again.Created, again.Log.Index, res.Log.Index)
	}

	c := newClient(t, srv.URL(), auditorToken)
	got, err := c.Release(ctx, rel.ref)
	if err != nil {
		t.Fatalf("release: %v", err)
	}
	if got.ManifestDigest != rel.manifest || got.LogIndex != res.Log.Index {
		t.Errorf("release %s: manifest %s at log index %d, want %s at %d", rel.ref, got.ManifestDigest, got.LogIndex, rel.manifest, res.Log.Index)
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(rel.blobs[rel.manifest]))
	if err != nil {
		t.Fatal(err)
	}
	art := m.Components[0].Artifacts[0]
	hits, err := c.FindArtifact(ctx, art.Digest)
	if err != nil || len(hits) != 1 || hits[0].Version != rel.ref.Version || hits[0].Name != art.Name {
		t.Errorf("find artifact %s: %+v, %v; want one hit, %s in %s", art.Digest, hits, err, art.Name, rel.ref)
	}
	rc, _, err := c.GetBlob(ctx, rel.manifest)
	if err != nil {
		t.Fatalf("get the manifest blob: %v", err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(b, rel.blobs[rel.manifest]) {
		t.Errorf("the manifest blob read back differs (%v)", err)
	}

	if code := srv.Stop(); code != 0 {
		t.Errorf("evidentd exited %d on SIGTERM, want 0", code)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("evidentd on PostgreSQL and S3 created its data directory (%v): the replicas must be stateless", err)
	}
	checkFsckStores(t, bins, st.args(), key.PublicFile, 1, 1)
}

// TestNewLogKeyRefused: a command given a log key file that does not exist
// for a shared catalog whose log already has entries (a replica started
// without the shared --log-key) refuses to create a new key, whose
// checkpoints nobody could verify.
func TestNewLogKeyRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evidentd on PostgreSQL and S3; not with -short")
	}
	st := newSharedStores(t)
	bins := testutil.BuildBinaries(t)
	key, rels := sealVersions(t, "2.4.0")
	ciToken := st.createToken(t, bins.Evidentd, "ci", "release-pipeline")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: t.TempDir(), TrustedKeys: []string{key.PublicFile}, Args: st.args()})
	if _, err := push(timeout(t, 2*time.Minute), newClient(t, srv.URL(), ciToken), rels[0]); err != nil {
		t.Fatalf("push: %v", err)
	}

	missing := filepath.Join(t.TempDir(), "log.key")
	r := testutil.RunBinary(t, bins.Evidentd, nil, "serve", "--data", filepath.Join(t.TempDir(), "data"),
		"--catalog", st.catalog, "--blobs", st.blobs, "--log-key", missing)
	if r.Code != exitError {
		t.Fatalf("want exit %d, got %v", exitError, r)
	}
	for _, w := range []string{"log key " + missing + " does not exist", "the log is not empty (size 1)", "same --log-key file"} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr does not say %q:\n%s", w, r.Stderr)
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a new log key was written (%v)", err)
	}
}
