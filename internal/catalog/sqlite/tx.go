package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
	"github.com/evident-dev/evident/internal/tlog"
)

const (
	sqlReleaseExisting = `SELECT manifest_digest FROM releases WHERE product = ? AND version = ?`
	sqlReleaseAtIndex  = `SELECT product || '@' || version FROM releases WHERE log_index = ?`
	sqlInsertRelease   = `INSERT INTO releases (product, version, manifest_digest, bundle_digest, safety_class,
		created_at, accepted_at, signer, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	// Multi-row inserts: insertRows adds the VALUES.
	sqlInsertComponents = `INSERT INTO components (release_id, pos, name, version, kind, safety_class)`
	sqlInsertArtifacts  = `INSERT INTO artifacts (release_id, pos, component_pos, name, digest, size)`
	sqlInsertBlobs      = `INSERT INTO release_blobs (release_id, pos, digest)`
	sqlInsertSOUP       = `INSERT INTO soup (package_id, release_id, component_pos)`
	sqlInsertNodes      = `INSERT INTO log_nodes (level, idx, hash)`

	sqlProductLatest = `SELECT latest_created_at, latest_log_index FROM products WHERE name = ?`
	sqlInsertProduct = `INSERT INTO products (name, releases, latest_version, latest_created_at, latest_log_index) VALUES (?, 1, ?, ?, ?)`
	sqlCountProduct  = `UPDATE products SET releases = releases + 1 WHERE name = ?`
	sqlLatestProduct = `UPDATE products SET releases = releases + 1, latest_version = ?, latest_created_at = ?, latest_log_index = ? WHERE name = ?`

	sqlReleaseID      = `SELECT id FROM releases WHERE product = ? AND version = ?`
	sqlReleaseCompPos = `SELECT name, pos FROM components WHERE release_id = ?`
	sqlPackageID      = `SELECT id FROM packages WHERE purl = ? AND name = ? AND version = ? AND base = ?`
	sqlInsertPackage  = `INSERT INTO packages (purl, name, version, base) VALUES (?, ?, ?, ?) RETURNING id`
	sqlInsertLeaf     = `INSERT INTO log_leaves (idx, data) VALUES (?, ?)`
	sqlTokenByHash    = `SELECT 1 FROM tokens WHERE hash = ?`
	sqlTokenByID      = `SELECT 1 FROM tokens WHERE id = ?`
	sqlInsertToken    = `INSERT INTO tokens (id, name, role, hash, created_at) VALUES (?, ?, ?, ?, ?)`
	sqlTokenRevokedAt = `SELECT revoked_at FROM tokens WHERE id = ?`
	sqlRevokeToken    = `UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`
	sqlInsertAudit    = `INSERT INTO audit (at, actor, action, target, remote, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`
)

// tx implements catalog.Tx on the write connection. Each of its write
// methods is all or nothing: when it refuses a write it has written nothing
// and the transaction can go on; when it fails half way the transaction
// cannot commit (see atomically).
type tx struct {
	reader
	tx *sql.Tx
	// failed is the error of a write that failed half way.
	failed error
	// releases caches, per product@version, what InsertSOUP needs: rows are
	// never changed once written, so the cache cannot go stale.
	releases map[ref]*releaseKey
	// packages holds the ids of packages this transaction looked up or
	// inserted; committed is the DB's cache of those committed before.
	packages  map[catalog.SOUP]int64
	committed *packageCache
	// log is the log as this transaction, the only writer, sees it.
	log sqlcat.LogCache
}

var _ catalog.Tx = (*tx)(nil)

type ref struct{ product, version string }

type releaseKey struct {
	id    int64
	comps map[string]int // component name → pos
}

func newTx(stx *sql.Tx, committed *packageCache) *tx {
	return &tx{
		reader:    reader{st: newStmtCache(stx)},
		tx:        stx,
		releases:  map[ref]*releaseKey{},
		packages:  map[catalog.SOUP]int64{},
		committed: committed,
	}
}

// maxRowsPerInsert bounds a multi-row INSERT (SQLite allows 32,766
// parameters).
const maxRowsPerInsert = 64

// insertRows runs insert (an INSERT without VALUES) for rows of cols values
// each, laid out one row after another in args, in as few statements as
// it can: multi-row INSERTs of 64, 32, ..., 1 rows, so that at most seven
// distinct statements are prepared per table. Each statement costs far more
// in the driver than a row costs SQLite. suffix follows the VALUES.
func (t *tx) insertRows(ctx context.Context, insert, suffix string, cols int, args []any) error {
	for n := len(args) / cols; n > 0; {
		k := min(maxRowsPerInsert, 1<<(bits.Len(uint(n))-1))
		var b strings.Builder
		b.WriteString(insert)
		b.WriteString(" VALUES ")
		for r := range k {
			if r > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for c := range cols {
				if c > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('?')
			}
			b.WriteByte(')')
		}
		b.WriteString(suffix)
		if err := t.st.exec(ctx, b.String(), args[:k*cols]...); err != nil {
			return err
		}
		args, n = args[k*cols:], n-k
	}
	return nil
}

// atomically runs fn, a sequence of writes that must happen together.
// Everything a write method can be refused for is checked before its first
// write, and such a refusal leaves the transaction usable. A failure after a
// write (an I/O error, a constraint the checks missed) would leave part of
// the sequence behind, so it poisons the transaction instead: every later
// write fails, and Update rolls back even if fn returns nil, as PostgreSQL
// does with a failed statement. (A savepoint per write would make SQLite
// journal every page the write touches; in the loader benchmark that took a
// third of the time.)
func (t *tx) atomically(fn func() error) error {
	if t.failed != nil {
		return t.poisoned()
	}
	if err := fn(); err != nil {
		t.failed = err
		return err
	}
	return nil
}

// poisoned is the error of a method called after a failed write.
func (t *tx) poisoned() error {
	return fmt.Errorf("an earlier write of this transaction failed half way: %w", t.failed)
}

// packageCache remembers the ids of committed packages across transactions:
// SOUP lists repeat the same packages from release to release, and a
// package row never changes once committed. It holds at most
// maxCachedPackages entries (some megabytes) and starts afresh when full.
type packageCache struct {
	mu sync.Mutex
	m  map[catalog.SOUP]int64
}

const maxCachedPackages = 1 << 18

func (c *packageCache) get(p catalog.SOUP) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.m[p]
	return id, ok
}

// add records the packages of a committed transaction.
func (c *packageCache) add(m map[catalog.SOUP]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m)+len(m) > maxCachedPackages {
		c.m = make(map[catalog.SOUP]int64, len(m))
	}
	if len(m) > maxCachedPackages {
		return
	}
	maps.Copy(c.m, m)
}

// releaseRow is a release checked and encoded for insertion.
type releaseRow struct {
	manifest, bundle  []byte
	created, accepted int64
	logIndex          int64
	comps             map[string]int
	artComp           []int
	artDigest         [][]byte
	blobs             [][]byte
}

// encodeRelease checks r and encodes what is not stored as it is.
func encodeRelease(r *catalog.Release) (*releaseRow, error) {
	if r.Product == "" || r.Version == "" {
		return nil, errors.New("product and version are required")
	}
	var row releaseRow
	var err error
	if row.manifest, err = sqlcat.EncDigest("manifest digest", r.ManifestDigest); err != nil {
		return nil, err
	}
	if row.bundle, err = sqlcat.EncDigest("bundle digest", r.BundleDigest); err != nil {
		return nil, err
	}
	if row.created, err = sqlcat.EncTime("createdAt", r.CreatedAt); err != nil {
		return nil, err
	}
	if row.accepted, err = sqlcat.EncTime("acceptedAt", r.AcceptedAt); err != nil {
		return nil, err
	}
	if row.logIndex, err = sqlcat.EncIndex("log index", r.LogIndex); err != nil {
		return nil, err
	}
	row.comps = make(map[string]int, len(r.Components))
	for i, c := range r.Components {
		if c.Name == "" {
			return nil, fmt.Errorf("component %d has no name", i+1)
		}
		if _, dup := row.comps[c.Name]; dup {
			return nil, fmt.Errorf("component %q is listed twice", c.Name)
		}
		row.comps[c.Name] = i
	}
	for _, a := range r.Artifacts {
		pos, ok := row.comps[a.Component]
		if !ok {
			return nil, fmt.Errorf("artifact %q belongs to component %q, which the release does not list", a.Name, a.Component)
		}
		d, err := sqlcat.EncDigest(fmt.Sprintf("digest of artifact %q", a.Name), a.Digest)
		if err != nil {
			return nil, err
		}
		row.artComp, row.artDigest = append(row.artComp, pos), append(row.artDigest, d)
	}
	for i, b := range r.Blobs {
		d, err := sqlcat.EncDigest(fmt.Sprintf("blob %d", i+1), b)
		if err != nil {
			return nil, err
		}
		row.blobs = append(row.blobs, d)
	}
	return &row, nil
}

// InsertRelease implements catalog.Tx. product@version already present: a
// *catalog.ConflictError naming the existing manifest (it wraps
// catalog.ErrExists). Two releases cannot share a log index.
func (t *tx) InsertRelease(ctx context.Context, r *catalog.Release) error {
	row, err := encodeRelease(r)
	if err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	var existing []byte
	err = t.st.scanOne(ctx, sqlReleaseExisting, []any{r.Product, r.Version}, &existing)
	switch {
	case err == nil:
		d, derr := sqlcat.DecDigest(existing)
		if derr != nil {
			return fmt.Errorf("insert release %s: existing release: %w", r.Ref(), derr)
		}
		return &catalog.ConflictError{Product: r.Product, Version: r.Version, Existing: d}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}

	var other string
	err = t.st.scanOne(ctx, sqlReleaseAtIndex, []any{row.logIndex}, &other)
	switch {
	case err == nil:
		return fmt.Errorf("insert release %s: log index %d already belongs to %s", r.Ref(), r.LogIndex, other)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}

	var id int64
	err = t.atomically(func() error {
		err := t.st.scanOne(ctx, sqlInsertRelease, []any{r.Product, r.Version, row.manifest, row.bundle,
			r.SafetyClass, row.created, row.accepted, r.Signer, row.logIndex}, &id)
		if err != nil {
			return err
		}
		args := make([]any, 0, 6*max(len(r.Components), len(r.Artifacts), len(r.Blobs)))
		for i, c := range r.Components {
			args = append(args, id, i, c.Name, c.Version, c.Kind, c.SafetyClass)
		}
		if err := t.insertRows(ctx, sqlInsertComponents, "", 6, args); err != nil {
			return fmt.Errorf("components: %w", err)
		}
		args = args[:0]
		for i, a := range r.Artifacts {
			args = append(args, id, i, row.artComp[i], a.Name, row.artDigest[i], a.Size)
		}
		if err := t.insertRows(ctx, sqlInsertArtifacts, "", 6, args); err != nil {
			return fmt.Errorf("artifacts: %w", err)
		}
		args = args[:0]
		for i, b := range row.blobs {
			args = append(args, id, i, b)
		}
		if err := t.insertRows(ctx, sqlInsertBlobs, "", 3, args); err != nil {
			return fmt.Errorf("blobs: %w", err)
		}
		return t.countProduct(ctx, r.Product, r.Version, row.created, row.logIndex)
	})
	if err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	t.releases[ref{r.Product, r.Version}] = &releaseKey{id: id, comps: row.comps}
	return nil
}

// countProduct keeps the product summary in step: one more release, and
// the latest one by createdAt, then log index, as History orders them.
func (t *tx) countProduct(ctx context.Context, product, version string, created, logIndex int64) error {
	var latestAt, latestIndex int64
	err := t.st.scanOne(ctx, sqlProductLatest, []any{product}, &latestAt, &latestIndex)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		err = t.st.exec(ctx, sqlInsertProduct, product, version, created, logIndex)
	case err != nil:
	case created > latestAt || created == latestAt && logIndex > latestIndex:
		err = t.st.exec(ctx, sqlLatestProduct, version, created, logIndex, product)
	default:
		err = t.st.exec(ctx, sqlCountProduct, product)
	}
	if err != nil {
		return fmt.Errorf("product summary: %w", err)
	}
	return nil
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se interface{ Code() int }
	if !errors.As(err, &se) {
		return false
	}
	const (
		constraintPrimaryKey = 1555 // SQLITE_CONSTRAINT_PRIMARYKEY
		constraintUnique     = 2067 // SQLITE_CONSTRAINT_UNIQUE
	)
	return se.Code() == constraintUnique || se.Code() == constraintPrimaryKey
}

// release returns the id and components of product@version.
func (t *tx) release(ctx context.Context, product, version string) (*releaseKey, error) {
	if k, ok := t.releases[ref{product, version}]; ok {
		return k, nil
	}
	name := product + "@" + version
	k := &releaseKey{comps: map[string]int{}}
	err := t.st.scanOne(ctx, sqlReleaseID, []any{product, version}, &k.id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("release %s: %w", name, catalog.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", name, err)
	}
	rows, err := t.st.query(ctx, sqlReleaseCompPos, k.id)
	if err != nil {
		return nil, fmt.Errorf("release %s: components: %w", name, err)
	}
	for rows.Next() {
		var comp string
		var pos int
		if err := rows.Scan(&comp, &pos); err != nil {
			rows.Close()
			return nil, fmt.Errorf("release %s: components: %w", name, err)
		}
		k.comps[comp] = pos
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("release %s: components: %w", name, err)
	}
	t.releases[ref{product, version}] = k
	return k, nil
}

// InsertSOUP implements catalog.Tx. The release must exist (in the catalog
// or earlier in this transaction; otherwise the error wraps
// catalog.ErrNotFound) and every entry must name one of its components. An
// entry recorded already for the same component of the release is not
// recorded again.
func (t *tx) InsertSOUP(ctx context.Context, product, version string, entries []catalog.SOUP) error {
	if len(entries) == 0 {
		return nil
	}
	k, err := t.release(ctx, product, version)
	if err != nil {
		return fmt.Errorf("insert SOUP: %w", err)
	}
	for _, e := range entries {
		if _, ok := k.comps[e.Component]; !ok {
			return fmt.Errorf("insert SOUP of %s@%s: %s %s belongs to component %q, which the release does not list",
				product, version, e.Name, e.Version, e.Component)
		}
	}
	err = t.atomically(func() error {
		args := make([]any, 0, 3*len(entries))
		for _, e := range entries {
			pkg := catalog.SOUP{Name: e.Name, Version: e.Version, PURL: e.PURL, Base: e.Base}
			id, ok := t.packages[pkg]
			if !ok {
				id, ok = t.committed.get(pkg)
			}
			if !ok {
				err := t.st.scanOne(ctx, sqlPackageID, []any{e.PURL, e.Name, e.Version, e.Base}, &id)
				if errors.Is(err, sql.ErrNoRows) {
					err = t.st.scanOne(ctx, sqlInsertPackage, []any{e.PURL, e.Name, e.Version, e.Base}, &id)
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", e.Name, e.Version, err)
				}
				t.packages[pkg] = id
			}
			args = append(args, id, k.id, k.comps[e.Component])
		}
		return t.insertRows(ctx, sqlInsertSOUP, " ON CONFLICT DO NOTHING", 3, args)
	})
	if err != nil {
		return fmt.Errorf("insert SOUP of %s@%s: %w", product, version, err)
	}
	return nil
}

// LogAppend implements tlog.Writer. index must be the log's size, and nodes
// exactly the nodes leaf completes, as tlog.Append gives them: the leaf's own
// (level 0) and every perfect subtree it closes, bottom up, each with a
// tlog.HashSize hash. Anything else is an error and stores nothing.
func (t *tx) LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []tlog.Node) error {
	i, err := sqlcat.EncIndex("log index", index)
	if err != nil {
		return fmt.Errorf("log append: %w", err)
	}
	if err := sqlcat.CheckAppend(index, nodes); err != nil {
		return err
	}
	size, err := t.LogSize(ctx)
	if err != nil {
		return fmt.Errorf("log append: %w", err)
	}
	if index != size {
		return fmt.Errorf("log append at %d: the log has %d leaves, so the next index is %d", index, size, size)
	}
	if leaf == nil {
		leaf = []byte{}
	}
	err = t.atomically(func() error {
		if err := t.st.exec(ctx, sqlInsertLeaf, i, leaf); err != nil {
			return err
		}
		args := make([]any, 0, 3*len(nodes))
		for _, n := range nodes {
			args = append(args, int64(n.ID.Level), int64(n.ID.Index), n.Hash)
		}
		if err := t.insertRows(ctx, sqlInsertNodes, "", 3, args); err != nil {
			if isUnique(err) {
				return fmt.Errorf("a node this leaf completes is stored already: %w", err)
			}
			return fmt.Errorf("nodes: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("log append at %d: %w", index, err)
	}
	t.log.Appended(index, nodes)
	return nil
}

// LogSize implements tlog.Reader, reading the size once per transaction.
func (t *tx) LogSize(ctx context.Context) (uint64, error) {
	return t.log.Size(ctx, &t.reader)
}

// LogNodes implements tlog.Reader, reading each node once per transaction.
// Stored nodes never change, and this transaction is the only writer.
func (t *tx) LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	return t.log.Nodes(ctx, &t.reader, ids)
}

// InsertToken implements catalog.Tx. The same hash or the same ID twice: an
// error wrapping catalog.ErrExists. The role must be set; which roles exist
// is package auth's business, not the catalog's.
func (t *tx) InsertToken(ctx context.Context, tok catalog.Token) error {
	switch {
	case tok.ID == "":
		return errors.New("insert token: the ID is empty")
	case len(tok.Hash) == 0:
		return fmt.Errorf("insert token %s: the hash is empty", tok.ID)
	case tok.Role == "":
		return fmt.Errorf("insert token %s: the role is empty", tok.ID)
	}
	at, err := sqlcat.EncTime("createdAt", tok.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	if t.failed != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, t.poisoned())
	}
	var one int
	switch err := t.st.scanOne(ctx, sqlTokenByHash, []any{tok.Hash}, &one); {
	case err == nil:
		return fmt.Errorf("insert token %s: a token with the same hash: %w", tok.ID, catalog.ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	switch err := t.st.scanOne(ctx, sqlTokenByID, []any{tok.ID}, &one); {
	case err == nil:
		return fmt.Errorf("insert token %s: a token with the same ID: %w", tok.ID, catalog.ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	if err := t.st.exec(ctx, sqlInsertToken, tok.ID, tok.Name, tok.Role, tok.Hash, at); err != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	return nil
}

// RevokeToken implements catalog.Tx. An unknown ID: an error wrapping
// catalog.ErrNotFound. A token already revoked keeps its first time.
func (t *tx) RevokeToken(ctx context.Context, id string, at time.Time) error {
	if id == "" {
		return errors.New("revoke token: the ID is empty")
	}
	if at.IsZero() {
		return fmt.Errorf("revoke token %s: the time is empty", id)
	}
	n, err := sqlcat.EncTime("revokedAt", at)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if t.failed != nil {
		return fmt.Errorf("revoke token %s: %w", id, t.poisoned())
	}
	var revoked sql.NullInt64
	switch err := t.st.scanOne(ctx, sqlTokenRevokedAt, []any{id}, &revoked); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("revoke token %s: %w", id, catalog.ErrNotFound)
	case err != nil:
		return fmt.Errorf("revoke token %s: %w", id, err)
	case revoked.Valid:
		return nil
	}
	if err := t.st.exec(ctx, sqlRevokeToken, n, id); err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	return nil
}

// AppendAudit implements catalog.Tx.
func (t *tx) AppendAudit(ctx context.Context, e catalog.AuditEvent) error {
	at, err := sqlcat.EncTime("time", e.At)
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	if t.failed != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, t.poisoned())
	}
	if err := t.st.exec(ctx, sqlInsertAudit, at, e.Actor, e.Action, e.Target, e.Remote, e.Outcome, e.Detail); err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	return nil
}
