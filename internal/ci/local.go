package ci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/evident-dev/evident/internal/evidence"
)

// A local build: everything comes from the git repository, and the builder
// id says that no platform vouches for the build.

func detectLocal(ctx context.Context, v *vars, git Git) (Run, error) {
	if git == nil {
		return Run{}, errors.New("local build: no git repository to describe (Git is nil)")
	}
	commit, err := git.Head(ctx)
	if err != nil {
		return Run{}, err
	}
	if err := checkCommit("HEAD", commit); err != nil {
		return Run{}, err
	}
	r := Run{
		System:    SystemLocal,
		Commit:    commit,
		BuilderID: BuilderLocal,
		Runner:    runtime.GOOS + "/" + runtime.GOARCH,
	}

	// A release is named by its tag, so a tag at HEAD wins over the branch.
	tags, err := git.TagsAtHead(ctx)
	if err != nil {
		return Run{}, err
	}
	if len(tags) > 0 {
		r.Ref = tags[0]
	} else if r.Ref, err = git.Branch(ctx); err != nil {
		return Run{}, err
	}

	remote, err := git.RemoteURL(ctx, "origin")
	if err != nil {
		return Run{}, err
	}
	if remote != "" {
		if r.Repository, err = CanonicalRepoURL(remote); err != nil {
			return Run{}, evidence.Errorf(evidence.KindInvalid, "git remote origin: %v", err)
		}
	}

	if r.Dirty, err = git.Dirty(ctx); err != nil {
		return Run{}, err
	}
	return r, nil
}

// ExecGit implements Git by running the git binary in a directory.
type ExecGit struct {
	dir string
}

// NewGit returns a Git for the working tree containing dir.
func NewGit(dir string) *ExecGit { return &ExecGit{dir: dir} }

// Dir returns the directory given to NewGit.
func (g *ExecGit) Dir() string { return g.dir }

// Head implements Git.
func (g *ExecGit) Head(ctx context.Context) (string, error) {
	out, code, err := g.run(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", err
	}
	if code != 0 {
		return "", evidence.Errorf(evidence.KindInvalid, "git repository %s has no commit at HEAD yet", g.dir)
	}
	return out, nil
}

// Branch implements Git.
func (g *ExecGit) Branch(ctx context.Context) (string, error) {
	out, code, err := g.run(ctx, "symbolic-ref", "-q", "HEAD")
	if err != nil {
		return "", err
	}
	if code != 0 { // detached HEAD
		return "", nil
	}
	return out, nil
}

// TagsAtHead implements Git.
func (g *ExecGit) TagsAtHead(ctx context.Context) ([]string, error) {
	out, code, err := g.run(ctx, "for-each-ref", "--points-at=HEAD", "--sort=-v:refname", "--format=%(refname)", "refs/tags")
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, fmt.Errorf("git for-each-ref in %s: exit status %d", g.dir, code)
	}
	return strings.Fields(out), nil
}

// RemoteURL implements Git.
func (g *ExecGit) RemoteURL(ctx context.Context, name string) (string, error) {
	if strings.HasPrefix(name, "-") {
		return "", fmt.Errorf("remote name %q: must not start with '-'", name)
	}
	out, code, err := g.run(ctx, "remote", "get-url", name)
	if err != nil {
		return "", err
	}
	if code != 0 { // git exits 2 for "No such remote"
		return "", nil
	}
	return out, nil
}

// Dirty implements Git.
func (g *ExecGit) Dirty(ctx context.Context) (bool, error) {
	out, code, err := g.run(ctx, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return false, err
	}
	if code != 0 {
		return false, fmt.Errorf("git status in %s: exit status %d", g.dir, code)
	}
	return out != "", nil
}

// run runs git with args in the directory and returns its trimmed standard
// output and exit code. A failure to start git, a directory outside any
// repository and any other fatal git error (exit 128) are errors; other exit
// codes are returned for the caller to interpret.
func (g *ExecGit) run(ctx context.Context, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	// Stable English messages, never a credential prompt, and no index
	// refresh writes from a read-only question.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return strings.TrimSpace(stdout.String()), 0, nil
	case ctx.Err() != nil:
		return "", -1, fmt.Errorf("git %s: %w", args[0], ctx.Err())
	case errors.As(err, &exit):
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "not a git repository") {
			return "", exit.ExitCode(), evidence.Errorf(evidence.KindNotFound, "%w: %s", ErrNotRepository, g.dir)
		}
		if exit.ExitCode() == 128 || strings.HasPrefix(msg, "fatal:") {
			return "", exit.ExitCode(), fmt.Errorf("git %s in %s: %s", args[0], g.dir, firstLine(msg))
		}
		return strings.TrimSpace(stdout.String()), exit.ExitCode(), nil
	default:
		return "", -1, fmt.Errorf("run git: %w", err)
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
