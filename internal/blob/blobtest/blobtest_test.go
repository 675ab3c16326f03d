package blobtest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/blobtest"
	"github.com/evident-dev/evident/internal/digest"
)

// memStore is an in-memory blob.Store: the reference the suite is checked
// against, and, with a bug switched on, proof that the suite notices it.
type memStore struct {
	bug   string
	mu    sync.Mutex
	blobs map[digest.Digest][]byte
}

func newMemStore(bug string) *memStore {
	return &memStore{bug: bug, blobs: map[digest.Digest][]byte{}}
}

func (m *memStore) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	if d.IsZero() {
		return errors.New("put blob: zero digest")
	}
	var src io.Reader = digest.NewVerifyingReader(r, d, size)
	if m.bug == "no-verify" {
		src = r
	}
	var buf bytes.Buffer
	p := make([]byte, 32<<10)
	for {
		if err := ctx.Err(); err != nil && m.bug != "ignore-context" {
			m.drop(d)
			return fmt.Errorf("put blob %s: %w", d, err)
		}
		n, err := src.Read(p)
		buf.Write(p[:n])
		if m.bug == "visible-early" {
			m.store(d, bytes.Clone(buf.Bytes()))
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			m.drop(d)
			if m.bug == "lose-reader-error" && !errors.Is(err, digest.ErrMismatch) {
				return errors.New("put blob: read failed")
			}
			return fmt.Errorf("put blob %s: %w", d, err)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.blobs[d]; !ok || m.bug == "visible-early" {
		m.blobs[d] = buf.Bytes()
	}
	return nil
}

func (m *memStore) store(d digest.Digest, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.blobs[d] = b
}

// drop forgets what visible-early stored of a failed upload.
func (m *memStore) drop(d digest.Digest) {
	if m.bug == "visible-early" {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.blobs, d)
	}
}

func (m *memStore) lookup(d digest.Digest) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.blobs[d]
	if !ok {
		if m.bug == "bare-not-found" {
			return nil, errors.New("no such blob")
		}
		return nil, fmt.Errorf("blob %s: %w", d, blob.ErrNotFound)
	}
	return b, nil
}

func (m *memStore) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	b, err := m.lookup(d)
	if err != nil {
		return nil, 0, err
	}
	return io.NopCloser(bytes.NewReader(b)), int64(len(b)), nil
}

func (m *memStore) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	b, err := m.lookup(d)
	return int64(len(b)), err
}

func (m *memStore) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	m.mu.Lock()
	sizes := map[digest.Digest]int64{}
	for d, b := range m.blobs {
		sizes[d] = int64(len(b))
		if m.bug == "walk-wrong-size" && len(b) > 0 {
			sizes[d]--
		}
	}
	m.mu.Unlock()
	for d, n := range sizes {
		if err := fn(d, n); err != nil && m.bug != "walk-ignores-error" {
			return err
		}
	}
	return nil
}

// bugEnv selects the memStore bug in the child process of TestSuiteCatchesBugs.
const bugEnv = "BLOBTEST_MEMSTORE_BUG"

func TestMemStore(t *testing.T) {
	bug := os.Getenv(bugEnv)
	blobtest.RunWith(t, func(t *testing.T) blob.Store { return newMemStore(bug) },
		blobtest.Options{LargeSize: 1<<20 + 3})
}

// TestSuiteCatchesBugs runs the suite on memStores with one bug each, in a
// child process, and checks that the suite fails in the subtest that covers
// the contract the bug breaks.
func TestSuiteCatchesBugs(t *testing.T) {
	if os.Getenv(bugEnv) != "" {
		t.Skip("in the child process")
	}
	for _, tc := range []struct {
		bug      string
		failures []string // subtests that must fail
	}{
		{"no-verify", []string{"Mismatch/wrong-digest", "Mismatch/shorter-than-announced", "Idempotent"}},
		{"visible-early", []string{"NoPartialBlob"}},
		{"ignore-context", []string{"Cancel/midway", "Cancel/at-end"}},
		{"lose-reader-error", []string{"FailingReader/midway"}},
		{"bare-not-found", []string{"NotFound", "Mismatch/wrong-digest"}},
		{"walk-wrong-size", []string{"Walk", "RoundTrip/large/known-size"}},
		{"walk-ignores-error", []string{"WalkStops"}},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "-test.run=^TestMemStore$", "-test.count=1")
			cmd.Env = append(os.Environ(), bugEnv+"="+tc.bug)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a store with bug %q:\n%s", tc.bug, out)
			}
			for _, name := range tc.failures {
				if !strings.Contains(string(out), "--- FAIL: TestMemStore/"+name+" ") {
					t.Errorf("subtest %s did not fail for bug %q; output:\n%s", name, tc.bug, out)
				}
			}
		})
	}
}
