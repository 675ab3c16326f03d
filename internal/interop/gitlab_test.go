package interop

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/testutil"
)

// template is the GitLab CI template, and where the example's
// .gitlab-ci.yml includes its copy from.
const (
	template     = "deploy/gitlab/templates/evident-seal.yml"
	templateCopy = "ci/evident-seal.yml"
	gitlabJob    = "evident-seal"
)

// gitlabSetup is the example project ready for gitlab-ci-local: the
// template copied where its .gitlab-ci.yml includes it from (as the README
// says to), and the project's CI/CD variables.
type gitlabSetup struct {
	gcl  string
	dir  string
	env  []string
	args []string
}

func newGitLab(t *testing.T, f *fixture) *gitlabSetup {
	t.Helper()
	gcl := tool(t, "EVIDENT_GITLAB_CI_LOCAL", "gitlab-ci-local", "scripts/tools.sh gitlab-ci-local")
	if _, err := exec.LookPath("rsync"); err != nil {
		testutil.Unavailable(t, "gitlab-ci-local needs rsync (apt-get install rsync)")
	}
	testutil.WriteFile(t, filepath.Join(f.project, templateCopy), testutil.ReadFile(t, filepath.Join(root, template)))
	testutil.Git(t, f.project, "add", templateCopy)
	testutil.Git(t, f.project, "commit", "-qm", "evident's GitLab CI template")
	testutil.Git(t, f.project, "tag", "-f", "v2.4.0")

	// The project's CI/CD variables (Settings > CI/CD > Variables), in
	// gitlab-ci-local's file for them: the key is a variable of type
	// File, so the job sees the path of a file holding it.
	vars := map[string]any{
		"EVIDENT_KEY":          map[string]any{"type": "file", "values": map[string]string{"*": string(testutil.ReadFile(t, f.keyFile))}},
		"EVIDENT_KEY_PASSWORD": keyPassword,
		"EVIDENT_SERVER":       f.server.URL(),
		"EVIDENT_TOKEN":        f.ciToken,
	}
	b, err := yaml.Marshal(vars)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteFile(t, filepath.Join(f.project, ".gitlab-ci-local-variables.yml"), b)
	return &gitlabSetup{
		gcl: gcl, dir: f.project,
		env: baseEnv(f.binDir),
		args: []string{
			"--shell-executor-no-image", "--no-color", "--home", t.TempDir(),
			// A tag pipeline on GitLab. gitlab-ci-local sets every
			// predefined variable but these: GITLAB_CI is "false" to say
			// it is not GitLab, and a tag pipeline has CI_COMMIT_TAG.
			"--variable", "GITLAB_CI=true", "--variable", "CI_COMMIT_TAG=v2.4.0",
		},
	}
}

func (s *gitlabSetup) run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runTool(t, s.dir, s.env, 5*time.Minute, s.gcl, append(append([]string(nil), s.args...), args...)...)
}

// TestGitLabTemplate runs the example's .gitlab-ci.yml, which includes the
// template, with gitlab-ci-local: the job seals the release with the key
// from a File variable, pushes it, and keeps the release directory, the
// summary and a dotenv report as artifacts. The release directory in the
// artifacts verifies offline, its provenance is GitLab CI's, and the
// archive holds the same release.
func TestGitLabTemplate(t *testing.T) {
	f := newFixture(t)
	s := newGitLab(t, f)
	out, code := s.run(t)
	if code != 0 || !strings.Contains(out, "PASS  "+gitlabJob) {
		t.Fatalf("gitlab-ci-local exited %d:\n%s", code, out)
	}
	arts := filepath.Join(f.project, ".gitlab-ci-local", "artifacts", gitlabJob)

	// The dotenv report: the job's outputs for later jobs.
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(testutil.ReadFile(t, filepath.Join(arts, ".gitlab-ci-reports", "dotenv", "evident.env")))), "\n") {
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
	md := env["manifest_digest"]
	archiveURL := f.server.URL() + "/api/v1/products/wearable-monitor/releases/2.4.0"
	if env["release"] != release || env["release_status"] != "archived" || env["archive_url"] != archiveURL {
		t.Errorf("dotenv report %v", env)
	}

	// The release directory kept as an artifact verifies offline.
	rel := filepath.Join(arts, "evident-release")
	if got := digest.FromBytes(testutil.ReadFile(t, filepath.Join(rel, "manifest.json"))).String(); got != md {
		t.Errorf("the artifact's manifest has digest %s, the dotenv report says %s", got, md)
	}
	if r := testutil.RunBinary(t, f.bins.Evident, nil, "verify", rel, "--key", f.pubFile); r.Code != 0 {
		t.Fatalf("evident verify of the artifact: %v", r)
	}
	var m struct {
		Components []struct {
			Provenance struct {
				CISystem, SourceRepo, Commit, Ref string
			}
		}
	}
	if err := json.Unmarshal(testutil.ReadFile(t, filepath.Join(rel, "manifest.json")), &m); err != nil {
		t.Fatal(err)
	}
	head := testutil.Git(t, f.project, "rev-parse", "HEAD")
	p := m.Components[0].Provenance
	if p.CISystem != "gitlab-ci" || p.Commit != head || p.Ref != "refs/tags/v2.4.0" {
		t.Errorf("provenance %+v, want gitlab-ci at %s, refs/tags/v2.4.0", p, head)
	}
	sum := string(testutil.ReadFile(t, filepath.Join(arts, "evident-summary.md")))
	if !strings.Contains(sum, "## ✅ wearable-monitor 2.4.0: sealed and archived") {
		t.Errorf("evident-summary.md:\n%s", sum)
	}
	f.checkArchived(t, md)
	if strings.Contains(out, keyPassword) || strings.Contains(out, "PRIVATE KEY") {
		t.Error("the job log shows a secret")
	}
	checkExpanded(t, f, s)
}

// checkExpanded checks that the template's inputs reach the job: the
// expanded pipeline (what GitLab runs after including the template with
// the example's inputs) names the JUnit reports, and they are the
// example's. (gitlab-ci-local does not process JUnit reports itself.)
func checkExpanded(t *testing.T, f *fixture, s *gitlabSetup) {
	t.Helper()
	out, code := s.run(t, "--preview")
	if code != 0 {
		t.Fatalf("gitlab-ci-local --preview exited %d:\n%s", code, out)
	}
	type jobDoc struct {
		Stage     string                       `yaml:"stage"`
		Script    []string                     `yaml:"script"`
		IDTokens  map[string]map[string]string `yaml:"id_tokens"`
		Artifacts struct {
			When    string   `yaml:"when"`
			Paths   []string `yaml:"paths"`
			Reports struct {
				JUnit  []string `yaml:"junit"`
				Dotenv string   `yaml:"dotenv"`
			} `yaml:"reports"`
		} `yaml:"artifacts"`
	}
	var doc map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(out[strings.Index(out, "---")+3:]), &doc); err != nil {
		t.Fatalf("--preview: %v\n%s", err, out)
	}
	node, ok := doc[gitlabJob]
	if !ok {
		t.Fatalf("no job %s in:\n%s", gitlabJob, out)
	}
	var job jobDoc
	if err := node.Decode(&job); err != nil {
		t.Fatalf("job %s: %v", gitlabJob, err)
	}
	if job.Stage != "deploy" || job.IDTokens["SIGSTORE_ID_TOKEN"]["aud"] != "sigstore" || job.Artifacts.When != "always" ||
		job.Artifacts.Reports.Dotenv != "evident.env" || strings.Join(job.Artifacts.Paths, " ") != "evident-release/ evident-summary.md" {
		t.Errorf("job %+v", job)
	}
	if strings.Join(job.Artifacts.Reports.JUnit, " ") != "reports/**/*.xml" {
		t.Fatalf("artifacts:reports:junit %q", job.Artifacts.Reports.JUnit)
	}
	matches, err := doublestar.Glob(os.DirFS(f.project), job.Artifacts.Reports.JUnit[0])
	if err != nil {
		t.Fatal(err)
	}
	// Every JUnit report evident.yaml names, and nothing else.
	want := []string{"reports/alert/integration.xml", "reports/app/integration.xml", "reports/app/unit.xml",
		"reports/dashboard/jest-junit.xml", "reports/fw/hil.xml", "reports/system/alert-chain.xml"}
	for _, w := range want {
		if !containsExact(matches, w) {
			t.Errorf("the junit report paths match %q, not %s", matches, w)
		}
	}
}

// Keyless without an ID token: the job fails with what to add. (GitLab
// provides SIGSTORE_ID_TOKEN as the template declares it; gitlab-ci-local
// does not, which is the case of a job that lacks the id_tokens entry.)
func TestGitLabTemplateKeylessWithoutToken(t *testing.T) {
	f := newFixture(t)
	s := newGitLab(t, f)
	ci := filepath.Join(f.project, ".gitlab-ci.yml")
	testutil.WriteFile(t, ci, []byte(strings.Replace(string(testutil.ReadFile(t, ci)), "      config: evident.yaml\n", "      config: evident.yaml\n      keyless: true\n", 1)))
	out, code := s.run(t)
	if code == 0 {
		t.Fatalf("gitlab-ci-local exited 0:\n%s", out)
	}
	if !strings.Contains(out, "GitLab CI did not provide an ID token in $SIGSTORE_ID_TOKEN: add to the job `id_tokens: {SIGSTORE_ID_TOKEN: {aud: sigstore}}`") {
		t.Errorf("the job's error does not say what to add:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(f.project, "evident-release")); err == nil {
		t.Error("a release directory was written")
	}
}

func containsExact(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
