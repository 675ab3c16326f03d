package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
	"github.com/evident-dev/evident/internal/digest"
)

// The lookups. Each must use an index (the EXPLAIN QUERY PLAN test checks):
// they have to stay fast at a million releases.
const (
	sqlRelease = `SELECT id, product, version, manifest_digest, bundle_digest, safety_class,
		created_at, accepted_at, signer, log_index
		FROM releases WHERE product = ? AND version = ?`
	sqlHistory = `SELECT id, product, version, manifest_digest, bundle_digest, safety_class,
		created_at, accepted_at, signer, log_index
		FROM releases WHERE product = ? ORDER BY created_at DESC, log_index DESC`
	sqlWalk = `SELECT id, product, version, manifest_digest, bundle_digest, safety_class,
		created_at, accepted_at, signer, log_index
		FROM releases WHERE log_index > ? ORDER BY log_index LIMIT ?`
	sqlComponents = `SELECT name, version, kind, safety_class FROM components
		WHERE release_id = ? ORDER BY pos`
	sqlArtifacts = `SELECT c.name, a.name, a.digest, a.size
		FROM artifacts a JOIN components c ON c.release_id = a.release_id AND c.pos = a.component_pos
		WHERE a.release_id = ? ORDER BY a.pos`
	sqlBlobs    = `SELECT digest FROM release_blobs WHERE release_id = ? ORDER BY pos`
	sqlProducts = `SELECT name, releases, latest_version, latest_created_at FROM products ORDER BY name`

	sqlFindArtifact = `SELECT r.product, r.version, c.name, c.version, a.name, a.size
		FROM artifacts a
		JOIN releases r ON r.id = a.release_id
		JOIN components c ON c.release_id = a.release_id AND c.pos = a.component_pos
		WHERE a.digest = ?
		ORDER BY r.log_index, a.pos`
	sqlFindComponent = `SELECT r.product, r.version, c.name, c.version, c.kind, c.safety_class
		FROM components c
		JOIN releases r ON r.id = c.release_id
		WHERE c.name = ? AND c.version = ?
		ORDER BY r.log_index, c.pos`
	sqlFindSOUPBase = `SELECT r.product, r.version, c.name, c.version, p.name, p.version, p.purl
		FROM packages p
		JOIN soup s ON s.package_id = p.id
		JOIN releases r ON r.id = s.release_id
		JOIN components c ON c.release_id = s.release_id AND c.pos = s.component_pos
		WHERE p.base = ?
		ORDER BY r.log_index, c.pos, p.name, p.version, p.purl`
	sqlFindSOUPVersion = `SELECT r.product, r.version, c.name, c.version, p.name, p.version, p.purl
		FROM packages p
		JOIN soup s ON s.package_id = p.id
		JOIN releases r ON r.id = s.release_id
		JOIN components c ON c.release_id = s.release_id AND c.pos = s.component_pos
		WHERE p.base = ? AND p.version = ?
		ORDER BY r.log_index, c.pos, p.name, p.purl`

	sqlLogSize = `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves`
	sqlLogLeaf = `SELECT data FROM log_leaves WHERE idx = ?`
	sqlLogNode = `SELECT hash FROM log_nodes WHERE level = ? AND idx = ?`

	sqlToken       = `SELECT id, name, role, hash, created_at, revoked_at FROM tokens WHERE hash = ?`
	sqlTokens      = `SELECT id, name, role, hash, created_at, revoked_at FROM tokens ORDER BY created_at, seq`
	sqlAuditEvents = `SELECT seq, at, actor, action, target, remote, outcome, detail
		FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`
)

// walkBatch is how many releases WalkReleases reads per query.
const walkBatch = 256

// reader implements catalog.Reader on the read pool, a read transaction or
// the write transaction.
type reader struct {
	st *stmtCache
	// snapshot runs fn on a reader that sees one committed state; nil means
	// this reader already does (it is a transaction).
	snapshot func(ctx context.Context, fn func(r *reader) error) error
}

// scanRelease scans one row of the release queries.
func scanRelease(sc interface{ Scan(...any) error }) (id int64, r catalog.Release, err error) {
	var md, bd []byte
	var created, accepted, index int64
	if err := sc.Scan(&id, &r.Product, &r.Version, &md, &bd, &r.SafetyClass, &created, &accepted, &r.Signer, &index); err != nil {
		return 0, r, err
	}
	if r.ManifestDigest, err = sqlcat.DecDigest(md); err != nil {
		return 0, r, fmt.Errorf("release %s: manifest digest: %w", r.Ref(), err)
	}
	if r.BundleDigest, err = sqlcat.DecDigest(bd); err != nil {
		return 0, r, fmt.Errorf("release %s: bundle digest: %w", r.Ref(), err)
	}
	r.CreatedAt, r.AcceptedAt, r.LogIndex = sqlcat.DecTime(created), sqlcat.DecTime(accepted), uint64(index)
	return id, r, nil
}

// Release implements catalog.Reader.
func (rd *reader) Release(ctx context.Context, product, version string) (*catalog.Release, error) {
	s, err := rd.st.stmt(ctx, sqlRelease)
	if err != nil {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, err)
	}
	id, r, err := scanRelease(s.QueryRowContext(ctx, product, version))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, catalog.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, err)
	}
	if err := rd.loadParts(ctx, id, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// loadParts reads a release's components, artifacts and blobs. A release is
// written in one transaction and never changed, so these reads need not
// share a snapshot with the one that found the release.
func (rd *reader) loadParts(ctx context.Context, id int64, r *catalog.Release) error {
	rows, err := rd.st.query(ctx, sqlComponents, id)
	if err != nil {
		return fmt.Errorf("release %s: components: %w", r.Ref(), err)
	}
	for rows.Next() {
		var c catalog.Component
		if err := rows.Scan(&c.Name, &c.Version, &c.Kind, &c.SafetyClass); err != nil {
			rows.Close()
			return fmt.Errorf("release %s: components: %w", r.Ref(), err)
		}
		r.Components = append(r.Components, c)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("release %s: components: %w", r.Ref(), err)
	}

	if rows, err = rd.st.query(ctx, sqlArtifacts, id); err != nil {
		return fmt.Errorf("release %s: artifacts: %w", r.Ref(), err)
	}
	for rows.Next() {
		var a catalog.Artifact
		var d []byte
		if err := rows.Scan(&a.Component, &a.Name, &d, &a.Size); err != nil {
			rows.Close()
			return fmt.Errorf("release %s: artifacts: %w", r.Ref(), err)
		}
		if a.Digest, err = sqlcat.DecDigest(d); err != nil {
			rows.Close()
			return fmt.Errorf("release %s: artifact %s: %w", r.Ref(), a.Name, err)
		}
		r.Artifacts = append(r.Artifacts, a)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("release %s: artifacts: %w", r.Ref(), err)
	}

	if rows, err = rd.st.query(ctx, sqlBlobs, id); err != nil {
		return fmt.Errorf("release %s: blobs: %w", r.Ref(), err)
	}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return fmt.Errorf("release %s: blobs: %w", r.Ref(), err)
		}
		d, err := sqlcat.DecDigest(b)
		if err != nil {
			rows.Close()
			return fmt.Errorf("release %s: blob: %w", r.Ref(), err)
		}
		r.Blobs = append(r.Blobs, d)
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("release %s: blobs: %w", r.Ref(), err)
	}
	return nil
}

// closeRows closes rows and returns the error that ended the iteration.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	return errors.Join(err, rows.Close())
}

// History implements catalog.Reader. An unknown product has no releases.
func (rd *reader) History(ctx context.Context, product string) ([]catalog.Release, error) {
	rows, err := rd.st.query(ctx, sqlHistory, product)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", product, err)
	}
	defer rows.Close()
	var out []catalog.Release
	for rows.Next() {
		_, r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", product, err)
		}
		out = append(out, r)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("history of %s: %w", product, err)
	}
	return out, nil
}

// Products implements catalog.Reader.
func (rd *reader) Products(ctx context.Context) ([]catalog.Product, error) {
	rows, err := rd.st.query(ctx, sqlProducts)
	if err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	defer rows.Close()
	var out []catalog.Product
	for rows.Next() {
		var p catalog.Product
		var at int64
		if err := rows.Scan(&p.Name, &p.Releases, &p.LatestVersion, &at); err != nil {
			return nil, fmt.Errorf("products: %w", err)
		}
		p.LatestAt = sqlcat.DecTime(at)
		out = append(out, p)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	return out, nil
}

// FindArtifact implements catalog.Reader. Hits are in log order.
func (rd *reader) FindArtifact(ctx context.Context, d digest.Digest) ([]catalog.ArtifactHit, error) {
	b, err := sqlcat.EncDigest("artifact digest", d)
	if err != nil {
		return nil, fmt.Errorf("find artifact: %w", err)
	}
	rows, err := rd.st.query(ctx, sqlFindArtifact, b)
	if err != nil {
		return nil, fmt.Errorf("find artifact %s: %w", d, err)
	}
	defer rows.Close()
	var out []catalog.ArtifactHit
	for rows.Next() {
		var h catalog.ArtifactHit
		if err := rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Name, &h.Size); err != nil {
			return nil, fmt.Errorf("find artifact %s: %w", d, err)
		}
		out = append(out, h)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("find artifact %s: %w", d, err)
	}
	return out, nil
}

// FindComponent implements catalog.Reader. Hits are in log order.
func (rd *reader) FindComponent(ctx context.Context, name, version string) ([]catalog.ComponentHit, error) {
	rows, err := rd.st.query(ctx, sqlFindComponent, name, version)
	if err != nil {
		return nil, fmt.Errorf("find component %s@%s: %w", name, version, err)
	}
	defer rows.Close()
	var out []catalog.ComponentHit
	for rows.Next() {
		var h catalog.ComponentHit
		if err := rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Kind, &h.SafetyClass); err != nil {
			return nil, fmt.Errorf("find component %s@%s: %w", name, version, err)
		}
		out = append(out, h)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("find component %s@%s: %w", name, version, err)
	}
	return out, nil
}

// FindSOUP implements catalog.Reader. Hits are in log order, then component
// order. An empty q.Base is an error: entries without a purl cannot be
// looked up.
func (rd *reader) FindSOUP(ctx context.Context, q catalog.SOUPQuery) ([]catalog.SOUPHit, error) {
	if q.Base == "" {
		return nil, errors.New("find SOUP: the package (purl base) is empty")
	}
	var rows *sql.Rows
	var err error
	if q.Version == "" {
		rows, err = rd.st.query(ctx, sqlFindSOUPBase, q.Base)
	} else {
		rows, err = rd.st.query(ctx, sqlFindSOUPVersion, q.Base, q.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("find SOUP %s: %w", q.Base, err)
	}
	defer rows.Close()
	var out []catalog.SOUPHit
	for rows.Next() {
		var h catalog.SOUPHit
		if err := rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Name, &h.PackageVersion, &h.PURL); err != nil {
			return nil, fmt.Errorf("find SOUP %s: %w", q.Base, err)
		}
		out = append(out, h)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("find SOUP %s: %w", q.Base, err)
	}
	return out, nil
}

// WalkReleases implements catalog.Reader. Outside a transaction the walk
// sees the releases committed when it starts, however long fn takes.
// Releases are read in batches, so memory does not grow with the catalog,
// and no statement is open while fn runs. fn's error is returned as it is.
func (rd *reader) WalkReleases(ctx context.Context, fn func(*catalog.Release) error) error {
	if rd.snapshot != nil {
		return rd.snapshot(ctx, func(r *reader) error { return r.WalkReleases(ctx, fn) })
	}
	after := int64(-1)
	for {
		batch, ids, err := rd.walkBatch(ctx, after)
		if err != nil {
			return err
		}
		for i := range batch {
			if err := rd.loadParts(ctx, ids[i], &batch[i]); err != nil {
				return err
			}
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		if len(batch) < walkBatch {
			return nil
		}
		after = int64(batch[len(batch)-1].LogIndex)
	}
}

func (rd *reader) walkBatch(ctx context.Context, after int64) ([]catalog.Release, []int64, error) {
	rows, err := rd.st.query(ctx, sqlWalk, after, walkBatch)
	if err != nil {
		return nil, nil, fmt.Errorf("walk releases: %w", err)
	}
	defer rows.Close()
	var rs []catalog.Release
	var ids []int64
	for rows.Next() {
		id, r, err := scanRelease(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("walk releases: %w", err)
		}
		rs, ids = append(rs, r), append(ids, id)
	}
	if err := closeRows(rows); err != nil {
		return nil, nil, fmt.Errorf("walk releases: %w", err)
	}
	return rs, ids, nil
}

// LogSize implements tlog.Reader.
func (rd *reader) LogSize(ctx context.Context) (uint64, error) {
	var n int64
	if err := rd.st.scanOne(ctx, sqlLogSize, nil, &n); err != nil {
		return 0, fmt.Errorf("log size: %w", err)
	}
	return uint64(n), nil
}

// LogLeaf implements tlog.Reader. A missing leaf is an error wrapping both
// catalog.ErrNotFound and tlog.ErrNotFound.
func (rd *reader) LogLeaf(ctx context.Context, index uint64) ([]byte, error) {
	i, err := sqlcat.EncIndex("log leaf", index)
	if err != nil {
		return nil, sqlcat.LogNotFound(fmt.Sprintf("log leaf %d", index))
	}
	var data []byte
	err = rd.st.scanOne(ctx, sqlLogLeaf, []any{i}, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlcat.LogNotFound(fmt.Sprintf("log leaf %d", index))
	}
	if err != nil {
		return nil, fmt.Errorf("log leaf %d: %w", index, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// LogNodes implements tlog.Reader. A missing node is an error wrapping both
// catalog.ErrNotFound and tlog.ErrNotFound.
func (rd *reader) LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		idx, err := sqlcat.EncIndex("log node index", id.Index)
		if err != nil || id.Level > 63 {
			return nil, sqlcat.LogNotFound(fmt.Sprintf("log node (level %d, index %d)", id.Level, id.Index))
		}
		err = rd.st.scanOne(ctx, sqlLogNode, []any{int64(id.Level), idx}, &out[i])
		if errors.Is(err, sql.ErrNoRows) {
			return nil, sqlcat.LogNotFound(fmt.Sprintf("log node (level %d, index %d)", id.Level, id.Index))
		}
		if err != nil {
			return nil, fmt.Errorf("log node (level %d, index %d): %w", id.Level, id.Index, err)
		}
	}
	return out, nil
}

// Token implements catalog.Reader.
func (rd *reader) Token(ctx context.Context, hash []byte) (*catalog.Token, error) {
	if len(hash) == 0 {
		return nil, fmt.Errorf("token: empty hash: %w", catalog.ErrNotFound)
	}
	var t catalog.Token
	var at int64
	var revoked sql.NullInt64
	err := rd.st.scanOne(ctx, sqlToken, []any{hash}, &t.ID, &t.Name, &t.Role, &t.Hash, &at, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", catalog.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	t.CreatedAt = sqlcat.DecTime(at)
	if revoked.Valid {
		t.RevokedAt = sqlcat.DecTime(revoked.Int64)
	}
	return &t, nil
}

// Tokens implements catalog.Reader.
func (rd *reader) Tokens(ctx context.Context) ([]catalog.Token, error) {
	rows, err := rd.st.query(ctx, sqlTokens)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	var out []catalog.Token
	for rows.Next() {
		var t catalog.Token
		var at int64
		var revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &at, &revoked); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		t.CreatedAt = sqlcat.DecTime(at)
		if revoked.Valid {
			t.RevokedAt = sqlcat.DecTime(revoked.Int64)
		}
		out = append(out, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// AuditEvents implements catalog.Reader. limit <= 0 returns no events.
func (rd *reader) AuditEvents(ctx context.Context, after int64, limit int) ([]catalog.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := rd.st.query(ctx, sqlAuditEvents, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	var out []catalog.AuditEvent
	for rows.Next() {
		var e catalog.AuditEvent
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Remote, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		e.At = sqlcat.DecTime(at)
		out = append(out, e)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return out, nil
}
