package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// pushOptions configures the push benchmark.
type pushOptions struct {
	N           int
	Concurrency int
	KeyFile     string // private key (PEM); EVIDENT_KEY_PASSWORD decrypts a cosign-format key
	Product     string
	Version     string // version prefix; "" gives one from the clock, so that runs never collide
	Seed        uint64
	Work        string // where releases are sealed; a temporary directory when ""
}

// pushResult is the push benchmark's outcome.
type pushResult struct {
	Bench          string  `json:"bench"`
	Server         string  `json:"server"`
	Product        string  `json:"product"`
	N              int     `json:"n"`
	Concurrency    int     `json:"concurrency"`
	SealSeconds    float64 `json:"sealSeconds"`
	WallSeconds    float64 `json:"wallSeconds"`
	PushesPerSec   float64 `json:"pushesPerSecond"`
	Latency        latency `json:"latency"`
	BlobsPerPush   float64 `json:"blobsPerPush"`
	BytesPerPush   float64 `json:"bytesPerPush"`
	ProofsVerified int     `json:"proofsVerified"`
	// Use is what the pushes cost the client and the server.
	Use *usage `json:"use"`
}

// benchPush seals o.N small releases (not timed), then pushes them all with
// o.Concurrency pushes at a time, each exactly as evident push does, and
// measures every push from its first request to its verified log proof.
func benchPush(ctx context.Context, c *client.Client, o pushOptions, p probe, progress io.Writer) (*pushResult, error) {
	if o.N < 1 || o.Concurrency < 1 {
		return nil, fmt.Errorf("push: want -n and -concurrency of at least 1")
	}
	key, err := loadKey(o.KeyFile)
	if err != nil {
		return nil, err
	}
	work := o.Work
	if work == "" {
		if work, err = os.MkdirTemp("", "benchserver-push-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	prefix := o.Version
	if prefix == "" {
		prefix = fmt.Sprintf("1.%d", time.Now().Unix())
	}
	version := func(i int) string { return fmt.Sprintf("%s.%d", prefix, i) }

	fmt.Fprintf(progress, "push: sealing %d releases of %s (%s.0 to %s) ...\n", o.N, o.Product, prefix, version(o.N-1))
	start := time.Now()
	dirs, err := sealAll(ctx, work, o.Product, version, o.N, o.Seed, key)
	if err != nil {
		return nil, err
	}
	sealTime := time.Since(start)
	fmt.Fprintf(progress, "push: sealed in %v; pushing with concurrency %d ...\n", sealTime.Round(time.Millisecond), o.Concurrency)

	durs := make([]time.Duration, o.N)
	var blobs, bytesUp, verified atomic.Int64
	var wall time.Duration
	use, err := p.measure(func() error {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
			next     = make(chan int)
		)
		start := time.Now()
		for range o.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					t := time.Now()
					n, b, err := pushDir(ctx, c, dirs[i])
					durs[i] = time.Since(t)
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = fmt.Errorf("push %s: %w", dirs[i], err)
						}
						mu.Unlock()
						continue
					}
					blobs.Add(int64(n))
					bytesUp.Add(b)
					verified.Add(1)
				}
			}()
		}
		for i := range o.N {
			mu.Lock()
			failed := firstErr != nil
			mu.Unlock()
			if failed || ctx.Err() != nil {
				break
			}
			next <- i
		}
		close(next)
		wg.Wait()
		wall = time.Since(start)
		if firstErr != nil {
			return firstErr
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	return &pushResult{
		Bench: "push", Server: c.URL(), Product: o.Product, N: o.N, Concurrency: o.Concurrency,
		SealSeconds: sealTime.Seconds(), WallSeconds: wall.Seconds(), PushesPerSec: perSecond(o.N, wall),
		Latency:      summarize(durs),
		BlobsPerPush: float64(blobs.Load()) / float64(o.N), BytesPerPush: float64(bytesUp.Load()) / float64(o.N),
		ProofsVerified: int(verified.Load()), Use: use,
	}, nil
}

// loadKey reads a private key as evident seal does.
func loadKey(path string) (*sign.PrivateKey, error) {
	if path == "" {
		return nil, fmt.Errorf("push: -key is required (the server must trust its public key: evidentd serve --trusted-key)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	k, err := sign.LoadPrivateKey(b, func() ([]byte, error) {
		if v, ok := os.LookupEnv("EVIDENT_KEY_PASSWORD"); ok {
			return []byte(v), nil
		}
		return nil, fmt.Errorf("the key is encrypted: set EVIDENT_KEY_PASSWORD")
	})
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return k, nil
}

// uploadParallel is how many blobs one push uploads at once, as evident
// push does.
const uploadParallel = 4

// pushDir does what `evident push DIR` does (cmd/evident/cmd_push.go): ask
// which blobs the archive lacks, upload those (four at a time), push the
// release, and verify the returned inclusion proof against the archive's
// log key and the release. It fails unless the release is new.
func pushDir(ctx context.Context, c *client.Client, dir string) (blobs int, bytesUp int64, err error) {
	mb, err := os.ReadFile(filepath.Join(dir, runner.ManifestFile))
	if err != nil {
		return 0, 0, err
	}
	bb, err := os.ReadFile(filepath.Join(dir, runner.BundleFile))
	if err != nil {
		return 0, 0, err
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return 0, 0, err
	}
	md, bd := digest.FromBytes(mb), digest.FromBytes(bb)
	inMemory := map[digest.Digest][]byte{md: mb, bd: bb}
	want := append([]digest.Digest{md, bd}, m.EvidenceDigests()...)
	missing, err := c.MissingBlobs(ctx, want)
	if err != nil {
		return 0, 0, err
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, uploadParallel)
	)
	for _, d := range missing {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := putOne(ctx, c, d, filepath.Join(dir, filepath.FromSlash(runner.EvidencePath(d))), inMemory[d])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			blobs++
			bytesUp += n
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}

	res, err := c.PushRelease(ctx, api.PushRequest{Manifest: md, Bundle: bd})
	if err != nil {
		return 0, 0, err
	}
	if !res.Created {
		return 0, 0, fmt.Errorf("%s was already archived: the benchmark must push new releases", res.Release)
	}
	if err := checkProof(res, m.Ref(), md, bd); err != nil {
		return 0, 0, err
	}
	return blobs, bytesUp, nil
}

// putOne uploads data, or the file at path when data is nil.
func putOne(ctx context.Context, c *client.Client, d digest.Digest, path string, data []byte) (int64, error) {
	if data != nil {
		return int64(len(data)), c.PutBlob(ctx, d, int64(len(data)), bytes.NewReader(data))
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := c.PutBlob(ctx, d, st.Size(), f); err != nil {
		return 0, fmt.Errorf("upload %s: %w", d, err)
	}
	return st.Size(), nil
}

// checkProof verifies the push's inclusion proof with the archive's log key
// and that the logged entry is this release, as evident push does.
func checkProof(res *api.PushResult, ref evidence.ReleaseRef, md, bd digest.Digest) error {
	if res.Log == nil {
		return fmt.Errorf("the archive returned no log proof")
	}
	v, err := tlog.NewVerifier(res.LogKey)
	if err != nil {
		return fmt.Errorf("log key: %w", err)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		return fmt.Errorf("the log proof does not verify: %w", err)
	}
	if e.Type != tlog.EntryRelease || e.Product != ref.Product || e.Version != ref.Version || e.Manifest != md || e.Record != bd {
		return fmt.Errorf("the log entry is not this release: %s@%s %s", e.Product, e.Version, e.Manifest)
	}
	return nil
}
