package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Proof is what a client keeps: enough to check offline, with only the log's
// verifier key, that an entry is in the log a signed checkpoint commits to.
type Proof struct {
	Index      uint64   `json:"index"`      // the leaf's index
	Size       uint64   `json:"treeSize"`   // the tree size the proof and the checkpoint are for
	Leaf       []byte   `json:"leaf"`       // the entry bytes (base64 in JSON)
	Hashes     [][]byte `json:"hashes"`     // the inclusion proof
	Checkpoint string   `json:"checkpoint"` // signed note for tree size Size
}

// Verify checks the checkpoint's signature with v, that Size is the
// checkpoint's size, that Leaf at Index with Hashes leads to the checkpoint's
// root, and that Leaf is a canonical Entry. It returns the entry and the
// checkpoint.
//
// Errors wrap ErrVerification (not signed by v, bad signature, another tree
// size, root mismatch), ErrOutOfRange (Index not below Size) or ErrMalformed
// (unparseable checkpoint, entry or hashes).
func (p *Proof) Verify(v note.Verifier) (Entry, Checkpoint, error) {
	if p == nil {
		return Entry{}, Checkpoint{}, errorf(ErrMalformed, "log proof: missing")
	}
	if v == nil {
		return Entry{}, Checkpoint{}, errors.New("log proof: no verifier")
	}
	c, err := OpenCheckpoint([]byte(p.Checkpoint), v)
	if err != nil {
		return Entry{}, Checkpoint{}, fmt.Errorf("log proof: %w", err)
	}
	if p.Size != c.Size {
		return Entry{}, Checkpoint{}, errorf(ErrVerification, "log proof: proof is for tree size %d but its checkpoint is for tree size %d", p.Size, c.Size)
	}
	if p.Index >= p.Size {
		return Entry{}, Checkpoint{}, errorf(ErrOutOfRange, "log proof: leaf index %d is beyond tree size %d", p.Index, p.Size)
	}
	if want := inclusionProofSize(p.Index, p.Size); len(p.Hashes) != want {
		return Entry{}, Checkpoint{}, errorf(ErrMalformed, "log proof: inclusion proof has %d hashes, want %d for leaf %d in tree size %d", len(p.Hashes), want, p.Index, p.Size)
	}
	if err := checkHashes("inclusion proof", p.Hashes); err != nil {
		return Entry{}, Checkpoint{}, fmt.Errorf("log proof: %w", err)
	}
	root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, p.Index, p.Size, LeafHash(p.Leaf), p.Hashes)
	if err != nil {
		return Entry{}, Checkpoint{}, errorf(ErrMalformed, "log proof: %w", err)
	}
	if !bytes.Equal(root, c.Root) {
		return Entry{}, Checkpoint{}, errorf(ErrVerification, "log proof: leaf %d with its inclusion proof leads to root %x, but the checkpoint for tree size %d has root %x", p.Index, root, c.Size, c.Root)
	}
	// Decode after the inclusion check: a leaf that is in the log but is
	// not an entry is a malformed log, while a tampered leaf is reported as
	// the verification failure it is.
	e, err := DecodeEntry(p.Leaf)
	if err != nil {
		return Entry{}, Checkpoint{}, fmt.Errorf("log proof: leaf %d: %w", p.Index, err)
	}
	return e, c, nil
}

// NewProof builds a Proof for the leaf at index in the tree of r's current
// size, with a checkpoint for that size signed by s (whose name must be
// origin). index beyond the log: an error wrapping ErrOutOfRange.
func NewProof(ctx context.Context, r Reader, s note.Signer, origin string, index uint64) (*Proof, error) {
	size, err := r.LogSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("log size: %w", err)
	}
	if index >= size {
		return nil, errorf(ErrOutOfRange, "leaf index %d is beyond the log's size %d", index, size)
	}
	leaf, err := r.LogLeaf(ctx, index)
	if err != nil {
		return nil, fmt.Errorf("read leaf %d: %w", index, err)
	}
	hashes, err := inclusionProof(ctx, r, index, size)
	if err != nil {
		return nil, err
	}
	root, err := root(ctx, r, size)
	if err != nil {
		return nil, err
	}
	signed, err := SignCheckpoint(Checkpoint{Origin: origin, Size: size, Root: root}, s)
	if err != nil {
		return nil, err
	}
	return &Proof{Index: index, Size: size, Leaf: leaf, Hashes: hashes, Checkpoint: signed}, nil
}

// VerifyConsistency checks, with the consistency proof hashes, that the tree
// checkpoint newer commits to extends the one older commits to: the log was
// only appended to in between. Both checkpoints must already be opened
// (verified) with the log's key. Errors wrap ErrVerification (another log, a
// smaller newer tree, a fork, a proof that does not match) or ErrMalformed.
func VerifyConsistency(older, newer Checkpoint, hashes [][]byte) error {
	if older.Origin != newer.Origin {
		return errorf(ErrVerification, "consistency: checkpoints are for different logs %q and %q", older.Origin, newer.Origin)
	}
	if err := older.validate(); err != nil {
		return fmt.Errorf("consistency: older checkpoint: %w", err)
	}
	if err := newer.validate(); err != nil {
		return fmt.Errorf("consistency: newer checkpoint: %w", err)
	}
	if older.Size > newer.Size {
		return errorf(ErrVerification, "consistency: the newer checkpoint has tree size %d, smaller than the older's %d", newer.Size, older.Size)
	}
	if want := consistencyProofSize(older.Size, newer.Size); len(hashes) != want {
		return errorf(ErrMalformed, "consistency: proof has %d hashes, want %d from tree size %d to %d", len(hashes), want, older.Size, newer.Size)
	}
	if err := checkHashes("consistency proof", hashes); err != nil {
		return fmt.Errorf("consistency: %w", err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, older.Size, newer.Size, hashes, older.Root, newer.Root); err != nil {
		var mismatch proof.RootMismatchError
		if !errors.As(err, &mismatch) {
			return errorf(ErrVerification, "consistency from tree size %d to %d: %w", older.Size, newer.Size, err)
		}
		if older.Size == newer.Size {
			return errorf(ErrVerification, "consistency: two checkpoints for tree size %d have different roots %x and %x: the log has forked", older.Size, older.Root, newer.Root)
		}
		return errorf(ErrVerification, "consistency: tree size %d (root %x) is not a prefix of tree size %d (root %x): the proof leads to root %x instead of %x",
			older.Size, older.Root, newer.Size, newer.Root, mismatch.CalculatedRoot, mismatch.ExpectedRoot)
	}
	return nil
}

// checkHashes checks that every proof element has HashSize bytes.
func checkHashes(what string, hashes [][]byte) error {
	for i, h := range hashes {
		if len(h) != HashSize {
			return errorf(ErrMalformed, "%s hash %d has %d bytes, want %d", what, i, len(h), HashSize)
		}
	}
	return nil
}
