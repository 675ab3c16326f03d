package cyclonedx

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// readFile sniffs and reads one SBOM file, collecting its entries.
func readFile(t testing.TB, path string) ([]evidence.SOUPEntry, evidence.SBOMSummary, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readBytes(b)
}

func readBytes(b []byte) ([]evidence.SOUPEntry, evidence.SBOMSummary, error) {
	br := bufio.NewReader(bytes.NewReader(b))
	f, err := Sniff(br)
	if err != nil {
		return nil, evidence.SBOMSummary{}, err
	}
	var entries []evidence.SOUPEntry
	sum, err := Read(br, f, func(e evidence.SOUPEntry) error {
		entries = append(entries, e)
		return nil
	})
	return entries, sum, err
}

// corpusExceptions are corpus files whose MANIFEST verdict evident does not
// share, with the error evident gives instead. The laravel file is a valid
// CycloneDX 1.1 document; evident reads 1.2 to 1.7 only.
var corpusExceptions = map[string]string{
	"cyclonedx/cyclonedx-php-composer_spec1.1_laravel.xml": "spec version 1.1 is not supported (1.2–1.7 are)",
}

// xmlSlipThrough lists the XML invalid-* conformance cases evident accepts
// because it has no XSD validator (see xmlReader). It is empty: every case
// in the corpus is caught by the JSON-form validation or by xmlChecker. A
// case added here must say why it cannot be caught.
var xmlSlipThrough = map[string]string{}

// TestCorpusVerdicts reads every file under testdata/corpus/cyclonedx and
// checks evident's verdict against MANIFEST.md: every valid file is
// accepted, every invalid or malformed one rejected with an invalid-input
// error.
func TestCorpusVerdicts(t *testing.T) {
	verdicts := manifestVerdicts(t, "cyclonedx/")
	var files []string
	err := filepath.WalkDir(filepath.Join(corpusDir, "cyclonedx"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(corpusDir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) != len(verdicts) {
		t.Errorf("corpus has %d files, MANIFEST.md lists %d", len(files), len(verdicts))
	}
	var xmlInvalid, xmlRejected, jsonInvalid, jsonRejected int
	for _, name := range files {
		verdict, ok := verdicts[name]
		if !ok {
			t.Errorf("%s: not listed in MANIFEST.md", name)
			continue
		}
		t.Run(strings.TrimPrefix(name, "cyclonedx/"), func(t *testing.T) {
			_, _, err := readFile(t, filepath.Join(corpusDir, name))
			valid := strings.HasPrefix(verdict, "valid")
			isXML := strings.HasSuffix(name, ".xml")
			if !valid {
				if isXML {
					xmlInvalid++
				} else {
					jsonInvalid++
				}
			}
			if err != nil && !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("error of kind %q, want %q: %v", evidence.KindOf(err), evidence.KindInvalid, err)
			}
			if want, ok := corpusExceptions[name]; ok {
				if err == nil || err.Error() != want {
					t.Fatalf("got error %v, want %q", err, want)
				}
				return
			}
			if why, ok := xmlSlipThrough[name]; ok {
				if err != nil {
					t.Fatalf("listed as slipping through (%s) but now rejected: %v; remove it from xmlSlipThrough", why, err)
				}
				return
			}
			switch {
			case valid && err != nil:
				t.Fatalf("MANIFEST says %q, got error: %v", verdict, err)
			case !valid && err == nil:
				t.Fatalf("MANIFEST says %q, but it was accepted", verdict)
			case !valid && isXML:
				xmlRejected++
			case !valid:
				jsonRejected++
			}
		})
	}
	t.Logf("invalid/malformed rejected: JSON %d of %d, XML %d of %d", jsonRejected, jsonInvalid, xmlRejected, xmlInvalid)
	if xmlInvalid-xmlRejected != len(xmlSlipThrough) {
		t.Errorf("%d XML invalid files accepted, xmlSlipThrough lists %d", xmlInvalid-xmlRejected, len(xmlSlipThrough))
	}
}

// TestSPDXRejected checks that no SPDX document is mistaken for CycloneDX.
func TestSPDXRejected(t *testing.T) {
	verdicts := manifestVerdicts(t, "spdx/")
	if len(verdicts) == 0 {
		t.Fatal("no SPDX files listed")
	}
	for name := range verdicts {
		t.Run(strings.TrimPrefix(name, "spdx/"), func(t *testing.T) {
			_, _, err := readFile(t, filepath.Join(corpusDir, name))
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("got %v, want an invalid-input error", err)
			}
			want := "this is an SPDX document"
			if name == "spdx/trivy_not-spdx.json" { // {"invalid": "data"}: no kind of SBOM at all
				want = "not a CycloneDX SBOM: bomFormat is missing"
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("got %q, want it to contain %q", err, want)
			}
		})
	}
}

// TestRealSBOMs checks the summaries of real tools' SBOMs against numbers
// counted independently (python over the files: top-level components plus
// nested ones, vulnerabilities, and the entries lacking each SOUP field).
func TestRealSBOMs(t *testing.T) {
	gap := func(field string, n int) evidence.SOUPGap { return evidence.SOUPGap{Field: field, Count: n} }
	tests := []struct {
		file string
		want evidence.SBOMSummary
	}{
		{"cyclonedx-npm_1.9.2_spec1.4_juice-shop-large.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.4", Components: 1115, Completeness: "unknown", // 837 top-level + 278 nested
			Gaps: []evidence.SOUPGap{gap("manufacturer", 140), gap("license", 9), gap("endOfSupport", 1115), gap("supportLevel", 1115)},
		}},
		{"cyclonedx-maven-plugin_2.0.2_spec1.2_dropwizard.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.2", Components: 167, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("manufacturer", 167), gap("license", 34), gap("endOfSupport", 167), gap("supportLevel", 167)},
		}},
		{"cyclonedx-maven-plugin_2.0.2_spec1.2_dropwizard.xml", evidence.SBOMSummary{ // one licence fewer than its JSON twin
			Format: "CycloneDX", SpecVersion: "1.2", Components: 167, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("manufacturer", 167), gap("license", 35), gap("endOfSupport", 167), gap("supportLevel", 167)},
		}},
		{"cdxgen_9.8.8_spec1.5_1060-components.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.5", Components: 1060, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("manufacturer", 1060), gap("license", 808), gap("endOfSupport", 1060), gap("supportLevel", 1060)},
		}},
		{"trivy_dev_spec1.7_npm-repo.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.7", Components: 13, Vulnerabilities: 1, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("version", 1), gap("designator", 1), gap("manufacturer", 13), gap("license", 8), gap("endOfSupport", 13), gap("supportLevel", 13)},
		}},
		{"cyclonedx-gomod_dev_spec1.5_bin-minikube.json", evidence.SBOMSummary{
			// compositions[0] is "complete" for the dependencies of metadata.component
			Format: "CycloneDX", SpecVersion: "1.5", Components: 137, Completeness: "complete",
			Gaps: []evidence.SOUPGap{gap("manufacturer", 137), gap("license", 137), gap("endOfSupport", 137), gap("supportLevel", 137)},
		}},
		{"hbom_spec1.4_pcie-sata-adapter-board.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.4", Components: 6, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("version", 5), gap("designator", 6), gap("license", 6), gap("endOfSupport", 6), gap("supportLevel", 6)},
		}},
		{"vex_spec1.4_cisa-case8-multiple.json", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.4", Components: 0, Vulnerabilities: 8, Completeness: "unknown",
		}},
		{"guac_spec1.5_vex.xml", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.5", Components: 0, Vulnerabilities: 1, Completeness: "unknown",
		}},
		{"cdxgen_8.4.11_spec1.4_dotnet.xml", evidence.SBOMSummary{
			Format: "CycloneDX", SpecVersion: "1.4", Components: 56, Completeness: "unknown",
			Gaps: []evidence.SOUPGap{gap("manufacturer", 56), gap("license", 56), gap("endOfSupport", 56), gap("supportLevel", 56)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			entries, got, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != got.Components {
				t.Errorf("fn called %d times, summary says %d components", len(entries), got.Components)
			}
			for _, g := range got.Gaps {
				if want := min(g.Count, evidence.MaxGapExamples); len(g.Examples) != want {
					t.Errorf("gap %s: %d examples, want %d", g.Field, len(g.Examples), want)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmpIgnoreExamples); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpIgnoreExamples = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Examples"
}, cmp.Ignore())

// TestRealEntries checks entry fields of real SBOMs against the files.
func TestRealEntries(t *testing.T) {
	t.Run("juice-shop first and nested", func(t *testing.T) {
		entries, _, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", "cyclonedx-npm_1.9.2_spec1.4_juice-shop-large.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := evidence.SOUPEntry{
			BOMRef: "@babel/helper-string-parser@7.19.4", Type: "library", Group: "@babel", Name: "helper-string-parser",
			Version: "7.19.4", Manufacturer: "The Babel Team", // the legacy author string
			PURL:     "pkg:npm/%40babel/helper-string-parser@7.19.4#packages/babel-helper-string-parser",
			Hashes:   []evidence.Hash{{Alg: "SHA-512", Value: "9c7b43a1072ea859b060d60fcf745a879a61da9f0f15e142b1993d03fe3c74f73fac6a1c279277840019ee96fbe95597ddf64abbeb84aff1611f98cbc7bba6af"}},
			Licenses: []string{"MIT"},
		}
		if diff := cmp.Diff(want, entries[0]); diff != "" {
			t.Errorf("entry 0 (-want +got):\n%s", diff)
		}
		// Top-level component 7 (node-pre-gyp) has 11 nested components,
		// emitted right after it, depth first.
		if entries[7].Name != "node-pre-gyp" || entries[8].BOMRef != "@mapbox/node-pre-gyp@1.0.10|ansi-regex@5.0.1" {
			t.Errorf("entries 7, 8 = %s, %s; want node-pre-gyp then its nested ansi-regex", entries[7].Label(), entries[8].BOMRef)
		}
	})
	t.Run("supplier wins over author, metadata component excluded", func(t *testing.T) {
		entries, _, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", "dependency-track_spec1.4_extra-xmlns.xml"))
		if err != nil {
			t.Fatal(err)
		}
		want := []evidence.SOUPEntry{{
			Type: "application", Group: "com.example", Name: "xmlutil", Version: "1.0.0", Manufacturer: "Foo Incorporated",
			PURL: "pkg:maven/com.example/xmlutil@1.0.0?packaging=jar", CPE: "cpe:/a:example:xmlutil:1.0.0",
			Hashes: []evidence.Hash{
				{Alg: "MD5", Value: "2b67669c925048d1a5c7f124d9ba1d2a"},
				{Alg: "SHA-1", Value: "72ca79908c814022905e86f8bbecd9b829352139"},
				{Alg: "SHA-256", Value: "1389877662864d2bb0488b4b1e417ce5647a1687084341178a203b243dfe90e7"},
			},
			Licenses: []string{"Apache-2.0"},
		}}
		if diff := cmp.Diff(want, entries); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
	})
	t.Run("hardware supplier", func(t *testing.T) {
		entries, sum, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", "hbom_spec1.4_pcie-sata-adapter-board.json"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, e.Name+" by "+e.Manufacturer)
		}
		want := []string{"PCIE-098-02-F-D-EMS2 by Samtec", "47155-4001 by Molex", "5622-4100-ML by 3M",
			"MC9A22-1034 by Multicomp", "826632-3 by TE Connectivity", "MP000003 by Multicomp"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("entries (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"47155-4001", "5622-4100-ML", "MC9A22-1034", "826632-3", "MP000003"}, sum.Gap("version").Examples); diff != "" {
			t.Errorf("version gap examples (-want +got):\n%s", diff)
		}
	})
}

// TestXMLJSONTwins checks that the XML and JSON forms of the same SBOM give
// the same SOUP list and summary, but for the differences the files really
// have.
func TestXMLJSONTwins(t *testing.T) {
	tests := []struct {
		base string
		// patch turns the XML result into the JSON one where the two files
		// differ, checking the XML side of the difference.
		patch func(t *testing.T, entries []evidence.SOUPEntry, sum *evidence.SBOMSummary)
	}{
		{base: "cyclonedx-node-module_2.0.0_spec1.2_cern-vdm-editor"},
		{base: "cyclonedx-maven-plugin_2.0.2_spec1.2_dropwizard", patch: func(t *testing.T, entries []evidence.SOUPEntry, sum *evidence.SBOMSummary) {
			// The JSON gives osgi-resource-locator the licence expression
			// "(CDDL-1.0 OR GPL-2.0-with-classpath-exception)"; the XML
			// gives it no licence at all.
			for i, e := range entries {
				if e.Name == "osgi-resource-locator" {
					if e.Licenses != nil {
						t.Errorf("XML osgi-resource-locator licences = %q, want none", e.Licenses)
					}
					entries[i].Licenses = []string{"(CDDL-1.0 OR GPL-2.0-with-classpath-exception)"}
				}
			}
			if g := sum.Gap(evidence.SOUPFieldLicense); g.Count != 35 {
				t.Errorf("XML licence gap = %d, want 35", g.Count)
			}
			for i := range sum.Gaps {
				if sum.Gaps[i].Field == evidence.SOUPFieldLicense {
					sum.Gaps[i].Count = 34
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			je, js, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", tt.base+".json"))
			if err != nil {
				t.Fatal(err)
			}
			xe, xs, err := readFile(t, filepath.Join(corpusDir, "cyclonedx", tt.base+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			if len(je) == 0 || len(je) != len(xe) {
				t.Fatalf("JSON has %d entries, XML %d", len(je), len(xe))
			}
			if tt.patch != nil {
				tt.patch(t, xe, &xs)
			}
			if diff := cmp.Diff(je, xe); diff != "" {
				t.Errorf("entries JSON vs XML (-json +xml):\n%s", diff)
			}
			if diff := cmp.Diff(js, xs, cmpIgnoreExamples); diff != "" {
				t.Errorf("summary JSON vs XML (-json +xml):\n%s", diff)
			}
		})
	}
}
