package provenance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// MaxStatementInput bounds what ReadStatement and ReadStatements read. An
// attestation can carry a whole SBOM as its predicate, base64-encoded inside
// an envelope, so the bound is generous; memory use stays proportional to it,
// never to an unbounded input.
const MaxStatementInput = 64 << 20

// In-toto statement types accepted by the readers.
const (
	StatementTypeV1  = "https://in-toto.io/Statement/v1"
	StatementTypeV01 = "https://in-toto.io/Statement/v0.1"
)

// payloadTypeInToto is the DSSE payload type of an in-toto statement.
const payloadTypeInToto = "application/vnd.in-toto+json"

// bundleMediaTypes are the Sigstore bundle media types a statement can be
// read from; any other (a future version, garbage) is rejected, not guessed.
var bundleMediaTypes = map[string]bool{
	"application/vnd.dev.sigstore.bundle+json;version=0.1": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.2": true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
	"application/vnd.dev.sigstore.bundle.v0.3+json":        true,
}

// Where a statement was found.
const (
	EnvelopeNone   = ""                // a bare statement
	EnvelopeDSSE   = "dsse"            // a DSSE envelope
	EnvelopeBundle = "sigstore-bundle" // the DSSE envelope of a Sigstore bundle
)

// Subject is one subject of an in-toto statement: an artifact named by
// digest, and or by URI or name.
type Subject struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// SHA256 returns the subject's sha256 digest when it has a well-formed one.
func (s Subject) SHA256() (digest.Digest, bool) {
	d, err := digest.Parse(s.Digest["sha256"])
	return d, err == nil
}

// Statement is what the readers report about one in-toto statement.
type Statement struct {
	// Type is the statement's _type: StatementTypeV1 or StatementTypeV01.
	Type string
	// PredicateType is the predicate type exactly as written. It is not
	// checked against any registry: deciding which types to trust is the
	// caller's policy.
	PredicateType string
	// Subjects are the artifacts the statement is about, in order.
	Subjects []Subject
	// Envelope says what the statement was wrapped in: EnvelopeNone,
	// EnvelopeDSSE or EnvelopeBundle.
	Envelope string
}

// ReadStatement reads exactly one in-toto statement and returns its
// predicate type and subjects. It accepts a bare statement (JSON), a DSSE
// envelope (as in .intoto.jsonl files) or a Sigstore bundle carrying a DSSE
// envelope, and does NOT verify any signature: the result says what the
// statement claims, not that anyone vouches for it. Input holding several
// statements (JSON Lines, an npm attestations listing) is an error; use
// ReadStatements for those. Errors are evidence.KindInvalid and read well
// after a "file: " prefix.
func ReadStatement(r io.Reader) (predicateType string, subjects []Subject, err error) {
	sts, err := ReadStatements(r)
	if err != nil {
		return "", nil, err
	}
	if len(sts) != 1 {
		return "", nil, evidence.Errorf(evidence.KindInvalid, "holds %d in-toto statements, want exactly one", len(sts))
	}
	return sts[0].PredicateType, sts[0].Subjects, nil
}

// ReadStatements reads every in-toto statement in r, without verifying
// signatures. r holds one or more JSON values one after the other (JSON
// Lines, or pretty-printed values); each value is a bare statement, a DSSE
// envelope, a Sigstore bundle, an npm registry attestations listing
// ({"attestations": [{"predicateType", "bundle"}]}) or the output of
// "gcloud artifacts docker images describe --show-provenance". Structural
// problems are errors: a payload type other than in-toto, a payload or
// signature that is not base64, an envelope without signatures (or, in a
// bundle, with more than one), an unknown bundle media type, a bundle that
// signs a plain artifact, and a statement without _type, predicateType or
// subjects. At most MaxStatementInput bytes are read.
func ReadStatements(r io.Reader) ([]Statement, error) {
	return readStatements(r, MaxStatementInput)
}

// readStatements is ReadStatements reading at most max bytes.
func readStatements(r io.Reader, max int64) ([]Statement, error) {
	cr := &countingReader{r: io.LimitReader(r, max+1)}
	dec := json.NewDecoder(cr)
	var out []Statement
	for n := 1; ; n++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if cr.n > max {
			return nil, invalid("larger than %d bytes", max)
		}
		if err != nil {
			return nil, invalid("%s%s", valuePrefix(n), describeJSONError(err))
		}
		sts, err := readValue(raw)
		if err != nil {
			return nil, invalid("%s%v", valuePrefix(n), err)
		}
		out = append(out, sts...)
	}
	if len(out) == 0 {
		return nil, invalid("empty input: no in-toto statement")
	}
	return out, nil
}

func invalid(format string, args ...any) error {
	return evidence.Errorf(evidence.KindInvalid, format, args...)
}

// valuePrefix names the n-th JSON value of the input, from the second on.
func valuePrefix(n int) string {
	if n == 1 {
		return ""
	}
	return fmt.Sprintf("JSON value %d: ", n)
}

// object is a JSON object with its members still encoded. Keys are matched
// exactly, unlike encoding/json's struct decoding.
type object map[string]json.RawMessage

// parseObject decodes b as exactly one JSON object.
func parseObject(b []byte) (object, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var o object
	if err := dec.Decode(&o); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("is JSON %s, not an object", te.Value)
		}
		return nil, describeJSONError(err)
	}
	if o == nil {
		return nil, errors.New("is null, not an object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("has data after the JSON object")
	}
	return o, nil
}

func (o object) has(k string) bool {
	_, ok := o[k]
	return ok
}

// str returns member k as a string; ok is false when it is absent.
func (o object) str(k string) (s string, ok bool, err error) {
	raw, ok := o[k]
	if !ok {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", true, fmt.Errorf("%s is not a string", k)
	}
	return s, true, nil
}

// requiredStr returns member k, which must be a non-empty string.
func (o object) requiredStr(k string) (string, error) {
	s, ok, err := o.str(k)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", fmt.Errorf("%s is missing", k)
	}
	return s, nil
}

// obj returns member k as an object.
func (o object) obj(k string) (object, error) {
	raw, ok := o[k]
	if !ok {
		return nil, fmt.Errorf("%s is missing", k)
	}
	m, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("%s %v", k, err)
	}
	return m, nil
}

// array returns member k as a list of encoded values.
func (o object) array(k string) ([]json.RawMessage, error) {
	raw, ok := o[k]
	if !ok {
		return nil, fmt.Errorf("%s is missing", k)
	}
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || a == nil {
		return nil, fmt.Errorf("%s is not an array", k)
	}
	return a, nil
}

// keys lists the object's keys for a message: sorted, quoted, at most five.
func (o object) keys() string {
	ks := make([]string, 0, len(o))
	for k := range o {
		if len(k) > 40 {
			k = k[:40] + "..."
		}
		ks = append(ks, fmt.Sprintf("%q", k))
	}
	sort.Strings(ks)
	if len(ks) > 5 {
		ks = append(ks[:5], "...")
	}
	if len(ks) == 0 {
		return "none"
	}
	return strings.Join(ks, ", ")
}

// readValue reads the statements in one top-level JSON value.
func readValue(raw json.RawMessage) ([]Statement, error) {
	o, err := parseObject(raw)
	if err != nil {
		return nil, fmt.Errorf("the JSON value %v", err)
	}
	switch {
	case o.has("_type"):
		st, err := readStatement(o)
		return one(st, err)
	case o.has("payloadType") || o.has("payload"):
		st, err := readEnvelope(o, false)
		return one(st, err)
	case o.has("mediaType"):
		st, err := readBundle(o)
		return one(st, err)
	case o.has("attestations"):
		return readNPMAttestations(o)
	case o.has("provenance_summary"):
		return readGCloud(o)
	case o.has("buildDefinition") || o.has("runDetails") || (o.has("builder") && o.has("buildType")):
		return nil, errors.New("this is a bare SLSA provenance predicate, not an in-toto statement: it has no _type, subject or predicateType")
	case o.has("predicateType") || o.has("subject"):
		return nil, errors.New("in-toto statement without _type")
	}
	return nil, fmt.Errorf("not an in-toto statement, DSSE envelope or Sigstore bundle (top-level keys: %s)", o.keys())
}

func one(st Statement, err error) ([]Statement, error) {
	if err != nil {
		return nil, err
	}
	return []Statement{st}, nil
}

// readStatement checks an in-toto statement and extracts what is reported.
func readStatement(o object) (Statement, error) {
	typ, err := o.requiredStr("_type")
	if err != nil {
		return Statement{}, err
	}
	if typ != StatementTypeV1 && typ != StatementTypeV01 {
		return Statement{}, fmt.Errorf("_type %q is not an in-toto statement type (want %s or %s)", typ, StatementTypeV1, StatementTypeV01)
	}
	pt, err := o.requiredStr("predicateType")
	if err != nil {
		return Statement{}, err
	}
	subjects, err := readSubjects(o)
	if err != nil {
		return Statement{}, err
	}
	if raw, ok := o["predicate"]; ok {
		if t := bytes.TrimSpace(raw); !bytes.HasPrefix(t, []byte("{")) && !bytes.Equal(t, []byte("null")) {
			return Statement{}, errors.New("predicate is not a JSON object")
		}
	}
	return Statement{Type: typ, PredicateType: pt, Subjects: subjects}, nil
}

func readSubjects(o object) ([]Subject, error) {
	list, err := o.array("subject")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("subject is empty: a statement must be about at least one artifact")
	}
	subjects := make([]Subject, 0, len(list))
	for i, raw := range list {
		so, err := parseObject(raw)
		if err != nil {
			return nil, fmt.Errorf("subject[%d] %v", i, err)
		}
		var s Subject
		if s.Name, _, err = so.str("name"); err != nil {
			return nil, fmt.Errorf("subject[%d]: %v", i, err)
		}
		if s.URI, _, err = so.str("uri"); err != nil {
			return nil, fmt.Errorf("subject[%d]: %v", i, err)
		}
		if raw, ok := so["digest"]; ok {
			if err := json.Unmarshal(raw, &s.Digest); err != nil {
				return nil, fmt.Errorf("subject[%d].digest is not an object of strings", i)
			}
			for alg, v := range s.Digest {
				if alg == "" || v == "" {
					return nil, fmt.Errorf("subject[%d].digest has an empty algorithm or value", i)
				}
			}
		}
		if len(s.Digest) == 0 && s.URI == "" {
			return nil, fmt.Errorf("subject[%d] has neither a digest nor a uri", i)
		}
		subjects = append(subjects, s)
	}
	return subjects, nil
}

// readEnvelope checks a DSSE envelope and reads the statement in its
// payload. A bundle's envelope must carry exactly one signature.
func readEnvelope(o object, inBundle bool) (Statement, error) {
	pt, err := o.requiredStr("payloadType")
	if err != nil {
		return Statement{}, err
	}
	if pt != payloadTypeInToto {
		return Statement{}, fmt.Errorf("payloadType %q is not an in-toto statement (want %s)", pt, payloadTypeInToto)
	}
	sigs, err := o.array("signatures")
	if err != nil {
		return Statement{}, err
	}
	switch {
	case len(sigs) == 0:
		return Statement{}, errors.New("envelope has no signatures")
	case inBundle && len(sigs) != 1:
		return Statement{}, fmt.Errorf("envelope in a Sigstore bundle has %d signatures, want exactly one", len(sigs))
	}
	for i, raw := range sigs {
		so, err := parseObject(raw)
		if err != nil {
			return Statement{}, fmt.Errorf("signatures[%d] %v", i, err)
		}
		sig, err := so.requiredStr("sig")
		if err != nil {
			return Statement{}, fmt.Errorf("signatures[%d]: %v", i, err)
		}
		if _, err := decodeBase64(sig); err != nil {
			return Statement{}, fmt.Errorf("signatures[%d].sig is not base64", i)
		}
		if _, _, err := so.str("keyid"); err != nil {
			return Statement{}, fmt.Errorf("signatures[%d]: %v", i, err)
		}
	}
	payload, err := o.requiredStr("payload")
	if err != nil {
		return Statement{}, err
	}
	b, err := decodeBase64(payload)
	if err != nil {
		return Statement{}, errors.New("payload is not base64")
	}
	so, err := parseObject(b)
	if err != nil {
		return Statement{}, fmt.Errorf("payload %v", err)
	}
	st, err := readStatement(so)
	if err != nil {
		return Statement{}, fmt.Errorf("payload is not a valid in-toto statement: %v", err)
	}
	st.Envelope = EnvelopeDSSE
	return st, nil
}

// readBundle reads the statement in a Sigstore bundle's DSSE envelope.
func readBundle(o object) (Statement, error) {
	mt, err := o.requiredStr("mediaType")
	if err != nil {
		return Statement{}, err
	}
	if !bundleMediaTypes[mt] {
		if strings.HasPrefix(mt, "application/vnd.dev.sigstore.bundle") {
			return Statement{}, fmt.Errorf("mediaType %q is not a supported Sigstore bundle version", mt)
		}
		return Statement{}, fmt.Errorf("mediaType %q is not a Sigstore bundle", mt)
	}
	vm, err := o.obj("verificationMaterial")
	if err != nil || len(vm) == 0 {
		return Statement{}, errors.New("Sigstore bundle has no verificationMaterial")
	}
	switch {
	case o.has("dsseEnvelope") && o.has("messageSignature"):
		return Statement{}, errors.New("Sigstore bundle has both dsseEnvelope and messageSignature")
	case o.has("messageSignature"):
		return Statement{}, errors.New("Sigstore bundle signs an artifact (messageSignature), not an in-toto statement")
	case !o.has("dsseEnvelope"):
		return Statement{}, errors.New("Sigstore bundle has neither dsseEnvelope nor messageSignature")
	}
	env, err := o.obj("dsseEnvelope")
	if err != nil {
		return Statement{}, err
	}
	st, err := readEnvelope(env, true)
	if err != nil {
		return Statement{}, fmt.Errorf("dsseEnvelope: %v", err)
	}
	st.Envelope = EnvelopeBundle
	return st, nil
}

// readNPMAttestations reads the npm registry's attestations listing.
func readNPMAttestations(o object) ([]Statement, error) {
	list, err := o.array("attestations")
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("attestations is empty")
	}
	var out []Statement
	for i, raw := range list {
		ao, err := parseObject(raw)
		if err != nil {
			return nil, fmt.Errorf("attestations[%d] %v", i, err)
		}
		listed, err := ao.requiredStr("predicateType")
		if err != nil {
			return nil, fmt.Errorf("attestations[%d]: %v", i, err)
		}
		bo, err := ao.obj("bundle")
		if err != nil {
			return nil, fmt.Errorf("attestations[%d]: %v", i, err)
		}
		st, err := readBundle(bo)
		if err != nil {
			return nil, fmt.Errorf("attestations[%d].bundle: %v", i, err)
		}
		if st.PredicateType != listed {
			return nil, fmt.Errorf("attestations[%d]: listed as %q but the statement's predicateType is %q", i, listed, st.PredicateType)
		}
		out = append(out, st)
	}
	return out, nil
}

// readGCloud reads the envelopes in the output of "gcloud artifacts docker
// images describe --show-provenance". The decoded copies gcloud prints beside
// them are ignored: only the envelope is what was signed.
func readGCloud(o object) ([]Statement, error) {
	ps, err := o.obj("provenance_summary")
	if err != nil {
		return nil, err
	}
	list, err := ps.array("provenance")
	if err != nil {
		return nil, fmt.Errorf("provenance_summary: %v", err)
	}
	if len(list) == 0 {
		return nil, errors.New("provenance_summary.provenance is empty")
	}
	var out []Statement
	for i, raw := range list {
		po, err := parseObject(raw)
		if err != nil {
			return nil, fmt.Errorf("provenance_summary.provenance[%d] %v", i, err)
		}
		env, err := po.obj("envelope")
		if err != nil {
			return nil, fmt.Errorf("provenance_summary.provenance[%d]: %v", i, err)
		}
		st, err := readEnvelope(env, false)
		if err != nil {
			return nil, fmt.Errorf("provenance_summary.provenance[%d].envelope: %v", i, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as
// DSSE producers use both.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func describeJSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te):
		return fmt.Errorf("JSON %s where an object was expected", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON")
	}
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
