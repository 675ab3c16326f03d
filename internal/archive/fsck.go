package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// FsckReport is what Fsck found.
type FsckReport struct {
	Blobs     int
	BlobBytes int64
	Releases  int
	LogSize   uint64
	// Signatures says how many release signatures were re-verified (only
	// when trusted keys were given).
	Signatures int
	Problems   []string
}

// checker is the optional capability of a blob store to report files that
// are not blobs (temp files left by a crash are fine; anything else is not).
type checker interface {
	Check(ctx context.Context, fn func(path string, err error)) error
}

// Fsck checks an archive's storage from the bottom up: it re-hashes every
// blob, checks that every release's blobs exist and that its manifest is
// the one recorded, re-verifies signatures when trust is given, and
// recomputes the whole log from its leaves, comparing every stored node and
// every leaf with the release it records. It reads everything once and
// changes nothing.
func Fsck(ctx context.Context, blobs blob.Store, cat catalog.Catalog, trust sign.Trust, progress func(string)) (*FsckReport, error) {
	if progress == nil {
		progress = func(string) {}
	}
	rep := &FsckReport{}
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }

	// 1. Every blob hashes to its name.
	progress("re-hashing blobs")
	err := blobs.Walk(ctx, func(d digest.Digest, size int64) error {
		rc, _, err := blobs.Get(ctx, d)
		if err != nil {
			problem("blob %s: %v", d, err)
			return nil
		}
		got, n, err := digest.FromReader(rc)
		rc.Close()
		switch {
		case err != nil:
			problem("blob %s: read: %v", d, err)
		case got != d:
			problem("blob %s: content hashes to %s (corrupted)", d, got)
		case n != size:
			problem("blob %s: %d bytes, listed as %d", d, n, size)
		}
		rep.Blobs++
		rep.BlobBytes += n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk blobs: %w", err)
	}
	if c, ok := blobs.(checker); ok {
		if err := c.Check(ctx, func(path string, err error) { problem("blob store: %s: %v", path, err) }); err != nil {
			return nil, err
		}
	}

	// 2. Every release: its blobs exist, its manifest is what it says.
	progress("walking the catalog")
	byIndex := map[uint64]*catalog.Release{}
	err = cat.WalkReleases(ctx, func(r *catalog.Release) error {
		rep.Releases++
		rr := *r
		byIndex[r.LogIndex] = &rr
		for _, d := range r.Blobs {
			if _, err := blobs.Stat(ctx, d); err != nil {
				problem("release %s: blob %s: %v", r.Ref(), d, err)
			}
		}
		mb, err := readAll(ctx, blobs, r.ManifestDigest, evidence.MaxManifestSize)
		if err != nil {
			problem("release %s: manifest: %v", r.Ref(), err)
			return nil
		}
		m, err := evidence.DecodeManifest(bytes.NewReader(mb))
		if err != nil {
			problem("release %s: manifest: %v", r.Ref(), err)
			return nil
		}
		if m.Product.Name != r.Product || m.Product.Version != r.Version {
			problem("release %s: its manifest is for %s", r.Ref(), m.Ref())
		}
		if len(trust.Keys) > 0 {
			bb, err := readAll(ctx, blobs, r.BundleDigest, sign.MaxBundleSize)
			if err != nil {
				problem("release %s: bundle: %v", r.Ref(), err)
				return nil
			}
			if _, _, err := verify.Statement(ctx, mb, bb, trust); err != nil {
				problem("release %s: %v", r.Ref(), err)
			} else {
				rep.Signatures++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk releases: %w", err)
	}

	// 3. The log, recomputed from its leaves.
	progress("recomputing the log")
	size, err := cat.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	rep.LogSize = size
	mem := &tlog.MemStore{}
	for i := uint64(0); i < size; i++ {
		leaf, err := cat.LogLeaf(ctx, i)
		if err != nil {
			problem("log leaf %d: %v", i, err)
			return rep, nil
		}
		if _, err := tlog.Append(ctx, mem, leaf); err != nil {
			return nil, err
		}
		e, err := tlog.DecodeEntry(leaf)
		if err != nil {
			problem("log leaf %d: %v", i, err)
			continue
		}
		if e.Type != tlog.EntryRelease {
			continue // approvals are checked by their own records
		}
		r, ok := byIndex[i]
		switch {
		case !ok:
			problem("log leaf %d records %s@%s, which the catalog does not hold at that index", i, e.Product, e.Version)
		case r.Product != e.Product || r.Version != e.Version || r.ManifestDigest != e.Manifest || r.BundleDigest != e.Record:
			problem("log leaf %d records %s@%s %s, the catalog holds %s %s", i, e.Product, e.Version, e.Manifest, r.Ref(), r.ManifestDigest)
		}
		delete(byIndex, i)
	}
	for i, r := range byIndex {
		problem("release %s claims log index %d, which holds no such entry", r.Ref(), i)
	}
	if size > 0 {
		want, err := tlog.Root(ctx, mem, size)
		if err != nil {
			return nil, err
		}
		got, err := tlog.Root(ctx, cat, size)
		if err != nil {
			problem("log root: %v", err)
		} else if !bytes.Equal(got, want) {
			problem("log root from stored nodes %x differs from the root recomputed from the leaves %x", got, want)
		}
		if err := compareNodes(ctx, mem, cat, size); err != nil {
			problem("%v", err)
		}
	}
	return rep, nil
}

// compareNodes checks every stored node of the log against the recomputed
// one, in batches.
func compareNodes(ctx context.Context, want, got tlog.Reader, size uint64) error {
	var ids []compact.NodeID
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		w, err := want.LogNodes(ctx, ids)
		if err != nil {
			return err
		}
		g, err := got.LogNodes(ctx, ids)
		if err != nil {
			return fmt.Errorf("log nodes: %v", err)
		}
		for i := range ids {
			if !bytes.Equal(w[i], g[i]) {
				return fmt.Errorf("log node %d/%d differs from the one recomputed from the leaves", ids[i].Level, ids[i].Index)
			}
		}
		ids = ids[:0]
		return nil
	}
	for level := uint(0); level < 64; level++ {
		n := size >> level
		if n == 0 {
			break
		}
		for i := uint64(0); i < n; i++ {
			ids = append(ids, compact.NewNodeID(level, i))
			if len(ids) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

func readAll(ctx context.Context, blobs blob.Store, d digest.Digest, max int64) ([]byte, error) {
	rc, n, err := blobs.Get(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if n > max {
		return nil, errors.New("too large")
	}
	return io.ReadAll(io.LimitReader(rc, max+1))
}
