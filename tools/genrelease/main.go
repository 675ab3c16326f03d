// Command genrelease writes a large synthetic evident project, for the seal
// benchmark (docs/benchmarks.md):
//
//	go run ./tools/genrelease -out DIR [-artifact-bytes 1073741824] [-artifacts 4]
//	    [-tests 100000] [-sbom-components 20000] [-seed N]
//
// DIR gets evident.yaml, the artifacts, reports, SBOMs, anomaly lists and
// documents it names, and ci.env: the GitHub Actions variables to seal it
// with, since a class B or C release needs build provenance:
//
//	env $(cat DIR/ci.env) evident seal --config DIR/evident.yaml --key K --out OUT
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/evident-dev/evident/tools/genrelease/gen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	def := gen.Full()
	fs := flag.NewFlagSet("genrelease", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to create (must not exist or be empty)")
	o := gen.Options{}
	fs.Int64Var(&o.ArtifactBytes, "artifact-bytes", def.ArtifactBytes, "total size of the released artifacts")
	fs.IntVar(&o.Artifacts, "artifacts", def.Artifacts, "number of artifact files (at least 3)")
	fs.IntVar(&o.Tests, "tests", def.Tests, fmt.Sprintf("number of test cases over all JUnit reports (at least %d)", gen.MinTests))
	fs.IntVar(&o.SBOMComponents, "sbom-components", def.SBOMComponents, "components in the class C component's SBOM")
	fs.Uint64Var(&o.Seed, "seed", def.Seed, "seed of the pseudo-random content")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: genrelease -out DIR [flags]; -h lists the flags")
		return 2
	}
	p, err := gen.Generate(*out, o)
	if err != nil {
		fmt.Fprintln(stderr, "genrelease:", err)
		return 1
	}
	fmt.Fprintf(stdout, "wrote %s\n", p.Dir)
	fmt.Fprintf(stdout, "  artifacts: %d files, %d bytes\n", len(p.Artifacts), p.ArtifactBytes)
	fmt.Fprintf(stdout, "  tests:     %d test cases in %d reports, %d failing (each named by an evaluated anomaly)\n", p.Tests, len(p.TestReports), p.Failures)
	fmt.Fprintf(stdout, "  sbom:      %d SOUP components in %d SBOMs\n", p.SBOMComponents, len(p.SBOMs))
	fmt.Fprintf(stdout, "  anomalies: %d in %d lists\n", p.AnomalyCount, len(p.Anomalies))
	fmt.Fprintf(stdout, "  input:     %d bytes\n", p.InputBytes)
	fmt.Fprintf(stdout, "seal it with:\n  env $(cat %s) evident seal --config %s --key KEY --out OUT\n", p.CIEnvFile, p.Config)
	return 0
}
