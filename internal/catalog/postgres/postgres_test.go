package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/catalog/postgres"
	"github.com/evident-dev/evident/internal/catalog/postgres/pgtest"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

// baseURL returns the URL of the test database, or skips the test (fails
// it under EVIDENT_TEST_NO_SKIP=1) when there is none.
func baseURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(pgtest.EnvURL)
	if u == "" {
		testutil.Unavailable(t, "%s is not set: PostgreSQL tests need a database to create schemas in, e.g. postgres://postgres@127.0.0.1:5432/evident_test?sslmode=disable", pgtest.EnvURL)
	}
	return u
}

// schemaURL returns the URL of a fresh schema of the test database.
func schemaURL(t testing.TB) string {
	t.Helper()
	return pgtest.Schema(t, baseURL(t))
}

// open opens the catalog at url and closes it when the test ends.
func open(t testing.TB, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// connect opens a plain connection to url, for looking behind the catalog.
func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func count(t testing.TB, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConformance(t *testing.T) {
	base := baseURL(t)
	catalogtest.Run(t, func(t *testing.T) catalog.Catalog {
		return open(t, pgtest.Schema(t, base))
	})
}

// TestOpenConcurrently opens one fresh schema from several goroutines at
// once, as replicas starting together do: every Open succeeds and each
// migration is applied exactly once.
func TestOpenConcurrently(t *testing.T) {
	url := schemaURL(t)
	ctx := t.Context()
	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			dbs[i], errs[i] = postgres.Open(ctx, url)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Open %d: %v", i, errs[i])
			continue
		}
		t.Cleanup(func() { dbs[i].Close() })
	}
	if t.Failed() {
		return
	}
	checkMigrations(t, connect(t, url))

	// All of them work on the one catalog.
	if err := catalogtest.Load(ctx, dbs[0], 3, 1); err != nil {
		t.Fatal(err)
	}
	for i, db := range dbs {
		if n, err := db.LogSize(ctx); err != nil || n != 3 {
			t.Errorf("DB %d: LogSize = %d, %v; want 3", i, n, err)
		}
	}
}

// checkMigrations fails unless schema_migrations lists every embedded
// migration once.
func checkMigrations(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	latest, err := postgres.LatestSchema()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for v := range latest {
		want = append(want, int32(v+1))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema_migrations (-want +got):\n%s", diff)
	}
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	url := schemaURL(t)
	db, err := postgres.Open(ctx, url)
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
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		checkMigrations(t, connect(t, url))
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
	url := schemaURL(t)
	open(t, url)
	conn := connect(t, url)
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(ctx, url)
	if err == nil {
		db.Close()
		t.Fatal("Open of a database with a newer schema succeeded")
	}
	for _, want := range []string{"schema is version 999", "newer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	// The refusal changed nothing: the known migrations and the future one.
	latest, err := postgres.LatestSchema()
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, conn, "schema_migrations"); n != latest+1 {
		t.Errorf("schema_migrations has %d rows; want %d", n, latest+1)
	}
}

func TestOpenErrors(t *testing.T) {
	base := baseURL(t)
	missing, err := pgtest.WithSearchPath(base, "no_such_schema_here")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, want string
	}{
		{"not a URL", "postgres://%zz", "open catalog"},
		{"nothing listening", "postgres://postgres@127.0.0.1:9/evident?sslmode=disable&connect_timeout=5", "open catalog"},
		{"no schema", missing, "no schema of the search_path (no_such_schema_here) exists"},
		{"password redacted", "postgres://u:secret-pw@127.0.0.1:9/x?sslmode=disable&connect_timeout=5", "open catalog"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := postgres.Open(t.Context(), tt.url)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", tt.url)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open(%s) = %v, want an error containing %q", tt.url, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-pw") {
				t.Errorf("Open(%s) = %v: the error shows the password", tt.url, err)
			}
		})
	}
}

// TestSynchronousCommit checks that every connection commits durably, even
// when the URL (or the server) turns synchronous_commit off.
func TestSynchronousCommit(t *testing.T) {
	url := schemaURL(t)
	tests := []struct{ param, want string }{
		{"", "on"},
		{"off", "on"},
		{"local", "local"},
		{"remote_apply", "remote_apply"},
	}
	for _, tt := range tests {
		t.Run("setting "+tt.param, func(t *testing.T) {
			u := url
			if tt.param != "" {
				var err error
				if u, err = pgtest.WithParam(url, "synchronous_commit", tt.param); err != nil {
					t.Fatal(err)
				}
			}
			db := open(t, u)
			read, write, err := db.Setting(t.Context(), "synchronous_commit")
			if err != nil {
				t.Fatal(err)
			}
			if read != tt.want || write != tt.want {
				t.Errorf("synchronous_commit = %s on the read pool, %s on the write connection; want %s", read, write, tt.want)
			}
		})
	}
}

// rel returns a small valid release.
func rel(product, version string, index uint64) *catalog.Release {
	d := digest.FromBytes([]byte(product + "@" + version))
	return &catalog.Release{
		Product: product, Version: version, ManifestDigest: d, BundleDigest: d, SafetyClass: "B",
		CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), LogIndex: index,
		Components: []catalog.Component{{Name: "fw", Version: "1"}},
		Artifacts:  []catalog.Artifact{{Component: "fw", Name: "fw.bin", Digest: d}},
		Blobs:      []digest.Digest{d},
	}
}

// TestWriteLock checks that an Update holds a lock that a second catalog on
// the same schema (another replica) waits for, and that a catalog in
// another schema does not.
func TestWriteLock(t *testing.T) {
	url := schemaURL(t)
	a, b := open(t, url), open(t, url)
	other := open(t, schemaURL(t))
	ctx := t.Context()
	err := a.Update(ctx, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, rel("pump", "1.0", 0)); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := b.Update(wctx, func(tx catalog.Tx) error {
			t.Error("a second replica got the write lock while an Update held it")
			return nil
		})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Update on the second replica while the first writes: %v, want context.DeadlineExceeded", err)
		}
		if el := time.Since(start); el < 250*time.Millisecond {
			t.Errorf("Update on the second replica returned after %v, want it to wait for its deadline", el)
		}
		// Another schema is another catalog, with a lock of its own.
		octx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := other.Update(octx, func(tx catalog.Tx) error { return tx.InsertRelease(octx, rel("pump", "1.0", 0)) }); err != nil {
			t.Errorf("Update of a catalog in another schema: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Once the first has committed, the second writes, and sees its write.
	err = b.Update(ctx, func(tx catalog.Tx) error {
		err := tx.InsertRelease(ctx, rel("pump", "1.0", 1))
		if ce := (*catalog.ConflictError)(nil); !errors.As(err, &ce) {
			t.Errorf("InsertRelease of what the other replica committed: %v, want a ConflictError", err)
		}
		return tx.InsertRelease(ctx, rel("pump", "1.1", 1))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReplicas runs two catalogs on one schema, as two evidentd processes
// on one database: concurrent pushes keep the log one sequence, the same
// release pushed to both at once is accepted once, and a write acknowledged
// by one is visible on the other at once.
func TestReplicas(t *testing.T) {
	url := schemaURL(t)
	replicas := []*postgres.DB{open(t, url), open(t, url)}
	ctx := t.Context()

	t.Run("one log", func(t *testing.T) {
		const workers, each = 8, 5 // per replica
		leaf := func(r, w, i int) []byte { return fmt.Appendf(nil, "replica %d worker %d release %d", r, w, i) }
		var mu sync.Mutex
		var indices []uint64
		var wg sync.WaitGroup
		for r, db := range replicas {
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						var index uint64
						err := db.Update(ctx, func(tx catalog.Tx) error {
							var err error
							if index, err = tlog.Append(ctx, tx, leaf(r, w, i)); err != nil {
								return err
							}
							return tx.InsertRelease(ctx, rel(fmt.Sprintf("p%d-%d", r, w), fmt.Sprint(i), index))
						})
						if err != nil {
							t.Errorf("replica %d, worker %d, Update %d: %v", r, w, i, err)
							return
						}
						mu.Lock()
						indices = append(indices, index)
						mu.Unlock()
					}
				})
			}
		}
		wg.Wait()
		const total = 2 * workers * each
		slices.Sort(indices)
		want := make([]uint64, total)
		for i := range want {
			want[i] = uint64(i)
		}
		if diff := cmp.Diff(want, indices); diff != "" {
			t.Fatalf("log indices of the acknowledged appends (-want +got):\n%s", diff)
		}
		// The log is the one a single writer appending the leaves in the
		// order they landed would have; both replicas serve it.
		var mem tlog.MemStore
		for i := range uint64(total) {
			l, err := replicas[1].LogLeaf(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tlog.Append(ctx, &mem, l); err != nil {
				t.Fatal(err)
			}
		}
		for _, size := range []uint64{1, total / 2, total - 1, total} {
			want, err := tlog.Root(ctx, &mem, size)
			if err != nil {
				t.Fatal(err)
			}
			for i, db := range replicas {
				got, err := tlog.Root(ctx, db, size)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("replica %d: Root(%d) = %x, %v; want %x (MemStore)", i, size, got, err, want)
				}
			}
		}
		// Every release is on the leaf its transaction appended.
		n := 0
		err := replicas[0].WalkReleases(ctx, func(r *catalog.Release) error {
			n++
			var rep, w int
			if _, err := fmt.Sscanf(r.Product, "p%d-%d", &rep, &w); err != nil {
				return err
			}
			var i int
			fmt.Sscan(r.Version, &i)
			l, err := replicas[1].LogLeaf(ctx, r.LogIndex)
			if err != nil {
				return err
			}
			if !bytes.Equal(l, leaf(rep, w, i)) {
				t.Errorf("%s is at log index %d, whose leaf is %q", r.Ref(), r.LogIndex, l)
			}
			return nil
		})
		if err != nil || n != total {
			t.Errorf("WalkReleases: %d releases, %v; want %d", n, err, total)
		}
	})

	t.Run("same release on both", func(t *testing.T) {
		for round := range 10 {
			version := fmt.Sprintf("race-%d", round)
			errs := make([]error, len(replicas))
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, db := range replicas {
				wg.Go(func() {
					<-start
					errs[i] = db.Update(ctx, func(tx catalog.Tx) error {
						index, err := tlog.Append(ctx, tx, fmt.Appendf(nil, "%s from replica %d", version, i))
						if err != nil {
							return err
						}
						r := rel("contested", version, index)
						r.Signer = fmt.Sprint(i)
						return tx.InsertRelease(ctx, r)
					})
				})
			}
			close(start)
			wg.Wait()
			ok, exists := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case errors.Is(err, catalog.ErrExists):
					exists++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}
			if ok != 1 || exists != 1 {
				t.Fatalf("round %d: %d pushes succeeded and %d got ErrExists (%v); want one each", round, ok, exists, errs)
			}
			h, err := replicas[round%2].History(ctx, "contested")
			if err != nil || len(h) != round+1 {
				t.Fatalf("round %d: History has %d releases, %v; want %d", round, len(h), err, round+1)
			}
		}
		// The loser's leaf was rolled back with its release: the log has
		// one leaf per accepted release, no gap.
		size, err := replicas[0].LogSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[uint64]bool{}
		err = replicas[0].WalkReleases(ctx, func(r *catalog.Release) error {
			seen[r.LogIndex] = true
			return nil
		})
		if err != nil || uint64(len(seen)) != size {
			t.Errorf("%d releases on distinct leaves, %v; the log has %d leaves", len(seen), err, size)
		}
	})

	t.Run("visible at once", func(t *testing.T) {
		for i := range 20 {
			a, b := replicas[i%2], replicas[(i+1)%2]
			product := fmt.Sprintf("visible-%d", i)
			if err := a.Update(ctx, func(tx catalog.Tx) error {
				if err := tx.InsertRelease(ctx, rel(product, "1", uint64(1000+i))); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, catalog.AuditEvent{Action: "release.push", Target: product})
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Release(ctx, product, "1"); err != nil {
				t.Fatalf("the other replica, right after the commit: %v", err)
			}
			if hits, err := b.FindComponent(ctx, "fw", "1"); err != nil || len(hits) == 0 {
				t.Fatalf("FindComponent on the other replica: %v, %v", hits, err)
			}
			es, err := b.AuditEvents(ctx, 0, 1000)
			if err != nil || len(es) == 0 || es[len(es)-1].Target != product {
				t.Fatalf("AuditEvents on the other replica: %v, %v; want the last for %s", es, err, product)
			}
		}
	})
}

// TestAuditSeqInCommitOrder checks the property audit paging relies on
// across replicas: events committed later have larger sequence numbers, so
// a reader that has read up to seq s never misses a later event.
func TestAuditSeqInCommitOrder(t *testing.T) {
	url := schemaURL(t)
	replicas := []*postgres.DB{open(t, url), open(t, url)}
	ctx := t.Context()
	var wg sync.WaitGroup
	for r, db := range replicas {
		for w := range 4 {
			wg.Go(func() {
				for i := range 10 {
					err := db.Update(ctx, func(tx catalog.Tx) error {
						return tx.AppendAudit(ctx, catalog.AuditEvent{At: time.Now(), Action: "x", Target: fmt.Sprintf("%d/%d/%d", r, w, i)})
					})
					if err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	// A reader paging concurrently sees each event once, in order.
	var seen []int64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	after := int64(0)
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := replicas[1].AuditEvents(ctx, after, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			seen = append(seen, e.Seq)
			after = e.Seq
		}
	}
	for {
		page, err := replicas[1].AuditEvents(ctx, after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.Seq)
			after = e.Seq
		}
	}
	if len(seen) != 2*4*10 {
		t.Errorf("a reader paging during the writes saw %d events, want %d", len(seen), 2*4*10)
	}
	if !slices.IsSorted(seen) {
		t.Errorf("sequence numbers out of order: %v", seen)
	}
}

// TestInsertReleaseRejects checks what the catalog refuses to record, that
// a refused release leaves nothing behind, and that the transaction stays
// usable.
func TestInsertReleaseRejects(t *testing.T) {
	url := schemaURL(t)
	db := open(t, url)
	conn := connect(t, url)
	ctx := t.Context()
	valid := func() *catalog.Release { return rel("pump", "1.0", 5) }
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
		{"NUL in the product", func(r *catalog.Release) { r.Product = "pu\x00mp" }, `"pu\x00mp" contains a NUL byte`},
		{"invalid UTF-8 version", func(r *catalog.Release) { r.Version = "1.\xff" }, `"1.\xff" is not valid UTF-8`},
		{"NUL in a component", func(r *catalog.Release) { r.Components[0].Kind = "\x00" }, "component 1 field"},
		{"invalid UTF-8 artifact name", func(r *catalog.Release) { r.Artifacts[0].Name = "\xc3" }, "artifact name"},
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
				// The transaction goes on.
				return tx.AppendAudit(ctx, catalog.AuditEvent{Action: "release.push", Outcome: "invalid"})
			})
			if err != nil {
				t.Fatalf("Update after a refused InsertRelease: %v", err)
			}
			if n := count(t, conn, "releases"); n != 1 {
				t.Errorf("%d releases after the refusal, want 1", n)
			}
			if n := count(t, conn, "components"); n != 1 {
				t.Errorf("%d components after the refusal, want 1", n)
			}
		})
	}
	if n := count(t, conn, "audit"); n != len(tests) {
		t.Errorf("%d audit events committed after refusals, want %d", n, len(tests))
	}
}

// TestUnstorableText covers text PostgreSQL cannot hold (NUL bytes,
// invalid UTF-8): writes refuse it without poisoning the transaction, and
// lookups by it find nothing instead of failing.
func TestUnstorableText(t *testing.T) {
	url := schemaURL(t)
	db := open(t, url)
	ctx := t.Context()
	r := rel("pump", "1.0", 0)
	soup := catalog.SOUP{Component: "fw", Name: "zlib", Version: "1.3.1", PURL: "pkg:generic/zlib@1.3.1", Base: "pkg:generic/zlib"}
	writes := []struct {
		name  string
		write func(tx catalog.Tx) error
		want  string
	}{
		{"SOUP name", func(tx catalog.Tx) error {
			e := soup
			e.Name = "z\x00lib"
			return tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{soup, e})
		}, "contains a NUL byte"},
		{"SOUP purl", func(tx catalog.Tx) error {
			e := soup
			e.PURL = "pkg:generic/zlib@\xff"
			return tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{e})
		}, "is not valid UTF-8"},
		{"SOUP too long to index", func(tx catalog.Tx) error {
			e := soup
			e.Base = "pkg:generic/" + strings.Repeat("z", 3000)
			return tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{e})
		}, "more than the 2048 the catalog indexes"},
		{"token name", func(tx catalog.Tx) error {
			return tx.InsertToken(ctx, catalog.Token{ID: "t1", Name: "\xfe", Role: "ci", Hash: []byte("h")})
		}, "is not valid UTF-8"},
		{"audit detail", func(tx catalog.Tx) error {
			return tx.AppendAudit(ctx, catalog.AuditEvent{Action: "x", Detail: "a\x00b"})
		}, "contains a NUL byte"},
		{"approver name", func(tx catalog.Tx) error {
			return tx.InsertApprover(ctx, catalog.Approver{ID: "a1", Name: "\x00", Role: "qa", Issuer: "i", Subject: "s"})
		}, "contains a NUL byte"},
		{"approval comment", func(tx catalog.Tx) error {
			return tx.InsertApproval(ctx, catalog.ApprovalRecord{Product: "pump", Version: "1.0", ManifestDigest: r.ManifestDigest,
				BundleDigest: digest.FromBytes([]byte("b")), Decision: "approved", Comment: "\xff"})
		}, "is not valid UTF-8"},
	}
	err := db.Update(ctx, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, r); err != nil {
			return err
		}
		for _, w := range writes {
			if err := w.write(tx); err == nil || !strings.Contains(err.Error(), w.want) {
				t.Errorf("%s: %v, want an error containing %q", w.name, err, w.want)
			}
		}
		return tx.InsertSOUP(ctx, "pump", "1.0", []catalog.SOUP{soup})
	})
	if err != nil {
		t.Fatalf("Update after refused writes: %v", err)
	}
	if hits, err := db.FindSOUP(ctx, catalog.SOUPQuery{Base: soup.Base}); err != nil || len(hits) != 1 {
		t.Errorf("FindSOUP = %v, %v; want the one entry", hits, err)
	}

	lookups := []struct {
		name string
		fn   func() (int, error)
	}{
		{"Release", func() (int, error) {
			_, err := db.Release(ctx, "pump\x00", "1.0")
			if errors.Is(err, catalog.ErrNotFound) {
				return 0, nil
			}
			return 1, err
		}},
		{"History", func() (int, error) { h, err := db.History(ctx, "\xff"); return len(h), err }},
		{"FindComponent", func() (int, error) { h, err := db.FindComponent(ctx, "fw", "1\x00"); return len(h), err }},
		{"FindSOUP", func() (int, error) {
			h, err := db.FindSOUP(ctx, catalog.SOUPQuery{Base: soup.Base, Version: "\xff"})
			return len(h), err
		}},
		{"Approvals", func() (int, error) { h, err := db.Approvals(ctx, "pump", "1.0\x00"); return len(h), err }},
	}
	for _, l := range lookups {
		if n, err := l.fn(); err != nil || n != 0 {
			t.Errorf("%s by unstorable text: %d hits, %v; want none and no error", l.name, n, err)
		}
	}
	// Nor inside a transaction, where an error would abort it.
	err = db.Update(ctx, func(tx catalog.Tx) error {
		err := tx.InsertSOUP(ctx, "pump\x00", "1.0", []catalog.SOUP{soup})
		if !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("InsertSOUP of an unstorable release name: %v, want ErrNotFound", err)
		}
		return tx.AppendAudit(ctx, catalog.AuditEvent{Action: "x"})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSOUPRules covers what the contract leaves to the implementation:
// identical entries are recorded once, an entry must name a component of
// the release, an empty query is an error.
func TestSOUPRules(t *testing.T) {
	url := schemaURL(t)
	db := open(t, url)
	conn := connect(t, url)
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
	// Another release with the same package, in a later transaction: the
	// package row is shared.
	r2 := *r
	r2.Version, r2.LogIndex = "1.1", 1
	err = db.Update(ctx, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, &r2); err != nil {
			return err
		}
		return tx.InsertSOUP(ctx, "pump", "1.1", []catalog.SOUP{zlib})
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
		{Product: "pump", Version: "1.1", Component: "fw", ComponentVersion: "1", Name: "zlib", PackageVersion: "1.3.1", PURL: zlib.PURL},
	}
	if diff := cmp.Diff(want, hits); diff != "" {
		t.Errorf("FindSOUP, in log and component order (-want +got):\n%s", diff)
	}
	if n := count(t, conn, "packages"); n != 1 {
		t.Errorf("%d packages, want 1", n)
	}
	if _, err := db.FindSOUP(ctx, catalog.SOUPQuery{}); err == nil {
		t.Error("FindSOUP with an empty base succeeded")
	}
}

// TestZeroTime checks that the zero time round-trips as zero and sorts
// first, as in Go.
func TestZeroTime(t *testing.T) {
	db := open(t, schemaURL(t))
	ctx := t.Context()
	tokens := []catalog.Token{
		{ID: "a", Role: "ci", Hash: []byte("a"), CreatedAt: time.Unix(0, 0).UTC()},
		{ID: "b", Role: "ci", Hash: []byte("b")},
		{ID: "c", Role: "ci", Hash: []byte("c"), CreatedAt: time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)},
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
	if diff := cmp.Diff([]catalog.Token{tokens[1], tokens[2], tokens[0]}, got); diff != "" {
		t.Errorf("Tokens (-want +got):\n%s", diff)
	}
}

// TestWriteFailsHalfWay checks that a write PostgreSQL rejects (here: a node
// already stored, which only a corrupt store can have) cannot be committed,
// even when fn ignores the error, and that later writes say why.
func TestWriteFailsHalfWay(t *testing.T) {
	url := schemaURL(t)
	db := open(t, url)
	conn := connect(t, url)
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `INSERT INTO log_nodes (level, idx, hash) VALUES (0, 0, '\x00')`); err != nil {
		t.Fatal(err)
	}
	err := db.Update(ctx, func(tx catalog.Tx) error {
		_, err := tlog.Append(ctx, tx, []byte("leaf"))
		if err == nil || !strings.Contains(err.Error(), "a node this leaf completes is stored already") {
			t.Errorf("Append over a stored node: %v", err)
		}
		// Later writes fail too, without reaching the server.
		for name, err := range map[string]error{
			"AppendAudit":    tx.AppendAudit(ctx, catalog.AuditEvent{Action: "x"}),
			"InsertRelease":  tx.InsertRelease(ctx, rel("pump", "1", 0)),
			"InsertToken":    tx.InsertToken(ctx, catalog.Token{ID: "t", Role: "ci", Hash: []byte("h")}),
			"InsertApprover": tx.InsertApprover(ctx, catalog.Approver{ID: "a", Name: "n", Role: "r", Issuer: "i", Subject: "s"}),
		} {
			if err == nil || !strings.Contains(err.Error(), "an earlier write of this transaction failed") {
				t.Errorf("%s after a failed write: %v", name, err)
			}
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "not committed") {
		t.Errorf("Update after a write failed: %v, want not committed", err)
	}
	for _, table := range []string{"log_leaves", "audit", "releases", "tokens", "approvers"} {
		if n := count(t, conn, table); n != 0 {
			t.Errorf("%d rows in %s, want 0", n, table)
		}
	}
	// The catalog is usable afterwards.
	if err := db.Update(ctx, func(tx catalog.Tx) error { return tx.AppendAudit(ctx, catalog.AuditEvent{Action: "x"}) }); err != nil {
		t.Errorf("Update after a failed one: %v", err)
	}
}

// TestLoad checks the synthetic loader's releases against what it promises.
func TestLoad(t *testing.T) {
	url := schemaURL(t)
	db := open(t, url)
	conn := connect(t, url)
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
	if got := count(t, conn, "releases"); got != n {
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
	soup := count(t, conn, "soup")
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
	if len(entries) != n {
		t.Fatalf("WalkReleases: %d releases, want %d", len(entries), n)
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

// TestWalkSeesStart checks that a walk outside a transaction sees the
// releases committed when it began, not those committed while fn runs.
func TestWalkSeesStart(t *testing.T) {
	db := open(t, schemaURL(t))
	ctx := t.Context()
	const n = 600 // several batches
	if err := catalogtest.Load(ctx, db, n, 1); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err := db.WalkReleases(ctx, func(r *catalog.Release) error {
		if seen == 10 {
			// Commit more while the walk is under way.
			if err := catalogtest.LoadFrom(ctx, db, n, 300, 1); err != nil {
				return err
			}
		}
		seen++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != n {
		t.Errorf("the walk saw %d releases, want the %d committed when it began", seen, n)
	}
}
