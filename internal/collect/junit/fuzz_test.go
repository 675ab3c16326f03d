package junit

import (
	"bytes"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzSummarize checks that no input panics, that bad input is always an
// invalid-input error, and that every accepted report gives a consistent
// summary.
func FuzzSummarize(f *testing.F) {
	for _, path := range corpusFiles(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Summarize(bytes.NewReader(in))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q for bad input: %v", evidence.KindOf(err), err)
			}
			return
		}
		if s.Passed+s.Failed+s.Errors+s.Skipped != s.Tests {
			t.Fatalf("outcomes do not add up to tests: %+v", summaryCounts(s))
		}
		if s.Flaky > s.Passed || s.DurationMs < 0 || s.Tests < 0 {
			t.Fatalf("impossible counts: %+v", summaryCounts(s))
		}
		if want := min(s.Failed+s.Errors, evidence.MaxListedFailures); len(s.Failures) != want {
			t.Fatalf("%d failures listed, want %d", len(s.Failures), want)
		}
		var failed, errored int
		for _, tc := range s.Failures {
			switch tc.Outcome {
			case evidence.OutcomeFailed:
				failed++
			case evidence.OutcomeError:
				errored++
			default:
				t.Fatalf("listed failure with outcome %q", tc.Outcome)
			}
			if !utf8.ValidString(tc.Message) || utf8.RuneCountInString(tc.Message) > MaxMessageRunes {
				t.Fatalf("bad message %q", tc.Message)
			}
			if bytes.ContainsAny([]byte(tc.Message), "\r\n") {
				t.Fatalf("message has more than one line: %q", tc.Message)
			}
		}
		if len(s.Failures) < evidence.MaxListedFailures && (failed != s.Failed || errored != s.Errors) {
			t.Fatalf("listed %d failed and %d erroring, counted %d and %d", failed, errored, s.Failed, s.Errors)
		}
	})
}
