package tlog

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"
	"sync"

	"github.com/transparency-dev/merkle/compact"
)

// MemStore is a log store in memory, for tests and for callers that need a
// log without a catalog. It is safe for concurrent use; the zero value is an
// empty log.
//
// Every level of the tree is kept as one dense array: the perfect nodes at a
// level are completed left to right, so node (level, i) is the i-th hash of
// its level. LogAppend therefore insists on receiving exactly the nodes the
// leaf completes, in Append's order, and on index being the current size, so
// that a misbehaving caller is an error rather than a corrupt log.
type MemStore struct {
	mu     sync.RWMutex
	leaves [][]byte
	levels [][]byte // levels[l]: the hashes of the perfect nodes at level l, HashSize bytes each
}

var (
	_ Reader = (*MemStore)(nil)
	_ Writer = (*MemStore)(nil)
)

// LogSize returns the number of leaves.
func (m *MemStore) LogSize(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return uint64(len(m.leaves)), nil
}

// LogNodes returns copies of the stored hashes of ids, in order. A node not
// stored: an error wrapping ErrNotFound.
func (m *MemStore) LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([][]byte, len(ids))
	for i, id := range ids {
		if id.Level >= uint(len(m.levels)) || id.Index >= uint64(len(m.levels[id.Level])/HashSize) {
			return nil, errorf(ErrNotFound, "log node %s: not found", nodeName(id))
		}
		off := id.Index * HashSize
		out[i] = bytes.Clone(m.levels[id.Level][off : off+HashSize])
	}
	return out, nil
}

// LogLeaf returns a copy of the data of the leaf at index. Beyond the log:
// an error wrapping ErrNotFound.
func (m *MemStore) LogLeaf(ctx context.Context, index uint64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if index >= uint64(len(m.leaves)) {
		return nil, errorf(ErrNotFound, "log leaf %d: not found (log size %d)", index, len(m.leaves))
	}
	return bytes.Clone(m.leaves[index]), nil
}

// LogAppend stores a copy of leaf at index and the nodes it completes.
// index must be the current size, and nodes exactly the leaf's own node and
// the perfect subtrees it closes, bottom up; anything else is an error and
// changes nothing.
func (m *MemStore) LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []Node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if size := uint64(len(m.leaves)); index != size {
		return fmt.Errorf("log append at index %d, but the log has %d leaves (appends must be serialised)", index, size)
	}
	// Leaf i closes the subtrees (l, i>>l) for l = 0 .. trailing ones of i.
	if want := bits.TrailingZeros64(^index) + 1; len(nodes) != want {
		return fmt.Errorf("log append at index %d: got %d nodes, want %d", index, len(nodes), want)
	}
	for l, n := range nodes {
		if want := compact.NewNodeID(uint(l), index>>uint(l)); n.ID != want {
			return fmt.Errorf("log append at index %d: node %d is %s, want %s", index, l, nodeName(n.ID), nodeName(want))
		}
		if len(n.Hash) != HashSize {
			return fmt.Errorf("log append at index %d: node %s has a %d-byte hash, want %d", index, nodeName(n.ID), len(n.Hash), HashSize)
		}
	}
	m.leaves = append(m.leaves, bytes.Clone(leaf))
	for l, n := range nodes {
		if l == len(m.levels) {
			m.levels = append(m.levels, nil)
		}
		m.levels[l] = append(m.levels[l], n.Hash...)
	}
	return nil
}
