package tlog

import (
	"fmt"
	"os"
)

// CreateKeyFile generates a log key for origin and writes it to file: the
// signer key, readable only by its owner, and the verifier key beside it in
// file+".pub". It never replaces a key: if file exists it fails with an
// error wrapping os.ErrExist. The key is synced to disk before it is used to
// sign anything. It returns the signer and verifier keys in the forms
// NewSigner and NewVerifier read.
func CreateKeyFile(file, origin string) (signerKey, verifierKey string, err error) {
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		return "", "", err
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("log key %s: %w", file, err)
	}
	_, err = f.WriteString(skey + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.WriteFile(file+".pub", []byte(vkey+"\n"), 0o644)
	}
	if err != nil {
		os.Remove(file) // a half-written key must not be taken for one
		return "", "", fmt.Errorf("log key %s: %w", file, err)
	}
	return skey, vkey, nil
}
