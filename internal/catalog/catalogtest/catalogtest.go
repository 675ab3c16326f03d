// Package catalogtest is the conformance suite of catalog.Catalog. Every
// implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		catalogtest.Run(t, func(t *testing.T) catalog.Catalog { ... })
//	}
//
// The suite uses only the catalog interfaces (and tlog's algorithm on top of
// them), so it holds for any SQL dialect. Load, in loader.go, fills a
// catalog with synthetic releases for benchmarks.
package catalogtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/transparency-dev/merkle/compact"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// Run runs the suite. open must return a new, empty catalog each time it is
// called, and close it through t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) catalog.Catalog) {
	tests := []struct {
		name string
		fn   func(t *testing.T, cat catalog.Catalog)
	}{
		{"Ping", testPing},
		{"ReleaseRoundTrip", testReleaseRoundTrip},
		{"ReleaseExists", testReleaseExists},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"UpdatePanics", testUpdatePanics},
		{"History", testHistory},
		{"Products", testProducts},
		{"FindArtifact", testFindArtifact},
		{"FindComponent", testFindComponent},
		{"FindSOUP", testFindSOUP},
		{"ManySOUP", testManySOUP},
		{"WalkReleases", testWalkReleases},
		{"Tokens", testTokens},
		{"RevokeToken", testRevokeToken},
		{"Audit", testAudit},
		{"LogStorage", testLogStorage},
		{"LogMatchesMemStore", testLogMatchesMemStore},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"ReadIsolation", testReadIsolation},
		{"CancelledContext", testCancelledContext},
		{"NotFound", testNotFound},
		{"Approvers", testApprovers},
		{"Approvals", testApprovals},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// t0 is a time with nanoseconds in a zone other than UTC: the catalog must
// keep the instant exactly and return it in UTC.
var t0 = time.Date(2025, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("CET", 3600))

// dg returns a digest named by s.
func dg(s string) digest.Digest { return digest.FromBytes([]byte(s)) }

// newRelease returns a release of product@version with two components, three
// artifacts and four blobs, all named after it.
func newRelease(product, version string, index uint64, created time.Time) *catalog.Release {
	ref := product + "@" + version
	return &catalog.Release{
		Product:        product,
		Version:        version,
		ManifestDigest: dg(ref + " manifest"),
		BundleDigest:   dg(ref + " bundle"),
		SafetyClass:    "C",
		CreatedAt:      created,
		AcceptedAt:     created.Add(90*time.Minute + 123456789),
		Signer:         "ci@example.com",
		LogIndex:       index,
		Components: []catalog.Component{
			{Name: "firmware", Version: version, Kind: "firmware", SafetyClass: "C"},
			{Name: "ui", Version: "2." + version, Kind: "application", SafetyClass: "A"},
		},
		Artifacts: []catalog.Artifact{
			{Component: "firmware", Name: "fw.bin", Digest: dg(ref + " fw.bin"), Size: 1 << 20},
			{Component: "ui", Name: "ui.apk", Digest: dg(ref + " ui.apk"), Size: 12345},
			{Component: "firmware", Name: "fw.elf", Digest: dg(ref + " fw.elf"), Size: 0},
		},
		Blobs: []digest.Digest{
			dg(ref + " manifest"), dg(ref + " bundle"), dg(ref + " junit"), dg(ref + " sbom"),
		},
	}
}

// update runs fn in an Update and fails the test if it returns an error.
func update(t *testing.T, cat catalog.Catalog, fn func(tx catalog.Tx) error) {
	t.Helper()
	if err := cat.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// insert inserts releases, one Update each.
func insert(t *testing.T, cat catalog.Catalog, rs ...*catalog.Release) {
	t.Helper()
	for _, r := range rs {
		update(t, cat, func(tx catalog.Tx) error { return tx.InsertRelease(t.Context(), r) })
	}
}

// summary is r as History returns it: without components, artifacts, blobs.
func summary(r *catalog.Release) catalog.Release {
	s := *r
	s.Components, s.Artifacts, s.Blobs = nil, nil, nil
	return s
}

// opts compares records: nil and empty slices alike, digests by value.
func opts() cmp.Options {
	return cmp.Options{cmpopts.EquateEmpty(), cmpopts.EquateComparable(digest.Digest{})}
}

func testPing(t *testing.T, cat catalog.Catalog) {
	if err := cat.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testReleaseRoundTrip(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	full := newRelease("infusion-pump", "1.4.0", 7, t0)
	bare := &catalog.Release{
		Product: "infusion-pump", Version: "1.4.1",
		ManifestDigest: dg("bare manifest"), BundleDigest: dg("bare bundle"),
		SafetyClass: "A", CreatedAt: t0.Add(time.Nanosecond), AcceptedAt: t0.Add(time.Hour), LogIndex: 8,
	}
	update(t, cat, func(tx catalog.Tx) error {
		for _, r := range []*catalog.Release{full, bare} {
			if err := tx.InsertRelease(ctx, r); err != nil {
				return err
			}
			// A transaction reads its own writes.
			got, err := tx.Release(ctx, r.Product, r.Version)
			if err != nil {
				return fmt.Errorf("Release in the transaction: %w", err)
			}
			if diff := cmp.Diff(r, got, opts()); diff != "" {
				t.Errorf("Release in the transaction (-want +got):\n%s", diff)
			}
		}
		return nil
	})
	for _, want := range []*catalog.Release{full, bare} {
		got, err := cat.Release(ctx, want.Product, want.Version)
		if err != nil {
			t.Fatalf("Release(%s): %v", want.Ref(), err)
		}
		// cmp compares times with Equal: the same instant, to the nanosecond.
		if diff := cmp.Diff(want, got, opts()); diff != "" {
			t.Errorf("Release(%s) (-want +got):\n%s", want.Ref(), diff)
		}
		if got.CreatedAt.Location() != time.UTC || got.AcceptedAt.Location() != time.UTC {
			t.Errorf("Release(%s): times in %v and %v, want UTC", want.Ref(), got.CreatedAt.Location(), got.AcceptedAt.Location())
		}
	}
}

func testReleaseExists(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	first := newRelease("pump", "1.0.0", 0, t0)
	insert(t, cat, first)

	// The same product@version with other content, other artifacts.
	second := newRelease("pump", "1.0.0", 1, t0.Add(time.Hour))
	second.ManifestDigest, second.SafetyClass = dg("second manifest"), "B"
	second.Artifacts[0].Digest = dg("second fw.bin")

	checkErr := func(t *testing.T, err error) {
		t.Helper()
		if !errors.Is(err, catalog.ErrExists) {
			t.Fatalf("InsertRelease of an existing product@version: %v, want an error wrapping ErrExists", err)
		}
		if ce := (*catalog.ConflictError)(nil); errors.As(err, &ce) && ce.Existing != first.ManifestDigest {
			t.Errorf("ConflictError.Existing = %s, want the first release's manifest %s", ce.Existing, first.ManifestDigest)
		}
	}
	tests := []struct {
		name string
		fn   func(tx catalog.Tx) error
	}{
		{"returned", func(tx catalog.Tx) error {
			return tx.InsertRelease(ctx, second)
		}},
		// The caller may go on and commit: the failed insert wrote nothing.
		{"ignored", func(tx catalog.Tx) error {
			checkErr(t, tx.InsertRelease(ctx, second))
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := cat.Update(ctx, tt.fn)
			if tt.name == "returned" {
				checkErr(t, err)
			} else if err != nil {
				t.Fatalf("Update: %v", err)
			}
			got, err := cat.Release(ctx, "pump", "1.0.0")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(first, got, opts()); diff != "" {
				t.Errorf("the first release changed (-want +got):\n%s", diff)
			}
			if hits, err := cat.FindArtifact(ctx, second.Artifacts[0].Digest); err != nil || len(hits) != 0 {
				t.Errorf("FindArtifact(the second release's artifact) = %v, %v; want no hits", hits, err)
			}
			if h, err := cat.History(ctx, "pump"); err != nil || len(h) != 1 {
				t.Errorf("History = %d releases, %v; want 1", len(h), err)
			}
			if ps, err := cat.Products(ctx); err != nil || len(ps) != 1 || ps[0].Releases != 1 {
				t.Errorf("Products = %+v, %v; want one product with one release", ps, err)
			}
		})
	}
}

// writeEverything writes a release, its SOUP, a log leaf, a token and an
// audit event in tx.
func writeEverything(ctx context.Context, tx catalog.Tx, r *catalog.Release) error {
	if _, err := tlog.Append(ctx, tx, []byte("leaf of "+r.Ref())); err != nil {
		return err
	}
	if err := tx.InsertRelease(ctx, r); err != nil {
		return err
	}
	soup := []catalog.SOUP{{Component: "firmware", Name: "zlib", Version: "1.3.1", PURL: "pkg:generic/zlib@1.3.1", Base: "pkg:generic/zlib"}}
	if err := tx.InsertSOUP(ctx, r.Product, r.Version, soup); err != nil {
		return err
	}
	if err := tx.InsertToken(ctx, catalog.Token{ID: "tok1", Name: "ci", Role: "ci", Hash: []byte("hash1"), CreatedAt: t0}); err != nil {
		return err
	}
	return tx.AppendAudit(ctx, catalog.AuditEvent{At: t0, Actor: "local:test", Action: "release.push", Target: r.Ref(), Outcome: "ok"})
}

// checkNothing fails unless the catalog is empty, as far as writeEverything
// is concerned.
func checkNothing(t *testing.T, cat catalog.Reader, r *catalog.Release) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	if _, err := cat.Release(ctx, r.Product, r.Version); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Release: %v, want ErrNotFound", err)
	}
	if hits, err := cat.FindSOUP(ctx, catalog.SOUPQuery{Base: "pkg:generic/zlib"}); err != nil || len(hits) != 0 {
		t.Errorf("FindSOUP = %v, %v; want nothing", hits, err)
	}
	if hits, err := cat.FindArtifact(ctx, r.Artifacts[0].Digest); err != nil || len(hits) != 0 {
		t.Errorf("FindArtifact = %v, %v; want nothing", hits, err)
	}
	if hits, err := cat.FindComponent(ctx, r.Components[0].Name, r.Components[0].Version); err != nil || len(hits) != 0 {
		t.Errorf("FindComponent = %v, %v; want nothing", hits, err)
	}
	if n, err := cat.LogSize(ctx); err != nil || n != 0 {
		t.Errorf("LogSize = %d, %v; want 0", n, err)
	}
	if _, err := cat.Token(ctx, []byte("hash1")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Token: %v, want ErrNotFound", err)
	}
	if ts, err := cat.Tokens(ctx); err != nil || len(ts) != 0 {
		t.Errorf("Tokens = %v, %v; want none", ts, err)
	}
	if es, err := cat.AuditEvents(ctx, 0, 10); err != nil || len(es) != 0 {
		t.Errorf("AuditEvents = %v, %v; want none", es, err)
	}
	if ps, err := cat.Products(ctx); err != nil || len(ps) != 0 {
		t.Errorf("Products = %v, %v; want none", ps, err)
	}
	if h, err := cat.History(ctx, r.Product); err != nil || len(h) != 0 {
		t.Errorf("History = %v, %v; want none", h, err)
	}
	n := 0
	if err := cat.WalkReleases(ctx, func(*catalog.Release) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("WalkReleases: %d releases, %v; want none", n, err)
	}
}

// checkEverything fails unless what writeEverything wrote is there.
func checkEverything(t *testing.T, cat catalog.Reader, r *catalog.Release) {
	t.Helper()
	ctx := t.Context()
	if _, err := cat.Release(ctx, r.Product, r.Version); err != nil {
		t.Errorf("Release: %v", err)
	}
	if hits, err := cat.FindSOUP(ctx, catalog.SOUPQuery{Base: "pkg:generic/zlib"}); err != nil || len(hits) != 1 {
		t.Errorf("FindSOUP = %v, %v; want one hit", hits, err)
	}
	if n, err := cat.LogSize(ctx); err != nil || n != 1 {
		t.Errorf("LogSize = %d, %v; want 1", n, err)
	}
	if _, err := cat.Token(ctx, []byte("hash1")); err != nil {
		t.Errorf("Token: %v", err)
	}
	if es, err := cat.AuditEvents(ctx, 0, 10); err != nil || len(es) != 1 {
		t.Errorf("AuditEvents = %v, %v; want one", es, err)
	}
}

func testUpdateRollsBack(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	r := newRelease("pump", "1.0.0", 0, t0)
	boom := errors.New("boom")
	err := cat.Update(ctx, func(tx catalog.Tx) error {
		if err := writeEverything(ctx, tx, r); err != nil {
			return err
		}
		checkEverything(t, tx, r) // visible inside
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	checkNothing(t, cat, r)

	// The rollback left nothing behind that would get in the way.
	update(t, cat, func(tx catalog.Tx) error { return writeEverything(ctx, tx, r) })
	checkEverything(t, cat, r)
}

func testUpdatePanics(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	r := newRelease("pump", "1.0.0", 0, t0)
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want Update to let fn's panic through", p)
			}
		}()
		cat.Update(ctx, func(tx catalog.Tx) error {
			if err := writeEverything(ctx, tx, r); err != nil {
				t.Error(err)
			}
			panic("boom")
		})
	}()
	checkNothing(t, cat, r)
	// The write transaction was released: another Update does not wait
	// for it forever.
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := cat.Update(ctx, func(tx catalog.Tx) error { return writeEverything(ctx, tx, r) }); err != nil {
		t.Fatalf("Update after a panic: %v", err)
	}
	checkEverything(t, cat, r)
}

func testHistory(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	v1 := newRelease("pump", "1.0", 0, t0)
	v2 := newRelease("pump", "2.0", 1, t0.Add(time.Hour))
	v3 := newRelease("pump", "3.0", 2, t0.Add(time.Hour)) // same createdAt as v2, later in the log
	v4 := newRelease("pump", "0.9", 3, t0.Add(-time.Hour))
	v5 := newRelease("pump", "1.1", 4, t0.Add(time.Nanosecond))
	other := newRelease("monitor", "1.0", 5, t0.Add(2*time.Hour))
	insert(t, cat, v1, v3, other)
	update(t, cat, func(tx catalog.Tx) error {
		for _, r := range []*catalog.Release{v5, v4, v2} {
			if err := tx.InsertRelease(ctx, r); err != nil {
				return err
			}
		}
		return nil
	})

	tests := []struct {
		product string
		want    []*catalog.Release
	}{
		{"pump", []*catalog.Release{v3, v2, v5, v1, v4}},
		{"monitor", []*catalog.Release{other}},
		{"unknown", nil},
	}
	for _, tt := range tests {
		t.Run(tt.product, func(t *testing.T) {
			got, err := cat.History(ctx, tt.product)
			if err != nil {
				t.Fatal(err)
			}
			var want []catalog.Release
			for _, r := range tt.want {
				want = append(want, summary(r))
			}
			// Components, artifacts and blobs must be absent, not merely
			// ignored: EquateEmpty only equates nil and empty.
			if diff := cmp.Diff(want, got, opts()); diff != "" {
				t.Errorf("History(%q) (-want +got):\n%s", tt.product, diff)
			}
		})
	}
}

func testProducts(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	if ps, err := cat.Products(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("Products of an empty catalog = %v, %v", ps, err)
	}
	// Inserted in neither time nor log order.
	insert(t, cat,
		newRelease("pump", "2.0", 0, t0.Add(time.Hour)),
		newRelease("pump", "2.1", 2, t0.Add(time.Hour)),        // same time as 2.0, later in the log: latest
		newRelease("pump", "1.0", 1, t0),                       // older, inserted last
		newRelease("monitor", "0.1", 3, t0.Add(-24*time.Hour)), // sorts before pump
		newRelease("Zeta", "9", 4, t0),                         // upper case sorts first (byte order)
	)
	want := []catalog.Product{
		{Name: "Zeta", Releases: 1, LatestVersion: "9", LatestAt: t0},
		{Name: "monitor", Releases: 1, LatestVersion: "0.1", LatestAt: t0.Add(-24 * time.Hour)},
		{Name: "pump", Releases: 3, LatestVersion: "2.1", LatestAt: t0.Add(time.Hour)},
	}
	got, err := cat.Products(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Products (-want +got):\n%s", diff)
	}
}

// sortHits makes hit lists comparable: the contract does not order them.
func sortHits[T any]() cmp.Option {
	return cmpopts.SortSlices(func(a, b T) bool { return fmt.Sprint(a) < fmt.Sprint(b) })
}

func testFindArtifact(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	shared := dg("shared bootloader")
	a := newRelease("pump", "1.0", 0, t0)
	a.Artifacts[2] = catalog.Artifact{Component: "firmware", Name: "boot.bin", Digest: shared, Size: 4096}
	b := newRelease("monitor", "3.0", 1, t0)
	b.Artifacts[1] = catalog.Artifact{Component: "ui", Name: "bootloader.img", Digest: shared, Size: 4096}
	insert(t, cat, a, b)

	tests := []struct {
		name string
		d    digest.Digest
		want []catalog.ArtifactHit
	}{
		{"in two releases", shared, []catalog.ArtifactHit{
			{Product: "pump", Version: "1.0", Component: "firmware", ComponentVersion: "1.0", Name: "boot.bin", Size: 4096},
			{Product: "monitor", Version: "3.0", Component: "ui", ComponentVersion: "2.3.0", Name: "bootloader.img", Size: 4096},
		}},
		{"in one", a.Artifacts[0].Digest, []catalog.ArtifactHit{
			{Product: "pump", Version: "1.0", Component: "firmware", ComponentVersion: "1.0", Name: "fw.bin", Size: 1 << 20},
		}},
		{"miss", dg("nowhere"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cat.FindArtifact(ctx, tt.d)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, opts(), sortHits[catalog.ArtifactHit]()); diff != "" {
				t.Errorf("FindArtifact (-want +got):\n%s", diff)
			}
		})
	}
}

func testFindComponent(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	a := newRelease("pump", "1.0", 0, t0)    // firmware 1.0, ui 2.1.0
	b := newRelease("monitor", "1.0", 1, t0) // firmware 1.0, ui 2.1.0
	c := newRelease("pump", "1.1", 2, t0)    // firmware 1.1, ui 2.1.1
	b.Components[0].SafetyClass = "B"
	insert(t, cat, a, b, c)

	tests := []struct {
		name, component, version string
		want                     []catalog.ComponentHit
	}{
		{"in two releases", "firmware", "1.0", []catalog.ComponentHit{
			{Product: "pump", Version: "1.0", Component: "firmware", ComponentVersion: "1.0", Kind: "firmware", SafetyClass: "C"},
			{Product: "monitor", Version: "1.0", Component: "firmware", ComponentVersion: "1.0", Kind: "firmware", SafetyClass: "B"},
		}},
		{"another version", "firmware", "1.1", []catalog.ComponentHit{
			{Product: "pump", Version: "1.1", Component: "firmware", ComponentVersion: "1.1", Kind: "firmware", SafetyClass: "C"},
		}},
		{"unknown version", "firmware", "9.9", nil},
		{"unknown component", "bootloader", "1.0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cat.FindComponent(ctx, tt.component, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, opts(), sortHits[catalog.ComponentHit]()); diff != "" {
				t.Errorf("FindComponent(%s, %s) (-want +got):\n%s", tt.component, tt.version, diff)
			}
		})
	}
}

func soupEntry(component, name, version string) catalog.SOUP {
	base := "pkg:generic/" + name
	return catalog.SOUP{Component: component, Name: name, Version: version, PURL: base + "@" + version + "?arch=arm", Base: base}
}

func testFindSOUP(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	a := newRelease("pump", "1.0", 0, t0)
	b := newRelease("monitor", "2.0", 1, t0)
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, a); err != nil {
			return err
		}
		// In several batches, as the archive streams a SOUP list.
		batches := [][]catalog.SOUP{
			{soupEntry("firmware", "zlib", "1.3.1"), soupEntry("firmware", "openssl", "3.0.13")},
			{soupEntry("ui", "zlib", "1.2.13")},
			{{Component: "ui", Name: "in-house-lib", Version: "4"}}, // no purl
		}
		for _, batch := range batches {
			if err := tx.InsertSOUP(ctx, a.Product, a.Version, batch); err != nil {
				return err
			}
		}
		// A transaction reads its own writes.
		hits, err := tx.FindSOUP(ctx, catalog.SOUPQuery{Base: "pkg:generic/openssl"})
		if err != nil || len(hits) != 1 {
			t.Errorf("FindSOUP in the transaction = %v, %v; want one hit", hits, err)
		}
		return nil
	})
	// Another release, in another transaction.
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, b); err != nil {
			return err
		}
		return tx.InsertSOUP(ctx, b.Product, b.Version, []catalog.SOUP{soupEntry("ui", "zlib", "1.3.1")})
	})

	zlib := func(r *catalog.Release, comp int, version string) catalog.SOUPHit {
		return catalog.SOUPHit{
			Product: r.Product, Version: r.Version, Component: r.Components[comp].Name, ComponentVersion: r.Components[comp].Version,
			Name: "zlib", PackageVersion: version, PURL: "pkg:generic/zlib@" + version + "?arch=arm",
		}
	}
	tests := []struct {
		name string
		q    catalog.SOUPQuery
		want []catalog.SOUPHit
	}{
		{"every version", catalog.SOUPQuery{Base: "pkg:generic/zlib"}, []catalog.SOUPHit{
			zlib(a, 0, "1.3.1"), zlib(a, 1, "1.2.13"), zlib(b, 1, "1.3.1"),
		}},
		{"one version", catalog.SOUPQuery{Base: "pkg:generic/zlib", Version: "1.3.1"}, []catalog.SOUPHit{
			zlib(a, 0, "1.3.1"), zlib(b, 1, "1.3.1"),
		}},
		{"other version", catalog.SOUPQuery{Base: "pkg:generic/zlib", Version: "1.2.13"}, []catalog.SOUPHit{
			zlib(a, 1, "1.2.13"),
		}},
		{"version miss", catalog.SOUPQuery{Base: "pkg:generic/zlib", Version: "9.9.9"}, nil},
		{"package miss", catalog.SOUPQuery{Base: "pkg:generic/libpng"}, nil},
		{"version is not a prefix", catalog.SOUPQuery{Base: "pkg:generic/zlib", Version: "1.3"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cat.FindSOUP(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, opts(), sortHits[catalog.SOUPHit]()); diff != "" {
				t.Errorf("FindSOUP(%+v) (-want +got):\n%s", tt.q, diff)
			}
		})
	}

	// SOUP of a release that does not exist.
	err := cat.Update(ctx, func(tx catalog.Tx) error {
		return tx.InsertSOUP(ctx, "pump", "7.7", []catalog.SOUP{soupEntry("firmware", "zlib", "1.3.1")})
	})
	if !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("InsertSOUP of an unknown release: %v, want ErrNotFound", err)
	}
}

// testManySOUP inserts 20,000 SOUP entries of one release, as the archive
// does (batches of 500 in one transaction), and finds some of them.
func testManySOUP(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	const n, batch = 20000, 500
	r := newRelease("pump", "1.0", 0, t0)
	start := time.Now()
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, r); err != nil {
			return err
		}
		entries := make([]catalog.SOUP, 0, batch)
		for i := range n {
			entries = append(entries, soupEntry(r.Components[i%2].Name, fmt.Sprintf("npm-%05d", i), "1.0."+fmt.Sprint(i%7)))
			if len(entries) == batch {
				if err := tx.InsertSOUP(ctx, r.Product, r.Version, entries); err != nil {
					return err
				}
				entries = entries[:0]
			}
		}
		return nil
	})
	t.Logf("%d SOUP entries inserted in %v", n, time.Since(start))
	for _, i := range []int{0, 1, 9999, n - 1} {
		name := fmt.Sprintf("npm-%05d", i)
		got, err := cat.FindSOUP(ctx, catalog.SOUPQuery{Base: "pkg:generic/" + name})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != name || got[0].Component != r.Components[i%2].Name {
			t.Errorf("FindSOUP(%s) = %+v, want one hit in component %s", name, got, r.Components[i%2].Name)
		}
	}
}

func testWalkReleases(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	// Inserted out of log order, in several transactions, across products;
	// more than fit in one page of any reasonable batched reader.
	const n = 600
	var want []*catalog.Release
	for i := range n {
		want = append(want, newRelease(fmt.Sprintf("product-%d", i%3), fmt.Sprintf("1.%d", i), uint64(i), t0.Add(time.Duration(n-i)*time.Second)))
	}
	order := make([]*catalog.Release, n)
	for i := range n {
		order[i] = want[(i*7)%n] // 7 is coprime with 600: a permutation
	}
	for chunk := range slices.Chunk(order, 100) {
		update(t, cat, func(tx catalog.Tx) error {
			for _, r := range chunk {
				if err := tx.InsertRelease(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
	}

	var got []*catalog.Release
	if err := cat.WalkReleases(ctx, func(r *catalog.Release) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, opts()); diff != "" {
		t.Errorf("WalkReleases (-want +got):\n%s", diff)
	}

	// fn's error stops the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	err := cat.WalkReleases(ctx, func(*catalog.Release) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("WalkReleases with fn failing on the second release: %d calls, %v; want 2 calls and fn's error", calls, err)
	}

	// In a transaction, the walk sees the transaction's writes.
	extra := newRelease("product-x", "1", n, t0)
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertRelease(ctx, extra); err != nil {
			return err
		}
		var last string
		count := 0
		if err := tx.WalkReleases(ctx, func(r *catalog.Release) error { count, last = count+1, r.Ref(); return nil }); err != nil {
			return err
		}
		if count != n+1 || last != extra.Ref() {
			t.Errorf("WalkReleases in the transaction: %d releases, the last %s; want %d, the last %s", count, last, n+1, extra.Ref())
		}
		return nil
	})
}

func testTokens(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	later := catalog.Token{ID: "tk-later", Name: "release pipeline", Role: "ci", Hash: []byte("hash of the later token"), CreatedAt: t0.Add(time.Second)}
	earlier := catalog.Token{ID: "tk-earlier", Name: "Q. A. Auditor", Role: "auditor", Hash: []byte("hash of the earlier token"), CreatedAt: t0}
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertToken(ctx, later); err != nil {
			return err
		}
		return tx.InsertToken(ctx, earlier)
	})

	got, err := cat.Token(ctx, later.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&later, got); diff != "" {
		t.Errorf("Token (-want +got):\n%s", diff)
	}
	all, err := cat.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.Token{earlier, later}, all); diff != "" {
		t.Errorf("Tokens, oldest first (-want +got):\n%s", diff)
	}

	// The same hash again, under another ID: ErrExists, and the caller may
	// go on and commit.
	dup := catalog.Token{ID: "tk-dup", Name: "copy", Role: "admin", Hash: bytes.Clone(later.Hash), CreatedAt: t0.Add(time.Minute)}
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertToken(ctx, dup); !errors.Is(err, catalog.ErrExists) {
			t.Errorf("InsertToken with an existing hash: %v, want ErrExists", err)
		}
		return nil
	})
	if got, err := cat.Token(ctx, later.Hash); err != nil || got.ID != later.ID || got.Role != later.Role {
		t.Errorf("Token after the duplicate = %+v, %v; want the original", got, err)
	}
	if all, err := cat.Tokens(ctx); err != nil || len(all) != 2 {
		t.Errorf("Tokens after the duplicate = %d, %v; want 2", len(all), err)
	}

	if _, err := cat.Token(ctx, []byte("no such hash")); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("Token of an unknown hash: %v, want ErrNotFound", err)
	}
}

func testRevokeToken(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	keep := catalog.Token{ID: "tk-keep", Name: "kept", Role: "auditor", Hash: []byte("hash of the kept token"), CreatedAt: t0}
	gone := catalog.Token{ID: "tk-gone", Name: "leaked", Role: "ci", Hash: []byte("hash of the leaked token"), CreatedAt: t0.Add(time.Second)}
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertToken(ctx, keep); err != nil {
			return err
		}
		return tx.InsertToken(ctx, gone)
	})

	// Revoked, and the transaction sees it at once.
	revokedAt := t0.Add(time.Hour)
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.RevokeToken(ctx, gone.ID, revokedAt); err != nil {
			return err
		}
		got, err := tx.Token(ctx, gone.Hash)
		if err != nil {
			return err
		}
		if !got.RevokedAt.Equal(revokedAt) {
			t.Errorf("Token in the revoking transaction: RevokedAt %v, want %v", got.RevokedAt, revokedAt)
		}
		return nil
	})
	gone.RevokedAt = revokedAt.UTC()
	got, err := cat.Token(ctx, gone.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&gone, got); diff != "" {
		t.Errorf("Token after RevokeToken (-want +got):\n%s", diff)
	}
	if !got.Revoked() {
		t.Error("Revoked() = false after RevokeToken")
	}

	// Again, later: not an error, and the first time stays.
	update(t, cat, func(tx catalog.Tx) error {
		return tx.RevokeToken(ctx, gone.ID, t0.Add(2*time.Hour))
	})
	// An unknown ID: ErrNotFound, and the caller may go on and commit.
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.RevokeToken(ctx, "tk-nope", revokedAt); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("RevokeToken of an unknown ID: %v, want ErrNotFound", err)
		}
		return tx.AppendAudit(ctx, catalog.AuditEvent{At: revokedAt, Actor: "test", Action: "token.revoke", Target: "token:tk-nope", Outcome: "error"})
	})

	// Still listed, with the first time; the other token is untouched.
	all, err := cat.Tokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]catalog.Token{keep, gone}, all); diff != "" {
		t.Errorf("Tokens after revoking (-want +got):\n%s", diff)
	}
	if all, err := cat.AuditEvents(ctx, 0, 10); err != nil || len(all) != 1 {
		t.Errorf("AuditEvents after a refused revocation = %d events, %v; want 1", len(all), err)
	}
	if got, err := cat.Token(ctx, keep.Hash); err != nil || got.Revoked() {
		t.Errorf("Token of the token not revoked = %+v, %v", got, err)
	}
}

func testAudit(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	var want []catalog.AuditEvent
	for i := range 7 {
		want = append(want, catalog.AuditEvent{
			At: t0.Add(time.Duration(i) * time.Millisecond), Actor: "token:tk1 (ci, ci)", Action: "release.push",
			Target: fmt.Sprintf("pump@1.%d", i), Remote: "192.0.2.1:5555", Outcome: "ok", Detail: fmt.Sprintf("event %d", i),
		})
	}
	// In three transactions.
	for _, chunk := range [][]catalog.AuditEvent{want[:3], want[3:4], want[4:]} {
		update(t, cat, func(tx catalog.Tx) error {
			for _, e := range chunk {
				if err := tx.AppendAudit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
	}

	all, err := cat.AuditEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, all, cmpopts.IgnoreFields(catalog.AuditEvent{}, "Seq")); diff != "" {
		t.Fatalf("AuditEvents (-want +got):\n%s", diff)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq <= all[i-1].Seq {
			t.Errorf("Seq %d follows %d: want strictly increasing", all[i].Seq, all[i-1].Seq)
		}
	}
	if all[0].Seq <= 0 {
		t.Errorf("first Seq = %d, want > 0 so that after=0 reads from the start", all[0].Seq)
	}

	// Paging by after and limit.
	var paged []catalog.AuditEvent
	for after, pages := int64(0), 0; ; pages++ {
		if pages > len(want) {
			t.Fatalf("AuditEvents paging does not end: %d pages of 3 for %d events", pages, len(want))
		}
		page, err := cat.AuditEvents(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("AuditEvents(%d, 3) returned %d events", after, len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Seq
	}
	if diff := cmp.Diff(all, paged); diff != "" {
		t.Errorf("AuditEvents in pages of 3 (-want +got):\n%s", diff)
	}
	mid, err := cat.AuditEvents(ctx, all[2].Seq, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all[3:5], mid); diff != "" {
		t.Errorf("AuditEvents(after the third, 2) (-want +got):\n%s", diff)
	}
}

// recorder is a tlog.MemStore that remembers what Append asked it to store,
// so that a test can hand the same leaf and nodes to a catalog directly.
type recorder struct {
	tlog.MemStore
	nodes []tlog.Node
}

func (r *recorder) LogAppend(ctx context.Context, index uint64, leaf []byte, nodes []tlog.Node) error {
	r.nodes = slices.Clone(nodes)
	return r.MemStore.LogAppend(ctx, index, leaf, nodes)
}

func testLogStorage(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	mem := &recorder{}
	leaves := [][]byte{[]byte("leaf 0"), {}, []byte("leaf 2"), []byte("leaf 3")}
	var nodes [][]tlog.Node
	for _, l := range leaves {
		if _, err := tlog.Append(ctx, mem, l); err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, mem.nodes)
	}

	update(t, cat, func(tx catalog.Tx) error {
		if n, err := tx.LogSize(ctx); err != nil || n != 0 {
			t.Errorf("LogSize of an empty log = %d, %v", n, err)
		}
		// An index other than the size is an error and stores nothing;
		// the transaction goes on.
		if err := tx.LogAppend(ctx, 1, leaves[1], nodes[1]); err == nil {
			t.Error("LogAppend at index 1 of an empty log succeeded")
		}
		if n, err := tx.LogSize(ctx); err != nil || n != 0 {
			t.Errorf("LogSize after a failed append = %d, %v; want 0", n, err)
		}
		for i := range 3 {
			if err := tx.LogAppend(ctx, uint64(i), leaves[i], nodes[i]); err != nil {
				return err
			}
		}
		if err := tx.LogAppend(ctx, 1, leaves[1], nodes[1]); err == nil {
			t.Error("LogAppend at an index already taken succeeded")
		}
		// Nodes other than those the leaf completes.
		if err := tx.LogAppend(ctx, 3, leaves[3], nodes[3][:1]); err == nil {
			t.Error("LogAppend of leaf 3 without the nodes it completes succeeded")
		}
		if n, err := tx.LogSize(ctx); err != nil || n != 3 {
			t.Errorf("LogSize after failed appends = %d, %v; want 3", n, err)
		}
		return nil
	})

	n, err := cat.LogSize(ctx)
	if err != nil || n != 3 {
		t.Fatalf("LogSize = %d, %v; want 3", n, err)
	}
	for i := range 3 {
		got, err := cat.LogLeaf(ctx, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, leaves[i]) {
			t.Errorf("LogLeaf(%d) = %q, want %q", i, got, leaves[i])
		}
	}
	ids := []compact.NodeID{{Level: 1, Index: 0}, {Level: 0, Index: 2}, {Level: 0, Index: 0}, {Level: 0, Index: 1}}
	want, err := mem.LogNodes(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cat.LogNodes(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LogNodes, in the order asked (-want +got):\n%s", diff)
	}
}

func testLogMatchesMemStore(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	const n = 100
	var mem tlog.MemStore
	leaf := func(i int) []byte { return fmt.Appendf(nil, "leaf %d", i) }
	// Batches of 1, 2, 3, ... leaves per transaction.
	for i, size := 0, 1; i < n; i, size = i+size, size+1 {
		update(t, cat, func(tx catalog.Tx) error {
			for j := i; j < min(i+size, n); j++ {
				got, err := tlog.Append(ctx, tx, leaf(j))
				if err != nil {
					return err
				}
				if got != uint64(j) {
					t.Errorf("Append returned index %d, want %d", got, j)
				}
			}
			return nil
		})
	}
	for i := range n {
		if _, err := tlog.Append(ctx, &mem, leaf(i)); err != nil {
			t.Fatal(err)
		}
	}
	for size := uint64(0); size <= n; size++ {
		want, err := tlog.Root(ctx, &mem, size)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tlog.Root(ctx, cat, size)
		if err != nil {
			t.Fatalf("Root(%d): %v", size, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("Root(%d) = %x, want %x (MemStore)", size, got, want)
		}
	}
	for _, c := range []struct{ index, size uint64 }{{0, 1}, {0, n}, {37, 64}, {63, 64}, {64, 65}, {99, n}} {
		want, err := tlog.InclusionProof(ctx, &mem, c.index, c.size)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tlog.InclusionProof(ctx, cat, c.index, c.size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", c.index, c.size, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("InclusionProof(%d, %d) (-MemStore +catalog):\n%s", c.index, c.size, diff)
		}
	}
}

func testConcurrentUpdates(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	const workers, each = 8, 6
	leaf := func(w, i int) []byte { return fmt.Appendf(nil, "worker %d release %d", w, i) }
	indices := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				err := cat.Update(ctx, func(tx catalog.Tx) error {
					index, err := tlog.Append(ctx, tx, leaf(w, i))
					if err != nil {
						return err
					}
					r := newRelease(fmt.Sprintf("product-%d", w), fmt.Sprintf("1.%d", i), index, t0)
					if err := tx.InsertRelease(ctx, r); err != nil {
						return err
					}
					indices <- index
					return nil
				})
				if err != nil {
					t.Errorf("worker %d, Update %d: %v", w, i, err)
				}
			}
		})
	}
	wg.Wait()
	close(indices)

	const total = workers * each
	var got []uint64
	for i := range indices {
		got = append(got, i)
	}
	slices.Sort(got)
	var want []uint64
	for i := range uint64(total) {
		want = append(want, i)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("indices returned by Append (-want +got):\n%s", diff)
	}
	if n, err := cat.LogSize(ctx); err != nil || n != total {
		t.Fatalf("LogSize = %d, %v; want %d", n, err, total)
	}

	// Every release is there, on the leaf its transaction appended, and the
	// log is the one a single writer appending the same leaves would have.
	var mem tlog.MemStore
	seen := 0
	err := cat.WalkReleases(ctx, func(r *catalog.Release) error {
		if r.LogIndex != uint64(seen) {
			t.Errorf("release %d of the walk has log index %d", seen, r.LogIndex)
		}
		seen++
		var w, i int
		if _, err := fmt.Sscanf(r.Product+" "+r.Version, "product-%d 1.%d", &w, &i); err != nil {
			return err
		}
		l, err := cat.LogLeaf(ctx, r.LogIndex)
		if err != nil {
			return err
		}
		if !bytes.Equal(l, leaf(w, i)) {
			t.Errorf("%s is at log index %d, whose leaf is %q; want %q", r.Ref(), r.LogIndex, l, leaf(w, i))
		}
		_, err = tlog.Append(ctx, &mem, l)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != total {
		t.Errorf("WalkReleases saw %d releases, want %d", seen, total)
	}
	want1, err := tlog.Root(ctx, &mem, total)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tlog.Root(ctx, cat, total); err != nil || !bytes.Equal(got, want1) {
		t.Errorf("Root = %x, %v; want %x", got, err, want1)
	}
}

func testReadIsolation(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	r := newRelease("pump", "1.0", 0, t0)
	update(t, cat, func(tx catalog.Tx) error {
		if err := writeEverything(ctx, tx, r); err != nil {
			return err
		}
		// Reads outside the transaction, while it is open, see only what
		// is committed.
		checkNothing(t, cat, r)
		return nil
	})
	checkEverything(t, cat, r)
}

func testCancelledContext(t *testing.T, cat catalog.Catalog) {
	r := newRelease("pump", "1.0", 0, t0)
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := cat.Update(ctx, func(tx catalog.Tx) error { return writeEverything(ctx, tx, r) })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update with a cancelled context = %v, want context.Canceled", err)
		}
		checkNothing(t, cat, r)
	})
	t.Run("during", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		err := cat.Update(ctx, func(tx catalog.Tx) error {
			if err := writeEverything(ctx, tx, r); err != nil {
				return err
			}
			cancel()
			return nil // fn succeeded, but the caller has gone away
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update whose context was cancelled before commit = %v, want context.Canceled", err)
		}
		checkNothing(t, cat, r)
	})
	t.Run("after", func(t *testing.T) {
		// The catalog is still usable.
		update(t, cat, func(tx catalog.Tx) error { return writeEverything(t.Context(), tx, r) })
		checkEverything(t, cat, r)
	})
}

func testNotFound(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	insert(t, cat, newRelease("pump", "1.0", 0, t0))
	update(t, cat, func(tx catalog.Tx) error {
		_, err := tlog.Append(ctx, tx, []byte("leaf"))
		return err
	})
	tests := []struct {
		name string
		fn   func() error
		log  bool // also tlog.ErrNotFound
	}{
		{"Release of an unknown product", func() error { _, err := cat.Release(ctx, "monitor", "1.0"); return err }, false},
		{"Release of an unknown version", func() error { _, err := cat.Release(ctx, "pump", "1.1"); return err }, false},
		{"Token", func() error { _, err := cat.Token(ctx, []byte("nope")); return err }, false},
		{"LogLeaf beyond the log", func() error { _, err := cat.LogLeaf(ctx, 1); return err }, true},
		{"LogNodes of a node not stored", func() error {
			_, err := cat.LogNodes(ctx, []compact.NodeID{{Level: 0, Index: 0}, {Level: 1, Index: 0}})
			return err
		}, true},
		{"InsertSOUP of an unknown release", func() error {
			return cat.Update(ctx, func(tx catalog.Tx) error {
				return tx.InsertSOUP(ctx, "pump", "2.0", []catalog.SOUP{soupEntry("firmware", "zlib", "1")})
			})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn()
			if !errors.Is(err, catalog.ErrNotFound) {
				t.Errorf("error %v, want one wrapping catalog.ErrNotFound", err)
			}
			if tt.log && !errors.Is(err, tlog.ErrNotFound) {
				t.Errorf("error %v, want one also wrapping tlog.ErrNotFound", err)
			}
		})
	}
}
