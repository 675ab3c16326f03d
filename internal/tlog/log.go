package tlog

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of every hash in the log: leaf and node hashes,
// roots and proof elements (SHA-256).
const HashSize = sha256.Size

// LeafHash returns the RFC 6962 hash of leaf data: SHA-256(0x00 || leaf).
func LeafHash(leaf []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(leaf) }

// EmptyRoot returns the root of the empty tree: SHA-256 of nothing.
func EmptyRoot() []byte { return rfc6962.DefaultHasher.EmptyRoot() }

func hashChildren(l, r []byte) []byte { return rfc6962.DefaultHasher.HashChildren(l, r) }

func rangeFactory() *compact.RangeFactory {
	return &compact.RangeFactory{Hash: hashChildren}
}

// Append appends leaf at index LogSize() and stores it with the nodes it
// completes (via s.LogAppend), returning the index. The nodes are the leaf's
// own hash (level 0) and every perfect subtree the leaf closes, bottom up.
//
// Append must be called inside the store's write transaction, which
// serialises appends: it reads the size and the right border of the tree and
// then writes, and a concurrent append in between would be rejected by a
// store that checks the index (MemStore does) or corrupt one that does not.
func Append(ctx context.Context, s interface {
	Reader
	Writer
}, leaf []byte) (uint64, error) {
	size, err := s.LogSize(ctx)
	if err != nil {
		return 0, fmt.Errorf("log size: %w", err)
	}
	rng, err := loadRange(ctx, s, size)
	if err != nil {
		return 0, err
	}
	var nodes []Node
	visit := func(id compact.NodeID, hash []byte) {
		nodes = append(nodes, Node{ID: id, Hash: hash})
	}
	if err := rng.Append(LeafHash(leaf), visit); err != nil {
		return 0, fmt.Errorf("append leaf %d: %w", size, err)
	}
	if err := s.LogAppend(ctx, size, leaf, nodes); err != nil {
		return 0, fmt.Errorf("append leaf %d: %w", size, err)
	}
	return size, nil
}

// Root returns the RFC 6962 root of the first size leaves: EmptyRoot for
// size 0, and an error wrapping ErrOutOfRange when size exceeds the log.
func Root(ctx context.Context, r Reader, size uint64) ([]byte, error) {
	if err := checkSize(ctx, r, size); err != nil {
		return nil, err
	}
	return root(ctx, r, size)
}

func root(ctx context.Context, r Reader, size uint64) ([]byte, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	rng, err := loadRange(ctx, r, size)
	if err != nil {
		return nil, err
	}
	h, err := rng.GetRootHash(nil)
	if err != nil {
		return nil, fmt.Errorf("root of tree size %d: %w", size, err)
	}
	return h, nil
}

// InclusionProof returns the RFC 6962 inclusion proof of the leaf at index
// in the tree of the first size leaves. index >= size, or size beyond the
// log: an error wrapping ErrOutOfRange.
func InclusionProof(ctx context.Context, r Reader, index, size uint64) ([][]byte, error) {
	if err := checkSize(ctx, r, size); err != nil {
		return nil, err
	}
	if index >= size {
		return nil, errorf(ErrOutOfRange, "leaf index %d is beyond tree size %d", index, size)
	}
	return inclusionProof(ctx, r, index, size)
}

func inclusionProof(ctx context.Context, r Reader, index, size uint64) ([][]byte, error) {
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, errorf(ErrOutOfRange, "inclusion proof for leaf %d in tree size %d: %w", index, size, err)
	}
	h, err := fetchProof(ctx, r, nodes)
	if err != nil {
		return nil, fmt.Errorf("inclusion proof for leaf %d in tree size %d: %w", index, size, err)
	}
	return h, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees
// of the first size1 and the first size2 leaves. It is empty when size1 is 0
// or equals size2. size1 > size2, or size2 beyond the log: an error wrapping
// ErrOutOfRange.
func ConsistencyProof(ctx context.Context, r Reader, size1, size2 uint64) ([][]byte, error) {
	if err := checkSize(ctx, r, size2); err != nil {
		return nil, err
	}
	if size1 > size2 {
		return nil, errorf(ErrOutOfRange, "consistency proof from tree size %d to smaller size %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, errorf(ErrOutOfRange, "consistency proof from tree size %d to %d: %w", size1, size2, err)
	}
	h, err := fetchProof(ctx, r, nodes)
	if err != nil {
		return nil, fmt.Errorf("consistency proof from tree size %d to %d: %w", size1, size2, err)
	}
	return h, nil
}

// checkSize fails with ErrOutOfRange when size exceeds the log.
func checkSize(ctx context.Context, r Reader, size uint64) error {
	n, err := r.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("log size: %w", err)
	}
	if size > n {
		return errorf(ErrOutOfRange, "tree size %d is beyond the log's size %d", size, n)
	}
	return nil
}

// loadRange reads the compact range [0, size): the perfect subtrees along
// the tree's right border.
func loadRange(ctx context.Context, r Reader, size uint64) (*compact.Range, error) {
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := readNodes(ctx, r, ids)
	if err != nil {
		return nil, fmt.Errorf("tree size %d: %w", size, err)
	}
	rng, err := rangeFactory().NewRange(0, size, hashes)
	if err != nil {
		return nil, fmt.Errorf("tree size %d: %w", size, err)
	}
	return rng, nil
}

// fetchProof reads the stored nodes a proof needs and folds the ones that
// make up its ephemeral node (the root of the incomplete subtree on the
// right border, which no store holds) into that node's hash.
func fetchProof(ctx context.Context, r Reader, nodes proof.Nodes) ([][]byte, error) {
	hashes, err := readNodes(ctx, r, nodes.IDs)
	if err != nil {
		return nil, err
	}
	return nodes.Rehash(hashes, hashChildren)
}

// readNodes reads ids from r, checking that the store answered with one
// hash of the right size per id. No ids: no read.
func readNodes(ctx context.Context, r Reader, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	hashes, err := r.LogNodes(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read log nodes: %w", err)
	}
	if len(hashes) != len(ids) {
		return nil, fmt.Errorf("read log nodes: store returned %d hashes for %d nodes", len(hashes), len(ids))
	}
	for i, h := range hashes {
		if len(h) != HashSize {
			return nil, fmt.Errorf("read log nodes: node %s has a %d-byte hash, want %d", nodeName(ids[i]), len(h), HashSize)
		}
	}
	return hashes, nil
}

// nodeName prints a node ID as "level/index".
func nodeName(id compact.NodeID) string { return fmt.Sprintf("%d/%d", id.Level, id.Index) }

// inclusionProofSize returns the number of hashes in an inclusion proof for
// index in a tree of size leaves (index < size).
func inclusionProofSize(index, size uint64) int {
	inner := bits.Len64(index ^ (size - 1))
	return inner + bits.OnesCount64(index>>uint(inner))
}

// consistencyProofSize returns the number of hashes in a consistency proof
// from size1 to size2 (size1 <= size2).
func consistencyProofSize(size1, size2 uint64) int {
	if size1 == 0 || size1 == size2 {
		return 0
	}
	n := inclusionProofSize(size1-1, size2) - bits.TrailingZeros64(size1)
	if size1&(size1-1) != 0 { // not a power of two: the proof starts with the subtree root
		n++
	}
	return n
}
