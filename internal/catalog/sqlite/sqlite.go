// Package sqlite is the embedded catalog: catalog.Catalog on a single SQLite
// file, through the pure-Go driver modernc.org/sqlite (no cgo). It is the
// zero-configuration default of evidentd; catalog/postgres serves the same
// contract at scale.
//
// One file, two connection pools: a single write connection, so that Update
// transactions are serialised (each starts with BEGIN IMMEDIATE, taking the
// write lock up front rather than failing half way), and a pool of read
// connections that, in WAL mode, read the last committed state while a write
// is in progress. Every connection runs with synchronous=FULL, so that a
// transaction whose Update returned nil survives the process being killed
// and the machine losing power.
//
// The schema lives in migrations/, one numbered file per change, applied in
// order by Open in one transaction and recorded in schema_migrations.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a statement waits for a lock held by another
// process (a backup, a second evidentd by mistake) before failing.
const busyTimeout = 10 * time.Second

// Page cache sizes. The writer's is larger: a push updates index pages all
// over the file (artifact digests and SOUP packages are random), and pages
// that do not fit are written to the WAL and read back within the same
// transaction. SQLite's default is 2 MiB per connection.
const (
	writeCacheKiB = 64 << 10
	readCacheKiB  = 16 << 10
)

// DB is a catalog in a SQLite file. It implements catalog.Catalog and is safe
// for concurrent use.
type DB struct {
	reader         // reads on the read pool
	write  *sql.DB // exactly one connection: write transactions queue for it
	read   *sql.DB
	stmts  *stmtCache // prepared on read
	// packages caches the ids of committed SOUP packages for writers.
	packages packageCache
}

var _ catalog.Catalog = (*DB)(nil)

// Open opens the catalog in the file at path, creating it if it does not
// exist (its directory must), and brings its schema up to date. It refuses a
// database whose schema is newer than this code knows: an older evidentd
// must not write into a newer archive.
func Open(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	// The driver reads everything after the first '?' as parameters.
	if strings.ContainsRune(abs, '?') {
		return nil, fmt.Errorf("open catalog %s: the path must not contain '?'", path)
	}

	write, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}

	read, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}

	db := &DB{write: write, read: read, stmts: newStmtCache(read)}
	db.reader = reader{st: db.stmts, snapshot: db.readSnapshot}
	return db, nil
}

// dsn returns the driver's data source name for the file at abs. Pragmas are
// set on every new connection: synchronous in particular is per connection.
// query_only makes a write through a read connection fail instead of
// bypassing the serialised writer.
func dsn(abs string, writer bool) string {
	p := []string{
		"_pragma=busy_timeout(" + strconv.FormatInt(busyTimeout.Milliseconds(), 10) + ")",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(FULL)",
		"_pragma=foreign_keys(1)",
	}
	if writer {
		// temp_store: statement journals (a multi-row INSERT keeps one,
		// to undo itself if it fails half way) stay in memory instead of
		// going to a temporary file with a write(2) per page.
		p = append(p, "_txlock=immediate", "_pragma=cache_size(-"+strconv.Itoa(writeCacheKiB)+")", "_pragma=temp_store(memory)")
	} else {
		p = append(p, "_pragma=query_only(1)", "_pragma=cache_size(-"+strconv.Itoa(readCacheKiB)+")")
	}
	return abs + "?" + strings.Join(p, "&")
}

// Close closes both pools. It first runs PRAGMA optimize, which refreshes
// the query planner's statistics where they are stale.
func (db *DB) Close() error {
	err := db.stmts.close()
	if _, oerr := db.write.Exec("PRAGMA optimize"); oerr != nil {
		err = errors.Join(err, fmt.Errorf("optimize: %w", oerr))
	}
	return errors.Join(err, db.read.Close(), db.write.Close())
}

// Ping implements catalog.Catalog: it checks that a read connection works.
func (db *DB) Ping(ctx context.Context) error {
	return db.read.PingContext(ctx)
}

// Update implements catalog.Catalog. fn's error is returned as it is, so that
// callers can match it with errors.Is and errors.As. Updates wait for each
// other (for as long as ctx allows), so fn must not call Update; it may read
// through the DB, and then sees only what is committed.
func (db *DB) Update(ctx context.Context, fn func(tx catalog.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	stx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update: begin: %w", err)
	}
	committed := false
	defer func() {
		// Also when fn panics: the one write connection must go back to
		// the pool, or every later Update would wait for it forever.
		if !committed {
			stx.Rollback()
		}
	}()
	tx := newTx(stx, &db.packages)
	if err := fn(tx); err != nil {
		return err
	}
	if tx.failed != nil {
		return fmt.Errorf("update: not committed: %w", tx.poisoned())
	}
	if err := stx.Commit(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// database/sql rolls back as soon as ctx ends; report why.
			return fmt.Errorf("update: not committed: %w", cerr)
		}
		return fmt.Errorf("update: commit: %w", err)
	}
	committed = true
	db.packages.add(tx.packages)
	return nil
}

// readSnapshot runs fn in a read transaction, so that it sees one committed
// state throughout.
func (db *DB) readSnapshot(ctx context.Context, fn func(r *reader) error) error {
	stx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer stx.Rollback()
	return fn(&reader{st: newStmtCache(stx), snapshot: nil})
}

// migrate applies, in one transaction, every embedded migration the
// database has not had yet.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := sqlcat.Migrations(migrationFS)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].Version

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latest {
		return fmt.Errorf("the catalog's schema is version %d, newer than this program knows (%d): use the evidentd release that last wrote it, or a newer one", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
