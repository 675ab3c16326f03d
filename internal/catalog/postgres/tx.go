package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
	"github.com/evident-dev/evident/internal/tlog"
)

const (
	// What InsertRelease may be refused for, in one round trip: the
	// manifest of the release holding product@version, the release holding
	// the log index.
	sqlReleaseConflicts = `SELECT
		(SELECT manifest_digest FROM releases WHERE product = $1 AND version = $2),
		(SELECT product || '@' || version FROM releases WHERE log_index = $3)`
	// A release with all its rows and its product summary, in one
	// statement. The sub-statements of a WITH run on one snapshot, and the
	// foreign keys are checked at the end of the statement, when every row
	// is there. pos is the position in the arrays, from 0.
	sqlInsertRelease = `WITH r AS (
		INSERT INTO releases (product, version, manifest_digest, bundle_digest, safety_class,
			created_at, accepted_at, signer, log_index)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
	), c AS (
		INSERT INTO components (release_id, pos, name, version, kind, safety_class)
		SELECT r.id, u.ord - 1, u.name, u.version, u.kind, u.safety_class
		FROM r, unnest($10::text[], $11::text[], $12::text[], $13::text[]) WITH ORDINALITY
			AS u(name, version, kind, safety_class, ord)
	), a AS (
		INSERT INTO artifacts (release_id, pos, component_pos, name, digest, size)
		SELECT r.id, u.ord - 1, u.component_pos, u.name, u.digest, u.size
		FROM r, unnest($14::int4[], $15::text[], $16::bytea[], $17::int8[]) WITH ORDINALITY
			AS u(component_pos, name, digest, size, ord)
	), b AS (
		INSERT INTO release_blobs (release_id, pos, digest)
		SELECT r.id, u.ord - 1, u.digest
		FROM r, unnest($18::bytea[]) WITH ORDINALITY AS u(digest, ord)
	), p AS (
		INSERT INTO products AS cur (name, releases, latest_version, latest_created_at, latest_log_index)
		VALUES ($1, 1, $2, $6, $9)
		ON CONFLICT (name) DO UPDATE SET
			releases = cur.releases + 1,
			latest_version = CASE WHEN (EXCLUDED.latest_created_at, EXCLUDED.latest_log_index) > (cur.latest_created_at, cur.latest_log_index)
				THEN EXCLUDED.latest_version ELSE cur.latest_version END,
			latest_log_index = CASE WHEN (EXCLUDED.latest_created_at, EXCLUDED.latest_log_index) > (cur.latest_created_at, cur.latest_log_index)
				THEN EXCLUDED.latest_log_index ELSE cur.latest_log_index END,
			latest_created_at = GREATEST(EXCLUDED.latest_created_at, cur.latest_created_at)
	)
	SELECT id FROM r`

	sqlReleaseKey = `SELECT r.id, c.name, c.pos FROM releases r LEFT JOIN components c ON c.release_id = r.id
		WHERE r.product = $1 AND r.version = $2`
	// SOUP entries of one release in one statement: the packages not known
	// yet are added, and each entry is recorded once. The main query does
	// not see the rows added by the WITH (one snapshot), hence the UNION.
	sqlInsertSOUP = `WITH input AS (
		SELECT * FROM unnest($2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int4[])
			AS u(ident, purl, name, version, base, component_pos)
	), added AS (
		INSERT INTO packages (ident, purl, name, version, base)
		SELECT DISTINCT ON (ident) ident, purl, name, version, base FROM input i
		WHERE NOT EXISTS (SELECT FROM packages p WHERE p.ident = i.ident)
		RETURNING id, ident
	), ids AS (
		SELECT id, ident FROM packages WHERE ident IN (SELECT ident FROM input)
		UNION ALL
		SELECT id, ident FROM added
	)
	INSERT INTO soup (package_id, release_id, component_pos)
	SELECT DISTINCT ids.id, $1::int8, input.component_pos FROM input JOIN ids USING (ident)
	ON CONFLICT DO NOTHING`

	sqlInsertLeaf = `WITH leaf AS (INSERT INTO log_leaves (idx, data) VALUES ($1, $2))
		INSERT INTO log_nodes (level, idx, hash) SELECT * FROM unnest($3::int2[], $4::int8[], $5::bytea[])`

	sqlTokenExists = `SELECT EXISTS (SELECT FROM tokens WHERE hash = $1), EXISTS (SELECT FROM tokens WHERE id = $2)`
	sqlInsertToken = `INSERT INTO tokens (id, name, role, hash, created_at) VALUES ($1, $2, $3, $4, $5)`
	sqlRevokeToken = `UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`
	sqlInsertAudit = `INSERT INTO audit (at, actor, action, target, remote, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`
)

// tx implements catalog.Tx on the write connection, holding the writers'
// lock. Each of its write methods is all or nothing: when it refuses a write
// it has written nothing and sent nothing that could fail, and the
// transaction can go on; when a statement fails, PostgreSQL aborts the
// transaction, and so does tx: every later write fails, and Update rolls
// back even if fn returns nil.
type tx struct {
	reader
	ptx pgx.Tx
	// failed is the error of a write that failed.
	failed error
	// releases caches, per product@version, what InsertSOUP needs: rows are
	// never changed once written, so the cache cannot go stale.
	releases map[ref]*releaseKey
	// log is the log as this transaction, the only writer, sees it.
	log sqlcat.LogCache
}

var _ catalog.Tx = (*tx)(nil)

type ref struct{ product, version string }

type releaseKey struct {
	id    int64
	comps map[string]int32 // component name → pos
}

func newTx(ptx pgx.Tx) *tx {
	return &tx{
		reader:   reader{q: ptx},
		ptx:      ptx,
		releases: map[ref]*releaseKey{},
	}
}

// usable returns an error if the transaction can no longer commit: a write
// failed, or any other statement (a read fn ignored the error of) did, and
// PostgreSQL aborted the transaction.
func (t *tx) usable() error {
	if t.failed != nil {
		return fmt.Errorf("an earlier write of this transaction failed: %w", t.failed)
	}
	if t.ptx.Conn().PgConn().TxStatus() == 'E' {
		return errors.New("an earlier statement of this transaction failed, so PostgreSQL aborted it")
	}
	return nil
}

// atomically runs fn, the statements of a write, once everything the write
// can be refused for has been checked. A failure poisons the transaction.
func (t *tx) atomically(fn func() error) error {
	if err := t.usable(); err != nil {
		return err
	}
	if err := fn(); err != nil {
		t.failed = err
		return err
	}
	return nil
}

// releaseRow is a release checked and encoded for insertion.
type releaseRow struct {
	manifest, bundle  []byte
	created, accepted int64
	logIndex          int64
	comps             map[string]int32
	compName          []string
	compVersion       []string
	compKind          []string
	compClass         []string
	artComp           []int32
	artName           []string
	artDigest         [][]byte
	artSize           []int64
	blobs             [][]byte
}

// encodeRelease checks r and encodes it as the insert's arguments.
func encodeRelease(r *catalog.Release) (*releaseRow, error) {
	if r.Product == "" || r.Version == "" {
		return nil, errors.New("product and version are required")
	}
	if err := checkText("release field", r.Product, r.Version, r.SafetyClass, r.Signer); err != nil {
		return nil, err
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
	row.comps = make(map[string]int32, len(r.Components))
	for i, c := range r.Components {
		if c.Name == "" {
			return nil, fmt.Errorf("component %d has no name", i+1)
		}
		if _, dup := row.comps[c.Name]; dup {
			return nil, fmt.Errorf("component %q is listed twice", c.Name)
		}
		if err := checkText(fmt.Sprintf("component %d field", i+1), c.Name, c.Version, c.Kind, c.SafetyClass); err != nil {
			return nil, err
		}
		row.comps[c.Name] = int32(i)
		row.compName = append(row.compName, c.Name)
		row.compVersion = append(row.compVersion, c.Version)
		row.compKind = append(row.compKind, c.Kind)
		row.compClass = append(row.compClass, c.SafetyClass)
	}
	for _, a := range r.Artifacts {
		pos, ok := row.comps[a.Component]
		if !ok {
			return nil, fmt.Errorf("artifact %q belongs to component %q, which the release does not list", a.Name, a.Component)
		}
		if err := checkText("artifact name", a.Name); err != nil {
			return nil, err
		}
		d, err := sqlcat.EncDigest(fmt.Sprintf("digest of artifact %q", a.Name), a.Digest)
		if err != nil {
			return nil, err
		}
		row.artComp = append(row.artComp, pos)
		row.artName = append(row.artName, a.Name)
		row.artDigest = append(row.artDigest, d)
		row.artSize = append(row.artSize, a.Size)
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
// catalog.ErrExists). Two releases cannot share a log index. Product,
// version and every other text must be valid UTF-8 without NUL bytes.
func (t *tx) InsertRelease(ctx context.Context, r *catalog.Release) error {
	row, err := encodeRelease(r)
	if err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	// Race-free because writers are serialised: nobody else can insert
	// between this check and the insert.
	var existing []byte
	var other *string
	if err := t.q.QueryRow(ctx, sqlReleaseConflicts, r.Product, r.Version, row.logIndex).Scan(&existing, &other); err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	if existing != nil {
		d, err := sqlcat.DecDigest(existing)
		if err != nil {
			return fmt.Errorf("insert release %s: existing release: %w", r.Ref(), err)
		}
		return &catalog.ConflictError{Product: r.Product, Version: r.Version, Existing: d}
	}
	if other != nil {
		return fmt.Errorf("insert release %s: log index %d already belongs to %s", r.Ref(), r.LogIndex, *other)
	}

	var id int64
	err = t.atomically(func() error {
		return t.q.QueryRow(ctx, sqlInsertRelease,
			r.Product, r.Version, row.manifest, row.bundle, r.SafetyClass, row.created, row.accepted, r.Signer, row.logIndex,
			nonNil(row.compName), nonNil(row.compVersion), nonNil(row.compKind), nonNil(row.compClass),
			nonNil(row.artComp), nonNil(row.artName), nonNil(row.artDigest), nonNil(row.artSize),
			nonNil(row.blobs),
		).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("insert release %s: %w", r.Ref(), err)
	}
	t.releases[ref{r.Product, r.Version}] = &releaseKey{id: id, comps: row.comps}
	return nil
}

// nonNil returns s, or an empty slice for nil: pgx sends a nil slice as
// NULL, an empty one as an empty array.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// release returns the id and components of product@version.
func (t *tx) release(ctx context.Context, product, version string) (*releaseKey, error) {
	if k, ok := t.releases[ref{product, version}]; ok {
		return k, nil
	}
	name := product + "@" + version
	if !storable(product) || !storable(version) {
		return nil, fmt.Errorf("release %s: %w", name, catalog.ErrNotFound)
	}
	rows, err := t.q.Query(ctx, sqlReleaseKey, product, version)
	if err != nil {
		return nil, fmt.Errorf("release %s: %w", name, err)
	}
	defer rows.Close()
	var k *releaseKey
	for rows.Next() {
		var id int64
		var comp *string
		var pos *int32
		if err := rows.Scan(&id, &comp, &pos); err != nil {
			return nil, fmt.Errorf("release %s: %w", name, err)
		}
		if k == nil {
			k = &releaseKey{id: id, comps: map[string]int32{}}
		}
		if comp != nil && pos != nil {
			k.comps[*comp] = *pos
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("release %s: %w", name, err)
	}
	if k == nil {
		return nil, fmt.Errorf("release %s: %w", name, catalog.ErrNotFound)
	}
	t.releases[ref{product, version}] = k
	return k, nil
}

// InsertSOUP implements catalog.Tx. The release must exist (in the catalog
// or earlier in this transaction; otherwise the error wraps
// catalog.ErrNotFound) and every entry must name one of its components. An
// entry recorded already for the same component of the release is not
// recorded again. Texts must be valid UTF-8 without NUL bytes, and an
// entry's purl base and version together at most 2,048 bytes (they are
// indexed).
func (t *tx) InsertSOUP(ctx context.Context, product, version string, entries []catalog.SOUP) error {
	if len(entries) == 0 {
		return nil
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("insert SOUP of %s@%s: %w", product, version, err)
	}
	k, err := t.release(ctx, product, version)
	if err != nil {
		return fmt.Errorf("insert SOUP: %w", err)
	}
	n := len(entries)
	var (
		ident       = make([][]byte, 0, n)
		purl        = make([]string, 0, n)
		names       = make([]string, 0, n)
		versions    = make([]string, 0, n)
		base        = make([]string, 0, n)
		componentAt = make([]int32, 0, n)
	)
	for _, e := range entries {
		pos, ok := k.comps[e.Component]
		if !ok {
			return fmt.Errorf("insert SOUP of %s@%s: %s %s belongs to component %q, which the release does not list",
				product, version, e.Name, e.Version, e.Component)
		}
		if err := checkText(fmt.Sprintf("SOUP entry %s %s", e.Name, e.Version), e.Name, e.Version, e.PURL, e.Base); err != nil {
			return fmt.Errorf("insert SOUP of %s@%s: %w", product, version, err)
		}
		if len(e.Base)+len(e.Version) > maxIndexedText {
			return fmt.Errorf("insert SOUP of %s@%s: the purl and version of %.64s... are %d bytes, more than the %d the catalog indexes",
				product, version, e.Name, len(e.Base)+len(e.Version), maxIndexedText)
		}
		pkg := catalog.SOUP{Name: e.Name, Version: e.Version, PURL: e.PURL, Base: e.Base}
		ident = append(ident, packageIdent(pkg))
		purl, names, versions, base = append(purl, e.PURL), append(names, e.Name), append(versions, e.Version), append(base, e.Base)
		componentAt = append(componentAt, pos)
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertSOUP, k.id, ident, purl, names, versions, base, componentAt)
		return err
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
	if err := t.usable(); err != nil {
		return fmt.Errorf("log append at %d: %w", index, err)
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
	levels, idxs, hashes := make([]int16, len(nodes)), make([]int64, len(nodes)), make([][]byte, len(nodes))
	for k, n := range nodes {
		levels[k], idxs[k], hashes[k] = int16(n.ID.Level), int64(n.ID.Index), n.Hash
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertLeaf, i, leaf, levels, idxs, hashes)
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "23505" && pe.TableName == "log_nodes" {
			return fmt.Errorf("a node this leaf completes is stored already: %w", err)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("log append at %d: %w", index, err)
	}
	t.log.Appended(index, nodes)
	return nil
}

// LogSize implements tlog.Reader, reading the size once per transaction:
// the transaction holds the writers' lock, so nobody else appends.
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
	if err := checkText("token field", tok.ID, tok.Name, tok.Role); err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	at, err := sqlcat.EncTime("createdAt", tok.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	var sameHash, sameID bool
	if err := t.q.QueryRow(ctx, sqlTokenExists, tok.Hash, tok.ID).Scan(&sameHash, &sameID); err != nil {
		return fmt.Errorf("insert token %s: %w", tok.ID, err)
	}
	switch {
	case sameHash:
		return fmt.Errorf("insert token %s: a token with the same hash: %w", tok.ID, catalog.ErrExists)
	case sameID:
		return fmt.Errorf("insert token %s: a token with the same ID: %w", tok.ID, catalog.ErrExists)
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertToken, tok.ID, tok.Name, tok.Role, tok.Hash, at)
		return err
	})
	if err != nil {
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
	if err := checkText("token ID", id); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	n, err := sqlcat.EncTime("revokedAt", at)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	var rows int64
	err = t.atomically(func() error {
		tag, err := t.q.Exec(ctx, sqlRevokeToken, n, id)
		rows = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", id, err)
	}
	if rows == 0 {
		return fmt.Errorf("revoke token %s: %w", id, catalog.ErrNotFound)
	}
	return nil
}

// AppendAudit implements catalog.Tx.
func (t *tx) AppendAudit(ctx context.Context, e catalog.AuditEvent) error {
	if err := checkText("audit field", e.Actor, e.Action, e.Target, e.Remote, e.Outcome, e.Detail); err != nil {
		return fmt.Errorf("append audit event: %w", err)
	}
	at, err := sqlcat.EncTime("time", e.At)
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertAudit, at, e.Actor, e.Action, e.Target, e.Remote, e.Outcome, e.Detail)
		return err
	})
	if err != nil {
		return fmt.Errorf("append audit event %s: %w", e.Action, err)
	}
	return nil
}
