// Package ci finds out where a build runs: GitHub Actions, GitLab CI or a
// developer's machine, and describes that run (source repository, commit and
// ref, builder, run identity, runner, OIDC availability) for the build
// provenance of every component.
//
// Each CI system lives in its own file. Environment variables are read only
// through an injected Env, and the local repository only through an injected
// Git, so the same logic runs against os.LookupEnv and the git binary in main
// and against maps and temporary repositories in tests.
//
// Nothing here ever copies a secret: a variable whose name contains TOKEN,
// PASSWORD or SECRET can be tested for presence but its value is never read,
// and credentials embedded in URLs are stripped before a URL is recorded.
package ci

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/evidence"
)

// Env looks up an environment variable; ok is false when it is not set.
// main passes os.LookupEnv, tests a map's lookup.
type Env func(key string) (value string, ok bool)

// MapEnv returns an Env backed by m (nil is an empty environment).
func MapEnv(m map[string]string) Env {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// Names of the CI systems a Run can come from.
const (
	SystemGitHubActions = "github-actions"
	SystemGitLabCI      = "gitlab-ci"
	SystemLocal         = "local"
)

// BuilderLocal is the builder id of a build on a developer's machine: no
// platform vouches for it, and the id says so.
const BuilderLocal = "https://evident.dev/builders/local"

// Run describes one CI run (or local build) as evidence: where the source
// came from, who built it on what, and how to find the run again. String
// fields are empty when the system does not say. No field ever holds a secret.
type Run struct {
	// System is SystemGitHubActions, SystemGitLabCI or SystemLocal.
	System string `json:"system"`
	// Repository is the canonical https URL of the source repository, e.g.
	// "https://github.com/acme/wearable": no credentials, no ".git" suffix.
	// Empty for a local repository without an origin remote.
	Repository string `json:"repository,omitempty"`
	// RepositoryID and RepositoryOwnerID are the platform's stable numeric
	// ids (GITHUB_REPOSITORY_ID / GITHUB_REPOSITORY_OWNER_ID, CI_PROJECT_ID /
	// CI_PROJECT_NAMESPACE_ID); they survive renames.
	RepositoryID      string `json:"repositoryId,omitempty"`
	RepositoryOwnerID string `json:"repositoryOwnerId,omitempty"`
	// ServerURL is the platform's base URL, e.g. "https://github.com".
	ServerURL string `json:"serverUrl,omitempty"`
	// Commit is the full lower-case hex id of the built commit.
	Commit string `json:"commit"`
	// Ref is the fully qualified git ref that was built: "refs/tags/v2.4.0",
	// "refs/heads/main", "refs/pull/42/merge", "refs/merge-requests/7/head".
	// Empty when no ref names the commit (a detached local checkout).
	Ref string `json:"ref,omitempty"`
	// Dirty reports uncommitted changes in a local working tree (tracked or
	// untracked, ignored files excepted). Never set for CI runs.
	Dirty bool `json:"dirty,omitempty"`
	// BuilderID is the SLSA builder id: who vouches for this build.
	BuilderID string `json:"builderId"`
	// RunID, RunAttempt and RunURL identify the workflow run (GitHub) or
	// pipeline (GitLab).
	RunID      string `json:"runId,omitempty"`
	RunAttempt string `json:"runAttempt,omitempty"`
	RunURL     string `json:"runUrl,omitempty"`
	// Job is the job's name in the CI configuration (GITHUB_JOB,
	// CI_JOB_NAME); JobID its numeric id where the system has one (GitLab).
	Job   string `json:"job,omitempty"`
	JobID string `json:"jobId,omitempty"`
	// InvocationID is a URI naming this one execution of the job, unique
	// across retries: GitHub RunURL/attempts/N, GitLab CI_JOB_URL.
	InvocationID string `json:"invocationId,omitempty"`
	// Workflow names the CI definition that ran: GitHub GITHUB_WORKFLOW_REF
	// ("acme/wearable/.github/workflows/release.yml@refs/tags/v2.4.0"),
	// GitLab CI_CONFIG_PATH. WorkflowPath is its path in the repository and
	// WorkflowRef the ref it was read at, where known.
	Workflow     string `json:"workflow,omitempty"`
	WorkflowPath string `json:"workflowPath,omitempty"`
	WorkflowRef  string `json:"workflowRef,omitempty"`
	// Event is what started the run: GitHub GITHUB_EVENT_NAME (push,
	// pull_request, workflow_dispatch, ...), GitLab CI_PIPELINE_SOURCE
	// (push, merge_request_event, web, schedule, ...).
	Event string `json:"event,omitempty"`
	// Actor is the login of the person or app that started the run.
	Actor string `json:"actor,omitempty"`
	// Runner describes the machine that ran the job, for people.
	Runner string `json:"runner,omitempty"`
	// RunnerEnvironment is "github-hosted" or "self-hosted" on GitHub
	// (RUNNER_ENVIRONMENT); empty where the system does not say.
	RunnerEnvironment string `json:"runnerEnvironment,omitempty"`
	// Image identifies the runner or job image when known: GitHub
	// "ImageOS/ImageVersion", GitLab CI_JOB_IMAGE.
	Image string `json:"image,omitempty"`
	// JobStartedAt is when the job started, where the system says
	// (GitLab CI_JOB_STARTED_AT); zero otherwise.
	JobStartedAt time.Time `json:"jobStartedAt,omitzero"`
	// OIDC says whether keyless signing can get an identity token here.
	OIDC OIDC `json:"oidc"`
}

// OIDC records whether the run can obtain an OIDC identity token for keyless
// signing. It never holds a token, only the names of the variables through
// which the signer can reach one.
type OIDC struct {
	// Available is true when the variables below are all set.
	Available bool `json:"available"`
	// Issuer is the token issuer URL, where it follows from the platform.
	Issuer string `json:"issuer,omitempty"`
	// Variables names the environment variables involved: on GitHub
	// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (set
	// when the job has "permissions: id-token: write"); on GitLab
	// SIGSTORE_ID_TOKEN (declared with "id_tokens:" in the job).
	Variables []string `json:"variables,omitempty"`
}

// Git answers questions about the local repository. Every method fails with
// an error wrapping ErrNotRepository when the directory is not inside a git
// working tree.
type Git interface {
	// Dir returns the directory the questions are about.
	Dir() string
	// Head returns the full hex id of the commit HEAD points to.
	Head(ctx context.Context) (string, error)
	// Branch returns the ref HEAD is a symbolic ref to ("refs/heads/main"),
	// or "" when HEAD is detached.
	Branch(ctx context.Context) (string, error)
	// TagsAtHead returns the fully qualified tags pointing at HEAD, highest
	// version first, or none.
	TagsAtHead(ctx context.Context) ([]string, error)
	// RemoteURL returns the configured URL of the named remote as written
	// in the configuration (it may hold credentials), or "" when there is no
	// such remote.
	RemoteURL(ctx context.Context, name string) (string, error)
	// Dirty reports whether the working tree has uncommitted changes to
	// tracked files or untracked files that are not ignored.
	Dirty(ctx context.Context) (bool, error)
}

// ErrNotRepository is wrapped by errors about a directory outside any git
// working tree; the message reads "not a git repository: <dir>".
var ErrNotRepository = errors.New("not a git repository")

// Detect describes the current run. It is GitHub Actions when
// GITHUB_ACTIONS=true, GitLab CI when GITLAB_CI=true, and a local build
// otherwise. A CI environment that lacks a variable its runner always sets is
// an error naming the variable (evidence.KindInvalid); a local build outside a
// git repository fails with an error wrapping ErrNotRepository. git is only
// consulted for local builds and may be nil in CI.
func Detect(ctx context.Context, env Env, git Git) (Run, error) {
	if env == nil {
		env = MapEnv(nil)
	}
	v := &vars{env: env}
	switch {
	case v.get("GITHUB_ACTIONS") == "true":
		return detectGitHub(v)
	case v.get("GITLAB_CI") == "true":
		return detectGitLab(v)
	default:
		return detectLocal(ctx, v, git)
	}
}

// vars reads the environment for one detection. It is the only way this
// package reads variables, and it refuses to hand out the value of anything
// that looks like a secret.
type vars struct {
	env     Env
	missing []string
}

// IsSecretName reports whether a variable's name marks its value as secret:
// it contains TOKEN, PASSWORD or SECRET in any case. Such values are never
// copied into a Run.
func IsSecretName(name string) bool {
	u := strings.ToUpper(name)
	return strings.Contains(u, "TOKEN") || strings.Contains(u, "PASSWORD") || strings.Contains(u, "SECRET")
}

// get returns the trimmed value of name, "" when it is unset or secret.
func (v *vars) get(name string) string {
	if IsSecretName(name) {
		return ""
	}
	s, _ := v.env(name)
	return strings.TrimSpace(s)
}

// require is get, remembering names that are unset or empty.
func (v *vars) require(name string) string {
	s := v.get(name)
	if s == "" {
		v.missing = append(v.missing, name)
	}
	return s
}

// present reports whether name is set to a non-empty value, without reading
// the value into anything that outlives the call.
func (v *vars) present(name string) bool {
	s, ok := v.env(name)
	return ok && strings.TrimSpace(s) != ""
}

// missingError reports every required variable that was absent.
func (v *vars) missingError(system string) error {
	if len(v.missing) == 0 {
		return nil
	}
	verb := "is"
	if len(v.missing) > 1 {
		verb = "are"
	}
	return evidence.Errorf(evidence.KindInvalid,
		"%s: %s %s not set, but its runner always sets them; is this really a %s job?",
		system, strings.Join(v.missing, ", "), verb, system)
}

// checkCommit requires a full lower-case hex commit id (SHA-1 or SHA-256).
func checkCommit(source, s string) error {
	if len(s) != 40 && len(s) != 64 {
		return evidence.Errorf(evidence.KindInvalid, "%s %q is not a full commit id (40 or 64 lower-case hex digits)", source, s)
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return evidence.Errorf(evidence.KindInvalid, "%s %q is not a full commit id (40 or 64 lower-case hex digits)", source, s)
		}
	}
	return nil
}

// CanonicalRepoURL turns a git remote or repository URL into the form
// recorded as evidence: an https (or, when written so, http) URL without
// credentials, query, fragment, default port, trailing slash or ".git"
// suffix, with a lower-case host. scp-like "git@host:org/repo.git",
// "ssh://" and "git://" URLs become "https://host/org/repo". A local path
// or file:// URL becomes a file:// URL. Anything else is an error.
func CanonicalRepoURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("empty repository URL")
	}
	if scp, ok := scpLike(raw); ok {
		raw = scp
	} else if strings.HasPrefix(raw, "/") {
		raw = "file://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input in its message; it may hold a
		// password, so say only what is wrong.
		return "", errors.New("repository URL is not a valid URL")
	}
	u.User = nil
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	switch strings.ToLower(u.Scheme) {
	case "https", "http":
		u.Scheme = strings.ToLower(u.Scheme)
		if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
			u.Host = u.Hostname()
		}
	case "ssh", "git", "git+ssh", "ssh+git":
		// The ssh port says nothing about the web address.
		u.Scheme = "https"
		u.Host = u.Hostname()
	case "file":
		u.Host = ""
		u.Path = path.Clean(u.Path)
		u.RawPath = ""
		return "file://" + strings.TrimSuffix(u.Path, ".git"), nil
	default:
		return "", fmt.Errorf("repository URL scheme %q is not supported", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", errors.New("repository URL has no host")
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), ".git")
	u.RawPath = ""
	return u.String(), nil
}

// scpLike rewrites "[user@]host:path" (git's scp-like syntax) to an ssh URL.
func scpLike(s string) (string, bool) {
	if strings.Contains(s, "://") {
		return "", false
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	if colon <= 0 || (slash >= 0 && slash < colon) {
		return "", false
	}
	host := s[:colon]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if host == "" {
		return "", false
	}
	return "ssh://" + host + "/" + strings.TrimPrefix(s[colon+1:], "/"), true
}

// canonicalURL is CanonicalRepoURL for a URL taken from a CI variable,
// naming the variable on error.
func canonicalURL(name, raw string) (string, error) {
	u, err := CanonicalRepoURL(raw)
	if err != nil {
		return "", evidence.Errorf(evidence.KindInvalid, "%s: %v", name, err)
	}
	return u, nil
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}
