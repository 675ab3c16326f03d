package tlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// VerifierKey derives the public verifier key from a signer key made by
// GenerateKey, so that a deployment needs to keep only the signer key file.
// The key is first parsed by NewSigner, so a malformed or inconsistent key
// (wrong name, wrong key hash) is rejected the same way. The error never
// contains the key.
func VerifierKey(skey string) (string, error) {
	s, err := NewSigner(skey)
	if err != nil {
		return "", err
	}
	// PRIVATE+KEY+<name>+<hash>+<base64>; the base64 may itself hold "+".
	rest := strings.TrimSpace(skey)
	for range 4 {
		_, rest, _ = strings.Cut(rest, "+")
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errorf(ErrMalformed, "log signer key: want an Ed25519 note key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(s.Name(), pub)
}
