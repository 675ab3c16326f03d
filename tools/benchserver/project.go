package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
)

// The shape of a small release for the push benchmark: one class A
// component (the smallest set of evidence the built-in policy passes), a
// released file, unit and system test reports, a CycloneDX SBOM and an
// empty anomaly list. Every file but the archived policy differs from
// release to release, so each push uploads its blobs for real.
const (
	smallArtifactBytes = 8 << 10
	smallTests         = 6  // test cases per report
	smallSOUP          = 8  // SBOM components per release
	smallSOUPPool      = 64 // drawn from this many packages
)

// ciEnv is the GitHub Actions job the small releases are sealed in; a push
// to main, so that no tag has to match the version.
func ciEnv() map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_SHA":         "0b9e4c1f6a2d3e5f60718293a4b5c6d7e8f90a1b",
		"GITHUB_REPOSITORY":  "bench-org/bench-push",
		"GITHUB_RUN_ID":      "9200000001",
		"GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_SERVER_URL":  "https://github.com",
		"GITHUB_EVENT_NAME":  "push",
		"GITHUB_REF":         "refs/heads/main",
		"GITHUB_WORKFLOW":    "release",
		"RUNNER_OS":          "Linux",
		"RUNNER_ARCH":        "X64",
	}
}

// writeSmallProject writes the project of release version of product into
// dir (which must not exist). seed and i select the content.
func writeSmallProject(dir, product, version string, seed uint64, i int) error {
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	art := make([]byte, smallArtifactBytes)
	for k := 0; k < len(art); k += 8 {
		binary.LittleEndian.PutUint64(art[k:], rng.Uint64())
	}
	uuid := sha256.Sum256(fmt.Appendf(nil, "%s@%s", product, version))

	var unit, system strings.Builder
	for _, w := range []struct {
		b     *strings.Builder
		level string
	}{{&unit, "unit"}, {&system, "system"}} {
		fmt.Fprintf(w.b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"%s\" tests=\"%d\" failures=\"0\" errors=\"0\" time=\"0.6\">\n", w.level, smallTests)
		fmt.Fprintf(w.b, "  <testsuite name=\"%s %s\" tests=\"%d\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.6\">\n", w.level, version, smallTests)
		for k := range smallTests {
			fmt.Fprintf(w.b, "    <testcase classname=\"bench.%s\" name=\"case %d of %s\" time=\"0.%03d\"/>\n", w.level, k, version, rng.IntN(1000))
		}
		w.b.WriteString("  </testsuite>\n</testsuites>\n")
	}

	var sbom strings.Builder
	fmt.Fprintf(&sbom, `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:%x-%x-%x-%x-%x","version":1,`,
		uuid[0:4], uuid[4:6], uuid[6:8], uuid[8:10], uuid[10:16])
	fmt.Fprintf(&sbom, `"metadata":{"timestamp":"2026-11-20T09:00:00Z","component":{"type":"application","bom-ref":"app@%s","name":"app","version":"%s"}},"components":[`, version, version)
	var refs []string
	seen := map[int]bool{}
	for len(refs) < smallSOUP {
		k := rng.IntN(smallSOUPPool)
		if seen[k] {
			continue
		}
		seen[k] = true
		purl := fmt.Sprintf("pkg:generic/bench/lib%03d@1.%d.0", k, rng.IntN(4))
		if len(refs) > 0 {
			sbom.WriteByte(',')
		}
		fmt.Fprintf(&sbom, `{"type":"library","bom-ref":%q,"supplier":{"name":"Bench Vendor %d"},"name":"lib%03d","version":%q,"purl":%q,"licenses":[{"license":{"id":"MIT"}}]}`,
			purl, k%7, k, purl[strings.LastIndexByte(purl, '@')+1:], purl)
		refs = append(refs, fmt.Sprintf("%q", purl))
	}
	fmt.Fprintf(&sbom, `],"dependencies":[{"ref":"app@%s","dependsOn":[%s]}]}`+"\n", version, strings.Join(refs, ","))

	cfg := fmt.Sprintf(`# A small release for the push benchmark (tools/benchserver).
product: {name: %q, version: %q}
components:
  - name: app
    kind: web
    version: %q
    safetyClass: A
    artifacts: ["build/*.bin"]
    tests:
      - {path: "reports/unit.xml", level: unit}
      - {path: "reports/system.xml", level: system}
    sbom: ["sbom/app.cdx.json"]
    anomalies: ["anomalies/app.yaml"]
`, product, version, version)

	files := map[string][]byte{
		"evident.yaml":                  []byte(cfg),
		"build/app-" + version + ".bin": art,
		"reports/unit.xml":              []byte(unit.String()),
		"reports/system.xml":            []byte(system.String()),
		"sbom/app.cdx.json":             []byte(sbom.String()),
		"anomalies/app.yaml":            fmt.Appendf(nil, "# %s %s: no residual anomalies.\nanomalies: []\n", product, version),
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sealSmall writes and seals release version of product into out, as
// evident seal does (runner.Collect, Sign, Commit), with a real signature
// by key. The built-in policy must pass.
func sealSmall(ctx context.Context, work, out, product, version string, seed uint64, i int, key *sign.PrivateKey) error {
	dir := filepath.Join(work, "project-"+version)
	if err := writeSmallProject(dir, product, version, seed, i); err != nil {
		return fmt.Errorf("write project %s: %w", version, err)
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(dir, "evident.yaml")})
	if err != nil {
		return err
	}
	st, err := runner.Collect(ctx, runner.Options{
		Config: cfg, Out: out, Env: ci.MapEnv(ciEnv()), Git: ci.NewGit(cfg.Dir), Version: "benchserver",
	})
	if err != nil {
		return fmt.Errorf("seal %s: %w", version, err)
	}
	defer st.Discard()
	if !st.Manifest.Policy.Passed() {
		return fmt.Errorf("seal %s: the policy failed: %+v", version, st.Manifest.Policy)
	}
	if err := st.Sign(ctx, sign.NewKeySigner(key)); err != nil {
		return fmt.Errorf("seal %s: %w", version, err)
	}
	if _, err := st.Commit(); err != nil {
		return fmt.Errorf("seal %s: %w", version, err)
	}
	return nil
}

// sealAll seals n small releases of product, versions version(0) to
// version(n-1), into work/release-<version>, on GOMAXPROCS workers, and
// returns their directories in order.
func sealAll(ctx context.Context, work, product string, version func(int) string, n int, seed uint64, key *sign.PrivateKey) ([]string, error) {
	dirs := make([]string, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out := filepath.Join(work, "release-"+version(i))
				err := sealSmall(ctx, work, out, product, version(i), seed, i, key)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				dirs[i] = out
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return dirs, ctx.Err()
}
