package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/digest"
)

// Reference RFC 6962 hashing, written from the RFC rather than with the
// library the package uses, so that the tests check the package against an
// independent computation.

func refLeafHash(leaf []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, leaf...))
	return h[:]
}

func refNodeHash(l, r []byte) []byte {
	h := sha256.Sum256(append(append([]byte{1}, l...), r...))
	return h[:]
}

// refRoot is RFC 6962 §2.1 MTH over leaf hashes.
func refRoot(hashes [][]byte) []byte {
	switch n := len(hashes); n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return hashes[0]
	default:
		k := 1
		for k*2 < n {
			k *= 2
		}
		return refNodeHash(refRoot(hashes[:k]), refRoot(hashes[k:]))
	}
}

func testLeaf(i int) []byte { return fmt.Appendf(nil, "leaf %d", i) }

// buildLog appends n leaves (testLeaf(0..n-1)) through Append and returns the
// store and the reference leaf hashes.
func buildLog(tb testing.TB, n int) (*MemStore, [][]byte) {
	tb.Helper()
	ctx := context.Background()
	m := &MemStore{}
	hashes := make([][]byte, n)
	for i := range n {
		leaf := testLeaf(i)
		idx, err := Append(ctx, m, leaf)
		if err != nil {
			tb.Fatalf("Append(%d): %v", i, err)
		}
		if idx != uint64(i) {
			tb.Fatalf("Append returned index %d, want %d", idx, i)
		}
		hashes[i] = refLeafHash(leaf)
	}
	return m, hashes
}

// testKey returns a deterministic log key pair for origin: seed selects the key.
func testKey(tb testing.TB, origin string, seed byte) (note.Signer, note.Verifier) {
	tb.Helper()
	skey, vkey, err := note.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{seed}, 32)), origin)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSigner(skey)
	if err != nil {
		tb.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		tb.Fatal(err)
	}
	return s, v
}

const testOrigin = "evident.example.com/log"

// testEntry returns a valid entry that differs with i.
func testEntry(i int) Entry {
	return Entry{
		Type:     EntryRelease,
		Product:  "infusion-pump",
		Version:  fmt.Sprintf("1.%d.0", i),
		Manifest: digestOf("manifest", i),
		Record:   digestOf("bundle", i),
	}
}

func digestOf(kind string, i int) digest.Digest {
	return digest.FromBytes(fmt.Appendf(nil, "%s %d", kind, i))
}

// verifyInclusionRef verifies an inclusion proof with the library verifier.
func verifyInclusionRef(index, size uint64, leaf []byte, hashes [][]byte, root []byte) error {
	return proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, refLeafHash(leaf), hashes, root)
}
