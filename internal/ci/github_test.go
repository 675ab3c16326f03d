package ci

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// githubTagPush is the environment of a release job on a GitHub-hosted
// runner, started by pushing tag v2.4.0, with id-token: write.
var githubTagPush = map[string]string{
	"CI":                             "true",
	"GITHUB_ACTIONS":                 "true",
	"GITHUB_SHA":                     sha1Commit,
	"GITHUB_REPOSITORY":              "acme/wearable",
	"GITHUB_REPOSITORY_ID":           "712345678",
	"GITHUB_REPOSITORY_OWNER_ID":     "98765432",
	"GITHUB_RUN_ID":                  "11940000001",
	"GITHUB_RUN_ATTEMPT":             "1",
	"GITHUB_RUN_NUMBER":              "311",
	"GITHUB_SERVER_URL":              "https://github.com",
	"GITHUB_API_URL":                 "https://api.github.com",
	"GITHUB_EVENT_NAME":              "push",
	"GITHUB_REF":                     "refs/tags/v2.4.0",
	"GITHUB_REF_NAME":                "v2.4.0",
	"GITHUB_REF_TYPE":                "tag",
	"GITHUB_WORKFLOW":                "Release",
	"GITHUB_WORKFLOW_REF":            "acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0",
	"GITHUB_WORKFLOW_SHA":            sha1Commit,
	"GITHUB_JOB":                     "seal",
	"GITHUB_ACTOR":                   "jdoe",
	"GITHUB_TRIGGERING_ACTOR":        "jdoe",
	"RUNNER_NAME":                    "GitHub Actions 12",
	"RUNNER_OS":                      "Linux",
	"RUNNER_ARCH":                    "X64",
	"RUNNER_ENVIRONMENT":             "github-hosted",
	"ImageOS":                        "ubuntu24",
	"ImageVersion":                   "20250105.1.0",
	"ACTIONS_ID_TOKEN_REQUEST_URL":   "https://pipelines.actions.githubusercontent.com/abc/idtoken",
	"ACTIONS_ID_TOKEN_REQUEST_TOKEN": secret,
	"GITHUB_TOKEN":                   secret,
}

var githubOIDCVariables = []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"}

func TestDetectGitHub(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want Run
	}{
		{
			name: "tag push on a GitHub-hosted runner",
			env:  githubTagPush,
			want: Run{
				System:            SystemGitHubActions,
				Repository:        "https://github.com/acme/wearable",
				RepositoryID:      "712345678",
				RepositoryOwnerID: "98765432",
				ServerURL:         "https://github.com",
				Commit:            sha1Commit,
				Ref:               "refs/tags/v2.4.0",
				BuilderID:         "https://github.com/actions/runner/github-hosted",
				RunID:             "11940000001",
				RunAttempt:        "1",
				RunURL:            "https://github.com/acme/wearable/actions/runs/11940000001",
				Job:               "seal",
				InvocationID:      "https://github.com/acme/wearable/actions/runs/11940000001/attempts/1",
				Workflow:          "acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0",
				WorkflowPath:      ".github/workflows/release.yml",
				WorkflowRef:       "refs/tags/v2.4.0",
				Event:             "push",
				Actor:             "jdoe",
				Runner:            "GitHub Actions 12 (Linux/X64, github-hosted)",
				RunnerEnvironment: "github-hosted",
				Image:             "ubuntu24/20250105.1.0",
				OIDC:              OIDC{Available: true, Issuer: "https://token.actions.githubusercontent.com", Variables: githubOIDCVariables},
			},
		},
		{
			name: "pull request re-run on a self-hosted runner without id-token permission",
			env: with(githubTagPush, map[string]string{
				"GITHUB_EVENT_NAME":              "pull_request",
				"GITHUB_REF":                     "refs/pull/42/merge",
				"GITHUB_REF_NAME":                "42/merge",
				"GITHUB_REF_TYPE":                "branch",
				"GITHUB_HEAD_REF":                "feature/alarm-latency",
				"GITHUB_BASE_REF":                "main",
				"GITHUB_WORKFLOW_REF":            "acme/wearable/.github/workflows/ci.yml@refs/pull/42/merge",
				"GITHUB_RUN_ATTEMPT":             "3",
				"GITHUB_ACTOR":                   "dependabot[bot]",
				"RUNNER_NAME":                    "lab-bench-07",
				"RUNNER_ARCH":                    "ARM64",
				"RUNNER_ENVIRONMENT":             "self-hosted",
				"ImageOS":                        unset,
				"ImageVersion":                   unset,
				"ACTIONS_ID_TOKEN_REQUEST_URL":   unset,
				"ACTIONS_ID_TOKEN_REQUEST_TOKEN": unset,
			}),
			want: Run{
				System:            SystemGitHubActions,
				Repository:        "https://github.com/acme/wearable",
				RepositoryID:      "712345678",
				RepositoryOwnerID: "98765432",
				ServerURL:         "https://github.com",
				Commit:            sha1Commit,
				Ref:               "refs/pull/42/merge",
				BuilderID:         "https://github.com/actions/runner/self-hosted",
				RunID:             "11940000001",
				RunAttempt:        "3",
				RunURL:            "https://github.com/acme/wearable/actions/runs/11940000001",
				Job:               "seal",
				InvocationID:      "https://github.com/acme/wearable/actions/runs/11940000001/attempts/3",
				Workflow:          "acme/wearable/.github/workflows/ci.yml@refs/pull/42/merge",
				WorkflowPath:      ".github/workflows/ci.yml",
				WorkflowRef:       "refs/pull/42/merge",
				Event:             "pull_request",
				Actor:             "dependabot[bot]",
				Runner:            "lab-bench-07 (Linux/ARM64, self-hosted)",
				RunnerEnvironment: "self-hosted",
				OIDC:              OIDC{Issuer: "https://token.actions.githubusercontent.com", Variables: githubOIDCVariables},
			},
		},
		{
			name: "workflow_dispatch on GitHub Enterprise Server",
			env: with(githubTagPush, map[string]string{
				"GITHUB_SERVER_URL":   "https://GHE.example.com/",
				"GITHUB_EVENT_NAME":   "workflow_dispatch",
				"GITHUB_REF":          "refs/heads/release/2.4",
				"GITHUB_WORKFLOW_REF": "acme/wearable/.github/workflows/release.yml@refs/heads/release/2.4",
				"GITHUB_ACTOR":        "qa-lead",
			}),
			want: Run{
				System:            SystemGitHubActions,
				Repository:        "https://ghe.example.com/acme/wearable",
				RepositoryID:      "712345678",
				RepositoryOwnerID: "98765432",
				ServerURL:         "https://ghe.example.com",
				Commit:            sha1Commit,
				Ref:               "refs/heads/release/2.4",
				BuilderID:         "https://github.com/actions/runner/github-hosted",
				RunID:             "11940000001",
				RunAttempt:        "1",
				RunURL:            "https://ghe.example.com/acme/wearable/actions/runs/11940000001",
				Job:               "seal",
				InvocationID:      "https://ghe.example.com/acme/wearable/actions/runs/11940000001/attempts/1",
				Workflow:          "acme/wearable/.github/workflows/release.yml@refs/heads/release/2.4",
				WorkflowPath:      ".github/workflows/release.yml",
				WorkflowRef:       "refs/heads/release/2.4",
				Event:             "workflow_dispatch",
				Actor:             "qa-lead",
				Runner:            "GitHub Actions 12 (Linux/X64, github-hosted)",
				RunnerEnvironment: "github-hosted",
				Image:             "ubuntu24/20250105.1.0",
				// The issuer of an Enterprise Server is not guessed.
				OIDC: OIDC{Available: true, Variables: githubOIDCVariables},
			},
		},
		{
			// What nektos/act sets: no GITHUB_WORKFLOW_REF, GITHUB_RUN_ATTEMPT,
			// RUNNER_ENVIRONMENT, RUNNER_NAME or ImageVersion.
			name: "act emulator",
			env: map[string]string{
				"ACT":               "true",
				"CI":                "true",
				"GITHUB_ACTIONS":    "true",
				"GITHUB_SHA":        sha1Commit,
				"GITHUB_REPOSITORY": "acme/wearable",
				"GITHUB_RUN_ID":     "1",
				"GITHUB_SERVER_URL": "https://github.com",
				"GITHUB_EVENT_NAME": "push",
				"GITHUB_REF":        "refs/tags/v2.4.0",
				"GITHUB_JOB":        "seal",
				"GITHUB_ACTOR":      "nektos/act",
				"GITHUB_WORKFLOW":   "Release",
				"RUNNER_OS":         "Linux",
				"RUNNER_ARCH":       "X64",
				"ImageOS":           "ubuntu20",
			},
			want: Run{
				System:       SystemGitHubActions,
				Repository:   "https://github.com/acme/wearable",
				ServerURL:    "https://github.com",
				Commit:       sha1Commit,
				Ref:          "refs/tags/v2.4.0",
				BuilderID:    "https://github.com/actions/runner/self-hosted",
				RunID:        "1",
				RunURL:       "https://github.com/acme/wearable/actions/runs/1",
				Job:          "seal",
				InvocationID: "https://github.com/acme/wearable/actions/runs/1",
				Event:        "push",
				Actor:        "nektos/act",
				Runner:       "(Linux/X64, act emulator)",
				Image:        "ubuntu20",
				OIDC:         OIDC{Issuer: "https://token.actions.githubusercontent.com", Variables: githubOIDCVariables},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(context.Background(), MapEnv(tt.env), nil)
			if err != nil {
				t.Fatalf("Detect() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Detect() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectGitHubErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{
			name:    "missing GITHUB_SHA",
			env:     with(githubTagPush, map[string]string{"GITHUB_SHA": unset}),
			wantErr: "GitHub Actions: GITHUB_SHA is not set",
		},
		{
			name:    "several missing, all named",
			env:     with(githubTagPush, map[string]string{"GITHUB_SHA": "", "GITHUB_RUN_ID": unset, "GITHUB_SERVER_URL": unset}),
			wantErr: "GITHUB_SHA, GITHUB_RUN_ID, GITHUB_SERVER_URL are not set",
		},
		{
			name:    "short sha",
			env:     with(githubTagPush, map[string]string{"GITHUB_SHA": "8d5c4b3"}),
			wantErr: `GITHUB_SHA "8d5c4b3" is not a full commit id`,
		},
		{
			name:    "upper-case sha",
			env:     with(githubTagPush, map[string]string{"GITHUB_SHA": strings.ToUpper(sha1Commit)}),
			wantErr: "is not a full commit id",
		},
		{
			name:    "repository not owner/name",
			env:     with(githubTagPush, map[string]string{"GITHUB_REPOSITORY": "acme/../../evil"}),
			wantErr: `GITHUB_REPOSITORY "acme/../../evil" is not OWNER/NAME`,
		},
		{
			name:    "server URL not https",
			env:     with(githubTagPush, map[string]string{"GITHUB_SERVER_URL": "ftp://github.com"}),
			wantErr: `GITHUB_SERVER_URL: repository URL scheme "ftp" is not supported`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Detect(context.Background(), MapEnv(tt.env), nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Detect() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
			}
		})
	}
}

func TestSplitWorkflowRef(t *testing.T) {
	tests := []struct{ in, repo, path, ref string }{
		{"acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0", "acme/wearable", ".github/workflows/release.yml", "refs/tags/v2.4.0"},
		{"acme/wearable/.github/workflows/a@b.yml@refs/heads/main", "acme/wearable", ".github/workflows/a@b.yml", "refs/heads/main"},
		{"other/repo/.github/workflows/x.yml@v1", "acme/wearable", "other/repo/.github/workflows/x.yml", "v1"},
		{"acme/wearable/.github/workflows/x.yml", "acme/wearable", ".github/workflows/x.yml", ""},
		{"", "acme/wearable", "", ""},
	}
	for _, tt := range tests {
		p, r := splitWorkflowRef(tt.in, tt.repo)
		if p != tt.path || r != tt.ref {
			t.Errorf("splitWorkflowRef(%q) = %q, %q; want %q, %q", tt.in, p, r, tt.path, tt.ref)
		}
	}
}
