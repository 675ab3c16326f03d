// Package blobtest is the conformance suite for blob.Store: every
// implementation runs it from its own tests, so that all of them keep the
// contracts documented on blob.Store in the same way.
//
//	func TestConformance(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) blob.Store { return newStore(t) })
//	}
//
// Besides the contracts written on blob.Store, the suite requires what
// callers rely on without it being spelled out there: an error from the
// content reader and the end of the context are wrapped in Put's error; Put
// with the zero digest fails; and an error from Walk's callback stops the
// walk and is returned.
package blobtest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/digest"
)

// Options tunes the suite for a backend. The zero value suits a local one.
type Options struct {
	// LargeSize is the size, in bytes, of the largest blob the suite streams
	// through the store (default 5 MiB plus a few bytes, so that it is no
	// multiple of a buffer size). Slow backends may lower it; it must be at
	// least 2.
	LargeSize int64
	// Writers is the number of goroutines in the concurrency tests
	// (default 8).
	Writers int
}

func (o Options) withDefaults() Options {
	if o.LargeSize < 2 {
		o.LargeSize = 5<<20 + 7
	}
	if o.Writers <= 0 {
		o.Writers = 8
	}
	return o
}

// Run runs the suite with default Options. newStore is called once per
// subtest, possibly from several subtests at once, and must return a new,
// empty store (cleaning it up with t.Cleanup if needed).
func Run(t *testing.T, newStore func(t *testing.T) blob.Store) {
	RunWith(t, newStore, Options{})
}

// RunWith runs the suite with opts; see Run.
func RunWith(t *testing.T, newStore func(t *testing.T) blob.Store, opts Options) {
	opts = opts.withDefaults()
	s := suite{newStore: newStore, opts: opts}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"RoundTrip", s.roundTrip},
		{"Mismatch", s.mismatch},
		{"ZeroDigest", s.zeroDigest},
		{"Idempotent", s.idempotent},
		{"FailingReader", s.failingReader},
		{"Cancel", s.cancel},
		{"NotFound", s.notFound},
		{"Walk", s.walk},
		{"WalkStops", s.walkStops},
		{"ConcurrentSameDigest", s.concurrentSame},
		{"ConcurrentDifferent", s.concurrentDifferent},
		{"NoPartialBlob", s.noPartialBlob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t)
		})
	}
}

type suite struct {
	newStore func(t *testing.T) blob.Store
	opts     Options
}

// content is deterministic pseudo-random content that is never held in
// memory: reader produces it afresh each time.
type content struct {
	seed uint64
	size int64
	d    digest.Digest
}

func newContent(t testing.TB, seed uint64, size int64) content {
	t.Helper()
	c := content{seed: seed, size: size}
	d, n, err := digest.FromReader(c.reader())
	if err != nil || n != size {
		t.Fatalf("hash test content: %d bytes, %v", n, err)
	}
	c.d = d
	return c
}

func (c content) reader() io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], c.seed)
	return io.LimitReader(rand.NewChaCha8(key), c.size)
}

// put stores c and fails the test on error.
func put(t testing.TB, s blob.Store, c content) {
	t.Helper()
	if err := s.Put(context.Background(), c.d, c.size, c.reader()); err != nil {
		t.Fatalf("Put(%s, %d bytes): %v", c.d, c.size, err)
	}
}

// assertStored checks that Stat and Get report d with size bytes and that
// Get's content hashes to d.
func assertStored(t testing.TB, s blob.Store, d digest.Digest, size int64) {
	t.Helper()
	ctx := context.Background()
	n, err := s.Stat(ctx, d)
	if err != nil || n != size {
		t.Fatalf("Stat(%s) = %d, %v; want %d, nil", d, n, err, size)
	}
	rc, n, err := s.Get(ctx, d)
	if err != nil {
		t.Fatalf("Get(%s): %v", d, err)
	}
	defer rc.Close()
	if n != size {
		t.Errorf("Get(%s) size = %d, want %d", d, n, size)
	}
	got, m, err := digest.FromReader(rc)
	if err != nil {
		t.Fatalf("read blob %s: %v", d, err)
	}
	if m != size || got != d {
		t.Errorf("Get(%s) returned %d bytes hashing to %s; want %d bytes", d, m, got, size)
	}
}

// assertAbsent checks that Stat and Get report each digest as not found.
func assertAbsent(t testing.TB, s blob.Store, ds ...digest.Digest) {
	t.Helper()
	ctx := context.Background()
	for _, d := range ds {
		if n, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%s) = %d, %v; want an error wrapping blob.ErrNotFound", d, n, err)
		}
		rc, _, err := s.Get(ctx, d)
		if !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%s) error = %v; want one wrapping blob.ErrNotFound", d, err)
		}
		if rc != nil {
			rc.Close()
			if err != nil {
				t.Errorf("Get(%s) returned a reader with an error", d)
			}
		}
	}
}

// listed returns what Walk reports, as digest → size.
func listed(t testing.TB, s blob.Store) map[digest.Digest]int64 {
	t.Helper()
	got := map[digest.Digest]int64{}
	err := s.Walk(context.Background(), func(d digest.Digest, size int64) error {
		if _, dup := got[d]; dup {
			t.Errorf("Walk reported %s twice", d)
		}
		got[d] = size
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

// assertListed checks that Walk reports exactly want.
func assertListed(t testing.TB, s blob.Store, want map[digest.Digest]int64) {
	t.Helper()
	if diff := cmp.Diff(want, listed(t, s)); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

func (s suite) roundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int64
	}{
		{"empty", 0},
		{"one-byte", 1},
		{"64KiB+1", 64<<10 + 1},
		{"large", s.opts.LargeSize},
	} {
		for _, known := range []bool{true, false} {
			name := tc.name + "/known-size"
			if !known {
				name = tc.name + "/unknown-size"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				st := s.newStore(t)
				c := newContent(t, uint64(tc.size), tc.size)
				size := c.size
				if !known {
					size = -1
				}
				if err := st.Put(context.Background(), c.d, size, c.reader()); err != nil {
					t.Fatalf("Put: %v", err)
				}
				assertStored(t, st, c.d, c.size)
				assertListed(t, st, map[digest.Digest]int64{c.d: c.size})
			})
		}
	}
}

func (s suite) mismatch(t *testing.T) {
	const n = 70_000 // more than one read of any sensible buffer
	for _, tc := range []struct {
		name string
		// claim returns the digest and size Put is told, given the content
		// actually sent and another content of the same length.
		content int64
		claim   func(sent, other content) (digest.Digest, int64)
	}{
		{"wrong-digest", n, func(_, o content) (digest.Digest, int64) { return o.d, o.size }},
		{"wrong-digest-unknown-size", n, func(_, o content) (digest.Digest, int64) { return o.d, -1 }},
		{"shorter-than-announced", n, func(c, _ content) (digest.Digest, int64) { return c.d, c.size + 1 }},
		{"longer-than-announced", n, func(c, _ content) (digest.Digest, int64) { return c.d, c.size - 1 }},
		{"announced-empty", n, func(c, _ content) (digest.Digest, int64) { return c.d, 0 }},
		{"empty-for-nonempty-digest", 0, func(_, _ content) (digest.Digest, int64) {
			return digest.FromBytes([]byte("x")), -1
		}},
		{"one-byte-for-empty-digest", 1, func(_, _ content) (digest.Digest, int64) {
			return digest.FromBytes(nil), -1
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := s.newStore(t)
			sent := newContent(t, 1, tc.content)
			other := newContent(t, 2, tc.content)
			d, size := tc.claim(sent, other)
			err := st.Put(context.Background(), d, size, sent.reader())
			if !errors.Is(err, digest.ErrMismatch) {
				t.Fatalf("Put(%s, %d) of other content: error %v; want one wrapping digest.ErrMismatch", d, size, err)
			}
			// Stored neither under the claimed digest nor under the real one.
			assertAbsent(t, st, d, sent.d)
			assertListed(t, st, map[digest.Digest]int64{})
		})
	}
}

func (s suite) zeroDigest(t *testing.T) {
	st := s.newStore(t)
	c := newContent(t, 3, 10)
	if err := st.Put(context.Background(), digest.Digest{}, c.size, c.reader()); err == nil {
		t.Errorf("Put with the zero digest succeeded")
	}
	if _, err := st.Stat(context.Background(), digest.Digest{}); err == nil {
		t.Errorf("Stat of the zero digest succeeded")
	}
	if rc, _, err := st.Get(context.Background(), digest.Digest{}); err == nil {
		rc.Close()
		t.Errorf("Get of the zero digest succeeded")
	}
	assertAbsent(t, st, c.d)
	assertListed(t, st, map[digest.Digest]int64{})
}

func (s suite) idempotent(t *testing.T) {
	st := s.newStore(t)
	ctx := context.Background()
	c := newContent(t, 4, 100_000)
	put(t, st, c)

	// A reader opened before the second Put must keep reading the same bytes.
	rc, _, err := st.Get(ctx, c.d)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	defer rc.Close()
	h := digest.NewHasher()
	if _, err := io.CopyN(h, rc, 1000); err != nil {
		t.Fatalf("read the first 1000 bytes: %v", err)
	}

	for i := range 2 {
		if err := st.Put(ctx, c.d, c.size, c.reader()); err != nil {
			t.Fatalf("Put #%d of stored content: %v", i+2, err)
		}
	}
	if err := st.Put(ctx, c.d, -1, c.reader()); err != nil {
		t.Fatalf("Put of stored content with unknown size: %v", err)
	}
	// Wrong content under a stored digest is still wrong, and harmless.
	other := newContent(t, 5, c.size)
	if err := st.Put(ctx, c.d, c.size, other.reader()); !errors.Is(err, digest.ErrMismatch) {
		t.Errorf("Put of other content under a stored digest: error %v; want one wrapping digest.ErrMismatch", err)
	}

	if _, err := io.Copy(h, rc); err != nil {
		t.Fatalf("read the rest: %v", err)
	}
	if got := h.Digest(); got != c.d {
		t.Errorf("a reader opened before the second Put read content hashing to %s, want %s", got, c.d)
	}
	assertStored(t, st, c.d, c.size)
	assertAbsent(t, st, other.d)
	assertListed(t, st, map[digest.Digest]int64{c.d: c.size})
}

// failingReader returns err once n bytes of r have been read.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// medium is the size of content that must span many reads but need not be
// large: failed uploads.
func (s suite) medium() int64 { return min(s.opts.LargeSize, 1<<20+5) }

func (s suite) failingReader(t *testing.T) {
	size := s.medium()
	for _, tc := range []struct {
		name  string
		after int64
		size  int64
	}{
		{"at-start", 0, size},
		{"after-one-byte", 1, size},
		{"midway", size / 2, size},
		{"before-last-byte", size - 1, size},
		{"midway-unknown-size", size / 2, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := s.newStore(t)
			c := newContent(t, 6, size)
			r := &failingReader{r: c.reader(), n: tc.after, err: io.ErrUnexpectedEOF}
			err := st.Put(context.Background(), c.d, tc.size, r)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Put from a reader failing after %d bytes: error %v; want one wrapping io.ErrUnexpectedEOF", tc.after, err)
			}
			assertAbsent(t, st, c.d)
			assertListed(t, st, map[digest.Digest]int64{})
		})
	}
}

// cancellingReader cancels its context once n bytes have been read and keeps
// delivering content, so only the store can notice.
type cancellingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func (s suite) cancel(t *testing.T) {
	size := s.medium()
	for _, tc := range []struct {
		name  string
		after int64 // -1: cancelled before Put
	}{
		{"before-put", -1},
		{"after-one-byte", 1},
		{"midway", size / 2},
		{"at-end", size},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := s.newStore(t)
			c := newContent(t, 7, size)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := c.reader()
			if tc.after < 0 {
				cancel()
			} else {
				r = &cancellingReader{r: r, n: tc.after, cancel: cancel}
			}
			err := st.Put(ctx, c.d, c.size, r)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put with the context cancelled after %d bytes: error %v; want one wrapping context.Canceled", tc.after, err)
			}
			assertAbsent(t, st, c.d)
			assertListed(t, st, map[digest.Digest]int64{})
		})
	}
}

func (s suite) notFound(t *testing.T) {
	st := s.newStore(t)
	stored := newContent(t, 8, 10)
	put(t, st, stored)
	// Neighbours of the stored digest, and digests of empty content.
	assertAbsent(t, st,
		newContent(t, 9, 10).d,
		digest.FromBytes(nil),
		digest.MustParse("sha256:0000000000000000000000000000000000000000000000000000000000000000"),
		digest.MustParse("sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
	)
	assertStored(t, st, stored.d, stored.size)
}

func (s suite) walk(t *testing.T) {
	st := s.newStore(t)
	assertListed(t, st, map[digest.Digest]int64{})

	want := map[digest.Digest]int64{}
	for i, size := range []int64{0, 1, 2, 1000, 70_000, 1 << 20} {
		c := newContent(t, uint64(100+i), size)
		put(t, st, c)
		want[c.d] = c.size
	}
	// Failed puts leave nothing to list.
	bad := newContent(t, 200, 1000)
	if err := st.Put(context.Background(), bad.d, bad.size+1, bad.reader()); err == nil {
		t.Fatalf("Put of a short body succeeded")
	}
	assertListed(t, st, want)
}

func (s suite) walkStops(t *testing.T) {
	st := s.newStore(t)
	for i := range 3 {
		put(t, st, newContent(t, uint64(300+i), 10))
	}
	errStop := errors.New("stop")
	calls := 0
	err := st.Walk(context.Background(), func(digest.Digest, int64) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("Walk with a failing callback: %d calls, error %v; want 1 call and the callback's error", calls, err)
	}
}

func (s suite) concurrentSame(t *testing.T) {
	st := s.newStore(t)
	c := newContent(t, 10, 1<<20+3)
	errs := s.parallel(func(i int) error {
		size := c.size
		if i%2 == 1 {
			size = -1
		}
		return st.Put(context.Background(), c.d, size, c.reader())
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: Put: %v", i, err)
		}
	}
	assertStored(t, st, c.d, c.size)
	assertListed(t, st, map[digest.Digest]int64{c.d: c.size})
}

func (s suite) concurrentDifferent(t *testing.T) {
	st := s.newStore(t)
	const perWriter = 4
	contents := make([][]content, s.opts.Writers)
	want := map[digest.Digest]int64{}
	for i := range contents {
		for j := range perWriter {
			c := newContent(t, uint64(1000+i*perWriter+j), int64(i*perWriter+j)*1000)
			contents[i] = append(contents[i], c)
			want[c.d] = c.size
		}
	}
	errs := s.parallel(func(i int) error {
		for _, c := range contents[i] {
			if err := st.Put(context.Background(), c.d, c.size, c.reader()); err != nil {
				return fmt.Errorf("Put(%s): %w", c.d, err)
			}
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	for d, size := range want {
		assertStored(t, st, d, size)
	}
	assertListed(t, st, want)
}

// parallel runs fn in Writers goroutines released at once and returns their
// errors.
func (s suite) parallel(fn func(i int) error) []error {
	errs := make([]error, s.opts.Writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// gateReader delivers the first n bytes of r, then closes reached and blocks
// until release is closed before delivering the rest.
type gateReader struct {
	r       io.Reader
	n       int64
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gateReader) Read(p []byte) (int, error) {
	if g.n <= 0 {
		g.once.Do(func() { close(g.reached) })
		<-g.release
		return g.r.Read(p)
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	n, err := g.r.Read(p)
	g.n -= int64(n)
	return n, err
}

func (s suite) noPartialBlob(t *testing.T) {
	st := s.newStore(t)
	c := newContent(t, 11, s.opts.LargeSize)
	g := &gateReader{r: c.reader(), n: c.size / 2, reached: make(chan struct{}), release: make(chan struct{})}
	released := false
	release := func() {
		if !released {
			released = true
			close(g.release)
		}
	}
	defer release()
	done := make(chan error, 1)
	go func() { done <- st.Put(context.Background(), c.d, c.size, g) }()

	select {
	case <-g.reached:
	case err := <-done:
		t.Fatalf("Put returned before reading half of its content: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("Put has not read half of its content after 30s")
	}
	// Half the content has been handed to the store; none of it may show.
	assertAbsent(t, st, c.d)
	assertListed(t, st, map[digest.Digest]int64{})

	release()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	assertStored(t, st, c.d, c.size)
}
