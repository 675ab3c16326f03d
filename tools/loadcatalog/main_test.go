package main

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/catalog/postgres"
	"github.com/evident-dev/evident/internal/catalog/sqlite"
	"github.com/evident-dev/evident/internal/testutil"
)

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no -catalog", []string{"-n", "5"}, 2, "usage: loadcatalog -catalog"},
		{"a stray argument", []string{"-catalog", "sqlite:///tmp/x.db", "more"}, 2, "usage:"},
		{"an unknown flag", []string{"-catalgo", "sqlite:///tmp/x.db"}, 2, "flag provided but not defined: -catalgo"},
		{"a negative count", []string{"-catalog", "sqlite:///tmp/x.db", "-n", "-1"}, 2, "usage:"},
		{"no scheme", []string{"-catalog", "/tmp/x.db"}, 1, `loadcatalog: catalog: want sqlite:///path/catalog.db or postgres://`},
		{"a scheme it cannot open", []string{"-catalog", "mysql://db/evident"}, 1, `unsupported scheme "mysql" (want sqlite:// or postgres://)`},
		{"no path", []string{"-catalog", "sqlite://"}, 1, `catalog "sqlite://": the path is empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// TestLoadResumes loads a catalog in two runs and checks that the second
// continues where the first stopped, and that the result holds exactly the
// releases catalogtest.Load would have written.
func TestLoadResumes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "catalog.db")
	url := "sqlite://" + path
	const seed = 3
	runs := []struct {
		n    string
		want []string
	}{
		{"700", []string{"0 of 700 synthetic releases of seed 3 present (log size 0)", "300 of 700 releases  +300 in", "700 of 700 releases  +700 in", "done: 700 releases loaded"}},
		{"1000", []string{"700 of 1000 synthetic releases of seed 3 present (log size 700)", "1000 of 1000 releases  +300 in", "done: 300 releases loaded"}},
		{"1000", []string{"1000 of 1000 synthetic releases of seed 3 present (log size 1000)", "nothing to do; catalog files"}},
	}
	for _, r := range runs {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"-catalog", url, "-n", r.n, "-seed", "3", "-step", "300"}, &stdout, &stderr); code != 0 {
			t.Fatalf("-n %s: exit code %d: %s", r.n, code, stderr.String())
		}
		for _, w := range r.want {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("-n %s: output does not contain %q:\n%s", r.n, w, stdout.String())
			}
		}
	}

	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size, err := db.LogSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if size != 1000 {
		t.Errorf("log size %d, want 1000", size)
	}
	// The releases at both ends of each run exist under the names
	// catalogtest gives them, and their artifacts can be found.
	for _, i := range []int{0, 699, 700, 999} {
		if _, err := db.Release(t.Context(), catalogtest.LoadProduct(i), syntheticVersion(seed, i)); err != nil {
			t.Errorf("release %d: %v", i, err)
		}
		hits, err := db.FindArtifact(t.Context(), catalogtest.LoadArtifact(seed, i, 1))
		if err != nil || len(hits) == 0 {
			t.Errorf("artifact 1 of release %d: %d hits, %v", i, len(hits), err)
		}
	}
}

// TestLoadedCountsThisSeed: releases of another seed (or pushed by anyone)
// do not count, so a catalog that also holds them resumes correctly.
func TestLoadedCountsThisSeed(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := catalogtest.Load(t.Context(), db, 300, 4); err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.LoadFrom(t.Context(), db, 0, 500, 5); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		n, want int
		seed    int64
	}{
		{"seed 4, more wanted than present", 5000, 300, 4},
		{"seed 5", 2000, 500, 5},
		{"seed 5, fewer wanted than present", 400, 400, 5},
		{"a seed never loaded", 3000, 0, 6},
		{"nothing wanted", 0, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loaded(t.Context(), db, tt.n, tt.seed)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("loaded(n=%d, seed %d) = %d, want %d", tt.n, tt.seed, got, tt.want)
			}
		})
	}
}

// TestLoadPostgres loads a PostgreSQL catalog in two runs, as
// TestLoadResumes does a SQLite one, and never prints its password.
func TestLoadPostgres(t *testing.T) {
	base := testutil.Postgres(t)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret-unused") // trust authentication ignores it
	logKey := filepath.Join(t.TempDir(), "log.key")
	for _, r := range []struct{ n, want string }{
		{"300", "done: 300 releases loaded"},
		{"500", "300 of 500 synthetic releases of seed 2 present (log size 300)"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), []string{"-catalog", u.String(), "-log-key", logKey, "-n", r.n, "-seed", "2", "-step", "200"}, &stdout, &stderr); code != 0 {
			t.Fatalf("-n %s: exit code %d: %s", r.n, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), r.want) {
			t.Errorf("-n %s: output does not contain %q:\n%s", r.n, r.want, stdout.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), "s3cret") {
			t.Errorf("-n %s: the output shows the password:\n%s", r.n, stdout.String())
		}
	}
	db, err := postgres.Open(t.Context(), base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if size, err := db.LogSize(t.Context()); err != nil || size != 500 {
		t.Errorf("log size %d, %v; want 500", size, err)
	}
	if _, err := os.Stat(logKey); err != nil {
		t.Errorf("the log key was not created: %v", err)
	}
}
