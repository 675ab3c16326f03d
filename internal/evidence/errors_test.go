package evidence_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

func TestErrorf(t *testing.T) {
	err := evidence.Errorf(evidence.KindNotFound, "release %s@%s", "wm", "2.4.0")
	if err.Error() != "release wm@2.4.0" {
		t.Errorf("Error() = %q", err)
	}
	var e *evidence.Error
	if !errors.As(err, &e) || e.Kind != evidence.KindNotFound || e.Err != nil {
		t.Errorf("As *Error = %+v", e)
	}

	// %w keeps the cause for errors.Is and errors.As; the message has it.
	wrapped := evidence.Errorf(evidence.KindInvalid, "config evident.yaml: %w", fs.ErrNotExist)
	if !errors.Is(wrapped, fs.ErrNotExist) {
		t.Error("the cause is lost")
	}
	if wrapped.Error() != "config evident.yaml: file does not exist" {
		t.Errorf("Error() = %q", wrapped)
	}
	// %v does not.
	if errors.Is(evidence.Errorf(evidence.KindInvalid, "x: %v", fs.ErrNotExist), fs.ErrNotExist) {
		t.Error("a cause formatted with the v verb was kept")
	}
}

func TestKindOf(t *testing.T) {
	invalid := evidence.Errorf(evidence.KindInvalid, "bad")
	for _, tc := range []struct {
		name string
		err  error
		want evidence.Kind
	}{
		{"nil", nil, ""},
		{"plain error", errors.New("boom"), evidence.KindInternal},
		{"an *Error", invalid, evidence.KindInvalid},
		{"wrapped by fmt", fmt.Errorf("load: %w", invalid), evidence.KindInvalid},
		{"wrapped twice", fmt.Errorf("seal: %w", fmt.Errorf("load: %w", invalid)), evidence.KindInvalid},
		{"joined", errors.Join(errors.New("x"), invalid), evidence.KindInvalid},
		{"the outermost kind wins", evidence.Errorf(evidence.KindPolicy, "seal: %w", evidence.Errorf(evidence.KindNotFound, "x")), evidence.KindPolicy},
		{"a kind under a plain error", fmt.Errorf("x: %w", evidence.Errorf(evidence.KindConflict, "exists")), evidence.KindConflict},
		{"flattened by %v", fmt.Errorf("x: %v", invalid), evidence.KindInternal},
		{"the zero *Error", &evidence.Error{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := evidence.KindOf(tc.err); got != tc.want {
				t.Errorf("KindOf = %q, want %q", got, tc.want)
			}
			if tc.want != "" && !evidence.IsKind(tc.err, tc.want) {
				t.Errorf("IsKind(%q) is false", tc.want)
			}
		})
	}
	if evidence.IsKind(nil, "") || evidence.IsKind(nil, evidence.KindInternal) {
		t.Error("IsKind(nil, ...) is true")
	}
}

func TestErrorMessageFallsBackToCause(t *testing.T) {
	e := &evidence.Error{Kind: evidence.KindInternal, Err: errors.New("disk full")}
	if e.Error() != "disk full" {
		t.Errorf("Error() = %q, want the cause's message", e.Error())
	}
	if !errors.Is(e, e.Err) {
		t.Error("Unwrap does not reach the cause")
	}
}
