package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

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
