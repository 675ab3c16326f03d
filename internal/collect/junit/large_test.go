package junit

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// generatedCounts is what writeReport writes for n test cases.
func generatedCounts(n int) evidence.TestSummary {
	var s evidence.TestSummary
	for i := range n {
		s.Tests++
		switch {
		case i%10 == 3:
			s.Failed++
		case i%50 == 7:
			s.Errors++
		case i%7 == 1:
			s.Skipped++
		default:
			s.Passed++
			if i%100 == 42 {
				s.Flaky++
			}
		}
	}
	s.DurationMs = int64(n) * 2 // every test case takes 0.002 s
	return s
}

// writeReport streams a report of n test cases in suites of 1000, with
// failures, errors, skips, flaky tests, properties and captured output.
func writeReport(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	fmt.Fprintf(bw, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%d\">\n", n)
	for i := range n {
		if i%1000 == 0 {
			if i > 0 {
				bw.WriteString("</testsuite>\n")
			}
			fmt.Fprintf(bw, "<testsuite name=\"suite.S%d\"><properties><property name=\"k\" value=\"v\"/></properties>\n", i/1000)
		}
		fmt.Fprintf(bw, `<testcase classname="pkg.Class%d" name="test_%d" time="0.002">`, i/1000, i)
		switch {
		case i%10 == 3:
			fmt.Fprintf(bw, `<failure message="expected %d, got %d" type="AssertionError"><![CDATA[Traceback:
  at line 1
  at line 2
]]></failure>`, i, i+1)
		case i%50 == 7:
			bw.WriteString(`<error message="boom">stack</error>`)
		case i%7 == 1:
			bw.WriteString(`<skipped message="not today"/>`)
		case i%100 == 42:
			bw.WriteString(`<flakyFailure message="first try"><stackTrace>x</stackTrace></flakyFailure>`)
		}
		bw.WriteString("<system-out>some captured output of the test, a line or two long\n</system-out></testcase>\n")
	}
	if n > 0 {
		bw.WriteString("</testsuite>\n")
	}
	bw.WriteString("</testsuites>\n")
	return bw.Flush()
}

func TestSummarizeLargeStreamedReport(t *testing.T) {
	n := 200_000
	if testing.Short() || raceEnabled {
		n = 20_000
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeReport(pw, n)) }()
	got, err := Summarize(pr)
	if err != nil {
		t.Fatal(err)
	}
	want := generatedCounts(n)
	if got.Tests != want.Tests || got.Passed != want.Passed || got.Failed != want.Failed ||
		got.Errors != want.Errors || got.Skipped != want.Skipped || got.Flaky != want.Flaky ||
		got.DurationMs != want.DurationMs {
		t.Errorf("got  %+v\nwant %+v", summaryCounts(got), summaryCounts(want))
	}
	if len(got.Failures) != evidence.MaxListedFailures {
		t.Errorf("%d failures listed, want %d", len(got.Failures), evidence.MaxListedFailures)
	}
	first := evidence.TestCase{Classname: "pkg.Class0", Name: "test_3", Outcome: "failed", Message: "expected 3, got 4"}
	if got.Failures[0] != first {
		t.Errorf("first failure = %+v, want %+v", got.Failures[0], first)
	}
}

func summaryCounts(s evidence.TestSummary) evidence.TestSummary {
	s.Failures = nil
	return s
}

// BenchmarkSummarize reads a generated report of about 50 MB from memory.
func BenchmarkSummarize(b *testing.B) {
	var buf bytes.Buffer
	if err := writeReport(&buf, 290_000); err != nil {
		b.Fatal(err)
	}
	report := buf.Bytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(report)))
	for b.Loop() {
		if _, err := Summarize(bytes.NewReader(report)); err != nil {
			b.Fatal(err)
		}
	}
}
