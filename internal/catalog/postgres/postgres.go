// Package postgres is catalog.Catalog on PostgreSQL, through
// github.com/jackc/pgx/v5. It is the catalog of evidentd at scale: any
// number of evidentd processes (replicas) on the same database behave as one
// archive.
//
// Writes are serialised across every process by a transaction-level
// advisory lock, taken as the first statement of each Update and released by
// PostgreSQL when the transaction ends (also when the process dies). So the
// Merkle log stays one append-only sequence, product@version checks cannot
// race, and each Update, running at READ COMMITTED, sees everything committed
// before it got the lock. Why not SERIALIZABLE isolation instead: every push
// appends to the log, so concurrent pushes would always conflict on the log's
// size; PostgreSQL would abort all but one with a serialization failure, and
// Update would have to run fn again, which the catalog's contract does not
// ask of callers (fn may have done work that is not repeatable). With the
// lock, writers wait rather than fail, and the throughput is the same: one
// push at a time is what a single log allows anyway.
//
// Two connection pools per DB: a write pool of a single connection, on which
// the Updates of this process queue (so that a process holds at most one
// connection waiting for the lock, and an Update's fn can always read
// through the read pool), and a read pool, whose reads see committed data.
//
// Commits are durable: every connection runs with synchronous_commit on (it
// is turned on if the server's or the URL's setting is off).
//
// The schema lives in migrations/, one numbered file per change, applied in
// order by Open in one transaction that holds the same advisory lock, so that
// replicas starting together apply each migration once; recorded in
// schema_migrations. The catalog lives in the first schema of the
// connection's search_path that exists (public by default); Open pins it, so
// that several catalogs can share a database in separate schemas.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// lockClass is the first half of the advisory lock key, shared by every
// evident catalog ("evid"); the second half is derived from the schema, so
// that catalogs in different schemas of one database do not wait for each
// other.
const lockClass = 0x65766964

// rollbackTimeout bounds the rollback of an Update whose context is done.
const rollbackTimeout = 10 * time.Second

// DB is a catalog in a PostgreSQL schema. It implements catalog.Catalog and
// is safe for concurrent use.
type DB struct {
	reader               // reads on the read pool
	read   *pgxpool.Pool // reads outside Update
	write  *pgxpool.Pool // one connection: this process's Updates queue for it
	schema string
	lock   lockKey
}

var _ catalog.Catalog = (*DB)(nil)

// lockKey is the key of the advisory lock that serialises writers.
type lockKey struct{ class, obj int32 }

func lockFor(schema string) lockKey {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return lockKey{class: lockClass, obj: int32(h.Sum32())}
}

const sqlLock = `SELECT pg_advisory_xact_lock($1::int4, $2::int4)`

// Open connects to the database at url (postgres://... or key=value pairs,
// as pgx accepts them, pool_* parameters included, which size the read
// pool), and brings the catalog's schema up to date. It refuses a database
// whose schema is newer than this code knows: an older evidentd must not
// write into a newer archive. Any number of processes may open the same
// catalog at once.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err) // pgx redacts the password
	}
	cfg.AfterConnect = durable

	schema, err := prepare(ctx, cfg.ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	// Every connection works in the schema the migrations went into, even
	// if one named earlier in search_path appears later.
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()

	wcfg := cfg.Copy()
	wcfg.MaxConns, wcfg.MinConns = 1, 0
	write, err := pgxpool.NewWithConfig(ctx, wcfg)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	read, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := read.Ping(ctx); err != nil {
		read.Close()
		write.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	return &DB{reader: reader{q: read}, read: read, write: write, schema: schema, lock: lockFor(schema)}, nil
}

// prepare connects once, finds the schema the catalog lives in and applies
// the migrations it lacks.
func prepare(ctx context.Context, cc *pgx.ConnConfig) (string, error) {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := durable(ctx, conn); err != nil {
		return "", err
	}
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", err
	}
	if schema == nil {
		var sp string
		if err := conn.QueryRow(ctx, `SHOW search_path`).Scan(&sp); err != nil {
			return "", err
		}
		return "", fmt.Errorf("no schema of the search_path (%s) exists: create the schema first", sp)
	}
	if _, err := conn.Exec(ctx, `SELECT set_config('search_path', $1, false)`, pgx.Identifier{*schema}.Sanitize()); err != nil {
		return "", err
	}
	if err := migrate(ctx, conn, lockFor(*schema)); err != nil {
		return "", fmt.Errorf("schema %s: %w", *schema, err)
	}
	return *schema, nil
}

// durable turns synchronous_commit on for conn unless it is on already or
// stronger (remote_write, remote_apply; local is durable on this server): a
// commit must be on disk before Update returns.
func durable(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SELECT set_config('synchronous_commit', 'on', false) WHERE current_setting('synchronous_commit') = 'off'`)
	if err != nil {
		return fmt.Errorf("synchronous_commit: %w", err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.read.Close()
	db.write.Close()
	return nil
}

// Ping implements catalog.Catalog: it checks that the database answers on a
// read connection.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.read.Ping(ctx); err != nil {
		return fmt.Errorf("ping catalog: %w", err)
	}
	return nil
}

// Update implements catalog.Catalog. fn's error is returned as it is, so that
// callers can match it with errors.Is and errors.As. Updates wait for each
// other, in this process and in every other on the same catalog, for as long
// as ctx allows; fn must not call Update. It may read through the DB, and
// then sees only what is committed.
//
// When the connection fails during the commit, Update returns an error
// although PostgreSQL may have committed: a caller that retries finds its
// release there (ErrExists with the same manifest).
func (db *DB) Update(ctx context.Context, fn func(tx catalog.Tx) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	// READ COMMITTED whatever default_transaction_isolation says: every
	// statement after the lock then sees what the previous writer committed.
	// (Under REPEATABLE READ the snapshot would be the one of the lock
	// statement, taken before the wait.)
	ptx, err := db.write.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("update: begin: %w", ctxErr(ctx, err))
	}
	committed := false
	defer func() {
		// Also when fn panics: the write connection must go back to the
		// pool, and the lock be released.
		if !committed {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
			defer cancel()
			ptx.Rollback(rctx) // on failure pgx closes the connection, which rolls back too
		}
	}()
	if _, err := ptx.Exec(ctx, sqlLock, db.lock.class, db.lock.obj); err != nil {
		return fmt.Errorf("update: wait for the write lock: %w", ctxErr(ctx, err))
	}
	t := newTx(ptx)
	if err := fn(t); err != nil {
		return err
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("update: not committed: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("update: not committed: %w", err)
	}
	if err := ptx.Commit(ctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return fmt.Errorf("update: not committed: PostgreSQL rolled the transaction back")
		}
		return fmt.Errorf("update: commit: %w", ctxErr(ctx, err))
	}
	committed = true
	return nil
}

// ctxErr returns ctx's error if ctx is done (pgx's own error then says less),
// else err.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}

// migrate applies, in one transaction holding the writers' lock, every
// embedded migration the schema has not had yet.
func migrate(ctx context.Context, conn *pgx.Conn, key lockKey) error {
	ms, err := sqlcat.Migrations(migrationFS)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].Version

	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, sqlLock, key.class, key.obj); err != nil {
		return fmt.Errorf("migrate: wait for the lock: %w", ctxErr(ctx, err))
	}
	// After the lock: two processes creating the table at once would
	// otherwise collide in the system catalogs.
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text    NOT NULL,
		applied_at bigint  NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if current > latest {
		return fmt.Errorf("the catalog's schema is version %d, newer than this program knows (%d): use the evidentd release that last wrote it, or a newer one", current, latest)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		// Without arguments pgx sends the file as one simple query: all its
		// statements, in this transaction.
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migrate: %s: %w", m.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
