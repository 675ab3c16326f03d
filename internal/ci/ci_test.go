package ci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// secret is planted in every secret-looking variable; it must never appear
// in a detected Run.
const secret = "s3cr3t-must-not-leak"

const (
	sha1Commit = "8d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a09f8e7d6"
	unset      = "\x00unset" // with() deletes a variable given this value
)

// with returns a copy of base with the overrides applied.
func with(base map[string]string, overrides map[string]string) map[string]string {
	m := make(map[string]string, len(base)+len(overrides))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range overrides {
		if v == unset {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

func TestCanonicalRepoURL(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "https", in: "https://github.com/acme/wearable", want: "https://github.com/acme/wearable"},
		{name: "https .git and slash", in: "https://github.com/acme/wearable.git/", want: "https://github.com/acme/wearable"},
		{name: "scp-like", in: "git@github.com:acme/wearable.git", want: "https://github.com/acme/wearable"},
		{name: "scp-like without user", in: "gitlab.example.com:medical/firmware.git", want: "https://gitlab.example.com/medical/firmware"},
		{name: "ssh with port", in: "ssh://git@gitlab.example.com:2222/medical/firmware.git", want: "https://gitlab.example.com/medical/firmware"},
		{name: "git protocol", in: "git://git.example.org/tools/build.git", want: "https://git.example.org/tools/build"},
		{name: "token in userinfo", in: "https://x-access-token:" + secret + "@github.com/acme/wearable.git", want: "https://github.com/acme/wearable"},
		{name: "user only", in: "https://oauth2@gitlab.com/acme/app", want: "https://gitlab.com/acme/app"},
		{name: "token in query", in: "https://gitlab.com/acme/app.git?private_token=" + secret + "#frag", want: "https://gitlab.com/acme/app"},
		{name: "default port and host case", in: "https://GitLab.Example.com:443/acme/app", want: "https://gitlab.example.com/acme/app"},
		{name: "other port kept", in: "https://git.internal:8443/acme/app", want: "https://git.internal:8443/acme/app"},
		{name: "http kept", in: "http://git.internal/acme/app.git", want: "http://git.internal/acme/app"},
		{name: "absolute path", in: "/srv/git/firmware.git", want: "file:///srv/git/firmware"},
		{name: "file URL", in: "file:///srv/git/./firmware.git", want: "file:///srv/git/firmware"},
		{name: "empty", in: "  ", wantErr: "empty repository URL"},
		{name: "unsupported scheme", in: "ftp://example.com/repo", wantErr: `scheme "ftp" is not supported`},
		{name: "relative path", in: "../firmware", wantErr: `scheme "" is not supported`},
		{name: "no host", in: "https:///acme/app", wantErr: "has no host"},
		{name: "unparsable never echoes the URL", in: "https://user:" + secret + "@host/%zz", wantErr: "not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalRepoURL(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CanonicalRepoURL(%q) = %q, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("CanonicalRepoURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": true, "CI_JOB_TOKEN": true,
		"CI_REGISTRY_PASSWORD": true, "AWS_SECRET_ACCESS_KEY": true, "my_token_file": true,
		"GITHUB_SHA": false, "CI_RUNNER_ID": false, "ACTIONS_ID_TOKEN_REQUEST_URL": true,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestDetectNeverReadsSecrets checks that a lookup of a secret-looking name
// never even happens through get: Detect may only test such variables for
// presence.
func TestDetectNeverReadsSecrets(t *testing.T) {
	envs := map[string]map[string]string{"github": githubTagPush, "gitlab": gitlabTagPipeline}
	for name, m := range envs {
		t.Run(name, func(t *testing.T) {
			var read []string
			env := func(k string) (string, bool) {
				read = append(read, k)
				return MapEnv(m)(k)
			}
			if _, err := Detect(context.Background(), env, nil); err != nil {
				t.Fatal(err)
			}
			v := &vars{env: MapEnv(m)}
			for _, k := range read {
				if IsSecretName(k) && v.get(k) != "" {
					t.Errorf("get(%q) returned a value", k)
				}
			}
		})
	}
}

func TestDetectNoSecretInRun(t *testing.T) {
	poisoned := map[string]string{
		"GITHUB_TOKEN":                   secret,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": secret,
		"ACTIONS_RUNTIME_TOKEN":          secret,
		"CI_JOB_TOKEN":                   secret,
		"CI_REGISTRY_PASSWORD":           secret,
		"CI_RUNNER_SHORT_TOKEN":          secret,
		"SIGSTORE_ID_TOKEN":              secret,
		"CI_REPOSITORY_URL":              "https://gitlab-ci-token:" + secret + "@gitlab.example.com/medical/firmware.git",
		"MY_DEPLOY_SECRET":               secret,
	}
	tests := map[string]map[string]string{
		"github": with(githubTagPush, poisoned),
		"gitlab": with(gitlabTagPipeline, with(poisoned, map[string]string{
			"CI_PROJECT_URL": "https://gitlab-ci-token:" + secret + "@gitlab.example.com/medical/firmware",
			"CI_SERVER_URL":  "https://oauth2:" + secret + "@gitlab.example.com",
		})),
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Detect(context.Background(), MapEnv(m), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if s := string(b) + fmt.Sprintf("%+v", r); strings.Contains(s, secret) {
				t.Fatalf("Run contains a secret: %s", b)
			}
			if !r.OIDC.Available {
				t.Errorf("OIDC.Available = false with the token variables set")
			}
		})
	}
}

func TestDetectChoosesSystem(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "github", env: githubTagPush, want: SystemGitHubActions},
		{name: "gitlab", env: gitlabTagPipeline, want: SystemGitLabCI},
		{name: "GITHUB_ACTIONS not exactly true", env: with(githubTagPush, map[string]string{"GITHUB_ACTIONS": "1"}), want: SystemLocal},
		// gitlab-ci-local sets GITLAB_CI=false: a local build unless told otherwise.
		{name: "gitlab-ci-local default", env: with(gitlabTagPipeline, map[string]string{"GITLAB_CI": "false"}), want: SystemLocal},
		{name: "nothing", env: nil, want: SystemLocal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Detect(context.Background(), MapEnv(tt.env), fakeGit{head: sha1Commit})
			if err != nil {
				t.Fatal(err)
			}
			if r.System != tt.want {
				t.Fatalf("System = %q, want %q", r.System, tt.want)
			}
		})
	}
}

// fakeGit is a Git with canned answers, for failures a real repository
// cannot easily produce.
type fakeGit struct {
	head, branch, remote string
	tags                 []string
	dirty                bool
	err                  error // returned by every method
}

func (f fakeGit) Dir() string { return "/fake" }
func (f fakeGit) Head(context.Context) (string, error) {
	return f.head, f.err
}
func (f fakeGit) Branch(context.Context) (string, error)       { return f.branch, f.err }
func (f fakeGit) TagsAtHead(context.Context) ([]string, error) { return f.tags, f.err }
func (f fakeGit) RemoteURL(context.Context, string) (string, error) {
	return f.remote, f.err
}
func (f fakeGit) Dirty(context.Context) (bool, error) { return f.dirty, f.err }

func TestDetectLocalFailures(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		git     Git
		wantErr string
		kind    evidence.Kind
	}{
		{name: "nil git", git: nil, wantErr: "Git is nil"},
		{name: "git fails", git: fakeGit{err: boom}, wantErr: "boom"},
		{name: "short commit", git: fakeGit{head: "8d5c4b3"}, wantErr: `HEAD "8d5c4b3" is not a full commit id`, kind: evidence.KindInvalid},
		{name: "remote not a URL", git: fakeGit{head: sha1Commit, remote: "ftp://example.com/x"}, wantErr: "git remote origin: repository URL scheme", kind: evidence.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Detect(context.Background(), MapEnv(nil), tt.git)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Detect() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.kind != "" && evidence.KindOf(err) != tt.kind {
				t.Errorf("kind = %q, want %q", evidence.KindOf(err), tt.kind)
			}
		})
	}
}

func TestRunnerTags(t *testing.T) {
	tests := map[string][]string{
		`["docker", "linux"]`: {"docker", "linux"},
		"docker, linux":       {"docker", "linux"},
		"":                    nil,
		`[broken`:             {"[broken"},
	}
	for in, want := range tests {
		if diff := cmp.Diff(want, runnerTags(in)); diff != "" {
			t.Errorf("runnerTags(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}
