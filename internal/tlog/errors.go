package tlog

import (
	"errors"
	"fmt"
)

// Errors, returned wrapped so that callers can classify them with errors.Is.
// The message of a returned error says what was wrong; the sentinel says
// which kind of wrong it was.
var (
	// ErrNotFound: a store has no leaf or node at the asked position.
	ErrNotFound = errors.New("not found")
	// ErrOutOfRange: an index or tree size beyond the log, or, in a Proof,
	// a leaf index beyond the proof's tree size.
	ErrOutOfRange = errors.New("out of range")
	// ErrMalformed: bytes that do not parse: a checkpoint, an entry, a proof,
	// a key.
	ErrMalformed = errors.New("malformed")
	// ErrVerification: well-formed input that does not verify: a checkpoint
	// not signed by the expected key or with a bad signature, an inclusion
	// proof that does not lead to the checkpoint's root, two checkpoints
	// that are not consistent.
	ErrVerification = errors.New("verification failed")
)

// kindError carries a message and the sentinel it is an instance of.
type kindError struct {
	kind error
	err  error // the formatted message, possibly wrapping a cause
}

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// errorf formats an error whose text is the formatted message alone and
// which matches kind (and anything wrapped with %w) under errors.Is.
func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, err: fmt.Errorf(format, args...)}
}
