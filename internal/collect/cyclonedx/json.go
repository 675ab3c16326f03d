package cyclonedx

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-dev/evident/internal/collect/tokenlimit"
	"github.com/evident-dev/evident/internal/evidence"
)

// Top-level arrays that are streamed element by element instead of being
// held in memory. Components can number in the tens of thousands; the
// dependency graph has about one entry per component; a vulnerability
// export can be as long.
const (
	keyComponents      = "components"
	keyDependencies    = "dependencies"
	keyVulnerabilities = "vulnerabilities"
)

func isStreamed(key string) bool {
	return key == keyComponents || key == keyDependencies || key == keyVulnerabilities
}

// jsonReader is the state of one JSON read.
type jsonReader struct {
	// lim bounds the input one token or one streamed element may span,
	// so that memory does not grow with a single huge value.
	lim  *tokenlimit.Reader
	dec  *json.Decoder
	sum  *summary
	set  *schemaSet // nil until specVersion is known and supported
	rest map[string]json.RawMessage
	// counts of streamed elements, for "key present" and uniqueItems
	uniq map[string]*uniqueSet
	// spill holds streamed elements seen before specVersion, to be
	// validated and emitted once it is known.
	spill *spillFile
	spdx  bool // saw a key only an SPDX document has
}

// readJSON reads a CycloneDX JSON document.
//
// It walks the top-level object with json.Decoder tokens. The elements of
// components, dependencies and vulnerabilities are decoded one at a time,
// validated against the schema definition of an element
// (#/definitions/component, ...) and, for components, decoded into
// cdx.Component and emitted. Every other top-level member is kept as raw JSON
// and, at the end, validated against the root schema with the streamed arrays
// replaced by empty ones: together that is the whole-document validation,
// except that uniqueItems across streamed elements is checked by digest.
//
// specVersion selects the schema. The CycloneDX tools write it near the top,
// but JSON objects are unordered: when an array to be streamed comes before
// specVersion, its elements are spilled, compacted, to a temporary file and
// replayed once the top level has been read. The file is removed before
// readJSON returns.
func readJSON(br *bufio.Reader, fn func(evidence.SOUPEntry) error) (evidence.SBOMSummary, error) {
	lim := tokenlimit.New(br, tokenlimit.DefaultMax)
	jr := &jsonReader{
		lim:  lim,
		dec:  json.NewDecoder(lim),
		sum:  newSummary(fn),
		rest: map[string]json.RawMessage{},
		uniq: map[string]*uniqueSet{},
	}
	jr.dec.UseNumber()
	defer func() { jr.spill.close() }()
	sum, err := jr.read()
	if err != nil {
		return evidence.SBOMSummary{}, err
	}
	return sum, nil
}

func (jr *jsonReader) read() (evidence.SBOMSummary, error) {
	tok, err := jr.token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return evidence.SBOMSummary{}, invalidf("empty file: not a CycloneDX SBOM")
		}
		return evidence.SBOMSummary{}, jr.syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return evidence.SBOMSummary{}, invalidf("not a CycloneDX SBOM: the JSON document is %s, want an object", tokenKind(tok))
	}
	for jr.dec.More() {
		tok, err := jr.token()
		if err != nil {
			return evidence.SBOMSummary{}, jr.syntaxError(err)
		}
		key, ok := tok.(string)
		if !ok { // json.Decoder reports a bad key itself; this is defensive
			return evidence.SBOMSummary{}, invalidf("malformed JSON at byte %d: object key is not a string", jr.dec.InputOffset())
		}
		if err := jr.member(key); err != nil {
			return evidence.SBOMSummary{}, err
		}
	}
	if _, err := jr.token(); err != nil { // the closing '}'
		return evidence.SBOMSummary{}, jr.syntaxError(err)
	}
	if tok, err := jr.token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return evidence.SBOMSummary{}, jr.syntaxError(err)
		}
		return evidence.SBOMSummary{}, invalidf("malformed JSON: %s after the end of the document at byte %d", tokenKind(tok), jr.dec.InputOffset())
	}
	if err := jr.checkHeader(); err != nil {
		return evidence.SBOMSummary{}, err
	}
	meta, comps, err := jr.validateRest()
	if err != nil {
		return evidence.SBOMSummary{}, err
	}
	if err := jr.replaySpill(); err != nil {
		return evidence.SBOMSummary{}, err
	}
	return jr.sum.finish(meta, comps), nil
}

// member reads the value of the top-level member key.
func (jr *jsonReader) member(key string) error {
	if _, dup := jr.rest[key]; dup || jr.uniq[key] != nil {
		return invalidf("malformed CycloneDX JSON: top-level member %q appears twice", key)
	}
	if isStreamed(key) && !jr.skipStream(key) {
		return jr.streamArray(key)
	}
	var raw json.RawMessage
	if err := jr.decode(&raw); err != nil {
		return jr.syntaxError(err)
	}
	jr.rest[key] = raw
	switch key {
	case "bomFormat":
		// Fail fast on a document that says it is something else.
		var s string
		if json.Unmarshal(raw, &s) == nil && s != cdx.BOMFormat {
			return errBOMFormat(s)
		}
	case "specVersion":
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return invalidf("specVersion is %s, want a string such as \"1.6\"", rawKind(raw))
		}
		set, err := schemasFor(v)
		if err != nil {
			return err
		}
		jr.set = set
	case "spdxVersion", "SPDXID":
		jr.spdx = true
		if _, ok := jr.rest["bomFormat"]; !ok {
			return errSPDX("JSON")
		}
	case "@context":
		if bytes.Contains(bytes.ToLower(raw), []byte("spdx")) {
			jr.spdx = true
			if _, ok := jr.rest["bomFormat"]; !ok {
				return errSPDX("JSON-LD")
			}
		}
	}
	return nil
}

// skipStream reports whether key, though streamable, is kept whole: the
// vulnerabilities of 1.2 and 1.3, which are not CycloneDX vulnerabilities
// (those came with 1.4) but an unknown member the old schemas allow.
func (jr *jsonReader) skipStream(key string) bool {
	return key == keyVulnerabilities && jr.set != nil && jr.set.vulnerability == nil
}

func errBOMFormat(s string) error {
	return invalidf("bomFormat is %q, want \"CycloneDX\": not a CycloneDX SBOM", s)
}

// streamArray reads the array value of key one element at a time.
func (jr *jsonReader) streamArray(key string) error {
	tok, err := jr.token()
	if err != nil {
		return jr.syntaxError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		if d == '{' {
			return invalidf("at /%s: got an object, want an array", key)
		}
		return invalidf("at /%s: got %s, want an array", key, tokenKind(tok))
	}
	jr.uniq[key] = &uniqueSet{}
	for i := 0; jr.dec.More(); i++ {
		var raw json.RawMessage
		if err := jr.decode(&raw); err != nil {
			return jr.syntaxError(err)
		}
		if jr.set == nil {
			if err := jr.spillElement(key, i, raw); err != nil {
				return err
			}
			continue
		}
		if err := jr.element(key, i, raw); err != nil {
			return err
		}
	}
	if _, err := jr.token(); err != nil { // the closing ']'
		return jr.syntaxError(err)
	}
	return nil
}

// element validates element i of the streamed array key and acts on it.
func (jr *jsonReader) element(key string, i int, raw json.RawMessage) error {
	var sch *jsonschema.Schema
	switch key {
	case keyComponents:
		sch = jr.set.component
	case keyDependencies:
		sch = jr.set.dependency
	case keyVulnerabilities:
		sch = jr.set.vulnerability
		if sch == nil { // 1.2/1.3, spilled before specVersion was known
			return nil
		}
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return invalidf("malformed JSON in /%s/%d: %v", key, i, err)
	}
	ptr := fmt.Sprintf("/%s/%d", key, i)
	if err := sch.Validate(inst); err != nil {
		return schemaError(jr.set.spec.version, ptr, err)
	}
	if err := jr.uniq[key].add(inst); err != nil {
		return invalidf("does not match the CycloneDX %s schema: at /%s: items at %d and %d are equal (uniqueItems)", jr.set.spec.version, key, jr.uniq[key].first(inst), i)
	}
	switch key {
	case keyComponents:
		c, err := decodeComponent(raw)
		if err != nil {
			return invalidf("at %s: %v", ptr, err)
		}
		return jr.sum.component(&c)
	case keyVulnerabilities:
		jr.sum.s.Vulnerabilities++
	}
	return nil
}

// checkHeader checks bomFormat and specVersion once the whole top level has
// been read, and recognises documents of other kinds.
func (jr *jsonReader) checkHeader() error {
	raw, ok := jr.rest["bomFormat"]
	if !ok {
		if jr.spdx {
			return errSPDX("JSON")
		}
		return invalidf("not a CycloneDX SBOM: bomFormat is missing")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return invalidf("bomFormat is %s, want the string \"CycloneDX\"", rawKind(raw))
	}
	if s != cdx.BOMFormat {
		return errBOMFormat(s)
	}
	if _, ok := jr.rest["specVersion"]; !ok {
		return invalidf("specVersion is missing")
	}
	jr.sum.s.SpecVersion = jr.set.spec.version
	return nil
}

// validateRest validates everything but the streamed arrays against the root
// schema, and decodes metadata and compositions for the summary.
func (jr *jsonReader) validateRest() (*cdx.Metadata, []cdx.Composition, error) {
	doc := make(map[string]any, len(jr.rest)+3)
	for k, raw := range jr.rest {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, nil, invalidf("malformed JSON in /%s: %v", k, err)
		}
		doc[k] = v
	}
	for k := range jr.uniq {
		doc[k] = []any{}
	}
	tolerateMissingVersion(doc, jr.set.spec.version)
	if err := jr.set.root.Validate(doc); err != nil {
		return nil, nil, schemaError(jr.set.spec.version, "", err)
	}
	var meta *cdx.Metadata
	if raw, ok := jr.rest["metadata"]; ok {
		meta = new(cdx.Metadata)
		if err := json.Unmarshal(raw, meta); err != nil {
			return nil, nil, invalidf("at /metadata: %v", err)
		}
	}
	var comps []cdx.Composition
	if raw, ok := jr.rest["compositions"]; ok {
		if err := json.Unmarshal(raw, &comps); err != nil {
			return nil, nil, invalidf("at /compositions: %v", err)
		}
	}
	return meta, comps, nil
}

// tolerateMissingVersion supplies the BOM version 1 when it is absent. The
// schemas before 1.6 require it, 1.6 dropped the requirement (default 1),
// and real SBOMs omit it (Dependency-Track accepts them, see
// dependency-track_spec1.4_missing-version-and-serial.json in the corpus).
// The BOM version numbers revisions of the SBOM document; it says nothing
// about the SOUP, so evident does not reject an SBOM for lacking it.
func tolerateMissingVersion(doc map[string]any, version string) {
	if _, ok := doc["version"]; !ok && version < "1.6" {
		doc["version"] = json.Number("1")
	}
}

// spillElement stores element i of key until specVersion is known.
func (jr *jsonReader) spillElement(key string, i int, raw json.RawMessage) error {
	if jr.spill == nil {
		sp, err := newSpillFile()
		if err != nil {
			return err
		}
		jr.spill = sp
	}
	return jr.spill.write(key, i, raw)
}

// replaySpill validates and emits the spilled elements in document order.
func (jr *jsonReader) replaySpill() error {
	if jr.spill == nil {
		return nil
	}
	return jr.spill.replay(jr.element)
}

// syntaxError describes a JSON decoding failure with its byte offset.
// token and decode read the next token or value, marking a token boundary
// for the size limit first.
func (jr *jsonReader) token() (json.Token, error) {
	jr.lim.Mark()
	return jr.dec.Token()
}

func (jr *jsonReader) decode(v any) error {
	jr.lim.Mark()
	return jr.dec.Decode(v)
}

func (jr *jsonReader) syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case errors.Is(err, tokenlimit.ErrTooLarge):
		return invalidf("at byte %d: %v (over %d MiB)", jr.dec.InputOffset(), err, tokenlimit.DefaultMax>>20)
	case errors.As(err, &se):
		return invalidf("malformed JSON at byte %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return invalidf("malformed JSON: the document is truncated (ends at byte %d)", jr.dec.InputOffset())
	}
	// Anything else is an I/O error of the underlying reader: not the
	// document's fault.
	return fmt.Errorf("read SBOM: %w", err)
}

func tokenKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			return "an array"
		case '{':
			return "an object"
		}
		return fmt.Sprintf("%q", string(t))
	case json.Number, float64:
		return "a number"
	}
	return describe(tok)
}

func rawKind(raw json.RawMessage) string {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return "not JSON"
	}
	if _, ok := v.(json.Number); ok {
		return "a number"
	}
	return describe(v)
}

// uniqueSet implements the schema's uniqueItems for a streamed array by
// keeping the SHA-256 of each element's canonical JSON (object keys sorted,
// insignificant space removed): 32 bytes per element instead of the element.
// Numbers are compared as written, so 1 and 1.0 count as different here
// while JSON Schema calls them equal; no CycloneDX array holds bare numbers.
type uniqueSet struct {
	seen map[[sha256.Size]byte]int
	n    int
}

func (u *uniqueSet) key(inst any) [sha256.Size]byte {
	b, _ := json.Marshal(inst) // inst came from JSON: always marshals
	return sha256.Sum256(b)
}

// add records inst and fails if an equal element was added before.
func (u *uniqueSet) add(inst any) error {
	if u.seen == nil {
		u.seen = map[[sha256.Size]byte]int{}
	}
	k := u.key(inst)
	if _, dup := u.seen[k]; dup {
		return errors.New("duplicate")
	}
	u.seen[k] = u.n
	u.n++
	return nil
}

// first returns the index of the element equal to inst.
func (u *uniqueSet) first(inst any) int { return u.seen[u.key(inst)] }

// spillFile buffers streamed elements on disk while specVersion is unknown.
// Records are a JSON string (the array's key), a number (the index) and the
// compacted element, one after the other.
type spillFile struct {
	f *os.File
	w *bufio.Writer
}

func newSpillFile() (*spillFile, error) {
	f, err := os.CreateTemp("", "evident-cyclonedx-*.json")
	if err != nil {
		return nil, fmt.Errorf("buffer SBOM components: %w", err)
	}
	return &spillFile{f: f, w: bufio.NewWriter(f)}, nil
}

func (s *spillFile) write(key string, i int, raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return invalidf("malformed JSON in /%s/%d: %v", key, i, err)
	}
	if _, err := fmt.Fprintf(s.w, "%q %d ", key, i); err != nil {
		return fmt.Errorf("buffer SBOM components: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := s.w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("buffer SBOM components: %w", err)
	}
	return nil
}

func (s *spillFile) replay(fn func(key string, i int, raw json.RawMessage) error) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("buffer SBOM components: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("buffer SBOM components: %w", err)
	}
	dec := json.NewDecoder(bufio.NewReader(s.f))
	for {
		var key string
		if err := dec.Decode(&key); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("replay buffered SBOM components: %w", err)
		}
		var i int
		var raw json.RawMessage
		if err := dec.Decode(&i); err != nil {
			return fmt.Errorf("replay buffered SBOM components: %w", err)
		}
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("replay buffered SBOM components: %w", err)
		}
		if err := fn(key, i, raw); err != nil {
			return err
		}
	}
}

// close removes the file; it is safe on a nil spillFile.
func (s *spillFile) close() {
	if s == nil {
		return
	}
	_ = s.f.Close()
	_ = os.Remove(s.f.Name())
}

// decodeComponent decodes a schema-valid component into cdx.Component.
// cyclonedx-go v0.12.0 cannot decode every valid component (a 1.7 patent
// assertion whose asserter is a bom-ref string, for one); for those only the
// fields a SOUP entry needs are decoded, nested components included.
func decodeComponent(raw json.RawMessage) (cdx.Component, error) {
	var c cdx.Component
	err := json.Unmarshal(raw, &c)
	if err == nil {
		return c, nil
	}
	var s soupFields
	if json.Unmarshal(raw, &s) != nil {
		return cdx.Component{}, err
	}
	return s.component(), nil
}

// soupFields is the part of a component a SOUP entry is made of.
type soupFields struct {
	BOMRef       string                       `json:"bom-ref"`
	Type         cdx.ComponentType            `json:"type"`
	Supplier     *cdx.OrganizationalEntity    `json:"supplier"`
	Manufacturer *cdx.OrganizationalEntity    `json:"manufacturer"`
	Author       string                       `json:"author"`
	Authors      *[]cdx.OrganizationalContact `json:"authors"`
	Group        string                       `json:"group"`
	Name         string                       `json:"name"`
	Version      string                       `json:"version"`
	Hashes       *[]cdx.Hash                  `json:"hashes"`
	Licenses     *cdx.Licenses                `json:"licenses"`
	CPE          string                       `json:"cpe"`
	PackageURL   string                       `json:"purl"`
	Properties   *[]cdx.Property              `json:"properties"`
	Components   []json.RawMessage            `json:"components"`
}

func (s soupFields) component() cdx.Component {
	c := cdx.Component{
		BOMRef: s.BOMRef, Type: s.Type, Supplier: s.Supplier, Manufacturer: s.Manufacturer,
		Author: s.Author, Authors: s.Authors, Group: s.Group, Name: s.Name, Version: s.Version,
		Hashes: s.Hashes, Licenses: s.Licenses, CPE: s.CPE, PackageURL: s.PackageURL, Properties: s.Properties,
	}
	if s.Components != nil {
		nested := make([]cdx.Component, 0, len(s.Components))
		for _, raw := range s.Components {
			n, err := decodeComponent(raw)
			if err != nil {
				var f soupFields
				_ = json.Unmarshal(raw, &f) // schema-valid: a component object
				n = f.component()
			}
			nested = append(nested, n)
		}
		c.Components = &nested
	}
	return c
}
