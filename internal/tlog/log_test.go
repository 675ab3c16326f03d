package tlog

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// checkTree checks Root, every inclusion proof and every consistency proof
// (from each smaller size) for the tree of the first size leaves.
func checkTree(t *testing.T, r Reader, hashes [][]byte, size uint64) {
	t.Helper()
	ctx := context.Background()
	want := refRoot(hashes[:size])
	got, err := Root(ctx, r, size)
	if err != nil {
		t.Fatalf("Root(%d): %v", size, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Root(%d) = %x, want %x", size, got, want)
	}
	for i := range size {
		p, err := InclusionProof(ctx, r, i, size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", i, size, err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, hashes[i], p, want); err != nil {
			t.Fatalf("InclusionProof(%d, %d) does not verify: %v", i, size, err)
		}
	}
	for s1 := range size + 1 {
		p, err := ConsistencyProof(ctx, r, s1, size)
		if err != nil {
			t.Fatalf("ConsistencyProof(%d, %d): %v", s1, size, err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, s1, size, p, refRoot(hashes[:s1]), want); err != nil {
			t.Fatalf("ConsistencyProof(%d, %d) does not verify: %v", s1, size, err)
		}
	}
}

func TestAppendSmallTrees(t *testing.T) {
	// One log grown leaf by leaf: after each Append the tree of every size
	// n = 0..70 is checked, at the moment it is the whole log.
	ctx := context.Background()
	m := &MemStore{}
	var hashes [][]byte
	checkTree(t, m, hashes, 0)
	for n := 1; n <= 70; n++ {
		leaf := testLeaf(n - 1)
		idx, err := Append(ctx, m, leaf)
		if err != nil {
			t.Fatalf("Append #%d: %v", n, err)
		}
		if idx != uint64(n-1) {
			t.Fatalf("Append #%d returned index %d", n, idx)
		}
		hashes = append(hashes, refLeafHash(leaf))
		checkTree(t, m, hashes, uint64(n))
	}
}

func TestAppendLargeTrees(t *testing.T) {
	for _, n := range []int{1000, 4097} {
		m, hashes := buildLog(t, n)
		for _, size := range []int{n, n - 1, 1024, 1023, 513, 1} {
			if size > n {
				continue
			}
			size := uint64(size)
			ctx := context.Background()
			root := refRoot(hashes[:size])
			got, err := Root(ctx, m, size)
			if err != nil || !bytes.Equal(got, root) {
				t.Fatalf("n=%d: Root(%d) = %x, %v; want %x", n, size, got, err, root)
			}
			for i := range size {
				p, err := InclusionProof(ctx, m, i, size)
				if err != nil {
					t.Fatalf("n=%d: InclusionProof(%d, %d): %v", n, i, size, err)
				}
				if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, size, hashes[i], p, root); err != nil {
					t.Fatalf("n=%d: InclusionProof(%d, %d): %v", n, i, size, err)
				}
			}
			for _, s1 := range []uint64{0, 1, 2, 3, 7, 8, 100, 511, 512, 999, size - 1, size} {
				if s1 > size {
					continue
				}
				p, err := ConsistencyProof(ctx, m, s1, size)
				if err != nil {
					t.Fatalf("n=%d: ConsistencyProof(%d, %d): %v", n, s1, size, err)
				}
				if err := proof.VerifyConsistency(rfc6962.DefaultHasher, s1, size, p, refRoot(hashes[:s1]), root); err != nil {
					t.Fatalf("n=%d: ConsistencyProof(%d, %d): %v", n, s1, size, err)
				}
			}
		}
	}
}

// TestProofsProperty checks random proofs in a log of random size, and that
// changing any element of a proof makes it fail.
func TestProofsProperty(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	m, hashes := buildLog(t, 3000)
	roots := map[uint64][]byte{}
	rootOf := func(size uint64) []byte {
		if r, ok := roots[size]; ok {
			return r
		}
		roots[size] = refRoot(hashes[:size])
		return roots[size]
	}
	for range 300 {
		size2 := 1 + rng.Uint64N(uint64(len(hashes)))
		size1 := rng.Uint64N(size2 + 1)
		index := rng.Uint64N(size2)

		incl, err := InclusionProof(ctx, m, index, size2)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size2, hashes[index], incl, rootOf(size2)); err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", index, size2, err)
		}
		if len(incl) != inclusionProofSize(index, size2) {
			t.Fatalf("InclusionProof(%d, %d) has %d hashes, inclusionProofSize says %d", index, size2, len(incl), inclusionProofSize(index, size2))
		}
		if len(incl) > 0 {
			k := rng.IntN(len(incl))
			incl[k] = bytes.Clone(incl[k])
			incl[k][rng.IntN(HashSize)] ^= 1 << rng.IntN(8)
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size2, hashes[index], incl, rootOf(size2)); err == nil {
				t.Fatalf("InclusionProof(%d, %d) with hash %d changed still verifies", index, size2, k)
			}
		}

		cons, err := ConsistencyProof(ctx, m, size1, size2)
		if err != nil {
			t.Fatal(err)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, cons, rootOf(size1), rootOf(size2)); err != nil {
			t.Fatalf("ConsistencyProof(%d, %d): %v", size1, size2, err)
		}
		if len(cons) != consistencyProofSize(size1, size2) {
			t.Fatalf("ConsistencyProof(%d, %d) has %d hashes, consistencyProofSize says %d", size1, size2, len(cons), consistencyProofSize(size1, size2))
		}
		if len(cons) > 0 {
			k := rng.IntN(len(cons))
			cons[k] = bytes.Clone(cons[k])
			cons[k][rng.IntN(HashSize)] ^= 1 << rng.IntN(8)
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, cons, rootOf(size1), rootOf(size2)); err == nil {
				t.Fatalf("ConsistencyProof(%d, %d) with hash %d changed still verifies", size1, size2, k)
			}
		}
	}
}

// appendRecorder records what Append hands to the store.
type appendRecorder struct {
	*MemStore
	calls []appendCall
}

type appendCall struct {
	index, size uint64
	leaf        []byte
	nodes       []Node
}

func (r *appendRecorder) LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []Node) error {
	size, _ := r.MemStore.LogSize(ctx)
	r.calls = append(r.calls, appendCall{index: index, size: size, leaf: leaf, nodes: nodes})
	return r.MemStore.LogAppend(ctx, index, leaf, nodes)
}

func TestAppendStoresPerfectSubtreesOnly(t *testing.T) {
	ctx := context.Background()
	const n = 300
	rec := &appendRecorder{MemStore: &MemStore{}}
	var hashes [][]byte
	stored := map[compact.NodeID][]byte{}
	for i := range n {
		leaf := testLeaf(i)
		if _, err := Append(ctx, rec, leaf); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, refLeafHash(leaf))
		c := rec.calls[len(rec.calls)-1]
		if c.index != c.size || c.index != uint64(i) {
			t.Fatalf("leaf %d: LogAppend got index %d with log size %d", i, c.index, c.size)
		}
		if !bytes.Equal(c.leaf, leaf) {
			t.Fatalf("leaf %d: LogAppend got leaf %q", i, c.leaf)
		}
		// The leaf completes exactly the perfect subtrees that end at it:
		// (l, i>>l) for every l with ((i+1) mod 2^l) == 0.
		var want []compact.NodeID
		for l := uint(0); (uint64(i)+1)%(1<<l) == 0; l++ {
			want = append(want, compact.NewNodeID(l, uint64(i)>>l))
		}
		var got []compact.NodeID
		for _, nd := range c.nodes {
			got = append(got, nd.ID)
			begin, end := nd.ID.Coverage()
			if wantHash := refRoot(hashes[begin:end]); !bytes.Equal(nd.Hash, wantHash) {
				t.Fatalf("leaf %d: node %s has hash %x, want %x", i, nodeName(nd.ID), nd.Hash, wantHash)
			}
			if _, dup := stored[nd.ID]; dup {
				t.Fatalf("leaf %d: node %s stored twice", i, nodeName(nd.ID))
			}
			stored[nd.ID] = nd.Hash
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("leaf %d: nodes (-want +got):\n%s", i, diff)
		}
	}
	// Exactly one node per perfect subtree: floor(n / 2^l) at each level.
	wantCount := 0
	for l := 0; n>>l > 0; l++ {
		wantCount += n >> l
	}
	if len(stored) != wantCount {
		t.Errorf("stored %d nodes, want %d", len(stored), wantCount)
	}
	memCount := 0
	for _, lv := range rec.MemStore.levels {
		memCount += len(lv) / HashSize
	}
	if memCount != wantCount {
		t.Errorf("MemStore holds %d nodes, want %d", memCount, wantCount)
	}
}

func TestLogRangeErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := buildLog(t, 10)
	tests := []struct {
		name string
		call func() error
	}{
		{"root beyond log", func() error { _, err := Root(ctx, m, 11); return err }},
		{"inclusion index = size", func() error { _, err := InclusionProof(ctx, m, 5, 5); return err }},
		{"inclusion index beyond size", func() error { _, err := InclusionProof(ctx, m, 7, 5); return err }},
		{"inclusion in empty tree", func() error { _, err := InclusionProof(ctx, m, 0, 0); return err }},
		{"inclusion size beyond log", func() error { _, err := InclusionProof(ctx, m, 3, 11); return err }},
		{"consistency size2 beyond log", func() error { _, err := ConsistencyProof(ctx, m, 3, 11); return err }},
		{"consistency size1 > size2", func() error { _, err := ConsistencyProof(ctx, m, 6, 5); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrOutOfRange) {
				t.Fatalf("got %v, want an error wrapping ErrOutOfRange", err)
			}
		})
	}
}

// brokenReader answers size honestly but serves broken nodes.
type brokenReader struct {
	*MemStore
	nodes func([][]byte) ([][]byte, error)
}

func (b brokenReader) LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	h, err := b.MemStore.LogNodes(ctx, ids)
	if err != nil {
		return nil, err
	}
	return b.nodes(h)
}

func TestLogStoreFailures(t *testing.T) {
	ctx := context.Background()
	m, _ := buildLog(t, 13)
	errDisk := errors.New("disk on fire")
	tests := []struct {
		name    string
		nodes   func([][]byte) ([][]byte, error)
		wantErr error
	}{
		{"store error", func([][]byte) ([][]byte, error) { return nil, errDisk }, errDisk},
		{"too few hashes", func(h [][]byte) ([][]byte, error) { return h[1:], nil }, nil},
		{"short hash", func(h [][]byte) ([][]byte, error) { h[0] = h[0][:5]; return h, nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := brokenReader{m, tt.nodes}
			calls := map[string]func() error{
				"Root":             func() error { _, err := Root(ctx, r, 13); return err },
				"InclusionProof":   func() error { _, err := InclusionProof(ctx, r, 4, 13); return err },
				"ConsistencyProof": func() error { _, err := ConsistencyProof(ctx, r, 5, 13); return err },
				"Append": func() error {
					_, err := Append(ctx, struct {
						Reader
						Writer
					}{r, m}, []byte("x"))
					return err
				},
			}
			for name, call := range calls {
				err := call()
				if err == nil {
					t.Errorf("%s: no error", name)
				} else if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: %v, want it to wrap %v", name, err, tt.wantErr)
				}
			}
			if size, _ := m.LogSize(ctx); size != 13 {
				t.Errorf("log size %d after failed appends, want 13", size)
			}
		})
	}
}
