// Package blob defines evident's content-addressed blob store: bytes named by
// their SHA-256 digest, written once and never changed or deleted.
//
// Blob stores know nothing of releases or manifests (they import only
// digest), so that any byte store — a local directory, an S3 bucket — can
// hold an archive. Implementations live in sub-packages (fsblob, s3blob);
// blobtest is the conformance suite every implementation must pass.
package blob

import (
	"context"
	"errors"
	"io"

	"github.com/evident-dev/evident/internal/digest"
)

// ErrNotFound is returned (wrapped) when a blob does not exist.
var ErrNotFound = errors.New("blob not found")

// ErrTooLarge is returned (wrapped) when content exceeds the store's limit.
var ErrTooLarge = errors.New("blob too large")

// Store is a content-addressed blob store. It is safe for concurrent use.
//
// Contracts every implementation keeps (the conformance suite checks them):
//   - Put reads r while hashing it and stores the content under d only if it
//     hashes to d and has exactly size bytes; otherwise nothing is stored and
//     the error wraps digest.ErrMismatch. size < 0 means unknown. On success
//     r has been read to its end; a put that fails early (too large,
//     cancelled, a failing reader) stops reading and returns an error
//     wrapping the cause (ErrTooLarge, ctx.Err(), the reader's error).
//   - Put with the zero digest fails.
//   - Put is idempotent: putting content that is already stored succeeds and
//     leaves the stored copy untouched (it is never overwritten).
//   - When Put returns nil the blob is durable: it survives a crash of the
//     process or the machine from that moment on.
//   - A blob is visible to Get and Stat only once it is complete; a reader
//     never sees part of a blob, whatever happens to the writer.
//   - Get and Stat of a missing blob return an error wrapping ErrNotFound.
//   - There is no delete.
type Store interface {
	Put(ctx context.Context, d digest.Digest, size int64, r io.Reader) error
	// Get returns the blob's content and size. The caller closes it.
	Get(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error)
	// Stat returns the blob's size.
	Stat(ctx context.Context, d digest.Digest) (int64, error)
	// Walk calls fn for every stored blob, in no particular order, with the
	// digest it is stored under; fsck uses it to re-hash everything. An
	// error from fn stops the walk and is returned.
	Walk(ctx context.Context, fn func(d digest.Digest, size int64) error) error
}
