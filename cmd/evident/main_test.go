package main

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
)

// These tests run the command in-process through run, main without the
// process: arguments, streams and environment are the test's own, and the
// process environment is never consulted.

// result is what one command line did.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// evident runs one command line with env as the whole environment.
func evident(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr, testutil.Lookup(env))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// wantCode fails the test unless r exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %v", code, r)
	}
}

// localEnv is the environment of a developer's machine with the key
// passphrase set: provenance comes from the project's git repository.
func localEnv() map[string]string {
	return map[string]string{envKeyPassword: testutil.Passphrase}
}

// ciEnv is a GitHub Actions job's environment with the key passphrase set:
// provenance without a git repository.
func ciEnv() map[string]string {
	env := testutil.GitHubEnv()
	env[envKeyPassword] = testutil.Passphrase
	return env
}

// keyFiles runs evident key generate into a new directory and returns the
// private and public key paths.
func keyFiles(t *testing.T, env map[string]string, args ...string) (priv, pub string) {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "release")
	wantCode(t, evident(t, env, append([]string{"key", "generate", "--out", prefix}, args...)...), exitOK)
	return prefix + ".key", prefix + ".pub"
}

// configFile is the path of the project's evident.yaml.
func configFile(project string) string { return filepath.Join(project, "evident.yaml") }

func pemType(t *testing.T, path string) string {
	t.Helper()
	b, _ := pem.Decode(testutil.ReadFile(t, path))
	if b == nil {
		t.Fatalf("%s is not PEM", path)
	}
	return b.Type
}

func TestKeyGenerate(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		pemType   string
		encrypted bool
		alg       string
	}{
		{"encrypted ECDSA by default", nil, "ENCRYPTED SIGSTORE PRIVATE KEY", true, sign.AlgECDSAP256},
		{"encrypted Ed25519", []string{"--algorithm", "ed25519"}, "ENCRYPTED SIGSTORE PRIVATE KEY", true, sign.AlgEd25519},
		{"unencrypted", []string{"--unencrypted"}, "PRIVATE KEY", false, sign.AlgECDSAP256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := filepath.Join(t.TempDir(), "release")
			r := evident(t, localEnv(), append([]string{"key", "generate", "--out", prefix}, tt.args...)...)
			wantCode(t, r, exitOK)
			priv, pub := prefix+".key", prefix+".pub"

			st, err := os.Stat(priv)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", priv, st.Mode().Perm())
			}
			if got := pemType(t, priv); got != tt.pemType {
				t.Errorf("private key PEM type %q, want %q", got, tt.pemType)
			}
			if got := pemType(t, pub); got != "PUBLIC KEY" {
				t.Errorf("public key PEM type %q", got)
			}

			calls := 0
			k, err := sign.LoadPrivateKey(testutil.ReadFile(t, priv), func() ([]byte, error) {
				calls++
				return []byte(testutil.Passphrase), nil
			})
			if err != nil {
				t.Fatalf("load the written key with the passphrase: %v", err)
			}
			if k.Encrypted() != tt.encrypted || (calls == 1) != tt.encrypted {
				t.Errorf("Encrypted() = %v after %d passphrase call(s), want %v", k.Encrypted(), calls, tt.encrypted)
			}
			if k.Algorithm() != tt.alg {
				t.Errorf("algorithm %s, want %s", k.Algorithm(), tt.alg)
			}
			p, err := sign.LoadPublicKey(testutil.ReadFile(t, pub))
			if err != nil {
				t.Fatal(err)
			}
			if !p.Equal(k.Public()) {
				t.Error("the .pub file is not the public half of the .key file")
			}
			if !strings.Contains(r.stdout, "Key ID:      "+p.ID()) {
				t.Errorf("stdout does not show the key ID %s:\n%s", p.ID(), r.stdout)
			}
			if tt.encrypted && tt.alg == sign.AlgECDSAP256 {
				_, err := sign.LoadPrivateKey(testutil.ReadFile(t, priv), func() ([]byte, error) { return []byte("not the passphrase"), nil })
				if !errors.Is(err, sign.ErrWrongPassphrase) {
					t.Errorf("another passphrase opens the key: %v", err)
				}
			}
		})
	}
}

func TestKeyGenerateRefuses(t *testing.T) {
	t.Run("to overwrite a key pair", func(t *testing.T) {
		priv, pub := keyFiles(t, localEnv())
		before := [][]byte{testutil.ReadFile(t, priv), testutil.ReadFile(t, pub)}
		r := evident(t, localEnv(), "key", "generate", "--out", strings.TrimSuffix(priv, ".key"))
		wantCode(t, r, exitError)
		if !strings.Contains(r.stderr, priv+" exists; keys are never overwritten") {
			t.Errorf("stderr does not say why:\n%s", r.stderr)
		}
		after := [][]byte{testutil.ReadFile(t, priv), testutil.ReadFile(t, pub)}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("the key files changed:\n%s", diff)
		}
	})
	t.Run("to overwrite a lone public key", func(t *testing.T) {
		prefix := filepath.Join(t.TempDir(), "release")
		testutil.WriteFile(t, prefix+".pub", []byte("someone's key\n"))
		r := evident(t, localEnv(), "key", "generate", "--out", prefix, "--unencrypted")
		wantCode(t, r, exitError)
		if !strings.Contains(r.stderr, prefix+".pub exists") {
			t.Errorf("stderr does not name the file:\n%s", r.stderr)
		}
		if _, err := os.Stat(prefix + ".key"); !os.IsNotExist(err) {
			t.Errorf("a private key was written beside the existing public key: %v", err)
		}
	})
	t.Run("without a passphrase off a terminal", func(t *testing.T) {
		prefix := filepath.Join(t.TempDir(), "release")
		r := evident(t, nil, "key", "generate", "--out", prefix)
		wantCode(t, r, exitError)
		if !strings.Contains(r.stderr, "EVIDENT_KEY_PASSWORD") {
			t.Errorf("stderr does not say how to give a passphrase:\n%s", r.stderr)
		}
		for _, p := range []string{prefix + ".key", prefix + ".pub"} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s written: %v", p, err)
			}
		}
	})
	t.Run("an unknown algorithm", func(t *testing.T) {
		prefix := filepath.Join(t.TempDir(), "release")
		r := evident(t, localEnv(), "key", "generate", "--out", prefix, "--algorithm", "rsa-2048")
		wantCode(t, r, exitError)
		if !strings.Contains(r.stderr, `"rsa-2048" is not supported`) {
			t.Errorf("stderr does not name the algorithm:\n%s", r.stderr)
		}
	})
}

var hexName = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkReleaseDir checks the documented layout: manifest.json, optionally
// bundle.sigstore.json, and evidence/sha256/<hex> holding exactly the
// files the manifest references, each with the content its name says.
func checkReleaseDir(t *testing.T, dir string, signed bool) *evidence.Manifest {
	t.Helper()
	var top []string
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		top = append(top, e.Name())
	}
	want := []string{"evidence", "manifest.json"}
	if signed {
		want = []string{"bundle.sigstore.json", "evidence", "manifest.json"}
	}
	if diff := cmp.Diff(want, top); diff != "" {
		t.Errorf("release directory entries (-want +got):\n%s", diff)
	}
	m := testutil.ReadManifest(t, dir)
	var stored []string
	blobs := filepath.Join(dir, "evidence", "sha256")
	ents, err = os.ReadDir(blobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !hexName.MatchString(e.Name()) || !e.Type().IsRegular() {
			t.Errorf("evidence/sha256/%s: not a file named by a sha256", e.Name())
			continue
		}
		if got := digest.FromBytes(testutil.ReadFile(t, filepath.Join(blobs, e.Name()))).Hex(); got != e.Name() {
			t.Errorf("evidence/sha256/%s holds content with digest %s", e.Name(), got)
		}
		stored = append(stored, "sha256:"+e.Name())
	}
	var referenced []string
	for _, d := range m.EvidenceDigests() {
		referenced = append(referenced, d.String())
	}
	sort.Strings(referenced)
	if diff := cmp.Diff(referenced, stored); diff != "" {
		t.Errorf("stored evidence is not what the manifest references (-referenced +stored):\n%s", diff)
	}
	return m
}

// The main job, as scripts/demo.sh runs it: a key, a seal of the example
// product checked out at its release tag, and an offline verification.
func TestSealAndVerify(t *testing.T) {
	project := testutil.GitProject(t, testutil.Wearable)
	head := testutil.Git(t, project, "rev-parse", "HEAD")
	priv, pub := keyFiles(t, localEnv())
	work := t.TempDir()
	out := filepath.Join(work, "wearable-monitor-2.4.0")

	r := evident(t, localEnv(), "seal", "--config", configFile(project), "--key", priv, "--out", out)
	wantCode(t, r, exitOK)
	for _, s := range []string{"wearable-monitor 2.4.0 — sealed (safety class C)", "Policy evident-iec62304-default/v1: PASS (47 rules", "Written to " + out} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("seal output lacks %q:\n%s", s, r.stdout)
		}
	}
	testutil.NoStaging(t, out)
	m := checkReleaseDir(t, out, true)

	if m.Product != (evidence.Product{Name: "wearable-monitor", Version: "2.4.0"}) || m.SafetyClass != evidence.ClassC {
		t.Errorf("product %+v, class %s", m.Product, m.SafetyClass)
	}
	var names []string
	arts := 0
	for _, c := range m.Components {
		names = append(names, c.Name)
		arts += len(c.Artifacts)
		if c.Provenance == nil {
			t.Errorf("%s: no provenance", c.Name)
			continue
		}
		want := []string{"local", testutil.RepoURL, head, "refs/tags/" + testutil.Tag}
		got := []string{c.Provenance.CISystem, c.Provenance.SourceRepo, c.Provenance.Commit, c.Provenance.Ref}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: provenance system, repository, commit, ref (-want +got):\n%s", c.Name, diff)
		}
	}
	if diff := cmp.Diff([]string{"wm-firmware", "wm-app", "wm-alert-service", "wm-dashboard"}, names); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if arts != 6 {
		t.Errorf("%d artifacts, want 6 (5 files and 1 image)", arts)
	}

	r = evident(t, nil, "verify", out, "--key", pub)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "VERIFIED wearable-monitor@2.4.0 (sha256:") {
		t.Errorf("verify output:\n%s", r.stdout)
	}
	for _, check := range []string{"manifest", "signature", "statement", "subjects", "evidence", "summaries", "policy"} {
		if !regexp.MustCompile(`(?m)^ok +` + check + ` `).MatchString(r.stdout) {
			t.Errorf("verify output has no passed %q check:\n%s", check, r.stdout)
		}
	}

	// An auditor's own policy (here the built-in table, written out) is
	// checked in addition.
	auditor := filepath.Join(work, "auditor.yaml")
	testutil.WriteFile(t, auditor, []byte("name: auditor-v1\nrules:\n  soup.support: {A: warn}\n"))
	r = evident(t, nil, "verify", out, "--key", pub, "--policy", auditor)
	wantCode(t, r, exitOK)
	if !regexp.MustCompile(`(?m)^ok +auditor policy +auditor-v1: pass`).MatchString(r.stdout) {
		t.Errorf("verify --policy output:\n%s", r.stdout)
	}
	strict := filepath.Join(work, "strict.yaml")
	testutil.WriteFile(t, strict, []byte("name: strict-v1\nrules:\n  soup.support: {A: required, B: required, C: required}\n"))
	r = evident(t, nil, "verify", out, "--key", pub, "--policy", strict)
	wantCode(t, r, exitVerification)
	if !regexp.MustCompile(`(?m)^FAIL +auditor policy +strict-v1 fails: .*wm-firmware soup.support`).MatchString(r.stdout) {
		t.Errorf("verify --policy with a stricter policy does not name component and rule:\n%s", r.stdout)
	}
}

// --json prints what the README documents, on stdout, for seal and verify.
func TestJSONOutput(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	priv, pub := keyFiles(t, nil, "--unencrypted")
	out := filepath.Join(t.TempDir(), "release")

	r := evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", priv, "--out", out, "--json")
	wantCode(t, r, exitOK)
	var seal struct {
		Release        string             `json:"release"`
		Out            string             `json:"out"`
		ManifestDigest string             `json:"manifestDigest"`
		Signed         bool               `json:"signed"`
		Bundle         string             `json:"bundle"`
		Manifest       *evidence.Manifest `json:"manifest"`
	}
	decodeJSON(t, r, &seal, "release", "out", "manifestDigest", "signed", "bundle", "manifest")
	manifestBytes := testutil.ReadFile(t, filepath.Join(out, "manifest.json"))
	if seal.Release != "wearable-monitor@2.4.0" || seal.Out != out || !seal.Signed ||
		seal.Bundle != filepath.Join(out, "bundle.sigstore.json") ||
		seal.ManifestDigest != digest.FromBytes(manifestBytes).String() {
		t.Errorf("seal --json: release %q out %q signed %v bundle %q manifestDigest %q (manifest.json is %s)",
			seal.Release, seal.Out, seal.Signed, seal.Bundle, seal.ManifestDigest, digest.FromBytes(manifestBytes))
	}
	if !evidence.Equal(seal.Manifest, testutil.ReadManifest(t, out)) {
		t.Error("the manifest printed by seal --json is not manifest.json")
	}

	r = evident(t, nil, "verify", out, "--key", pub, "--json")
	wantCode(t, r, exitOK)
	var rep struct {
		OK             bool   `json:"ok"`
		Release        string `json:"release"`
		ManifestDigest string `json:"manifestDigest"`
		Signer         string `json:"signer"`
		Artifacts      int    `json:"artifacts"`
		EvidenceFiles  int    `json:"evidenceFiles"`
		Checks         []struct {
			Name   string `json:"name"`
			OK     bool   `json:"ok"`
			Detail string `json:"detail"`
		} `json:"checks"`
	}
	decodeJSON(t, r, &rep, "ok", "release", "manifestDigest", "signer", "artifacts", "evidenceFiles", "checks")
	k, err := sign.LoadPublicKey(testutil.ReadFile(t, pub))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Release != seal.Release || rep.ManifestDigest != seal.ManifestDigest || rep.Signer != k.ID() ||
		rep.Artifacts != 6 || rep.EvidenceFiles != len(seal.Manifest.EvidenceDigests()) {
		t.Errorf("verify --json: %+v", rep)
	}
	var checks []string
	for _, c := range rep.Checks {
		checks = append(checks, c.Name)
		if !c.OK || c.Detail == "" {
			t.Errorf("check %+v", c)
		}
	}
	if diff := cmp.Diff([]string{"manifest", "signature", "statement", "subjects", "evidence", "summaries", "policy"}, checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
}

// decodeJSON decodes the --json output of r, one JSON value and nothing on
// stderr, into v, and checks that it has the documented fields.
func decodeJSON(t *testing.T, r result, v any, fields ...string) {
	t.Helper()
	if r.stderr != "" {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	for _, f := range fields {
		if _, ok := m[f]; !ok {
			t.Errorf("--json output has no %q:\n%s", f, r.stdout)
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
}

// collect writes the same release directory without signing it, and such
// a directory never verifies.
func TestCollect(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	_, pub := keyFiles(t, nil, "--unencrypted")
	out := filepath.Join(t.TempDir(), "release")
	if err := os.Mkdir(out, 0o755); err != nil { // an empty directory is fine
		t.Fatal(err)
	}
	r := evident(t, ciEnv(), "collect", "--config", configFile(project), "--out", out)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stdout, "collected (unsigned)") {
		t.Errorf("collect output:\n%s", r.stdout)
	}
	m := checkReleaseDir(t, out, false)
	if !m.Policy.Passed() {
		t.Errorf("policy %s", m.Policy.Outcome)
	}
	r = evident(t, nil, "verify", out, "--key", pub)
	wantCode(t, r, exitVerification)
	if !regexp.MustCompile(`(?m)^FAIL +signature +bundle.sigstore.json is missing`).MatchString(r.stdout) {
		t.Errorf("verify of an unsigned release:\n%s", r.stdout)
	}
}

// A release is never written over anything: an output directory that is
// not empty is refused before any work, and left as it was.
func TestSealOutputExists(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	priv, _ := keyFiles(t, nil, "--unencrypted")
	out := filepath.Join(t.TempDir(), "release")
	testutil.WriteFile(t, filepath.Join(out, "manifest.json"), []byte("the previous release\n"))
	r := evident(t, ciEnv(), "seal", "--config", configFile(project), "--key", priv, "--out", out)
	wantCode(t, r, exitError)
	if !strings.Contains(r.stderr, "output directory "+out+" is not empty") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	if got := string(testutil.ReadFile(t, filepath.Join(out, "manifest.json"))); got != "the previous release\n" {
		t.Errorf("the existing manifest changed: %q", got)
	}
	testutil.NoStaging(t, out)
}

// Flags default from EVIDENT_CONFIG and EVIDENT_KEY; --set and
// EVIDENT_PRODUCT_VERSION override the file, the flag winning.
func TestEnvironmentDefaults(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	priv, _ := keyFiles(t, nil, "--unencrypted")
	env := ciEnv()
	env["EVIDENT_CONFIG"] = configFile(project)
	env["EVIDENT_KEY"] = priv
	env["EVIDENT_PRODUCT_VERSION"] = "2.4.1"

	out := filepath.Join(t.TempDir(), "from-env")
	wantCode(t, evident(t, env, "seal", "--out", out), exitOK)
	if v := testutil.ReadManifest(t, out).Product.Version; v != "2.4.1" {
		t.Errorf("EVIDENT_PRODUCT_VERSION: version %s", v)
	}
	out = filepath.Join(t.TempDir(), "from-flag")
	wantCode(t, evident(t, env, "seal", "--out", out, "--set", "product.version=2.4.2"), exitOK)
	if v := testutil.ReadManifest(t, out).Product.Version; v != "2.4.2" {
		t.Errorf("--set: version %s", v)
	}
}

func TestUsageErrors(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	priv, pub := keyFiles(t, nil, "--unencrypted")
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"seal without --key", []string{"seal", "--config", configFile(project), "--out", "OUT"}, "--key KEY or --keyless is required"},
		{"seal without --out", []string{"seal", "--config", configFile(project), "--key", priv}, "--out DIR is required"},
		{"seal with an unknown flag", []string{"seal", "--config", configFile(project), "--key", priv, "--out", "OUT", "--sign-harder"}, "unknown flag: --sign-harder"},
		{"seal with an extra argument", []string{"seal", "--config", configFile(project), "--key", priv, "--out", "OUT", "extra"}, `unknown command "extra"`},
		{"collect with an extra argument", []string{"collect", "--config", configFile(project), "--out", "OUT", "extra"}, `unknown command "extra"`},
		{"collect without --out", []string{"collect", "--config", configFile(project)}, "--out DIR is required"},
		{"an unknown command", []string{"sael"}, `unknown command "sael" for "evident"; did you mean seal?`},
		{"an unknown key command", []string{"key", "gen"}, `unknown command "gen" for "evident key"`},
		{"an unknown flag before the command", []string{"--verbose", "seal"}, "unknown flag: --verbose"},
		{"verify without a directory", []string{"verify", "--key", pub}, "accepts 1 arg(s), received 0"},
		{"verify with two directories", []string{"verify", "OUT", "OUT2", "--key", pub}, "accepts 1 arg(s), received 2"},
		{"verify without --key", []string{"verify", "OUT"}, "--key PUB, or --certificate-identity"},
		{"key generate without --out", []string{"key", "generate"}, "--out PREFIX is required"},
		{"key generate with an argument", []string{"key", "generate", "--out", "OUT", "extra"}, `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "OUT", out)
			}
			r := evident(t, ciEnv(), args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "Run 'evident --help' for usage.") {
				t.Errorf("stderr does not say %q and point to --help:\n%s", tt.want, r.stderr)
			}
			testutil.NoOutput(t, out)
		})
	}
}

// A wrong or missing passphrase fails at once: exit 1, a message that says
// so, and nothing written.
func TestSealKeyErrors(t *testing.T) {
	project := testutil.Project(t, testutil.Wearable)
	priv, _ := keyFiles(t, ciEnv())
	wrong := ciEnv()
	wrong[envKeyPassword] = "not the passphrase"
	none := ciEnv()
	delete(none, envKeyPassword)
	tests := []struct {
		name string
		env  map[string]string
		key  string
		want string
	}{
		{"wrong passphrase", wrong, priv, "key " + priv + ": wrong passphrase"},
		{"no passphrase off a terminal", none, priv, "the key is encrypted: set EVIDENT_KEY_PASSWORD"},
		{"missing key file", ciEnv(), priv + ".missing", "key " + priv + ".missing: open"},
		{"public key given", ciEnv(), strings.TrimSuffix(priv, ".key") + ".pub", "this is a public key; a private key is needed to sign"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "release")
			r := evident(t, tt.env, "seal", "--config", configFile(project), "--key", tt.key, "--out", out)
			wantCode(t, r, exitError)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, r.stderr)
			}
			testutil.NoOutput(t, out)
		})
	}
}
