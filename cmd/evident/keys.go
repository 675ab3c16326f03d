package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
)

// envKeyPassword holds the passphrase of an encrypted key in CI.
const envKeyPassword = "EVIDENT_KEY_PASSWORD"

// loadPrivateKey reads a key file; for an encrypted key the passphrase
// comes from EVIDENT_KEY_PASSWORD or, on a terminal, a prompt.
func (a *app) loadPrivateKey(path string) (*sign.PrivateKey, error) {
	b, err := readFileLimited(path, 1<<20)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "key %s: %v", path, err)
	}
	k, err := sign.LoadPrivateKey(b, func() ([]byte, error) { return a.passphrase("Passphrase for " + path) })
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return k, nil
}

// passphrase returns EVIDENT_KEY_PASSWORD when set, else asks on the
// terminal; without either it fails with what to do.
func (a *app) passphrase(prompt string) ([]byte, error) {
	if v, ok := a.lookupEnv(envKeyPassword); ok {
		return []byte(v), nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, evidence.Errorf(evidence.KindInvalid, "the key is encrypted: set %s or run on a terminal to be asked", envKeyPassword)
	}
	fmt.Fprint(a.stderr, prompt+": ")
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, fmt.Errorf("read passphrase: %w", err)
	}
	return p, nil
}

// newPassphrase asks twice on a terminal (or takes EVIDENT_KEY_PASSWORD).
func (a *app) newPassphrase() ([]byte, error) {
	if v, ok := a.lookupEnv(envKeyPassword); ok {
		return []byte(v), nil
	}
	p1, err := a.passphrase("Passphrase for the new key")
	if err != nil {
		return nil, err
	}
	p2, err := a.passphrase("Repeat passphrase")
	if err != nil {
		return nil, err
	}
	if string(p1) != string(p2) {
		return nil, evidence.Errorf(evidence.KindInvalid, "the passphrases differ")
	}
	return p1, nil
}

// confirm asks a yes/no question on a terminal; off a terminal it fails
// and names the flag that answers it.
func (a *app) confirm(question, flag string) (bool, error) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return false, &usageError{fmt.Errorf("not a terminal: pass %s to confirm", flag)}
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, os.ErrClosed) && line == "" {
		return false, err
	}
	ans := strings.ToLower(strings.TrimSpace(line))
	return ans == "y" || ans == "yes", nil
}

// readFileLimited reads a small file, refusing directories and files over max.
func readFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, errors.New("is a directory, want a file")
	}
	if st.Size() > max {
		return nil, fmt.Errorf("larger than %d bytes", max)
	}
	b := make([]byte, st.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, err
	}
	return b, nil
}
