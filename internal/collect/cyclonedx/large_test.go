package cyclonedx

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// writeSBOM writes a CycloneDX 1.6 SBOM of n components in format f, one
// component at a time, with a dependency per component. Every tenth
// component has a licence, and components are nested in pairs under every
// hundredth one, so nesting and gaps are exercised at scale.
func writeSBOM(w io.Writer, f Format, n int) error {
	bw := bufio.NewWriter(w)
	lic := func(i int) bool { return i%10 == 0 }
	if f == FormatJSON {
		fmt.Fprint(bw, `{"bomFormat":"CycloneDX","specVersion":"1.6","serialNumber":"urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79","version":1,`)
		fmt.Fprint(bw, `"metadata":{"component":{"type":"firmware","bom-ref":"product","name":"monitor","version":"1.0"}},"components":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				fmt.Fprint(bw, ",")
			}
			fmt.Fprintf(bw, `{"type":"library","bom-ref":"c%d","group":"com.example","name":"lib-%d","version":"1.0.0","purl":"pkg:maven/com.example/lib-%d@1.0.0",`, i, i, i)
			fmt.Fprintf(bw, `"hashes":[{"alg":"SHA-256","content":"%064x"}]`, i)
			if lic(i) {
				fmt.Fprint(bw, `,"licenses":[{"license":{"id":"Apache-2.0"}}]`)
			}
			if i%100 == 0 && i+2 < n {
				fmt.Fprintf(bw, `,"components":[{"type":"library","bom-ref":"c%d","name":"lib-%d","version":"1.0.0"},{"type":"library","bom-ref":"c%d","name":"lib-%d","version":"1.0.0"}]`, i+1, i+1, i+2, i+2)
				i += 2
			}
			fmt.Fprint(bw, "}")
		}
		fmt.Fprint(bw, `],"dependencies":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				fmt.Fprint(bw, ",")
			}
			fmt.Fprintf(bw, `{"ref":"c%d"}`, i)
		}
		fmt.Fprint(bw, `]}`)
		return bw.Flush()
	}
	fmt.Fprint(bw, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">`)
	fmt.Fprint(bw, `<metadata><component type="firmware" bom-ref="product"><name>monitor</name><version>1.0</version></component></metadata><components>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, "\n"+`<component type="library" bom-ref="c%d"><group>com.example</group><name>lib-%d</name><version>1.0.0</version>`, i, i)
		fmt.Fprintf(bw, `<hashes><hash alg="SHA-256">%064x</hash></hashes>`, i)
		if lic(i) {
			fmt.Fprint(bw, `<licenses><license><id>Apache-2.0</id></license></licenses>`)
		}
		fmt.Fprintf(bw, `<purl>pkg:maven/com.example/lib-%d@1.0.0</purl>`, i)
		if i%100 == 0 && i+2 < n {
			fmt.Fprintf(bw, `<components><component type="library" bom-ref="c%d"><name>lib-%d</name><version>1.0.0</version></component><component type="library" bom-ref="c%d"><name>lib-%d</name><version>1.0.0</version></component></components>`, i+1, i+1, i+2, i+2)
			i += 2
		}
		fmt.Fprint(bw, `</component>`)
	}
	fmt.Fprint(bw, "</components><dependencies>")
	for i := 0; i < n; i++ {
		fmt.Fprintf(bw, `<dependency ref="c%d"/>`, i)
	}
	fmt.Fprint(bw, "</dependencies></bom>")
	return bw.Flush()
}

// genJSON returns a generated JSON SBOM of n components.
func genJSON(n int) string {
	var b strings.Builder
	_ = writeSBOM(&b, FormatJSON, n) // a strings.Builder does not fail
	return b.String()
}

// pipeSBOM streams a generated SBOM through an io.Pipe, so the reader never
// sees the document as a whole.
func pipeSBOM(f Format, n int) io.Reader {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeSBOM(pw, f, n)) }()
	return pr
}

func TestRead20k(t *testing.T) {
	const n = 20000
	for _, f := range []Format{FormatJSON, FormatXML} {
		t.Run(string(f), func(t *testing.T) {
			calls, nested := 0, 0
			sum, err := Read(pipeSBOM(f, n), f, func(e evidence.SOUPEntry) error {
				calls++
				if e.PURL == "" {
					nested++ // only the nested ones have no purl
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Components != n || calls != n {
				t.Errorf("summary says %d components, fn saw %d; want %d", sum.Components, calls, n)
			}
			// every hundredth top-level component carries two nested ones
			if wantNested := 2 * (n / 100); nested != wantNested {
				t.Errorf("%d nested components, want %d", nested, wantNested)
			}
			// licences on i%10==0 only, and nested ones never have one
			if g, want := sum.Gap(evidence.SOUPFieldLicense).Count, n-n/10; g != want {
				t.Errorf("licence gap %d, want %d", g, want)
			}
			if g := sum.Gap(evidence.SOUPFieldDesignator).Count; g != 2*(n/100) {
				t.Errorf("designator gap %d, want %d", g, 2*(n/100))
			}
		})
	}
}

func BenchmarkRead20k(b *testing.B) {
	const n = 20000
	for _, f := range []Format{FormatJSON, FormatXML} {
		b.Run(string(f), func(b *testing.B) {
			var doc strings.Builder
			if err := writeSBOM(&doc, f, n); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(doc.Len()))
			b.ReportAllocs()
			for b.Loop() {
				sum, err := Read(strings.NewReader(doc.String()), f, func(evidence.SOUPEntry) error { return nil })
				if err != nil || sum.Components != n {
					b.Fatalf("%d components, %v", sum.Components, err)
				}
			}
		})
	}
}
