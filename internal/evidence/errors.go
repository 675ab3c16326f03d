package evidence

import (
	"errors"
	"fmt"
)

// Kind classifies an error for the edges: the CLI maps it to an exit code and
// the HTTP layer to a status, each in one table.
type Kind string

const (
	KindInvalid      Kind = "invalid"      // bad input: a file, a field, a request
	KindNotFound     Kind = "not_found"    // the named thing does not exist
	KindConflict     Kind = "conflict"     // it exists with different content
	KindUnauthorized Kind = "unauthorized" // no or bad credentials
	KindForbidden    Kind = "forbidden"    // credentials lack the right
	KindVerification Kind = "verification" // a signature, digest or proof did not verify
	KindPolicy       Kind = "policy"       // the policy is not satisfied
	KindTooLarge     Kind = "too_large"    // an input exceeds a size limit
	KindInternal     Kind = "internal"     // anything else
)

// Error is an error with a Kind and a message safe to show to the user.
type Error struct {
	Kind    Kind
	Message string
	Err     error // optional cause, not shown beyond Message
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind. A %w verb keeps the cause.
func Errorf(kind Kind, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// KindOf returns the kind of the first *Error in err's chain, KindInternal
// when there is none, and "" for a nil error.
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err's kind is k.
func IsKind(err error, k Kind) bool { return err != nil && KindOf(err) == k }
