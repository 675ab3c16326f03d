package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// Upload is a sealed release directory whose blobs are in an archive.
type Upload struct {
	// Ref and Manifest are the release the directory holds.
	Ref      evidence.ReleaseRef
	Manifest *evidence.Manifest
	// Request names the uploaded manifest and bundle, ready for PushRelease.
	Request api.PushRequest
	// Uploaded and UploadedBytes count the blobs the archive lacked.
	Uploaded      int
	UploadedBytes int64
}

// uploadParallel is how many blobs UploadDir sends at once.
const uploadParallel = 4

// missingBatch is how many digests go into one MissingBlobs question; well
// below the archive's limit per query.
const missingBatch = 1000

// UploadDir uploads to a the blobs of the sealed release in dir (as evident
// seal writes it: manifest.json, bundle.sigstore.json, evidence/sha256/...)
// that a does not have yet. It works against any api.Archive: a server
// through Client, or an archive in-process. The release does not become
// visible until PushRelease(ctx, u.Request).
//
// A file that changed since sealing is refused by the archive, which
// verifies every digest while storing.
func UploadDir(ctx context.Context, a api.Archive, dir string) (*Upload, error) {
	mb, err := readFileLimited(filepath.Join(dir, verify.ManifestFile), evidence.MaxManifestSize)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s is not a sealed release: %v", dir, err)
	}
	bb, err := readFileLimited(filepath.Join(dir, verify.BundleFile), sign.MaxBundleSize)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s is not sealed (run evident seal): %v", dir, err)
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	u := &Upload{
		Ref: m.Ref(), Manifest: m,
		Request: api.PushRequest{Manifest: digest.FromBytes(mb), Bundle: digest.FromBytes(bb)},
	}

	inMemory := map[digest.Digest][]byte{u.Request.Manifest: mb, u.Request.Bundle: bb}
	want := append(m.EvidenceDigests(), u.Request.Manifest, u.Request.Bundle)
	var missing []digest.Digest
	for i := 0; i < len(want); i += missingBatch {
		batch := want[i:min(i+missingBatch, len(want))]
		got, err := a.MissingBlobs(ctx, batch)
		if err != nil {
			return nil, err
		}
		asked := map[digest.Digest]bool{}
		for _, d := range batch {
			asked[d] = true
		}
		for _, d := range got {
			if !asked[d] {
				return nil, evidence.Errorf(evidence.KindInternal, "the archive asked for %s, which this release does not reference", d)
			}
		}
		missing = append(missing, got...)
	}

	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		sem      = make(chan struct{}, uploadParallel)
	)
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	for _, d := range missing {
		if failed() || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := putOne(ctx, a, d, filepath.Join(dir, filepath.FromSlash(verify.EvidencePath(d))), inMemory[d])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			u.Uploaded++
			u.UploadedBytes += n
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return u, nil
}

// PushDir uploads the sealed release in dir (UploadDir) and pushes it.
func PushDir(ctx context.Context, a api.Archive, dir string) (*Upload, *api.PushResult, error) {
	u, err := UploadDir(ctx, a, dir)
	if err != nil {
		return nil, nil, err
	}
	res, err := a.PushRelease(ctx, u.Request)
	if err != nil {
		return u, nil, err
	}
	return u, res, nil
}

// CheckProof verifies the inclusion proof of a push with the log verifier
// key vkey (the archive's res.LogKey, or better one pinned by the user) and
// that the logged entry is the release u names. Errors are
// KindVerification.
func CheckProof(res *api.PushResult, vkey string, u *Upload) error {
	if res.Log == nil {
		return evidence.Errorf(evidence.KindVerification, "the archive returned no log proof")
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "log key: %v", err)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "the archive's log proof does not verify: %v", err)
	}
	if e.Type != tlog.EntryRelease || e.Product != u.Ref.Product || e.Version != u.Ref.Version ||
		e.Manifest != u.Request.Manifest || e.Record != u.Request.Bundle {
		return evidence.Errorf(evidence.KindVerification, "the archive's log entry is not this release: %s %s@%s %s", e.Type, e.Product, e.Version, e.Manifest)
	}
	return nil
}

// putOne uploads data, or the file at path when data is nil, and returns
// its size.
func putOne(ctx context.Context, a api.Archive, d digest.Digest, path string, data []byte) (int64, error) {
	if data != nil {
		if err := a.PutBlob(ctx, d, int64(len(data)), bytes.NewReader(data)); err != nil {
			return 0, fmt.Errorf("upload %s: %w", d, err)
		}
		return int64(len(data)), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, evidence.Errorf(evidence.KindInvalid, "evidence %s: %v", d, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := a.PutBlob(ctx, d, st.Size(), f); err != nil {
		return 0, fmt.Errorf("upload %s: %w", d, err)
	}
	return st.Size(), nil
}

// readFileLimited reads a file of at most max bytes.
func readFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Base(path), max)
	}
	return b, nil
}
