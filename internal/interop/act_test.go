package interop

import (
	"bufio"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/ghpublish/ghtest"
	"github.com/evident-dev/evident/internal/sign/signtest"
	"github.com/evident-dev/evident/internal/testutil"
)

// actRun is what one act run did, read from its JSON log.
type actRun struct {
	log       string
	jobResult string
	// outputs of the action's seal step, summaries of every step,
	// ::error annotations, and the lines the steps printed.
	outputs   map[string]string
	summaries []string
	errors    []string
	lines     []string
}

// actLine is one record of act --json.
type actLine struct {
	Msg       string   `json:"msg"`
	Command   string   `json:"command"`
	Name      string   `json:"name"`
	Arg       string   `json:"arg"`
	Content   string   `json:"content"`
	StepID    []string `json:"stepID"`
	JobResult string   `json:"jobResult"`
	Raw       bool     `json:"raw_output"`
}

func parseAct(t *testing.T, out string) actRun {
	t.Helper()
	r := actRun{log: out, outputs: map[string]string{}}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		var l actLine
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // act's own messages on stderr are not JSON
		}
		switch {
		case l.JobResult != "":
			r.jobResult = l.JobResult
		case l.Command == "set-output" && strings.Join(l.StepID, "/") == "evident/seal":
			r.outputs[l.Name] = l.Arg
		case l.Command == "summary" && strings.Join(l.StepID, "/") == "evident/seal":
			// (act reports it again for the composite step around it.)
			r.summaries = append(r.summaries, l.Content)
		case l.Command == "error":
			r.errors = append(r.errors, l.Arg)
		case l.Raw:
			r.lines = append(r.lines, strings.TrimRight(l.Msg, "\n"))
		}
	}
	return r
}

// actSetup is a project and the flags that make act run its workflow as
// GitHub would on a push of tag v2.4.0, offline.
type actSetup struct {
	act  string
	dir  string
	args []string
	env  []string
}

// newAct prepares an act run of workflow (a path in the project) with the
// secrets and variables of the example's repository. The evident action
// comes from this repository: `uses: evident-dev/evident/actions/seal@v1`
// resolves, through --local-repository, to a copy of actions/ (a copy, so
// that act reads a few files rather than the whole working tree).
//
// actions/checkout@v4 needs no download either: act replaces a checkout of
// the repository under test by a copy of the local repository into the
// job's workspace (see act's isLocalCheckout), which is what the workflow's
// first step does on GitHub. The workflow keeps `uses:
// actions/checkout@v4`, as users write it.
func newAct(t *testing.T, f *fixture, workflow string, gh *ghtest.Server) *actSetup {
	t.Helper()
	act := tool(t, "EVIDENT_ACT", "act", "scripts/tools.sh act")
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "evident")
	testutil.CopyTree(t, filepath.Join(root, "actions"), filepath.Join(repo, "actions"))
	event := filepath.Join(tmp, "event.json")
	testutil.WriteFile(t, event, []byte(`{"ref": "refs/tags/v2.4.0", "ref_name": "v2.4.0", "ref_type": "tag"}`))
	key := testutil.ReadFile(t, f.keyFile)
	s := &actSetup{act: act, dir: f.project}
	s.args = []string{
		"push", "--eventpath", event, "--workflows", workflow,
		"--platform", "ubuntu-latest=-self-hosted",
		"--local-repository", "evident-dev/evident@v1=" + repo,
		"--action-cache-path", filepath.Join(tmp, "act-cache"),
		"--no-cache-server", "--json",
		// The repository's secrets and variables. A secret named without
		// a value comes from act's environment: the key is several lines.
		"--secret", "EVIDENT_SIGNING_KEY",
		"--secret", "EVIDENT_KEY_PASSWORD=" + keyPassword,
		"--secret", "EVIDENT_TOKEN=" + f.ciToken,
		"--secret", "GITHUB_TOKEN=" + ghToken,
		"--var", "EVIDENT_SERVER=" + f.server.URL(),
	}
	if gh != nil {
		// GitHub's REST API is the fake, as for GitHub Enterprise Server.
		s.args = append(s.args, "--env", "GITHUB_API_URL="+gh.APIURL())
	}
	// A HOME of its own: act reads flags from ~/.actrc, and caches there.
	s.env = baseEnv(f.binDir, "EVIDENT_SIGNING_KEY="+string(key), "HOME="+filepath.Join(tmp, "home"), "XDG_CACHE_HOME="+filepath.Join(tmp, "cache"))
	return s
}

// ghToken is the fake GitHub's token: the job's GITHUB_TOKEN.
const ghToken = "ghs_act-job-token"

func (s *actSetup) run(t *testing.T) actRun {
	t.Helper()
	out, code := runTool(t, s.dir, s.env, 5*time.Minute, s.act, s.args...)
	r := parseAct(t, out)
	if r.jobResult == "" {
		t.Fatalf("act (exit %d) reported no job result:\n%s", code, out)
	}
	if (code == 0) != (r.jobResult == "success") {
		t.Fatalf("act exited %d with job result %s:\n%s", code, r.jobResult, out)
	}
	return r
}

// TestGitHubAction runs the example's release workflow with act: the
// action seals the release with the passphrase-protected key from a
// secret, pushes it to the archive, writes the job summary and the
// outputs, attaches the manifest and bundle to the tag's (draft) GitHub
// release and creates a check run. Then the archive's copy verifies
// offline, and everything the run reported agrees on the manifest digest.
func TestGitHubAction(t *testing.T) {
	f := newFixture(t)
	gh := ghtest.New(t, "acme-medical", "wearable-monitor", ghToken)
	gh.AddRelease("v2.3.0", false)
	gh.AddRelease("v2.4.0", true)
	s := newAct(t, f, ".github/workflows/release.yml", gh)
	r := s.run(t)
	if r.jobResult != "success" {
		t.Fatalf("the release workflow failed (errors %q):\n%s", r.errors, r.log)
	}

	md := r.outputs["manifest_digest"]
	if _, err := digest.Parse(md); err != nil {
		t.Fatalf("output manifest-digest %q: %v\n%s", md, err, r.log)
	}
	archiveURL := f.server.URL() + "/api/v1/products/wearable-monitor/releases/2.4.0"
	want := map[string]string{"release": release, "policy": "pass", "release_status": "archived", "archive_url": archiveURL}
	for k, v := range want {
		if r.outputs[k] != v {
			t.Errorf("output %s = %q, want %q", k, r.outputs[k], v)
		}
	}
	if !strings.HasSuffix(r.outputs["bundle_path"], "/evident-release/bundle.sigstore.json") {
		t.Errorf("output bundle_path %q", r.outputs["bundle_path"])
	}
	// The workflow's last step reads the action's outputs.
	shown := release + " is archived (manifest " + md + ") at " + archiveURL
	if !contains(r.lines, shown) {
		t.Errorf("the workflow's last step did not print %q:\n%s", shown, strings.Join(r.lines, "\n"))
	}

	// The job summary.
	if len(r.summaries) != 1 {
		t.Fatalf("%d job summaries, want 1:\n%s", len(r.summaries), r.log)
	}
	sum := r.summaries[0]
	for _, want := range []string{
		"## ✅ wearable-monitor 2.4.0: sealed and archived", "| Status | **archived** |", "| Manifest | `" + md + "` |",
		"| Archive | archived at <" + archiveURL + ">, log entry 0",
		"| wm-firmware | 3.1.2 | C | 38 | 1 |", "| wm-app | 5.0.1 | B |", "| wm-alert-service | 1.8.0 | C |", "| wm-dashboard | 2.7.0 | A |",
		"### Policy warnings",
	} {
		if !strings.Contains(sum, want) {
			t.Errorf("the job summary lacks %q:\n%s", want, sum)
		}
	}

	// GitHub: the release's assets are the sealed manifest and bundle,
	// the check run is on the tag's commit.
	rel := gh.Release("v2.4.0")
	man := rel.Asset("wearable-monitor-2.4.0.manifest.json")
	bundle := rel.Asset("wearable-monitor-2.4.0.bundle.sigstore.json")
	if man == nil || bundle == nil {
		t.Fatalf("assets on the v2.4.0 release: %v", rel.AssetNames())
	}
	if got := digest.FromBytes(man.Data).String(); got != md {
		t.Errorf("the attached manifest has digest %s, the action said %s", got, md)
	}
	if len(gh.Release("v2.3.0").Assets) != 0 {
		t.Error("assets went to another release")
	}
	crs := gh.CheckRuns()
	head := testutil.Git(t, f.project, "rev-parse", "HEAD")
	if len(crs) != 1 || crs[0].Conclusion != "success" || crs[0].HeadSHA != head || crs[0].ExternalID != md ||
		crs[0].DetailsURL != archiveURL || !strings.Contains(crs[0].Summary, "| wm-firmware | 3.1.2 | C |") {
		t.Errorf("check runs %+v, want one success on %s", crs, head)
	}

	f.checkArchived(t, md)

	if strings.Contains(r.log, keyPassword) || strings.Contains(r.log, f.ciToken) || strings.Contains(r.log, "PRIVATE KEY") {
		t.Error("the log shows a secret")
	}
}

// TestGitHubActionKeyless runs the release workflow signing keyless, with
// a private Sigstore instance (Fulcio, a timestamp authority, and GitHub
// Actions' token endpoint, which gives a job with `id-token: write` its
// OIDC token through ACTIONS_ID_TOKEN_REQUEST_URL): the action gets the
// token, Fulcio certifies the workflow's identity, the archive accepts the
// release for that identity, and the audit pack verifies by identity.
func TestGitHubActionKeyless(t *testing.T) {
	inst := testutil.NewSigstore(t, 0)
	trustedRoot := testutil.WriteTrustedRoot(t, filepath.Join(t.TempDir(), "trusted_root.json"), inst.TrustedRoot)
	identity := []string{"--certificate-oidc-issuer", signtest.GitHubIssuer, "--certificate-identity-regexp", testutil.WorkflowPattern, "--trusted-root", trustedRoot}
	f := newFixture(t, "--trusted-identity", signtest.GitHubIssuer+"|"+testutil.WorkflowPattern, "--trusted-root", trustedRoot)
	testutil.WriteFile(t, filepath.Join(f.project, ".github", "workflows", "release.yml"),
		testutil.ReadFile(t, filepath.Join("testdata", "workflows", "release-keyless.yml")))
	testutil.Git(t, f.project, "commit", "-qam", "sign keyless")
	testutil.Git(t, f.project, "tag", "-f", "v2.4.0")
	s := newAct(t, f, ".github/workflows/release.yml", nil)
	s.args = append(s.args, "--var", "EVIDENT_TSA="+inst.TSA.URL(),
		"--var", "EVIDENT_SEAL_ARGS=--fulcio-url "+inst.Fulcio.URL()+" --trusted-root "+trustedRoot)
	// What a job with `permissions: id-token: write` finds in its
	// environment (act does not emulate the token service).
	for k, v := range inst.GitHubEnv() {
		s.env = append(s.env, k+"="+v)
	}
	r := s.run(t)
	if r.jobResult != "success" {
		t.Fatalf("the keyless release workflow failed (errors %q):\n%s", r.errors, r.log)
	}
	if r.outputs["release_status"] != "archived" {
		t.Errorf("outputs %v", r.outputs)
	}
	if n := inst.Fulcio.Requests(); n != 1 {
		t.Errorf("Fulcio got %d requests, want 1", n)
	}
	if len(r.summaries) != 1 || !strings.Contains(r.summaries[0], "| Signed by | `"+signtest.GitHubIssuer+"\\|"+testutil.WorkflowSubject+"` |") {
		t.Errorf("the job summary does not name the workflow as the signer:\n%q", r.summaries)
	}
	f.checkArchived(t, r.outputs["manifest_digest"], identity...)
}

// A job without `permissions: id-token: write` cannot sign keyless; the
// action says exactly that, before doing anything else.
func TestGitHubActionKeylessWithoutPermission(t *testing.T) {
	f := newFixture(t)
	testutil.CopyTree(t, filepath.Join("testdata", "workflows"), filepath.Join(f.project, ".github", "interop"))
	s := newAct(t, f, ".github/interop/keyless-no-permission.yml", nil)
	r := s.run(t)
	if r.jobResult != "failure" {
		t.Fatalf("job result %s, want failure:\n%s", r.jobResult, r.log)
	}
	want := "keyless signing needs the job permission id-token: write, and the job does not have it (ACTIONS_ID_TOKEN_REQUEST_URL is not set)"
	if len(r.errors) != 1 || !strings.HasPrefix(r.errors[0], want) {
		t.Errorf("errors %q, want one starting %q", r.errors, want)
	}
}

// A release whose policy fails is not signed and not pushed; the step
// fails with exit code 4, and the job summary and the check run say what
// is missing.
func TestGitHubActionPolicyFailure(t *testing.T) {
	f := newFixture(t)
	anomalies := filepath.Join(f.project, "anomalies", "fw.yaml")
	b := append(testutil.ReadFile(t, anomalies), "\n  - id: ANOM-FW-0099\n    title: Display flickers below 5 % battery\n    kind: usability\n    status: open\n"...)
	testutil.WriteFile(t, anomalies, b)
	testutil.Git(t, f.project, "commit", "-qam", "an anomaly nobody evaluated")
	testutil.Git(t, f.project, "tag", "-f", "v2.4.0")
	gh := ghtest.New(t, "acme-medical", "wearable-monitor", ghToken)
	gh.AddRelease("v2.4.0", false)
	r := newAct(t, f, ".github/workflows/release.yml", gh).run(t)
	if r.jobResult != "failure" {
		t.Fatalf("job result %s, want failure:\n%s", r.jobResult, r.log)
	}
	if r.outputs["release_status"] != "policy-failed" || r.outputs["policy"] != "fail" || r.outputs["bundle_path"] != "" {
		t.Errorf("outputs %v", r.outputs)
	}
	if len(r.summaries) != 1 || !strings.Contains(r.summaries[0], "## ❌ wearable-monitor 2.4.0: NOT SEALED, the policy failed") ||
		!strings.Contains(r.summaries[0], "ANOM-FW-0099") {
		t.Errorf("job summaries %q", r.summaries)
	}
	if !contains(r.errors, "the release was NOT sealed: the IEC 62304 policy failed (the job summary lists what is missing)") {
		t.Errorf("errors %q", r.errors)
	}
	crs := gh.CheckRuns()
	if len(crs) != 1 || crs[0].Conclusion != "failure" || !strings.Contains(crs[0].Summary, "ANOM-FW-0099") {
		t.Errorf("check runs %+v", crs)
	}
	if n := len(gh.Release("v2.4.0").Assets); n != 0 {
		t.Errorf("%d assets attached for a release that was not sealed", n)
	}
	env := []string{"EVIDENT_SERVER=" + f.server.URL(), "EVIDENT_TOKEN=" + f.auditor}
	if res := testutil.RunBinary(t, f.bins.Evident, env, "show", release); res.Code == 0 {
		t.Errorf("the archive has the release that failed its policy:\n%v", res)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
