// Package gen writes a synthetic but complete evident project of a chosen
// size, for benchmarks: an evident.yaml with three components (classes A, B
// and C), released artifacts of pseudo-random content, JUnit reports with
// nested suites and a few failures, evaluated anomaly lists that explain
// every failure, CycloneDX 1.6 SBOMs and release documents. The project is
// one that `evident seal` accepts and whose built-in policy passes.
//
// Everything is streamed to disk: artifacts come from a ChaCha8 stream
// through a fixed buffer and reports are written one test case or SBOM
// component at a time, so generating a gigabyte costs a few megabytes of
// memory. Output is a pure function of Options: the same options give the
// same bytes, which keeps benchmark runs comparable.
//
// The generator is shared by tools/genrelease (the command) and the runner's
// benchmark, so that both measure the same project.
package gen

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options sizes a generated project.
type Options struct {
	// ArtifactBytes is the total size of the released artifacts, split
	// evenly over Artifacts files (the first takes the remainder).
	ArtifactBytes int64
	// Artifacts is the number of artifact files, at least one per
	// component (3), since every component must release something.
	Artifacts int
	// Tests is the total number of JUnit test cases over all reports, at
	// least MinTests.
	Tests int
	// SBOMComponents is the number of components in the class C
	// component's SBOM (the other two SBOMs are small and fixed).
	SBOMComponents int
	// Seed selects the pseudo-random content; the same seed gives the same
	// project byte for byte.
	Seed uint64
}

// MinTests is the smallest Tests a project can have: every report level of
// every component gets at least a few test cases.
const MinTests = 500

// Full returns the sizes of the large release: 1 GiB of artifacts
// in 4 files, 100,000 test cases and a 20,000-component SBOM.
func Full() Options {
	return Options{ArtifactBytes: 1 << 30, Artifacts: 4, Tests: 100_000, SBOMComponents: 20_000, Seed: 1}
}

// Scaled divides every size of o by div (at least 1), keeping the minimums
// Validate requires. Scaled(1) is o.
func (o Options) Scaled(div int) Options {
	if div <= 1 {
		return o
	}
	o.ArtifactBytes /= int64(div)
	o.Tests = max(o.Tests/div, MinTests)
	o.SBOMComponents = max(o.SBOMComponents/div, 1)
	return o
}

// Validate reports every size that cannot make a sealable project.
func (o Options) Validate() error {
	var probs []string
	if o.Artifacts < len(components) {
		probs = append(probs, fmt.Sprintf("artifacts %d: want at least %d (one per component)", o.Artifacts, len(components)))
	}
	if o.ArtifactBytes < int64(o.Artifacts) {
		probs = append(probs, fmt.Sprintf("artifact bytes %d: want at least one byte per artifact (%d)", o.ArtifactBytes, max(o.Artifacts, len(components))))
	}
	if o.Tests < MinTests {
		probs = append(probs, fmt.Sprintf("tests %d: want at least %d", o.Tests, MinTests))
	}
	if o.SBOMComponents < 1 {
		probs = append(probs, fmt.Sprintf("sbom components %d: want at least 1", o.SBOMComponents))
	}
	if len(probs) > 0 {
		return errors.New(strings.Join(probs, "; "))
	}
	return nil
}

// Project describes a generated project. Paths are absolute.
type Project struct {
	Dir    string
	Config string // evident.yaml
	// CIEnvFile holds CIEnv as KEY=VALUE lines, for `env $(cat FILE)`.
	CIEnvFile string

	Artifacts   []string // released files
	TestReports []string // JUnit XML, every level
	SBOMs       []string // CycloneDX JSON
	Anomalies   []string // anomaly lists (YAML)
	Documents   []string // release notes, installation procedure

	ArtifactBytes  int64
	InputBytes     int64 // every file evident reads, artifacts included
	Tests          int   // test cases over all reports
	Failures       int   // failed or erroring test cases, each named by an anomaly
	SBOMComponents int   // SOUP entries over all SBOMs
	AnomalyCount   int   // anomalies over all lists
}

// Generate writes a project sized by o into dir, which must not exist or be
// empty. On error, dir may hold a partial project.
func Generate(dir string, o Options) (*Project, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := checkEmpty(abs); err != nil {
		return nil, err
	}
	g := &generator{opts: o, dir: abs, p: &Project{Dir: abs}, failing: map[string][]failure{}}
	steps := []func() error{g.artifacts, g.reports, g.sboms, g.anomalies, g.documents, g.config, g.ciEnv}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if err := g.sumInputs(); err != nil {
		return nil, err
	}
	return g.p, nil
}

func checkEmpty(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("%s is not empty; generate into a new directory", dir)
	}
	return nil
}

// component is one generated component. Its test reports are listed in
// reportSpecs; its SBOM size is the option's for class C, fixed otherwise.
type component struct {
	name, kind, version, class string
	short                      string // file-name stem: fw, app, dashboard
	artifactStem               string
	artifactExts               []string // extensions cycled over its artifacts
	ecosystem                  string   // purl type of its SOUP
	sbomSize                   int      // 0: Options.SBOMComponents
	build                      string
	toolchain                  [][2]string
	idPrefix                   string // anomaly ids
}

var components = []component{
	{
		name: "bm-firmware", kind: "firmware", version: "4.0.0", class: "C", short: "fw",
		artifactStem: "bm-fw-4.0.0", artifactExts: []string{".bin", ".swu"}, ecosystem: "github",
		build:     "cmake --build build/fw --target bm-fw && imgtool sign",
		toolchain: [][2]string{{"arm-none-eabi-gcc", "13.3.rel1"}, {"cmake", "3.30.5"}},
		idPrefix:  "ANOM-FW-",
	},
	{
		name: "bm-app", kind: "app", version: "2.1.0", class: "B", short: "app",
		artifactStem: "bm-app-2.1.0", artifactExts: []string{".apk", ".ipa"}, ecosystem: "maven", sbomSize: 60,
		build:     "./gradlew assembleRelease",
		toolchain: [][2]string{{"gradle", "8.10.2"}, {"kotlin", "2.0.21"}},
		idPrefix:  "ANOM-APP-",
	},
	{
		name: "bm-dashboard", kind: "web", version: "1.3.0", class: "A", short: "dashboard",
		artifactStem: "bm-dashboard-1.3.0", artifactExts: []string{".tar.gz"}, ecosystem: "npm", sbomSize: 40,
		build:     "npm ci && npm run build",
		toolchain: [][2]string{{"node", "22.11.0"}},
		idPrefix:  "ANOM-DASH-",
	},
}

// generator carries the state of one Generate call.
type generator struct {
	opts Options
	dir  string
	p    *Project
	// failing lists the failing test cases per component name, in report
	// order, for the anomaly lists to explain.
	failing map[string][]failure
}

type failure struct {
	id      string // classname.name, as the policy matches it
	report  string // slash path relative to the project
	outcome string // failure | error
	message string
}

// create makes the parent directories of rel and creates the file (which
// must not exist), returning a buffered writer on it, a function that
// flushes and closes it, and its path. Files are not synced: the benchmark
// measures sealing, not generating.
func (g *generator) create(rel string) (*bufio.Writer, func() error, string, error) {
	path := filepath.Join(g.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, nil, "", err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	closeFn := func() error {
		if err := w.Flush(); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		return nil
	}
	return w, closeFn, path, nil
}

// writeFile writes one small file produced by fill.
func (g *generator) writeFile(rel string, fill func(*bufio.Writer)) (string, error) {
	w, closeFn, path, err := g.create(rel)
	if err != nil {
		return "", err
	}
	fill(w)
	return path, closeFn()
}

func (g *generator) sumInputs() error {
	var total int64
	err := filepath.WalkDir(g.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path == g.p.CIEnvFile {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		return nil
	})
	g.p.InputBytes = total
	return err
}

// CIEnv is the GitHub Actions environment the project is sealed in: a push
// of tag v9.0.0 of a fixed repository. Provenance is required for classes B
// and C, and this gives it without a git repository (whose commit would have
// to hash a gigabyte of artifacts).
func CIEnv() map[string]string {
	return map[string]string{
		"GITHUB_ACTIONS":     "true",
		"GITHUB_SHA":         "4b1e0c7f9a2d3e5f60718293a4b5c6d7e8f90a1b",
		"GITHUB_REPOSITORY":  "bench-org/bench-monitor",
		"GITHUB_RUN_ID":      "9100000001",
		"GITHUB_RUN_ATTEMPT": "1",
		"GITHUB_SERVER_URL":  "https://github.com",
		"GITHUB_EVENT_NAME":  "push",
		"GITHUB_REF":         "refs/tags/v9.0.0",
		"GITHUB_WORKFLOW":    "release",
		"RUNNER_OS":          "Linux",
		"RUNNER_ARCH":        "X64",
	}
}

func (g *generator) ciEnv() error {
	env := CIEnv()
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	path, err := g.writeFile("ci.env", func(w *bufio.Writer) {
		for _, k := range keys {
			fmt.Fprintf(w, "%s=%s\n", k, env[k])
		}
	})
	g.p.CIEnvFile = path
	return err
}
