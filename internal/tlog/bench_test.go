package tlog

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

const benchLeaves = 1_000_000

// benchLog builds a log of benchLeaves 64-byte leaves through Append.
func benchLog(b *testing.B) *MemStore {
	b.Helper()
	ctx := context.Background()
	m := &MemStore{}
	leaf := make([]byte, 64)
	for i := range uint64(benchLeaves) {
		binary.BigEndian.PutUint64(leaf, i)
		if _, err := Append(ctx, m, leaf); err != nil {
			b.Fatal(err)
		}
	}
	return m
}

// BenchmarkAppend measures one Append to a log of a million leaves.
func BenchmarkAppend(b *testing.B) {
	ctx := context.Background()
	m := benchLog(b)
	leaf := make([]byte, 64)
	var i uint64
	for b.Loop() {
		i++
		binary.BigEndian.PutUint64(leaf, benchLeaves+i)
		if _, err := Append(ctx, m, leaf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInclusionProof measures one inclusion proof for a random leaf of
// a log of a million leaves.
func BenchmarkInclusionProof(b *testing.B) {
	ctx := context.Background()
	m := benchLog(b)
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Loop() {
		if _, err := InclusionProof(ctx, m, rng.Uint64N(benchLeaves), benchLeaves); err != nil {
			b.Fatal(err)
		}
	}
}
