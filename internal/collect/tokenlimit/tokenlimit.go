// Package tokenlimit bounds how much input a single token of a streaming
// decoder may span. encoding/xml and encoding/json hold a whole token — a
// text run, a string, a comment — in memory before returning it, so without
// a bound one 2 GB text node in a test report or SBOM becomes 2 GB of heap.
// The format readers wrap their input in a Reader and call Mark after every
// token: input then streams in constant memory whatever its size.
package tokenlimit

import (
	"errors"
	"io"
)

// DefaultMax is the largest token the format readers accept: far above any
// real failure message, stack trace or SBOM component, far below memory.
const DefaultMax = 64 << 20

// ErrTooLarge is returned (wrapped) by Read when one token spans more than
// the limit.
var ErrTooLarge = errors.New("a single element, text run or value is too large")

// Reader passes reads through, failing once more than max bytes have been
// read since the last Mark. Decoders read ahead in blocks, so the bound is
// max plus one buffer, never more.
type Reader struct {
	r     io.Reader
	since int64
	max   int64
}

// New wraps r with a limit of max bytes per token.
func New(r io.Reader, max int64) *Reader { return &Reader{r: r, max: max} }

// Mark records a token boundary.
func (l *Reader) Mark() { l.since = 0 }

func (l *Reader) Read(p []byte) (int, error) {
	if l.since >= l.max {
		return 0, ErrTooLarge
	}
	if rest := l.max - l.since; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.since += int64(n)
	return n, err
}
