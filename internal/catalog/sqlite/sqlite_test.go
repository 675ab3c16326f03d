package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// openTemp opens a new catalog in a file of a fresh temporary directory.
func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db, path
}

func TestConformance(t *testing.T) {
	catalogtest.Run(t, func(t *testing.T) catalog.Catalog {
		db, _ := openTemp(t)
		return db
	})
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.Load(ctx, db, 10, 1); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Twice more: migrations run once, and the data is still there.
	for range 2 {
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		var versions []int
		rows, err := db.read.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			versions = append(versions, v)
		}
		rows.Close()
		ms, err := sqlcat.Migrations(migrationFS)
		if err != nil {
			t.Fatal(err)
		}
		var want []int
		for _, m := range ms {
			want = append(want, m.Version)
		}
		if diff := cmp.Diff(want, versions); diff != "" {
			t.Errorf("schema_migrations (-want +got):\n%s", diff)
		}
		if n, err := db.LogSize(ctx); err != nil || n != 10 {
			t.Errorf("LogSize after reopening = %d, %v; want 10", n, err)
		}
		if _, err := db.Release(ctx, catalogtest.LoadProduct(3), "1.3"); err != nil {
			t.Errorf("Release after reopening: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	ctx := t.Context()
	db, path := openTemp(t)
	if _, err := db.write.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, path)
	if err == nil {
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	for _, want := range []string{path, "schema is version 999", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The refusal changed nothing: the known migrations and the future one.
	known, err := sqlcat.Migrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(known)+1 {
		t.Errorf("schema_migrations has %d rows, %v; want %d", n, err, len(known)+1)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "no", "such", "dir", "catalog.db"), "open catalog"},
		{"question mark", filepath.Join(dir, "what?.db"), "must not contain '?'"},
		{"a directory", dir, "open catalog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(t.Context(), tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", tt.path)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) = %v, want an error containing %q", tt.path, err, tt.want)
			}
		})
	}
}

// TestPragmas reads back, on the write connection and on read connections,
// the settings durability and integrity depend on.
func TestPragmas(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	pools := []struct {
		name      string
		db        *sql.DB
		queryOnly int
	}{
		{"write", db.write, 0},
		{"read", db.read, 1},
	}
	for _, p := range pools {
		t.Run(p.name, func(t *testing.T) {
			conn, err := p.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			tests := []struct {
				pragma string
				want   string
			}{
				{"journal_mode", "wal"},
				{"synchronous", "2"}, // FULL
				{"foreign_keys", "1"},
				{"busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
				{"query_only", fmt.Sprint(p.queryOnly)},
			}
			for _, tt := range tests {
				var got string
				if err := conn.QueryRowContext(ctx, "PRAGMA "+tt.pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
				}
			}
		})
	}
	// A read connection cannot write.
	if _, err := db.read.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, remote, outcome, detail) VALUES (0, '', '', '', '', '', '')`); err == nil {
		t.Error("a write through the read pool succeeded")
	}
}

// TestBeginImmediate checks that an Update takes the write lock when it
// begins, so that it cannot fail half way because another process wrote
// first: while it is open, another connection cannot start writing.
func TestBeginImmediate(t *testing.T) {
	db, path := openTemp(t)
	ctx := t.Context()
	other, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	err = db.Update(ctx, func(tx catalog.Tx) error {
		// fn has written nothing yet.
		_, err := other.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, remote, outcome, detail) VALUES (0, '', '', '', '', '', '')`)
		if err == nil {
			t.Error("another connection wrote while an Update was open")
		} else if !strings.Contains(err.Error(), "locked") && !strings.Contains(err.Error(), "busy") {
			t.Errorf("another connection's write failed with %v, want database is locked", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueryPlans asserts that every lookup uses an index, both on a fresh
// catalog and after PRAGMA optimize has gathered statistics (Close runs it).
func TestQueryPlans(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.Load(ctx, db, 300, 1); err != nil {
		t.Fatal(err)
	}
	d := catalogtest.LoadArtifact(1, 5, 0).Bytes()
	base := catalogtest.LoadPackage(7)
	tests := []struct {
		name  string
		query string
		args  []any
		want  []string // in the plan, e.g. "SEARCH a USING INDEX artifacts_digest (digest=?)"
	}{
		{"Release", sqlRelease, []any{"p", "v"}, []string{"SEARCH releases USING INDEX sqlite_autoindex_releases_1 (product=? AND version=?)"}},
		{"History", sqlHistory, []any{"p"}, []string{"SEARCH releases USING INDEX releases_product_created (product=?)"}},
		{"WalkReleases", sqlWalk, []any{-1, 10}, []string{"SEARCH releases USING INDEX sqlite_autoindex_releases_2 (log_index>?)"}},
		{"Components", sqlComponents, []any{1}, []string{"SEARCH components USING PRIMARY KEY (release_id=?)"}},
		{"Artifacts", sqlArtifacts, []any{1}, []string{"SEARCH a USING PRIMARY KEY (release_id=?)", "SEARCH c USING PRIMARY KEY (release_id=? AND pos=?)"}},
		{"Blobs", sqlBlobs, []any{1}, []string{"SEARCH release_blobs USING PRIMARY KEY (release_id=?)"}},
		{"FindArtifact", sqlFindArtifact, []any{d}, []string{
			"SEARCH a USING INDEX artifacts_digest (digest=?)",
			"SEARCH r USING INTEGER PRIMARY KEY (rowid=?)",
			"SEARCH c USING PRIMARY KEY (release_id=? AND pos=?)",
		}},
		{"FindComponent", sqlFindComponent, []any{"firmware", "1.0.0"}, []string{
			"SEARCH c USING INDEX components_name_version (name=? AND version=?)",
			"SEARCH r USING INTEGER PRIMARY KEY (rowid=?)",
		}},
		{"FindSOUP base", sqlFindSOUPBase, []any{base}, []string{
			"SEARCH p USING INDEX packages_base_version (base=?)",
			"SEARCH s USING PRIMARY KEY (package_id=?)",
			"SEARCH r USING INTEGER PRIMARY KEY (rowid=?)",
			"SEARCH c USING PRIMARY KEY (release_id=? AND pos=?)",
		}},
		{"FindSOUP version", sqlFindSOUPVersion, []any{base, "1.0.0"}, []string{
			"SEARCH p USING INDEX packages_base_version (base=? AND version=?)",
			"SEARCH s USING PRIMARY KEY (package_id=?)",
		}},
		{"Products", sqlProducts, nil, []string{"SCAN products"}}, // a row per product, by primary key: no sort
		{"LogSize", sqlLogSize, nil, []string{"SEARCH log_leaves"}},
		{"LogLeaf", sqlLogLeaf, []any{1}, []string{"SEARCH log_leaves USING INTEGER PRIMARY KEY (rowid=?)"}},
		{"LogNode", sqlLogNode, []any{0, 1}, []string{"SEARCH log_nodes USING PRIMARY KEY (level=? AND idx=?)"}},
		{"Token", sqlToken, []any{[]byte("h")}, []string{"SEARCH tokens USING INDEX sqlite_autoindex_tokens_2 (hash=?)"}},
		{"AuditEvents", sqlAuditEvents, []any{0, 10}, []string{"SEARCH audit USING INTEGER PRIMARY KEY (rowid>?)"}},
		{"ReleaseID", sqlReleaseID, []any{"p", "v"}, []string{"SEARCH releases USING COVERING INDEX sqlite_autoindex_releases_1 (product=? AND version=?)"}},
		{"PackageID", sqlPackageID, []any{"", "", "", ""}, []string{"SEARCH packages USING COVERING INDEX sqlite_autoindex_packages_1 (purl=? AND name=? AND version=? AND base=?)"}},
		{"ProductLatest", sqlProductLatest, []any{"p"}, []string{"SEARCH products USING PRIMARY KEY (name=?)"}},
	}
	check := func(t *testing.T, db *DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				plan := explain(t, db, tt.query, tt.args...)
				for _, w := range tt.want {
					if !strings.Contains(plan, w) {
						t.Errorf("plan of %s lacks %q:\n%s", tt.name, w, plan)
					}
				}
				for _, line := range strings.Split(plan, "\n") {
					// A full scan is acceptable only for products (one row
					// per product) and the empty-bodied LogSize MAX().
					if strings.Contains(line, "SCAN ") && tt.name != "Products" {
						t.Errorf("plan of %s scans a table:\n%s", tt.name, plan)
					}
					if strings.Contains(line, "USE TEMP B-TREE") && tt.name != "FindSOUP base" && tt.name != "FindSOUP version" &&
						tt.name != "FindArtifact" && tt.name != "FindComponent" {
						t.Errorf("plan of %s sorts:\n%s", tt.name, plan)
					}
				}
			})
		}
	}
	t.Run("fresh", func(t *testing.T) { check(t, db) })
	if err := db.Close(); err != nil { // runs PRAGMA optimize
		t.Fatal(err)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stats int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_stat1`).Scan(&stats); err != nil {
		t.Logf("no statistics: %v", err)
	}
	t.Run(fmt.Sprintf("optimized, %d stats", stats), func(t *testing.T) { check(t, db) })
}

// explain returns the detail column of EXPLAIN QUERY PLAN, one step a line.
func explain(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestInsertReleaseRejects checks what the catalog refuses to record, and
// that a refused release leaves nothing behind.
func TestInsertReleaseRejects(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	valid := func() *catalog.Release {
		d := digest.FromBytes([]byte("x"))
		return &catalog.Release{
			Product: "pump", Version: "1.0", ManifestDigest: d, BundleDigest: d, CreatedAt: time.Now(), LogIndex: 5,
			Components: []catalog.Component{{Name: "fw", Version: "1"}},
			Artifacts:  []catalog.Artifact{{Component: "fw", Name: "fw.bin", Digest: d}},
			Blobs:      []digest.Digest{d},
		}
	}
	if err := db.Update(ctx, func(tx catalog.Tx) error {
		r := valid()
		r.Product, r.LogIndex = "existing", 1
		return tx.InsertRelease(ctx, r)
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(r *catalog.Release)
		want   string
	}{
		{"no product", func(r *catalog.Release) { r.Product = "" }, "product and version are required"},
		{"no version", func(r *catalog.Release) { r.Version = "" }, "product and version are required"},
		{"no manifest digest", func(r *catalog.Release) { r.ManifestDigest = digest.Digest{} }, "manifest digest is empty"},
		{"no bundle digest", func(r *catalog.Release) { r.BundleDigest = digest.Digest{} }, "bundle digest is empty"},
		{"time out of range", func(r *catalog.Release) { r.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) }, "createdAt 3000-01-01T00:00:00Z is outside the range"},
		{"log index too large", func(r *catalog.Release) { r.LogIndex = math.MaxInt64 + 1 }, "log index 9223372036854775808 is beyond"},
		{"log index taken", func(r *catalog.Release) { r.LogIndex = 1 }, "log index 1 already belongs to existing@1.0"},
		{"unnamed component", func(r *catalog.Release) { r.Components[0].Name = "" }, "component 1 has no name"},
		{"component twice", func(r *catalog.Release) { r.Components = append(r.Components, r.Components[0]) }, `component "fw" is listed twice`},
		{"artifact of no component", func(r *catalog.Release) { r.Artifacts[0].Component = "ui" }, `artifact "fw.bin" belongs to component "ui", which the release does not list`},
		{"artifact without digest", func(r *catalog.Release) { r.Artifacts[0].Digest = digest.Digest{} }, `digest of artifact "fw.bin" is empty`},
		{"blob without digest", func(r *catalog.Release) { r.Blobs = append(r.Blobs, digest.Digest{}) }, "blob 2 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.mutate(r)
			err := db.Update(ctx, func(tx catalog.Tx) error {
				err := tx.InsertRelease(ctx, r)
				if err == nil {
					return errors.New("InsertRelease succeeded")
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("InsertRelease: %v, want an error containing %q", err, tt.want)
				}
				return nil // commit whatever it left behind
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := count(t, db, "releases"); n != 1 {
				t.Errorf("%d releases after the refusal, want 1", n)
			}
			if n := count(t, db, "components"); n != 1 {
				t.Errorf("%d components after the refusal, want 1", n)
			}
		})
	}
}

func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSOUPRules covers what the contract leaves to the implementation:
// identical entries are recorded once, an entry must name a component of
// the release, an empty query is an error.
func TestSOUPRules(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	d := digest.FromBytes([]byte("x"))
	r := &catalog.Release{
		Product: "pump", Version: "1.0", ManifestDigest: d, BundleDigest: d,
		Components: []catalog.Component{{Name: "fw", Version: "1"}, {Name: "ui", Version: "2"}},
	}
	zlib := catalog.SOUP{Component: "fw", Name: "zlib", Version: "1.3.1", PURL: "pkg:generic/zlib@1.3.1", Base: "pkg:generic/zlib"}
	inUI := zlib
	inUI.Component = "ui"
	err := db.Update(ctx, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, r); err != nil {
			return err
		}
		if err := tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{zlib, zlib, inUI}); err != nil {
			return err
		}
		if err := tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{zlib}); err != nil {
			return err
		}
		bad := zlib
		bad.Component = "bootloader"
		err := tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{inUI, bad})
		if err == nil || !strings.Contains(err.Error(), `belongs to component "bootloader", which the release does not list`) {
			t.Errorf("InsertSOUP naming an unknown component: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := db.FindSOUP(ctx, catalog.SOUPQuery{Base: "pkg:generic/zlib"})
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.SOUPHit{
		{Product: "pump", Version: "1.0", Component: "fw", ComponentVersion: "1", Name: "zlib", PackageVersion: "1.3.1", PURL: zlib.PURL},
		{Product: "pump", Version: "1.0", Component: "ui", ComponentVersion: "2", Name: "zlib", PackageVersion: "1.3.1", PURL: zlib.PURL},
	}
	if diff := cmp.Diff(want, hits); diff != "" {
		t.Errorf("FindSOUP, in component order (-want +got):\n%s", diff)
	}
	if n := count(t, db, "packages"); n != 1 {
		t.Errorf("%d packages, want 1", n)
	}
	if _, err := db.FindSOUP(ctx, catalog.SOUPQuery{}); err == nil {
		t.Error("FindSOUP with an empty base succeeded")
	}
}

// TestTimes covers the time encoding: exact to the nanosecond, UTC, the zero
// time kept as zero, and out-of-range times refused.
func TestTimes(t *testing.T) {
	tests := []struct {
		name    string
		in      time.Time
		wantErr bool
	}{
		{"nanoseconds", time.Date(2025, 1, 2, 3, 4, 5, 999999999, time.FixedZone("X", -7*3600)), false},
		{"zero", time.Time{}, false},
		{"epoch", time.Unix(0, 0), false},
		{"before the epoch", time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC), false},
		{"earliest", sqlcat.MinTime, false},
		{"latest", sqlcat.MaxTime, false},
		{"too early", sqlcat.MinTime.Add(-time.Nanosecond), true},
		{"too late", sqlcat.MaxTime.Add(time.Nanosecond), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := sqlcat.EncTime("t", tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("sqlcat.EncTime(%v) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			got := sqlcat.DecTime(n)
			if !got.Equal(tt.in) || got.IsZero() != tt.in.IsZero() {
				t.Errorf("sqlcat.DecTime(sqlcat.EncTime(%v)) = %v", tt.in, got)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("decTime gave %v, want UTC", got.Location())
			}
		})
	}

	// The zero time sorts first, as in Go, and round-trips through a token.
	db, _ := openTemp(t)
	ctx := t.Context()
	tokens := []catalog.Token{
		{ID: "a", Role: "ci", Hash: []byte("a"), CreatedAt: time.Unix(0, 0)},
		{ID: "b", Role: "ci", Hash: []byte("b")},
	}
	if err := db.Update(ctx, func(tx catalog.Tx) error {
		for _, tok := range tokens {
			if err := tx.InsertToken(ctx, tok); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.Token{tokens[1], tokens[0]}, got); diff != "" {
		t.Errorf("Tokens (-want +got):\n%s", diff)
	}
}

func TestInsertTokenRejects(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	ok := catalog.Token{ID: "t1", Name: "n", Role: "admin", Hash: []byte("h1"), CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx catalog.Tx) error { return tx.InsertToken(ctx, ok) }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tok    catalog.Token
		want   string
		exists bool
	}{
		{"no ID", catalog.Token{Role: "ci", Hash: []byte("h2")}, "the ID is empty", false},
		{"no hash", catalog.Token{ID: "t2", Role: "ci"}, "the hash is empty", false},
		{"no role", catalog.Token{ID: "t2", Hash: []byte("h2")}, "the role is empty", false},
		{"same ID", catalog.Token{ID: "t1", Role: "ci", Hash: []byte("h2")}, "a token with the same ID", true},
		{"same hash", catalog.Token{ID: "t2", Role: "ci", Hash: []byte("h1")}, "a token with the same hash", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := db.Update(ctx, func(tx catalog.Tx) error { return tx.InsertToken(ctx, tt.tok) })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("InsertToken: %v, want an error containing %q", err, tt.want)
			}
			if errors.Is(err, catalog.ErrExists) != tt.exists {
				t.Errorf("InsertToken: %v; wraps ErrExists: %v, want %v", err, !tt.exists, tt.exists)
			}
		})
	}
}

// TestWriteFailsHalfWay checks that a LogAppend failing after the leaf was
// written (here: a node already stored, which only a corrupt store can
// have) cannot be committed, even when fn ignores the error.
func TestWriteFailsHalfWay(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	if _, err := db.write.ExecContext(ctx, `INSERT INTO log_nodes (level, idx, hash) VALUES (0, 0, x'00')`); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx catalog.Tx) error {
		_, err := tlog.Append(ctx, tx, []byte("leaf"))
		if err == nil || !strings.Contains(err.Error(), "a node this leaf completes is stored already") {
			t.Errorf("Append over a stored node: %v", err)
		}
		// Later writes fail too.
		err = tx.AppendAudit(ctx, catalog.AuditEvent{Action: "x"})
		if err == nil || !strings.Contains(err.Error(), "an earlier write of this transaction failed half way") {
			t.Errorf("AppendAudit after a failed write: %v", err)
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "not committed") {
		t.Errorf("Update after a write failed half way: %v, want not committed", err)
	}
	for _, table := range []string{"log_leaves", "audit"} {
		if n := count(t, db, table); n != 0 {
			t.Errorf("%d rows in %s, want 0", n, table)
		}
	}
}

// TestLoad checks the synthetic loader's releases against what it promises.
func TestLoad(t *testing.T) {
	db, _ := openTemp(t)
	ctx := t.Context()
	const n, seed = 50, 3
	if err := catalogtest.LoadFrom(ctx, db, 0, 20, seed); err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.LoadFrom(ctx, db, 20, n-20, seed); err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.Load(ctx, db, 1, seed); !errors.Is(err, catalog.ErrExists) {
		t.Errorf("Load with the same seed again: %v, want ErrExists", err)
	}
	if got := count(t, db, "releases"); got != n {
		t.Errorf("%d releases, want %d", got, n)
	}
	if size, err := db.LogSize(ctx); err != nil || size != n {
		t.Errorf("LogSize = %d, %v; want %d", size, err, n)
	}
	hits, err := db.FindArtifact(ctx, catalogtest.LoadArtifact(seed, 13, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != catalogtest.LoadComponentRelease {
		t.Errorf("FindArtifact: %d hits, want one per release sharing the component version (%d)", len(hits), catalogtest.LoadComponentRelease)
	}
	r, err := db.Release(ctx, catalogtest.LoadProduct(13), fmt.Sprintf("%d.%d", seed, 13))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Components) != catalogtest.LoadComponents || len(r.Artifacts) != catalogtest.LoadArtifacts {
		t.Errorf("release 13 has %d components and %d artifacts", len(r.Components), len(r.Artifacts))
	}
	soup := count(t, db, "soup")
	if soup < n*catalogtest.LoadSOUPEntries*9/10 || soup > n*catalogtest.LoadSOUPEntries {
		t.Errorf("%d SOUP rows, want about %d", soup, n*catalogtest.LoadSOUPEntries)
	}
	var entries []catalog.Release
	if err := db.WalkReleases(ctx, func(r *catalog.Release) error {
		entries = append(entries, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range entries {
		leaf, err := db.LogLeaf(ctx, r.LogIndex)
		if err != nil {
			t.Fatal(err)
		}
		e, err := tlog.DecodeEntry(leaf)
		if err != nil {
			t.Fatal(err)
		}
		if e.Product != r.Product || e.Version != r.Version || e.Manifest != r.ManifestDigest {
			t.Errorf("release %d (%s) is logged as %+v", i, r.Ref(), e)
		}
	}
}

// TestDurableAfterKill commits through a child process, kills it with
// SIGKILL as soon as Update has returned, and checks that the commit is in
// the file. (Power loss is what synchronous=FULL is for; TestPragmas checks
// that it is set.)
func TestDurableAfterKill(t *testing.T) {
	if path := os.Getenv("EVIDENT_SQLITE_KILL_CHILD"); path != "" {
		killChild(path)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "catalog.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestDurableAfterKill$")
	cmd.Env = append(os.Environ(), "EVIDENT_SQLITE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := out.Read(buf) // "committed 37\n" once Update has returned
	var acked int
	if _, err := fmt.Sscanf(string(buf[:n]), "committed %d", &acked); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q: %v", buf[:n], err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	db, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if size, err := db.LogSize(t.Context()); err != nil || size < uint64(acked) {
		t.Errorf("after SIGKILL: LogSize = %d, %v; the child had committed %d", size, err, acked)
	}
	if _, err := db.Release(t.Context(), catalogtest.LoadProduct(acked-1), fmt.Sprintf("%d.%d", 9, acked-1)); err != nil {
		t.Errorf("the last acknowledged release is missing: %v", err)
	}
}

// killChild loads releases one transaction at a time, says how many are
// committed after the 37th, and keeps writing until it is killed.
func killChild(path string) {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		if err := catalogtest.LoadFrom(ctx, db, i, 1, 9); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if i+1 == 37 {
			fmt.Printf("committed %d\n", i+1)
		}
	}
}
