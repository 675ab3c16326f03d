// Package junit summarises JUnit XML test reports from any producer.
//
// There is no JUnit standard, only a family of dialects (Ant, Maven Surefire,
// Gradle, pytest, jest-junit, go-junit-report, CTest, ...), so the reader is
// written against what real tools emit (testdata/corpus/junit and its
// MANIFEST.md) rather than against one schema. It reads the document as an
// encoding/xml token stream, one <testcase> at a time, and keeps only
// counters, the capped failure list and a few hundred bytes of message text:
// memory does not grow with the size of the report.
//
// # Accepted input
//
// The root element is <testsuites> or a bare <testsuite>. Suites may nest to
// any depth and test cases may appear at any level of that nesting. A UTF-8
// byte order mark, a missing XML declaration, comments, single-quoted
// attributes, CDATA, extra (also namespaced) attributes, <properties> at any
// level and <system-out>/<system-err> are all accepted; content that does not
// affect the summary is read and discarded. A document declared as
// ISO-8859-1 or US-ASCII is converted; any other non-UTF-8 encoding is
// rejected.
//
// # Rejected input
//
// Every rejection is an evidence.KindInvalid error whose text names the
// problem and, where there is one, the line: an empty file, text that is not
// XML, malformed or truncated XML, invalid UTF-8, a root element other than
// testsuites/testsuite ("not a JUnit report: root element is <...>"), any
// DOCTYPE or other markup declaration (no DTD is ever read, so no entity is
// ever resolved or fetched), elements nested deeper than 256, and content
// after the root element (two reports concatenated into one file).
//
// # Counting
//
// Tests are the <testcase> elements present in the document; the tests=,
// failures=, errors= and skipped= attributes of the suites are ignored
// because producers routinely get them wrong (they count reruns, omit
// skipped tests, or describe test cases that were never written out). A
// <testcase> counts when its parent is a <testsuite> or <testsuites>. The
// outcome of one test case is, in this order of precedence:
//
//   - failed if it has a <failure> child (however many);
//   - error if it has an <error> child;
//   - failed/error if it has only Surefire's <rerunFailure>/<rerunError>
//     children, which say that an attempt failed (fail closed);
//   - skipped if it has a <skipped> child or a status attribute of
//     "notrun", "disabled" or "skipped" (CTest, tst, jasmine-reporters);
//   - passed otherwise. A passed test case with Surefire's
//     <flakyFailure>/<flakyError> children passed on a rerun and is also
//     counted as flaky.
//
// A <failure> or <error> that is a direct child of a <testsuite> (or of
// <testsuites>) means the suite failed to run (Ant, Jenkins fixtures). It
// counts as one erroring test whose classname is the suite's name and whose
// name is "(suite error)", however many such children the suite has.
//
// # Reruns reported as repeated test cases
//
// Some runners report each attempt of a retried test as its own <testcase>
// with the same classname and name: pytest-rerunfailures, TestNG's retry
// analyzer (earlier attempts are written as skipped), mocha and
// web-test-runner retries. Consecutive test cases of the same suite with the
// same non-empty (classname, name) are merged into one test while every
// attempt so far did not pass — a runner never retries a test that passed.
// The merged test passed (and is flaky) if any attempt failed or errored and
// one passed; passed if one passed; failed if the attempts failed, as an
// error only when every failing attempt was an error; skipped only when every
// attempt was skipped. Its failure message is the first failing attempt's.
//
// Only adjacent attempts are merged, which keeps memory constant. In the
// corpus, the retries written by pytest-rerunfailures, TestNG and mocha, and
// jest-junit's error-then-failure pair for a suite that failed to run, are
// adjacent. Two producers are not: gotestsum --rerun-fails writes each rerun
// round after the whole first round, and @web/test-runner may write another
// test between the attempts. There every attempt counts as its own test: a
// failure is never hidden, but a test that passed on a rerun shows as one
// failed and one passed test, not as flaky. Test cases that merely share a
// name (parameterised tests, data providers, jest's repeated titles) are not
// merged when they all passed or the earlier one passed, and nameless test
// cases are never merged. The one case this rule gets wrong is a
// parameterised test whose invocations share a name, where one invocation
// fails and the next one passes: it is counted as one flaky pass. Flaky
// is counted separately so that policy can ask about it.
//
// # Durations and failures
//
// DurationMs is the sum of the time= attributes of the test cases (every
// attempt counts), in seconds, rounded to milliseconds; AntUnit's <time>
// child element is used when there is no attribute. A missing, negative or
// unparsable time counts as zero and never fails the report; exponents,
// thousands separators ("2,503.1"), a decimal comma ("1,5") and nanosecond
// precision are understood.
//
// Failures lists the failed and erroring tests in report order, at most
// evidence.MaxListedFailures of them (the counts stay exact). Message is the
// message attribute, or the first non-empty line of the element's text when
// the attribute is empty: one line, trimmed, at most 300 characters, valid
// UTF-8. (encoding/xml does not normalise whitespace in attribute values, so
// a literal line break in a message attribute ends its first line, as
// "&#10;" does.) Names are kept as opaque strings; nothing read from a
// report is ever used as a path.
package junit

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/evident-dev/evident/internal/collect/tokenlimit"
	"github.com/evident-dev/evident/internal/evidence"
)

// MaxDepth is the deepest element nesting accepted. Real reports nest suites
// a handful of levels; anything deeper is hostile or broken.
const MaxDepth = 256

// SuiteErrorName is the test name given to a suite that failed to run: a
// <failure> or <error> directly inside a <testsuite>.
const SuiteErrorName = "(suite error)"

// Summarize reads one JUnit XML report and returns its summary. Bad input
// gives an evidence.KindInvalid error; an error from r is returned wrapped,
// with its own kind.
func Summarize(r io.Reader) (evidence.TestSummary, error) {
	src := &readRecorder{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	if err := skipBOM(br); err != nil {
		return evidence.TestSummary{}, err
	}
	lim := tokenlimit.New(br, tokenlimit.DefaultMax)
	dec := xml.NewDecoder(lim)
	dec.Strict = true
	dec.CharsetReader = charsetReader
	s := summarizer{dec: dec, src: src, lim: lim}
	if err := s.run(); err != nil {
		return evidence.TestSummary{}, err
	}
	if src.err != nil { // a read error that a buffer swallowed
		return evidence.TestSummary{}, fmt.Errorf("read JUnit report: %w", src.err)
	}
	return s.result(), nil
}

// elemKind says what an open element is to the summarizer.
type elemKind uint8

const (
	elemIgnored  elemKind = iota // read and discarded, with everything inside it
	elemSuite                    // <testsuites> or <testsuite>
	elemCase                     // <testcase> whose parent is a suite
	elemResult                   // a result child of a test case, or a suite-level <failure>/<error>
	elemCaseTime                 // AntUnit's <time> child of a test case
)

// frame is one open element.
type frame struct {
	kind  elemKind
	local string // local name, for error messages
	// For elemSuite: the suite's name and whether a suite-level
	// <failure>/<error> has already been counted.
	suiteName    string
	suiteErrored bool
}

type summarizer struct {
	dec   *xml.Decoder
	src   *readRecorder
	lim   *tokenlimit.Reader // memory stays bounded: no token over tokenlimit.DefaultMax
	stack []frame

	rootSeen, rootClosed bool
	line                 int // where the current token starts

	counts  evidence.TestSummary // counters and failures; DurationMs is filled from micros
	micros  int64                // sum of test case durations, saturating
	tc      testcase             // the open <testcase>
	group   group                // attempts of one test waiting to be counted
	capture lineCapture          // message text of the open result element, if wanted
	// captureFor is the open result element whose text is captured, or 0.
	captureFor resultKind
	// suiteErr reports whether the open result element is a suite-level
	// <failure>/<error> rather than a test case's.
	suiteErr bool
	timeText lineCapture // text of an AntUnit <time> element
}

func (s *summarizer) run() error {
	for {
		// Whitespace between tokens is a token of its own, so the position
		// before reading a token is the line the token starts on.
		s.line, _ = s.dec.InputPos()
		tok, err := s.dec.Token()
		s.lim.Mark()
		if err == io.EOF {
			return s.atEOF()
		}
		if err != nil {
			return s.decodeError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := s.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			s.end()
		case xml.CharData:
			if err := s.text(t); err != nil {
				return err
			}
		case xml.Directive:
			if bytes.HasPrefix(bytes.TrimSpace(t), []byte("DOCTYPE")) {
				return invalidf("DOCTYPE is not allowed in a test report (line %d)", s.line)
			}
			return invalidf("markup declaration <!%s> is not allowed in a test report (line %d)",
				clip(string(t), 40), s.line)
		case xml.Comment, xml.ProcInst:
			// The XML declaration and comments carry nothing we count.
		}
	}
}

func (s *summarizer) atEOF() error {
	switch {
	case s.rootClosed:
		return nil
	case s.rootSeen:
		// Token reports an unclosed element as a syntax error; this is a
		// safety net.
		return invalidf("truncated report: unexpected end of file on line %d", s.line)
	case s.dec.InputOffset() == 0:
		return invalidf("empty file")
	default:
		return invalidf("not a JUnit report: no root element")
	}
}

func (s *summarizer) decodeError(err error) error {
	var ee *evidence.Error
	if errors.As(err, &ee) {
		return ee // from charsetReader
	}
	if s.src.err != nil {
		return fmt.Errorf("read JUnit report: %w", s.src.err)
	}
	if errors.Is(err, tokenlimit.ErrTooLarge) {
		return invalidf("line %d: %v (over %d MiB)", s.line, err, tokenlimit.DefaultMax>>20)
	}
	var se *xml.SyntaxError
	if !errors.As(err, &se) {
		// The decoder's other complaints are about the XML declaration.
		return invalidf("malformed XML on line %d: %s", s.line, strings.TrimPrefix(err.Error(), "xml: "))
	}
	switch {
	case strings.HasPrefix(se.Msg, "unexpected EOF"):
		// A truncated file, or markup left open (an unclosed start tag,
		// comment or CDATA section) that swallowed the rest of the file.
		where := ""
		if open := s.openElement(); open != "" {
			where = " inside <" + open + ">"
		}
		return invalidf("truncated or malformed report: unexpected end of file on line %d%s (%s)", se.Line, where, se.Msg)
	case se.Msg == "invalid UTF-8":
		return invalidf("invalid UTF-8 on line %d: the report must be encoded as UTF-8 or declare its encoding", se.Line)
	case !s.rootSeen && strings.HasPrefix(se.Msg, "expected element name"):
		return invalidf("not XML: malformed markup on line %d (%s)", se.Line, se.Msg)
	}
	return invalidf("malformed XML on line %d: %s", se.Line, se.Msg)
}

// openElement names the innermost open element, or "".
func (s *summarizer) openElement() string {
	if len(s.stack) == 0 {
		return ""
	}
	return s.stack[len(s.stack)-1].local
}

func (s *summarizer) start(t xml.StartElement) error {
	local := t.Name.Local
	if len(s.stack) >= MaxDepth {
		return invalidf("elements nested deeper than %d on line %d", MaxDepth, s.line)
	}
	if !s.rootSeen {
		if local != "testsuites" && local != "testsuite" {
			return invalidf("not a JUnit report: root element is <%s>%s", clip(local, 80), inNamespace(t.Name))
		}
		s.rootSeen = true
		s.push(frame{kind: elemSuite, local: local, suiteName: attr(t, "name")})
		return nil
	}
	if s.rootClosed {
		return invalidf("unexpected element <%s> after the root element on line %d", clip(local, 80), s.line)
	}
	parent := &s.stack[len(s.stack)-1]
	f := frame{kind: elemIgnored, local: local}
	switch parent.kind {
	case elemSuite:
		switch local {
		case "testsuite":
			s.flush()
			f.kind, f.suiteName = elemSuite, attr(t, "name")
		case "testcase":
			f.kind = elemCase
			s.startCase(t)
		case "failure", "error":
			if !parent.suiteErrored {
				parent.suiteErrored = true
				f.kind = elemResult
				s.suiteErr = true
				s.startCapture(resultError, attr(t, "message"))
			}
		}
	case elemCase:
		if rk, ok := resultKindOf(local); ok {
			f.kind = elemResult
			s.startResult(rk, t)
		} else if local == "time" && !s.tc.hasTime {
			f.kind = elemCaseTime
			s.timeText.reset()
		}
	}
	s.push(f)
	return nil
}

func (s *summarizer) push(f frame) { s.stack = append(s.stack, f) }

func (s *summarizer) end() {
	f := s.stack[len(s.stack)-1]
	s.stack = s.stack[:len(s.stack)-1]
	switch f.kind {
	case elemSuite:
		s.flush()
		if len(s.stack) == 0 {
			s.rootClosed = true
		}
	case elemCase:
		s.endCase()
	case elemResult:
		s.endResult()
	case elemCaseTime:
		s.tc.micros = parseSeconds(s.timeText.String())
		s.tc.hasTime = true
	}
}

func (s *summarizer) text(t xml.CharData) error {
	if !s.rootSeen || s.rootClosed {
		i := 0
		for i < len(t) && isSpace(t[i]) {
			i++
		}
		if i == len(t) {
			return nil
		}
		line := s.line + bytes.Count(t[:i], []byte("\n"))
		if !s.rootSeen {
			return invalidf("not XML: text before the root element on line %d", line)
		}
		return invalidf("unexpected text after the root element on line %d", line)
	}
	if s.captureFor != 0 {
		s.capture.write(t)
	}
	if top := s.stack[len(s.stack)-1]; top.kind == elemCaseTime {
		s.timeText.write(t)
	}
	return nil
}

// startCase reads the attributes of a <testcase>.
func (s *summarizer) startCase(t xml.StartElement) {
	s.tc = testcase{}
	var hasClassname bool
	for _, a := range t.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "name":
			s.tc.name = a.Value
		case "classname":
			s.tc.classname, hasClassname = a.Value, true
		case "class":
			if !hasClassname { // Codeception writes class= only
				s.tc.classname = a.Value
			}
		case "time":
			s.tc.micros, s.tc.hasTime = parseSeconds(a.Value), true
		case "status":
			switch strings.ToLower(strings.TrimSpace(a.Value)) {
			case "notrun", "disabled", "skipped":
				s.tc.statusSkipped = true
			}
		}
	}
}

func (s *summarizer) startResult(rk resultKind, t xml.StartElement) {
	s.tc.seen |= rk
	s.tc.noteRerun(rk)
	if !rk.wantsMessage() || s.tc.has(rk) {
		return
	}
	s.tc.msgSet |= rk
	s.startCapture(rk, attr(t, "message"))
}

// startCapture begins collecting the message of a result element: the
// message attribute when it has a non-empty line, else the element's text.
func (s *summarizer) startCapture(rk resultKind, message string) {
	s.capture.reset()
	s.capture.write([]byte(message))
	if s.capture.found() {
		s.capture.close()
	}
	s.captureFor = rk
}

func (s *summarizer) endResult() {
	if s.captureFor == 0 {
		return
	}
	msg := s.capture.String()
	rk := s.captureFor
	s.captureFor = 0
	if s.suiteErr {
		s.suiteErr = false
		s.flush()
		suite := s.stack[len(s.stack)-1].suiteName
		s.record(evidence.TestCase{Classname: suite, Name: SuiteErrorName, Outcome: evidence.OutcomeError, Message: msg})
		return
	}
	s.tc.setMessage(rk, msg)
}

func (s *summarizer) endCase() {
	s.micros = addSat(s.micros, s.tc.micros)
	a := s.tc.attempt()
	if !s.group.accepts(a) {
		s.flush()
	}
	s.group.add(a)
}

// flush counts the pending group of attempts, if any, as one test.
func (s *summarizer) flush() {
	if s.group.attempts == 0 {
		return
	}
	tc, outcome, flaky := s.group.outcome()
	s.group = group{}
	switch outcome {
	case outcomePassed:
		s.counts.Passed++
		if flaky {
			s.counts.Flaky++
		}
		s.counts.Tests++
	case outcomeSkipped:
		s.counts.Skipped++
		s.counts.Tests++
	default:
		s.record(tc)
	}
}

// record counts one failed or erroring test and lists it.
func (s *summarizer) record(tc evidence.TestCase) {
	s.counts.Tests++
	if tc.Outcome == evidence.OutcomeError {
		s.counts.Errors++
	} else {
		s.counts.Failed++
	}
	if len(s.counts.Failures) < evidence.MaxListedFailures {
		s.counts.Failures = append(s.counts.Failures, tc)
	}
}

func (s *summarizer) result() evidence.TestSummary {
	out := s.counts
	out.DurationMs = s.micros / 1000
	if s.micros%1000 >= 500 {
		out.DurationMs++
	}
	return out
}

// attr returns the value of the un-namespaced attribute local, or "".
func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// inNamespace describes the namespace of an element name for an error
// message, or returns "" when it has none.
func inNamespace(n xml.Name) string {
	if n.Space == "" {
		return ""
	}
	return fmt.Sprintf(" (namespace %q)", clip(n.Space, 80))
}

// clip shortens s to at most n runes for an error message.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// readRecorder remembers an error of the underlying reader, so that a
// failed read is not reported as bad input.
type readRecorder struct {
	r   io.Reader
	err error
}

func (rr *readRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		rr.err = err
	}
	return n, err
}

func invalidf(format string, args ...any) error {
	return evidence.Errorf(evidence.KindInvalid, format, args...)
}
