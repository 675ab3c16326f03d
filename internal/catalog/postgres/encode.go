package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// zeroTime is how the zero time.Time is stored: below every real time.
const zeroTime = math.MinInt64

// Times are stored as nanoseconds since the epoch; these are the limits
// (years 1677 to 2262).
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// encTime returns t as stored. field names the value in the error.
func encTime(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return zeroTime, nil
	}
	if t.Before(minTime) || t.After(maxTime) {
		return 0, fmt.Errorf("%s %s is outside the range the catalog stores (%d to %d)",
			field, t.Format(time.RFC3339Nano), minTime.Year(), maxTime.Year())
	}
	return t.UnixNano(), nil
}

// decTime is encTime's inverse; the result is in UTC.
func decTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// encDigest returns the raw sum of d; the zero digest is an error.
func encDigest(field string, d digest.Digest) ([]byte, error) {
	if d.IsZero() {
		return nil, fmt.Errorf("%s is empty", field)
	}
	return d.Bytes(), nil
}

// decDigest is encDigest's inverse.
func decDigest(b []byte) (digest.Digest, error) {
	if len(b) != 32 {
		return digest.Digest{}, fmt.Errorf("stored digest has %d bytes, want 32", len(b))
	}
	return digest.Parse(hex.EncodeToString(b))
}

// encIndex returns a log position as PostgreSQL's signed bigint.
func encIndex(field string, i uint64) (int64, error) {
	if i > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is beyond the largest the catalog stores", field, i)
	}
	return int64(i), nil
}

// storable reports whether PostgreSQL can store s as text: it must be valid
// UTF-8 (the catalog's databases are UTF8) without a NUL byte, which text
// cannot hold at all. SQLite would store either; here such a value is
// refused before anything is written, so that the transaction stays usable,
// and a lookup by such a value finds nothing without asking the server.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// checkText returns an error naming field unless every value is storable.
func checkText(field string, values ...string) error {
	for _, s := range values {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%s %q is not valid UTF-8", field, s)
		}
		if strings.ContainsRune(s, 0) {
			return fmt.Errorf("%s %q contains a NUL byte", field, s)
		}
	}
	return nil
}

// maxIndexedText bounds the text of a SOUP entry that goes into the
// (base, version) index: a B-tree entry must fit in a third of a page
// (2,704 bytes). Real purls are a few hundred bytes at most.
const maxIndexedText = 2048

// packageIdent is the unique key of a SOUP package: the SHA-256 of its four
// fields, each prefixed with its length so that no two packages collide by
// shifting bytes from one field to the next.
func packageIdent(p catalog.SOUP) []byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{p.PURL, p.Name, p.Version, p.Base} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return h.Sum(nil)
}

// logNotFound is a missing leaf or node: catalog.ErrNotFound, and
// tlog.ErrNotFound for the log's algorithm.
type logNotFound struct{ what string }

func (e *logNotFound) Error() string   { return e.what + ": not found" }
func (e *logNotFound) Unwrap() []error { return []error{catalog.ErrNotFound, tlog.ErrNotFound} }
