package gotest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzSummarize checks that no input panics, that bad input is always an
// invalid-input error, and that accepted output gives a consistent summary.
func FuzzSummarize(f *testing.F) {
	paths, err := filepath.Glob("testdata/go-test-*")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Add([]byte("=== RUN   TestA\n--- FAIL: TestA (0.00s)\nFAIL\tp\t0.1s\n"), false)
	f.Add([]byte("panic: boom\nFAIL\tp\t0.1s\n"), false)
	f.Fuzz(func(t *testing.T, in []byte, jsonFormat bool) {
		format := FormatText
		if jsonFormat {
			format = FormatJSON
		}
		s, err := Summarize(bytes.NewReader(in), format)
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q: %v", evidence.KindOf(err), err)
			}
			return
		}
		if s.Passed+s.Failed+s.Errors+s.Skipped != s.Tests || s.DurationMs < 0 {
			t.Fatalf("inconsistent summary: %+v", s)
		}
		if want := min(s.Failed+s.Errors, evidence.MaxListedFailures); len(s.Failures) != want {
			t.Fatalf("%d failures listed, want %d", len(s.Failures), want)
		}
	})
}
