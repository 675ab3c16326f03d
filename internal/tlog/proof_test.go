package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/digest"
)

// entryLog appends n test entries and returns the store.
func entryLog(t *testing.T, n int) *MemStore {
	t.Helper()
	ctx := context.Background()
	m := &MemStore{}
	for i := range n {
		b, err := testEntry(i).Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Append(ctx, m, b); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

var cmpDigest = cmp.Comparer(func(a, b digest.Digest) bool { return a == b })

func TestProofRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, v := testKey(t, testOrigin, 1)
	for _, n := range []int{1, 2, 3, 8, 13} {
		m := entryLog(t, n)
		for i := range n {
			p, err := NewProof(ctx, m, s, testOrigin, uint64(i))
			if err != nil {
				t.Fatalf("n=%d: NewProof(%d): %v", n, i, err)
			}
			// What the client keeps is the JSON.
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var kept Proof
			if err := json.Unmarshal(b, &kept); err != nil {
				t.Fatal(err)
			}
			e, c, err := kept.Verify(v)
			if err != nil {
				t.Fatalf("n=%d: Verify(proof of %d): %v\n%s", n, i, err, b)
			}
			if diff := cmp.Diff(testEntry(i), e, cmpDigest); diff != "" {
				t.Fatalf("n=%d, leaf %d: entry (-want +got):\n%s", n, i, diff)
			}
			root, err := Root(ctx, m, uint64(n))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(Checkpoint{Origin: testOrigin, Size: uint64(n), Root: root}, c); diff != "" {
				t.Fatalf("n=%d, leaf %d: checkpoint (-want +got):\n%s", n, i, diff)
			}
		}
	}
}

func TestProofJSON(t *testing.T) {
	ctx := context.Background()
	s, _ := testKey(t, testOrigin, 1)
	p, err := NewProof(ctx, entryLog(t, 1), s, testOrigin, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := []string{"checkpoint", "hashes", "index", "leaf", "treeSize"}
	if diff := cmp.Diff(want, slices.Sorted(maps.Keys(fields))); diff != "" {
		t.Errorf("JSON fields (-want +got):\n%s", diff)
	}
	if string(fields["hashes"]) != "[]" {
		t.Errorf("hashes of a one-leaf tree = %s, want []", fields["hashes"])
	}
}

func TestProofVerifyRejects(t *testing.T) {
	ctx := context.Background()
	s, v := testKey(t, testOrigin, 1)
	sOther, vOther := testKey(t, "other.example/log", 2)
	m := entryLog(t, 11)
	other := entryLog(t, 11) // same entries, another log
	proofOf := func(r Reader, s note.Signer, origin string, i uint64) *Proof {
		t.Helper()
		p, err := NewProof(ctx, r, s, origin, i)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := proofOf(m, s, testOrigin, 6)
	if _, _, err := good.Verify(v); err != nil {
		t.Fatalf("test setup: %v", err)
	}
	clone := func() *Proof {
		p := *good
		p.Leaf = bytes.Clone(good.Leaf)
		p.Hashes = make([][]byte, len(good.Hashes))
		for i, h := range good.Hashes {
			p.Hashes[i] = bytes.Clone(h)
		}
		return &p
	}
	// A checkpoint of the same log at another size.
	root12, err := func() ([]byte, error) {
		if _, err := Append(ctx, m, mustEncode(t, testEntry(11))); err != nil {
			return nil, err
		}
		return Root(ctx, m, 12)
	}()
	if err != nil {
		t.Fatal(err)
	}
	cp12 := mustSign(t, Checkpoint{Origin: testOrigin, Size: 12, Root: root12}, s)

	tests := []struct {
		name   string
		modify func(*Proof)
		v      note.Verifier
		want   error
	}{
		{"wrong index", func(p *Proof) { p.Index = 7 }, v, ErrVerification},
		{"index of the neighbour", func(p *Proof) { p.Index = 5 }, v, ErrVerification},
		{"index = size", func(p *Proof) { p.Index = 11 }, v, ErrOutOfRange},
		{"index beyond size", func(p *Proof) { p.Index = 1 << 40 }, v, ErrOutOfRange},
		{"size differs from checkpoint", func(p *Proof) { p.Size = 12 }, v, ErrVerification},
		{"checkpoint for another size", func(p *Proof) { p.Checkpoint = cp12 }, v, ErrVerification},
		{"checkpoint and size for another size", func(p *Proof) { p.Checkpoint, p.Size = cp12, 12 }, v, ErrVerification},
		{"checkpoint from another log", func(p *Proof) { p.Checkpoint = proofOf(other, sOther, "other.example/log", 6).Checkpoint }, v, ErrVerification},
		{"verified with another log's key", func(p *Proof) {}, vOther, ErrVerification},
		{"another log's proof under its own key, our leaf", func(p *Proof) {
			*p = *proofOf(other, sOther, "other.example/log", 6)
			p.Leaf = mustEncode(t, testEntry(3))
		}, vOther, ErrVerification},
		{"other entry", func(p *Proof) { p.Leaf = mustEncode(t, testEntry(5)) }, v, ErrVerification},
		{"empty leaf", func(p *Proof) { p.Leaf = nil }, v, ErrVerification},
		{"hash changed", func(p *Proof) { p.Hashes[1][31] ^= 1 }, v, ErrVerification},
		{"hashes swapped", func(p *Proof) { p.Hashes[0], p.Hashes[1] = p.Hashes[1], p.Hashes[0] }, v, ErrVerification},
		{"hash missing", func(p *Proof) { p.Hashes = p.Hashes[1:] }, v, ErrMalformed},
		{"hash added", func(p *Proof) { p.Hashes = append(p.Hashes, p.Hashes[0]) }, v, ErrMalformed},
		{"short hash", func(p *Proof) { p.Hashes[2] = p.Hashes[2][:16] }, v, ErrMalformed},
		{"no checkpoint", func(p *Proof) { p.Checkpoint = "" }, v, ErrMalformed},
		{"checkpoint signature changed", func(p *Proof) {
			b := []byte(p.Checkpoint)
			b[len(b)-5] ^= 1
			p.Checkpoint = string(b)
		}, v, ErrVerification},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := clone()
			tt.modify(p)
			e, _, err := p.Verify(tt.v)
			if err == nil {
				t.Fatalf("verified, entry %+v", e)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
		})
	}

	t.Run("every leaf byte flipped", func(t *testing.T) {
		for i := range good.Leaf {
			p := clone()
			p.Leaf[i] ^= 0x01
			if _, _, err := p.Verify(v); !errors.Is(err, ErrVerification) {
				t.Fatalf("byte %d flipped: %v, want ErrVerification", i, err)
			}
		}
	})
	t.Run("nil proof", func(t *testing.T) {
		var p *Proof
		if _, _, err := p.Verify(v); !errors.Is(err, ErrMalformed) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("nil verifier", func(t *testing.T) {
		if _, _, err := clone().Verify(nil); err == nil {
			t.Fatal("verified without a key")
		}
	})
}

func mustEncode(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A leaf that is in the log but is not an entry verifies as included and is
// then reported as malformed.
func TestProofVerifyNonEntryLeaf(t *testing.T) {
	ctx := context.Background()
	s, v := testKey(t, testOrigin, 1)
	m := entryLog(t, 3)
	if _, err := Append(ctx, m, []byte("not an entry")); err != nil {
		t.Fatal(err)
	}
	p, err := NewProof(ctx, m, s, testOrigin, 3)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Verify(v); !errors.Is(err, ErrMalformed) || errors.Is(err, ErrVerification) {
		t.Fatalf("got %v, want ErrMalformed only", err)
	}
}

func TestNewProofRejects(t *testing.T) {
	ctx := context.Background()
	s, _ := testKey(t, testOrigin, 1)
	m := entryLog(t, 4)
	if _, err := NewProof(ctx, m, s, testOrigin, 4); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("index = size: %v, want ErrOutOfRange", err)
	}
	if _, err := NewProof(ctx, &MemStore{}, s, testOrigin, 0); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("empty log: %v, want ErrOutOfRange", err)
	}
	if _, err := NewProof(ctx, m, s, "other.example/log", 1); err == nil {
		t.Errorf("signed a checkpoint for an origin that is not the key's name")
	}
}

func TestVerifyConsistency(t *testing.T) {
	ctx := context.Background()
	m := entryLog(t, 40)
	forked := entryLog(t, 20)
	for i := 20; i < 40; i++ {
		if _, err := Append(ctx, forked, mustEncode(t, testEntry(1000+i))); err != nil {
			t.Fatal(err)
		}
	}
	cp := func(r Reader, size uint64) Checkpoint {
		t.Helper()
		root, err := Root(ctx, r, size)
		if err != nil {
			t.Fatal(err)
		}
		return Checkpoint{Origin: testOrigin, Size: size, Root: root}
	}
	cons := func(r Reader, s1, s2 uint64) [][]byte {
		t.Helper()
		h, err := ConsistencyProof(ctx, r, s1, s2)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	for _, pair := range [][2]uint64{{0, 0}, {0, 40}, {1, 1}, {1, 2}, {3, 7}, {4, 8}, {16, 40}, {20, 21}, {39, 40}, {40, 40}} {
		if err := VerifyConsistency(cp(m, pair[0]), cp(m, pair[1]), cons(m, pair[0], pair[1])); err != nil {
			t.Errorf("VerifyConsistency(%d, %d): %v", pair[0], pair[1], err)
		}
	}

	other := cp(m, 30)
	other.Origin = "other.example/log"
	changed := cons(m, 13, 30)
	changed[0] = bytes.Clone(changed[0])
	changed[0][0] ^= 1
	tests := []struct {
		name         string
		older, newer Checkpoint
		hashes       [][]byte
		want         error
	}{
		{"fork after the older size", cp(m, 25), cp(forked, 30), cons(forked, 25, 30), ErrVerification},
		{"fork: proof from the honest log", cp(m, 25), cp(forked, 30), cons(m, 25, 30), ErrVerification},
		{"same size, different roots", cp(m, 30), cp(forked, 30), nil, ErrVerification},
		{"older is larger", cp(m, 30), cp(m, 13), cons(m, 13, 30), ErrVerification},
		{"another log", cp(m, 13), other, cons(m, 13, 30), ErrVerification},
		{"hash changed", cp(m, 13), cp(m, 30), changed, ErrVerification},
		{"proof for other sizes", cp(m, 13), cp(m, 30), cons(m, 11, 30), ErrVerification},
		{"hash missing", cp(m, 13), cp(m, 30), cons(m, 13, 30)[1:], ErrMalformed},
		{"proof where none is due", cp(m, 30), cp(m, 30), cons(m, 13, 30), ErrMalformed},
		{"short hash", cp(m, 13), cp(m, 30), [][]byte{{1}, {2}, {3}, {4}, {5}}, ErrMalformed},
		{"short root", Checkpoint{Origin: testOrigin, Size: 13, Root: []byte{1}}, cp(m, 30), cons(m, 13, 30), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyConsistency(tt.older, tt.newer, tt.hashes)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
		})
	}
}
