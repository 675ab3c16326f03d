package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

// TestLogkeyCreate checks that logkey create writes a key pair that signs
// and verifies under the origin asked for, prints the verifier key, and
// never replaces a key.
func TestLogkeyCreate(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name, origin string // origin: --log-origin, none when empty
		env          string // EVIDENTD_LOG_ORIGIN
		want         string
	}{
		{name: "default origin", want: "evident-archive"},
		{name: "flag", origin: "archive.example.com/evident", want: "archive.example.com/evident"},
		{name: "environment", env: "from-env", want: "from-env"},
		{name: "flag over environment", origin: "from-flag", env: "from-env", want: "from-flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("EVIDENTD_LOG_ORIGIN", tc.env)
			}
			out := filepath.Join(t.TempDir(), "new.key")
			args := []string{"logkey", "create", "--out", out}
			if tc.origin != "" {
				args = append(args, "--log-origin", tc.origin)
			}
			r := evidentd(t, args...)
			wantCode(t, r, exitOK)
			pub := string(testutil.ReadFile(t, out+".pub"))
			if r.stdout != pub || !strings.HasPrefix(pub, tc.want+"+") {
				t.Errorf("stdout %q, %s.pub %q: want the same verifier key, of origin %q", r.stdout, out, pub, tc.want)
			}
			if fi, err := os.Stat(out); err != nil {
				t.Error(err)
			} else if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", out, fi.Mode().Perm())
			}
			checkKeyPair(t, out)
		})
	}
}

// checkKeyPair fails the test unless the signer key in file and the
// verifier key in file.pub belong together.
func checkKeyPair(t *testing.T, file string) {
	t.Helper()
	s, err := tlog.NewSigner(string(testutil.ReadFile(t, file)))
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(string(testutil.ReadFile(t, file+".pub")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() {
		t.Errorf("%s is key %s/%08x, its .pub %s/%08x", file, s.Name(), s.KeyHash(), v.Name(), v.KeyHash())
	}
	sig, err := s.Sign([]byte("checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Verify([]byte("checkpoint"), sig) {
		t.Errorf("%s.pub does not verify what %s signs", file, file)
	}
}

// TestLogkeyCreateRefuses checks that logkey create fails, writing
// nothing, when the key or its .pub exists, when --out is missing and when
// the origin is not one.
func TestLogkeyCreateRefuses(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name     string
		existing []string // files under the directory before
		args     []string // after --out DIR/log.key
		noOut    bool
		code     int
		want     string
	}{
		{name: "key exists", existing: []string{"log.key"}, code: exitError, want: "log.key already exists"},
		{name: "pub exists", existing: []string{"log.key.pub"}, code: exitError, want: "log.key.pub already exists"},
		{name: "no --out", noOut: true, code: exitUsage, want: "--out FILE is required"},
		{name: "origin with a space", args: []string{"--log-origin", "my archive"}, code: exitUsage, want: "--log-origin"},
		{name: "empty origin", args: []string{"--log-origin", ""}, code: exitUsage, want: "--log-origin"},
		{name: "argument", args: []string{"extra"}, code: exitUsage, want: "extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.existing {
				testutil.WriteFile(t, filepath.Join(dir, f), []byte("old "+f+"\n"))
			}
			args := []string{"logkey", "create"}
			if !tc.noOut {
				args = append(args, "--out", filepath.Join(dir, "log.key"))
			}
			r := evidentd(t, append(args, tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) || r.stdout != "" {
				t.Fatalf("want exit %d with %q in stderr and nothing on stdout, got %v", tc.code, tc.want, r)
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != len(tc.existing) {
				t.Errorf("the directory holds %d files, want the %d it had", len(entries), len(tc.existing))
			}
			for _, f := range tc.existing {
				if b := testutil.ReadFile(t, filepath.Join(dir, f)); !bytes.Equal(b, []byte("old "+f+"\n")) {
					t.Errorf("%s was replaced", f)
				}
			}
		})
	}
}

// TestLogKeyUsed checks that the stores use a key logkey create made, and
// create one with the configured origin where --log-key names no file.
func TestLogKeyUsed(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "made.key")
	wantCode(t, evidentd(t, "logkey", "create", "--out", key, "--log-origin", "made"), exitOK)
	before := testutil.ReadFile(t, key)
	wantCode(t, evidentd(t, "token", "list", "--data", filepath.Join(dir, "data"), "--log-key", key), exitOK)
	if !bytes.Equal(testutil.ReadFile(t, key), before) {
		t.Errorf("token list changed the key logkey create made")
	}

	data := filepath.Join(dir, "data2")
	wantCode(t, evidentd(t, "token", "list", "--data", data, "--log-origin", "first-start"), exitOK)
	created := filepath.Join(data, "log.key")
	if fi, err := os.Stat(created); err != nil {
		t.Fatalf("first start: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("first start: %s has mode %v, want 0600", created, fi.Mode().Perm())
	}
	if pub := string(testutil.ReadFile(t, created+".pub")); !strings.HasPrefix(pub, "first-start+") {
		t.Errorf("first start: %s.pub is %q, want origin first-start", created, pub)
	}
	checkKeyPair(t, created)
}
