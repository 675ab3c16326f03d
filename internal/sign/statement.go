package sign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"unicode/utf8"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// StatementType is the only in-toto statement version read or written.
const StatementType = "https://in-toto.io/Statement/v1"

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// MaxSubjects bounds the subjects of a statement. sigstore-go (and so cosign)
// refuses to match an artifact against a statement with more subjects than
// this, so a larger statement could be signed but never checked by cosign.
const MaxSubjects = 1024

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string
	Digest digest.Digest
}

// Statement is an in-toto Statement v1. Predicate holds the caller's JSON
// object (its canonical bytes), embedded verbatim in the encoded statement.
type Statement struct {
	Subjects      []Subject
	PredicateType string
	Predicate     json.RawMessage
}

// Covers reports whether d is the digest of one of the statement's subjects.
func (s Statement) Covers(d digest.Digest) bool {
	if d.IsZero() {
		return false
	}
	for _, sub := range s.Subjects {
		if sub.Digest == d {
			return true
		}
	}
	return false
}

// Encode returns the statement's JSON, the DSSE payload that gets signed. The
// bytes depend only on the statement: fields in a fixed order
// (_type, subject, predicateType, predicate), no HTML escaping, and the
// predicate copied verbatim apart from surrounding white space. A statement
// that DecodeStatement would reject is an error here too.
func (s Statement) Encode() ([]byte, error) {
	pred := bytes.TrimSpace(s.Predicate)
	if err := s.validate(pred); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: %v", err)
	}
	var b bytes.Buffer
	b.WriteString(`{"_type":`)
	writeJSONString(&b, StatementType)
	b.WriteString(`,"subject":[`)
	for i, sub := range s.Subjects {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":`)
		writeJSONString(&b, sub.Name)
		b.WriteString(`,"digest":{"sha256":`)
		writeJSONString(&b, sub.Digest.Hex())
		b.WriteString(`}}`)
	}
	b.WriteString(`],"predicateType":`)
	writeJSONString(&b, s.PredicateType)
	b.WriteString(`,"predicate":`)
	b.Write(pred)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// validate checks what both Encode and DecodeStatement require, so that
// whatever decodes also encodes and the other way round.
func (s Statement) validate(pred []byte) error {
	if len(s.Subjects) == 0 {
		return errors.New("no subjects")
	}
	if len(s.Subjects) > MaxSubjects {
		return fmt.Errorf("%d subjects, more than the %d that cosign and sigstore-go accept", len(s.Subjects), MaxSubjects)
	}
	for i, sub := range s.Subjects {
		if sub.Name == "" {
			return fmt.Errorf("subject[%d]: name is empty", i)
		}
		if !utf8.ValidString(sub.Name) {
			return fmt.Errorf("subject[%d]: name is not valid UTF-8", i)
		}
		if sub.Digest.IsZero() {
			return fmt.Errorf("subject[%d] %q: digest is missing", i, sub.Name)
		}
	}
	if err := checkPredicateType(s.PredicateType); err != nil {
		return err
	}
	if len(pred) == 0 {
		return errors.New("predicate is missing")
	}
	if pred[0] != '{' || !json.Valid(pred) {
		return errors.New("predicate is not a JSON object")
	}
	if !utf8.Valid(pred) {
		return errors.New("predicate is not valid UTF-8")
	}
	return nil
}

// checkPredicateType requires an absolute URI, as in-toto does and as
// cosign's --type flag does for anything but its own short names.
func checkPredicateType(pt string) error {
	if pt == "" {
		return errors.New("predicateType is empty")
	}
	u, err := url.ParseRequestURI(pt)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("predicateType %q is not an absolute URI", pt)
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode appends a newline
}

// DecodeStatement parses a DSSE payload as an in-toto Statement v1, strictly:
// _type must be StatementType; every field is known (an unknown or
// duplicated field, at the top level or in a subject, is an error, because a
// reader that skipped it might see a different statement than the signer
// meant); there is at least one subject and each has a name and exactly one
// digest, sha256; the predicate is a JSON object. Errors are
// evidence.KindInvalid.
func DecodeStatement(payload []byte) (*Statement, error) {
	if !utf8.Valid(payload) {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement is not valid UTF-8")
	}
	fields, err := objectFields(payload)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: %v", err)
	}
	vals := map[string]json.RawMessage{}
	for _, f := range fields {
		switch f.key {
		case "_type", "subject", "predicateType", "predicate":
			vals[f.key] = f.val
		default:
			return nil, evidence.Errorf(evidence.KindInvalid, "statement: unknown field %q", f.key)
		}
	}
	// _type first: a statement of another version is reported as that,
	// not as whatever of its fields differs first.
	raw, ok := vals["_type"]
	if !ok {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: _type is missing: not an in-toto statement")
	}
	typ, err := jsonString(raw)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: _type: %v", err)
	}
	if typ != StatementType {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: _type %q is not supported; want %q", typ, StatementType)
	}
	var st Statement
	if raw, ok = vals["subject"]; !ok {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: subject is missing")
	}
	if st.Subjects, err = decodeSubjects(raw); err != nil {
		return nil, err
	}
	if raw, ok = vals["predicateType"]; !ok {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: predicateType is missing")
	}
	if st.PredicateType, err = jsonString(raw); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: predicateType: %v", err)
	}
	if raw, ok = vals["predicate"]; !ok {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: predicate is missing")
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: predicate is not a JSON object")
	}
	st.Predicate = raw
	if err := st.validate(st.Predicate); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: %v", err)
	}
	return &st, nil
}

func decodeSubjects(raw json.RawMessage) ([]Subject, error) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: subject is not an array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: subject: %v", err)
	}
	if len(elems) > MaxSubjects {
		return nil, evidence.Errorf(evidence.KindInvalid, "statement: %d subjects, more than the %d that cosign and sigstore-go accept", len(elems), MaxSubjects)
	}
	subs := make([]Subject, 0, len(elems))
	for i, e := range elems {
		sub, err := decodeSubject(e)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "statement: subject[%d]: %v", i, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

func decodeSubject(raw json.RawMessage) (Subject, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return Subject{}, err
	}
	var sub Subject
	haveDigest := false
	for _, f := range fields {
		switch f.key {
		case "name":
			if sub.Name, err = jsonString(f.val); err != nil {
				return Subject{}, fmt.Errorf("name: %v", err)
			}
		case "digest":
			haveDigest = true
			if sub.Digest, err = decodeDigestSet(f.val); err != nil {
				return Subject{}, fmt.Errorf("digest: %v", err)
			}
		default:
			return Subject{}, fmt.Errorf("unknown field %q", f.key)
		}
	}
	if sub.Name == "" {
		return Subject{}, errors.New("name is missing or empty")
	}
	if !haveDigest {
		return Subject{}, fmt.Errorf("%q: digest is missing", sub.Name)
	}
	return sub, nil
}

func decodeDigestSet(raw json.RawMessage) (digest.Digest, error) {
	fields, err := objectFields(raw)
	if err != nil {
		return digest.Digest{}, err
	}
	var (
		d    digest.Digest
		have bool
	)
	for _, f := range fields {
		if f.key != digest.Algorithm {
			return digest.Digest{}, fmt.Errorf("algorithm %q is not supported; want only %s", f.key, digest.Algorithm)
		}
		h, err := jsonString(f.val)
		if err != nil {
			return digest.Digest{}, fmt.Errorf("%s: %v", f.key, err)
		}
		if d, err = digest.Parse(digest.Algorithm + ":" + h); err != nil {
			return digest.Digest{}, err
		}
		have = true
	}
	if !have {
		return digest.Digest{}, fmt.Errorf("no %s digest", digest.Algorithm)
	}
	return d, nil
}

type field struct {
	key string
	val json.RawMessage
}

// objectFields splits one JSON object into its members in document order,
// rejecting duplicate keys and anything after the object.
func objectFields(data []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var fields []field
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("malformed JSON object")
		}
		if seen[key] {
			return nil, fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fmt.Errorf("field %q: %v", key, jsonErr(err))
		}
		fields = append(fields, field{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return fields, nil
}

func jsonErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	return err
}

// jsonString decodes a JSON string value; null and other types are errors.
func jsonString(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errors.New("not a string")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}
