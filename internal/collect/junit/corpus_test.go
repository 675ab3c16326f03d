package junit

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the parser's output")

const corpusDir = "../../../testdata/corpus/junit"

// corpusRejected lists the corpus files that MANIFEST.md marks invalid or
// malformed, with a fragment of the error each must produce.
var corpusRejected = map[string]string{
	"allure1-xml_not-junit.xml":                                   "not a JUnit report: root element is <test-suite>",
	"malformed_empty-file.xml":                                    "empty file",
	"malformed_not-xml.xml":                                       "not XML: text before the root element on line 1",
	"maven-failsafe_summary-not-junit.xml":                        "not a JUnit report: root element is <failsafe-summary>",
	"maven-surefire_corrupt-unclosed-start-tag.xml":               "unexpected end of file on line 18",
	"not-junit_suites-root.xml":                                   "not a JUnit report: root element is <suites>",
	"pytest_truncated.xml":                                        "unexpected end of file on line 11 inside <skipped>",
	"security_xxe-external-entity-doctype.xml":                    "DOCTYPE is not allowed in a test report (line 2)",
	"web-test-runner-junit-reporter_retries-placeholder-time.xml": "malformed XML on line 9: unescaped < inside quoted string",
}

func corpusFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no corpus files in %s", corpusDir)
	}
	return files
}

func summarizeFile(t testing.TB, path string) (evidence.TestSummary, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return Summarize(f)
}

// TestCorpusRejected checks that every invalid or malformed corpus file is
// rejected as invalid input with an error that says why.
func TestCorpusRejected(t *testing.T) {
	for name, want := range corpusRejected {
		t.Run(name, func(t *testing.T) {
			_, err := summarizeFile(t, filepath.Join(corpusDir, name))
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("error kind = %q, want invalid (%v)", evidence.KindOf(err), err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q, want it to contain %q", err, want)
			}
		})
	}
}

// TestCorpusGolden parses every valid corpus file and compares the result
// with testdata/golden.json. The hand-checked expectations are in
// TestCorpusHandChecked; the golden file pins the long tail against
// regressions. Regenerate it with: go test -run TestCorpusGolden -update
func TestCorpusGolden(t *testing.T) {
	const goldenPath = "testdata/golden.json"
	got := map[string]evidence.TestSummary{}
	for _, path := range corpusFiles(t) {
		name := filepath.Base(path)
		if _, bad := corpusRejected[name]; bad {
			continue
		}
		s, err := summarizeFile(t, path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got[name] = s
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	var want map[string]evidence.TestSummary
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("corpus summaries differ from %s (-want +got):\n%s", goldenPath, diff)
	}
}

// TestCorpusComplete makes sure a file added to the corpus gets a decision:
// every file is either expected to be rejected or listed in the golden file.
func TestCorpusComplete(t *testing.T) {
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden map[string]json.RawMessage
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, path := range corpusFiles(t) {
		name := filepath.Base(path)
		_, bad := corpusRejected[name]
		_, good := golden[name]
		if bad == good {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("corpus files neither rejected nor in golden.json (or both): %v", missing)
	}
	if n := len(golden) + len(corpusRejected); n != len(corpusFiles(t)) {
		t.Errorf("golden.json + rejected = %d files, corpus has %d", n, len(corpusFiles(t)))
	}
}

// handChecked holds expectations derived by reading the files, not from the
// parser. failures, when set, is the expected start of the failure list.
var handChecked = []struct {
	file     string
	want     evidence.TestSummary
	failures []evidence.TestCase
}{
	{
		// One testcase with two <flakyFailure> children and no <failure>:
		// it passed on the third attempt. The header's tests="3" counts
		// the attempts.
		file: "maven-surefire_3.0.2_flakyFailure.xml",
		want: evidence.TestSummary{Tests: 1, Passed: 1, Flaky: 1, DurationMs: 1},
	},
	{
		// <failure> followed by three <rerunFailure>: every attempt failed.
		file: "maven-surefire_3.0.2_rerunFailure-always-fails.xml",
		want: evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 1},
		failures: []evidence.TestCase{
			{Classname: "io.olamy.AlwaysFailTest", Name: "testApp", Outcome: "failed", Message: "built to fail"},
		},
	},
	{
		// error+rerunError x3, failure+rerunFailure x3, flakyFailure,
		// flakyError; times 0.01+0.003+0.0+0.001 s.
		file: "maven-surefire_3.0_rerunError-rerunFailure-stackTrace.xml",
		want: evidence.TestSummary{Tests: 4, Passed: 2, Failed: 1, Errors: 1, Flaky: 2, DurationMs: 14},
		failures: []evidence.TestCase{
			{Classname: "example.ExampleTests", Name: "throwsAlways", Outcome: "error", Message: "Always throws exception"},
			{Classname: "example.ExampleTests", Name: "failsAssertionAlways", Outcome: "failed", Message: "Always fails assertion ==> expected: <1> but was: <2>"},
		},
	},
	{
		// <error> then rerunError x2 and rerunFailure: the first run's
		// <error> decides; 0.201 s.
		file: "allure-retry_rerunError-rerunFailure.xml",
		want: evidence.TestSummary{Tests: 1, Errors: 1, DurationMs: 201},
	},
	{
		// Three adjacent attempts of one test (failure, failure, error):
		// one failed test, the first attempt's message; 3 x 1.0 s.
		file: "pytest-style_flaky-reruns-as-duplicate-testcases.xml",
		want: evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 3000},
		failures: []evidence.TestCase{
			{Classname: "test_always_fails.TestAlwaysFails", Name: "test_always_fails", Outcome: "failed", Message: "first failure"},
		},
	},
	{
		// TestNG retry: the earlier attempt is written as skipped, the
		// last one failed; <system-out/> and comments between them.
		file: "testng_JUnitReportReporter_duplicate-names.xml",
		want: evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 116},
		failures: []evidence.TestCase{
			{Classname: "org.apache.pulsar.AddMissingPatchVersionTest", Name: "testVersionStrings", Outcome: "failed", Message: "expected [1.2.1] but found [1.2.0]"},
		},
	},
	{
		// Same name twice, both passed: two tests, not reruns. The
		// negative time counts as 0.
		file: "jenkins-fixture_negative-duration-duplicates.xml",
		want: evidence.TestSummary{Tests: 2, Passed: 2, DurationMs: 100000},
	},
	{
		// <error> directly in <testsuite>: the suite failed to run.
		file: "jenkins-fixture_error-directly-under-testsuite.xml",
		want: evidence.TestSummary{Tests: 1, Errors: 1},
		failures: []evidence.TestCase{
			{Classname: "gda.device.detector.XHDetectorTest", Name: "(suite error)", Outcome: "error", Message: "gda/device/detector/DAServer"},
		},
	},
	{
		// testPrefix and testTable pass; test.3rdlevel is a suite with only
		// an <error>; 0.003 + 0.003 s.
		file: "jenkins-fixture_nested-testsuites-error-in-suite.xml",
		want: evidence.TestSummary{Tests: 3, Passed: 2, Errors: 1, DurationMs: 6},
		failures: []evidence.TestCase{
			{Classname: "test.3rdlevel", Name: "(suite error)", Outcome: "error", Message: "bla bla"},
		},
	},
	{
		// Testcases at three nesting levels; 1.321590 + 1.321319 +
		// 1.088170 + 0.988170 + 0.088170 = 4.807419 s.
		file: "phpunit-style_three-level-nesting.xml",
		want: evidence.TestSummary{Tests: 5, Passed: 5, DurationMs: 4807},
	},
	{
		// BOM; <skipped/>, status="notrun", and a normal test of 0.06 s.
		file: "jasmine-reporters_status-notrun-bom.xml",
		want: evidence.TestSummary{Tests: 3, Passed: 1, Skipped: 2, DurationMs: 60},
	},
	{
		// factorial: 6 passed, 5 failed, 1 errored, 5 disabled;
		// failing_checks: 14 failed. Two tests took 0.001 s.
		file: "tst-cpp_single-quoted-attrs-disabled.xml",
		want: evidence.TestSummary{Tests: 31, Passed: 6, Failed: 19, Errors: 1, Skipped: 5, DurationMs: 2},
		failures: []evidence.TestCase{
			{Name: "factorial_of_value_from_fixture", Outcome: "failed", Message: "/home/ivan/prj/tst/tests/failed/main.cpp:72: error: check_eq(3628800, 3628801)"},
			{Name: "positive_arguments_must_produce_expected_result", Outcome: "failed", Message: "/home/ivan/prj/tst/tests/failed/main.cpp:45: error: check_ne(6, 6)hello world!"},
			{Name: "test_which_throws_unknown_exception", Outcome: "error", Message: "uncaught (anonymous namespace)::some_unknown_exception"},
		},
	},
	{
		// The header claims tests="6" failures="1" skipped="2", but there
		// is no <testcase>.
		file: "pytest_counts-without-testcases.xml",
		want: evidence.TestSummary{},
	},
	{
		// 7580 testcases: 5130 plain, 2430 skipped, 18 failures, one with
		// failure + rerunFailure x3, one passing with flakyFailure x2.
		// Only the positive times count: they add up to 408.055 s.
		file: "jenkins-fixture_huge-1.2MB-negative-times.xml",
		want: evidence.TestSummary{Tests: 7580, Passed: 5131, Failed: 19, Skipped: 2430, Flaky: 1, DurationMs: 408055},
		failures: []evidence.TestCase{
			{Classname: "p2.S0.SomeLongLongLongLongLongTestName_0", Name: "Run 0", Outcome: "failed", Message: "failure message 0"},
		},
	},
	{
		// Skipped + failure + error in one testcase: failure wins.
		// 0.123 + 0.234 + 0.345 + 0.456 s.
		file: "generic_testcase-with-skipped-failure-and-error.xml",
		want: evidence.TestSummary{Tests: 4, Passed: 1, Failed: 2, Skipped: 1, DurationMs: 1158},
		failures: []evidence.TestCase{
			{Classname: "test class", Name: "test that errors", Outcome: "failed", Message: "test failure"},
			{Classname: "test class", Name: "test that fails", Outcome: "failed", Message: "test failure"},
		},
	},
	{
		// Four nameless testcases are four tests, never merged.
		file: "generic_no-attributes-at-all.xml",
		want: evidence.TestSummary{Tests: 4, Passed: 1, Failed: 1, Errors: 1, Skipped: 1},
		failures: []evidence.TestCase{
			{Outcome: "failed"},
			{Outcome: "error"},
		},
	},
	{
		// No message attribute: the body's text is the message.
		file: "generic_failure-text-only.xml",
		want: evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 1},
		failures: []evidence.TestCase{
			{Name: "Test 1", Outcome: "failed", Message: "Failed!"},
		},
	},
	{
		// Entities decoded in names and messages.
		file: "generic_xml-entities-in-names.xml",
		want: evidence.TestSummary{Tests: 4, Failed: 1, Errors: 1, Skipped: 2},
		failures: []evidence.TestCase{
			{Name: "Test with 'apostrophe' in the test name", Outcome: "failed", Message: "A message with 'apostrophes'"},
			{Name: "Test with & in the test name", Outcome: "error", Message: "A message with &"},
		},
	},
	{
		// status run/fail/notrun/disabled: disabled_test has no <skipped/>.
		// Times add up to 1.3013367 s.
		file: "ctest_3.25.1_output-junit.xml",
		want: evidence.TestSummary{Tests: 8, Passed: 3, Failed: 2, Skipped: 3, DurationMs: 1301},
		failures: []evidence.TestCase{
			{Classname: "fails", Name: "fails", Outcome: "failed"},
			{Classname: "times_out", Name: "times_out", Outcome: "failed"},
		},
	},
	{
		// The same name under two classnames is two tests.
		file: "jenkins-fixture_duplicate-names-no-decl-comment.xml",
		want: evidence.TestSummary{Tests: 2, Passed: 1, Failed: 1},
		failures: []evidence.TestCase{
			{Classname: "test.classname1", Name: "DuplicateTestName", Outcome: "failed", Message: "FAILED"},
		},
	},
	{
		// Exponent times: 17 + 174 + 87 + 36 microseconds round to 0 ms.
		file: "cunit_exponent-times.xml",
		want: evidence.TestSummary{Tests: 4, Passed: 3, Failed: 1},
		failures: []evidence.TestCase{
			{Name: "loadFromXMLString_When_Should2Test", Outcome: "failed", Message: "false == something.loadXml(xml_string)"},
		},
	},
	{
		// Nine fractional digits: 36.386333 + 92.039167 + 92.05175 ms.
		// swift test does not mark the skipped test, so it passed.
		file: "swift-test_xunit-output.xml",
		want: evidence.TestSummary{Tests: 3, Passed: 2, Failed: 1, DurationMs: 220},
		failures: []evidence.TestCase{
			{Classname: "AcmeLibTests.AcmeLibTests", Name: "test_always_fail", Outcome: "failed", Message: "failed"},
		},
	},
	{
		// Thousands separator on a suite time (ignored); testcase times
		// 10+11+10+12+12+13+13+20 s.
		file: "jenkins-fixture_time-with-thousands-separator.xml",
		want: evidence.TestSummary{Tests: 8, Passed: 8, DurationMs: 101000},
	},
	{
		// jest-junit writes a suite that failed to run as an <error>
		// testcase followed by a <failure> testcase of the same name: each
		// pair is one failed test. "todo test" has no result element, so
		// it passed. Times: 3 + 16 + 1 + 1 + 2 ms.
		file: "jest-junit_17.0.0_suite-errors-file-attr-console.xml",
		want: evidence.TestSummary{Tests: 9, Passed: 4, Failed: 4, Skipped: 1, DurationMs: 23},
		failures: []evidence.TestCase{
			{Classname: `math <ops> & "quotes" fails with diff`, Name: "fails with diff", Outcome: "failed", Message: "Error: expect(received).toEqual(expected) // deep equality"},
			{Classname: `math <ops> & "quotes" nested describe double(3) === 7`, Name: "double(3) === 7", Outcome: "failed", Message: "Error: expect(received).toBe(expected) // Object.is equality"},
			{Classname: "Test suite failed to run", Name: "test/sample.spec.js", Outcome: "failed", Message: "● Test suite failed to run"},
			{Classname: "Test suite failed to run", Name: "__tests__/broken.test.js", Outcome: "failed", Message: "● Test suite failed to run"},
		},
	},
	{
		// A classname that looks like a path is just a string.
		file: "security_path-traversal-classname.xml",
		want: evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 1051},
	},
	{
		// AntUnit: the duration is a <time> child element.
		file: "antunit_minimal.xml",
		want: evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 378},
	},
}

func TestCorpusHandChecked(t *testing.T) {
	for _, tc := range handChecked {
		t.Run(tc.file, func(t *testing.T) {
			got, err := summarizeFile(t, filepath.Join(corpusDir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if n := got.Failed + got.Errors; len(got.Failures) != min(n, evidence.MaxListedFailures) {
				t.Errorf("%d failures listed for %d failed and erroring tests", len(got.Failures), n)
			}
			listed := got.Failures
			got.Failures = nil
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
			if len(listed) > len(tc.failures) {
				listed = listed[:len(tc.failures)]
			}
			if diff := cmp.Diff(tc.failures, listed, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
		})
	}
}
