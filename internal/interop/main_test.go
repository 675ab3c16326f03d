package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinaries()
	os.Exit(code)
}

// root is the repository root, from this package's directory.
const root = "../.."

// The example's release, as the CI runs seal it.
const (
	product = "wearable-monitor"
	release = "wearable-monitor@2.4.0"
)

// tool returns the path of an external tool: $envVar, else name on the
// PATH; without it the test skips (or fails, see testutil.Unavailable).
func tool(t *testing.T, envVar, name, install string) string {
	t.Helper()
	if p := os.Getenv(envVar); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", envVar, err)
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	testutil.Unavailable(t, "%s not found: set %s or put it on PATH (%s)", name, envVar, install)
	return ""
}

// fixture is what a CI run needs around it: the evident binaries, a
// signing key, an archive that trusts it with a CI token, and the example
// product checked out at its release tag.
type fixture struct {
	bins    testutil.Binaries
	binDir  string // holds evident and evidentd: put on the CI run's PATH
	keyFile string // passphrase-protected, as `evident key generate` writes it
	pubFile string
	server  *testutil.Server
	ciToken string
	auditor string // an auditor's token, to read the archive back
	project string // a git repository at tag v2.4.0
}

// keyPassword is the signing key's passphrase: a CI secret.
const keyPassword = "interop-key-passphrase"

// newFixture makes a fixture whose archive trusts the key, and whatever
// more serverArgs say (--trusted-identity ...).
func newFixture(t *testing.T, serverArgs ...string) *fixture {
	t.Helper()
	f := &fixture{bins: testutil.BuildBinaries(t)}
	f.binDir = filepath.Dir(f.bins.Evident)
	dir := t.TempDir()
	if r := testutil.RunBinary(t, f.bins.Evident, []string{"EVIDENT_KEY_PASSWORD=" + keyPassword},
		"key", "generate", "--out", filepath.Join(dir, "release")); r.Code != 0 {
		t.Fatalf("evident key generate: %v", r)
	}
	f.keyFile, f.pubFile = filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	data := filepath.Join(dir, "archive")
	f.ciToken = testutil.CreateToken(t, f.bins.Evidentd, data, "ci", "pipeline")
	f.auditor = testutil.CreateToken(t, f.bins.Evidentd, data, "auditor", "auditor")
	f.server = testutil.StartServer(t, f.bins.Evidentd, testutil.ServerOptions{Data: data, TrustedKeys: []string{f.pubFile}, Args: serverArgs})
	f.project = testutil.GitProject(t, filepath.Join(root, "testdata", "wearable"))
	return f
}

// checkArchived checks that the archive holds the example release with
// manifest digest md, and that its audit pack verifies offline with
// nothing but the release key (or the trusted signer verifyArgs name) and
// the archive's log key.
func (f *fixture) checkArchived(t *testing.T, md string, verifyArgs ...string) {
	t.Helper()
	data := f.server.Data()
	env := []string{"EVIDENT_SERVER=" + f.server.URL(), "EVIDENT_TOKEN=" + f.auditor}
	r := testutil.RunBinary(t, f.bins.Evident, env, "status", release, "--json")
	if r.Code != 0 {
		t.Fatalf("evident status: %v", r)
	}
	var st struct {
		ManifestDigest string `json:"manifestDigest"`
		Status         string `json:"status"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		t.Fatalf("evident status --json: %v\n%s", err, r.Stdout)
	}
	if st.ManifestDigest != md || st.Status != "sealed" {
		t.Errorf("the archive holds %s with manifest %s, status %s; the CI run reported manifest %s", release, st.ManifestDigest, st.Status, md)
	}
	pack := filepath.Join(t.TempDir(), "pack.tar")
	if r := testutil.RunBinary(t, f.bins.Evident, env, "export", release, "-o", pack); r.Code != 0 {
		t.Fatalf("evident export: %v", r)
	}
	if len(verifyArgs) == 0 {
		verifyArgs = []string{"--key", f.pubFile}
	}
	r = testutil.RunBinary(t, f.bins.Evident, nil, append([]string{"verify", pack, "--log-key", filepath.Join(data, "log.key.pub")}, verifyArgs...)...)
	if r.Code != 0 {
		t.Fatalf("evident verify of the archived release's audit pack: %v", r)
	}
}

// runTool runs a CI emulator in dir with env as its whole environment and
// returns its combined output and exit code; it fails the test when the
// tool cannot start or runs longer than timeout.
func runTool(t *testing.T, dir string, env []string, timeout time.Duration, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s ran for %v", filepath.Base(bin), time.Since(start).Round(100*time.Millisecond))
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s did not finish within %v:\n%s", filepath.Base(bin), timeout, out.String())
	case err != nil && !errors.As(err, &ee):
		t.Fatalf("%s: %v", filepath.Base(bin), err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// baseEnv is the environment a CI emulator runs with: the machine's,
// without anything evident, GitHub or GitLab would read from it (the run
// must get those from the pipeline, or the test would prove nothing), with
// binDir first on the PATH, plus extra.
func baseEnv(binDir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "EVIDENT_"), strings.HasPrefix(k, "GITHUB_"), strings.HasPrefix(k, "ACTIONS_"),
			strings.HasPrefix(k, "RUNNER_"), strings.HasPrefix(k, "CI_"), strings.HasPrefix(k, "GITLAB_"),
			k == "CI", k == "ACT", k == "PATH", k == "HOME", k == "SIGSTORE_ID_TOKEN":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PATH="+binDir+string(os.PathListSeparator)+os.Getenv("PATH"))
	env = append(env, extra...)
	for _, kv := range extra {
		if strings.HasPrefix(kv, "HOME=") {
			return env
		}
	}
	return append(env, "HOME="+os.Getenv("HOME"))
}
