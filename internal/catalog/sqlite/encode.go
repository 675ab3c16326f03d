package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"sync"
	"time"

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

// encIndex returns a log position as SQLite's signed INTEGER.
func encIndex(field string, i uint64) (int64, error) {
	if i > math.MaxInt64 {
		return 0, fmt.Errorf("%s %d is beyond the largest the catalog stores", field, i)
	}
	return int64(i), nil
}

// logNotFound is a missing leaf or node: catalog.ErrNotFound, and
// tlog.ErrNotFound for the log's algorithm.
type logNotFound struct{ what string }

func (e *logNotFound) Error() string   { return e.what + ": not found" }
func (e *logNotFound) Unwrap() []error { return []error{catalog.ErrNotFound, tlog.ErrNotFound} }

// preparer is what statements are prepared on: the read pool, the write
// transaction, or a read transaction.
type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// stmtCache prepares each query once per preparer. Statements of a
// transaction are closed by database/sql when it ends.
type stmtCache struct {
	p  preparer
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(p preparer) *stmtCache {
	return &stmtCache{p: p, m: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	s, ok := c.m[query]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	// Prepared without the lock: on the read pool, preparing may wait for
	// a connection, and other queries must not wait with it.
	s, err := c.p.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[query]; ok { // prepared meanwhile
		s.Close()
		return prev, nil
	}
	c.m[query] = s
	return s, nil
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first error
	for q, s := range c.m {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
		delete(c.m, q)
	}
	return first
}

// query runs a prepared query.
func (c *stmtCache) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// scanOne runs a query that returns at most one row into dest; no row is
// sql.ErrNoRows.
func (c *stmtCache) scanOne(ctx context.Context, query string, args []any, dest ...any) error {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return err
	}
	return s.QueryRowContext(ctx, args...).Scan(dest...)
}

// exec runs a prepared statement.
func (c *stmtCache) exec(ctx context.Context, query string, args ...any) error {
	s, err := c.stmt(ctx, query)
	if err != nil {
		return err
	}
	_, err = s.ExecContext(ctx, args...)
	return err
}
