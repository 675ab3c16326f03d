package ci

import (
	"regexp"
	"strings"

	"github.com/evident-dev/evident/internal/evidence"
)

// GitHub Actions: the default environment variables of a job
// (docs.github.com, "Variables reference", default environment variables),
// plus ImageOS/ImageVersion that GitHub-hosted runner images set.

// githubBuilderPrefix is the builder id prefix actions/attest-build-provenance
// uses; the runner environment ("github-hosted" or "self-hosted") follows.
const githubBuilderPrefix = "https://github.com/actions/runner/"

// githubRepoRE matches GITHUB_REPOSITORY: owner and repository name.
var githubRepoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

// githubIssuer is the OIDC token issuer of github.com.
const githubIssuer = "https://token.actions.githubusercontent.com"

func detectGitHub(v *vars) (Run, error) {
	// Required: what every GitHub runner and the act emulator set. The
	// newer variables (GITHUB_WORKFLOW_REF, GITHUB_RUN_ATTEMPT,
	// RUNNER_ENVIRONMENT, ...) are used when present.
	sha := v.require("GITHUB_SHA")
	repo := v.require("GITHUB_REPOSITORY")
	runID := v.require("GITHUB_RUN_ID")
	serverRaw := v.require("GITHUB_SERVER_URL")
	event := v.require("GITHUB_EVENT_NAME")
	if err := v.missingError("GitHub Actions"); err != nil {
		return Run{}, err
	}
	if err := checkCommit("GITHUB_SHA", sha); err != nil {
		return Run{}, err
	}
	if !githubRepoRE.MatchString(repo) {
		return Run{}, evidence.Errorf(evidence.KindInvalid, "GITHUB_REPOSITORY %q is not OWNER/NAME", repo)
	}
	server, err := canonicalURL("GITHUB_SERVER_URL", serverRaw)
	if err != nil {
		return Run{}, err
	}
	repoURL, err := canonicalURL("GITHUB_REPOSITORY", server+"/"+repo)
	if err != nil {
		return Run{}, err
	}

	r := Run{
		System:            SystemGitHubActions,
		Repository:        repoURL,
		RepositoryID:      v.get("GITHUB_REPOSITORY_ID"),
		RepositoryOwnerID: v.get("GITHUB_REPOSITORY_OWNER_ID"),
		ServerURL:         server,
		Commit:            sha,
		Ref:               v.get("GITHUB_REF"),
		RunID:             runID,
		RunAttempt:        v.get("GITHUB_RUN_ATTEMPT"),
		RunURL:            repoURL + "/actions/runs/" + runID,
		Job:               v.get("GITHUB_JOB"),
		Workflow:          v.get("GITHUB_WORKFLOW_REF"),
		Event:             event,
		Actor:             v.get("GITHUB_ACTOR"),
		RunnerEnvironment: v.get("RUNNER_ENVIRONMENT"),
		Image:             joinNonEmpty("/", v.get("ImageOS"), v.get("ImageVersion")),
	}
	r.InvocationID = r.RunURL
	if r.RunAttempt != "" {
		r.InvocationID += "/attempts/" + r.RunAttempt
	}
	r.WorkflowPath, r.WorkflowRef = splitWorkflowRef(r.Workflow, repo)

	// Only a runner that says it is GitHub-hosted gets the hosted builder
	// id; anything else (self-hosted, act, older runners) is self-hosted.
	env := "self-hosted"
	if r.RunnerEnvironment == "github-hosted" {
		env = "github-hosted"
	}
	r.BuilderID = githubBuilderPrefix + env

	details := joinNonEmpty("/", v.get("RUNNER_OS"), v.get("RUNNER_ARCH"))
	details = joinNonEmpty(", ", details, r.RunnerEnvironment)
	if v.get("ACT") == "true" {
		details = joinNonEmpty(", ", details, "act emulator")
	}
	r.Runner = v.get("RUNNER_NAME")
	if details != "" {
		r.Runner = joinNonEmpty(" ", r.Runner, "("+details+")")
	}

	r.OIDC = OIDC{
		Available: v.present("ACTIONS_ID_TOKEN_REQUEST_URL") && v.present("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
		Variables: []string{"ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"},
	}
	if server == "https://github.com" {
		r.OIDC.Issuer = githubIssuer
	}
	return r, nil
}

// splitWorkflowRef splits GITHUB_WORKFLOW_REF
// ("owner/repo/.github/workflows/ci.yml@refs/heads/main") into the workflow
// file's path in the repository and the ref it was read at.
func splitWorkflowRef(workflowRef, repo string) (path, ref string) {
	if workflowRef == "" {
		return "", ""
	}
	rest := strings.TrimPrefix(workflowRef, repo+"/")
	if p, r, ok := strings.Cut(rest, "@refs/"); ok {
		return p, "refs/" + r
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return rest, ""
}
