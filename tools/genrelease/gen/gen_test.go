package gen_test

import (
	"bytes"
	"compress/flate"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/tools/genrelease/gen"
)

// tiny is the smallest project Validate allows, with artifacts big enough
// to span several stream chunks.
func tiny() gen.Options {
	return gen.Options{ArtifactBytes: 3<<20 + 7, Artifacts: 5, Tests: gen.MinTests, SBOMComponents: 30, Seed: 7}
}

// TestGenerateSeals is the generator's contract: the project seals, the
// policy passes, and the release records exactly what Project says was
// generated.
func TestGenerateSeals(t *testing.T) {
	tests := []struct {
		name string
		opts gen.Options
	}{
		{"tiny", tiny()},
		{"more tests and SBOM components", gen.Options{ArtifactBytes: 4096, Artifacts: 3, Tests: 12_345, SBOMComponents: 1500, Seed: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p, err := gen.Generate(filepath.Join(dir, "project"), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if p.Tests != tt.opts.Tests || p.ArtifactBytes != tt.opts.ArtifactBytes || len(p.Artifacts) != tt.opts.Artifacts {
				t.Errorf("project has %d tests, %d artifact bytes in %d files; options asked for %d, %d, %d",
					p.Tests, p.ArtifactBytes, len(p.Artifacts), tt.opts.Tests, tt.opts.ArtifactBytes, tt.opts.Artifacts)
			}
			if p.Failures == 0 {
				t.Error("no failing test case: the anomaly path is not exercised")
			}

			cfg, err := config.Load(config.LoadOptions{Path: p.Config})
			if err != nil {
				t.Fatal(err)
			}
			st, err := runner.Collect(context.Background(), runner.Options{
				Config: cfg, Out: filepath.Join(dir, "release"), Env: ci.MapEnv(gen.CIEnv()), Version: "test",
			})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Discard()
			m := st.Manifest
			// Not only a pass: no rule warns either, so the benchmark
			// exercises every check on complete evidence.
			for _, r := range m.Policy.Rules {
				if r.Outcome != evidence.OutcomePass {
					t.Errorf("rule %s of %q: %s: %s %q", r.Rule, r.Component, r.Outcome, r.Message, r.Missing)
				}
			}
			if !m.Policy.Passed() {
				t.Fatal("the policy failed")
			}
			key, err := sign.GenerateKey("")
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Sign(context.Background(), sign.NewKeySigner(key)); err != nil {
				t.Fatal(err)
			}

			got := recorded(m)
			want := counts{
				Artifacts: len(p.Artifacts), ArtifactBytes: p.ArtifactBytes,
				Tests: p.Tests, Failing: p.Failures, SOUP: p.SBOMComponents, Anomalies: p.AnomalyCount,
				Classes: "CBA", Provenance: 3,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("release records (-generated +recorded):\n%s", diff)
			}
		})
	}
}

type counts struct {
	Artifacts     int
	ArtifactBytes int64
	Tests         int
	Failing       int
	SOUP          int
	Anomalies     int
	Classes       string
	Provenance    int
}

func recorded(m *evidence.Manifest) counts {
	var c counts
	for _, comp := range m.Components {
		c.Classes += string(comp.SafetyClass)
		c.Anomalies += len(comp.Anomalies)
		if comp.Provenance != nil && comp.Provenance.SourceRepo != "" {
			c.Provenance++
		}
		for _, a := range comp.Artifacts {
			c.Artifacts++
			c.ArtifactBytes += a.Size
		}
		for _, r := range comp.Evidence {
			if r.Tests != nil {
				c.Tests += r.Tests.Tests
				c.Failing += r.Tests.Failed + r.Tests.Errors
			}
			if r.SBOM != nil {
				c.SOUP += r.SBOM.Components
			}
		}
	}
	return c
}

// TestGenerateDeterministic: the same options give the same bytes, and the
// seed changes the content. Benchmarks are only comparable if this holds.
func TestGenerateDeterministic(t *testing.T) {
	dir := t.TempDir()
	gen1 := tree(t, filepath.Join(dir, "a"), tiny())
	gen2 := tree(t, filepath.Join(dir, "b"), tiny())
	if diff := cmp.Diff(gen1, gen2); diff != "" {
		t.Errorf("two runs with the same options differ (-first +second):\n%s", diff)
	}
	other := tiny()
	other.Seed++
	gen3 := tree(t, filepath.Join(dir, "c"), other)
	for name, d := range gen1 {
		if strings.HasPrefix(name, "build/") && gen3[name] == d {
			t.Errorf("%s is the same with seeds %d and %d", name, tiny().Seed, other.Seed)
		}
	}
}

// tree generates a project and returns the digest of every file by name.
func tree(t *testing.T, dir string, o gen.Options) map[string]string {
	t.Helper()
	if _, err := gen.Generate(dir, o); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		dg, _, err := digest.FromFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = dg.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestArtifactsIncompressible: artifacts stand in for firmware images and
// app packages, so they must not be trivially compressible (a file of zeros
// would flatter any storage or transfer benchmark built on them).
func TestArtifactsIncompressible(t *testing.T) {
	p, err := gen.Generate(t.TempDir(), tiny())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Artifacts {
		b, err := os.ReadFile(a)
		if err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.BestSpeed)
		w.Write(b)
		w.Close()
		if z.Len() < len(b)*99/100 {
			t.Errorf("%s: %d bytes compress to %d", filepath.Base(a), len(b), z.Len())
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*gen.Options)
		want []string // substrings of the error; none: valid
	}{
		{"full", func(o *gen.Options) { *o = gen.Full() }, nil},
		{"minimum", func(o *gen.Options) {}, nil},
		{"too few artifacts", func(o *gen.Options) { o.Artifacts = 2 }, []string{"artifacts 2: want at least 3"}},
		{"artifacts smaller than a byte each", func(o *gen.Options) { o.ArtifactBytes = 4 }, []string{"artifact bytes 4"}},
		{"negative artifact bytes", func(o *gen.Options) { o.ArtifactBytes = -1 }, []string{"artifact bytes -1"}},
		{"too few tests", func(o *gen.Options) { o.Tests = gen.MinTests - 1 }, []string{"tests 499: want at least 500"}},
		{"no SBOM components", func(o *gen.Options) { o.SBOMComponents = 0 }, []string{"sbom components 0"}},
		{"every problem at once", func(o *gen.Options) { *o = gen.Options{} }, []string{"artifacts 0", "tests 0", "sbom components 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := gen.Options{ArtifactBytes: 5, Artifacts: 5, Tests: gen.MinTests, SBOMComponents: 1}
			tt.edit(&o)
			err := o.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error naming %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestScaled(t *testing.T) {
	full := gen.Full()
	tests := []struct {
		name string
		div  int
		want gen.Options
	}{
		{"by 1 is unchanged", 1, full},
		{"by 0 is unchanged", 0, full},
		{"by 20", 20, gen.Options{ArtifactBytes: (1 << 30) / 20, Artifacts: 4, Tests: 5000, SBOMComponents: 1000, Seed: 1}},
		{"keeps the minimums", 1_000_000, gen.Options{ArtifactBytes: 1073, Artifacts: 4, Tests: gen.MinTests, SBOMComponents: 1, Seed: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := full.Scaled(tt.div)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Scaled(%d) (-want +got):\n%s", tt.div, diff)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Scaled(%d) is not valid: %v", tt.div, err)
			}
		})
	}
}

func TestGenerateRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string) error
		opts  gen.Options
		want  string
	}{
		{"a directory that is not empty", func(dir string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "keep.txt"), []byte("mine"), 0o644)
		}, tiny(), "is not empty"},
		{"invalid options", func(string) error { return nil }, gen.Options{}, "want at least"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "p")
			if err := tt.setup(dir); err != nil {
				t.Fatal(err)
			}
			_, err := gen.Generate(dir, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Generate() = %v, want an error containing %q", err, tt.want)
			}
			if b, err := os.ReadFile(filepath.Join(dir, "keep.txt")); err == nil && string(b) != "mine" {
				t.Error("Generate changed a file it refused to overwrite")
			}
		})
	}
}
