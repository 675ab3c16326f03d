package ci

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

func TestMain(m *testing.M) {
	// Hermetic git: no user or system configuration (insteadOf rewrites,
	// commit signing, default branch names) may change what tests see.
	os.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	os.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	os.Exit(m.Run())
}

// git runs a git command in dir for test setup and returns its output.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Test", "-c", "user.email=test@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// newRepo makes a repository on branch main with one commit.
func newRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	write(t, filepath.Join(dir, "firmware.c"), "int main(void) { return 0; }\n")
	write(t, filepath.Join(dir, ".gitignore"), "build/\n")
	git(t, dir, "add", ".")
	git(t, dir, "commit", "-q", "-m", "first")
	return dir
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDetectLocal(t *testing.T) {
	hostRunner := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) // changes the fresh repository
		sub   string                         // run from this subdirectory
		want  Run                            // Commit is filled in from the repository
	}{
		{
			name:  "branch without remote, clean",
			setup: func(*testing.T, string) {},
			want:  Run{Ref: "refs/heads/main"},
		},
		{
			name: "tags at HEAD: highest version wins over the branch",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "tag", "v2.9.0")
				git(t, dir, "tag", "-a", "-m", "release", "v2.10.0")
				git(t, dir, "tag", "v1.0.0")
			},
			want: Run{Ref: "refs/tags/v2.10.0"},
		},
		{
			name: "tag on an older commit is not used",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "tag", "v2.3.0")
				git(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
			},
			want: Run{Ref: "refs/heads/main"},
		},
		{
			name: "detached HEAD without a tag",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "commit", "-q", "--allow-empty", "-m", "second")
				git(t, dir, "checkout", "-q", "--detach", "HEAD~1")
			},
			want: Run{Ref: ""},
		},
		{
			name: "detached at a tag, as CI checkouts are",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "tag", "v2.4.0")
				git(t, dir, "checkout", "-q", "--detach", "v2.4.0")
			},
			want: Run{Ref: "refs/tags/v2.4.0"},
		},
		{
			name: "https origin with a token is stripped",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "remote", "add", "origin", "https://jdoe:"+secret+"@github.com/acme/wearable.git")
			},
			want: Run{Ref: "refs/heads/main", Repository: "https://github.com/acme/wearable"},
		},
		{
			name: "scp-like origin",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "remote", "add", "origin", "git@gitlab.example.com:medical/firmware.git")
			},
			want: Run{Ref: "refs/heads/main", Repository: "https://gitlab.example.com/medical/firmware"},
		},
		{
			name: "only a non-origin remote",
			setup: func(t *testing.T, dir string) {
				git(t, dir, "remote", "add", "upstream", "https://github.com/acme/wearable.git")
			},
			want: Run{Ref: "refs/heads/main"},
		},
		{
			name: "modified tracked file is dirty",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "firmware.c"), "int main(void) { return 1; }\n")
			},
			want: Run{Ref: "refs/heads/main", Dirty: true},
		},
		{
			name: "staged change is dirty",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "alarm.c"), "void alarm(void) {}\n")
				git(t, dir, "add", "alarm.c")
			},
			want: Run{Ref: "refs/heads/main", Dirty: true},
		},
		{
			name: "untracked file is dirty",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "notes.txt"), "todo\n")
			},
			want: Run{Ref: "refs/heads/main", Dirty: true},
		},
		{
			name: "ignored build output is clean",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "build", "firmware.bin"), "\x7fELF")
			},
			want: Run{Ref: "refs/heads/main"},
		},
		{
			name: "run from a subdirectory",
			setup: func(t *testing.T, dir string) {
				write(t, filepath.Join(dir, "src", "keep"), "")
				git(t, dir, "add", ".")
				git(t, dir, "commit", "-q", "-m", "src")
			},
			sub:  "src",
			want: Run{Ref: "refs/heads/main"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newRepo(t)
			tt.setup(t, dir)
			want := tt.want
			want.System = SystemLocal
			want.BuilderID = BuilderLocal
			want.Runner = hostRunner
			want.Commit = git(t, dir, "rev-parse", "HEAD")

			got, err := Detect(context.Background(), MapEnv(nil), NewGit(filepath.Join(dir, tt.sub)))
			if err != nil {
				t.Fatalf("Detect() error = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Detect() mismatch (-want +got):\n%s", diff)
			}
			if b, _ := json.Marshal(got); strings.Contains(string(b), secret) {
				t.Errorf("Run holds the remote's credentials: %s", b)
			}
		})
	}
}

func TestDetectLocalErrors(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	t.Run("not a git repository", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Detect(context.Background(), MapEnv(nil), NewGit(dir))
		if !errors.Is(err, ErrNotRepository) {
			t.Fatalf("Detect() error = %v, want ErrNotRepository", err)
		}
		if want := "not a git repository: " + dir; err.Error() != want {
			t.Errorf("error = %q, want %q", err, want)
		}
		if evidence.KindOf(err) != evidence.KindNotFound {
			t.Errorf("kind = %q, want %q", evidence.KindOf(err), evidence.KindNotFound)
		}
	})
	t.Run("repository without commits", func(t *testing.T) {
		dir := t.TempDir()
		git(t, dir, "init", "-q")
		_, err := Detect(context.Background(), MapEnv(nil), NewGit(dir))
		if err == nil || !strings.Contains(err.Error(), "has no commit at HEAD yet") {
			t.Fatalf("Detect() error = %v, want no-commit error", err)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "gone")
		_, err := Detect(context.Background(), MapEnv(nil), NewGit(dir))
		if err == nil || !strings.Contains(err.Error(), "cannot change to") {
			t.Fatalf("Detect() error = %v, want cannot-change-to error", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		dir := newRepo(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Detect(ctx, MapEnv(nil), NewGit(dir))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Detect() error = %v, want context.Canceled", err)
		}
	})
	t.Run("remote name that looks like a flag", func(t *testing.T) {
		_, err := NewGit(t.TempDir()).RemoteURL(context.Background(), "--upload-pack=x")
		if err == nil {
			t.Fatal("RemoteURL accepted a flag as a remote name")
		}
	})
}
