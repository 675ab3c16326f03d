package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
	"github.com/evident-dev/evident/internal/digest"
)

// The lookups. Each must use an index (the EXPLAIN test checks): they have
// to stay fast at a million releases.
const (
	sqlReleaseColumns = `id, product, version, manifest_digest, bundle_digest, safety_class,
		created_at, accepted_at, signer, log_index`
	sqlRelease = `SELECT ` + sqlReleaseColumns + ` FROM releases WHERE product = $1 AND version = $2`
	sqlHistory = `SELECT ` + sqlReleaseColumns + ` FROM releases WHERE product = $1
		ORDER BY created_at DESC, log_index DESC`
	// The newest release when a walk begins: writers are serialised, so
	// every release committed later has a larger id.
	sqlWalkLast = `SELECT COALESCE(MAX(id), 0) FROM releases`
	sqlWalk     = `SELECT ` + sqlReleaseColumns + ` FROM releases WHERE log_index > $1 AND id <= $2
		ORDER BY log_index LIMIT $3`
	// The parts of a batch of releases, in release then manifest order.
	sqlComponents = `SELECT release_id, name, version, kind, safety_class FROM components
		WHERE release_id = ANY($1::int8[]) ORDER BY release_id, pos`
	sqlArtifacts = `SELECT a.release_id, c.name, a.name, a.digest, a.size
		FROM artifacts a JOIN components c ON c.release_id = a.release_id AND c.pos = a.component_pos
		WHERE a.release_id = ANY($1::int8[]) ORDER BY a.release_id, a.pos`
	sqlBlobs    = `SELECT release_id, digest FROM release_blobs WHERE release_id = ANY($1::int8[]) ORDER BY release_id, pos`
	sqlProducts = `SELECT name, releases, latest_version, latest_created_at FROM products ORDER BY name`

	sqlFindArtifact = `SELECT r.product, r.version, c.name, c.version, a.name, a.size
		FROM artifacts a
		JOIN releases r ON r.id = a.release_id
		JOIN components c ON c.release_id = a.release_id AND c.pos = a.component_pos
		WHERE a.digest = $1
		ORDER BY r.log_index, a.pos`
	sqlFindComponent = `SELECT r.product, r.version, c.name, c.version, c.kind, c.safety_class
		FROM components c
		JOIN releases r ON r.id = c.release_id
		WHERE c.name = $1 AND c.version = $2
		ORDER BY r.log_index, c.pos`
	sqlFindSOUPBase = `SELECT r.product, r.version, c.name, c.version, p.name, p.version, p.purl
		FROM packages p
		JOIN soup s ON s.package_id = p.id
		JOIN releases r ON r.id = s.release_id
		JOIN components c ON c.release_id = s.release_id AND c.pos = s.component_pos
		WHERE p.base = $1
		ORDER BY r.log_index, c.pos, p.name, p.version, p.purl`
	sqlFindSOUPVersion = `SELECT r.product, r.version, c.name, c.version, p.name, p.version, p.purl
		FROM packages p
		JOIN soup s ON s.package_id = p.id
		JOIN releases r ON r.id = s.release_id
		JOIN components c ON c.release_id = s.release_id AND c.pos = s.component_pos
		WHERE p.base = $1 AND p.version = $2
		ORDER BY r.log_index, c.pos, p.name, p.purl`

	sqlLogSize = `SELECT COALESCE(MAX(idx) + 1, 0) FROM log_leaves`
	sqlLogLeaf = `SELECT data FROM log_leaves WHERE idx = $1`
	// The nodes asked for, in the order asked, NULL for one not stored.
	sqlLogNodes = `SELECT n.hash FROM unnest($1::int2[], $2::int8[]) WITH ORDINALITY AS q(level, idx, ord)
		LEFT JOIN log_nodes n ON n.level = q.level AND n.idx = q.idx
		ORDER BY q.ord`

	sqlToken       = `SELECT id, name, role, hash, created_at, revoked_at FROM tokens WHERE hash = $1`
	sqlTokens      = `SELECT id, name, role, hash, created_at, revoked_at FROM tokens ORDER BY created_at, seq`
	sqlAuditEvents = `SELECT seq, at, actor, action, target, remote, outcome, detail
		FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2`
)

// walkBatch is how many releases WalkReleases reads per query.
const walkBatch = 256

// querier is what reads run on: the read pool, or the write transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// reader implements catalog.Reader on the read pool or the write
// transaction.
type reader struct {
	q querier
}

// scanRelease scans one row of the release queries.
func scanRelease(sc pgx.Row) (id int64, r catalog.Release, err error) {
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
	if !storable(product) || !storable(version) {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, catalog.ErrNotFound)
	}
	id, r, err := scanRelease(rd.q.QueryRow(ctx, sqlRelease, product, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, catalog.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("release %s@%s: %w", product, version, err)
	}
	rs := []catalog.Release{r}
	if err := rd.loadParts(ctx, rs, []int64{id}); err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// loadParts reads the components, artifacts and blobs of rs, whose ids are
// ids, in one round trip. A release is written in one transaction and never
// changed, so these reads need not share a snapshot with the one that found
// the releases.
func (rd *reader) loadParts(ctx context.Context, rs []catalog.Release, ids []int64) error {
	if len(rs) == 0 {
		return nil
	}
	at := make(map[int64]*catalog.Release, len(ids))
	for i, id := range ids {
		at[id] = &rs[i]
	}
	// release returns the release of a part's row.
	release := func(id int64) (*catalog.Release, error) {
		r, ok := at[id]
		if !ok {
			return nil, fmt.Errorf("a part of release id %d, which was not asked for", id)
		}
		return r, nil
	}
	var b pgx.Batch
	b.Queue(sqlComponents, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			var c catalog.Component
			if err := rows.Scan(&id, &c.Name, &c.Version, &c.Kind, &c.SafetyClass); err != nil {
				return fmt.Errorf("components: %w", err)
			}
			r, err := release(id)
			if err != nil {
				return err
			}
			r.Components = append(r.Components, c)
		}
		return nil
	})
	b.Queue(sqlArtifacts, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			var a catalog.Artifact
			var d []byte
			if err := rows.Scan(&id, &a.Component, &a.Name, &d, &a.Size); err != nil {
				return fmt.Errorf("artifacts: %w", err)
			}
			r, err := release(id)
			if err != nil {
				return err
			}
			if a.Digest, err = sqlcat.DecDigest(d); err != nil {
				return fmt.Errorf("release %s: artifact %s: %w", r.Ref(), a.Name, err)
			}
			r.Artifacts = append(r.Artifacts, a)
		}
		return nil
	})
	b.Queue(sqlBlobs, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id int64
			var raw []byte
			if err := rows.Scan(&id, &raw); err != nil {
				return fmt.Errorf("blobs: %w", err)
			}
			r, err := release(id)
			if err != nil {
				return err
			}
			d, err := sqlcat.DecDigest(raw)
			if err != nil {
				return fmt.Errorf("release %s: blob: %w", r.Ref(), err)
			}
			r.Blobs = append(r.Blobs, d)
		}
		return nil
	})
	if err := rd.q.SendBatch(ctx, &b).Close(); err != nil {
		if len(rs) == 1 {
			return fmt.Errorf("release %s: %w", rs[0].Ref(), err)
		}
		return fmt.Errorf("releases %s to %s: %w", rs[0].Ref(), rs[len(rs)-1].Ref(), err)
	}
	return nil
}

// History implements catalog.Reader. An unknown product has no releases.
func (rd *reader) History(ctx context.Context, product string) ([]catalog.Release, error) {
	if !storable(product) {
		return nil, nil
	}
	rows, err := rd.q.Query(ctx, sqlHistory, product)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("history of %s: %w", product, err)
	}
	return out, nil
}

// Products implements catalog.Reader.
func (rd *reader) Products(ctx context.Context) ([]catalog.Product, error) {
	rows, err := rd.q.Query(ctx, sqlProducts)
	if err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	defer rows.Close()
	var out []catalog.Product
	for rows.Next() {
		var p catalog.Product
		var n, at int64
		if err := rows.Scan(&p.Name, &n, &p.LatestVersion, &at); err != nil {
			return nil, fmt.Errorf("products: %w", err)
		}
		p.Releases, p.LatestAt = int(n), sqlcat.DecTime(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("products: %w", err)
	}
	return out, nil
}

// collect runs query and scans each row with scan.
func collect[T any](ctx context.Context, q querier, query string, args []any, scan func(pgx.Rows, *T) error) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := scan(rows, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// FindArtifact implements catalog.Reader. Hits are in log order.
func (rd *reader) FindArtifact(ctx context.Context, d digest.Digest) ([]catalog.ArtifactHit, error) {
	b, err := sqlcat.EncDigest("artifact digest", d)
	if err != nil {
		return nil, fmt.Errorf("find artifact: %w", err)
	}
	out, err := collect(ctx, rd.q, sqlFindArtifact, []any{b}, func(rows pgx.Rows, h *catalog.ArtifactHit) error {
		return rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Name, &h.Size)
	})
	if err != nil {
		return nil, fmt.Errorf("find artifact %s: %w", d, err)
	}
	return out, nil
}

// FindComponent implements catalog.Reader. Hits are in log order.
func (rd *reader) FindComponent(ctx context.Context, name, version string) ([]catalog.ComponentHit, error) {
	if !storable(name) || !storable(version) {
		return nil, nil
	}
	out, err := collect(ctx, rd.q, sqlFindComponent, []any{name, version}, func(rows pgx.Rows, h *catalog.ComponentHit) error {
		return rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Kind, &h.SafetyClass)
	})
	if err != nil {
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
	if !storable(q.Base) || !storable(q.Version) {
		return nil, nil
	}
	query, args := sqlFindSOUPBase, []any{q.Base}
	if q.Version != "" {
		query, args = sqlFindSOUPVersion, []any{q.Base, q.Version}
	}
	out, err := collect(ctx, rd.q, query, args, func(rows pgx.Rows, h *catalog.SOUPHit) error {
		return rows.Scan(&h.Product, &h.Version, &h.Component, &h.ComponentVersion, &h.Name, &h.PackageVersion, &h.PURL)
	})
	if err != nil {
		return nil, fmt.Errorf("find SOUP %s: %w", q.Base, err)
	}
	return out, nil
}

// WalkReleases implements catalog.Reader. Outside a transaction the walk
// sees the releases committed when it starts, however long fn takes.
// Releases are read in batches, so memory does not grow with the catalog,
// and nothing is held open on the server while fn runs (no cursor, no
// snapshot, no connection). fn's error is returned as it is.
func (rd *reader) WalkReleases(ctx context.Context, fn func(*catalog.Release) error) error {
	var last int64
	if err := rd.q.QueryRow(ctx, sqlWalkLast).Scan(&last); err != nil {
		return fmt.Errorf("walk releases: %w", err)
	}
	after := int64(-1)
	for {
		batch, ids, err := rd.walkBatch(ctx, after, last)
		if err != nil {
			return err
		}
		if err := rd.loadParts(ctx, batch, ids); err != nil {
			return fmt.Errorf("walk releases: %w", err)
		}
		for i := range batch {
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

func (rd *reader) walkBatch(ctx context.Context, after, last int64) ([]catalog.Release, []int64, error) {
	rows, err := rd.q.Query(ctx, sqlWalk, after, last, walkBatch)
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
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("walk releases: %w", err)
	}
	return rs, ids, nil
}

// LogSize implements tlog.Reader.
func (rd *reader) LogSize(ctx context.Context) (uint64, error) {
	var n int64
	if err := rd.q.QueryRow(ctx, sqlLogSize).Scan(&n); err != nil {
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
	err = rd.q.QueryRow(ctx, sqlLogLeaf, i).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
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

// LogNodes implements tlog.Reader, in one query however many nodes are
// asked for. A missing node is an error wrapping both catalog.ErrNotFound
// and tlog.ErrNotFound.
func (rd *reader) LogNodes(ctx context.Context, ids []compact.NodeID) ([][]byte, error) {
	if len(ids) == 0 {
		return [][]byte{}, nil
	}
	levels, idxs := make([]int16, len(ids)), make([]int64, len(ids))
	for i, id := range ids {
		idx, err := sqlcat.EncIndex("log node index", id.Index)
		if err != nil || id.Level > 63 {
			return nil, sqlcat.LogNotFound(fmt.Sprintf("log node (level %d, index %d)", id.Level, id.Index))
		}
		levels[i], idxs[i] = int16(id.Level), idx
	}
	out, err := collect(ctx, rd.q, sqlLogNodes, []any{levels, idxs}, func(rows pgx.Rows, h *[]byte) error {
		return rows.Scan(h)
	})
	if err != nil {
		return nil, fmt.Errorf("log nodes: %w", err)
	}
	if len(out) != len(ids) {
		return nil, fmt.Errorf("log nodes: %d asked for, %d returned", len(ids), len(out))
	}
	for i, h := range out {
		if h == nil {
			return nil, sqlcat.LogNotFound(fmt.Sprintf("log node (level %d, index %d)", ids[i].Level, ids[i].Index))
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
	var revoked *int64
	err := rd.q.QueryRow(ctx, sqlToken, hash).Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &at, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("token: %w", catalog.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	t.CreatedAt = sqlcat.DecTime(at)
	if revoked != nil {
		t.RevokedAt = sqlcat.DecTime(*revoked)
	}
	return &t, nil
}

// Tokens implements catalog.Reader.
func (rd *reader) Tokens(ctx context.Context) ([]catalog.Token, error) {
	out, err := collect(ctx, rd.q, sqlTokens, nil, func(rows pgx.Rows, t *catalog.Token) error {
		var at int64
		var revoked *int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &t.Hash, &at, &revoked); err != nil {
			return err
		}
		t.CreatedAt = sqlcat.DecTime(at)
		if revoked != nil {
			t.RevokedAt = sqlcat.DecTime(*revoked)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return out, nil
}

// AuditEvents implements catalog.Reader. limit <= 0 returns no events.
func (rd *reader) AuditEvents(ctx context.Context, after int64, limit int) ([]catalog.AuditEvent, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := collect(ctx, rd.q, sqlAuditEvents, []any{after, int64(limit)}, func(rows pgx.Rows, e *catalog.AuditEvent) error {
		var at int64
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Remote, &e.Outcome, &e.Detail); err != nil {
			return err
		}
		e.At = sqlcat.DecTime(at)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return out, nil
}
