package tlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/evident-dev/evident/internal/digest"
)

// Entry types.
const (
	EntryRelease  = "release"  // a release was accepted
	EntryApproval = "approval" // an approval of a release was accepted
)

// Entry is a leaf's content: what the archive accepted. Its bytes in the log
// are Encode's canonical JSON, so that a leaf has exactly one spelling and a
// client can re-derive the leaf hash from the entry.
type Entry struct {
	Type     string        `json:"type"`     // EntryRelease or EntryApproval
	Product  string        `json:"product"`  // the release's product
	Version  string        `json:"version"`  // the release's version
	Manifest digest.Digest `json:"manifest"` // the release's manifest digest
	Record   digest.Digest `json:"record"`   // the signed record: the release's or the approval's Sigstore bundle
}

// Validate checks that every field is set and Type is known.
func (e Entry) Validate() error {
	switch e.Type {
	case EntryRelease, EntryApproval:
	case "":
		return errorf(ErrMalformed, "log entry: type is missing")
	default:
		return errorf(ErrMalformed, "log entry: unknown type %q (want %q or %q)", e.Type, EntryRelease, EntryApproval)
	}
	switch {
	case e.Product == "":
		return errorf(ErrMalformed, "log entry: product is missing")
	case e.Version == "":
		return errorf(ErrMalformed, "log entry: version is missing")
	case e.Manifest.IsZero():
		return errorf(ErrMalformed, "log entry: manifest digest is missing")
	case e.Record.IsZero():
		return errorf(ErrMalformed, "log entry: record digest is missing")
	}
	return nil
}

// Encode returns the canonical bytes of a valid entry: JSON with the fields
// in declaration order, no HTML escaping, and a trailing newline.
func (e Entry) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, fmt.Errorf("log entry: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeEntry parses the canonical bytes of an entry. It accepts exactly what
// Encode produces, so Encode(DecodeEntry(b)) == b: unknown or missing fields,
// trailing data, another field order, other white space or escaping are
// errors wrapping ErrMalformed.
func DecodeEntry(b []byte) (Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return Entry{}, errorf(ErrMalformed, "log entry: %w", err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Entry{}, errorf(ErrMalformed, "log entry: data after the JSON object, at offset %d", end)
	}
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	canon, err := e.Encode()
	if err != nil {
		return Entry{}, err
	}
	if !bytes.Equal(canon, b) {
		return Entry{}, errorf(ErrMalformed, "log entry is not in canonical form (fields in order type, product, version, manifest, record; no white space; one trailing newline)")
	}
	return e, nil
}
