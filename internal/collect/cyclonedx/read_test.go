package cyclonedx

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// mappingJSON exercises every SOUP field and where it comes from.
const mappingJSON = `{
  "bomFormat": "CycloneDX",
  "specVersion": "1.6",
  "version": 1,
  "metadata": {
    "component": {"type": "firmware", "bom-ref": "product", "name": "monitor-firmware", "version": "4.2.0"}
  },
  "components": [
    {
      "type": "library", "bom-ref": "lib-a", "group": "org.example", "name": "a", "version": "1.0",
      "manufacturer": {"name": "Maker Inc"}, "supplier": {"name": "Supplier Ltd"}, "author": "Someone",
      "purl": "pkg:maven/org.example/a@1.0", "cpe": "cpe:2.3:a:example:a:1.0:*:*:*:*:*:*:*",
      "hashes": [{"alg": "SHA-256", "content": "f498a8ff2dd007e29c2074f5e4b01a9a01775c3ff3aeaf6906ea503bc5791b7b"}],
      "licenses": [{"license": {"id": "Apache-2.0"}}, {"license": {"name": "Custom Licence"}}],
      "properties": [
        {"name": "cdx:lifecycle:milestone:endOfSupport", "value": "2030-12-31"},
        {"name": "evident:soup:supportLevel", "value": "security fixes only"}
      ],
      "pedigree": {"ancestors": [{"type": "library", "name": "a-upstream", "version": "0.9"}]},
      "components": [
        {"type": "library", "name": "a-inner", "version": "1.0", "supplier": {"name": "Supplier Ltd"},
         "licenses": [{"expression": "MIT OR Apache-2.0"}], "purl": "pkg:generic/a-inner@1.0"}
      ]
    },
    {"type": "operating-system", "name": "rtos", "authors": [{"name": "Ann"}, {"name": "Bob"}]},
    {"type": "framework", "name": "b", "version": "2.0", "author": "B Team", "purl": "pkg:npm/b@2.0"}
  ],
  "compositions": [{"aggregate": "incomplete_first_party_only", "assemblies": ["product"]}]
}`

// mappingXML is mappingJSON as CycloneDX 1.6 XML.
const mappingXML = `<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <metadata>
    <component type="firmware" bom-ref="product"><name>monitor-firmware</name><version>4.2.0</version></component>
  </metadata>
  <components>
    <component type="library" bom-ref="lib-a">
      <supplier><name>Supplier Ltd</name></supplier>
      <manufacturer><name>Maker Inc</name></manufacturer>
      <author>Someone</author>
      <group>org.example</group>
      <name>a</name>
      <version>1.0</version>
      <hashes><hash alg="SHA-256">
        f498a8ff2dd007e29c2074f5e4b01a9a01775c3ff3aeaf6906ea503bc5791b7b
      </hash></hashes>
      <licenses><license><id>Apache-2.0</id></license><license><name>Custom Licence</name></license></licenses>
      <cpe>cpe:2.3:a:example:a:1.0:*:*:*:*:*:*:*</cpe>
      <purl>pkg:maven/org.example/a@1.0</purl>
      <pedigree><ancestors><component type="library"><name>a-upstream</name><version>0.9</version></component></ancestors></pedigree>
      <properties>
        <property name="cdx:lifecycle:milestone:endOfSupport">2030-12-31</property>
        <property name="evident:soup:supportLevel">security fixes only</property>
      </properties>
      <components>
        <component type="library">
          <supplier><name>Supplier Ltd</name></supplier>
          <name>a-inner</name><version>1.0</version>
          <licenses><expression>MIT OR Apache-2.0</expression></licenses>
          <purl>pkg:generic/a-inner@1.0</purl>
        </component>
      </components>
    </component>
    <component type="operating-system"><authors><author><name>Ann</name></author><author><name>Bob</name></author></authors><name>rtos</name></component>
    <component type="framework"><author>B Team</author><name>b</name><version>2.0</version><purl>pkg:npm/b@2.0</purl></component>
  </components>
  <compositions><composition><aggregate>incomplete_first_party_only</aggregate><assemblies><assembly ref="product"/></assemblies></composition></compositions>
</bom>`

var mappingEntries = []evidence.SOUPEntry{
	{
		BOMRef: "lib-a", Type: "library", Group: "org.example", Name: "a", Version: "1.0",
		Manufacturer: "Maker Inc", // manufacturer beats supplier and author
		PURL:         "pkg:maven/org.example/a@1.0", CPE: "cpe:2.3:a:example:a:1.0:*:*:*:*:*:*:*",
		Hashes:       []evidence.Hash{{Alg: "SHA-256", Value: "f498a8ff2dd007e29c2074f5e4b01a9a01775c3ff3aeaf6906ea503bc5791b7b"}},
		Licenses:     []string{"Apache-2.0", "Custom Licence"},
		EndOfSupport: "2030-12-31", SupportLevel: "security fixes only",
	},
	{
		Type: "library", Name: "a-inner", Version: "1.0", Manufacturer: "Supplier Ltd",
		PURL: "pkg:generic/a-inner@1.0", Licenses: []string{"MIT OR Apache-2.0"},
	},
	{Type: "operating-system", Name: "rtos", Manufacturer: "Ann, Bob"},
	{Type: "framework", Name: "b", Version: "2.0", Manufacturer: "B Team", PURL: "pkg:npm/b@2.0"},
}

var mappingSummary = evidence.SBOMSummary{
	Format: "CycloneDX", SpecVersion: "1.6", Components: 4, Completeness: "incomplete_first_party_only",
	Gaps: []evidence.SOUPGap{
		{Field: "version", Count: 1, Examples: []string{"rtos"}},
		{Field: "designator", Count: 1, Examples: []string{"rtos"}},
		{Field: "license", Count: 2, Examples: []string{"rtos", "b@2.0"}},
		{Field: "endOfSupport", Count: 3, Examples: []string{"a-inner@1.0", "rtos", "b@2.0"}},
		{Field: "supportLevel", Count: 3, Examples: []string{"a-inner@1.0", "rtos", "b@2.0"}},
	},
}

// TestMapping checks the SOUP entries and summary of a document exercising
// every field, in both formats: nested components follow their parent,
// metadata.component and pedigree ancestors are not SOUP.
func TestMapping(t *testing.T) {
	for _, tt := range []struct{ name, doc string }{{"json", mappingJSON}, {"xml", mappingXML}} {
		t.Run(tt.name, func(t *testing.T) {
			entries, sum, err := readBytes([]byte(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(mappingEntries, entries); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(mappingSummary, sum); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGapExamplesCapped checks that a gap counts every entry but names only
// the first MaxGapExamples.
func TestGapExamplesCapped(t *testing.T) {
	n := evidence.MaxGapExamples + 5
	_, sum, err := readBytes([]byte(genJSON(n)))
	if err != nil {
		t.Fatal(err)
	}
	g := sum.Gap(evidence.SOUPFieldManufacturer)
	if g.Count != n || len(g.Examples) != evidence.MaxGapExamples {
		t.Fatalf("manufacturer gap: count %d with %d examples, want %d with %d", g.Count, len(g.Examples), n, evidence.MaxGapExamples)
	}
	if g.Examples[0] != "com.example/lib-0@1.0.0" || g.Examples[evidence.MaxGapExamples-1] != fmt.Sprintf("com.example/lib-%d@1.0.0", evidence.MaxGapExamples-1) {
		t.Errorf("examples = %q, want the first entries in document order", g.Examples)
	}
}

func TestCompleteness(t *testing.T) {
	doc := func(compositions string) string {
		return `{"bomFormat":"CycloneDX","specVersion":"1.5","version":1,
			"metadata":{"component":{"type":"application","bom-ref":"app","name":"app"}},
			"compositions":` + compositions + `}`
	}
	tests := []struct {
		name, compositions, want string
	}{
		{"absent", `[]`, "unknown"},
		{"whole BOM", `[{"aggregate":"complete"}]`, "complete"},
		{"names the product in assemblies", `[{"aggregate":"incomplete","assemblies":["app"]}]`, "incomplete"},
		{"names the product in dependencies", `[{"aggregate":"complete","dependencies":["app"]}]`, "complete"},
		{"only about a part", `[{"aggregate":"complete","assemblies":["some-lib"]}]`, "unknown"},
		{"first that covers the inventory wins", `[{"aggregate":"unknown","assemblies":["some-lib"]},{"aggregate":"incomplete_third_party_only"},{"aggregate":"complete"}]`, "incomplete_third_party_only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sum, err := readBytes([]byte(doc(tt.compositions)))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Completeness != tt.want {
				t.Errorf("completeness = %q, want %q", sum.Completeness, tt.want)
			}
		})
	}
}

// TestLateSpecVersion checks JSON whose components come before specVersion
// (and bomFormat): they are buffered, then validated and emitted as usual.
func TestLateSpecVersion(t *testing.T) {
	lib := func(name string) string {
		return `{"type":"library","name":"` + name + `","version":"1.0","purl":"pkg:generic/` + name + `@1.0"}`
	}
	tests := []struct {
		name, doc string
		want      []string // entry labels
		vulns     int
		wantErr   string
	}{
		{
			name: "components first",
			doc:  `{"components":[` + lib("x") + `,` + lib("y") + `],"version":1,"bomFormat":"CycloneDX","specVersion":"1.4"}`,
			want: []string{"x@1.0", "y@1.0"},
		},
		{
			name:  "some before, some after",
			doc:   `{"vulnerabilities":[{"id":"CVE-2024-0001"}],"components":[` + lib("x") + `],"bomFormat":"CycloneDX","specVersion":"1.5","version":1,"dependencies":[{"ref":"x"}]}`,
			want:  []string{"x@1.0"},
			vulns: 1,
		},
		{
			name: "1.2 vulnerabilities are an unknown member, not counted",
			doc:  `{"vulnerabilities":[{"anything":true}],"bomFormat":"CycloneDX","specVersion":"1.2","version":1}`,
		},
		{
			name:    "buffered component is still validated",
			doc:     `{"components":[` + lib("x") + `,{"type":"gadget","name":"z"}],"bomFormat":"CycloneDX","specVersion":"1.4","version":1}`,
			wantErr: "at /components/1/type: value must be one of",
		},
		{
			name:    "never says its version",
			doc:     `{"components":[` + lib("x") + `],"bomFormat":"CycloneDX","version":1}`,
			wantErr: "specVersion is missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, sum, err := readBytes([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Label())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			if sum.Vulnerabilities != tt.vulns || sum.Components != len(tt.want) {
				t.Errorf("summary counts %d components, %d vulnerabilities; want %d, %d", sum.Components, sum.Vulnerabilities, len(tt.want), tt.vulns)
			}
		})
	}
}

// TestRejects checks that bad input is an invalid-input error that says
// what is wrong.
func TestRejects(t *testing.T) {
	const head = `"bomFormat":"CycloneDX","specVersion":"1.6","version":1`
	tests := []struct {
		name, doc, want string
	}{
		{"empty file", ``, "empty file"},
		{"only space", "  \n\t ", "only white space"},
		{"not JSON or XML", `hello`, `neither JSON nor XML (starts with "hello")`},
		{"SPDX tag-value", "# comment\nSPDXVersion: SPDX-2.3\n", "this is an SPDX document (tag-value)"},
		{"truncated JSON", `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"lib`, "malformed JSON: the document is truncated"},
		{"bad JSON", `{"bomFormat" "CycloneDX"}`, "malformed JSON at byte"},
		{"JSON array", `[{"bomFormat":"CycloneDX"}]`, "the JSON document is an array, want an object"},
		{"trailing data", `{` + head + `} {}`, "after the end of the document"},
		{"no bomFormat", `{"specVersion":"1.6"}`, "bomFormat is missing"},
		{"other bomFormat", `{"bomFormat":"SPDX","specVersion":"1.6"}`, `bomFormat is "SPDX", want "CycloneDX"`},
		{"bomFormat not a string", `{"bomFormat":7,"specVersion":"1.6"}`, `bomFormat is a number`},
		{"spec 1.1", `{"bomFormat":"CycloneDX","specVersion":"1.1"}`, "spec version 1.1 is not supported (1.2–1.7 are)"},
		{"spec 1.0", `{"bomFormat":"CycloneDX","specVersion":"1.0"}`, "spec version 1.0 is not supported (1.2–1.7 are)"},
		{"spec 2.0", `{"bomFormat":"CycloneDX","specVersion":"2.0"}`, `spec version "2.0" is not supported (1.2–1.7 are)`},
		{"spec a number", `{"bomFormat":"CycloneDX","specVersion":1.6}`, `specVersion is a number, want a string`},
		{"duplicate member", `{` + head + `,"version":2}`, `top-level member "version" appears twice`},
		{"components not an array", `{` + head + `,"components":{"type":"library"}}`, "at /components: got an object, want an array"},
		{"component schema failure", `{` + head + `,"components":[{"type":"library","name":"a"},{"type":"library","name":"b","hashes":[{"alg":"SHA-256","content":"xyz"}]}]}`,
			"does not match the CycloneDX 1.6 schema: at /components/1/hashes/0/content: 'xyz' does not match pattern"},
		{"duplicate components", `{` + head + `,"components":[{"type":"library","name":"a"},{"name":"a","type":"library"}]}`,
			"at /components: items at 0 and 1 are equal (uniqueItems)"},
		{"dependency schema failure", `{` + head + `,"dependencies":[{"ref":""}]}`, "at /dependencies/0/ref: minLength"},
		{"metadata schema failure", `{` + head + `,"metadata":{"timestamp":"yesterday"}}`, "at /metadata/timestamp: 'yesterday' is not valid date-time"},
		{"unknown member in 1.6", `{` + head + `,"extra":1}`, "additional properties 'extra' not allowed"},
		{"version is a string", `{"bomFormat":"CycloneDX","specVersion":"1.4","version":"1"}`, "at /version: got string, want integer"},
		{"SPDX JSON", `{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT"}`, "this is an SPDX document (JSON)"},
		{"SPDX JSON-LD", `{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`, "this is an SPDX document (JSON-LD)"},

		{"XML declaration only", `<?xml version="1.0" encoding="UTF-8"?>`, "no root element"},
		{"XML wrong root", `<testsuites/>`, "the root element is <testsuites>, want <bom>"},
		{"XML without namespace", `<bom version="1"/>`, "<bom> has no namespace"},
		{"XML wrong namespace", `<bom xmlns="http://example.com/bom" version="1"/>`, `<bom> is in namespace "http://example.com/bom"`},
		{"XML spec 1.1", `<bom xmlns="http://cyclonedx.org/schema/bom/1.1" version="1"/>`, "spec version 1.1 is not supported (1.2–1.7 are)"},
		{"XML spec 1.9", `<bom xmlns="http://cyclonedx.org/schema/bom/1.9" version="1"/>`, `spec version "1.9" is not supported`},
		{"XML truncated", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>a`, "malformed XML: the document is truncated"},
		{"XML not well-formed", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components></bom>`, "malformed XML at line 1"},
		{"XML second root", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"/><bom/>`, "a second root element"},
		{"XML bad version attribute", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="one"/>`, `<bom version="one">: want an integer`},
		{"XML element of a later version", `<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><formulation/></bom>`, "unexpected element <formulation> in <bom> (CycloneDX 1.4)"},
		{"XML section twice", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components/><components/></bom>`, "<components> appears twice"},
		{"XML unknown component child", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>a</name><licences/></component></components></bom>`,
			"unexpected element <licences> in <component>"},
		{"XML duplicate bom-ref", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><metadata><component type="application" bom-ref="x"><name>p</name></component></metadata><components><component type="library" bom-ref="x"><name>a</name></component></components></bom>`,
			`bom-ref "x" is used twice`},
		{"XML component schema failure", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="gadget"><name>a</name></component></components></bom>`,
			"<component> at line 1: does not match the CycloneDX 1.6 schema: at /components/0/type: value must be one of"},
		{"XML non-UTF-8 encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>`, `encoding "ISO-8859-1" is not supported`},
		{"SPDX RDF/XML", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:spdx="http://spdx.org/rdf/terms#"/>`, "this is an SPDX document (RDF/XML)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, _, err := readBytes([]byte(tt.doc))
			if err == nil {
				t.Fatalf("accepted, with %d entries", len(entries))
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %q, want %q", evidence.KindOf(err), evidence.KindInvalid)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// TestLeniencies checks what evident accepts although a strict reading of
// the schema would not, and what it tolerates as the schema allows.
func TestLeniencies(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"missing BOM version before 1.6", `{"bomFormat":"CycloneDX","specVersion":"1.4"}`},
		{"UTF-8 byte order mark", "\xEF\xBB\xBF" + `{"bomFormat":"CycloneDX","specVersion":"1.6"}`},
		{"XML foreign elements and attributes", `<bom xmlns="http://cyclonedx.org/schema/bom/1.6" xmlns:x="urn:x" x:a="1">
			<x:extra><x:deep/></x:extra>
			<components x:b="2"><x:note/><component type="library" x:c="3"><name>a</name><x:name>not this</x:name></component></components>
		</bom>`},
		{"XML lower-case utf-8 declaration", `<?xml version="1.0" encoding="utf-8"?><bom xmlns="http://cyclonedx.org/schema/bom/1.6"/>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := readBytes([]byte(tt.doc)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		name, in string
		want     Format
	}{
		{"json", `{"bomFormat":"CycloneDX"}`, FormatJSON},
		{"json after space", "\n\t  {}", FormatJSON},
		{"json after BOM", "\xEF\xBB\xBF{}", FormatJSON},
		{"xml declaration", `<?xml version="1.0"?><bom/>`, FormatXML},
		{"xml after BOM and space", "\xEF\xBB\xBF\r\n<bom/>", FormatXML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.in))
			got, err := Sniff(br)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
			rest, _ := io.ReadAll(br)
			if string(rest) != tt.in {
				t.Errorf("Sniff consumed input: %q left of %q", rest, tt.in)
			}
		})
	}
	t.Run("nothing but space in the look-ahead", func(t *testing.T) {
		_, err := Sniff(bufio.NewReader(strings.NewReader(strings.Repeat(" ", 5000) + "{}")))
		if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "no JSON or XML content in the first 4096 bytes") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestReadUnknownFormat(t *testing.T) {
	_, err := Read(strings.NewReader(`{}`), "yaml", func(evidence.SOUPEntry) error { return nil })
	if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), `unknown SBOM format "yaml"`) {
		t.Fatalf("got %v", err)
	}
}

// TestCallbackError checks that an error of fn stops the read and comes back
// unchanged, in both formats and for buffered components.
func TestCallbackError(t *testing.T) {
	stop := errors.New("disk full")
	for _, tt := range []struct{ name, doc string }{
		{"json", mappingJSON},
		{"xml", mappingXML},
		{"json buffered", `{"components":[{"type":"library","name":"a"},{"type":"library","name":"b"}],"bomFormat":"CycloneDX","specVersion":"1.6"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			br := bufio.NewReader(strings.NewReader(tt.doc))
			f, err := Sniff(br)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Read(br, f, func(evidence.SOUPEntry) error {
				calls++
				return stop
			})
			if !errors.Is(err, stop) || calls != 1 {
				t.Fatalf("got %v after %d calls, want %v after 1", err, calls, stop)
			}
		})
	}
}

// TestReaderError checks that a failing reader is not blamed on the SBOM.
func TestReaderError(t *testing.T) {
	broken := errors.New("connection reset")
	for _, f := range []Format{FormatJSON, FormatXML} {
		t.Run(string(f), func(t *testing.T) {
			doc := `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[`
			if f == FormatXML {
				doc = `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components>`
			}
			r := io.MultiReader(strings.NewReader(doc), &errReader{broken})
			_, err := Read(r, f, func(evidence.SOUPEntry) error { return nil })
			if !errors.Is(err, broken) || evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("got %v (kind %q), want the reader's error, not an invalid-input one", err, evidence.KindOf(err))
			}
		})
	}
}

type errReader struct{ err error }

func (r *errReader) Read([]byte) (int, error) { return 0, r.err }
