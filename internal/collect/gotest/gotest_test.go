package gotest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/collect/junit"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite the JUnit golden files from ToJUnit's output")

// The fixtures are real output of go1.26.8 on testdata/sample (see
// testdata/GENERATED.md). calc has a passing, a failing and a skipped test,
// a table test with a failing subtest and a test with a skipped subtest.
var calcSummary = evidence.TestSummary{
	Tests: 10, Passed: 5, Failed: 3, Skipped: 2,
	Failures: []evidence.TestCase{
		{Classname: "example.com/sample/calc", Name: "TestAddFails", Outcome: "failed", Message: "calc_test.go:17: Add(2, 2) = 4, want 5"},
		// The parent of a failing subtest fails, without output of its own.
		{Classname: "example.com/sample/calc", Name: "TestTable", Outcome: "failed", Message: "Failed"},
		{Classname: "example.com/sample/calc", Name: "TestTable/wrong", Outcome: "failed", Message: "calc_test.go:36: Add(2, 2) = 4, want 5"},
	},
}

// ./... adds a package that does not compile and one whose second test
// panics.
var allSummary = evidence.TestSummary{
	Tests: 13, Passed: 6, Failed: 4, Errors: 1, Skipped: 2,
	Failures: []evidence.TestCase{
		{Classname: "example.com/sample/broken", Name: "[build failed]", Outcome: "error",
			Message: `build failed: broken/broken.go:4:28: cannot use "not an int" (untyped string constant) as int value in return statement`},
		calcSummary.Failures[0],
		calcSummary.Failures[1],
		calcSummary.Failures[2],
		{Classname: "example.com/sample/panics", Name: "TestPanics", Outcome: "failed", Message: "Failed"},
	},
}

var fixtures = []struct {
	file   string
	format Format
	want   evidence.TestSummary
}{
	{"testdata/go-test-json_calc.json", FormatJSON, calcSummary},
	{"testdata/go-test-v_calc.txt", FormatText, calcSummary},
	{"testdata/go-test-json_build-failure-and-panic.json", FormatJSON, allSummary},
	{"testdata/go-test-v_build-failure-and-panic.txt", FormatText, allSummary},
	// -json output may contain plain text lines, so text output also
	// reads as FormatJSON.
	{"testdata/go-test-v_calc.txt", FormatJSON, calcSummary},
}

func open(t testing.TB, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestSummarizeFixtures(t *testing.T) {
	for _, tc := range fixtures {
		t.Run(tc.file+"/"+string(tc.format), func(t *testing.T) {
			got, err := Summarize(open(t, tc.file), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestToJUnit(t *testing.T) {
	tests := []struct {
		in     string
		format Format
		golden string
	}{
		{"testdata/go-test-json_calc.json", FormatJSON, "testdata/go-test-json_calc.junit.xml"},
		{"testdata/go-test-v_build-failure-and-panic.txt", FormatText, "testdata/go-test-v_build-failure-and-panic.junit.xml"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var out bytes.Buffer
			if err := ToJUnit(open(t, tc.in), tc.format, &out); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(tc.golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tc.golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", tc.golden, diff)
			}
			for _, attr := range []string{"timestamp=", "hostname="} {
				if strings.Contains(out.String(), attr) {
					t.Errorf("output has %s: it must not depend on when or where it was converted", attr)
				}
			}
			// The report on its own says what Summarize says.
			fromXML, err := junit.Summarize(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			direct, err := Summarize(open(t, tc.in), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(direct, fromXML); diff != "" {
				t.Errorf("summary of the XML differs from Summarize (-Summarize +XML):\n%s", diff)
			}
		})
	}
}

func TestSummarizeRejects(t *testing.T) {
	calcJSON, err := os.ReadFile("testdata/go-test-json_calc.json")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(calcJSON), "\n")
	tests := []struct {
		name   string
		in     string
		format Format
		want   string
	}{
		{"empty -json", "", FormatJSON, "no test results found in go test output"},
		{"empty -v", "", FormatText, "no test results found in go test output"},
		{"plain text", "hello\nworld\n", FormatText, "no test results found in go test output"},
		{"a JUnit report", `<testsuites><testsuite name="x"><testcase name="a"/></testsuite></testsuites>`, FormatText, "no test results found in go test output"},
		{"JSON that is not go test output", `{"tests": 3}` + "\n", FormatJSON, "no test results found in go test output"},
		{
			"truncated last line",
			strings.Join(lines[:13], "") + lines[13][:40],
			FormatJSON,
			"go test -json output line 14: truncated JSON event: unexpected end of JSON input",
		},
		{
			"broken line in the middle",
			strings.Join(lines[:2], "") + `{"Action":"output","Output":` + "\n" + strings.Join(lines[2:], ""),
			FormatJSON,
			"go test -json output line 3: not a JSON event: unexpected end of JSON input",
		},
		{
			"event with a wrong type",
			`{"Action":"run","Package":"p","Test":"TestX","Elapsed":"slow"}` + "\n",
			FormatJSON,
			"go test -json output line 1: not a JSON event: json: cannot unmarshal string into Go struct field event.Elapsed of type float64",
		},
		{
			"stream cut between lines",
			strings.Join(lines[:20], ""),
			FormatJSON,
			"go test -json output is incomplete: package example.com/sample/calc has no final result (was the run interrupted or the file truncated?)",
		},
		{
			"event line longer than 64 KiB",
			`{"Action":"output","Package":"p","Output":"` + strings.Repeat("x", 70<<10) + `"}` + "\n",
			FormatJSON,
			"go test -json output line 1: event longer than 64 KiB",
		},
		{"-json output read as text", string(calcJSON), FormatText, `this is go test -json output, not go test -v output: use format "go-test-json"`},
		{"unknown format", "ok  p 0.1s\n", Format("junit"), `unknown go test output format "junit": want "go-test-json" or "go-test-text"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Summarize(strings.NewReader(tc.in), tc.format)
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind = %q, want invalid", evidence.KindOf(err))
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\n    want %q", err, tc.want)
			}
			if err := ToJUnit(strings.NewReader(tc.in), tc.format, io.Discard); err == nil || err.Error() != tc.want {
				t.Errorf("ToJUnit error = %v, want the same as Summarize", err)
			}
		})
	}
}

func TestSummarizeAccepts(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		format Format
		want   evidence.TestSummary
	}{
		{
			"long -v output line",
			"=== RUN   TestA\n" + strings.Repeat("y", 1<<20) + "\n--- PASS: TestA (0.25s)\nPASS\nok  \tp\t0.3s\n",
			FormatText,
			evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 250},
		},
		{
			"long plain text line in -json output",
			// go-junit-report reads the Output of the events, not their
			// Action.
			strings.Repeat("z", 100<<10) + "\n" +
				`{"Action":"start","Package":"p"}` + "\n" +
				`{"Action":"run","Package":"p","Test":"TestA"}` + "\n" +
				`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}` + "\n" +
				`{"Action":"output","Package":"p","Test":"TestA","Output":"--- PASS: TestA (1.50s)\n"}` + "\n" +
				`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":1.5}` + "\n" +
				`{"Action":"output","Package":"p","Output":"PASS\n"}` + "\n" +
				`{"Action":"output","Package":"p","Output":"ok  \tp\t1.6s\n"}` + "\n" +
				`{"Action":"pass","Package":"p","Elapsed":1.6}` + "\n",
			FormatJSON,
			evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 1500},
		},
		{
			"packages without tests",
			"?   \tp/a\t[no test files]\nok  \tp/b\t0.01s [no tests to run]\n",
			FormatText,
			evidence.TestSummary{},
		},
		{
			// go-junit-report copies build output into the XML unescaped.
			"bytes XML cannot hold in build output",
			"# p\nbad \xff\x00 line\nFAIL\tp [build failed]\n",
			FormatText,
			evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{
				{Classname: "p", Name: "[build failed]", Outcome: "error", Message: "build failed: bad \uFFFD\uFFFD line"},
			}},
		},
		{
			"test without a result is an error",
			"=== RUN   TestHangs\nFAIL\tp\t600.0s\n",
			FormatText,
			evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{
				{Classname: "p", Name: "TestHangs", Outcome: "error", Message: "No test result found"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Summarize(strings.NewReader(tc.in), tc.format)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// onceFailingReader returns its error once, then io.EOF, as some network
// readers do; the error must not be lost in a buffer.
type onceFailingReader struct {
	err  error
	done bool
}

func (r *onceFailingReader) Read([]byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	return 0, r.err
}

func TestSummarizeReadError(t *testing.T) {
	cause := errors.New("connection reset")
	for _, f := range []Format{FormatJSON, FormatText} {
		for name, failing := range map[string]io.Reader{
			"persistent": failingReader{cause},
			"once":       &onceFailingReader{err: cause},
		} {
			r := io.MultiReader(strings.NewReader("=== RUN   TestA\n--- PASS: TestA (0.00s)\nok  \tp\t0.1s\n"), failing)
			_, err := Summarize(r, f)
			if !errors.Is(err, cause) {
				t.Errorf("%s, %s: error = %v, want it to wrap the reader's error", f, name, err)
			}
			if evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("%s, %s: a read error is not invalid input: %v", f, name, err)
			}
		}
	}
}

func TestIsGoLogLine(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"    calc_test.go:17: Add(2, 2) = 4, want 5", true},
		{"\tx.go:1: y", true},
		{"stdout <&> ünïcødé", false},
		{"    calc_test.go:17: ", false},
		{"    calc_test.go:: x", false},
		{"see my file.go:12: x", false},
		{".go:12: x", false},
		{"panic: runtime error", false},
	}
	for _, tc := range tests {
		if got := isGoLogLine(tc.line); got != tc.want {
			t.Errorf("isGoLogLine(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}
