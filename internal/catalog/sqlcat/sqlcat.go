// Package sqlcat holds what the SQL catalogs (package sqlite and package
// postgres) share: how values are stored in columns, how embedded
// migrations are found, and the log cache of a write transaction. The SQL
// itself, and what each database can or cannot hold, stay in each backend.
package sqlcat

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// zeroTime is how the zero time.Time is stored: below every real time.
const zeroTime = math.MinInt64

// Times are stored as nanoseconds since the epoch, in a signed 64-bit
// integer column; these are the limits (years 1677 to 2262).
var (
	MinTime = time.Unix(0, math.MinInt64+1)
	MaxTime = time.Unix(0, math.MaxInt64)
)

// EncTime returns t as stored. field names the value in the error.
func EncTime(field string, t time.Time) (int64, error) {
	if t.IsZero() {
		return zeroTime, nil
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return 0, fmt.Errorf("%s %s is outside the range the catalog stores (%d to %d)",
			field, t.Format(time.RFC3339Nano), MinTime.Year(), MaxTime.Year())
	}
	return t.UnixNano(), nil
}

// DecTime is EncTime's inverse; the result is in UTC.
func DecTime(n int64) time.Time {
	if n == zeroTime {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// EncDigest returns the raw sum of d; the zero digest is an error.
func EncDigest(field string, d digest.Digest) ([]byte, error) {
	if d.IsZero() {
		return nil, fmt.Errorf("%s is empty", field)
	}
	return d.Bytes(), nil
}

// DecDigest is EncDigest's inverse.
func DecDigest(b []byte) (digest.Digest, error) {
	if len(b) != 32 {
		return digest.Digest{}, fmt.Errorf("stored digest has %d bytes, want 32", len(b))
	}
	return digest.Parse(hex.EncodeToString(b))
}

// EncIndex returns a log position as a signed 64-bit integer column holds it.
func EncIndex(field string, i uint64) (int64, error) {
	if i > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is beyond the largest the catalog stores", field, i)
	}
	return int64(i), nil
}

// LogNotFound returns the error for a missing log leaf or node, what: it
// is both catalog.ErrNotFound and, for the log's algorithm,
// tlog.ErrNotFound.
func LogNotFound(what string) error { return &logNotFound{what} }

type logNotFound struct{ what string }

func (e *logNotFound) Error() string   { return e.what + ": not found" }
func (e *logNotFound) Unwrap() []error { return []error{catalog.ErrNotFound, tlog.ErrNotFound} }

// Migration is one embedded schema migration.
type Migration struct {
	Version int
	Name    string // the file's name
	SQL     string
}

// Migrations returns the migrations in fsys's directory "migrations", in
// order. Their names are NNNN_description.sql, numbered from 1 without a
// gap; anything else is an error, as is finding none.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, name := range names { // fs.Glob sorts
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: want the name %04d_<description>.sql", base, len(ms)+1)
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(b)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations embedded")
	}
	return ms, nil
}
