package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
)

// blobOptions configures the blob benchmark.
type blobOptions struct {
	Size int64
	Seed uint64 // selects the content; a blob the archive already has is refused
}

// blobResult is the blob benchmark's outcome.
type blobResult struct {
	Bench           string  `json:"bench"`
	Server          string  `json:"server"`
	Size            int64   `json:"size"`
	Digest          string  `json:"digest"`
	HashSeconds     float64 `json:"hashSeconds"` // the client's streaming pass over the content
	UploadSeconds   float64 `json:"uploadSeconds"`
	UploadMBps      float64 `json:"uploadMBps"`
	DownloadSeconds float64 `json:"downloadSeconds"`
	DownloadMBps    float64 `json:"downloadMBps"`
	PID             int     `json:"pid"`
	Upload          *usage  `json:"upload"`
	Download        *usage  `json:"download"`
}

// contentBlock is the period of the generated content's pseudo-random
// pattern.
const contentBlock = 1 << 20

// content returns the blob's bytes as a stream, size bytes long, generated
// as it is read: a 1 MiB block of ChaCha8 output seeded by seed, repeated,
// with each repetition's first 16 bytes replaced by the seed and the
// block's number, so that no two blocks are equal. Copying a block is many
// times faster than generating fresh output, so neither the hashing pass
// nor the upload is limited by the generator.
func content(seed uint64, size int64) io.Reader {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	copy(s[8:], "evident benchserver blob")
	r := &patternReader{block: make([]byte, contentBlock), seed: seed, size: size}
	rand.NewChaCha8(s).Read(r.block)
	return r
}

// patternReader is the reader content returns.
type patternReader struct {
	block []byte
	seed  uint64
	size  int64
	pos   int64
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.size-r.pos)]
	n := 0
	for n < len(p) {
		off := int((r.pos + int64(n)) % contentBlock)
		k := copy(p[n:], r.block[off:])
		if off < 16 {
			var head [16]byte
			binary.LittleEndian.PutUint64(head[:], r.seed)
			binary.LittleEndian.PutUint64(head[8:], uint64((r.pos+int64(n))/contentBlock))
			copy(p[n:n+min(k, 16-off)], head[off:])
		}
		n += k
	}
	r.pos += int64(n)
	return n, nil
}

// benchBlob streams a generated blob of o.Size bytes to the archive (its
// digest computed first, in a streaming pass), then reads it back, verifying
// it while it streams, and samples the server's memory during both.
func benchBlob(ctx context.Context, c *client.Client, o blobOptions, p probe, progress io.Writer) (*blobResult, error) {
	if o.Size < 1 {
		return nil, fmt.Errorf("blob: -size must be at least 1")
	}
	res := &blobResult{Bench: "blob", Server: c.URL(), Size: o.Size, PID: p.PID}

	fmt.Fprintf(progress, "blob: hashing %d bytes ...\n", o.Size)
	start := time.Now()
	d, n, err := digest.FromReader(content(o.Seed, o.Size))
	if err != nil {
		return nil, err
	}
	if n != o.Size {
		return nil, fmt.Errorf("blob: generated %d bytes, want %d", n, o.Size)
	}
	res.HashSeconds = time.Since(start).Seconds()
	res.Digest = d.String()
	missing, err := c.MissingBlobs(ctx, []digest.Digest{d})
	if err != nil {
		return nil, err
	}
	if len(missing) != 1 {
		return nil, fmt.Errorf("blob: the archive already has %s: use another -seed", d)
	}

	fmt.Fprintf(progress, "blob: uploading %s ...\n", d)
	var took time.Duration
	res.Upload, err = p.measure(func() error {
		t := time.Now()
		err := c.PutBlob(ctx, d, o.Size, content(o.Seed, o.Size))
		took = time.Since(t)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("blob: upload: %w", err)
	}
	res.UploadSeconds, res.UploadMBps = took.Seconds(), mbPerSecond(o.Size, took)

	fmt.Fprintf(progress, "blob: downloading and verifying ...\n")
	res.Download, err = p.measure(func() error {
		t := time.Now()
		rc, size, err := c.GetBlob(ctx, d)
		if err != nil {
			return err
		}
		defer rc.Close()
		if size != o.Size {
			return fmt.Errorf("the server announced %d bytes, want %d", size, o.Size)
		}
		got, err := io.Copy(io.Discard, rc) // GetBlob's reader fails on a wrong digest or size
		took = time.Since(t)
		if err != nil {
			return err
		}
		if got != o.Size {
			return fmt.Errorf("read %d bytes, want %d", got, o.Size)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blob: download: %w", err)
	}
	res.DownloadSeconds, res.DownloadMBps = took.Seconds(), mbPerSecond(o.Size, took)
	return res, nil
}
