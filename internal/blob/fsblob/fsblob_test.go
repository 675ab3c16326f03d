package fsblob_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/blob/blobtest"
	"github.com/evident-dev/evident/internal/blob/fsblob"
	"github.com/evident-dev/evident/internal/digest"
)

// open opens a store in dir and closes it when the test ends.
func open(t testing.TB, dir string, opts fsblob.Options) *fsblob.Store {
	t.Helper()
	s, err := fsblob.Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a store in a new directory (which Open creates).
func newStore(t testing.TB, opts fsblob.Options) (*fsblob.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	return open(t, dir, opts), dir
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, _ := newStore(t, fsblob.Options{})
		return s
	})
}

// The size limit must not disturb anything within it.
func TestConformanceWithMaxSize(t *testing.T) {
	const large = 1<<20 + 7
	blobtest.RunWith(t, func(t *testing.T) blob.Store {
		s, _ := newStore(t, fsblob.Options{MaxSize: large})
		return s
	}, blobtest.Options{LargeSize: large})
}

func mustPut(t testing.TB, s *fsblob.Store, b []byte) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	if err := s.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err != nil {
		t.Fatalf("Put(%q): %v", b, err)
	}
	return d
}

// tree lists everything under dir as relative slash paths, a trailing slash
// marking directories and "@" symbolic links.
func tree(t testing.TB, dir string) []string {
	t.Helper()
	var got []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
			return nil
		case e.IsDir():
			rel += "/"
		case e.Type()&fs.ModeSymlink != 0:
			rel += "@"
		}
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	sort.Strings(got)
	return got
}

func blobFile(dir string, d digest.Digest) string {
	return filepath.Join(dir, "sha256", d.Hex()[:2], d.Hex())
}

func TestLayout(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	if diff := cmp.Diff([]string{"sha256/", "tmp/"}, tree(t, dir)); diff != "" {
		t.Errorf("layout of a new store (-want +got):\n%s", diff)
	}
	contents := [][]byte{[]byte("hello"), {}, []byte("world")}
	var want []string
	for _, b := range contents {
		d := mustPut(t, s, b)
		want = append(want, "sha256/"+d.Hex()[:2]+"/", "sha256/"+d.Hex()[:2]+"/"+d.Hex())
		got, err := os.ReadFile(blobFile(dir, d))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("file of blob %s = %q, %v; want %q", d, got, err, b)
		}
	}
	want = append(want, "sha256/", "tmp/")
	sort.Strings(want)
	want = slices.Compact(want)
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Errorf("layout after three puts (-want +got):\n%s", diff)
	}
}

func TestBlobsAreReadOnly(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	d := mustPut(t, s, []byte("immutable"))
	fi, err := os.Stat(blobFile(dir, d))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o222 != 0 || perm&0o400 == 0 {
		t.Errorf("blob mode = %v; want readable and not writable by anyone", perm)
	}
	if os.Geteuid() != 0 { // root may write anyway
		if f, err := os.OpenFile(blobFile(dir, d), os.O_WRONLY, 0); err == nil {
			f.Close()
			t.Errorf("a stored blob could be opened for writing")
		}
	}
}

// A second Put of stored content leaves the stored file itself alone.
func TestIdempotentPutKeepsFile(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	d := mustPut(t, s, []byte("keep me"))
	old := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	if err := os.Chtimes(blobFile(dir, d), old, old); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(blobFile(dir, d))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, []byte("keep me"))
	after, err := os.Stat(blobFile(dir, d))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(old) {
		t.Errorf("the second Put replaced or touched the stored file (mtime %v, want %v)", after.ModTime(), old)
	}
	if diff := cmp.Diff([]string{}, entries(t, filepath.Join(dir, "tmp"))); diff != "" {
		t.Errorf("tmp after puts (-want +got):\n%s", diff)
	}
}

func entries(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestReopen(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	d := mustPut(t, s, []byte("durable"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir, fsblob.Options{})
	rc, n, err := s2.Get(context.Background(), d)
	if err != nil {
		t.Fatalf("Get after reopening: %v", err)
	}
	defer rc.Close()
	got, _ := io.ReadAll(rc)
	if string(got) != "durable" || n != 7 {
		t.Errorf("Get after reopening = %q (%d bytes)", got, n)
	}
}

func TestStaleTempCleanup(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "store")
	open(t, dir, fsblob.Options{}).Close()

	old := time.Now().Add(-fsblob.StaleTempAge - time.Minute)
	recent := time.Now().Add(-fsblob.StaleTempAge + time.Minute)
	tmp := filepath.Join(dir, "tmp")
	outside := filepath.Join(base, "outside")
	write(t, outside, "not the store's", old)
	write(t, filepath.Join(tmp, "old"), "crashed upload", old)
	write(t, filepath.Join(tmp, "recent"), "upload in progress", recent)
	if err := os.Mkdir(filepath.Join(tmp, "olddir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(filepath.Join(tmp, "olddir"), old, old); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../outside", filepath.Join(tmp, "link")); err != nil {
		t.Fatal(err)
	}

	s := open(t, dir, fsblob.Options{})
	if got := s.StaleTempRemoved(); got != 1 {
		t.Errorf("StaleTempRemoved() = %d, want 1", got)
	}
	if diff := cmp.Diff([]string{"link", "olddir", "recent"}, entries(t, tmp)); diff != "" {
		t.Errorf("tmp after Open (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("a file outside the store was touched: %v", err)
	}
}

func write(t testing.TB, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// A crash leaves temp files behind: whole or partial content, and, after a
// crash between linking and removing the temp name, a second name of a
// stored blob. None of them is ever a blob; the next Open removes them once
// they are stale, and the stored blob is unharmed.
func TestCrashLeftovers(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	ctx := context.Background()
	whole := []byte(strings.Repeat("evidence ", 1000))
	d := digest.FromBytes(whole)
	tmp := filepath.Join(dir, "tmp")
	now := time.Now()
	write(t, filepath.Join(tmp, d.Hex()[:16]+"-whole"), string(whole), now)
	write(t, filepath.Join(tmp, d.Hex()[:16]+"-partial"), string(whole[:100]), now)

	if _, err := s.Stat(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat with only temp files = %v, want not found", err)
	}
	if _, _, err := s.Get(ctx, d); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Get with only temp files = %v, want not found", err)
	}
	assertWalk(t, s, nil)
	assertCheck(t, s, nil) // uploads in progress are no foreign files

	stored := mustPut(t, s, []byte("stored"))
	// The crash between link and remove: a second name for the blob.
	if err := os.Link(blobFile(dir, stored), filepath.Join(tmp, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, d, int64(len(whole)), bytes.NewReader(whole)); err != nil {
		t.Fatalf("Put after a crash: %v", err)
	}
	assertWalk(t, s, map[digest.Digest]int64{d: int64(len(whole)), stored: 6})
	s.Close()

	old := now.Add(-2 * fsblob.StaleTempAge)
	for _, name := range entries(t, tmp) {
		if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	s = open(t, dir, fsblob.Options{})
	if got := s.StaleTempRemoved(); got != 3 {
		t.Errorf("StaleTempRemoved() = %d, want 3", got)
	}
	if diff := cmp.Diff([]string{}, entries(t, tmp)); diff != "" {
		t.Errorf("tmp after Open (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(blobFile(dir, stored))
	if err != nil || string(got) != "stored" {
		t.Errorf("blob after removing its temp name = %q, %v", got, err)
	}
	assertWalk(t, s, map[digest.Digest]int64{d: int64(len(whole)), stored: 6})
}

func assertWalk(t testing.TB, s *fsblob.Store, want map[digest.Digest]int64) {
	t.Helper()
	got := map[digest.Digest]int64{}
	if err := s.Walk(context.Background(), func(d digest.Digest, n int64) error {
		got[d] = n
		return nil
	}); err != nil {
		t.Fatalf("Walk: %v", err)
	}
	if want == nil {
		want = map[digest.Digest]int64{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Walk (-want +got):\n%s", diff)
	}
}

// assertCheck checks that Check reports exactly the paths in want, each with
// an error wrapping ErrForeign and containing the wanted text.
func assertCheck(t testing.TB, s *fsblob.Store, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := s.Check(context.Background(), func(path string, err error) {
		if !errors.Is(err, fsblob.ErrForeign) {
			t.Errorf("Check(%s): error %v does not wrap ErrForeign", path, err)
		}
		got[path] = err.Error()
	})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if want == nil {
		want = map[string]string{}
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(want, got string) bool {
		return strings.Contains(got, want) || strings.Contains(want, got)
	})); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

// endless yields 'x' forever and counts what it yielded.
type endless struct{ n int64 }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += int64(len(p))
	return len(p), nil
}

func TestMaxSize(t *testing.T) {
	const max = 1000
	exact := bytes.Repeat([]byte("x"), max)
	over := bytes.Repeat([]byte("x"), max+1)
	for _, tc := range []struct {
		name     string
		d        digest.Digest
		size     int64
		r        *endless // nil: content
		content  []byte
		wantErr  error // nil: success
		maxReads int64
	}{
		{name: "exactly-max", d: digest.FromBytes(exact), size: max, content: exact},
		{name: "exactly-max-unknown-size", d: digest.FromBytes(exact), size: -1, content: exact},
		{name: "announced-too-large", d: digest.FromBytes(over), size: max + 1, r: &endless{}, wantErr: blob.ErrTooLarge, maxReads: 0},
		{name: "announced-far-too-large", d: digest.FromBytes(over), size: 1 << 40, r: &endless{}, wantErr: blob.ErrTooLarge, maxReads: 0},
		{name: "unknown-size-one-over", d: digest.FromBytes(over), size: -1, content: over, wantErr: blob.ErrTooLarge},
		{name: "unknown-size-endless", d: digest.FromBytes(over), size: -1, r: &endless{}, wantErr: blob.ErrTooLarge, maxReads: max + 1},
		{name: "lying-size-endless", d: digest.FromBytes(exact), size: 10, r: &endless{}, wantErr: digest.ErrMismatch, maxReads: 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newStore(t, fsblob.Options{MaxSize: max})
			var r io.Reader = bytes.NewReader(tc.content)
			if tc.r != nil {
				r = tc.r
			}
			err := s.Put(context.Background(), tc.d, tc.size, r)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				assertWalk(t, s, map[digest.Digest]int64{tc.d: max})
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Put: error %v, want one wrapping %v", err, tc.wantErr)
			}
			if tc.r != nil && tc.r.n > tc.maxReads {
				t.Errorf("Put read %d bytes, want at most %d", tc.r.n, tc.maxReads)
			}
			assertWalk(t, s, nil)
		})
	}
}

func TestOpen(t *testing.T) {
	t.Run("negative-max-size", func(t *testing.T) {
		if _, err := fsblob.Open(t.TempDir(), fsblob.Options{MaxSize: -1}); err == nil {
			t.Errorf("Open with MaxSize -1 succeeded")
		}
	})
	t.Run("dir-is-a-file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "file")
		write(t, path, "", time.Now())
		if _, err := fsblob.Open(path, fsblob.Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("Open of a file: error %v, want one saying it is not a directory", err)
		}
	})
	t.Run("sha256-is-a-file", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "sha256"), "", time.Now())
		if _, err := fsblob.Open(dir, fsblob.Options{}); err == nil || !strings.Contains(err.Error(), "sha256 is not a directory") {
			t.Errorf("Open: error %v, want one saying sha256 is not a directory", err)
		}
	})
	t.Run("creates-parents", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "b", "store")
		s := open(t, dir, fsblob.Options{})
		mustPut(t, s, []byte("x"))
	})
	t.Run("existing-empty-dir", func(t *testing.T) {
		dir := t.TempDir()
		open(t, dir, fsblob.Options{})
		if diff := cmp.Diff([]string{"sha256/", "tmp/"}, tree(t, dir)); diff != "" {
			t.Errorf("layout (-want +got):\n%s", diff)
		}
	})
}

// Symbolic links inside the store that lead outside it are never followed:
// the store does not read, write or remove anything outside its directory.
func TestSymlinksOutsideAreRefused(t *testing.T) {
	t.Run("tmp", func(t *testing.T) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(outside, "precious"), "keep", time.Now().Add(-48*time.Hour))
		dir := filepath.Join(base, "store")
		if err := os.MkdirAll(filepath.Join(dir, "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../outside", filepath.Join(dir, "tmp")); err != nil {
			t.Fatal(err)
		}
		if s, err := fsblob.Open(dir, fsblob.Options{}); err == nil {
			s.Close()
			t.Errorf("Open with tmp leading outside the store succeeded")
		}
		if diff := cmp.Diff([]string{"precious"}, entries(t, outside)); diff != "" {
			t.Errorf("outside directory (-want +got):\n%s", diff)
		}
	})
	t.Run("shard", func(t *testing.T) {
		base := t.TempDir()
		outside := filepath.Join(base, "outside")
		if err := os.Mkdir(outside, 0o755); err != nil {
			t.Fatal(err)
		}
		s, dir := open(t, filepath.Join(base, "store"), fsblob.Options{}), filepath.Join(base, "store")
		b := []byte("escape")
		d := digest.FromBytes(b)
		if err := os.Symlink("../../outside", filepath.Join(dir, "sha256", d.Hex()[:2])); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(context.Background(), d, int64(len(b)), bytes.NewReader(b)); err == nil {
			t.Errorf("Put through a shard leading outside the store succeeded")
		}
		if diff := cmp.Diff([]string{}, entries(t, outside)); diff != "" {
			t.Errorf("outside directory (-want +got):\n%s", diff)
		}
		write(t, filepath.Join(outside, d.Hex()), "escape", time.Now())
		if _, err := s.Stat(context.Background(), d); err == nil {
			t.Errorf("Stat through a shard leading outside the store succeeded")
		}
		if _, _, err := s.Get(context.Background(), d); err == nil {
			t.Errorf("Get through a shard leading outside the store succeeded")
		}
	})
}

// Walk lists blobs only; Check names everything else.
func TestForeignEntries(t *testing.T) {
	s, dir := newStore(t, fsblob.Options{})
	real := mustPut(t, s, []byte("real"))
	ab := "ab" + strings.Repeat("0", 62)
	cd := "cd" + strings.Repeat("0", 62)
	ab1 := "ab" + strings.Repeat("1", 62)
	ab2 := "ab" + strings.Repeat("2", 62)
	for _, p := range []string{"README", "sha256/notes.txt", "sha256/ab/hello", "sha256/ab/" + cd,
		"sha256/ab/" + strings.ToUpper(ab), "sha256/ab/" + ab + ".tmp", "sha256/ab/sha256:" + ab} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, p), "foreign", time.Now())
	}
	for _, p := range []string{"sha256/zz", "sha256/ab/" + ab1, "tmp/sub"} {
		if err := os.Mkdir(filepath.Join(dir, p), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("hello", filepath.Join(dir, "sha256/ab", ab2)); err != nil {
		t.Fatal(err)
	}

	assertWalk(t, s, map[digest.Digest]int64{real: 4})
	j := func(p string) string { return filepath.Join(dir, p) }
	assertCheck(t, s, map[string]string{
		j("README"):                           "unexpected entry in the store directory",
		j("sha256/notes.txt"):                 "not a shard directory",
		j("sha256/zz"):                        "not a shard directory",
		j("sha256/ab/hello"):                  "not a blob: the name is not 64 lower-case hex characters",
		j("sha256/ab/" + strings.ToUpper(ab)): "not a blob",
		j("sha256/ab/" + ab + ".tmp"):         "not a blob",
		j("sha256/ab/sha256:" + ab):           "not a blob",
		j("sha256/ab/" + cd):                  "wrong shard directory: it belongs in " + filepath.Join("sha256", "cd"),
		j("sha256/ab/" + ab1):                 "not a regular file",
		j("sha256/ab/" + ab2):                 "not a regular file",
		j("tmp/sub"):                          "not a regular file",
	})

	// What sits at a blob's path but is no blob is reported, not hidden as
	// "not found" and never replaced.
	ctx := context.Background()
	for _, h := range []string{ab1, ab2} {
		d := digest.MustParse(h)
		if _, err := s.Stat(ctx, d); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Stat(%s) = %v; want an error other than not found", h[:8], err)
		}
		if _, _, err := s.Get(ctx, d); err == nil || errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Get(%s) = %v; want an error other than not found", h[:8], err)
		}
	}
	// Content for a digest whose path is taken by a directory.
	taken := []byte("taken")
	td := digest.FromBytes(taken)
	if err := os.MkdirAll(blobFile(dir, td), 0o755); err != nil {
		t.Fatal(err)
	}
	err := s.Put(ctx, td, int64(len(taken)), bytes.NewReader(taken))
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Put onto a directory: error %v, want one saying it is not a regular file", err)
	}
}

// The only name the store builds from caller input is a digest: no method
// takes a string, so no caller can smuggle a path component in.
func TestNoStringPathParameters(t *testing.T) {
	typ := reflect.TypeFor[*fsblob.Store]()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		for j := 1; j < m.Type.NumIn(); j++ {
			if p := m.Type.In(j); holdsString(p, map[reflect.Type]bool{}) {
				t.Errorf("(*Store).%s parameter %d (%v) can carry a string", m.Name, j, p)
			}
		}
	}
	if holdsString(reflect.TypeFor[fsblob.Options](), map[reflect.Type]bool{}) {
		t.Errorf("Options can carry a string")
	}
	if holdsString(reflect.TypeFor[digest.Digest](), map[reflect.Type]bool{}) {
		t.Errorf("digest.Digest can carry a string")
	}
}

// holdsString reports whether a value of type t, as passed by a caller, can
// contain a string. Interfaces (context, io.Reader) are opaque to the store;
// for callbacks only their results flow from the caller into the store.
func holdsString(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.String:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsString(t.Field(i).Type, seen) {
				return true
			}
		}
	case reflect.Array, reflect.Slice, reflect.Pointer, reflect.Chan:
		return holdsString(t.Elem(), seen)
	case reflect.Map:
		return holdsString(t.Key(), seen) || holdsString(t.Elem(), seen)
	case reflect.Func:
		for i := range t.NumOut() {
			if t.Out(i).Kind() != reflect.Interface && holdsString(t.Out(i), seen) {
				return true
			}
		}
	}
	return false
}

// patterned yields n bytes of a pattern without holding them.
type patterned struct{ n, off int64 }

func (p *patterned) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rest := p.n - p.off; int64(len(b)) > rest {
		b = b[:rest]
	}
	for i := range b {
		b[i] = byte(p.off + int64(i))
	}
	p.off += int64(len(b))
	return len(b), nil
}

// BenchmarkPut measures streaming a new blob into the store. Allocations per
// operation must not grow with the blob size.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int64{1 << 20, 64 << 20} {
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			s, _ := newStore(b, fsblob.Options{})
			ctx := context.Background()
			b.SetBytes(size)
			b.ReportAllocs()
			for i := range b.N {
				b.StopTimer()
				// A distinct blob each time: the first 8 bytes are i.
				prefix := []byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24), 'b', 'e', 'n', 'c'}
				d, _, err := digest.FromReader(io.MultiReader(bytes.NewReader(prefix), &patterned{n: size - 8}))
				if err != nil {
					b.Fatal(err)
				}
				r := io.MultiReader(bytes.NewReader(prefix), &patterned{n: size - 8})
				b.StartTimer()
				if err := s.Put(ctx, d, size, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
