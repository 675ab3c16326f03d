// Package tlog is evident's tamper-evident log: an append-only Merkle tree
// with RFC 6962 hashing (github.com/transparency-dev/merkle) whose leaves are
// the records the archive accepted, with checkpoints signed in the signed-note
// format (golang.org/x/mod/sumdb/note), and inclusion and consistency proofs
// a client verifies offline.
//
// The algorithm lives here; storage is the catalog's. A store keeps the leaf
// data and every node that heads a perfect subtree, so that any proof needs
// O(log n) node reads.
package tlog

import (
	"context"

	"github.com/transparency-dev/merkle/compact"
)

// Reader reads the stored log.
type Reader interface {
	// LogSize returns the number of leaves.
	LogSize(ctx context.Context) (uint64, error)
	// LogNodes returns the hashes of stored nodes, in the order asked. A
	// node that is not stored is an error.
	LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error)
	// LogLeaf returns the data of the leaf at index.
	LogLeaf(ctx context.Context, index uint64) ([]byte, error)
}

// Writer appends to the stored log. It is used only inside a write
// transaction of the store, through Append.
type Writer interface {
	// LogAppend stores leaf at index (which must equal the current size)
	// and the nodes that this leaf completes.
	LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []Node) error
}

// Node is a stored node: the head of a perfect subtree.
type Node struct {
	ID   compact.NodeID
	Hash []byte
}
