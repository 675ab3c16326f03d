package cyclonedx

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-dev/evident/internal/collect/tokenlimit"
	"github.com/evident-dev/evident/internal/evidence"
)

// versionRE matches a CycloneDX spec version as namespaces carry it.
var versionRE = regexp.MustCompile(`^1\.[0-9]+$`)

// nsPrefix starts every CycloneDX XML namespace; the spec version follows.
const nsPrefix = "http://cyclonedx.org/schema/bom/"

// bomChildren lists, per spec version, the elements the XSD allows directly
// under <bom> in the CycloneDX namespace (elements of other namespaces are
// always allowed and skipped).
var bomChildren = map[string][]string{
	"1.2": {"metadata", "components", "services", "externalReferences", "dependencies"},
	"1.3": {"metadata", "components", "services", "externalReferences", "dependencies", "compositions", "properties"},
	"1.4": {"metadata", "components", "services", "externalReferences", "dependencies", "compositions", "properties", "vulnerabilities"},
	"1.5": {"metadata", "components", "services", "externalReferences", "dependencies", "compositions", "properties", "vulnerabilities", "annotations", "formulation"},
	"1.6": {"metadata", "components", "services", "externalReferences", "dependencies", "compositions", "properties", "vulnerabilities", "annotations", "formulation", "declarations", "definitions"},
	"1.7": {"metadata", "components", "services", "externalReferences", "dependencies", "compositions", "properties", "vulnerabilities", "annotations", "formulation", "declarations", "definitions", "citations"},
}

// xmlReader is the state of one XML read.
//
// Go has no XSD validator, so XML is validated in two ways instead:
//
//  1. Each decoded piece (every component, dependency and vulnerability as
//     it streams by, then the document without them) is converted to its
//     JSON form and validated against the JSON schema of the same version,
//     with leading and trailing space of strings removed as the XSD's token
//     types do. This checks enumerations, patterns (hashes, serial numbers),
//     formats (timestamps, URLs, e-mail), required values and the
//     license-choice rules.
//  2. Structural rules the conversion cannot see, because cyclonedx-go
//     silently keeps the last of repeated elements, drops empty values and
//     ignores elements it does not know, are checked on the token stream
//     (see xmlChecker): a license has exactly one id or name; before 1.7,
//     licenses are either licenses or one expression; a component has a
//     type and a name; swid, dependency and property have their required
//     attributes; a data flow is one of the four the XSD names; a citation
//     follows the rules of its JSON schema; a bom-ref is not empty and is
//     unique in the document; and <bom>, <metadata> and every component hold
//     only the elements of the document's spec version.
//
// What this does not catch, the XSD would: element order, repeated or
// unknown CycloneDX elements below the levels just named, a few XSD-only
// facets, and the parts cyclonedx-go cannot decode from XML faithfully,
// which are left out of the JSON form (see dropXMLLosses). Every XML
// invalid-* case of the conformance suite is rejected all the same.
// Elements and attributes of other namespaces are tolerated everywhere, as
// the XSD's xs:any and xs:anyAttribute allow.
type xmlReader struct {
	d     *xml.Decoder
	check *xmlChecker
	sum   *summary
	set   *schemaSet
	rest  cdx.BOM
	seen  map[string]bool // bom children read so far
}

func readXML(br *bufio.Reader, fn func(evidence.SOUPEntry) error) (evidence.SBOMSummary, error) {
	lim := tokenlimit.New(br, tokenlimit.DefaultMax)
	raw := xml.NewDecoder(lim)
	raw.Strict = true
	raw.CharsetReader = charsetReader
	check := &xmlChecker{d: raw, lim: lim}
	xr := &xmlReader{d: xml.NewTokenDecoder(check), check: check, sum: newSummary(fn), seen: map[string]bool{}}
	return xr.read()
}

// charsetReader accepts the encodings that are UTF-8 already; CycloneDX
// tools write UTF-8, and a transcoder would be a dependency for nothing.
func charsetReader(label string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(label) {
	case "utf8", "us-ascii", "ascii":
		return input, nil
	}
	return nil, fmt.Errorf("encoding %q is not supported (use UTF-8)", label)
}

func (xr *xmlReader) read() (evidence.SBOMSummary, error) {
	root, err := xr.root()
	if err != nil {
		return evidence.SBOMSummary{}, err
	}
	if err := xr.header(root); err != nil {
		return evidence.SBOMSummary{}, err
	}
	if err := xr.body(); err != nil {
		return evidence.SBOMSummary{}, err
	}
	if err := xr.trailer(); err != nil {
		return evidence.SBOMSummary{}, err
	}
	if err := xr.validateRest(); err != nil {
		return evidence.SBOMSummary{}, err
	}
	var comps []cdx.Composition
	if xr.rest.Compositions != nil {
		comps = *xr.rest.Compositions
	}
	return xr.sum.finish(xr.rest.Metadata, comps), nil
}

// token returns the next token, turning decoder failures into invalid-input
// errors with a line number.
func (xr *xmlReader) token() (xml.Token, error) {
	tok, err := xr.d.Token()
	if err != nil {
		return nil, xr.xmlError(err)
	}
	return tok, nil
}

// root returns the root element, skipping the prolog.
func (xr *xmlReader) root() (xml.StartElement, error) {
	for {
		tok, err := xr.d.Token()
		if errors.Is(err, io.EOF) {
			return xml.StartElement{}, invalidf("malformed XML: no root element (the file ends after the prolog)")
		}
		if err != nil {
			return xml.StartElement{}, xr.xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xml.StartElement{}, invalidf("malformed XML: text %q before the root element", firstLine(t, 40))
			}
		}
	}
}

// header checks the root element and its attributes.
func (xr *xmlReader) header(root xml.StartElement) error {
	if root.Name.Local != "bom" {
		if isSPDXRoot(root) {
			return errSPDX("RDF/XML")
		}
		return invalidf("not a CycloneDX SBOM: the root element is <%s>, want <bom>", qname(root.Name))
	}
	if !strings.HasPrefix(root.Name.Space, nsPrefix) {
		if root.Name.Space == "" {
			return invalidf("not a CycloneDX SBOM: <bom> has no namespace, want %s1.N", nsPrefix)
		}
		return invalidf("not a CycloneDX SBOM: <bom> is in namespace %q, want %s1.N", root.Name.Space, nsPrefix)
	}
	v := strings.TrimPrefix(root.Name.Space, nsPrefix)
	if !versionRE.MatchString(v) {
		return invalidf("not a CycloneDX SBOM: <bom> is in namespace %q, want %s1.N", root.Name.Space, nsPrefix)
	}
	set, err := schemasFor(v)
	if err != nil {
		return err
	}
	xr.set = set
	xr.check.ns = root.Name.Space
	xr.check.version = v
	xr.sum.s.SpecVersion = v
	xr.rest = cdx.BOM{BOMFormat: cdx.BOMFormat, Version: 1}
	for _, a := range root.Attr {
		if a.Name.Space != "" {
			continue
		}
		switch a.Name.Local {
		case "version":
			n, err := strconv.Atoi(strings.TrimSpace(a.Value))
			if err != nil {
				return invalidf("<bom version=%q>: want an integer", a.Value)
			}
			xr.rest.Version = n
		case "serialNumber":
			xr.rest.SerialNumber = a.Value
		}
	}
	return nil
}

// body reads the children of <bom> up to its end tag.
func (xr *xmlReader) body() error {
	allowed := bomChildren[xr.set.spec.version]
	for {
		tok, err := xr.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xr.errAt("unexpected text %q in <bom>", firstLine(t, 40))
			}
		case xml.StartElement:
			if t.Name.Space != xr.check.ns {
				if err := xr.skip(); err != nil {
					return err
				}
				continue
			}
			name := t.Name.Local
			if !contains(allowed, name) {
				return xr.errAt("unexpected element <%s> in <bom> (CycloneDX %s)", name, xr.set.spec.version)
			}
			if xr.seen[name] {
				return xr.errAt("<%s> appears twice in <bom>", name)
			}
			xr.seen[name] = true
			if err := xr.section(t); err != nil {
				return err
			}
		}
	}
}

// section reads one child of <bom>: the big lists stream, the rest is
// decoded whole into xr.rest.
func (xr *xmlReader) section(start xml.StartElement) error {
	var err error
	switch start.Name.Local {
	case keyComponents:
		xr.rest.Components = &[]cdx.Component{}
		return xr.stream(start, "component", xr.component)
	case keyDependencies:
		xr.rest.Dependencies = &[]cdx.Dependency{}
		return xr.stream(start, "dependency", xr.dependency)
	case keyVulnerabilities:
		xr.rest.Vulnerabilities = &[]cdx.Vulnerability{}
		return xr.stream(start, "vulnerability", xr.vulnerability)
	case "metadata":
		xr.rest.Metadata = new(cdx.Metadata)
		err = xr.d.DecodeElement(xr.rest.Metadata, &start)
	case "services":
		var v struct {
			Items []cdx.Service `xml:"service"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Services = &v.Items
	case "externalReferences":
		var v struct {
			Items []cdx.ExternalReference `xml:"reference"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.ExternalReferences = &v.Items
	case "compositions":
		var v struct {
			Items []cdx.Composition `xml:"composition"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Compositions = &v.Items
	case "properties":
		var v struct {
			Items []cdx.Property `xml:"property"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Properties = &v.Items
	case "annotations":
		var v struct {
			Items []cdx.Annotation `xml:"annotation"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Annotations = &v.Items
	case "formulation":
		var v struct {
			Items []cdx.Formula `xml:"formula"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Formulation = &v.Items
	case "declarations":
		xr.rest.Declarations = new(cdx.Declarations)
		err = xr.d.DecodeElement(xr.rest.Declarations, &start)
	case "definitions":
		xr.rest.Definitions = new(cdx.Definitions)
		err = xr.d.DecodeElement(xr.rest.Definitions, &start)
	case "citations":
		var v struct {
			Items []cdx.Citation `xml:"citation"`
		}
		err = xr.d.DecodeElement(&v, &start)
		xr.rest.Citations = &v.Items
	default:
		return xr.errAt("unexpected element <%s> in <bom>", start.Name.Local)
	}
	if err != nil {
		return xr.decodeError(start.Name.Local, err)
	}
	return nil
}

// stream reads the children of the list element start one at a time: each
// CycloneDX child must be an <item> element, which is handed to fn with its
// index and line to decode; children of other namespaces are skipped.
func (xr *xmlReader) stream(start xml.StartElement, item string, fn func(i, line int, se xml.StartElement) error) error {
	for i := 0; ; {
		tok, err := xr.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xr.errAt("unexpected text %q in <%s>", firstLine(t, 40), start.Name.Local)
			}
		case xml.StartElement:
			if t.Name.Space != xr.check.ns {
				if err := xr.skip(); err != nil {
					return err
				}
				continue
			}
			if t.Name.Local != item {
				return xr.errAt("unexpected element <%s> in <%s>, want <%s>", t.Name.Local, start.Name.Local, item)
			}
			line, _ := xr.check.d.InputPos()
			if err := fn(i, line, t); err != nil {
				return err
			}
			i++
		}
	}
}

func (xr *xmlReader) component(i, line int, se xml.StartElement) error {
	var c cdx.Component
	if err := xr.d.DecodeElement(&c, &se); err != nil {
		return xr.decodeError("component", err)
	}
	if err := xr.validate(xr.set.component, &c, fmt.Sprintf("/components/%d", i), "component", line); err != nil {
		return err
	}
	return xr.sum.component(&c)
}

func (xr *xmlReader) dependency(i, line int, se xml.StartElement) error {
	var dep cdx.Dependency
	if err := xr.d.DecodeElement(&dep, &se); err != nil {
		return xr.decodeError("dependency", err)
	}
	return xr.validate(xr.set.dependency, &dep, fmt.Sprintf("/dependencies/%d", i), "dependency", line)
}

func (xr *xmlReader) vulnerability(i, line int, se xml.StartElement) error {
	var v cdx.Vulnerability
	if err := xr.d.DecodeElement(&v, &se); err != nil {
		return xr.decodeError("vulnerability", err)
	}
	if err := xr.validate(xr.set.vulnerability, &v, fmt.Sprintf("/vulnerabilities/%d", i), "vulnerability", line); err != nil {
		return err
	}
	xr.sum.s.Vulnerabilities++
	return nil
}

// validate checks the JSON form of v against sch.
func (xr *xmlReader) validate(sch *jsonschema.Schema, v any, ptr, what string, line int) error {
	inst, err := jsonForm(v)
	if err != nil {
		return err
	}
	dropXMLLosses(inst, xr.set.spec.version)
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("<%s> at line %d: %w", what, line, schemaError(xr.set.spec.version, ptr, err))
	}
	return nil
}

// validateRest validates the document without its streamed lists against
// the root schema, in JSON form.
func (xr *xmlReader) validateRest() error {
	doc := xr.rest
	sv, err := specVersionOf(xr.set.spec.version)
	if err != nil {
		return err
	}
	doc.SpecVersion = sv
	if xr.set.spec.version == "1.4" {
		// XML 1.4 has <properties> under <bom>, JSON 1.4 has no such member;
		// the properties are name/value pairs the XML decoding has checked.
		doc.Properties = nil
	}
	inst, err := jsonForm(&doc)
	if err != nil {
		return err
	}
	if m, ok := inst.(map[string]any); ok {
		delete(m, "declarations")
		delete(m, "citations")
		if defs, ok := m["definitions"].(map[string]any); ok {
			delete(defs, "patents")
		}
	}
	dropXMLLosses(inst, xr.set.spec.version)
	if err := xr.set.root.Validate(inst); err != nil {
		return schemaError(xr.set.spec.version, "", err)
	}
	return nil
}

func specVersionOf(v string) (cdx.SpecVersion, error) {
	var sv cdx.SpecVersion
	if err := json.Unmarshal([]byte(strconv.Quote(v)), &sv); err != nil {
		return 0, fmt.Errorf("spec version %s: %w", v, err)
	}
	return sv, nil
}

// jsonForm returns v as the generic JSON value the schema validator takes,
// with strings trimmed (XSD token and anyURI types ignore surrounding space;
// JSON patterns do not).
func jsonForm(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, invalidf("cannot express the XML in CycloneDX JSON: %v", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("re-read JSON form: %w", err)
	}
	return trimStrings(inst), nil
}

// dropXMLLosses (and validateRest for the top-level members) removes from
// the JSON form of a piece of an XML document the parts that cyclonedx-go
// v0.12.0 does not decode from XML faithfully, so that validation reports
// faults of the document rather than of the decoder. These parts are not
// schema-checked for XML:
//
//   - patentAssertions (1.7): the <patentRefs> and <asserter> references are
//     lost, leaving empty strings the schema rejects;
//   - declarations (1.6+): references in attestation maps (<claims>,
//     <counterClaims>, ...) are lost, and a signatory's XML signature has no
//     JSON form;
//   - citations (1.7): <attributedTo> is lost (xmlChecker checks the
//     citation rules on the XML instead);
//   - definitions.patents (1.7): patents and patent families come out in
//     the wrong shape.
//
// And one is repaired: cyclonedx-go writes a component's evidence.identity
// as an array, which 1.5 JSON requires to be a single object.
func dropXMLLosses(v any, version string) {
	m, ok := v.(map[string]any)
	if !ok {
		if a, ok := v.([]any); ok {
			for _, x := range a {
				dropXMLLosses(x, version)
			}
		}
		return
	}
	delete(m, "patentAssertions")
	if ev, ok := m["evidence"].(map[string]any); ok && version == "1.5" {
		if id, ok := ev["identity"].([]any); ok && len(id) == 1 {
			ev["identity"] = id[0]
		}
	}
	for _, x := range m {
		dropXMLLosses(x, version)
	}
}

// trimStrings removes leading and trailing space from every string in v.
func trimStrings(v any) any {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case map[string]any:
		for k, x := range t {
			t[k] = trimStrings(x)
		}
	case []any:
		for i, x := range t {
			t[i] = trimStrings(x)
		}
	}
	return v
}

// trailer checks that nothing but comments and space follows the root.
func (xr *xmlReader) trailer() error {
	for {
		tok, err := xr.d.Token()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return xr.xmlError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return xr.errAt("malformed XML: a second root element <%s> after </bom>", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return xr.errAt("malformed XML: text after </bom>")
			}
		}
	}
}

// skip skips the element just started, checking it is well-formed.
func (xr *xmlReader) skip() error {
	if err := xr.d.Skip(); err != nil {
		return xr.xmlError(err)
	}
	return nil
}

func (xr *xmlReader) errAt(format string, args ...any) error {
	line, _ := xr.check.d.InputPos()
	return invalidf("line %d: %s", line, fmt.Sprintf(format, args...))
}

// xmlError turns a decoder failure into an invalid-input error; an error of
// the underlying reader stays what it is.
func (xr *xmlReader) xmlError(err error) error {
	var ev *evidence.Error
	if errors.As(err, &ev) {
		return err
	}
	if errors.Is(err, tokenlimit.ErrTooLarge) {
		line, _ := xr.check.d.InputPos()
		return invalidf("line %d: %v (over %d MiB)", line, err, tokenlimit.DefaultMax>>20)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		if strings.Contains(se.Msg, "unexpected EOF") {
			return invalidf("malformed XML: the document is truncated (line %d)", se.Line)
		}
		return invalidf("malformed XML at line %d: %s", se.Line, se.Msg)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidf("malformed XML: the document is truncated")
	}
	if strings.HasPrefix(err.Error(), "xml:") || strings.Contains(err.Error(), "encoding") {
		line, _ := xr.check.d.InputPos()
		return invalidf("malformed XML at line %d: %v", line, err)
	}
	return fmt.Errorf("read SBOM: %w", err)
}

// decodeError describes a failure to decode the element what.
func (xr *xmlReader) decodeError(what string, err error) error {
	var ev *evidence.Error
	if errors.As(err, &ev) {
		return err
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return xr.xmlError(err)
	}
	line, _ := xr.check.d.InputPos()
	return invalidf("<%s> ending at line %d: %v", what, line, err)
}

// isSPDXRoot recognises the root of an SPDX RDF/XML document by the SPDX
// namespace on the element or among its declarations.
func isSPDXRoot(root xml.StartElement) bool {
	if strings.Contains(strings.ToLower(root.Name.Space), "spdx") {
		return true
	}
	for _, a := range root.Attr {
		if strings.Contains(strings.ToLower(a.Value), "spdx.org/rdf") {
			return true
		}
	}
	return false
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Local + " xmlns=" + strconv.Quote(n.Space)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// metadataChildren and componentChildren list, per spec version, the
// CycloneDX elements the XSD allows in <metadata> and in a component (both
// taken from the XSDs). cyclonedx-go ignores elements it does not know, so
// without these lists a misspelt or out-of-version element would pass
// unnoticed. The later lists extend the earlier ones.
var metadataChildren = versionLists(
	[]string{"timestamp", "tools", "authors", "component", "manufacture", "supplier"},
	[]string{"licenses", "properties"},  // 1.3
	nil,                                 // 1.4
	[]string{"lifecycles"},              // 1.5
	[]string{"manufacturer"},            // 1.6
	[]string{"distributionConstraints"}, // 1.7
)

var componentChildren = versionLists(
	[]string{"supplier", "author", "publisher", "group", "name", "version", "description", "scope", "hashes",
		"licenses", "copyright", "cpe", "purl", "swid", "modified", "pedigree", "externalReferences", "components"},
	[]string{"properties", "evidence"}, // 1.3
	[]string{"releaseNotes"},           // 1.4
	[]string{"modelCard", "data"},      // 1.5
	[]string{"manufacturer", "authors", "omniborId", "swhid", "cryptoProperties", "tags"}, // 1.6
	[]string{"versionRange", "patentAssertions"},                                          // 1.7
)

// versionLists turns the additions of 1.2, 1.3, ... 1.7 into the full list
// of each version.
func versionLists(additions ...[]string) map[string][]string {
	out := map[string][]string{}
	var acc []string
	for i, add := range additions {
		acc = append(append([]string(nil), acc...), add...)
		out[specs[i].version] = acc
	}
	return out
}

// dataFlows are the values of the XSD's dataFlowType (classification@flow).
var dataFlows = []string{"inbound", "outbound", "bi-directional", "unknown"}

// xmlChecker sits between the XML decoder and everything that reads tokens,
// cyclonedx-go's decoding included, and checks XSD rules the JSON form of
// the document cannot show. It stops the stream with an error at the first
// violation. Only elements in the document's CycloneDX namespace are checked.
type xmlChecker struct {
	d       *xml.Decoder
	lim     *tokenlimit.Reader // every raw token passes here: the size limit is marked per token
	ns      string             // the document's CycloneDX namespace, once the root is read
	version string
	stack   []xmlFrame
	refs    map[[sha256.Size]byte]bool
	err     error
}

// xmlFrame is an open element: its local name if it is in the CycloneDX
// namespace ("" otherwise) and what the checks need to know of its children.
type xmlFrame struct {
	name        string
	line        int
	idOrName    int            // <license>: number of <id> and <name> children
	licenses    int            // <licenses>: number of <license> children
	expressions int            // <licenses>: number of <expression> children
	hasName     bool           // <component>: a <name> child was seen
	counts      map[string]int // <citation>: children by name
}

func (c *xmlChecker) Token() (xml.Token, error) {
	if c.err != nil {
		return nil, c.err
	}
	tok, err := c.d.Token()
	c.lim.Mark()
	if err != nil {
		return tok, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		c.start(t)
	case xml.EndElement:
		c.end()
	}
	if c.err != nil {
		return nil, c.err
	}
	return tok, nil
}

func (c *xmlChecker) start(t xml.StartElement) {
	line, _ := c.d.InputPos()
	f := xmlFrame{line: line}
	if c.ns != "" && t.Name.Space == c.ns {
		f.name = t.Name.Local
	}
	if f.name == "" {
		c.stack = append(c.stack, f)
		return
	}
	if len(c.stack) > 0 {
		c.child(&c.stack[len(c.stack)-1], f.name, line)
	}
	attrs := map[string]string{}
	for _, a := range t.Attr {
		if a.Name.Space == "" {
			attrs[a.Name.Local] = a.Value
		}
	}
	if v, ok := attrs["bom-ref"]; ok {
		c.ref(line, f.name, v)
	}
	required := func(names ...string) {
		for _, n := range names {
			if _, ok := attrs[n]; !ok {
				c.fail(line, fmt.Sprintf("<%s> has no %s attribute; the schema requires it", f.name, n))
			}
		}
	}
	switch f.name {
	case "component":
		required("type")
	case "swid":
		required("tagId", "name")
	case "dependency":
		required("ref")
		if v, ok := attrs["ref"]; ok && v == "" {
			c.fail(line, "<dependency> has an empty ref")
		}
	case "property":
		required("name")
	case "classification":
		if v, ok := attrs["flow"]; ok && !contains(dataFlows, v) {
			c.fail(line, fmt.Sprintf("<classification flow=%q>: want one of %s", v, strings.Join(dataFlows, ", ")))
		}
	}
	c.stack = append(c.stack, f)
}

// child checks the child element name of the open element p.
func (c *xmlChecker) child(p *xmlFrame, name string, line int) {
	switch p.name {
	case "metadata":
		if !contains(metadataChildren[c.version], name) {
			c.fail(line, fmt.Sprintf("unexpected element <%s> in <metadata> (CycloneDX %s)", name, c.version))
		}
	case "component":
		if !contains(componentChildren[c.version], name) {
			c.fail(line, fmt.Sprintf("unexpected element <%s> in <component> (CycloneDX %s)", name, c.version))
		}
		if name == "name" {
			p.hasName = true
		}
	case "license":
		if name == "id" || name == "name" {
			p.idOrName++
			if p.idOrName > 1 {
				c.fail(line, "<license> has more than one <id> or <name>; the schema allows exactly one")
			}
		}
	case "citation":
		if p.counts == nil {
			p.counts = map[string]int{}
		}
		p.counts[name]++
		if (name == "attributedTo" || name == "process") && p.counts[name] > 1 {
			c.fail(line, fmt.Sprintf("<citation> has more than one <%s>", name))
		}
	case "licenses":
		switch name {
		case "license":
			p.licenses++
		case "expression":
			p.expressions++
		}
		// Before 1.7, <licenses> holds either licenses or one expression.
		if c.version < "1.7" && (p.expressions > 1 || p.expressions > 0 && p.licenses > 0) {
			c.fail(line, fmt.Sprintf("<licenses> mixes <license> and <expression> or has several expressions; CycloneDX %s allows either licenses or one expression", c.version))
		}
	}
}

func (c *xmlChecker) end() {
	if len(c.stack) == 0 {
		return
	}
	f := c.stack[len(c.stack)-1]
	c.stack = c.stack[:len(c.stack)-1]
	switch {
	case f.name == "license" && f.idOrName == 0:
		c.fail(f.line, "<license> has neither <id> nor <name>; the schema requires one")
	case f.name == "component" && !f.hasName:
		c.fail(f.line, "<component> has no <name>")
	case f.name == "citation":
		// The JSON schema's anyOf/oneOf, which the XSD leaves to prose.
		if f.counts["attributedTo"]+f.counts["process"] == 0 {
			c.fail(f.line, "<citation> has neither <attributedTo> nor <process>")
		}
		if (f.counts["pointers"] > 0) == (f.counts["expressions"] > 0) {
			c.fail(f.line, "<citation> must have either <pointers> or <expressions>")
		}
	}
}

// ref checks one bom-ref attribute: not empty, unique in the document (the
// XSD's xs:unique over every element's bom-ref).
func (c *xmlChecker) ref(line int, elem, v string) {
	if v == "" {
		c.fail(line, fmt.Sprintf("<%s> has an empty bom-ref", elem))
		return
	}
	if c.refs == nil {
		c.refs = map[[sha256.Size]byte]bool{}
	}
	k := sha256.Sum256([]byte(v))
	if c.refs[k] {
		c.fail(line, fmt.Sprintf("bom-ref %q is used twice; bom-refs must be unique in the document", v))
		return
	}
	c.refs[k] = true
}

func (c *xmlChecker) fail(line int, msg string) {
	if c.err == nil {
		c.err = invalidf("line %d: %s", line, msg)
	}
}
