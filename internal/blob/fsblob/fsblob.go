// Package fsblob is a blob.Store in a local directory: one read-only file per
// blob, named by its digest, written atomically and durably.
//
// Layout under the store directory DIR:
//
//	DIR/sha256/ab/ab12…  one file per blob, sharded by the first two hex
//	                     characters of its digest, mode 0o444
//	DIR/tmp/             uploads in progress (same filesystem, so a finished
//	                     upload is published with a hard link)
//
// A Put streams into a new file in DIR/tmp while verifying the digest, syncs
// it, and publishes it with os.Link to its final name. Link, unlike rename,
// never replaces an existing file, so a blob once stored is never touched
// again, and a reader sees either no blob or the whole blob. The shard
// directory is then synced (and DIR/sha256 too, the first time a shard is
// used by this process) so that the name survives a crash. The filesystem
// must therefore support hard links and fsync; Open checks the former.
//
// All file access goes through an os.Root opened on DIR: a symbolic link
// inside DIR that points outside it is refused rather than followed, so the
// store never reads, writes or removes anything outside DIR. The only names
// the store builds from caller input are digests, which hold nothing but hex.
//
// Nothing but the store may write under DIR while it is open; several
// processes may share one DIR (every step above is safe between processes),
// provided that each Put finishes within the stale-temp age (see Open).
package fsblob

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/digest"
)

const (
	blobsDir = digest.Algorithm // "sha256"
	tmpDir   = "tmp"

	// blobMode is the mode of every stored blob. Blobs are immutable, so
	// nobody (but root) gets write permission: an operator's stray redirect
	// or editor cannot change archived evidence by accident. The temp file
	// is created with this mode already (an O_CREATE open grants the writing
	// handle regardless of mode), so there is no chmod step that could fail
	// on filesystems that do not support it.
	blobMode = 0o444
	dirMode  = 0o755

	// StaleTempAge is how long a temp file must have gone unwritten before
	// Open considers it left behind by a crash and removes it.
	StaleTempAge = time.Hour

	copyBufSize = 256 << 10
)

// ErrForeign is wrapped by the errors Check reports for entries under DIR
// that are not part of the store's layout.
var ErrForeign = errors.New("not part of the blob store")

// Options configures a Store.
type Options struct {
	// MaxSize is the largest blob Put accepts, in bytes; 0 means no limit.
	// Put rejects a larger blob with an error wrapping blob.ErrTooLarge after
	// reading at most MaxSize+1 bytes (none when the announced size is
	// already too large).
	MaxSize int64
}

// Store is a blob.Store in a local directory. It is safe for concurrent use
// and must be closed when no longer used.
type Store struct {
	dir     string // as given to Open, cleaned; used in messages only
	root    *os.Root
	maxSize int64
	bufs    sync.Pool // *[]byte of copyBufSize

	// shardSynced[i] is set once DIR/sha256 has been synced after shard
	// directory i (two hex characters, as a byte) existed, so that its name
	// is durable. Puts check it after publishing a blob and sync DIR/sha256
	// when it is not yet set.
	shardSynced [256]atomic.Bool

	staleRemoved int
}

var _ blob.Store = (*Store)(nil)

// Open opens the store in dir, creating dir and the layout if they do not
// exist, and removes temp files that have not been written to for
// StaleTempAge (left behind by a crashed Put; see StaleTempRemoved). It
// fails if dir is not a directory, if the layout cannot be created inside it
// (for example because DIR/tmp is a symbolic link leading outside dir), or if
// the filesystem does not support hard links.
func Open(dir string, opts Options) (*Store, error) {
	if opts.MaxSize < 0 {
		return nil, fmt.Errorf("open blob store %s: negative MaxSize %d", dir, opts.MaxSize)
	}
	dir = filepath.Clean(dir)
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob store: %w", err)
	}
	s := &Store{dir: dir, root: root, maxSize: opts.MaxSize}
	s.bufs.New = func() any { b := make([]byte, copyBufSize); return &b }
	if err := s.init(); err != nil {
		root.Close()
		return nil, fmt.Errorf("open blob store %s: %w", dir, err)
	}
	return s, nil
}

// mkdirDurable creates dir and any missing parents, syncing each parent
// after creating a directory in it, so that a blob put right after Open is
// not lost with a directory entry that never reached the disk.
func mkdirDurable(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// init creates the layout, removes stale temp files and checks that the
// filesystem can publish a blob with a hard link.
func (s *Store) init() error {
	for _, name := range []string{blobsDir, tmpDir} {
		err := s.root.Mkdir(name, dirMode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if fi, err := s.root.Lstat(name); err != nil {
			return err
		} else if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", filepath.Join(s.dir, name))
		}
	}
	if err := s.syncDir("."); err != nil {
		return err
	}
	// Every shard directory that exists now becomes durable with this sync.
	shards, err := s.readDir(blobsDir)
	if err != nil {
		return err
	}
	if err := s.syncDir(blobsDir); err != nil {
		return err
	}
	for _, e := range shards {
		if i, ok := shardIndex(e.Name()); ok && e.IsDir() {
			s.shardSynced[i].Store(true)
		}
	}
	if err := s.removeStaleTemps(); err != nil {
		return err
	}
	return s.probeLink()
}

// removeStaleTemps removes regular files in DIR/tmp whose modification time
// is older than StaleTempAge. A removal that fails is left for the next Open.
func (s *Store) removeStaleTemps() error {
	entries, err := s.readDir(tmpDir)
	if err != nil {
		return err
	}
	cutoff := time.Now().Add(-StaleTempAge)
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // not ours; Check reports it
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue
		}
		if s.root.Remove(filepath.Join(tmpDir, e.Name())) == nil {
			s.staleRemoved++
		}
	}
	return nil
}

// probeLink fails early, with a clear message, on a filesystem without hard
// links rather than on the first Put.
func (s *Store) probeLink() error {
	f, name, err := s.createTemp("probe")
	if err != nil {
		return err
	}
	f.Close()
	defer s.root.Remove(name)
	linked := name + ".link"
	if err := s.root.Link(name, linked); err != nil {
		return fmt.Errorf("the filesystem must support hard links: %w", err)
	}
	return s.root.Remove(linked)
}

// StaleTempRemoved reports how many stale temp files Open removed.
func (s *Store) StaleTempRemoved() int { return s.staleRemoved }

// Close releases the store's handle on its directory. The store must not be
// used afterwards; blobs opened with Get remain readable.
func (s *Store) Close() error { return s.root.Close() }

// blobPath returns the path of d's file relative to DIR.
func blobPath(d digest.Digest) string {
	h := d.Hex()
	return filepath.Join(blobsDir, h[:2], h)
}

// shardIndex parses a shard directory name (two lower-case hex characters).
func shardIndex(name string) (int, bool) {
	if len(name) != 2 {
		return 0, false
	}
	hi, ok1 := hexVal(name[0])
	lo, ok2 := hexVal(name[1])
	return hi<<4 | lo, ok1 && ok2
}

func hexVal(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	}
	return 0, false
}

// Put implements blob.Store. Put always reads r to its end and verifies it,
// even when the blob is already stored, so that wrong content is reported as
// wrong even for a digest the store holds. Besides the errors of blob.Store,
// Put fails with an error wrapping blob.ErrTooLarge (see Options.MaxSize),
// wrapping ctx.Err() when ctx ends before the blob is published, and wrapping
// the error of r when reading fails. A zero digest is rejected without
// reading r.
func (s *Store) Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	if d.IsZero() {
		return errors.New("put blob: the digest is the zero value")
	}
	if err := s.put(ctx, d, size, r); err != nil {
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	return nil
}

func (s *Store) put(ctx context.Context, d digest.Digest, size int64, r io.Reader) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.maxSize > 0 {
		if size > s.maxSize {
			return fmt.Errorf("%w: %d bytes announced, the limit is %d", blob.ErrTooLarge, size, s.maxSize)
		}
		r = &limitReader{r: r, max: s.maxSize}
	}
	f, tmp, err := s.createTemp(d.Hex()[:16])
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close() // a second Close is harmless
		}
		// Once linked the temp name is redundant; after a failure the file
		// is garbage. If this removal fails, Open removes the file once it
		// is stale; it is never visible as a blob.
		s.root.Remove(tmp)
	}()

	if err := s.copy(ctx, f, digest.NewVerifyingReader(r, d, size)); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Last chance to abandon the upload: once linked, the blob is stored.
	if err := ctx.Err(); err != nil {
		return err
	}

	final := blobPath(d)
	shard := filepath.Dir(final)
	if err := s.root.Mkdir(shard, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	switch err := s.root.Link(tmp, final); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		// Already stored, by an earlier or a concurrent Put; the existing
		// file is kept untouched. It may have been linked a moment ago by a
		// Put that has not synced the directory yet, so sync it here too
		// before promising durability.
		fi, err := s.root.Lstat(final)
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s exists and is not a regular file", filepath.Join(s.dir, final))
		}
	default:
		return err
	}
	if err := s.syncDir(shard); err != nil {
		return err
	}
	i, _ := shardIndex(filepath.Base(shard))
	if !s.shardSynced[i].Load() {
		if err := s.syncDir(blobsDir); err != nil {
			return err
		}
		s.shardSynced[i].Store(true)
	}
	return nil
}

// createTemp creates a new, empty temp file in DIR/tmp, read-only by mode but
// open for writing. It returns the file and its path relative to DIR.
func (s *Store) createTemp(prefix string) (*os.File, string, error) {
	for range 10 {
		name := filepath.Join(tmpDir, prefix+"-"+strings.ToLower(rand.Text()))
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, blobMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("cannot create a temp file with a unique name")
}

// copy streams src into dst through a fixed-size buffer, stopping when ctx
// ends. Memory use does not depend on the size of the content.
func (s *Store) copy(ctx context.Context, dst io.Writer, src io.Reader) error {
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// limitReader fails with blob.ErrTooLarge once more than max bytes have been
// read, reading at most max+1 bytes from r.
type limitReader struct {
	r   io.Reader
	max int64
	n   int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, l.tooLarge()
	}
	if rest := l.max + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, l.tooLarge()
	}
	return n, err
}

func (l *limitReader) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes", blob.ErrTooLarge, l.max)
}

// Get implements blob.Store. The returned reader is the stored file; its
// content is not re-hashed (that is fsck's job: wrap it in a
// digest.VerifyingReader to check it). A zero digest is not found.
func (s *Store) Get(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if _, err := s.lstat(ctx, d); err != nil {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, err)
	}
	f, err := s.root.Open(blobPath(d))
	if err != nil {
		return nil, 0, fmt.Errorf("get blob %s: %w", d, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("get blob %s: %w", d, err)
	}
	return f, fi.Size(), nil
}

// Stat implements blob.Store. A zero digest is not found.
func (s *Store) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	fi, err := s.lstat(ctx, d)
	if err != nil {
		return 0, fmt.Errorf("stat blob %s: %w", d, err)
	}
	return fi.Size(), nil
}

// lstat returns the file info of d's file, which must be a regular file (a
// symbolic link, even one to a blob, is not a blob; Check reports it).
func (s *Store) lstat(ctx context.Context, d digest.Digest) (fs.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if d.IsZero() {
		return nil, fmt.Errorf("the zero digest names no blob: %w", blob.ErrNotFound)
	}
	fi, err := s.root.Lstat(blobPath(d))
	if err != nil {
		return nil, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", filepath.Join(s.dir, blobPath(d)))
	}
	return fi, nil
}

// notFound adds blob.ErrNotFound to a "does not exist" error.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", blob.ErrNotFound, err)
	}
	return err
}

// Walk implements blob.Store. It reports exactly the blobs Get can return:
// regular files with a digest name in their right shard directory. Anything
// else under DIR is skipped; Check reports it. An error from fn stops the
// walk and is returned as is.
func (s *Store) Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error {
	var fnErr error
	err := s.scanBlobs(ctx, func(rel string, e fs.DirEntry, d digest.Digest, problem error) error {
		if problem != nil {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		fnErr = fn(d, fi.Size())
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("walk blobs in %s: %w", s.dir, err)
	}
	return err
}

// Check calls fn for every entry under DIR that is not part of the store's
// layout — a foreign file, a file in the wrong shard, a name that is not a
// digest, a symbolic link — with its path (DIR joined with its relative
// path) and an error, wrapping ErrForeign, saying what is wrong with it.
// Walk skips such entries, so fsck calls Check as well to learn of them.
// Temp files of uploads in progress are not reported. Check returns an
// error only when it cannot read the store or ctx ends.
func (s *Store) Check(ctx context.Context, fn func(path string, err error)) error {
	report := func(rel, why string) {
		fn(filepath.Join(s.dir, rel), fmt.Errorf("%w: %s", ErrForeign, why))
	}
	top, err := s.readDir(".")
	if err != nil {
		return fmt.Errorf("check blob store %s: %w", s.dir, err)
	}
	for _, e := range top {
		switch {
		case (e.Name() == blobsDir || e.Name() == tmpDir) && e.IsDir():
		case e.Name() == blobsDir || e.Name() == tmpDir:
			report(e.Name(), "not a directory")
		default:
			report(e.Name(), "unexpected entry in the store directory")
		}
	}
	tmps, err := s.readDir(tmpDir)
	if err != nil {
		return fmt.Errorf("check blob store %s: %w", s.dir, err)
	}
	for _, e := range tmps {
		if !e.Type().IsRegular() {
			report(filepath.Join(tmpDir, e.Name()), "not a regular file")
		}
	}
	err = s.scanBlobs(ctx, func(rel string, _ fs.DirEntry, _ digest.Digest, problem error) error {
		if problem != nil {
			report(rel, problem.Error())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("check blob store %s: %w", s.dir, err)
	}
	return nil
}

// scanBlobs calls fn for every entry in DIR/sha256 and its shard
// directories: with the digest when the entry is a blob, or with a problem
// saying why it is not. It stops at the first error from fn.
func (s *Store) scanBlobs(ctx context.Context, fn func(rel string, e fs.DirEntry, d digest.Digest, problem error) error) error {
	shards, err := s.readDir(blobsDir)
	if err != nil {
		return err
	}
	for _, se := range shards {
		if err := ctx.Err(); err != nil {
			return err
		}
		shardRel := filepath.Join(blobsDir, se.Name())
		if _, ok := shardIndex(se.Name()); !ok || !se.IsDir() {
			if err := fn(shardRel, se, digest.Digest{}, errors.New("not a shard directory (two lower-case hex characters)")); err != nil {
				return err
			}
			continue
		}
		err := s.eachEntry(ctx, shardRel, func(e fs.DirEntry) error {
			rel := filepath.Join(shardRel, e.Name())
			d, problem := blobEntry(se.Name(), e)
			return fn(rel, e, d, problem)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// blobEntry checks that e, found in shard directory shard, is a blob.
func blobEntry(shard string, e fs.DirEntry) (digest.Digest, error) {
	d, err := digest.Parse(e.Name())
	if err != nil || strings.HasPrefix(e.Name(), digest.Algorithm+":") {
		return digest.Digest{}, errors.New("not a blob: the name is not 64 lower-case hex characters")
	}
	if !strings.HasPrefix(e.Name(), shard) {
		return digest.Digest{}, fmt.Errorf("blob in the wrong shard directory: it belongs in %s",
			filepath.Join(blobsDir, e.Name()[:2]))
	}
	if !e.Type().IsRegular() {
		return digest.Digest{}, errors.New("not a regular file")
	}
	return d, nil
}

// eachEntry calls fn for the entries of directory rel, reading them in
// batches so that memory does not grow with the number of blobs.
func (s *Store) eachEntry(ctx context.Context, rel string, fn func(fs.DirEntry) error) error {
	f, err := s.root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(1024)
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readDir reads a small directory of the layout (DIR, DIR/sha256, DIR/tmp).
func (s *Store) readDir(rel string) ([]fs.DirEntry, error) {
	f, err := s.root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}

// syncDir makes the entries of directory rel durable.
func (s *Store) syncDir(rel string) error {
	f, err := s.root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", filepath.Join(s.dir, rel), err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
