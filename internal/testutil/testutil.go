// Package testutil holds what the end-to-end tests of the runner, the
// verifier and the evident CLI share: a checked-out copy of the example
// product (a git repository tagged like a release, or a GitHub Actions
// environment to describe it), signing keys, a sealed release, assertions
// about what a failed run leaves behind, and the real cosign binary.
//
// It is imported by tests only. Helpers fail the test on any error of their
// own; the code under test is never called here except to produce a sealed
// release for tests that are about something else (tampering, cosign).
//
// External tools (git, cosign) are found on the machine; without one a test
// skips, unless EVIDENT_TEST_NO_SKIP=1 turns the skip into a failure (CI sets
// it, so a missing tool can never turn a suite green by skipping).
package testutil

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
)

// Wearable is the example product, relative to a package directory two
// levels below the repository root (cmd/evident, internal/runner, ...).
const Wearable = "../../testdata/wearable"

// The release the example is checked out at, as scripts/demo.sh makes it.
const (
	Tag       = "v2.4.0"
	RemoteURL = "https://github.com/acme-medical/wearable-monitor.git"
	// RepoURL is RemoteURL as provenance records it.
	RepoURL = "https://github.com/acme-medical/wearable-monitor"
)

// Passphrase is the passphrase tests give encrypted keys.
const Passphrase = "test-passphrase"

// Now is the fixed clock of releases collected by Collect and Seal.
func Now() time.Time { return time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC) }

// Unavailable skips the test because something it needs from the machine is
// missing, or fails it when EVIDENT_TEST_NO_SKIP=1.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("EVIDENT_TEST_NO_SKIP") == "1" {
		t.Fatalf(format+" (EVIDENT_TEST_NO_SKIP=1 forbids skipping)", args...)
	}
	t.Skipf(format, args...)
}

// CopyTree copies the regular files and directories under src to dst,
// which must not exist.
func CopyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(p, target)
	})
	if err != nil {
		t.Fatalf("copy %s to %s: %v", src, dst, err)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, st.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Project copies the project at src (e.g. Wearable) into a new temporary
// directory and returns the copy's path. It is not a git repository: seal
// it with GitHubEnv, or use GitProject.
func Project(t testing.TB, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "project")
	CopyTree(t, src, dir)
	return dir
}

// GitProject is Project made into a git repository exactly as
// scripts/demo.sh does: one commit by a fixed author at a fixed date on
// branch main, tagged Tag, with remote origin RemoteURL.
func GitProject(t testing.TB, src string) string {
	t.Helper()
	dir := Project(t, src)
	Git(t, dir, "init", "-q", "-b", "main")
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "-m", "wearable-monitor 2.4.0")
	Git(t, dir, "tag", Tag)
	Git(t, dir, "remote", "add", "origin", RemoteURL)
	return dir
}

// Git runs git in dir with a fixed identity and dates and without the
// user's or the system's configuration, and returns its trimmed output.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("git")
	if err != nil {
		Unavailable(t, "git not found on PATH")
	}
	cmd := exec.CommandContext(context.Background(), bin, append([]string{"-C", dir}, args...)...)
	cmd.Env = append(os.Environ(),
		"GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C",
		"GIT_AUTHOR_NAME=Release Pipeline", "GIT_AUTHOR_EMAIL=release@example.com",
		"GIT_COMMITTER_NAME=Release Pipeline", "GIT_COMMITTER_EMAIL=release@example.com",
		"GIT_AUTHOR_DATE=2026-11-20T09:00:00Z", "GIT_COMMITTER_DATE=2026-11-20T09:00:00Z",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// GitHubCommit is the commit GitHubEnv names.
const GitHubCommit = "4c6f2b9e0d1a3c5e7f9b8d6a4c2e0f1a3b5d7c9e"

// GitHubEnv is the environment of a GitHub Actions job that builds the
// example's release tag: build provenance without a git repository.
func GitHubEnv() map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":             "true",
		"GITHUB_SHA":                 GitHubCommit,
		"GITHUB_REF":                 "refs/tags/" + Tag,
		"GITHUB_REPOSITORY":          "acme-medical/wearable-monitor",
		"GITHUB_REPOSITORY_ID":       "123456789",
		"GITHUB_REPOSITORY_OWNER_ID": "987654",
		"GITHUB_RUN_ID":              "11223344",
		"GITHUB_RUN_ATTEMPT":         "1",
		"GITHUB_SERVER_URL":          "https://github.com",
		"GITHUB_EVENT_NAME":          "push",
		"GITHUB_JOB":                 "release",
		"GITHUB_WORKFLOW_REF":        "acme-medical/wearable-monitor/.github/workflows/release.yml@refs/tags/" + Tag,
		"GITHUB_ACTOR":               "release-bot",
		"RUNNER_ENVIRONMENT":         "github-hosted",
	}
}

// Lookup returns an os.LookupEnv over m.
func Lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// Key is a key pair written to files.
type Key struct {
	Private *sign.PrivateKey
	// PrivateFile is unencrypted PKCS#8 PEM (decrypting a passphrase-
	// protected key costs a scrypt, which tests about something else need
	// not pay); PublicFile is PEM.
	PrivateFile, PublicFile string
}

// NewKey generates an ECDSA P-256 key and writes dir/name.key and
// dir/name.pub.
func NewKey(t testing.TB, dir, name string) Key {
	t.Helper()
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := k.MarshalPKCS8PEM()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := k.Public().MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Private: k, PrivateFile: filepath.Join(dir, name+".key"), PublicFile: filepath.Join(dir, name+".pub")}
	WriteFile(t, key.PrivateFile, priv)
	WriteFile(t, key.PublicFile, pub)
	return key
}

// Collect collects the project whose evident.yaml is in dir into a staged
// release for out, describing the build with env (GitHubEnv, or nil for
// the local git repository). The staging directory is discarded when the
// test ends.
func Collect(t testing.TB, dir, out string, env map[string]string) *runner.Staged {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(dir, config.DefaultFile)})
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	st, err := runner.Collect(context.Background(), runner.Options{
		Config: cfg, Out: out, Env: ci.MapEnv(env), Git: ci.NewGit(cfg.Dir), Now: Now, Version: "test",
	})
	if err != nil {
		t.Fatalf("collect %s: %v", dir, err)
	}
	t.Cleanup(st.Discard)
	return st
}

// Seal seals the project in dir into out with key, the way evident seal
// does, and returns the manifest. The policy must pass.
func Seal(t testing.TB, dir, out string, key *sign.PrivateKey, env map[string]string) *evidence.Manifest {
	t.Helper()
	st := Collect(t, dir, out, env)
	if !st.Manifest.Policy.Passed() {
		t.Fatalf("seal %s: the policy failed: %+v", dir, st.Manifest.Policy)
	}
	if err := st.Sign(context.Background(), sign.NewKeySigner(key)); err != nil {
		t.Fatalf("sign: %v", err)
	}
	if _, err := st.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	return st.Manifest
}

// ReadManifest decodes dir/manifest.json strictly.
func ReadManifest(t testing.TB, dir string) *evidence.Manifest {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, runner.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := evidence.DecodeManifest(f)
	if err != nil {
		t.Fatalf("%s: %v", f.Name(), err)
	}
	return m
}

// Resign does what an attacker holding key would: it writes m, canonically
// encoded, as dir/manifest.json and signs a statement over it, with every
// artifact of m as a subject, into dir/bundle.sigstore.json.
func Resign(t testing.TB, dir string, m *evidence.Manifest, key *sign.PrivateKey) {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	st := sign.Statement{PredicateType: evidence.PredicateTypeRelease, Predicate: b}
	for _, c := range m.Components {
		for _, a := range c.Artifacts {
			st.Subjects = append(st.Subjects, sign.Subject{Name: a.Name, Digest: a.Digest})
		}
	}
	SignStatement(t, dir, st, key)
	WriteFile(t, filepath.Join(dir, runner.ManifestFile), b)
}

// SignStatement signs st with key into dir/bundle.sigstore.json.
func SignStatement(t testing.TB, dir string, st sign.Statement, key *sign.PrivateKey) {
	t.Helper()
	payload, err := st.Encode()
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := sign.NewKeySigner(key).Sign(context.Background(), payload)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, filepath.Join(dir, runner.BundleFile), bundle)
}

// CopyRelease copies the release directory src into a new temporary
// directory and returns the copy's path.
func CopyRelease(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "release")
	CopyTree(t, src, dst)
	return dst
}

// NoOutput fails the test unless out does not exist and no staging
// directory of it (".NAME.staging-*") is left beside it: a failed run
// writes nothing.
func NoOutput(t testing.TB, out string) {
	t.Helper()
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("%s exists after a failed run", out)
	} else if !os.IsNotExist(err) {
		t.Error(err)
	}
	NoStaging(t, out)
}

// NoStaging fails the test if a staging directory of out is left beside it.
func NoStaging(t testing.TB, out string) {
	t.Helper()
	left, err := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".staging-*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("staging directories left beside %s: %v", out, left)
	}
}

// WriteFile writes b to path, creating its directory.
func WriteFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReadFile returns the content of path.
func ReadFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Replace replaces the first occurrence of old in the file at path with
// new; the test fails if old is not there, so an edit can never silently
// do nothing.
func Replace(t testing.TB, path, old, new string) {
	t.Helper()
	b := ReadFile(t, path)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	WriteFile(t, path, bytes.Replace(b, []byte(old), []byte(new), 1))
}

// FlipByte inverts the bits of the byte at offset off of the file at path.
func FlipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("read %s at %d: %v", path, off, err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// deadProxy is an address nothing listens on: the discard port of the
// loopback interface.
const deadProxy = "http://127.0.0.1:9"

// Cosign returns the path of the cosign binary: $EVIDENT_COSIGN, else cosign
// on PATH. Without one the test skips (or fails, see Unavailable).
func Cosign(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("EVIDENT_COSIGN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("EVIDENT_COSIGN: %v", err)
		}
		return p
	}
	if p, err := exec.LookPath("cosign"); err == nil {
		return p
	}
	Unavailable(t, "cosign not found: set EVIDENT_COSIGN=/path/to/cosign or put it on PATH")
	return ""
}

// RunCosign runs cosign in dir, offline: with a private HOME and TUF root
// (cosign would otherwise read and refresh the user's TUF cache), a proxy
// that refuses every connection (so a command that needed the network fails
// here rather than passing only where the network is up), and nothing else
// of the environment but PATH and extra. It returns the combined output.
func RunCosign(t testing.TB, bin, dir string, extra []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	home := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"HOME=" + home,
		"TUF_ROOT=" + filepath.Join(home, "tuf"),
		"PATH=" + os.Getenv("PATH"),
		"HTTPS_PROXY=" + deadProxy, "HTTP_PROXY=" + deadProxy, "https_proxy=" + deadProxy, "http_proxy=" + deadProxy,
	}, extra...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
