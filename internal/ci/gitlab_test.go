package ci

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// gitlabTagPipeline is the environment of a release job in a pipeline for
// tag v2.4.0 on a self-managed GitLab, with a SIGSTORE_ID_TOKEN id token.
var gitlabTagPipeline = map[string]string{
	"CI":                        "true",
	"GITLAB_CI":                 "true",
	"CI_SERVER_URL":             "https://gitlab.example.com",
	"CI_SERVER_HOST":            "gitlab.example.com",
	"CI_PROJECT_URL":            "https://gitlab.example.com/medical/firmware",
	"CI_PROJECT_PATH":           "medical/firmware",
	"CI_PROJECT_ID":             "4711",
	"CI_PROJECT_NAMESPACE_ID":   "815",
	"CI_COMMIT_SHA":             sha1Commit,
	"CI_COMMIT_TAG":             "v2.4.0",
	"CI_COMMIT_REF_NAME":        "v2.4.0",
	"CI_PIPELINE_ID":            "1200345",
	"CI_PIPELINE_URL":           "https://gitlab.example.com/medical/firmware/-/pipelines/1200345",
	"CI_PIPELINE_SOURCE":        "push",
	"CI_JOB_ID":                 "98001234",
	"CI_JOB_NAME":               "seal",
	"CI_JOB_URL":                "https://gitlab.example.com/medical/firmware/-/jobs/98001234",
	"CI_JOB_STARTED_AT":         "2025-03-04T09:15:02Z",
	"CI_JOB_IMAGE":              "registry.example.com/build/arm-gcc:13.2@sha256:0f6b8d2c9e1a7b3c5d4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c",
	"CI_CONFIG_PATH":            ".gitlab-ci.yml",
	"GITLAB_USER_LOGIN":         "jdoe",
	"CI_RUNNER_ID":              "12270",
	"CI_RUNNER_DESCRIPTION":     "fw-runner-2",
	"CI_RUNNER_TAGS":            `["docker", "arm"]`,
	"CI_RUNNER_VERSION":         "17.4.0",
	"CI_RUNNER_EXECUTABLE_ARCH": "linux/amd64",
	"CI_JOB_TOKEN":              secret,
	"SIGSTORE_ID_TOKEN":         secret,
}

func TestDetectGitLab(t *testing.T) {
	tagRun := Run{
		System:            SystemGitLabCI,
		Repository:        "https://gitlab.example.com/medical/firmware",
		RepositoryID:      "4711",
		RepositoryOwnerID: "815",
		ServerURL:         "https://gitlab.example.com",
		Commit:            sha1Commit,
		Ref:               "refs/tags/v2.4.0",
		BuilderID:         "https://gitlab.example.com/medical/firmware/-/runners/12270",
		RunID:             "1200345",
		RunURL:            "https://gitlab.example.com/medical/firmware/-/pipelines/1200345",
		Job:               "seal",
		JobID:             "98001234",
		InvocationID:      "https://gitlab.example.com/medical/firmware/-/jobs/98001234",
		Workflow:          ".gitlab-ci.yml",
		WorkflowPath:      ".gitlab-ci.yml",
		Event:             "push",
		Actor:             "jdoe",
		Runner:            "fw-runner-2 (#12270, linux/amd64, gitlab-runner 17.4.0, tags: docker, arm)",
		Image:             "registry.example.com/build/arm-gcc:13.2@sha256:0f6b8d2c9e1a7b3c5d4e6f8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a5b7c",
		JobStartedAt:      time.Date(2025, 3, 4, 9, 15, 2, 0, time.UTC),
		OIDC:              OIDC{Available: true, Issuer: "https://gitlab.example.com", Variables: []string{"SIGSTORE_ID_TOKEN"}},
	}
	mrEnv := with(gitlabTagPipeline, map[string]string{
		"CI_COMMIT_TAG":                       unset,
		"CI_COMMIT_REF_NAME":                  "feature/alarm-latency",
		"CI_PIPELINE_SOURCE":                  "merge_request_event",
		"CI_MERGE_REQUEST_IID":                "7",
		"CI_MERGE_REQUEST_REF_PATH":           "refs/merge-requests/7/head",
		"CI_MERGE_REQUEST_EVENT_TYPE":         "detached",
		"CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": "feature/alarm-latency",
		"CI_JOB_STARTED_AT":                   "2025-03-04T10:15:02+01:00",
		"SIGSTORE_ID_TOKEN":                   unset,
		"GITLAB_USER_LOGIN":                   "asmith",
	})
	mrRun := tagRun
	mrRun.Ref = "refs/merge-requests/7/head"
	mrRun.Event = "merge_request_event"
	mrRun.Actor = "asmith"
	mrRun.OIDC.Available = false

	mergedRun := mrRun
	mergedRun.Ref = "refs/merge-requests/7/merge"

	branchRun := tagRun
	branchRun.Ref = "refs/heads/main"
	branchRun.Event = "schedule"

	tests := []struct {
		name string
		env  map[string]string
		want Run
	}{
		{name: "tag pipeline", env: gitlabTagPipeline, want: tagRun},
		{name: "merge request pipeline", env: mrEnv, want: mrRun},
		{name: "merged results pipeline", env: with(mrEnv, map[string]string{"CI_MERGE_REQUEST_EVENT_TYPE": "merged_result"}), want: mergedRun},
		{
			name: "scheduled branch pipeline",
			env: with(gitlabTagPipeline, map[string]string{
				"CI_COMMIT_TAG": unset, "CI_COMMIT_BRANCH": "main", "CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_SOURCE": "schedule",
			}),
			want: branchRun,
		},
		{
			// What gitlab-ci-local sets (with GITLAB_CI=true passed in by
			// the user): no runner, image, config path or namespace id;
			// server URLs carry :443.
			name: "gitlab-ci-local",
			env: map[string]string{
				"CI":                 "true",
				"GITLAB_CI":          "true",
				"CI_COMMIT_SHA":      sha1Commit,
				"CI_COMMIT_BRANCH":   "main",
				"CI_COMMIT_REF_NAME": "main",
				"CI_PROJECT_ID":      "1217",
				"CI_PROJECT_PATH":    "medical/firmware",
				"CI_SERVER_URL":      "https://gitlab.example.com:443",
				"CI_PROJECT_URL":     "https://gitlab.example.com/medical/firmware",
				"CI_PIPELINE_ID":     "1001",
				"CI_PIPELINE_SOURCE": "push",
				"CI_PIPELINE_URL":    "https://gitlab.example.com/medical/firmware/pipelines/1",
				"CI_JOB_ID":          "52",
				"CI_JOB_NAME":        "seal",
				"CI_JOB_URL":         "https://gitlab.example.com/medical/firmware/-/jobs/52",
				"CI_JOB_STARTED_AT":  "2025-03-04T09:15:02Z",
				"GITLAB_USER_LOGIN":  "local",
			},
			want: Run{
				System:       SystemGitLabCI,
				Repository:   "https://gitlab.example.com/medical/firmware",
				RepositoryID: "1217",
				ServerURL:    "https://gitlab.example.com",
				Commit:       sha1Commit,
				Ref:          "refs/heads/main",
				BuilderID:    "https://evident.dev/builders/gitlab-ci/unidentified-runner",
				RunID:        "1001",
				RunURL:       "https://gitlab.example.com/medical/firmware/pipelines/1",
				Job:          "seal",
				JobID:        "52",
				InvocationID: "https://gitlab.example.com/medical/firmware/-/jobs/52",
				Event:        "push",
				Actor:        "local",
				JobStartedAt: time.Date(2025, 3, 4, 9, 15, 2, 0, time.UTC),
				OIDC:         OIDC{Issuer: "https://gitlab.example.com", Variables: []string{"SIGSTORE_ID_TOKEN"}},
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

func TestDetectGitLabErrors(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{
			name:    "missing CI_COMMIT_SHA",
			env:     with(gitlabTagPipeline, map[string]string{"CI_COMMIT_SHA": unset}),
			wantErr: "GitLab CI: CI_COMMIT_SHA is not set",
		},
		{
			name:    "missing job identity",
			env:     with(gitlabTagPipeline, map[string]string{"CI_JOB_ID": unset, "CI_JOB_URL": unset}),
			wantErr: "CI_JOB_ID, CI_JOB_URL are not set",
		},
		{
			name:    "bad commit",
			env:     with(gitlabTagPipeline, map[string]string{"CI_COMMIT_SHA": "zz" + sha1Commit[2:]}),
			wantErr: "CI_COMMIT_SHA",
		},
		{
			name:    "bad job start time",
			env:     with(gitlabTagPipeline, map[string]string{"CI_JOB_STARTED_AT": "yesterday"}),
			wantErr: `CI_JOB_STARTED_AT "yesterday" is not an RFC 3339 time`,
		},
		{
			name:    "project URL not a URL",
			env:     with(gitlabTagPipeline, map[string]string{"CI_PROJECT_URL": "medical/firmware"}),
			wantErr: "CI_PROJECT_URL: repository URL scheme",
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
