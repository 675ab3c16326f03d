package runner_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/collect"
	"github.com/evident-dev/evident/internal/collect/artifact"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/tools/genrelease/gen"
)

// BenchmarkSealLarge seals a generated release (tools/genrelease) and reports
// throughput over every input byte, the peak heap during the run and the
// bytes allocated per seal. EVIDENT_BENCH_SCALE=full gives the size
// (1 GiB of artifacts, 100,000 test cases, a 20,000-component SBOM); the
// default, small, is 1/20 of it so that `make bench` stays quick.
//
// The project is generated once; sub-benchmarks then measure the whole seal
// (runner.Collect, Sign, Commit into a fresh directory) and, for a
// breakdown, each kind of input read on its own the way Collect reads it.
// How to run it and the numbers: docs/benchmarks.md.
func BenchmarkSealLarge(b *testing.B) {
	opts := benchOptions(b)
	dir := b.TempDir()
	started := time.Now()
	proj, err := gen.Generate(filepath.Join(dir, "project"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("generated %s in %v: %d artifact bytes in %d files, %d test cases in %d reports (%d failing), %d SOUP components, %d input bytes",
		proj.Dir, time.Since(started).Round(time.Millisecond), proj.ArtifactBytes, len(proj.Artifacts),
		proj.Tests, len(proj.TestReports), proj.Failures, proj.SBOMComponents, proj.InputBytes)

	cfg, err := config.Load(config.LoadOptions{Path: proj.Config})
	if err != nil {
		b.Fatal(err)
	}
	key, err := sign.GenerateKey("")
	if err != nil {
		b.Fatal(err)
	}
	signer := sign.NewKeySigner(key)
	ctx := context.Background()

	b.Run("seal", func(b *testing.B) {
		b.SetBytes(proj.InputBytes)
		i := 0
		benchMeasure(b, func() {
			out := filepath.Join(dir, fmt.Sprintf("release-%d", i))
			i++
			sealed := benchSeal(ctx, b, cfg, signer, out)
			b.StopTimer()
			benchCheckSealed(b, sealed, proj)
			if err := os.RemoveAll(out); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		})
	})

	b.Run("hash-artifacts", func(b *testing.B) {
		files := make([]artifact.File, len(proj.Artifacts))
		for i, p := range proj.Artifacts {
			files[i] = artifact.File{Name: filepath.Base(p), Path: p}
		}
		b.SetBytes(proj.ArtifactBytes)
		benchMeasure(b, func() {
			arts, err := artifact.Hash(ctx, files, 0)
			if err != nil {
				b.Fatal(err)
			}
			if len(arts) != len(files) {
				b.Fatalf("hashed %d artifacts, want %d", len(arts), len(files))
			}
		})
	})

	b.Run("parse-tests", func(b *testing.B) {
		b.SetBytes(benchTotalSize(b, proj.TestReports))
		benchMeasure(b, func() {
			var sum evidence.TestSummary
			for _, p := range proj.TestReports {
				benchReadFile(b, p, func(r io.Reader) error {
					s, err := collect.Tests(r, evidence.FormatJUnitXML)
					sum.Add(s)
					return err
				})
			}
			if sum.Tests != proj.Tests || sum.Failed+sum.Errors != proj.Failures {
				b.Fatalf("read %d tests, %d failing; generated %d, %d", sum.Tests, sum.Failed+sum.Errors, proj.Tests, proj.Failures)
			}
		})
	})

	b.Run("read-sbom", func(b *testing.B) {
		b.SetBytes(benchTotalSize(b, proj.SBOMs))
		benchMeasure(b, func() {
			n := 0
			for _, p := range proj.SBOMs {
				benchReadFile(b, p, func(r io.Reader) error {
					_, s, err := collect.SBOM(r, io.Discard)
					n += s.Components
					return err
				})
			}
			if n != proj.SBOMComponents {
				b.Fatalf("read %d SOUP components, generated %d", n, proj.SBOMComponents)
			}
		})
	})
}

// benchOptions picks the project size from EVIDENT_BENCH_SCALE.
func benchOptions(b *testing.B) gen.Options {
	switch s := os.Getenv("EVIDENT_BENCH_SCALE"); s {
	case "full":
		return gen.Full()
	case "", "small":
		return gen.Full().Scaled(20)
	default:
		b.Fatalf("EVIDENT_BENCH_SCALE=%q: want full or small (the default)", s)
		return gen.Options{}
	}
}

// benchSeal runs what `evident seal` runs: collect, sign, commit.
func benchSeal(ctx context.Context, b *testing.B, cfg *config.Config, signer sign.Signer, out string) *runner.Staged {
	st, err := runner.Collect(ctx, runner.Options{
		Config: cfg, Out: out, Env: ci.MapEnv(gen.CIEnv()), Version: "bench",
	})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Discard()
	if err := st.Sign(ctx, signer); err != nil {
		b.Fatal(err)
	}
	if _, err := st.Commit(); err != nil {
		b.Fatal(err)
	}
	return st
}

// benchCheckSealed fails the benchmark unless the release records what was
// generated: a benchmark of a seal that silently skipped input is worthless.
func benchCheckSealed(b *testing.B, st *runner.Staged, proj *gen.Project) {
	m := st.Manifest
	if !st.Signed || !m.Policy.Passed() {
		b.Fatalf("release not sealed: signed=%v, policy passed=%v", st.Signed, m.Policy.Passed())
	}
	var tests evidence.TestSummary
	arts, soup := 0, 0
	for _, c := range m.Components {
		arts += len(c.Artifacts)
		for _, r := range c.Evidence {
			switch {
			case r.Tests != nil:
				tests.Add(*r.Tests)
			case r.SBOM != nil:
				soup += r.SBOM.Components
			}
		}
	}
	if arts != len(proj.Artifacts) || tests.Tests != proj.Tests || soup != proj.SBOMComponents {
		b.Fatalf("release records %d artifacts, %d tests, %d SOUP components; generated %d, %d, %d",
			arts, tests.Tests, soup, len(proj.Artifacts), proj.Tests, proj.SBOMComponents)
	}
}

// benchMeasure runs op in a b.Loop while sampling the heap, and reports
// peak-heap-MB (the most heap memory in objects, reachable or not yet
// swept, seen in any sample), peak-live-MB (the most live heap any GC
// cycle marked) and alloc-MB/op (bytes allocated per iteration), in units
// of 10^6 bytes.
func benchMeasure(b *testing.B, op func()) {
	b.ReportAllocs()
	runtime.GC()
	s := startHeapSampler(2 * time.Millisecond)
	allocs0 := benchMetric(benchAllocsMetric)
	n := 0
	for b.Loop() {
		op()
		n++
	}
	allocs := benchMetric(benchAllocsMetric) - allocs0
	peakObjects, peakLive := s.stop()
	const mb = 1e6 // as in the MB/s the testing package reports
	b.ReportMetric(float64(peakObjects)/mb, "peak-heap-MB")
	b.ReportMetric(float64(peakLive)/mb, "peak-live-MB")
	b.ReportMetric(float64(allocs)/mb/float64(max(n, 1)), "alloc-MB/op")
}

const (
	benchHeapObjectsMetric = "/memory/classes/heap/objects:bytes"
	benchHeapLiveMetric    = "/gc/heap/live:bytes"
	benchAllocsMetric      = "/gc/heap/allocs:bytes"
)

func benchMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapSampler records the maximum of the heap metrics, read by a goroutine
// every interval. runtime/metrics reads do not stop the world, unlike
// runtime.ReadMemStats, so sampling every few milliseconds is cheap.
type heapSampler struct {
	done                  chan struct{}
	wg                    sync.WaitGroup
	peakObjects, peakLive uint64
}

func startHeapSampler(every time.Duration) *heapSampler {
	s := &heapSampler{done: make(chan struct{})}
	samples := []metrics.Sample{{Name: benchHeapObjectsMetric}, {Name: benchHeapLiveMetric}}
	read := func() {
		metrics.Read(samples)
		s.peakObjects = max(s.peakObjects, samples[0].Value.Uint64())
		s.peakLive = max(s.peakLive, samples[1].Value.Uint64())
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			read()
			select {
			case <-s.done:
				read()
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop ends sampling and returns the peak heap in objects and the peak live
// heap, in bytes.
func (s *heapSampler) stop() (objects, live uint64) {
	close(s.done)
	s.wg.Wait()
	return s.peakObjects, s.peakLive
}

func benchReadFile(b *testing.B, path string, read func(io.Reader) error) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		b.Fatalf("%s: %v", path, err)
	}
}

func benchTotalSize(b *testing.B, paths []string) int64 {
	var n int64
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			b.Fatal(err)
		}
		n += st.Size()
	}
	return n
}
