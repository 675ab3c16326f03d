package anomaly

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/evidence"
)

func ptr[T any](v T) *T { return &v }

func TestFormatFor(t *testing.T) {
	for _, tc := range []struct {
		name    string
		want    Format
		wantErr bool
	}{
		{name: "anomalies.yaml", want: YAML},
		{name: "firmware/anomalies.yml", want: YAML},
		{name: "ANOMALIES.YML", want: YAML},
		{name: "anomalies.json", want: JSON},
		{name: `evidence\anomalies.Json`, want: JSON},
		{name: "anomalies.txt", wantErr: true},
		{name: "anomalies", wantErr: true},
		{name: "anomalies.yaml.bak", wantErr: true},
		{name: "yaml", wantErr: true},
		{name: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FormatFor(tc.name)
			if tc.wantErr {
				if !evidence.IsKind(err, evidence.KindInvalid) {
					t.Fatalf("FormatFor(%q) = %q, %v; want a KindInvalid error", tc.name, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("FormatFor(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
			}
		})
	}
}

func readFile(t *testing.T, name string) ([]evidence.Anomaly, error) {
	t.Helper()
	f, err := FormatFor(name)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	return Read(file, f)
}

// TestFixturesDecodeIdentically reads the wearable monitor's firmware
// anomaly list written as YAML (comments, anchors, block scalars, quoted and
// unquoted dates) and as JSON, and requires the same records.
func TestFixturesDecodeIdentically(t *testing.T) {
	for _, base := range []string{"wm-firmware-2.4.0", "none"} {
		t.Run(base, func(t *testing.T) {
			y, err := readFile(t, filepath.Join("testdata", base+".anomalies.yaml"))
			if err != nil {
				t.Fatalf("YAML: %v", err)
			}
			j, err := readFile(t, filepath.Join("testdata", base+".anomalies.json"))
			if err != nil {
				t.Fatalf("JSON: %v", err)
			}
			if diff := cmp.Diff(y, j); diff != "" {
				t.Errorf("YAML and JSON differ (-yaml +json):\n%s", diff)
			}
		})
	}
}

// TestFirmwareFixture checks what the YAML fixture says, field by field
// where YAML could get it wrong.
func TestFirmwareFixture(t *testing.T) {
	as, err := readFile(t, "testdata/wm-firmware-2.4.0.anomalies.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 5 {
		t.Fatalf("got %d anomalies, want 5", len(as))
	}
	first := as[0]
	want := evidence.Anomaly{
		ID:          "WMFW-ANOM-0031",
		Title:       "Arrhythmia alert latency exceeds 10 s under sustained motion artefact",
		Description: "With accelerometer magnitude above 2.5 g for more than 30 s (running, cycling on rough ground) the AF detector waits for two clean 8 s windows before classifying, so the alert is raised 14-22 s after onset instead of the specified 10 s (SRS-ARR-012).",
		Kind:        evidence.AnomalyPerformance,
		Components:  []string{"wm-firmware@2.4.0", "wm-dsp-lib@1.9.3"},
		Discovered:  &evidence.Discovery{Date: "2024-03-12", How: "system test ST-ARR-041 (motion artefact suite)", By: "V&V team, J. Okafor"},
		Links: []string{
			"https://git.example-med.com/wearable/firmware/-/issues/412",
			"https://ci.example-med.com/wearable/firmware/-/pipelines/88213",
		},
		SafetyImpact:      &evidence.SafetyImpact{Hazards: []string{"HAZ-07", "HAZ-12"}, Severity: "serious"},
		RiskAcceptable:    ptr(true),
		Rationale:         "AF is not immediately life-threatening; a delay of under 30 s does not change the clinical response (risk file RM-ARR-07 rev C, residual risk R2 acceptable). The alert is still raised in every ST-ARR-041 run.",
		Mitigation:        `The app shows "signal quality low" while motion artefact is present.`,
		Disclosure:        "During vigorous exercise, irregular heart rhythm alerts may be delayed by up to 30 seconds.",
		PlannedCorrection: &evidence.Correction{Version: "2.5.0"},
		EvaluatedBy:       "M. Lindqvist (Risk Manager)",
		EvaluatedAt:       "2024-04-02",
		Status:            evidence.AnomalyMitigated,
		Tests:             []string{"arrhythmia.MotionArtefactSuite.test_alert_latency_high_motion"},
	}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first anomaly (-want +got):\n%s", diff)
	}
	var ids, evaluators, dates []string
	for _, a := range as {
		ids = append(ids, a.ID)
		evaluators = append(evaluators, a.EvaluatedBy)
		dates = append(dates, a.EvaluatedAt)
	}
	if diff := cmp.Diff([]string{"WMFW-ANOM-0031", "WMFW-ANOM-0037", "WMFW-ANOM-0040", "WMFW-ANOM-0044", "WMFW-ANOM-0029"}, ids); diff != "" {
		t.Errorf("ids in file order (-want +got):\n%s", diff)
	}
	for i, e := range evaluators { // *riskManager aliases
		if e != "M. Lindqvist (Risk Manager)" {
			t.Errorf("anomalies[%d].evaluatedBy = %q: the alias was not resolved", i, e)
		}
	}
	if diff := cmp.Diff([]string{"2024-04-02", "2024-04-02T15:10:00+02:00", "2024-04-03", "2024-04-02", "2024-02-20"}, dates); diff != "" {
		t.Errorf("evaluatedAt kept as written (-want +got):\n%s", diff)
	}
	if got := as[2].SecurityImpact; got == nil || !reflect.DeepEqual(got.CWE, []string{"CWE-190"}) {
		t.Errorf("anomalies[2].securityImpact = %+v", got)
	}
}

// fullAnomaly sets every field of evidence.Anomaly; TestEveryFieldDecodes
// fails when a field is added to the type and not here.
func fullAnomaly() evidence.Anomaly {
	return evidence.Anomaly{
		ID:                "WMFW-ANOM-0099",
		Title:             "Every field",
		Description:       "A record with every field set.",
		Kind:              evidence.AnomalySecurity,
		Components:        []string{"wm-firmware@2.4.0", "mbedtls"},
		Discovered:        &evidence.Discovery{Date: "2024-05-01", How: "penetration test PT-2024-02", By: "External lab"},
		Links:             []string{"https://git.example-med.com/wearable/firmware/-/issues/500"},
		SafetyImpact:      &evidence.SafetyImpact{Hazards: []string{"HAZ-30"}, Severity: "minor"},
		SecurityImpact:    &evidence.SecurityImpact{CWE: []string{"CWE-319", "CWE-311"}, Exploitability: "adjacent network, paired device"},
		RiskAcceptable:    ptr(false),
		Rationale:         "Not acceptable: fixed before release.",
		Mitigation:        "BLE pairing restricted to the app.",
		Disclosure:        "Keep the phone paired only with the app.",
		PlannedCorrection: &evidence.Correction{Version: "2.4.1"},
		EvaluatedBy:       "M. Lindqvist (Risk Manager)",
		EvaluatedAt:       "2024-05-03T09:00:00Z",
		Status:            evidence.AnomalyOpen,
		Tests:             []string{"ble.PairingTest.test_unencrypted_characteristic"},
	}
}

// zeroFields lists the fields of v (a struct, recursively) left at their
// zero value.
func zeroFields(v reflect.Value, path string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), path+v.Type().Field(i).Name
		if f.IsZero() {
			out = append(out, name)
			continue
		}
		if f.Kind() == reflect.Pointer && f.Elem().Kind() == reflect.Struct {
			out = append(out, zeroFields(f.Elem(), name+".")...)
		}
	}
	return out
}

func TestEveryFieldDecodes(t *testing.T) {
	want := fullAnomaly()
	if z := zeroFields(reflect.ValueOf(want), ""); len(z) > 0 {
		t.Fatalf("fullAnomaly leaves %v unset: set every field so that each is decoded", z)
	}
	doc := map[string][]evidence.Anomaly{"anomalies": {want}}
	jb, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	yb, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    Format
		data []byte
	}{{JSON, jb}, {YAML, yb}} {
		t.Run(string(tc.f), func(t *testing.T) {
			got, err := Read(bytes.NewReader(tc.data), tc.f)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, tc.data)
			}
			if diff := cmp.Diff([]evidence.Anomaly{want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// minimal is the smallest valid entry; its id is on line 2.
const minimal = `anomalies:
  - id: A-1
    title: Alert tone too quiet
    kind: usability
    status: open
`

func TestReadValid(t *testing.T) {
	base := evidence.Anomaly{ID: "A-1", Title: "Alert tone too quiet", Kind: "usability", Status: "open"}
	with := func(f func(*evidence.Anomaly)) []evidence.Anomaly {
		a := base
		f(&a)
		return []evidence.Anomaly{a}
	}
	for _, tc := range validCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), tc.f)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			want := tc.want
			if tc.edit != nil {
				want = with(tc.edit)
			}
			if want == nil {
				want = []evidence.Anomaly{base}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

type validCase struct {
	name string
	f    Format
	in   string
	edit func(*evidence.Anomaly) // applied to the minimal record
	want []evidence.Anomaly      // when not the minimal record
}

func validCases() []validCase {
	return []validCase{
		{name: "minimal yaml", f: YAML, in: minimal},
		{name: "minimal json", f: JSON, in: `{"anomalies":[{"id":"A-1","title":"Alert tone too quiet","kind":"usability","status":"open"}]}`},
		{name: "empty list yaml", f: YAML, in: "anomalies: []\n", want: []evidence.Anomaly{}},
		{name: "empty list json", f: JSON, in: `{"anomalies": []}`, want: []evidence.Anomaly{}},
		{name: "$schema key json", f: JSON, in: `{"$schema": "https://evident.dev/schemas/anomalies.v1.schema.json", "anomalies": []}`, want: []evidence.Anomaly{}},
		{name: "unquoted date", f: YAML, in: minimal + "    evaluatedAt: 2024-05-01\n    discovered: {date: 2024-04-30}\n",
			edit: func(a *evidence.Anomaly) {
				a.EvaluatedAt = "2024-05-01"
				a.Discovered = &evidence.Discovery{Date: "2024-04-30"}
			}},
		{name: "quoted date", f: YAML, in: minimal + "    evaluatedAt: '2024-05-01'\n",
			edit: func(a *evidence.Anomaly) { a.EvaluatedAt = "2024-05-01" }},
		{name: "unquoted date-time", f: YAML, in: minimal + "    evaluatedAt: 2024-05-01T14:30:00.25+02:00\n",
			edit: func(a *evidence.Anomaly) { a.EvaluatedAt = "2024-05-01T14:30:00.25+02:00" }},
		{name: "leap day", f: JSON, in: `{"anomalies":[{"id":"A-1","title":"Alert tone too quiet","kind":"usability","status":"open","evaluatedAt":"2024-02-29"}]}`,
			edit: func(a *evidence.Anomaly) { a.EvaluatedAt = "2024-02-29" }},
		{name: "riskAcceptable false with rationale", f: YAML, in: minimal + "    riskAcceptable: false\n    rationale: Fix before release.\n",
			edit: func(a *evidence.Anomaly) { a.RiskAcceptable = ptr(false); a.Rationale = "Fix before release." }},
		{name: "rationale without decision", f: YAML, in: minimal + "    rationale: Under review.\n",
			edit: func(a *evidence.Anomaly) { a.Rationale = "Under review." }},
		{name: "empty optional lists", f: YAML, in: minimal + "    tests: []\n    links: []\n",
			edit: func(a *evidence.Anomaly) { a.Tests = []string{}; a.Links = []string{} }},
		{name: "component names and versions", f: YAML, in: minimal + "    components: [wm-firmware, wm-app@3.1.0+build.7, libfoo_2@1.0~rc1]\n",
			edit: func(a *evidence.Anomaly) {
				a.Components = []string{"wm-firmware", "wm-app@3.1.0+build.7", "libfoo_2@1.0~rc1"}
			}},
		{name: "flow style", f: YAML, in: "{anomalies: [{id: A-1, title: Alert tone too quiet, kind: usability, status: open}]}\n"},
		{name: "merge key", f: YAML, in: `anomalies:
  - &first
    id: A-0
    title: Base
    kind: defect
    status: closed
  - <<: *first
    id: A-1
    title: Alert tone too quiet
    kind: usability
    status: open
`, want: []evidence.Anomaly{
			{ID: "A-0", Title: "Base", Kind: "defect", Status: "closed"},
			{ID: "A-1", Title: "Alert tone too quiet", Kind: "usability", Status: "open"},
		}},
		{name: "merge key fills missing fields", f: YAML, in: `anomalies:
  - id: A-0
    title: Base
    kind: defect
    status: closed
    discovered: &scan {how: SBOM scan, by: Product security}
  - id: A-1
    title: Alert tone too quiet
    kind: usability
    status: open
    discovered:
      <<: *scan
      date: 2024-05-01
`, want: []evidence.Anomaly{
			{ID: "A-0", Title: "Base", Kind: "defect", Status: "closed", Discovered: &evidence.Discovery{How: "SBOM scan", By: "Product security"}},
			{ID: "A-1", Title: "Alert tone too quiet", Kind: "usability", Status: "open", Discovered: &evidence.Discovery{Date: "2024-05-01", How: "SBOM scan", By: "Product security"}},
		}},
		{name: "byte order mark", f: JSON, in: "\ufeff" + `{"anomalies":[]}`, want: []evidence.Anomaly{}},
		{name: "crlf line ends", f: YAML, in: strings.ReplaceAll(minimal, "\n", "\r\n")},
		{name: "explicit str tag on a number", f: YAML, in: minimal + "    plannedCorrection: {version: !!str 2.10}\n",
			edit: func(a *evidence.Anomaly) { a.PlannedCorrection = &evidence.Correction{Version: "2.10"} }},
		{name: "non-ASCII text", f: YAML, in: minimal + "    description: Hauttemperatur driftet um +0,4 °C\n",
			edit: func(a *evidence.Anomaly) { a.Description = "Hauttemperatur driftet um +0,4 °C" }},
	}
}

type invalidCase struct {
	name string
	f    Format
	in   string
	want []string // substrings of the error, in any order
}

func invalidCases() []invalidCase {
	return []invalidCase{
		// Unknown keys, anywhere.
		{"unknown key", YAML, minimal + "    riskAcceptible: true\n",
			[]string{`line 6: anomalies[0] (id A-1): unknown key "riskAcceptible"; did you mean "riskAcceptable"?`}},
		{"unknown nested key", YAML, minimal + "    safetyImpact:\n      hazards: [HAZ-1]\n      severty: minor\n",
			[]string{`line 8: anomalies[0] (id A-1): safetyImpact: unknown key "severty"; did you mean "severity"?`}},
		{"unknown key json", JSON, "{\"anomalies\": [\n  {\"id\": \"A-7\", \"title\": \"t\", \"kind\": \"defect\", \"status\": \"open\",\n   \"evalutedAt\": \"2024-05-01\"}\n]}",
			[]string{`line 3: anomalies[0] (id A-7): unknown key "evalutedAt"; did you mean "evaluatedAt"?`}},
		{"unknown key names index", YAML, minimal + "  - id: A-2\n    title: t\n    kind: defect\n    status: open\n  - title: t\n    kind: defect\n    status: open\n    colour: red\n",
			[]string{`line 13: anomalies[2]: unknown key "colour"`}},
		{"unknown top-level key", YAML, "anomaly: []\n",
			[]string{`line 1: unknown top-level key "anomaly"; did you mean "anomalies"?`, "no anomalies key"}},
		{"unknown key beside anomalies", JSON, `{"anomalies": [], "version": 1}`,
			[]string{`line 1: unknown top-level key "version"`}},

		// Wrong types.
		{"riskAcceptable quoted yes", YAML, minimal + "    riskAcceptable: \"yes\"\n    rationale: r\n",
			[]string{`line 6: anomalies[0] (id A-1): riskAcceptable: want true or false, got the string "yes"`}},
		{"riskAcceptable unquoted yes", YAML, minimal + "    riskAcceptable: yes\n    rationale: r\n",
			[]string{`riskAcceptable: want true or false, got the string "yes"`}},
		{"riskAcceptable string json", JSON, `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open","riskAcceptable":"true","rationale":"r"}]}`,
			[]string{`line 1: anomalies[0] (id A-1): riskAcceptable: want true or false, got the string "true"`}},
		{"tests is a string", YAML, minimal + "    tests: x\n",
			[]string{`line 6: anomalies[0] (id A-1): tests: want a list, got the string "x"`}},
		{"version is a number", YAML, minimal + "    plannedCorrection:\n      version: 2.10\n",
			[]string{`line 7: anomalies[0] (id A-1): plannedCorrection.version: want a string, got the number 2.10 (put it in quotes)`}},
		{"id is a number", YAML, "anomalies:\n  - id: 42\n    title: t\n    kind: defect\n    status: open\n",
			[]string{`line 2: anomalies[0]: id: want a string, got the number 42 (put it in quotes)`}},
		{"title is a boolean", JSON, `{"anomalies":[{"id":"A-1","title":true,"kind":"defect","status":"open"}]}`,
			[]string{`anomalies[0] (id A-1): title: want a string, got the boolean true`}},
		{"discovered is a string", YAML, minimal + "    discovered: yesterday\n",
			[]string{`line 6: anomalies[0] (id A-1): discovered: want a mapping, got the string "yesterday"`}},
		{"list item is a list", YAML, minimal + "    components: [[a]]\n",
			[]string{`anomalies[0] (id A-1): components[0]: want a string, got a list`}},
		{"empty value", YAML, minimal + "    riskAcceptable:\n    rationale: r\n",
			[]string{`line 6: anomalies[0] (id A-1): riskAcceptable: no value: give one or remove the key`}},
		{"null in json", JSON, `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open","discovered":null}]}`,
			[]string{`anomalies[0] (id A-1): discovered: no value`}},
		{"entry is a string", YAML, "anomalies:\n  - A-1\n",
			[]string{`line 2: anomalies[0]: want a mapping, got the string "A-1"`}},
		{"anomalies is a mapping", YAML, "anomalies:\n  A-1: {title: t}\n",
			[]string{`line 2: anomalies: want a list, got a mapping`}},
		{"anomalies is null", YAML, "anomalies:\n",
			[]string{`line 1: anomalies has no value: write "anomalies: []" to state there are none`}},
		{"root is a list", YAML, "- id: A-1\n",
			[]string{`line 1: the document is a list; want a mapping with the anomalies key`}},
		{"root is a string", JSON, `"anomalies"`,
			[]string{`the document is the string "anomalies"`}},
		{"no anomalies key", JSON, `{}`,
			[]string{`no anomalies key`, `{"anomalies": []} states there are none`}},
		{"bool tag with junk", YAML, minimal + "    riskAcceptable: !!bool maybe\n",
			[]string{`line 6: "maybe" is not a boolean`}},

		// Evidence rules: Validate.
		{"missing id", YAML, "anomalies:\n  - title: t\n    kind: defect\n    status: open\n",
			[]string{`line 2: anomalies[0]: anomaly (no id): id is empty`}},
		{"blank title", JSON, `{"anomalies":[{"id":"A-1","title":"  ","kind":"defect","status":"open"}]}`,
			[]string{`anomalies[0]: anomaly A-1: title is empty`}},
		{"bad kind", YAML, "anomalies:\n  - id: A-1\n    title: t\n    kind: bug\n    status: open\n",
			[]string{`anomaly A-1: kind "bug": want one of`}},
		{"missing status", YAML, "anomalies:\n  - id: A-1\n    title: t\n    kind: defect\n",
			[]string{`anomaly A-1: status "": want one of`}},
		{"risk decision without rationale", YAML, minimal + "    riskAcceptable: true\n",
			[]string{`anomaly A-1: riskAcceptable is set but rationale is empty`}},
		{"blank rationale", YAML, minimal + "    riskAcceptable: false\n    rationale: ' '\n",
			[]string{`riskAcceptable is set but rationale is empty`}},
		{"duplicate id", YAML, minimal + "  - id: A-2\n    title: t\n    kind: defect\n    status: open\n  - id: A-1\n    title: t\n    kind: defect\n    status: open\n",
			[]string{`line 10: anomalies[2] (id A-1): duplicate id, first used by anomalies[0] at line 2`}},

		// Dates.
		{"month 13", YAML, minimal + "    evaluatedAt: 2024-13-01\n",
			[]string{`line 6: anomalies[0] (id A-1): evaluatedAt: "2024-13-01" is not a date`}},
		{"february 30", JSON, `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open","evaluatedAt":"2024-02-30"}]}`,
			[]string{`evaluatedAt: "2024-02-30" is not a date`}},
		{"not leap year", YAML, minimal + "    evaluatedAt: 2023-02-29\n",
			[]string{`evaluatedAt: "2023-02-29" is not a date`}},
		{"european date", YAML, minimal + "    discovered:\n      date: 02.04.2024\n",
			[]string{`line 7: anomalies[0] (id A-1): discovered.date: "02.04.2024" is not a date`}},
		{"space instead of T", YAML, minimal + "    evaluatedAt: 2024-05-01 14:30:00\n",
			[]string{`evaluatedAt: "2024-05-01 14:30:00" is not a date`}},
		{"date-time without zone", YAML, minimal + "    evaluatedAt: \"2024-05-01T14:30:00\"\n",
			[]string{`evaluatedAt: "2024-05-01T14:30:00" is not a date`}},
		{"empty date", JSON, `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open","evaluatedAt":""}]}`,
			[]string{`evaluatedAt: "" is not a date`}},

		// Components and list entries.
		{"component with a space", YAML, minimal + "    components: [wm firmware]\n",
			[]string{`line 6: anomalies[0] (id A-1): components[0]: want NAME or NAME@VERSION: name "wm firmware"`}},
		{"component with empty version", YAML, minimal + "    components: [wm-firmware@]\n",
			[]string{`components[0]: want NAME or NAME@VERSION: version is empty`}},
		{"component without name", YAML, minimal + "    components: ['@1.0']\n",
			[]string{`components[0]: want NAME or NAME@VERSION: name is empty`}},
		{"component with two versions", YAML, minimal + "    components: [a@1@2]\n",
			[]string{`components[0]: want NAME or NAME@VERSION: version "1@2"`}},
		{"component path", JSON, `{"anomalies":[{"id":"A-1","title":"t","kind":"defect","status":"open","components":["../etc"]}]}`,
			[]string{`components[0]: want NAME or NAME@VERSION: name "../etc"`}},
		{"blank test", YAML, minimal + "    tests: [a.b, '']\n",
			[]string{`anomalies[0] (id A-1): tests[1]: empty entry`}},
		{"blank hazard", YAML, minimal + "    safetyImpact: {hazards: [' ']}\n",
			[]string{`safetyImpact.hazards[0]: empty entry`}},
		{"blank cwe", YAML, minimal + "    securityImpact: {cwe: ['']}\n",
			[]string{`securityImpact.cwe[0]: empty entry`}},
		{"blank link", YAML, minimal + "    links: ['']\n",
			[]string{`links[0]: empty entry`}},

		// Duplicate keys.
		{"duplicate key yaml", YAML, minimal + "    status: closed\n",
			[]string{`line 6: duplicate key "status" (first at line 5)`}},
		{"duplicate key json", JSON, "{\"anomalies\": [{\"id\": \"A-1\", \"title\": \"t\", \"kind\": \"defect\",\n \"status\": \"open\",\n \"status\": \"closed\"}]}",
			[]string{`line 3: duplicate key "status" (first at line 2)`}},
		{"duplicate anomalies key json", JSON, `{"anomalies": [], "anomalies": []}`,
			[]string{`duplicate key "anomalies"`}},

		// YAML structure and safety.
		{"two documents", YAML, minimal + "---\nanomalies: []\n",
			[]string{`line 6: a second YAML document: an anomaly list is one document`}},
		{"empty second document", YAML, minimal + "---\n",
			[]string{`a second YAML document`}},
		{"recursive alias", YAML, "anomalies: &a [*a]\n",
			[]string{`line 1: alias *a refers to a value that contains it`}},
		{"unknown anchor", YAML, "anomalies: *nope\n",
			[]string{`malformed YAML`, `unknown anchor 'nope'`}},
		{"custom tag", YAML, minimal + "    description: !secret t\n",
			[]string{`line 6: unsupported YAML tag !secret`}},
		{"binary tag", YAML, minimal + "    description: !!binary aGVsbG8=\n",
			[]string{`line 6: unsupported YAML tag !!binary`}},
		{"merge of a scalar", YAML, minimal + "    discovered:\n      <<: scan\n",
			[]string{`line 7: a merge key (<<) needs a mapping or a list of mappings`}},
		{"complex key", YAML, "? [a, b]\n: c\n",
			[]string{`line 1: a mapping key must be a plain string`}},
		{"tab indentation", YAML, "anomalies:\n\t- id: A-1\n",
			[]string{`line 2: malformed YAML: found character that cannot start any token`}},
		{"bad indentation", YAML, "anomalies:\n  - id: A-1\n   title: t\n",
			[]string{`malformed YAML`}},

		// JSON syntax.
		{"trailing comma", JSON, "{\"anomalies\": [\n  {\"id\": \"A-1\",}\n]}",
			[]string{`line 2: malformed JSON: invalid character '}'`}},
		{"truncated json", JSON, `{"anomalies": [{"id": "A-1"`,
			[]string{`truncated JSON`}},
		{"data after json", JSON, "{\"anomalies\": []}\n{\"anomalies\": []}",
			[]string{`line 2: unexpected data after the JSON document`}},
		{"single quotes json", JSON, `{'anomalies': []}`,
			[]string{`line 1: malformed JSON`}},
		{"deep nesting json", JSON, `{"anomalies":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}",
			[]string{`nested deeper than 64 levels`}},
		{"deep nesting yaml", YAML, "anomalies: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n",
			[]string{`nested deeper than 64 levels`}},

		// Bytes.
		{"empty yaml", YAML, "", []string{`empty file`, `"anomalies: []" states there are none`}},
		{"empty json", JSON, "", []string{`empty file`, `{"anomalies": []} states there are none`}},
		{"white space only", JSON, " \n\t\n", []string{`empty file`}},
		{"comment only", YAML, "# anomalies: []\n", []string{`no YAML document, only comments`}},
		{"invalid UTF-8 json", JSON, "{\"anomalies\": [\n{\"id\": \"A-1\", \"title\": \"0.4 \xb0C\", \"kind\": \"defect\", \"status\": \"open\"}]}",
			[]string{`line 2: not valid UTF-8 (byte 44)`}},
		{"invalid UTF-8 yaml", YAML, minimal + "    description: \xff\n", []string{`line 6: not valid UTF-8`}},
	}
}

func TestReadInvalid(t *testing.T) {
	for _, tc := range invalidCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(strings.NewReader(tc.in), tc.f)
			if err == nil {
				t.Fatalf("Read succeeded with %d anomalies; want an error", len(got))
			}
			if k := evidence.KindOf(err); k != evidence.KindInvalid {
				t.Errorf("error kind = %q, want %q (%v)", k, evidence.KindInvalid, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// TestReportsEveryProblem: a user fixes the file in one pass.
func TestReportsEveryProblem(t *testing.T) {
	in := `anomalies:
  - id: A-1
    title: t
    kind: defect
    status: open
    riskAcceptible: true
  - id: A-2
    title: t
    kind: defect
    status: open
    evaluatedAt: yesterday
`
	_, err := Read(strings.NewReader(in), YAML)
	want := `line 6: anomalies[0] (id A-1): unknown key "riskAcceptible"; did you mean "riskAcceptable"?; ` +
		`line 11: anomalies[1] (id A-2): evaluatedAt: "yesterday" is not a date: want YYYY-MM-DD or an RFC 3339 date-time such as 2024-05-01T14:30:00Z`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n got %v\nwant %s", err, want)
	}

	var b strings.Builder
	b.WriteString("anomalies:\n")
	for range 30 {
		b.WriteString("  - {id: X, title: t, kind: defect, status: open, bogus: 1}\n")
	}
	_, err = Read(strings.NewReader(b.String()), YAML)
	if err == nil {
		t.Fatal("30 bad entries read without error")
	}
	// 30 unknown keys and 29 duplicate ids: 20 listed, 39 counted.
	if got := strings.Count(err.Error(), "line ") - strings.Count(err.Error(), "at line "); got != maxProblems {
		t.Errorf("listed %d problems, want %d", got, maxProblems)
	}
	if !strings.HasSuffix(err.Error(), "; and 39 more problems") {
		t.Errorf("error does not end with the count of unlisted problems: %v", err)
	}
}

func TestInvalidFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		want string
	}{
		{"typo-riskAcceptible.yaml", `line 11: anomalies[0] (id WMAPP-ANOM-0102): unknown key "riskAcceptible"; did you mean "riskAcceptable"?`},
		{"riskAcceptable-yes.yaml", `line 5: anomalies[0] (id WMAPP-ANOM-0104): riskAcceptable: want true or false, got the string "yes"`},
		{"version-as-number.yaml", `line 12: anomalies[0] (id WMCLD-ANOM-0017): plannedCorrection.version: want a string, got the number 5.10 (put it in quotes)`},
		{"tests-not-a-list.yaml", `line 6: anomalies[0] (id WMFW-ANOM-0050): tests: want a list`},
		{"bad-status.yaml", `anomaly WMFW-ANOM-0051: status "wontfix": want one of [open deferred mitigated closed]`},
		{"bad-date.yaml", `line 8: anomalies[0] (id WMFW-ANOM-0052): evaluatedAt: "02/04/2024" is not a date`},
		{"no-anomalies-key.yaml", `line 2: unknown top-level key "issues"`},
		{"anomalies-null.yaml", `anomalies has no value`},
		{"two-documents.yaml", `line 6: a second YAML document`},
		{"alias-bomb.yaml", `YAML aliases expand to more than 100000 values`},
		{"empty.yaml", `empty file`},
		{"comment-only.yaml", `no YAML document, only comments`},
		{"duplicate-id.json", `line 15: anomalies[2] (id WMCLD-ANOM-0020): duplicate id, first used by anomalies[0] at line 3`},
		{"duplicate-key.json", `line 9: duplicate key "riskAcceptable" (first at line 7)`},
		{"rationale-missing.json", `anomaly WMCLD-ANOM-0023: riskAcceptable is set but rationale is empty`},
		{"bad-kind.json", `anomaly WMCLD-ANOM-0024: kind "bug"`},
		{"component-with-space.json", `line 7: anomalies[0] (id WMCLD-ANOM-0025): components[0]: want NAME or NAME@VERSION: name "wm alert service"`},
		{"trailing-comma.json", `line 8: malformed JSON`},
		{"empty.json", `empty file`},
		{"latin1.json", `line 5: not valid UTF-8`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			_, err := readFile(t, filepath.Join("testdata", "invalid", tc.file))
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Fatalf("got %v, want a KindInvalid error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}
}

// TestEveryInvalidFixtureIsListed keeps TestInvalidFixtures complete.
func TestEveryInvalidFixtureIsListed(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid fixtures: %v", err)
	}
	src, err := os.ReadFile("anomaly_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !bytes.Contains(src, []byte(`{"`+filepath.Base(f)+`", `)) {
			t.Errorf("%s has no case in TestInvalidFixtures", f)
		}
	}
}

// fillReader yields n copies of byte c without holding them in memory.
type fillReader struct {
	c byte
	n int64
}

func (r *fillReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = r.c
	}
	r.n -= int64(len(p))
	return len(p), nil
}

func TestReadLimitsAndReaderErrors(t *testing.T) {
	t.Run("over the size limit", func(t *testing.T) {
		r := &fillReader{c: '#', n: MaxSize + 1<<20}
		_, err := Read(r, YAML)
		if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "larger than 16 MiB") {
			t.Fatalf("got %v, want a size error", err)
		}
		if r.n < 1<<20-1 {
			t.Errorf("read %d bytes past the limit; want to stop at the limit", 1<<20-r.n)
		}
	})
	t.Run("at the size limit", func(t *testing.T) {
		// The boundary, on a small limit: parsing 16 MiB is slow under -race.
		for _, tc := range []struct {
			in string
			ok bool
		}{{"123456789", true}, {"1234567890", true}, {"12345678901", false}} {
			got, err := readLimited(strings.NewReader(tc.in), 10)
			if tc.ok && (err != nil || string(got) != tc.in) {
				t.Errorf("%d bytes with limit 10: %q, %v", len(tc.in), got, err)
			}
			if !tc.ok && (!evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "larger than 10 bytes")) {
				t.Errorf("%d bytes with limit 10: got %v, want a size error", len(tc.in), err)
			}
		}
	})
	t.Run("directory", func(t *testing.T) {
		d, err := os.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		_, err = Read(d, YAML)
		if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "is a directory") {
			t.Fatalf("got %v, want a KindInvalid 'is a directory' error", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := Read(iotest.ErrReader(boom), JSON)
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the reader's error wrapped", err)
		}
		if evidence.IsKind(err, evidence.KindInvalid) {
			t.Errorf("an I/O failure is not invalid input: %v", err)
		}
	})
	t.Run("unknown format", func(t *testing.T) {
		_, err := Read(strings.NewReader(minimal), Format("xml"))
		if !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), `format "xml"`) {
			t.Fatalf("got %v", err)
		}
	})
}

// TestAliasesWithinBudget: legitimate aliasing, even repeated, reads fine;
// only expansion past the budget is refused.
func TestAliasesWithinBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString("anomalies:\n  - &base {id: A-0, title: t, kind: defect, status: open, tests: [a.b, a.c, a.d]}\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - {<<: *base, id: A-%d}\n", i+1)
	}
	as, err := Read(strings.NewReader(b.String()), YAML)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1001 || !reflect.DeepEqual(as[1000].Tests, []string{"a.b", "a.c", "a.d"}) {
		t.Errorf("got %d anomalies, last %+v", len(as), as[len(as)-1])
	}
}
