package junit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxMessageRunes caps a listed failure's message.
const MaxMessageRunes = 300

// captureLimit is how many bytes of a line are kept: enough for
// MaxMessageRunes runes of any width plus one more, so that cutting the
// bytes never leaves the message short of runes.
const captureLimit = (MaxMessageRunes + 1) * utf8.UTFMax

// lineCapture keeps the first non-empty line of text written to it, at most
// captureLimit bytes of it; everything else is dropped as it arrives.
type lineCapture struct {
	buf     []byte
	started bool // a non-space byte has been kept
	done    bool // the line is complete or the limit reached
}

func (c *lineCapture) reset() {
	c.buf, c.started, c.done = c.buf[:0], false, false
}

// close ignores any further text.
func (c *lineCapture) close() { c.done = true }

// found reports whether a non-empty line has begun.
func (c *lineCapture) found() bool { return c.started }

func (c *lineCapture) write(p []byte) {
	if c.done {
		return
	}
	if !c.started {
		i := 0
		for i < len(p) && isSpace(p[i]) {
			i++
		}
		if i == len(p) {
			return
		}
		p, c.started = p[i:], true
	}
	if j := bytes.IndexAny(p, "\r\n"); j >= 0 {
		p, c.done = p[:j], true
	}
	if room := captureLimit - len(c.buf); len(p) >= room {
		p, c.done = p[:room], true
	}
	c.buf = append(c.buf, p...)
}

// String returns the line trimmed, as valid UTF-8, cut to MaxMessageRunes.
func (c *lineCapture) String() string {
	s := strings.ToValidUTF8(string(c.buf), "\uFFFD")
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxMessageRunes {
		n := 0
		for i := range s {
			if n == MaxMessageRunes {
				s = strings.TrimSpace(s[:i])
				break
			}
			n++
		}
	}
	return s
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// maxSeconds bounds one parsed duration (about 31,700 years) so that its
// microsecond count fits an int64; sums saturate.
const maxSeconds = 1e12

// parseSeconds reads a duration in seconds as producers write it and returns
// whole microseconds. Missing, negative, non-finite and unparsable values
// are 0: a report is never rejected for its timings.
//
// Accepted: "1", "0.001", "4.5e-05", nine fractional digits, thousands
// separators ("2,503.1", "1,234,567"), a decimal comma ("1,5") and the
// European form ("2.503,1").
func parseSeconds(s string) int64 {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return 0
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c == '.', c == ',', c == 'e', c == 'E', c == '+', c == '-':
		default:
			return 0
		}
	}
	if strings.Contains(s, ",") {
		s = normaliseComma(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f > 0) {
		return 0
	}
	if f > maxSeconds {
		f = maxSeconds
	}
	return int64(math.Round(f * 1e6))
}

// normaliseComma rewrites a number with commas into Go syntax.
func normaliseComma(s string) string {
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	switch {
	case dot >= 0 && comma > dot: // 2.503,1
		return strings.Replace(strings.ReplaceAll(s, ".", ""), ",", ".", 1)
	case dot >= 0: // 2,503.1
		return strings.ReplaceAll(s, ",", "")
	case thousandsGrouped(s): // 1,234,567
		return strings.ReplaceAll(s, ",", "")
	default: // 1,5
		return strings.Replace(s, ",", ".", 1)
	}
}

// thousandsGrouped reports whether s is digits grouped by commas in threes,
// like "1,234" or "12,345,678".
func thousandsGrouped(s string) bool {
	groups := strings.Split(s, ",")
	if len(groups[0]) == 0 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addSat adds two non-negative durations, saturating instead of overflowing.
func addSat(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}

// skipBOM consumes a UTF-8 byte order mark and rejects UTF-16 input, which
// encoding/xml cannot read.
func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read JUnit report: %w", err)
	}
	switch {
	case bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")):
		_, err := br.Discard(3)
		return err
	case bytes.HasPrefix(b, []byte("\xFE\xFF")), bytes.HasPrefix(b, []byte("\xFF\xFE")):
		return invalidf("the report is UTF-16 encoded: only UTF-8, ISO-8859-1 and US-ASCII are supported")
	}
	return nil
}

// charsetReader serves encoding/xml for documents that declare an encoding
// other than UTF-8.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		// ASCII is UTF-8; a mislabelled UTF-8 file still reads correctly
		// and anything else fails as invalid UTF-8.
		return input, nil
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1":
		return &latin1Reader{r: input}, nil
	}
	return nil, invalidf("unsupported encoding %q: the report must be UTF-8, ISO-8859-1 or US-ASCII", clip(label, 40))
}

// latin1Reader converts ISO-8859-1 to UTF-8: every byte is the code point of
// the same value.
type latin1Reader struct {
	r   io.Reader
	in  [2048]byte
	buf [2 * 2048]byte
	out []byte // converted bytes not yet returned
	err error
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for len(l.out) == 0 {
		if l.err != nil {
			return 0, l.err
		}
		n, err := l.r.Read(l.in[:])
		l.err = err
		l.out = l.buf[:0]
		for _, b := range l.in[:n] {
			l.out = utf8.AppendRune(l.out, rune(b))
		}
	}
	n := copy(p, l.out)
	l.out = l.out[n:]
	return n, nil
}
