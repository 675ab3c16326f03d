package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// tree creates files (path -> content) under a fresh directory and returns
// a Config rooted there.
func tree(t *testing.T, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &config.Config{Dir: dir}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		if runtime.GOOS == "windows" {
			t.Skipf("symlinks: %v", err)
		}
		t.Fatal(err)
	}
}

func names(fs []config.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

var buildTree = map[string]string{
	"build/fw/wm-fw-3.1.2.bin":   "fw",
	"build/fw/wm-fw-3.1.2.swu":   "swu",
	"build/fw/boot/boot.bin":     "boot",
	"build/fw/boot/deep/x.bin":   "x",
	"build/app/wm.apk":           "apk",
	"build/app/b.bin":            "b",
	"build/app/a.bin":            "a",
	"reports/unit-1.xml":         "<testsuites/>",
	"reports/unit-10.xml":        "<testsuites/>",
	"reports/unit-2.xml":         "<testsuites/>",
	"docs/notes with spaces.md":  "notes",
	"empty/.keep":                "",
	"sbom/fw.cdx.json":           "{}",
	"sbom/fw.cdx.json.sig":       "sig",
	"migrations/0001_init.sql":   "--",
	"migrations/0002_alerts.sql": "--",
}

func TestGlob(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		want    []string
	}{
		{"one file", "sbom/fw.cdx.json", []string{"sbom/fw.cdx.json"}},
		{"star", "build/fw/*.bin", []string{"build/fw/wm-fw-3.1.2.bin"}},
		{"star does not cross directories", "build/*/*.bin", []string{"build/app/a.bin", "build/app/b.bin", "build/fw/wm-fw-3.1.2.bin"}},
		{"double star matches any depth", "build/fw/**/*.bin", []string{"build/fw/boot/boot.bin", "build/fw/boot/deep/x.bin", "build/fw/wm-fw-3.1.2.bin"}},
		{"double star alone lists files only", "build/fw/**", []string{"build/fw/boot/boot.bin", "build/fw/boot/deep/x.bin", "build/fw/wm-fw-3.1.2.bin", "build/fw/wm-fw-3.1.2.swu"}},
		{"leading double star", "**/*.sql", []string{"migrations/0001_init.sql", "migrations/0002_alerts.sql"}},
		{"sorted by name, not by number", "reports/unit-*.xml", []string{"reports/unit-1.xml", "reports/unit-10.xml", "reports/unit-2.xml"}},
		{"alternatives", "build/{app,fw}/*.bin", []string{"build/app/a.bin", "build/app/b.bin", "build/fw/wm-fw-3.1.2.bin"}},
		{"character class", "build/app/[ab].bin", []string{"build/app/a.bin", "build/app/b.bin"}},
		{"dot prefix is cleaned", "./sbom/fw.cdx.json", []string{"sbom/fw.cdx.json"}},
		{"double slash is cleaned", "sbom//fw.cdx.json", []string{"sbom/fw.cdx.json"}},
		{"spaces in names", "docs/*.md", []string{"docs/notes with spaces.md"}},
		{"hidden files match an explicit pattern", "empty/.keep", []string{"empty/.keep"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tree(t, buildTree)
			got, err := c.Glob("components[0] (wm-firmware).artifacts", tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, names(got)); diff != "" {
				t.Errorf("names (-want +got):\n%s", diff)
			}
			for _, f := range got {
				if want := filepath.Join(c.Dir, filepath.FromSlash(f.Name)); f.Path != want {
					t.Errorf("%s: Path %q, want %q", f.Name, f.Path, want)
				}
			}
		})
	}
}

func TestGlobErrors(t *testing.T) {
	const key = "components[0] (wm-firmware).artifacts"
	for _, tc := range []struct {
		name    string
		pattern string
		want    []string
	}{
		{"no match", "build/fw/*.hex", []string{key + `: "build/fw/*.hex" matches no file under `}},
		{"missing directory", "out/fw/*.bin", []string{key + `: "out/fw/*.bin" matches no file`}},
		{"missing file", "build/fw/wm-fw-3.1.3.bin", []string{key + `: "build/fw/wm-fw-3.1.3.bin" matches no file`}},
		{"a directory", "build/fw", []string{key + `: "build/fw" is a directory, want files (try "build/fw/*")`}},
		{"a directory with a trailing slash", "build/fw/", []string{key + `: "build/fw" is a directory`}},
		{"the config directory", ".", []string{key + `: "." is a directory`}},
		{"bad pattern", "build/[fw/*.bin", []string{key + `: pattern "build/[fw/*.bin": syntax error in pattern`}},
		{"absolute", "/etc/passwd", []string{key + `: "/etc/passwd" is absolute`}},
		{"escaping", "build/../../x.bin", []string{key + `: "build/../../x.bin" leaves the config file's directory`}},
		{"backslash", `build\fw\*.bin`, []string{key + `: "build\\fw\\*.bin": use forward slashes`}},
		{"empty", "", []string{key + ": empty path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tree(t, buildTree)
			got, err := c.Glob(key, tc.pattern)
			if err == nil {
				t.Fatalf("Glob accepts it: %v", names(got))
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %q, want invalid: %v", evidence.KindOf(err), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestGlobSymlinks(t *testing.T) {
	c := tree(t, map[string]string{"build/fw.bin": "fw", "build/sub/x.bin": "x", "outside/secret.bin": "s"})
	b := filepath.Join(c.Dir, "build")
	symlink(t, "fw.bin", filepath.Join(b, "latest.bin"))        // to a regular file
	symlink(t, "sub", filepath.Join(b, "subdir-link"))          // to a directory
	symlink(t, "..", filepath.Join(b, "sub", "loop"))           // a loop
	symlink(t, "missing.bin", filepath.Join(b, "dangling.bin")) // to nothing

	t.Run("symlink to a regular file", func(t *testing.T) {
		got, err := c.Glob("k", "build/latest.bin")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"build/latest.bin"}, names(got)); diff != "" {
			t.Fatalf("(-want +got):\n%s", diff)
		}
		// It is hashed through the link: the content is the target's.
		d, _, err := digest.FromFile(got[0].Path)
		if err != nil {
			t.Fatal(err)
		}
		if d != digest.FromBytes([]byte("fw")) {
			t.Errorf("digest through the link = %s, want the target's", d)
		}
	})
	t.Run("a dangling symlink is an error", func(t *testing.T) {
		_, err := c.Glob("k", "build/*.bin")
		if err == nil || !strings.Contains(err.Error(), "k: build/dangling.bin") {
			t.Errorf("err = %v, want one naming build/dangling.bin", err)
		}
	})
	if err := os.Remove(filepath.Join(b, "dangling.bin")); err != nil {
		t.Fatal(err)
	}
	t.Run("star lists a symlinked file, not a symlinked directory", func(t *testing.T) {
		got, err := c.Glob("k", "build/*")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"build/fw.bin", "build/latest.bin"}, names(got)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("double star does not follow directory symlinks, so a loop ends", func(t *testing.T) {
		got, err := c.Glob("k", "build/**/*.bin")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"build/fw.bin", "build/latest.bin", "build/sub/x.bin"}, names(got)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a symlinked directory named explicitly", func(t *testing.T) {
		got, err := c.Glob("k", "build/subdir-link/*.bin")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"build/subdir-link/x.bin"}, names(got)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a symlink to a directory is a directory", func(t *testing.T) {
		_, err := c.Glob("k", "build/subdir-link")
		if err == nil || !strings.Contains(err.Error(), `"build/subdir-link" is a directory`) {
			t.Errorf("err = %v, want a directory error", err)
		}
	})
}

// TestGlobUnreadableDirectory: a directory "**" cannot read is an error, not
// evidence silently left out.
func TestGlobUnreadableDirectory(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs POSIX permissions enforced (not root)")
	}
	c := tree(t, map[string]string{"build/a/x.bin": "x", "build/b/y.bin": "y"})
	locked := filepath.Join(c.Dir, "build", "b")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	if got, err := c.Glob("k", "build/**/*.bin"); err == nil {
		t.Errorf("Glob = %v, want an error for build/b", names(got))
	}
}

func TestGlobAll(t *testing.T) {
	c := tree(t, buildTree)
	t.Run("duplicates dropped, first occurrence kept in order", func(t *testing.T) {
		got, err := c.GlobAll("k", []string{"build/app/*.bin", "build/**/a.bin", "build/fw/*.bin", "./build/app/b.bin"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"build/app/a.bin", "build/app/b.bin", "build/fw/wm-fw-3.1.2.bin"}
		if diff := cmp.Diff(want, names(got)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("any pattern that matches nothing fails the whole key", func(t *testing.T) {
		_, err := c.GlobAll("components[1] (wm-app).sbom", []string{"sbom/*.json", "sbom/app.cdx.json"})
		if err == nil || !strings.Contains(err.Error(), `components[1] (wm-app).sbom: "sbom/app.cdx.json" matches no file`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no patterns", func(t *testing.T) {
		got, err := c.GlobAll("k", nil)
		if err != nil || len(got) != 0 {
			t.Errorf("GlobAll(nil) = %v, %v; want nothing", got, err)
		}
	})
}

func TestParseImage(t *testing.T) {
	const hex = "4f1d9c2b7a6e5d3c8b0a1f2e3d4c5b6a79880716253443526170819a2b3c4d5e"
	for _, tc := range []struct {
		ref      string
		wantName string
		wantErr  string
	}{
		{"registry.example.com/acme/wm-alert-service@sha256:" + hex, "registry.example.com/acme/wm-alert-service", ""},
		{"registry.example.com/acme/wm-alert-service:1.8.0@sha256:" + hex, "registry.example.com/acme/wm-alert-service:1.8.0", ""},
		{"localhost:5000/wm@sha256:" + hex, "localhost:5000/wm", ""},
		{"wm", "", "want NAME@sha256:HEX (images are pinned by digest)"},
		{"wm:1.8.0", "", "want NAME@sha256:HEX"},
		{"@sha256:" + hex, "", "want NAME@sha256:HEX"},
		{"wm@" + hex, "", "want NAME@sha256:HEX"},
		{"wm@sha512:" + strings.Repeat("ab", 64), "", "want NAME@sha256:HEX"},
		{"wm@sha256:" + strings.ToUpper(hex), "", "want NAME@sha256:HEX"},
		{"wm@sha256:" + hex[:63], "", "want NAME@sha256:HEX"},
		{"wm@sha256:", "", "want NAME@sha256:HEX"},
		{"wm@sha256:" + hex + "@sha256:" + hex, "", "want one @, before the digest"},
		{"wm@latest@sha256:" + hex, "", "want one @, before the digest"},
		{"wm alert@sha256:" + hex, "", "the name has white space or a backslash"},
		{`acme\wm@sha256:` + hex, "", "the name has white space or a backslash"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			name, d, err := config.ParseImage(tc.ref)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.ref)) {
					t.Errorf("error does not quote the reference: %v", err)
				}
				if name != "" || !d.IsZero() {
					t.Errorf("on error got %q, %s; want zero values", name, d)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if name != tc.wantName || d != digest.MustParse("sha256:"+hex) {
				t.Errorf("ParseImage = %q, %s; want %q, sha256:%s", name, d, tc.wantName, hex)
			}
		})
	}
}
