package junit

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func summarizeString(s string) (evidence.TestSummary, error) {
	return Summarize(strings.NewReader(s))
}

func TestSummarizeAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want evidence.TestSummary
	}{
		{
			name: "bare testsuite root",
			in:   `<testsuite name="s"><testcase name="a" time="1.5"/></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 1500},
		},
		{
			name: "empty testsuites",
			in:   `<?xml version="1.0"?><testsuites/>`,
			want: evidence.TestSummary{},
		},
		{
			name: "BOM, comments, processing instructions, single quotes",
			in: "\xEF\xBB\xBF<?xml version='1.0' encoding='utf-8'?>\n<!-- generated -->\n<?pi data?>" +
				"<testsuites name='x'><testsuite><testcase name='a' time='0.25'><skipped/></testcase></testsuite></testsuites>\n<!-- bye -->\n",
			want: evidence.TestSummary{Tests: 1, Skipped: 1, DurationMs: 250},
		},
		{
			name: "testcases at every level of nesting",
			in: `<testsuites><testcase name="top"/><testsuite><testcase name="a"/>` +
				`<testsuite><testsuite><testcase name="b"/></testsuite></testsuite><testcase name="c"/></testsuite></testsuites>`,
			want: evidence.TestSummary{Tests: 4, Passed: 4},
		},
		{
			name: "testcase inside something else is not a test",
			in: `<testsuite><properties><testcase name="p"/></properties>` +
				`<testcase name="a"><testcase name="inner"/></testcase><system-out><testcase name="o"/></system-out></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1},
		},
		{
			name: "header counts are ignored",
			in:   `<testsuite tests="99" failures="7" errors="3" skipped="1"><testcase name="a"/></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1},
		},
		{
			name: "namespaced and unknown attributes, default namespace",
			in: `<testsuites xmlns="urn:junit" xmlns:x="urn:x" x:id="1"><testsuite x:name="no" weird="1">` +
				`<testcase x:status="notrun" name="a" x:time="9"/></testsuite></testsuites>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1},
		},
		{
			name: "status attribute skips, any case",
			in: `<testsuite><testcase name="a" status="NotRun"/><testcase name="b" status="disabled"/>` +
				`<testcase name="c" status="skipped"/><testcase name="d" status="run"/><testcase name="e" status="failed"/></testsuite>`,
			want: evidence.TestSummary{Tests: 5, Passed: 2, Skipped: 3},
		},
		{
			name: "flaky markers on a passing test",
			in: `<testsuite><testcase name="a"><flakyFailure message="m"/><flakyError/></testcase>` +
				`<testcase name="b"><flakyError/></testcase></testsuite>`,
			want: evidence.TestSummary{Tests: 2, Passed: 2, Flaky: 2},
		},
		{
			name: "skipped beats flaky",
			in:   `<testsuite><testcase name="a"><flakyFailure/><skipped/></testcase></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Skipped: 1},
		},
		{
			name: "system-out and properties of any size are skipped",
			in: `<testsuite><properties><property name="p" value="v"/></properties><testcase name="a">` +
				`<system-out>` + strings.Repeat("out put\n", 100000) + `</system-out>` +
				`<system-err><![CDATA[` + strings.Repeat("<x>", 1000) + `]]></system-err></testcase></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1},
		},
		{
			name: "ISO-8859-1 declaration is converted",
			in: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase name=\"caf\xe9\">" +
				"<failure message=\"\xe9chec\"/></testcase></testsuite>",
			want: evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{
				{Name: "café", Outcome: "failed", Message: "échec"},
			}},
		},
		{
			name: "US-ASCII declaration reads as UTF-8",
			in:   `<?xml version="1.0" encoding="US-ASCII"?><testsuite><testcase name="a"/></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Passed: 1},
		},
		{
			name: "classname falls back to class",
			in: `<testsuite><testcase class="Cest" name="a"><error/></testcase>` +
				`<testcase class="Ignored" classname="Real" name="b"><error/></testcase></testsuite>`,
			want: evidence.TestSummary{Tests: 2, Errors: 2, Failures: []evidence.TestCase{
				{Classname: "Cest", Name: "a", Outcome: "error"},
				{Classname: "Real", Name: "b", Outcome: "error"},
			}},
		},
		{
			name: "path-like names are kept verbatim",
			in:   `<testsuite><testcase classname="../../etc/passwd" name="/dev/null"><failure/></testcase></testsuite>`,
			want: evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{
				{Classname: "../../etc/passwd", Name: "/dev/null", Outcome: "failed"},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizeString(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestSummarizeRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // the complete error text
	}{
		{"empty", "", "empty file"},
		{"only a BOM", "\xEF\xBB\xBF", "empty file"},
		{"only whitespace and a comment", " \n<!-- x -->\n", "not a JUnit report: no root element"},
		{"plain text", "hello\nworld", "not XML: text before the root element on line 1"},
		{"JSON", `{"tests": 1}`, "not XML: text before the root element on line 1"},
		{"other root", "<?xml version=\"1.0\"?>\n<failsafe-summary result=\"255\"/>", "not a JUnit report: root element is <failsafe-summary>"},
		{"other root in a namespace", `<ns2:test-suite xmlns:ns2="urn:allure"/>`, `not a JUnit report: root element is <test-suite> (namespace "urn:allure")`},
		{"root is a testcase", `<testcase name="a"/>`, "not a JUnit report: root element is <testcase>"},
		{
			"DOCTYPE",
			"<?xml version=\"1.0\"?>\n<!DOCTYPE testsuite [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<testsuite><testcase name=\"&x;\"/></testsuite>",
			"DOCTYPE is not allowed in a test report (line 2)",
		},
		{"undefined entity", "<testsuite>\n<testcase name=\"&x;\"/></testsuite>", "malformed XML on line 2: invalid character entity &x;"},
		{
			"truncated",
			"<testsuite>\n<testcase name=\"a\">\n<failure>boom",
			"truncated or malformed report: unexpected end of file on line 3 inside <failure> (unexpected EOF)",
		},
		{"unclosed start tag", "<testsuite>\n<testcase name=\"a\"", "truncated or malformed report: unexpected end of file on line 2 inside <testsuite> (unexpected EOF)"},
		{"mismatched end tag", "<testsuite>\n<testcase>\n</testsuite>", "malformed XML on line 3: element <testcase> closed by </testsuite>"},
		{"raw < in attribute", "<testsuite>\n<testcase time=\"<computed>\"/></testsuite>", "malformed XML on line 2: unescaped < inside quoted string"},
		{"invalid UTF-8", "<testsuite>\n<testcase name=\"a\">\n<failure message=\"\xff\xfe\"/></testcase></testsuite>", "invalid UTF-8 on line 3: the report must be encoded as UTF-8 or declare its encoding"},
		{"UTF-16", "\xFF\xFE<\x00t\x00", "the report is UTF-16 encoded: only UTF-8, ISO-8859-1 and US-ASCII are supported"},
		{"unsupported encoding", `<?xml version="1.0" encoding="Shift_JIS"?><testsuite/>`, `unsupported encoding "Shift_JIS": the report must be UTF-8, ISO-8859-1 or US-ASCII`},
		{"unsupported XML version", "<?xml version=\"0\"?>\n<testsuite/>", `malformed XML on line 1: unsupported version "0"; only version 1.0 is supported`},
		{"illegal character", "<testsuite>\n<testcase name=\"a&#0;\"/></testsuite>", "malformed XML on line 2: illegal character code U+0000"},
		{"two reports in one file", "<testsuite/>\n<testsuite/>", "unexpected element <testsuite> after the root element on line 2"},
		{"text after the root", "<testsuite/>\ntrailing", "unexpected text after the root element on line 2"},
		{
			"nesting too deep",
			"<testsuites>\n" + strings.Repeat("<testsuite>", MaxDepth) + strings.Repeat("</testsuite>", MaxDepth) + "</testsuites>",
			"elements nested deeper than 256 on line 2",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := summarizeString(tc.in)
			if err == nil {
				t.Fatal("accepted; want an error")
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind = %q, want invalid", evidence.KindOf(err))
			}
			if err.Error() != tc.want {
				t.Errorf("error = %q\n    want %q", err, tc.want)
			}
		})
	}
}

func TestSummarizeDepthLimitIsExact(t *testing.T) {
	// MaxDepth levels, the root included, are accepted.
	in := strings.Repeat("<testsuite>", MaxDepth-1) + `<testcase name="deep"/>` + strings.Repeat("</testsuite>", MaxDepth-1)
	got, err := summarizeString(in)
	if err != nil {
		t.Fatalf("%d levels: %v", MaxDepth, err)
	}
	if got.Tests != 1 {
		t.Errorf("Tests = %d, want 1", got.Tests)
	}
	in = strings.Repeat("<testsuite>", MaxDepth) + "<x/>" + strings.Repeat("</testsuite>", MaxDepth)
	if _, err := summarizeString(in); err == nil {
		t.Fatalf("%d levels accepted", MaxDepth+1)
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// onceFailingReader returns its error once, then io.EOF.
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
	cause := errors.New("disk on fire")
	for _, tc := range []struct {
		name    string
		prefix  string
		failing io.Reader
	}{
		{"persistent", `<testsuite><testcase name="a"/>`, failingReader{cause}},
		{"once", `<testsuite><testcase name="a"/>`, &onceFailingReader{err: cause}},
		{"before any byte", ``, failingReader{cause}},
		{"once, after a complete report", `<testsuite/>`, &onceFailingReader{err: cause}},
	} {
		_, err := Summarize(io.MultiReader(strings.NewReader(tc.prefix), tc.failing))
		if !errors.Is(err, cause) {
			t.Errorf("%s: error = %v, want it to wrap the reader's error", tc.name, err)
		}
		if evidence.IsKind(err, evidence.KindInvalid) {
			t.Errorf("%s: a read error is not invalid input: %v", tc.name, err)
		}
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name string
		body string // the children of one <testcase name="t">
		want evidence.TestSummary
	}{
		{"passed", ``, evidence.TestSummary{Tests: 1, Passed: 1}},
		{"failure", `<failure message="m"/>`, evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "m"}}}},
		{"error", `<error message="m"/>`, evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "error", Message: "m"}}}},
		{"skipped", `<skipped message="later"/>`, evidence.TestSummary{Tests: 1, Skipped: 1}},
		{
			"several failures are one failed test with the first message",
			`<failure message="one"/><failure message="two"/>`,
			evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "one"}}},
		},
		{
			"failure beats an earlier error",
			`<error message="e"/><failure message="f"/>`,
			evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "f"}}},
		},
		{
			"failure beats skipped",
			`<skipped/><failure message="f"/>`,
			evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "f"}}},
		},
		{
			"failure beats flaky markers",
			`<flakyFailure message="x"/><failure message="f"/>`,
			evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "f"}}},
		},
		{
			"rerunFailure after error: error",
			`<error message="e"/><rerunFailure message="r"/>`,
			evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "error", Message: "e"}}},
		},
		{
			"rerunFailure alone fails closed",
			`<rerunFailure message="r1"/><rerunError message="r2"/>`,
			evidence.TestSummary{Tests: 1, Failed: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "failed", Message: "r1"}}},
		},
		{
			"rerunError alone fails closed",
			`<rerunError><stackTrace>java.lang.IllegalStateException
	at x</stackTrace></rerunError>`,
			evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{{Name: "t", Outcome: "error", Message: "java.lang.IllegalStateException"}}},
		},
		{
			"failure nested deeper is not a result",
			`<properties><failure/></properties><system-out><error/></system-out>`,
			evidence.TestSummary{Tests: 1, Passed: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizeString(`<testsuite><testcase name="t">` + tc.body + `</testcase></testsuite>`)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	long := strings.Repeat("é", 400)
	tests := []struct {
		name    string
		failure string
		want    string
	}{
		{"attribute", `<failure message="  expected 1, got 2  ">body</failure>`, "expected 1, got 2"},
		{"first line of a multi-line attribute", `<failure message="first&#10;second"/>`, "first"},
		{"first non-empty line of the attribute", `<failure message="&#10;  &#10;  real one&#10;next"/>`, "real one"},
		{"body when there is no attribute", "<failure>\n\n   Assertion failed: x\n   at y\n</failure>", "Assertion failed: x"},
		{"body when the attribute is blank", `<failure message="  "><![CDATA[from cdata]]></failure>`, "from cdata"},
		{"body split over text and CDATA", "<failure>  part one, <![CDATA[part two]]>\nnext</failure>", "part one, part two"},
		{"body in a nested element", "<failure><stackTrace>\nfrom the stack trace\n</stackTrace></failure>", "from the stack trace"},
		{"CR line ending", "<failure message=\"a&#13;b\"/>", "a"},
		{"no message at all", `<failure/>`, ""},
		{"300 characters at most", `<failure message="` + long + `"/>`, strings.Repeat("é", 300)},
		{"300 characters of a long body", `<failure>` + long + `</failure>`, strings.Repeat("é", 300)},
		{"astral plane characters", `<failure message="𒀀𒀁 failed 😋"/>`, "𒀀𒀁 failed 😋"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizeString(`<testsuite><testcase name="t">` + tc.failure + `</testcase></testsuite>`)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Failures) != 1 {
				t.Fatalf("failures = %v, want one", got.Failures)
			}
			if msg := got.Failures[0].Message; msg != tc.want {
				t.Errorf("message = %q, want %q", msg, tc.want)
			}
		})
	}
}

func TestLineCaptureKeepsValidUTF8(t *testing.T) {
	var c lineCapture
	c.reset()
	// A rune cut by the byte limit, and invalid bytes from a reader that
	// did not check them.
	c.write([]byte("ok \xff then " + strings.Repeat("😋", 400)))
	got := c.String()
	if !utf8.ValidString(got) {
		t.Fatalf("invalid UTF-8: %q", got)
	}
	if n := utf8.RuneCountInString(got); n != MaxMessageRunes {
		t.Errorf("%d runes, want %d", n, MaxMessageRunes)
	}
	if !strings.HasPrefix(got, "ok \uFFFD then 😋") {
		t.Errorf("message = %q", got)
	}
}

func TestReruns(t *testing.T) {
	tc := func(name, body string) string {
		return `<testcase classname="C" name="` + name + `" time="1">` + body + `</testcase>`
	}
	pass := func(name string) string { return tc(name, "") }
	fail := func(name, msg string) string { return tc(name, `<failure message="`+msg+`"/>`) }
	errc := func(name, msg string) string { return tc(name, `<error message="`+msg+`"/>`) }
	skip := func(name string) string { return tc(name, `<skipped/>`) }
	tests := []struct {
		name  string
		cases string
		want  evidence.TestSummary
	}{
		{
			"failed then passed: one flaky pass",
			fail("a", "1") + pass("a"),
			evidence.TestSummary{Tests: 1, Passed: 1, Flaky: 1, DurationMs: 2000},
		},
		{
			"failed twice then passed",
			fail("a", "1") + errc("a", "2") + pass("a"),
			evidence.TestSummary{Tests: 1, Passed: 1, Flaky: 1, DurationMs: 3000},
		},
		{
			"every attempt failed: first message",
			fail("a", "1") + fail("a", "2"),
			evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "1"}}},
		},
		{
			"error only when every failing attempt errored",
			errc("a", "1") + errc("a", "2"),
			evidence.TestSummary{Tests: 1, Errors: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "error", Message: "1"}}},
		},
		{
			"error then failure is failed, with the first message",
			errc("a", "1") + fail("a", "2"),
			evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "1"}}},
		},
		{
			"TestNG: skipped attempts then a failure",
			skip("a") + skip("a") + fail("a", "x"),
			evidence.TestSummary{Tests: 1, Failed: 1, DurationMs: 3000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "x"}}},
		},
		{
			"skipped then passed is a plain pass",
			skip("a") + pass("a"),
			evidence.TestSummary{Tests: 1, Passed: 1, DurationMs: 2000},
		},
		{
			"all skipped",
			skip("a") + skip("a"),
			evidence.TestSummary{Tests: 1, Skipped: 1, DurationMs: 2000},
		},
		{
			"passed then failed: two tests, the failure is not hidden",
			pass("a") + fail("a", "x"),
			evidence.TestSummary{Tests: 2, Passed: 1, Failed: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "x"}}},
		},
		{
			"passed twice: two tests (parameterised)",
			pass("a") + pass("a"),
			evidence.TestSummary{Tests: 2, Passed: 2, DurationMs: 2000},
		},
		{
			"failed, passed, failed: a flaky pass and a failure",
			fail("a", "1") + pass("a") + fail("a", "2"),
			evidence.TestSummary{Tests: 2, Passed: 1, Flaky: 1, Failed: 1, DurationMs: 3000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "2"}}},
		},
		{
			"not adjacent: separate tests",
			fail("a", "1") + pass("b") + pass("a"),
			evidence.TestSummary{Tests: 3, Passed: 2, Failed: 1, DurationMs: 3000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "1"}}},
		},
		{
			"other elements between attempts do not break adjacency",
			fail("a", "1") + `<system-out/><!-- c --><properties/>` + pass("a"),
			evidence.TestSummary{Tests: 1, Passed: 1, Flaky: 1, DurationMs: 2000},
		},
		{
			"a nested suite breaks adjacency",
			fail("a", "1") + `<testsuite/>` + pass("a"),
			evidence.TestSummary{Tests: 2, Passed: 1, Failed: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "1"}}},
		},
		{
			"nameless test cases are never merged",
			fail("", "1") + pass(""),
			evidence.TestSummary{Tests: 2, Passed: 1, Failed: 1, DurationMs: 2000, Failures: []evidence.TestCase{{Classname: "C", Outcome: "failed", Message: "1"}}},
		},
		{
			"different classname: separate tests",
			fail("a", "1") + `<testcase classname="D" name="a"/>`,
			evidence.TestSummary{Tests: 2, Passed: 1, Failed: 1, DurationMs: 1000, Failures: []evidence.TestCase{{Classname: "C", Name: "a", Outcome: "failed", Message: "1"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizeString(`<testsuite name="S">` + tc.cases + `</testsuite>`)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("attempts in sibling suites are not merged", func(t *testing.T) {
		got, err := summarizeString(`<testsuites><testsuite>` + fail("a", "1") + `</testsuite><testsuite>` + pass("a") + `</testsuite></testsuites>`)
		if err != nil {
			t.Fatal(err)
		}
		if got.Tests != 2 || got.Failed != 1 || got.Flaky != 0 {
			t.Errorf("got %+v, want 2 tests, 1 failed, 0 flaky", got)
		}
	})
}

func TestSuiteErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want evidence.TestSummary
	}{
		{
			"error in a suite",
			`<testsuite name="S"><error message="no class">trace</error><testcase name="a"/></testsuite>`,
			evidence.TestSummary{Tests: 2, Passed: 1, Errors: 1, Failures: []evidence.TestCase{{Classname: "S", Name: "(suite error)", Outcome: "error", Message: "no class"}}},
		},
		{
			"failure in a suite is an error too; only the first counts",
			`<testsuite name="S"><failure>setup failed
at x</failure><error message="second"/></testsuite>`,
			evidence.TestSummary{Tests: 1, Errors: 1, Failures: []evidence.TestCase{{Classname: "S", Name: "(suite error)", Outcome: "error", Message: "setup failed"}}},
		},
		{
			"each suite counts once",
			`<testsuites name="all"><error message="top"/><testsuite name="A"><error/></testsuite><testsuite name="B"><testsuite name="C"><failure/></testsuite></testsuite></testsuites>`,
			evidence.TestSummary{Tests: 3, Errors: 3, Failures: []evidence.TestCase{
				{Classname: "all", Name: "(suite error)", Outcome: "error", Message: "top"},
				{Classname: "A", Name: "(suite error)", Outcome: "error"},
				{Classname: "C", Name: "(suite error)", Outcome: "error"},
			}},
		},
		{
			"listed in report order among test failures",
			`<testsuite name="S"><testcase name="a"><failure message="1"/></testcase><error message="2"/><testcase name="b"><failure message="3"/></testcase></testsuite>`,
			evidence.TestSummary{Tests: 3, Failed: 2, Errors: 1, Failures: []evidence.TestCase{
				{Name: "a", Outcome: "failed", Message: "1"},
				{Classname: "S", Name: "(suite error)", Outcome: "error", Message: "2"},
				{Name: "b", Outcome: "failed", Message: "3"},
			}},
		},
		{
			"skipped directly in a suite is not a test",
			`<testsuite name="S"><skipped/></testsuite>`,
			evidence.TestSummary{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := summarizeString(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailuresAreCapped(t *testing.T) {
	const n = evidence.MaxListedFailures + 500
	var b strings.Builder
	b.WriteString("<testsuite>")
	for i := range n {
		fmt.Fprintf(&b, `<testcase name="t%d"><failure message="m%d"/></testcase><testcase name="p%d"/>`, i, i, i)
	}
	b.WriteString("</testsuite>")
	got, err := summarizeString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.Tests != 2*n || got.Failed != n || got.Passed != n {
		t.Errorf("counts = %d tests, %d failed, %d passed; want %d, %d, %d", got.Tests, got.Failed, got.Passed, 2*n, n, n)
	}
	if len(got.Failures) != evidence.MaxListedFailures {
		t.Fatalf("%d failures listed, want %d", len(got.Failures), evidence.MaxListedFailures)
	}
	if last := got.Failures[len(got.Failures)-1]; last.Name != fmt.Sprintf("t%d", evidence.MaxListedFailures-1) {
		t.Errorf("last listed = %q, want the first %d in report order", last.Name, evidence.MaxListedFailures)
	}
	if !got.FailuresTruncated() {
		t.Error("FailuresTruncated() = false")
	}
}

func TestParseSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // microseconds
	}{
		{"", 0},
		{"0", 0},
		{"1", 1_000_000},
		{" 0.25 ", 250_000},
		{"0.001", 1_000},
		{"4.5e-05", 45},
		{"4.50611114501953e-05", 45},
		{"1.7E-05", 17},
		{"0.220477250", 220_477},
		{"2,503.1", 2_503_100_000},
		{"1,234,567", 1_234_567_000_000},
		{"1,5", 1_500_000},
		{"2.503,1", 2_503_100_000},
		{"-345345", 0},
		{"-0.5", 0},
		{"NaN", 0},
		{"Inf", 0},
		{"1e400", 0},
		{"0x10", 0},
		{"<computed>", 0},
		{"12s", 0},
		{"1.2.3", 0},
		{strings.Repeat("9", 65), 0},
		{"1e300", maxSeconds * 1e6},
	}
	for _, tc := range tests {
		if got := parseSeconds(tc.in); got != tc.want {
			t.Errorf("parseSeconds(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestDurationSaturates(t *testing.T) {
	var b strings.Builder
	b.WriteString("<testsuite>")
	for range 2000 {
		b.WriteString(`<testcase name="x" time="1e300"/>`)
	}
	b.WriteString("</testsuite>")
	got, err := summarizeString(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if got.DurationMs <= 0 {
		t.Errorf("DurationMs = %d, want a large positive value", got.DurationMs)
	}
}

// hugeText is a report whose one failure message never ends: memory must
// stay bounded and the error must say why.
type hugeText struct{ n int }

func (h *hugeText) Read(p []byte) (int, error) {
	if h.n == 0 {
		h.n++
		return copy(p, `<testsuite><testcase name="t"><failure>`), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestSummarizeHugeTextRunIsRefused(t *testing.T) {
	_, err := Summarize(&hugeText{})
	if err == nil || !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "too large") {
		t.Fatalf("err = %v, want an invalid-input error saying the text is too large", err)
	}
}
