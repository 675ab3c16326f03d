package gen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"strings"
)

// reportSpec is one test-report source of a component: its share of
// Options.Tests (per mille), level and file names.
type reportSpec struct {
	comp     int // index into components
	level    string
	dir      string // under reports/
	prefix   string // file names: PREFIX-NN.xml
	perMille int
	style    string // naming style: pytest | junit5 | jest
	failures bool   // whether some of its test cases fail
}

// reportSpecs are the test reports of a project. The shares add up to 1000;
// the first takes the rounding remainder. The dashboard (class A) ships with
// an empty anomaly list, so its tests all pass, as do the system tests.
var reportSpecs = []reportSpec{
	{comp: 0, level: "unit", dir: "fw", prefix: "unit", perMille: 450, style: "pytest", failures: true},
	{comp: 0, level: "integration", dir: "fw", prefix: "hil", perMille: 100, style: "pytest", failures: true},
	{comp: 1, level: "unit", dir: "app", prefix: "unit", perMille: 200, style: "junit5", failures: true},
	{comp: 1, level: "integration", dir: "app", prefix: "integration", perMille: 80, style: "junit5", failures: true},
	{comp: 2, level: "unit", dir: "dashboard", prefix: "jest-junit", perMille: 150, style: "jest"},
	{comp: 0, level: "system", dir: "system", prefix: "system", perMille: 20, style: "pytest"},
}

// Report layout: at most casesPerFile test cases per file, grouped into
// suites of casesPerSuite nested suitesPerModule to a module suite; one
// failing test case per failEvery (at least one per file that fails).
const (
	casesPerFile    = 10_000
	casesPerSuite   = 40
	suitesPerModule = 12
	failEvery       = 2_000
)

// pattern is the evident.yaml glob of a report source.
func (s reportSpec) pattern() string { return "reports/" + s.dir + "/" + s.prefix + "-*.xml" }

// reportCounts splits n test cases over reportSpecs.
func reportCounts(n int) []int {
	counts := make([]int, len(reportSpecs))
	sum := 0
	for i, s := range reportSpecs {
		counts[i] = n * s.perMille / 1000
		sum += counts[i]
	}
	counts[0] += n - sum
	return counts
}

func (g *generator) reports() error {
	rng := rand.New(rand.NewPCG(g.opts.Seed, 0x7e575))
	for i, n := range reportCounts(g.opts.Tests) {
		s := reportSpecs[i]
		files := (n + casesPerFile - 1) / casesPerFile
		for f := range files {
			cases := n / files
			if f == 0 {
				cases += n % files
			}
			rel := fmt.Sprintf("reports/%s/%s-%02d.xml", s.dir, s.prefix, f+1)
			if err := g.report(rng, s, rel, f, cases); err != nil {
				return err
			}
			g.p.Tests += cases
		}
	}
	return nil
}

// report writes one JUnit file of n test cases:
// testsuites > module suite > class suite > testcase.
func (g *generator) report(rng *rand.Rand, s reportSpec, rel string, fileIdx, n int) error {
	w, closeFn, path, err := g.create(rel)
	if err != nil {
		return err
	}
	c := components[s.comp]
	fails := 0
	if s.failures {
		fails = max(1, n/failEvery)
	}
	// Failing cases are spread evenly, one in each stretch of the file.
	stride := n / max(fails, 1)
	failAt := map[int]bool{}
	for k := range fails {
		failAt[k*stride+rng.IntN(stride)] = true
	}

	fmt.Fprintf(w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"%s %s tests\" tests=\"%d\">\n", c.name, s.level, n)
	idx := 0
	for mod := 0; idx < n; mod++ {
		module := moduleName(s.style, c.short, fileIdx, mod)
		fmt.Fprintf(w, "  <testsuite name=\"%s\" timestamp=\"2026-11-20T%02d:%02d:00Z\" hostname=\"ci-runner-%d\">\n", module, 6+mod%12, mod%60, 1+mod%4)
		fmt.Fprintf(w, "    <properties><property name=\"component\" value=\"%s@%s\"/><property name=\"seed\" value=\"%d\"/></properties>\n", c.name, c.version, g.opts.Seed)
		for suite := 0; suite < suitesPerModule && idx < n; suite++ {
			class := className(s.style, module, suite)
			k := min(casesPerSuite, n-idx)
			fmt.Fprintf(w, "    <testsuite name=\"%s\" tests=\"%d\" time=\"%.3f\">\n", class, k, float64(k)*0.37)
			for j := 0; j < k; j++ {
				name := caseName(rng, s.style, idx)
				fmt.Fprintf(w, "      <testcase classname=\"%s\" name=\"%s\" time=\"%.3f\"", class, name, rng.ExpFloat64()*0.25)
				switch {
				case failAt[idx]:
					f := failure{id: class + "." + name, report: rel, outcome: "failure", message: failureMessage(rng)}
					if g.p.Failures%3 == 2 { // every third one errors instead
						f.outcome = "error"
					}
					g.failing[c.name] = append(g.failing[c.name], f)
					g.p.Failures++
					fmt.Fprintf(w, ">\n        <%s message=\"%s\" type=\"AssertionError\">%s\n", f.outcome, f.message, traceback(class, name, f.message))
					fmt.Fprintf(w, "        </%s>\n      </testcase>\n", f.outcome)
				case rng.IntN(100) == 0:
					fmt.Fprint(w, ">\n        <skipped message=\"requires hardware revision EVT4\"/>\n      </testcase>\n")
				case rng.IntN(50) == 0:
					fmt.Fprintf(w, ">\n        <system-out><![CDATA[%s]]></system-out>\n      </testcase>\n", logLines(rng, name))
				default:
					fmt.Fprint(w, "/>\n")
				}
				idx++
			}
			fmt.Fprint(w, "    </testsuite>\n")
		}
		fmt.Fprint(w, "  </testsuite>\n")
	}
	fmt.Fprint(w, "</testsuites>\n")
	if err := closeFn(); err != nil {
		return err
	}
	g.p.TestReports = append(g.p.TestReports, path)
	return nil
}

var (
	modules = []string{"sensing", "ecg", "spo2", "ble", "storage", "ota", "power", "alerts", "sync", "ui", "crypto", "scheduler", "settings", "telemetry", "pairing", "trends"}
	verbs   = []string{"detects", "rejects", "accepts", "retries", "buffers", "encodes", "decodes", "validates", "reports", "recovers", "schedules", "throttles"}
	nouns   = []string{"afib_pattern", "sinus_rhythm", "low_battery", "reconnect", "packet_loss", "checksum", "signature", "timeout", "overflow", "empty_input", "clock_skew", "brownout"}
)

func moduleName(style, short string, file, mod int) string {
	m := modules[(file*7+mod)%len(modules)]
	switch style {
	case "junit5":
		return fmt.Sprintf("com.example.bench.%s.%s%d", short, m, mod)
	case "jest":
		return fmt.Sprintf("src/%s/%s-%d", m, m, mod)
	}
	return fmt.Sprintf("tests.%s.test_%s_%d", short, m, mod)
}

func className(style, module string, suite int) string {
	switch style {
	case "junit5":
		return fmt.Sprintf("%s.Case%02dTest", module, suite)
	case "jest":
		return fmt.Sprintf("%s.test.tsx group %d", module, suite)
	}
	return fmt.Sprintf("%s.TestGroup%02d", module, suite)
}

// caseName is unique within a report: idx is part of it.
func caseName(rng *rand.Rand, style string, idx int) string {
	v, n := verbs[rng.IntN(len(verbs))], nouns[rng.IntN(len(nouns))]
	switch style {
	case "junit5":
		return fmt.Sprintf("%s%s_%d()", camel(v), camel(n), idx)
	case "jest":
		return fmt.Sprintf("%s %s (%d)", v, strings.ReplaceAll(n, "_", " "), idx)
	}
	return fmt.Sprintf("test_%s_%s_%d", v, n, idx)
}

func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func failureMessage(rng *rand.Rand) string {
	want := 10 + rng.IntN(50)
	return fmt.Sprintf("AssertionError: took %d.%d s, limit %d s", want+rng.IntN(20)+1, rng.IntN(10), want)
}

func traceback(class, name, msg string) string {
	file := strings.ReplaceAll(class, ".", "/") + ".py"
	return fmt.Sprintf("%s:88: in %s\n    assert elapsed &lt; limit\nE   %s", file, name, msg)
}

func logLines(rng *rand.Rand, name string) string {
	var b strings.Builder
	for i := range 3 + rng.IntN(5) {
		fmt.Fprintf(&b, "\n%08.3f DEBUG %s step %d ok", rng.Float64()*100, name, i)
	}
	return b.String()
}

// writeLines writes each line followed by a newline.
func writeLines(w *bufio.Writer, lines ...string) {
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
}
