package tlog

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
)

func TestMemStoreRejectsBadAppends(t *testing.T) {
	ctx := context.Background()
	h := bytes.Repeat([]byte{7}, HashSize)
	// The log has 3 leaves; leaf 3 completes (0,3), (1,1), (2,0).
	good := []Node{{compact.NewNodeID(0, 3), h}, {compact.NewNodeID(1, 1), h}, {compact.NewNodeID(2, 0), h}}
	tests := []struct {
		name  string
		index uint64
		nodes []Node
	}{
		{"index below size", 2, good},
		{"index beyond size", 4, good},
		{"missing node", 3, good[:2]},
		{"extra node", 3, append(append([]Node{}, good...), Node{compact.NewNodeID(3, 0), h})},
		{"wrong node", 3, []Node{good[0], {compact.NewNodeID(1, 0), h}, good[2]}},
		{"nodes out of order", 3, []Node{good[0], good[2], good[1]}},
		{"short hash", 3, []Node{good[0], {compact.NewNodeID(1, 1), h[:31]}, good[2]}},
		{"no nodes", 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := buildLog(t, 3)
			before := snapshot(t, m)
			if err := m.LogAppend(ctx, tt.index, []byte("x"), tt.nodes); err == nil {
				t.Fatal("LogAppend accepted it")
			}
			if diff := cmp.Diff(before, snapshot(t, m)); diff != "" {
				t.Fatalf("failed LogAppend changed the store (-before +after):\n%s", diff)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		m, _ := buildLog(t, 3)
		if err := m.LogAppend(ctx, 3, []byte("x"), good); err != nil {
			t.Fatal(err)
		}
		got, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(2, 0)})
		if err != nil || !bytes.Equal(got[0], h) {
			t.Fatalf("LogNodes(2/0) = %x, %v; want %x", got, err, h)
		}
	})
}

// snapshot is everything a MemStore reader can see of m, by reading it.
func snapshot(t *testing.T, m *MemStore) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	size, err := m.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for i := range size {
		leaf, err := m.LogLeaf(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		out["leaf "+nodeName(compact.NewNodeID(0, i))] = leaf
	}
	for l := uint(0); l < 64 && size>>l > 0; l++ {
		for i := range size >> l {
			id := compact.NewNodeID(l, i)
			h, err := m.LogNodes(ctx, []compact.NodeID{id})
			if err != nil {
				t.Fatal(err)
			}
			out["node "+nodeName(id)] = h[0]
		}
		// The next node on the level is not stored.
		if _, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(l, size>>l)}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("node %d/%d beyond the tree: %v, want ErrNotFound", l, size>>l, err)
		}
	}
	return out
}

func TestMemStoreReads(t *testing.T) {
	ctx := context.Background()
	m, hashes := buildLog(t, 6)
	tests := []struct {
		name string
		call func() error
	}{
		{"leaf beyond log", func() error { _, err := m.LogLeaf(ctx, 6); return err }},
		{"node beyond level", func() error { _, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(1, 3)}); return err }},
		{"ephemeral node", func() error { _, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(2, 1)}); return err }},
		{"level above the tree", func() error { _, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(9, 0)}); return err }},
		{"one missing among good", func() error {
			_, err := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(0, 0), compact.NewNodeID(0, 6)})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrNotFound) {
				t.Fatalf("got %v, want an error wrapping ErrNotFound", err)
			}
		})
	}

	t.Run("returns copies", func(t *testing.T) {
		leaf, _ := m.LogLeaf(ctx, 2)
		leaf[0] ^= 0xff
		nodes, _ := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(0, 2)})
		nodes[0][0] ^= 0xff
		if got, _ := m.LogLeaf(ctx, 2); !bytes.Equal(got, testLeaf(2)) {
			t.Errorf("leaf changed to %q through a returned slice", got)
		}
		if got, _ := m.LogNodes(ctx, []compact.NodeID{compact.NewNodeID(0, 2)}); !bytes.Equal(got[0], hashes[2]) {
			t.Errorf("node changed through a returned slice")
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := m.LogSize(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("LogSize: %v", err)
		}
		if _, err := Append(cctx, m, []byte("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Append: %v", err)
		}
	})
}

// TestMemStoreConcurrent runs readers against a growing log (go test -race).
func TestMemStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	m := &MemStore{}
	var mu sync.Mutex // the "write transaction"
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				mu.Lock()
				_, err := Append(ctx, m, testLeaf(w*1000+i))
				mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() {
			for range 50 {
				size, err := m.LogSize(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if size == 0 {
					continue
				}
				root, err := Root(ctx, m, size)
				if err != nil {
					t.Error(err)
					return
				}
				leaf, err := m.LogLeaf(ctx, size-1)
				if err != nil {
					t.Error(err)
					return
				}
				p, err := InclusionProof(ctx, m, size-1, size)
				if err != nil {
					t.Error(err)
					return
				}
				if err := verifyInclusionRef(size-1, size, leaf, p, root); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if size, _ := m.LogSize(ctx); size != 200 {
		t.Errorf("log size %d, want 200", size)
	}
}

// TestAppendUnserialised shows that a store that checks the index turns a
// lost race between two appends into an error instead of a corrupt log.
func TestAppendUnserialised(t *testing.T) {
	ctx := context.Background()
	m, _ := buildLog(t, 5)
	racer := &racingStore{MemStore: m}
	if _, err := Append(ctx, racer, []byte("mine")); err == nil {
		t.Fatal("Append succeeded although another append came first")
	}
	if size, _ := m.LogSize(ctx); size != 6 {
		t.Fatalf("log size %d, want 6 (the other append only)", size)
	}
	if got, _ := m.LogLeaf(ctx, 5); string(got) != "theirs" {
		t.Fatalf("leaf 5 = %q, want the other append's", got)
	}
}

// racingStore lets another append in just before LogAppend.
type racingStore struct{ *MemStore }

func (r *racingStore) LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []Node) error {
	if _, err := Append(ctx, r.MemStore, []byte("theirs")); err != nil {
		return err
	}
	return r.MemStore.LogAppend(ctx, index, leaf, nodes)
}
