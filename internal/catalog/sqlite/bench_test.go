package sqlite

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/catalogtest"
)

// benchSeed names the synthetic releases of the benchmarks.
const benchSeed = 1

// benchDB opens a catalog of EVIDENT_BENCH_RELEASES synthetic releases
// (default 20,000). Loading a large catalog takes minutes, so the file is
// kept, in EVIDENT_BENCH_DB or else in the system's temporary directory,
// and reused while it holds exactly that many releases; delete it to load
// afresh.
func benchDB(b *testing.B) (*DB, int) {
	b.Helper()
	n := 20000
	if s := os.Getenv("EVIDENT_BENCH_RELEASES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("EVIDENT_BENCH_RELEASES=%q: want a positive number", s)
		}
		n = v
	}
	path := os.Getenv("EVIDENT_BENCH_DB")
	if path == "" {
		path = filepath.Join(os.TempDir(), fmt.Sprintf("evident-catalog-bench-v1-%d.db", n))
	}
	ctx := b.Context()
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	have, err := db.LogSize(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if have == uint64(n) {
		return db, n
	}
	if have != 0 {
		b.Fatalf("%s holds %d releases, not %d: delete it", path, have, n)
	}

	start := time.Now()
	const step = 10000
	for i := 0; i < n; i += step {
		if err := catalogtest.LoadFrom(ctx, db, i, min(step, n-i), benchSeed); err != nil {
			b.Fatal(err)
		}
		if n > step {
			el := time.Since(start)
			b.Logf("loaded %d of %d releases in %v (%.0f/s)", i+min(step, n-i), n, el.Round(time.Second), float64(i+min(step, n-i))/el.Seconds())
		}
	}
	el := time.Since(start)
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(path + suffix); err == nil {
			size += fi.Size()
		}
	}
	b.Logf("loaded %d releases in %v (%.0f releases/s); %s is %.1f MB (%.0f bytes per release)",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), path, float64(size)/1e6, float64(size)/float64(n))
	return db, n
}

// measure runs op b.N times and reports the median and 99th percentile
// latency and the mean number of hits.
func measure(b *testing.B, op func(rng *rand.Rand) (hits int, err error)) {
	rng := rand.New(rand.NewPCG(1, 2))
	durs := make([]time.Duration, 0, b.N)
	total := 0
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		n, err := op(rng)
		durs = append(durs, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	b.StopTimer()
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(durs[len(durs)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(total)/float64(len(durs)), "hits/op")
}

func BenchmarkFindArtifact(b *testing.B) {
	db, n := benchDB(b)
	measure(b, func(rng *rand.Rand) (int, error) {
		d := catalogtest.LoadArtifact(benchSeed, rng.IntN(n), rng.IntN(catalogtest.LoadArtifacts))
		hits, err := db.FindArtifact(b.Context(), d)
		if err == nil && len(hits) == 0 {
			err = fmt.Errorf("no release ships %s", d)
		}
		return len(hits), err
	})
}

func BenchmarkFindSOUP(b *testing.B) {
	db, _ := benchDB(b)
	b.Run("base", func(b *testing.B) {
		measure(b, func(rng *rand.Rand) (int, error) {
			hits, err := db.FindSOUP(b.Context(), catalog.SOUPQuery{Base: catalogtest.LoadPackage(rng.IntN(catalogtest.LoadPackages))})
			return len(hits), err
		})
	})
	b.Run("version", func(b *testing.B) {
		measure(b, func(rng *rand.Rand) (int, error) {
			hits, err := db.FindSOUP(b.Context(), catalog.SOUPQuery{
				Base:    catalogtest.LoadPackage(rng.IntN(catalogtest.LoadPackages)),
				Version: catalogtest.LoadPackageVersion(rng.IntN(catalogtest.LoadPackageVersions)),
			})
			return len(hits), err
		})
	})
}

func BenchmarkRelease(b *testing.B) {
	db, n := benchDB(b)
	measure(b, func(rng *rand.Rand) (int, error) {
		i := rng.IntN(n)
		_, err := db.Release(b.Context(), catalogtest.LoadProduct(i), fmt.Sprintf("%d.%d", benchSeed, i))
		return 1, err
	})
}

// BenchmarkPush measures one Update as the archive makes it for a push, in
// a catalog of its own: a log leaf, the release, its SOUP, and a durable
// commit (an fsync of the WAL).
func BenchmarkPush(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "push.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	i := 0
	measure(b, func(*rand.Rand) (int, error) {
		err := catalogtest.LoadFrom(b.Context(), db, i, 1, benchSeed)
		i++
		return 1, err
	})
}
