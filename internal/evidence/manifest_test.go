package evidence_test

import (
	"bytes"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// The fixtures fullManifest, minimalManifest, d, dp and ptr are in
// schema_test.go.

func encodeManifest(t testing.TB, m *evidence.Manifest) []byte {
	t.Helper()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantInvalid(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !evidence.IsKind(err, evidence.KindInvalid) {
		t.Errorf("kind %q, want invalid: %v", evidence.KindOf(err), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q:\n%v", w, err)
		}
	}
}

func TestDecodeManifestStrict(t *testing.T) {
	valid := encodeManifest(t, fullManifest())
	replace := func(old, new string) []byte {
		if !bytes.Contains(valid, []byte(old)) {
			t.Fatalf("the manifest has no %q", old)
		}
		return bytes.Replace(valid, []byte(old), []byte(new), 1)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string // "" for success
	}{
		{"canonical", valid, ""},
		{"compact", func() []byte { var b bytes.Buffer; json.Compact(&b, valid); return b.Bytes() }(), ""},
		{"surrounding white space", append(append([]byte("\n\t "), valid...), "\n\n  "...), ""},
		{"a second value", append(bytes.Clone(valid), "{}"...), "manifest: unexpected data after the JSON value"},
		{"a second manifest", append(bytes.Clone(valid), valid...), "manifest: unexpected data after the JSON value"},
		{"trailing garbage", append(bytes.Clone(valid), "x"...), "manifest: unexpected data after the JSON value"},
		{"trailing null", append(bytes.Clone(valid), " null"...), "manifest: unexpected data after the JSON value"},
		{"unknown field", replace(`"schemaVersion": "1",`, `"schemaVersion": "1", "signature": "MEUCIQ",`), `manifest: json: unknown field "signature"`},
		{"unknown nested field", replace(`"ciSystem": "gitlab-ci",`, `"ciSystem": "gitlab-ci", "secret": "x",`), `unknown field "secret"`},
		{"schemaVersion 2", replace(`"schemaVersion": "1"`, `"schemaVersion": "2"`), `schemaVersion "2" is not supported (this evident reads "1")`},
		{"schemaVersion as a number", replace(`"schemaVersion": "1"`, `"schemaVersion": 1`), `manifest: field "schemaVersion": want a JSON string, got JSON number`},
		{"size as a string", replace(`"size": 917504`, `"size": "917504"`), `field "components.artifacts.size": want a JSON integer, got JSON string`},
		{"fractional size", replace(`"size": 917504`, `"size": 9.5`), `want a JSON integer, got JSON number 9.5`},
		{"product as a list", replace(`"product": {`, `"product": [], "x": {`), `field "product": want a JSON object, got JSON array`},
		{"not an object", []byte(`["manifest"]`), "manifest: want a JSON object, got JSON array"},
		{"empty input", nil, "manifest: empty input"},
		{"only white space", []byte(" \n"), "manifest: empty input"},
		{"truncated", valid[:len(valid)/2], "manifest: truncated JSON"},
		{"malformed", replace(`"schemaVersion": "1",`, `"schemaVersion": "1",,`), "manifest: malformed JSON at byte "},
		{"null", []byte("null"), `schemaVersion "" is not supported`},
		{"empty object", []byte("{}"), "createdAt is not set"},
		{"bad digest", replace(d("fw").String(), "sha256:abc"), `want 64 hex characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := evidence.DecodeManifest(bytes.NewReader(tc.in))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !evidence.Equal(m, fullManifest()) {
					t.Error("decoded manifest differs from the encoded one")
				}
				return
			}
			if m != nil {
				t.Error("a manifest was returned with the error")
			}
			wantInvalid(t, err, tc.want)
		})
	}
}

// padded is a reader of prefix followed by white space up to total bytes
// (forever when total < 0), generated as it is read.
type padded struct {
	prefix []byte
	total  int64
	n      int64 // bytes handed out
}

func (p *padded) Read(b []byte) (int, error) {
	if p.total >= 0 && p.n >= p.total {
		return 0, io.EOF
	}
	if p.total >= 0 && int64(len(b)) > p.total-p.n {
		b = b[:p.total-p.n]
	}
	k := 0
	if p.n < int64(len(p.prefix)) {
		k = copy(b, p.prefix[p.n:])
	}
	for k < len(b) {
		k += copy(b[k:], blank)
	}
	p.n += int64(k)
	return k, nil
}

const blank = "                                                                " // 64 spaces

// TestDecodeManifestSize: a manifest of MaxManifestSize bytes is read; one
// byte more is refused, after reading no more than that one byte, even when
// the value itself ended long before and the rest is white space.
func TestDecodeManifestSize(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 64 MiB")
	}
	valid := encodeManifest(t, fullManifest())
	for _, tc := range []struct {
		name  string
		total int64
		ok    bool
	}{
		{"exactly the limit", evidence.MaxManifestSize, true},
		{"one byte over", evidence.MaxManifestSize + 1, false},
		{"endless", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if raceEnabled && tc.total >= 0 {
				t.Skip("the race detector makes 64 MiB of JSON slow; the endless case still runs")
			}
			src := &padded{prefix: valid, total: tc.total}
			_, err := evidence.DecodeManifest(src)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				wantInvalid(t, err, "manifest: larger than 67108864 bytes")
			}
			if src.n > evidence.MaxManifestSize+1 {
				t.Errorf("read %d bytes, more than MaxManifestSize+1", src.n)
			}
		})
	}
}

func TestDecodeStrictJSONLimit(t *testing.T) {
	type doc struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"fits", `{"name":"` + strings.Repeat("a", 80) + `"}`, ""},
		{"value over the limit", `{"name":"` + strings.Repeat("a", 200) + `"}`, "larger than 100 bytes"},
		{"padding over the limit", `{"name":"a"}` + strings.Repeat(" ", 100), "larger than 100 bytes"},
		{"trailing value", `{"name":"a"} {}`, "unexpected data after the JSON value"},
		{"unknown field", `{"nam":"a"}`, `json: unknown field "nam"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &padded{prefix: []byte(tc.in), total: int64(len(tc.in))}
			var v doc
			err := evidence.DecodeStrictJSON(src, &v, 100)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
			if src.n > 101 {
				t.Errorf("read %d bytes with a limit of 100", src.n)
			}
		})
	}
}

func TestManifestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		base   func() *evidence.Manifest
		mutate func(m *evidence.Manifest)
		want   []string // nil: valid
	}{
		{"full", fullManifest, func(*evidence.Manifest) {}, nil},
		{"minimal", minimalManifest, func(*evidence.Manifest) {}, nil},
		{"schema version", minimalManifest, func(m *evidence.Manifest) { m.SchemaVersion = "" }, []string{`schemaVersion "" is not supported (this evident reads "1")`}},
		{"product name", minimalManifest, func(m *evidence.Manifest) { m.Product.Name = "wm monitor" }, []string{`product.name "wm monitor": use letters`}},
		{"product version", minimalManifest, func(m *evidence.Manifest) { m.Product.Version = "" }, []string{"product.version is empty"}},
		{"createdAt", minimalManifest, func(m *evidence.Manifest) { m.CreatedAt = time.Time{} }, []string{"createdAt is not set"}},
		{"no components", minimalManifest, func(m *evidence.Manifest) { m.Components = nil }, []string{"components: a release needs at least one component"}},
		{"unnamed component", minimalManifest, func(m *evidence.Manifest) { m.Components[0].Name = "" }, []string{"components[0]: name is empty"}},
		{"duplicate component", fullManifest, func(m *evidence.Manifest) { m.Components[1].Name = "wm-firmware" }, []string{"component wm-firmware: the name is used by two components"}},
		{"component version", minimalManifest, func(m *evidence.Manifest) { m.Components[0].Version = "1 2" }, []string{`component wm-trend-dashboard: version "1 2": use letters`}},
		{"component kind", minimalManifest, func(m *evidence.Manifest) { m.Components[0].Kind = "service" }, []string{`component wm-trend-dashboard: kind "service": want one of [firmware app cloud web library other]`}},
		{"component class", minimalManifest, func(m *evidence.Manifest) { m.Components[0].SafetyClass = "D" }, []string{`component wm-trend-dashboard: safetyClass "D": want A, B or C`}},
		{"release class below a component's", fullManifest, func(m *evidence.Manifest) { m.SafetyClass = evidence.ClassB }, []string{`safetyClass "B": the highest component class is "C"`}},
		{"release class above every component's", minimalManifest, func(m *evidence.Manifest) { m.SafetyClass = evidence.ClassC }, []string{`safetyClass "C": the highest component class is "A"`}},
		{"artifact name", fullManifest, func(m *evidence.Manifest) { m.Components[0].Artifacts[0].Name = "" }, []string{"component wm-firmware: artifacts[0]: name is empty"}},
		{"artifact digest", fullManifest, func(m *evidence.Manifest) { m.Components[0].Artifacts[0].Digest = digest.Digest{} }, []string{`component wm-firmware: artifact "build/wm-firmware-2.4.0.signed.bin": digest is not set`}},
		{"artifact size", fullManifest, func(m *evidence.Manifest) { m.Components[0].Artifacts[0].Size = -1 }, []string{`artifact "build/wm-firmware-2.4.0.signed.bin": negative size`}},
		{"evidence type", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Type = "screenshot" }, []string{`component wm-firmware: evidence "reports/unit.xml": type "screenshot": want one of`}},
		{"evidence name", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Name = "../unit.xml" }, []string{`evidence name "../unit.xml": must be a clean relative path`}},
		{"evidence format", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Format = "" }, []string{`evidence "reports/unit.xml": format is empty`}},
		{"evidence digest", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Digest = digest.Digest{} }, []string{`evidence "reports/unit.xml": digest is not set`}},
		{"evidence size", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Size = -5 }, []string{`evidence "reports/unit.xml": negative size`}},
		{"test report level", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Level = "" }, []string{`evidence "reports/unit.xml": level "": want one of [unit integration system]`}},
		{"test report summary", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].Tests = nil }, []string{`evidence "reports/unit.xml": a test report needs a tests summary`}},
		{"level on an SBOM", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[1].Level = evidence.LevelUnit }, []string{`evidence "sbom/firmware.cdx.json": level is only for test reports`}},
		{"SBOM summary missing", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[1].SBOM = nil }, []string{`evidence "sbom/firmware.cdx.json": an sbom summary belongs to, and only to, an sbom`}},
		{"SBOM summary on a test report", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[0].SBOM = &evidence.SBOMSummary{} }, []string{`evidence "reports/unit.xml": an sbom summary belongs to, and only to, an sbom`}},
		{"tests summary on an SBOM", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[1].Tests = &evidence.TestSummary{} }, []string{`evidence "sbom/firmware.cdx.json": a tests summary belongs only to a test report`}},
		{"anomaly summary missing", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[3].Anomalies = nil }, []string{`evidence "anomalies/firmware.yaml": an anomalies summary belongs to, and only to, an anomaly list`}},
		{"SOUP list without its SBOM", fullManifest, func(m *evidence.Manifest) { m.Components[0].Evidence[2].DerivedFrom = nil }, []string{`evidence "soup/firmware.soup.jsonl": a SOUP list must name the SBOM it was derived from`}},
		{"anomaly without id", fullManifest, func(m *evidence.Manifest) { m.Components[0].Anomalies[0].ID = " " }, []string{"component wm-firmware: anomalies[0]: id is empty"}},
		{"release evidence", fullManifest, func(m *evidence.Manifest) { m.Evidence[0].Format = "" }, []string{`release evidence: evidence "evident-policy.json": format is empty`}},
		{"policy digest", minimalManifest, func(m *evidence.Manifest) { m.Policy.Digest = digest.Digest{} }, []string{"policy.digest is not set"}},
		{"policy outcome warn", minimalManifest, func(m *evidence.Manifest) { m.Policy.Outcome = evidence.OutcomeWarn }, []string{`policy.outcome "warn": want pass or fail`}},
		{"policy outcome empty", minimalManifest, func(m *evidence.Manifest) { m.Policy.Outcome = "" }, []string{`policy.outcome "": want pass or fail`}},
		{"every problem at once", minimalManifest, func(m *evidence.Manifest) {
			m.Product.Version = ""
			m.CreatedAt = time.Time{}
			m.Policy.Outcome = ""
		}, []string{"manifest: product.version is empty; createdAt is not set; policy.outcome"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.base()
			tc.mutate(m)
			err := m.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantInvalid(t, err, tc.want...)
			if !strings.HasPrefix(err.Error(), "manifest: ") {
				t.Errorf("error does not start with \"manifest: \": %v", err)
			}
		})
	}
}

func TestManifestHelpers(t *testing.T) {
	m := fullManifest()
	m.Evidence = append(m.Evidence, evidence.EvidenceRef{
		Type: evidence.TypeTestReport, Format: evidence.FormatJUnitXML, Name: "reports/system.xml",
		Digest: d("unit"), Size: 1, Level: evidence.LevelSystem, Tests: &evidence.TestSummary{Tests: 1, Passed: 1},
	})

	if got := m.Ref(); got != (evidence.ReleaseRef{Product: "wearable-monitor", Version: "2024.2.0"}) || got.String() != "wearable-monitor@2024.2.0" {
		t.Errorf("Ref() = %+v (%s)", got, got)
	}
	if c := m.Component("wm-alert-service"); c == nil || c.Version != "5.2.0" {
		t.Errorf("Component(wm-alert-service) = %+v", c)
	} else {
		c.Version = "5.2.1" // a pointer into the manifest, not a copy
		if m.Components[1].Version != "5.2.1" {
			t.Error("Component returns a copy")
		}
	}
	if c := m.Component("wm-app"); c != nil {
		t.Errorf("Component(wm-app) = %+v, want nil", c)
	}

	var names []string
	for _, r := range m.AllEvidence() {
		names = append(names, r.Name)
	}
	wantNames := []string{
		"evident-policy.json", "reports/system.xml", // release-level first
		"reports/unit.xml", "sbom/firmware.cdx.json", "soup/firmware.soup.jsonl", "anomalies/firmware.yaml",
		"changes/github/acme/wm-firmware.changes.json", "db/migrations/0042_alert_ack.sql",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("AllEvidence (-want +got):\n%s", diff)
	}

	ds := m.EvidenceDigests()
	var got []string
	for _, x := range ds {
		got = append(got, x.String())
	}
	// "unit" appears twice; each digest once, sorted.
	want := []string{}
	seen := map[string]bool{}
	for _, s := range []string{"policy", "unit", "sbom", "soup", "anomalies", "changes", "mig"} {
		if s := d(s).String(); !seen[s] {
			seen[s] = true
			want = append(want, s)
		}
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EvidenceDigests (-want +got):\n%s", diff)
	}
}

func TestManifestEncodeAndDigest(t *testing.T) {
	m := fullManifest()
	b := encodeManifest(t, m)
	if !bytes.HasSuffix(b, []byte("}\n")) || !bytes.HasPrefix(b, []byte("{\n  \"schemaVersion\": \"1\",\n")) {
		t.Errorf("Encode is not indented JSON with a trailing newline:\n%.80s", b)
	}
	dg, err := m.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if dg != digest.FromBytes(b) {
		t.Error("Digest is not the digest of Encode")
	}
	// Deterministic: the same manifest, built again, encodes identically.
	if again := encodeManifest(t, fullManifest()); !bytes.Equal(b, again) {
		t.Error("two encodings of the same manifest differ")
	}
	// Any change changes the digest.
	m.Components[0].Artifacts[0].Size++
	if dg2, _ := m.Digest(); dg2 == dg {
		t.Error("changing a size left the digest unchanged")
	}
	if evidence.Equal(m, fullManifest()) {
		t.Error("Equal reports a changed manifest as equal")
	}
	if !evidence.Equal(fullManifest(), fullManifest()) {
		t.Error("Equal reports identical manifests as different")
	}
	// A manifest that cannot be encoded (a zero digest) is never Equal,
	// not even to itself.
	bad := minimalManifest()
	bad.Policy.Digest = digest.Digest{}
	if _, err := bad.Encode(); err == nil {
		t.Error("Encode accepts a zero digest")
	}
	if evidence.Equal(bad, bad) {
		t.Error("Equal of unencodable manifests is true")
	}
}

func TestTestSummaryAdd(t *testing.T) {
	fail := func(name string) evidence.TestCase {
		return evidence.TestCase{Classname: "suite", Name: name, Outcome: evidence.OutcomeFailed}
	}
	a := evidence.TestSummary{Tests: 10, Passed: 7, Failed: 1, Errors: 1, Skipped: 1, Flaky: 2, DurationMs: 100,
		Failures: []evidence.TestCase{fail("a1"), {Name: "a2", Outcome: evidence.OutcomeError}}}
	b := evidence.TestSummary{Tests: 5, Passed: 4, Failed: 1, Skipped: 0, Flaky: 1, DurationMs: 50,
		Failures: []evidence.TestCase{fail("b1")}}
	var s evidence.TestSummary
	s.Add(a)
	s.Add(b)
	want := evidence.TestSummary{Tests: 15, Passed: 11, Failed: 2, Errors: 1, Skipped: 1, Flaky: 3, DurationMs: 150,
		Failures: []evidence.TestCase{fail("a1"), {Name: "a2", Outcome: evidence.OutcomeError}, fail("b1")}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Add (-want +got):\n%s", diff)
	}
	if s.FailuresTruncated() {
		t.Error("FailuresTruncated with every failure listed")
	}
	// Add must not alias the added summary's list.
	s.Failures[0].Name = "changed"
	if a.Failures[0].Name != "a1" {
		t.Error("Add shares the first summary's failure list")
	}
}

func TestTestSummaryAddCaps(t *testing.T) {
	many := func(prefix string, n int) evidence.TestSummary {
		s := evidence.TestSummary{Tests: n, Failed: n}
		for i := range n {
			s.Failures = append(s.Failures, evidence.TestCase{Name: prefix + string(rune('a'+i%26)), Outcome: evidence.OutcomeFailed})
		}
		return s
	}
	var s evidence.TestSummary
	s.Add(many("x", evidence.MaxListedFailures-2))
	s.Add(many("y", 5))
	if len(s.Failures) != evidence.MaxListedFailures {
		t.Fatalf("%d failures listed, want the cap %d", len(s.Failures), evidence.MaxListedFailures)
	}
	if s.Failed != evidence.MaxListedFailures+3 {
		t.Errorf("Failed = %d: the count must not be capped", s.Failed)
	}
	if got := s.Failures[evidence.MaxListedFailures-2].Name; got != "ya" {
		t.Errorf("first failure after the first report = %q, want ya (report order)", got)
	}
	if !s.FailuresTruncated() {
		t.Error("FailuresTruncated is false with more failures than listed")
	}
	s.Add(many("z", 1))
	if len(s.Failures) != evidence.MaxListedFailures || s.Failed != evidence.MaxListedFailures+4 {
		t.Errorf("adding to a full list: %d listed, %d failed", len(s.Failures), s.Failed)
	}
}

func TestFailuresTruncated(t *testing.T) {
	for _, tc := range []struct {
		s    evidence.TestSummary
		want bool
	}{
		{evidence.TestSummary{}, false},
		{evidence.TestSummary{Failed: 1, Failures: []evidence.TestCase{{Name: "a"}}}, false},
		{evidence.TestSummary{Errors: 1, Failures: []evidence.TestCase{{Name: "a"}}}, false},
		{evidence.TestSummary{Failed: 1}, true},
		{evidence.TestSummary{Failed: 1, Errors: 1, Failures: []evidence.TestCase{{Name: "a"}}}, true},
	} {
		if got := tc.s.FailuresTruncated(); got != tc.want {
			t.Errorf("%+v: FailuresTruncated = %t, want %t", tc.s, got, tc.want)
		}
	}
}

func TestTestCaseID(t *testing.T) {
	for _, tc := range []struct {
		c    evidence.TestCase
		want string
	}{
		{evidence.TestCase{Classname: "tests.hil.test_connectivity", Name: "test_ble"}, "tests.hil.test_connectivity.test_ble"},
		{evidence.TestCase{Name: "TestAlertRouting/escalation"}, "TestAlertRouting/escalation"},
	} {
		if got := tc.c.ID(); got != tc.want {
			t.Errorf("ID() = %q, want %q", got, tc.want)
		}
	}
}

func TestSBOMSummaryGap(t *testing.T) {
	s := evidence.SBOMSummary{Gaps: []evidence.SOUPGap{{Field: evidence.SOUPFieldManufacturer, Count: 2, Examples: []string{"a@1", "b@2"}}}}
	if g := s.Gap(evidence.SOUPFieldManufacturer); g.Count != 2 || len(g.Examples) != 2 {
		t.Errorf("Gap(manufacturer) = %+v", g)
	}
	if g := s.Gap(evidence.SOUPFieldLicense); g.Field != evidence.SOUPFieldLicense || g.Count != 0 || g.Examples != nil {
		t.Errorf("Gap(license) = %+v, want a zero gap naming the field", g)
	}
}
