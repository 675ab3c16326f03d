package tlog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/tlog"
)

// TestCreateKeyFile: the key written is the key returned, private to its
// owner, with its verifier beside it; an existing key is never replaced.
func TestCreateKeyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "log.key")
	skey, vkey, err := tlog.CreateKeyFile(file, "test-archive")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil || strings.TrimSpace(string(b)) != skey {
		t.Fatalf("key file holds %q (%v), want the returned signer key", b, err)
	}
	if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	pub, err := os.ReadFile(file + ".pub")
	if err != nil || strings.TrimSpace(string(pub)) != vkey {
		t.Fatalf("verifier file holds %q (%v), want %q", pub, err, vkey)
	}
	if got, err := tlog.VerifierKey(skey); err != nil || got != vkey {
		t.Fatalf("VerifierKey(signer) = %q, %v; want %q", got, err, vkey)
	}

	if _, _, err := tlog.CreateKeyFile(file, "test-archive"); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second CreateKeyFile: %v, want os.ErrExist", err)
	}
	if b2, _ := os.ReadFile(file); string(b2) != string(b) {
		t.Fatal("an existing key was replaced")
	}
	if _, _, err := tlog.CreateKeyFile(filepath.Join(t.TempDir(), "k"), "bad origin"); err == nil {
		t.Fatal("an origin with a space was accepted")
	}
}
