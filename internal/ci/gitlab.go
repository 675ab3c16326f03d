package ci

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

// GitLab CI: the predefined CI/CD variables of a job (docs.gitlab.com,
// "Predefined CI/CD variables reference").

// gitlabUnidentifiedRunner is the builder id when the job does not say which
// runner ran it (CI_RUNNER_ID unset, as under gitlab-ci-local).
const gitlabUnidentifiedRunner = "https://evident.dev/builders/gitlab-ci/unidentified-runner"

// gitlabTokenVariable is the conventional name of the job's Sigstore ID
// token, declared in the job with
//
//	id_tokens:
//	  SIGSTORE_ID_TOKEN:
//	    aud: sigstore
const gitlabTokenVariable = "SIGSTORE_ID_TOKEN"

func detectGitLab(v *vars) (Run, error) {
	sha := v.require("CI_COMMIT_SHA")
	projectRaw := v.require("CI_PROJECT_URL")
	serverRaw := v.require("CI_SERVER_URL")
	pipelineID := v.require("CI_PIPELINE_ID")
	jobID := v.require("CI_JOB_ID")
	jobURLRaw := v.require("CI_JOB_URL")
	source := v.require("CI_PIPELINE_SOURCE")
	if err := v.missingError("GitLab CI"); err != nil {
		return Run{}, err
	}
	if err := checkCommit("CI_COMMIT_SHA", sha); err != nil {
		return Run{}, err
	}
	project, err := canonicalURL("CI_PROJECT_URL", projectRaw)
	if err != nil {
		return Run{}, err
	}
	server, err := canonicalURL("CI_SERVER_URL", serverRaw)
	if err != nil {
		return Run{}, err
	}
	jobURL, err := canonicalURL("CI_JOB_URL", jobURLRaw)
	if err != nil {
		return Run{}, err
	}
	pipelineURL := ""
	if raw := v.get("CI_PIPELINE_URL"); raw != "" {
		if pipelineURL, err = canonicalURL("CI_PIPELINE_URL", raw); err != nil {
			return Run{}, err
		}
	}

	r := Run{
		System:            SystemGitLabCI,
		Repository:        project,
		RepositoryID:      v.get("CI_PROJECT_ID"),
		RepositoryOwnerID: v.get("CI_PROJECT_NAMESPACE_ID"),
		ServerURL:         server,
		Commit:            sha,
		Ref:               gitlabRef(v),
		RunID:             pipelineID,
		RunURL:            pipelineURL,
		Job:               v.get("CI_JOB_NAME"),
		JobID:             jobID,
		InvocationID:      jobURL,
		Workflow:          v.get("CI_CONFIG_PATH"),
		Event:             source,
		Actor:             v.get("GITLAB_USER_LOGIN"),
		Image:             v.get("CI_JOB_IMAGE"),
	}
	r.WorkflowPath = r.Workflow

	if runner := v.get("CI_RUNNER_ID"); runner != "" {
		r.BuilderID = project + "/-/runners/" + runner
	} else {
		r.BuilderID = gitlabUnidentifiedRunner
	}
	r.Runner = gitlabRunner(v)

	if s := v.get("CI_JOB_STARTED_AT"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return Run{}, evidence.Errorf(evidence.KindInvalid, "CI_JOB_STARTED_AT %q is not an RFC 3339 time", s)
		}
		r.JobStartedAt = t.UTC()
	}

	r.OIDC = OIDC{
		Available: v.present(gitlabTokenVariable),
		Issuer:    server,
		Variables: []string{gitlabTokenVariable},
	}
	return r, nil
}

// gitlabRef returns the fully qualified ref the pipeline built.
func gitlabRef(v *vars) string {
	if tag := v.get("CI_COMMIT_TAG"); tag != "" {
		return "refs/tags/" + tag
	}
	if mr := v.get("CI_MERGE_REQUEST_REF_PATH"); mr != "" {
		// Merged-results and merge-train pipelines build GitLab's merge
		// commit, which lives beside the MR's head ref.
		switch v.get("CI_MERGE_REQUEST_EVENT_TYPE") {
		case "merged_result":
			return strings.TrimSuffix(mr, "/head") + "/merge"
		case "merge_train":
			return strings.TrimSuffix(mr, "/head") + "/train"
		}
		return mr
	}
	if b := v.get("CI_COMMIT_BRANCH"); b != "" {
		return "refs/heads/" + b
	}
	if n := v.get("CI_COMMIT_REF_NAME"); n != "" {
		return "refs/heads/" + n
	}
	return ""
}

// gitlabRunner describes the runner for people, e.g.
// "shared-runner-3 (#12270, linux/amd64, gitlab-runner 17.4.0, tags: docker, linux)".
func gitlabRunner(v *vars) string {
	var details []string
	if id := v.get("CI_RUNNER_ID"); id != "" {
		details = append(details, "#"+id)
	}
	if arch := v.get("CI_RUNNER_EXECUTABLE_ARCH"); arch != "" {
		details = append(details, arch)
	}
	if ver := v.get("CI_RUNNER_VERSION"); ver != "" {
		details = append(details, "gitlab-runner "+ver)
	}
	if tags := runnerTags(v.get("CI_RUNNER_TAGS")); len(tags) > 0 {
		details = append(details, "tags: "+strings.Join(tags, ", "))
	}
	desc := v.get("CI_RUNNER_DESCRIPTION")
	if len(details) == 0 {
		return desc
	}
	return joinNonEmpty(" ", desc, "("+strings.Join(details, ", ")+")")
}

// runnerTags reads CI_RUNNER_TAGS: a JSON array in current GitLab, a
// comma-separated list in older versions.
func runnerTags(s string) []string {
	if s == "" {
		return nil
	}
	var tags []string
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &tags) == nil {
		return tags
	}
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			tags = append(tags, t)
		}
	}
	return tags
}
