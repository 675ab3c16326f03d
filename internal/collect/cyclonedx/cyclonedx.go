// Package cyclonedx reads a CycloneDX SBOM (spec 1.2–1.7, JSON or XML) and
// turns it into evident's SOUP list: one evidence.SOUPEntry per component,
// plus an evidence.SBOMSummary for the release manifest.
//
// An SBOM is accepted only if it is valid against the official CycloneDX
// schema of its specVersion; a SOUP list built from a document that only
// looks like CycloneDX would be worthless as release evidence. The
// documents are decoded with cyclonedx-go's types, which validate nothing by
// themselves, and validated with the official JSON schemas (embedded, never
// fetched).
//
// Reading streams: at most one element of the top-level components,
// dependencies and vulnerabilities arrays is in memory at a time, so an SBOM
// of 20,000 components costs no more memory than one of 20. The other
// top-level sections (metadata, services, compositions, externalReferences,
// annotations, formulation, declarations, definitions, citations,
// properties, signature) are held in memory while the document is read;
// they are small in every SBOM we have seen, and they must be complete to be
// validated against the root schema. Beyond that, memory grows only by a
// 32-byte digest per streamed array element (for the schema's uniqueItems
// rule; see uniqueSet) and, for XML, one per bom-ref.
//
// Which entries become SOUP: every element of the top-level components
// array and, recursively, their nested components. metadata.component is
// the product the SBOM describes, not SOUP, and is left out with everything
// nested under it; so are the components that only appear in pedigree
// (ancestors, descendants, variants), which describe where a component came
// from rather than what ships.
package cyclonedx

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/evident-dev/evident/internal/evidence"
)

// Format is the serialisation of an SBOM: evidence.FormatCycloneDXJSON or
// evidence.FormatCycloneDXXML.
type Format string

// The formats Read accepts.
const (
	FormatJSON Format = evidence.FormatCycloneDXJSON
	FormatXML  Format = evidence.FormatCycloneDXXML
)

// Property names that carry SOUP fields CycloneDX has no element for.
const (
	// PropertyEndOfSupport is CycloneDX's registered property for the end of
	// support date (ISO 8601) of a component.
	PropertyEndOfSupport = "cdx:lifecycle:milestone:endOfSupport"
	// PropertySupportLevel is evident's property for the level of support
	// the manufacturer gives (FDA premarket cybersecurity guidance).
	PropertySupportLevel = "evident:soup:supportLevel"
)

// CompletenessUnknown is the completeness reported when no composition
// speaks for the whole inventory.
const CompletenessUnknown = "unknown"

// sniffLimit is how far Sniff looks for the first non-space byte.
const sniffLimit = 4096

// Sniff decides JSON or XML from the first non-space byte (after an optional
// UTF-8 byte order mark) without consuming anything from r. It looks at most
// at the first 4 KiB (or r's buffer size, if smaller). An empty input, a
// document that is neither JSON nor XML, and an SPDX tag-value document are
// errors of kind evidence.KindInvalid.
func Sniff(r *bufio.Reader) (Format, error) {
	limit := min(r.Size(), sniffLimit)
	b, err := r.Peek(limit)
	if len(b) == 0 {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", evidence.Errorf(evidence.KindInvalid, "empty file: not a CycloneDX SBOM")
	}
	b = bytes.TrimPrefix(b, utf8BOM)
	rest := bytes.TrimLeft(b, " \t\r\n")
	if len(rest) == 0 {
		if len(b) < limit-len(utf8BOM) {
			return "", evidence.Errorf(evidence.KindInvalid, "file holds only white space: not a CycloneDX SBOM")
		}
		return "", evidence.Errorf(evidence.KindInvalid, "no JSON or XML content in the first %d bytes: not a CycloneDX SBOM", limit)
	}
	switch rest[0] {
	case '{', '[':
		return FormatJSON, nil
	case '<':
		return FormatXML, nil
	}
	if looksLikeSPDXTagValue(rest) {
		return "", errSPDX("tag-value")
	}
	return "", evidence.Errorf(evidence.KindInvalid, "neither JSON nor XML (starts with %q): not a CycloneDX SBOM", firstLine(rest, 40))
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// looksLikeSPDXTagValue reports whether b starts like an SPDX tag-value
// document: comment lines, then "SPDXVersion:".
func looksLikeSPDXTagValue(b []byte) bool {
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case len(line) == 0 || line[0] == '#':
			continue
		case bytes.HasPrefix(line, []byte("SPDXVersion:")):
			return true
		}
		return false
	}
	return false
}

func errSPDX(form string) error {
	return evidence.Errorf(evidence.KindInvalid, "this is an SPDX document (%s), not CycloneDX; evident reads CycloneDX SBOMs only", form)
}

func firstLine(b []byte, n int) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > n {
		b = b[:n]
	}
	return string(bytes.TrimSpace(b))
}

// Read validates a CycloneDX SBOM against the official schema of its
// specVersion and streams one evidence.SOUPEntry per component to fn
// (nested components included, metadata.component excluded: that is the
// product itself, not SOUP), returning the summary.
//
// fn is called while the document is read, before the whole of it has been
// validated: when Read returns an error, the entries fn received must be
// discarded. An error returned by fn stops the read and is returned as is.
// Every error about the input is of kind evidence.KindInvalid and reads well
// after a "path/to/file: " prefix. Read never fetches anything; it may write
// a temporary file when a JSON document states its specVersion only after
// its components (see readJSON).
func Read(r io.Reader, f Format, fn func(evidence.SOUPEntry) error) (evidence.SBOMSummary, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(len(utf8BOM)); bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	switch f {
	case FormatJSON:
		return readJSON(br, fn)
	case FormatXML:
		return readXML(br, fn)
	}
	return evidence.SBOMSummary{}, evidence.Errorf(evidence.KindInvalid, "unknown SBOM format %q (want %s or %s)", string(f), FormatJSON, FormatXML)
}

// summary accumulates the SBOMSummary while entries are emitted.
type summary struct {
	s    evidence.SBOMSummary
	gaps map[string]*evidence.SOUPGap
	fn   func(evidence.SOUPEntry) error
}

func newSummary(fn func(evidence.SOUPEntry) error) *summary {
	return &summary{
		s:    evidence.SBOMSummary{Format: "CycloneDX", Completeness: CompletenessUnknown},
		gaps: map[string]*evidence.SOUPGap{},
		fn:   fn,
	}
}

// gapFields lists the SOUP fields in the order the evidence package declares
// them, with the test for their absence.
var gapFields = []struct {
	field   string
	missing func(evidence.SOUPEntry) bool
}{
	{evidence.SOUPFieldName, func(e evidence.SOUPEntry) bool { return e.Name == "" }},
	{evidence.SOUPFieldVersion, func(e evidence.SOUPEntry) bool { return e.Version == "" }},
	{evidence.SOUPFieldDesignator, func(e evidence.SOUPEntry) bool { return !e.HasDesignator() }},
	{evidence.SOUPFieldManufacturer, func(e evidence.SOUPEntry) bool { return e.Manufacturer == "" }},
	{evidence.SOUPFieldLicense, func(e evidence.SOUPEntry) bool { return len(e.Licenses) == 0 }},
	{evidence.SOUPFieldEndOfSupport, func(e evidence.SOUPEntry) bool { return e.EndOfSupport == "" }},
	{evidence.SOUPFieldSupportLevel, func(e evidence.SOUPEntry) bool { return e.SupportLevel == "" }},
}

// component emits c and, depth first, its nested components.
func (s *summary) component(c *cdx.Component) error {
	e := soupEntry(c)
	s.s.Components++
	for _, g := range gapFields {
		if !g.missing(e) {
			continue
		}
		gap := s.gaps[g.field]
		if gap == nil {
			gap = &evidence.SOUPGap{Field: g.field, Examples: []string{}}
			s.gaps[g.field] = gap
		}
		gap.Count++
		if len(gap.Examples) < evidence.MaxGapExamples {
			gap.Examples = append(gap.Examples, e.Label())
		}
	}
	if err := s.fn(e); err != nil {
		return err
	}
	if c.Components != nil {
		for i := range *c.Components {
			if err := s.component(&(*c.Components)[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// finish returns the summary with its gaps in declaration order and the
// completeness computed from the BOM's compositions.
func (s *summary) finish(meta *cdx.Metadata, comps []cdx.Composition) evidence.SBOMSummary {
	out := s.s
	for _, g := range gapFields {
		if gap := s.gaps[g.field]; gap != nil {
			out.Gaps = append(out.Gaps, *gap)
		}
	}
	out.Completeness = completeness(meta, comps)
	return out
}

// completeness returns the aggregate of the first composition that speaks
// for the whole inventory: one that restricts itself to no assemblies and
// no dependencies (it describes the BOM as a whole), or one whose
// assemblies or dependencies name metadata.component (it describes the
// product's constituents). Compositions about other parts say nothing
// about the inventory as a whole and are ignored; with none left the
// answer is CompletenessUnknown.
func completeness(meta *cdx.Metadata, comps []cdx.Composition) string {
	product := ""
	if meta != nil && meta.Component != nil {
		product = meta.Component.BOMRef
	}
	names := func(refs *[]cdx.BOMReference) bool {
		if refs == nil || product == "" {
			return false
		}
		for _, r := range *refs {
			if string(r) == product {
				return true
			}
		}
		return false
	}
	empty := func(refs *[]cdx.BOMReference) bool { return refs == nil || len(*refs) == 0 }
	for _, c := range comps {
		whole := empty(c.Assemblies) && empty(c.Dependencies)
		if (whole || names(c.Assemblies) || names(c.Dependencies)) && c.Aggregate != "" {
			return string(c.Aggregate)
		}
	}
	return CompletenessUnknown
}

// soupEntry maps a CycloneDX component onto a SOUP entry (REGULATORY.md,
// "SOUP record and where CycloneDX carries it").
func soupEntry(c *cdx.Component) evidence.SOUPEntry {
	e := evidence.SOUPEntry{
		BOMRef:       c.BOMRef,
		Type:         string(c.Type),
		Group:        c.Group,
		Name:         c.Name,
		Version:      c.Version,
		Manufacturer: manufacturer(c),
		PURL:         c.PackageURL,
		CPE:          c.CPE,
	}
	if c.Hashes != nil {
		for _, h := range *c.Hashes {
			e.Hashes = append(e.Hashes, evidence.Hash{Alg: string(h.Algorithm), Value: strings.TrimSpace(h.Value)})
		}
	}
	if c.Licenses != nil {
		for _, l := range *c.Licenses {
			switch {
			case l.Expression != "":
				e.Licenses = append(e.Licenses, l.Expression)
			case l.License != nil && l.License.ID != "":
				e.Licenses = append(e.Licenses, l.License.ID)
			case l.License != nil && l.License.Name != "":
				e.Licenses = append(e.Licenses, l.License.Name)
			}
		}
	}
	if c.Properties != nil {
		for _, p := range *c.Properties {
			switch p.Name {
			case PropertyEndOfSupport:
				if e.EndOfSupport == "" {
					e.EndOfSupport = strings.TrimSpace(p.Value)
				}
			case PropertySupportLevel:
				if e.SupportLevel == "" {
					e.SupportLevel = strings.TrimSpace(p.Value)
				}
			}
		}
	}
	return e
}

// manufacturer returns who makes the component: manufacturer (1.6+), else
// supplier, else the legacy author string, else the authors (1.6+) joined.
func manufacturer(c *cdx.Component) string {
	if c.Manufacturer != nil && strings.TrimSpace(c.Manufacturer.Name) != "" {
		return strings.TrimSpace(c.Manufacturer.Name)
	}
	if c.Supplier != nil && strings.TrimSpace(c.Supplier.Name) != "" {
		return strings.TrimSpace(c.Supplier.Name)
	}
	if a := strings.TrimSpace(c.Author); a != "" {
		return a
	}
	if c.Authors != nil {
		var names []string
		for _, a := range *c.Authors {
			if n := strings.TrimSpace(a.Name); n != "" {
				names = append(names, n)
			}
		}
		return strings.Join(names, ", ")
	}
	return ""
}

// invalidf is shorthand for an error about the input.
func invalidf(format string, args ...any) error {
	return evidence.Errorf(evidence.KindInvalid, format, args...)
}

// describe names a JSON value's kind for messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	}
	return fmt.Sprintf("a %T", v)
}
