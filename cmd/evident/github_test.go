package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/ghpublish/ghtest"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/testutil"
)

// failingRelease collects the example with an unevaluated anomaly into a
// directory: the policy fails, and collect writes it anyway.
func failingRelease(t *testing.T) string {
	t.Helper()
	project := testutil.Project(t, testutil.Wearable)
	appendTo("anomalies/fw.yaml", "\n  - id: ANOM-FW-0099\n    title: Display flickers below 5 % battery\n    kind: usability\n    status: open\n")(t, project)
	out := filepath.Join(t.TempDir(), "collected")
	wantCode(t, evident(t, ciEnv(), "collect", "--config", configFile(project), "--out", out), exitPolicy)
	return out
}

// readOutputs parses key=value lines.
func readOutputs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(testutil.ReadFile(t, path))), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("outputs line %q is not key=value", line)
		}
		out[k] = v
	}
	return out
}

func TestSummary(t *testing.T) {
	dir, pub, _ := sealedRelease(t)
	md := digest.FromBytes(testutil.ReadFile(t, filepath.Join(dir, "manifest.json"))).String()

	t.Run("sealed", func(t *testing.T) {
		outputs := filepath.Join(t.TempDir(), "github_output")
		testutil.WriteFile(t, outputs, []byte("earlier=step\n"))
		r := evident(t, nil, "summary", dir, "--outputs", outputs)
		wantCode(t, r, exitOK)
		wantStdout(t, r, "## ✅ wearable-monitor 2.4.0: sealed (not pushed to an archive)", "| Manifest | `"+md+"` |",
			"| wm-firmware | 3.1.2 | C |", "| wm-dashboard | 2.7.0 | A |")
		want := map[string]string{
			"earlier": "step", "release": "wearable-monitor@2.4.0", "product": "wearable-monitor", "version": "2.4.0",
			"manifest_digest": md, "release_dir": dir, "bundle_path": filepath.Join(dir, "bundle.sigstore.json"),
			"policy": "pass", "release_status": "sealed",
		}
		if diff := cmp.Diff(want, readOutputs(t, outputs)); diff != "" {
			t.Errorf("outputs (-want +got):\n%s", diff)
		}
	})

	t.Run("archived", func(t *testing.T) {
		s := newArchiveServer(t, sign.Trust{Keys: []*sign.PublicKey{loadPub(t, pub)}}, nil)
		r := evident(t, s.env(auth.RoleCI, nil), "push", dir, "--json")
		wantCode(t, r, exitOK)
		pushed := filepath.Join(t.TempDir(), "push.json")
		testutil.WriteFile(t, pushed, []byte(r.stdout))
		outputs := filepath.Join(t.TempDir(), "github_output")
		r = evident(t, s.env(auth.RoleCI, nil), "summary", dir, "--pushed", pushed, "--outputs", outputs)
		wantCode(t, r, exitOK)
		url := s.url + "/api/v1/products/wearable-monitor/releases/2.4.0"
		wantStdout(t, r, "## ✅ wearable-monitor 2.4.0: sealed and archived", "| Archive | archived at <"+url+">, log entry 0")
		got := readOutputs(t, outputs)
		if got["release_status"] != "archived" || got["archive_url"] != url {
			t.Errorf("outputs %v", got)
		}

		// A push result for another release is refused.
		r = evident(t, nil, "summary", failingRelease(t), "--pushed", pushed)
		wantCode(t, r, exitError)
		wantStderr(t, r, "push result "+pushed+" is for manifest "+md)
	})

	t.Run("policy failed", func(t *testing.T) {
		out := failingRelease(t)
		outputs := filepath.Join(t.TempDir(), "github_output")
		r := evident(t, nil, "summary", out, "--outputs", outputs)
		wantCode(t, r, exitOK)
		wantStdout(t, r, "## ❌ wearable-monitor 2.4.0: NOT SEALED, the policy failed", "### Policy failures",
			"**wm-firmware** `anomalies.evaluated`", "ANOM-FW-0099")
		got := readOutputs(t, outputs)
		if got["release_status"] != "policy-failed" || got["policy"] != "fail" || got["bundle_path"] != "" {
			t.Errorf("outputs %v", got)
		}
	})

	t.Run("not a release directory", func(t *testing.T) {
		r := evident(t, nil, "summary", t.TempDir())
		wantCode(t, r, exitError)
		wantStderr(t, r, "is not a release directory")
	})
}

func TestGitHubPublish(t *testing.T) {
	const token = "ghs_publish-test-token"
	dir, _, _ := sealedRelease(t)
	gh := ghtest.New(t, "acme-medical", "wearable-monitor", token)
	gh.AddRelease("v2.4.0", true)
	env := func(extra map[string]string) map[string]string {
		e := testutil.GitHubEnv()
		e["GITHUB_API_URL"] = gh.APIURL()
		e["GITHUB_TOKEN"] = token
		for k, v := range extra {
			e[k] = v
		}
		return e
	}

	r := evident(t, env(nil), "github", "publish", dir, "--attach", "--check-run")
	wantCode(t, r, exitOK)
	wantStdout(t, r, `check run "evident" on `+testutil.GitHubCommit+": success", "GitHub release v2.4.0 (draft) of acme-medical/wearable-monitor:",
		"  wearable-monitor-2.4.0.manifest.json (uploaded)\n", "  wearable-monitor-2.4.0.bundle.sigstore.json (uploaded)\n")
	rel := gh.Release("v2.4.0")
	for name, file := range map[string]string{"wearable-monitor-2.4.0.manifest.json": "manifest.json", "wearable-monitor-2.4.0.bundle.sigstore.json": "bundle.sigstore.json"} {
		if a := rel.Asset(name); a == nil || string(a.Data) != string(testutil.ReadFile(t, filepath.Join(dir, file))) {
			t.Errorf("asset %s is not %s", name, file)
		}
	}
	crs := gh.CheckRuns()
	if len(crs) != 1 || crs[0].Conclusion != "success" || crs[0].HeadSHA != testutil.GitHubCommit ||
		!strings.Contains(crs[0].Summary, "| wm-firmware | 3.1.2 | C |") || crs[0].Title != "wearable-monitor 2.4.0: sealed (not pushed to an archive)" ||
		crs[0].DetailsURL != "https://github.com/acme-medical/wearable-monitor/actions/runs/11223344" {
		t.Errorf("check runs %+v", crs)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("the token was printed")
	}

	t.Run("re-run", func(t *testing.T) {
		r := evident(t, env(nil), "github", "publish", dir, "--attach")
		wantCode(t, r, exitOK)
		wantStdout(t, r, "  wearable-monitor-2.4.0.manifest.json (unchanged)\n", "  wearable-monitor-2.4.0.bundle.sigstore.json (unchanged)\n")
	})

	t.Run("a failing policy is a failed check", func(t *testing.T) {
		out := failingRelease(t)
		r := evident(t, env(nil), "github", "publish", out, "--check-run")
		wantCode(t, r, exitOK)
		crs := gh.CheckRuns()
		last := crs[len(crs)-1]
		if last.Conclusion != "failure" || !strings.Contains(last.Summary, "ANOM-FW-0099") || !strings.HasPrefix(last.Title, "wearable-monitor 2.4.0: NOT SEALED") {
			t.Errorf("check run %+v", last)
		}
		r = evident(t, env(nil), "github", "publish", out, "--attach")
		wantCode(t, r, exitError)
		wantStderr(t, r, "is not sealed (no bundle.sigstore.json): only a sealed release is attached")
	})

	t.Run("missing permissions: both are tried, both are named", func(t *testing.T) {
		gh.ChecksWrite, gh.ContentsWrite = false, false
		defer func() { gh.ChecksWrite, gh.ContentsWrite = true, true }()
		gh.AddRelease("v2.4.1", false)
		r := evident(t, env(map[string]string{"GITHUB_REF": "refs/tags/v2.4.1"}), "github", "publish", dir, "--attach", "--check-run")
		wantCode(t, r, exitError)
		wantStderr(t, r, `lacks the "checks: write" permission`, `lacks the "contents: write" permission`)
	})

	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		want string
	}{
		{"branch build", map[string]string{"GITHUB_REF": "refs/heads/main"}, []string{"--attach"}, exitError,
			"--attach needs a tag build (GITHUB_REF is refs/heads/main)"},
		{"no token", map[string]string{"GITHUB_TOKEN": ""}, []string{"--check-run"}, exitError, "no GitHub token"},
		{"nothing to do", nil, nil, exitUsage, "give --attach, --check-run or both"},
		{"no release for the tag", map[string]string{"GITHUB_REF": "refs/tags/v9.9.9"}, []string{"--attach"}, exitError,
			"GitHub release of tag v9.9.9 in acme-medical/wearable-monitor: there is none"},
		{"outside GitHub Actions", map[string]string{"GITHUB_REPOSITORY": ""}, []string{"--check-run"}, exitUsage, "--repository OWNER/NAME is required"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := evident(t, env(c.env), append([]string{"github", "publish", dir}, c.args...)...)
			wantCode(t, r, c.code)
			wantStderr(t, r, c.want)
		})
	}
}

func TestSummaryOutputsFileError(t *testing.T) {
	dir, _, _ := sealedRelease(t)
	r := evident(t, nil, "summary", dir, "--outputs", filepath.Join(t.TempDir(), "no", "such", "dir", "out"))
	wantCode(t, r, exitError)
	wantStderr(t, r, "outputs:")
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
		t.Fatal(err)
	}
}
