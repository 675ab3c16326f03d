package gen

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// testsPerAnomaly is how many failing test cases one anomaly explains.
const testsPerAnomaly = 3

var (
	anomalyKinds = []string{"performance", "defect", "usability", "security"}
	evaluators   = []string{"Dr. Maria Lindqvist (Clinical Safety Officer)", "Jonas Weber (Product Security Lead)", "Aiko Tanaka (QA Manager)"}
)

// anomalies writes one list per component. The failing test cases of a
// component are explained, testsPerAnomaly at a time, by open anomalies
// with a full evaluation (risk acceptable); a component with failures also
// lists a closed anomaly and a deferred SOUP anomaly that name no test. A
// component without failures states that it has no anomalies.
func (g *generator) anomalies() error {
	for _, c := range components {
		fails := g.failing[c.name]
		path, err := g.writeFile("anomalies/"+c.short+".yaml", func(w *bufio.Writer) {
			if len(fails) == 0 {
				writeLines(w, "# "+c.name+" ships with no known residual anomalies (reviewed 2026-11-19, QA).", "anomalies: []")
				return
			}
			writeLines(w, "# Known residual anomalies of "+c.name+" "+c.version+", evaluated per SOP-PR-004.", "anomalies:")
			seq := 1
			for start := 0; start < len(fails); start += testsPerAnomaly {
				group := fails[start:min(start+testsPerAnomaly, len(fails))]
				g.writeAnomaly(w, c, seq, group)
				seq++
			}
			g.writeClosedAnomaly(w, c, seq)
			g.writeSOUPAnomaly(w, c, seq+1)
			g.p.AnomalyCount += 2
		})
		if err != nil {
			return err
		}
		g.p.Anomalies = append(g.p.Anomalies, path)
	}
	return nil
}

func (g *generator) writeAnomaly(w *bufio.Writer, c component, seq int, tests []failure) {
	g.p.AnomalyCount++
	kind := anomalyKinds[seq%len(anomalyKinds)]
	fmt.Fprintf(w, "  - id: %s%04d\n", c.idPrefix, seq)
	fmt.Fprintf(w, "    title: %s\n", q(fmt.Sprintf("%s exceeds its limit in %d test(s) under load", tests[0].id, len(tests))))
	fmt.Fprintf(w, "    description: >-\n      %s\n      Seen in %s.\n", tests[0].message, tests[0].report)
	fmt.Fprintf(w, "    kind: %s\n", kind)
	fmt.Fprintf(w, "    components: [%s@%s]\n", c.name, c.version)
	fmt.Fprintf(w, "    discovered: {date: 2026-11-%02d, how: %s, by: %s}\n", 1+seq%18, q("CI test run "+tests[0].id), q("Test engineering"))
	fmt.Fprintf(w, "    links: [%s]\n", q(fmt.Sprintf("https://tracker.example.com/BM/issues/%d", 1000+seq)))
	fmt.Fprintf(w, "    safetyImpact: {hazards: [HAZ-%03d], severity: minor}\n", 1+seq%40)
	if kind == "security" {
		fmt.Fprintf(w, "    securityImpact: {cwe: [CWE-400], exploitability: %s}\n", q("not exploitable: requires physical access to the debug port"))
	}
	w.WriteString("    riskAcceptable: true\n")
	w.WriteString("    rationale: >-\n      The limit is a design margin, not a clinical requirement; measured values stay\n      within the specification in the risk management file (RMF-9.0 section 7.3).\n")
	w.WriteString("    mitigation: Alerts are repeated until acknowledged.\n")
	fmt.Fprintf(w, "    plannedCorrection: {version: %s}\n", q(nextMinor(c.version)))
	fmt.Fprintf(w, "    evaluatedBy: %s\n", q(evaluators[seq%len(evaluators)]))
	fmt.Fprintf(w, "    evaluatedAt: 2026-11-%02d\n", 18+seq%3)
	w.WriteString("    status: open\n")
	w.WriteString("    tests:\n")
	for _, t := range tests {
		fmt.Fprintf(w, "      - %s\n", q(t.id))
	}
	w.WriteByte('\n')
}

func (g *generator) writeClosedAnomaly(w *bufio.Writer, c component, seq int) {
	fmt.Fprintf(w, "  - id: %s%04d\n", c.idPrefix, seq)
	w.WriteString("    title: Log rotation could drop the last line on power loss\n")
	w.WriteString("    kind: defect\n")
	fmt.Fprintf(w, "    components: [%s]\n", c.name)
	w.WriteString("    discovered: {date: 2026-08-02, how: \"field complaint\", by: \"Customer support\"}\n")
	w.WriteString("    riskAcceptable: true\n")
	w.WriteString("    rationale: Corrected in this release; regression test added.\n")
	fmt.Fprintf(w, "    evaluatedBy: %s\n", q(evaluators[2]))
	w.WriteString("    evaluatedAt: 2026-08-10\n")
	w.WriteString("    status: closed\n\n")
}

func (g *generator) writeSOUPAnomaly(w *bufio.Writer, c component, seq int) {
	fmt.Fprintf(w, "  - id: %s%04d\n", c.idPrefix, seq)
	w.WriteString("    title: TLS library timing side channel in RSA decryption\n")
	w.WriteString("    kind: soup\n")
	fmt.Fprintf(w, "    components: [%s]\n", c.name)
	w.WriteString("    discovered: {date: 2026-11-02, how: \"SBOM vulnerability scan\", by: \"Product security\"}\n")
	w.WriteString("    securityImpact: {cwe: [CWE-208], exploitability: \"not exploitable: no RSA private-key operations\"}\n")
	w.WriteString("    riskAcceptable: true\n")
	w.WriteString("    rationale: The vulnerable code path is not reachable in our configuration.\n")
	fmt.Fprintf(w, "    evaluatedBy: %s\n", q(evaluators[1]))
	w.WriteString("    evaluatedAt: 2026-11-05\n")
	w.WriteString("    status: deferred\n")
}

// documents writes the release notes and installation procedure of every
// component but the last.
func (g *generator) documents() error {
	for _, c := range components[:len(components)-1] {
		path, err := g.writeFile("docs/"+c.short+"-release-notes.md", func(w *bufio.Writer) {
			writeLines(w, "# "+c.name+" "+c.version+" release notes", "",
				"Generated for the evident seal benchmark. Changes since the previous release:", "")
			for i := range 40 {
				fmt.Fprintf(w, "- BM-%d: %s %s\n", 2000+i, verbs[i%len(verbs)], strings.ReplaceAll(nouns[i%len(nouns)], "_", " "))
			}
		})
		if err != nil {
			return err
		}
		g.p.Documents = append(g.p.Documents, path)
	}
	path, err := g.writeFile("docs/install-update.md", func(w *bufio.Writer) {
		writeLines(w, "# Installation and update procedure", "",
			"1. Verify the release with `evident verify` before delivery.",
			"2. Update the device over the air from the app; the bootloader checks the image signature.",
			"3. Roll back automatically when the new image fails to boot three times.")
	})
	g.p.Documents = append(g.p.Documents, path)
	return err
}

// config writes evident.yaml.
func (g *generator) config() error {
	path, err := g.writeFile("evident.yaml", func(w *bufio.Writer) {
		fmt.Fprintf(w, "# A synthetic release for the seal benchmark, written by tools/genrelease:\n")
		fmt.Fprintf(w, "# %d artifact bytes in %d files, %d test cases, %d SBOM components (seed %d).\n",
			g.opts.ArtifactBytes, g.opts.Artifacts, g.opts.Tests, g.opts.SBOMComponents, g.opts.Seed)
		w.WriteString("product: {name: bench-monitor, version: 9.0.0}\n\ncomponents:\n")
		for i, c := range components {
			fmt.Fprintf(w, "  - name: %s\n    kind: %s\n    version: %s\n    safetyClass: %s\n", c.name, c.kind, c.version, c.class)
			fmt.Fprintf(w, "    artifacts: [%s]\n", q("build/"+c.short+"/*"))
			w.WriteString("    tests:\n")
			for _, s := range reportSpecs {
				if s.comp == i {
					fmt.Fprintf(w, "      - {path: %s, level: %s}\n", q(s.pattern()), s.level)
				}
			}
			fmt.Fprintf(w, "    sbom: [%s]\n", q("sbom/"+c.short+".cdx.json"))
			fmt.Fprintf(w, "    anomalies: [%s]\n", q("anomalies/"+c.short+".yaml"))
			if i < len(components)-1 {
				fmt.Fprintf(w, "    releaseNotes: %s\n", q("docs/"+c.short+"-release-notes.md"))
			}
			if i == 0 {
				w.WriteString("    installation: docs/install-update.md\n")
			}
			fmt.Fprintf(w, "    build:\n      command: %s\n      toolchain:\n", q(c.build))
			for _, t := range c.toolchain {
				fmt.Fprintf(w, "        - {name: %s, version: %s}\n", q(t[0]), q(t[1]))
			}
			w.WriteByte('\n')
		}
	})
	g.p.Config = path
	return err
}

// q quotes s as a YAML double-quoted scalar. Generated text is printable
// ASCII, for which Go's and YAML's escapes agree.
func q(s string) string { return strconv.Quote(s) }

// nextMinor returns the version after v's minor release: 4.0.0 -> 4.1.0.
func nextMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v + ".1"
	}
	m, err := strconv.Atoi(parts[1])
	if err != nil {
		return v + ".1"
	}
	return parts[0] + "." + strconv.Itoa(m+1) + ".0"
}
