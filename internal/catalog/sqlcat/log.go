package sqlcat

import (
	"bytes"
	"context"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/tlog"
)

// CheckAppend checks that nodes are exactly the subtrees leaf index
// completes, each with a hash of the right size, before a catalog stores
// them (catalog.Tx.LogAppend).
func CheckAppend(index uint64, nodes []tlog.Node) error {
	// Leaf i closes the subtrees (l, i>>l) for l = 0 .. the trailing ones of i.
	if want := bits.TrailingZeros64(^index) + 1; len(nodes) != want {
		return fmt.Errorf("log append at %d: got %d nodes, want the %d this leaf completes", index, len(nodes), want)
	}
	for l, n := range nodes {
		if want := compact.NewNodeID(uint(l), index>>uint(l)); n.ID != want {
			return fmt.Errorf("log append at %d: node %d is (level %d, index %d), want (level %d, index %d)",
				index, l, n.ID.Level, n.ID.Index, want.Level, want.Index)
		}
		if len(n.Hash) != tlog.HashSize {
			return fmt.Errorf("log append at %d: node (level %d, index %d) has a %d-byte hash, want %d",
				index, n.ID.Level, n.ID.Index, len(n.Hash), tlog.HashSize)
		}
	}
	return nil
}

// LogReader reads the committed log, as a catalog's reader does.
type LogReader interface {
	LogSize(ctx context.Context) (uint64, error)
	LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error)
}

// LogCache is the log as a write transaction sees it, the only writer: its
// size and the nodes read or written, so that a transaction appending many
// leaves does not read the tree's right border again for each one. Stored
// nodes never change. The zero LogCache is empty; it belongs to one
// transaction.
type LogCache struct {
	sized bool
	size  uint64
	nodes map[compact.NodeID][]byte
}

// Size returns the log's size, read from r the first time.
func (c *LogCache) Size(ctx context.Context, r LogReader) (uint64, error) {
	if !c.sized {
		n, err := r.LogSize(ctx)
		if err != nil {
			return 0, err
		}
		c.size, c.sized = n, true
	}
	return c.size, nil
}

// Nodes returns the hashes of ids, reading from r only those not seen yet.
func (c *LogCache) Nodes(ctx context.Context, r LogReader, ids []compact.NodeID) ([][]byte, error) {
	var missing []compact.NodeID
	for _, id := range ids {
		if _, ok := c.nodes[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		hashes, err := r.LogNodes(ctx, missing)
		if err != nil {
			return nil, err
		}
		for i, id := range missing {
			c.put(id, hashes[i])
		}
	}
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = bytes.Clone(c.nodes[id])
	}
	return out, nil
}

// Appended records that leaf index, completing nodes, has been stored.
func (c *LogCache) Appended(index uint64, nodes []tlog.Node) {
	c.size, c.sized = index+1, true
	for _, n := range nodes {
		c.put(n.ID, bytes.Clone(n.Hash))
	}
}

func (c *LogCache) put(id compact.NodeID, hash []byte) {
	if c.nodes == nil {
		c.nodes = map[compact.NodeID][]byte{}
	}
	c.nodes[id] = hash
}
