// Package gotest summarises the output of `go test -json` and `go test -v`.
//
// The output is converted to JUnit XML with github.com/jstemmer/go-junit-report/v2
// and the XML is summarised by the junit package, streamed through a pipe,
// so that a Go test run is counted by exactly the same rules as every other
// JUnit report: one <testcase> per test and per subtest ("TestTable/wrong"),
// a parent test whose subtest failed fails too, and a skipped test is skipped.
//
// Conversion details worth knowing, all from go-junit-report:
//
//   - A package that fails to build is one erroring test named
//     "[build failed]" whose classname is the package and whose message is
//     the first compiler error. A package whose test binary fails outside any
//     test (a panic in TestMain or init, a failing TestMain) is one erroring
//     test named "Failure".
//   - A test that started but has no result (the run was killed, or the
//     output cut short) is an erroring test: nothing unfinished counts as
//     passed.
//   - Benchmarks are tests; examples are tests.
//   - go-junit-report builds its whole report in memory before writing XML,
//     so memory grows with the size of the go test output (unlike the junit
//     package, which streams). The XML itself is streamed to the junit
//     package through a pipe, never buffered.
//   - go-junit-report cannot read a -json event line longer than 64 KiB;
//     such a line is rejected here with its line number. go test itself
//     splits test output into events of about 1 KiB, so real output never
//     has one.
//
// The generic "Failed" message go-junit-report puts on every failing Go test
// is replaced by the first "file_test.go:NN: ..." line the test logged, and
// a build error's by the first compiler message, so that the listed failures
// say what went wrong.
//
// Bytes a test printed that are not valid UTF-8, or not allowed in XML
// (NUL and other control characters), become U+FFFD in the report.
//
// Input that is not go test output (empty, plain text, another format) has
// no test results and is rejected; so is -json output with a line that is
// not a complete JSON event, -json output in which a package has no final
// result (the run was interrupted or the file truncated), and -json output
// given as FormatText. (-v output given as FormatJSON reads correctly: the
// -json parser reads plain lines as text, as go test can mix them in.) All
// such errors are evidence.KindInvalid.
package gotest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/collect/junit"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/jstemmer/go-junit-report/v2/gtr"
	junitxml "github.com/jstemmer/go-junit-report/v2/junit"
	"github.com/jstemmer/go-junit-report/v2/parser/gotest"
)

// Format is the form of go test output.
type Format string

// The formats: `go test -json` and `go test -v` output.
const (
	FormatJSON Format = evidence.FormatGoTestJSON
	FormatText Format = evidence.FormatGoTestText
)

// Summarize reads `go test -json` (FormatJSON) or `go test -v` (FormatText)
// output and returns its summary, counted by the junit package's rules.
func Summarize(r io.Reader, f Format) (evidence.TestSummary, error) {
	suites, err := convert(r, f)
	if err != nil {
		return evidence.TestSummary{}, err
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(writeXML(pw, suites))
	}()
	sum, err := junit.Summarize(pr)
	// Unblock the writer if the reader stopped early, then wait for it.
	pr.CloseWithError(errors.New("summary finished"))
	<-done
	if err != nil {
		// Only the conversion's own output is read here, so this is a
		// bug rather than bad input.
		return evidence.TestSummary{}, evidence.Errorf(evidence.KindInternal, "summarize converted go test output: %v", err)
	}
	return sum, nil
}

// ToJUnit converts `go test -json` (FormatJSON) or `go test -v`
// (FormatText) output to a JUnit XML report on w. Its output has no
// timestamps or host names, so the same input always gives the same bytes.
func ToJUnit(r io.Reader, f Format, w io.Writer) error {
	suites, err := convert(r, f)
	if err != nil {
		return err
	}
	if err := writeXML(w, suites); err != nil {
		return fmt.Errorf("write JUnit XML: %w", err)
	}
	return nil
}

// convert parses go test output into JUnit test suites.
func convert(r io.Reader, f Format) (junitxml.Testsuites, error) {
	// A zero timestamp leaves the timestamp attribute out: the time of the
	// conversion is not the time of the test run.
	opts := []gotest.Option{gotest.TimestampFunc(func() time.Time { return time.Time{} })}
	sniff := &sniffer{r: r}
	var parse func(io.Reader) (gtr.Report, error)
	var check *jsonChecker
	switch f {
	case FormatJSON:
		check = newJSONChecker(sniff)
		parse = gotest.NewJSONParser(opts...).Parse
	case FormatText:
		parse = gotest.NewParser(opts...).Parse
	default:
		return junitxml.Testsuites{}, evidence.Errorf(evidence.KindInvalid,
			"unknown go test output format %q: want %q or %q", f, FormatJSON, FormatText)
	}
	var in io.Reader = sniff
	if check != nil {
		in = check
	} else {
		br := bufio.NewReaderSize(sniff, maxJSONLine)
		if looksLikeJSON(br) {
			return junitxml.Testsuites{}, evidence.Errorf(evidence.KindInvalid,
				"this is go test -json output, not go test -v output: use format %q", FormatJSON)
		}
		in = br
	}
	report, err := parse(in)
	if err != nil {
		var ee *evidence.Error
		if errors.As(err, &ee) {
			return junitxml.Testsuites{}, err
		}
		if sniff.err != nil {
			return junitxml.Testsuites{}, fmt.Errorf("read go test output: %w", sniff.err)
		}
		return junitxml.Testsuites{}, evidence.Errorf(evidence.KindInvalid, "invalid go test -json output: %v", err)
	}
	if sniff.err != nil { // a read error that a buffer swallowed
		return junitxml.Testsuites{}, fmt.Errorf("read go test output: %w", sniff.err)
	}
	if check != nil {
		if err := check.complete(); err != nil {
			return junitxml.Testsuites{}, err
		}
	}
	if len(report.Packages) == 0 {
		return junitxml.Testsuites{}, evidence.Errorf(evidence.KindInvalid, "no test results found in go test output")
	}
	suites := junitxml.CreateFromReport(report, "")
	xmlSafe(&suites)
	improveMessages(&suites)
	return suites, nil
}

// xmlSafe replaces invalid UTF-8 and characters XML cannot hold (NUL and
// other control characters) in everything go-junit-report copied from the
// test output: a test may print any bytes, and go-junit-report would write
// some of them into the XML as they are.
func xmlSafe(suites *junitxml.Testsuites) {
	fix := func(s *string) {
		*s = strings.Map(func(r rune) rune {
			if isXMLChar(r) {
				return r
			}
			return '\uFFFD'
		}, strings.ToValidUTF8(*s, "\uFFFD"))
	}
	fixResult := func(r *junitxml.Result) {
		if r != nil {
			fix(&r.Message)
			fix(&r.Type)
			fix(&r.Data)
		}
	}
	fixOutput := func(o *junitxml.Output) {
		if o != nil {
			fix(&o.Data)
		}
	}
	fix(&suites.Name)
	for i := range suites.Suites {
		ts := &suites.Suites[i]
		fix(&ts.Name)
		fix(&ts.Package)
		if ts.Properties != nil {
			for j := range *ts.Properties {
				fix(&(*ts.Properties)[j].Name)
				fix(&(*ts.Properties)[j].Value)
			}
		}
		fixOutput(ts.SystemOut)
		fixOutput(ts.SystemErr)
		for j := range ts.Testcases {
			tc := &ts.Testcases[j]
			fix(&tc.Name)
			fix(&tc.Classname)
			fixResult(tc.Skipped)
			fixResult(tc.Error)
			fixResult(tc.Failure)
			fixOutput(tc.SystemOut)
			fixOutput(tc.SystemErr)
		}
	}
}

func writeXML(w io.Writer, suites junitxml.Testsuites) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return suites.WriteXML(w)
}

// isXMLChar reports whether r may appear in an XML 1.0 document (the Char
// production).
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// isGoLogLine reports whether line was logged by t.Error, t.Fatal, t.Log
// and friends: "    file_test.go:17: message".
func isGoLogLine(line string) bool {
	line = strings.TrimLeft(line, " \t")
	i := strings.Index(line, ".go:")
	if i <= 0 || strings.ContainsAny(line[:i], " \t:") {
		return false
	}
	rest := line[i+len(".go:"):]
	digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
	rest = rest[digits:]
	return digits > 0 && len(rest) > 2 && strings.HasPrefix(rest, ": ") && !isBlank(rest[2])
}

func isBlank(b byte) bool { return b == ' ' || b == '\t' || b == '\r' || b == '\n' }

// improveMessages replaces go-junit-report's generic messages with the
// first line that says what went wrong, where there is one.
func improveMessages(suites *junitxml.Testsuites) {
	for i := range suites.Suites {
		for j := range suites.Suites[i].Testcases {
			tc := &suites.Suites[i].Testcases[j]
			if r := tc.Failure; r != nil && r.Message == "Failed" {
				if line := firstLine(r.Data, isGoLogLine); line != "" {
					r.Message = line
				}
			}
			if r := tc.Error; r != nil && r.Message == "Build error" {
				if line := firstLine(r.Data, func(string) bool { return true }); line != "" {
					r.Message = "build failed: " + line
				}
			}
		}
	}
}

// firstLine returns the first non-blank line of s that ok accepts, trimmed.
func firstLine(s string, ok func(string) bool) string {
	for line := range strings.Lines(s) {
		if t := strings.TrimSpace(line); t != "" && ok(line) {
			return t
		}
	}
	return ""
}

// looksLikeJSON reports whether the first non-blank line of br is a
// `go test -json` event. The text parser would otherwise find "--- FAIL:"
// inside the JSON strings and report tests without their package.
func looksLikeJSON(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Size()) // fewer bytes at the end of the input
	for line := range bytes.Lines(b) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var ev event
		return line[0] == '{' && json.Unmarshal(line, &ev) == nil && ev.Action != ""
	}
	return false
}

// sniffer passes its input through, remembering whether reading failed, so
// that a read error is not reported as bad input.
type sniffer struct {
	r   io.Reader
	err error
}

func (s *sniffer) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// maxJSONLine is the longest event line go-junit-report reads in full.
const maxJSONLine = 64 << 10

// event is the part of a `go test -json` event (cmd/test2json) that
// go-junit-report reads, with the same types, so that an event it would
// fail on is reported here with its line number.
type event struct {
	Time    time.Time
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

// jsonChecker passes `go test -json` output through unchanged while checking
// that every line starting with "{" is one complete event, and records which
// packages reported a final result. go-junit-report treats other lines as
// plain text output, as go test does.
type jsonChecker struct {
	br      *bufio.Reader
	line    int    // number of the current line
	midLine bool   // the previous read ended inside a long line
	pending []byte // bytes read but not yet returned
	err     error  // returned once pending is drained

	started  map[string]bool // packages with events
	finished map[string]bool // packages with a final pass/fail/skip
	order    []string        // packages in the order they appeared
}

func newJSONChecker(r io.Reader) *jsonChecker {
	return &jsonChecker{
		br:       bufio.NewReaderSize(r, maxJSONLine+1),
		started:  map[string]bool{},
		finished: map[string]bool{},
	}
}

func (c *jsonChecker) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		b, err := c.br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if !c.midLine {
				c.line++
				if b[0] == '{' {
					c.err = evidence.Errorf(evidence.KindInvalid,
						"go test -json output line %d: event longer than %d KiB", c.line, maxJSONLine>>10)
					continue
				}
			}
			c.midLine = true
			c.pending = b
			continue
		case err == io.EOF:
			c.err = io.EOF
		case err != nil:
			c.err = err
		}
		if !c.midLine && len(b) > 0 {
			c.line++
			if b[0] == '{' {
				if verr := c.event(b); verr != nil {
					c.err = verr
					continue
				}
			}
		}
		c.midLine = false
		c.pending = b
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// event checks one event line and notes what it says about its package.
func (c *jsonChecker) event(line []byte) error {
	var ev event
	if err := json.Unmarshal(line, &ev); err != nil {
		what := "not a JSON event"
		if !bytes.HasSuffix(line, []byte("\n")) {
			what = "truncated JSON event"
		}
		return evidence.Errorf(evidence.KindInvalid, "go test -json output line %d: %s: %v", c.line, what, err)
	}
	if ev.Package == "" {
		return nil
	}
	if !c.started[ev.Package] {
		c.started[ev.Package] = true
		c.order = append(c.order, ev.Package)
	}
	if ev.Test == "" {
		switch ev.Action {
		case "pass", "fail", "skip":
			c.finished[ev.Package] = true
		}
	}
	return nil
}

// complete reports a package that never reported its final result.
func (c *jsonChecker) complete() error {
	for _, pkg := range c.order {
		if !c.finished[pkg] {
			return evidence.Errorf(evidence.KindInvalid,
				"go test -json output is incomplete: package %s has no final result (was the run interrupted or the file truncated?)", pkg)
		}
	}
	return nil
}
