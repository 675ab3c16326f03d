package tlog

import (
	"errors"
	"strings"
	"testing"
)

func TestVerifierKey(t *testing.T) {
	skey, vkey, err := GenerateKey("evident.example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifierKey(skey + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if got != vkey {
		t.Fatalf("VerifierKey = %q, want %q", got, vkey)
	}
	// The derived key verifies what the signer signs.
	s, _ := NewSigner(skey)
	v, err := NewVerifier(got)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := SignCheckpoint(Checkpoint{Origin: s.Name(), Size: 0, Root: EmptyRoot()}, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenCheckpoint([]byte(cp), v); err != nil {
		t.Fatalf("derived key does not verify a checkpoint: %v", err)
	}
	for name, bad := range map[string]string{
		"empty":        "",
		"verifier key": vkey,
		"renamed":      strings.Replace(skey, "evident.example.com/log", "other", 1),
		"truncated":    skey[:len(skey)-4],
	} {
		_, err := VerifierKey(bad)
		if err == nil {
			t.Errorf("%s: VerifierKey accepted a bad key", name)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
		if bad != "" && strings.Contains(err.Error(), bad) {
			t.Errorf("%s: the error contains the key", name)
		}
	}
}
