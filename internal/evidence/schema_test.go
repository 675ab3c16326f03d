package evidence_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/schemas"
)

// These tests keep the Go manifest types and schemas/manifest.v1.schema.json
// in lock-step: a fully populated manifest written by Encode must satisfy the
// schema, and each named way of breaking it must be refused by both the
// schema and DecodeManifest.

func manifestSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.Manifest()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemas.ManifestID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemas.ManifestID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validateJSON(sch *jsonschema.Schema, b []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

func d(s string) digest.Digest { return digest.FromBytes([]byte(s)) }

func dp(s string) *digest.Digest { x := d(s); return &x }

func ptr[T any](v T) *T { return &v }

// fullManifest is a release of the wearable monitor with every optional
// field of every type set somewhere; TestFullManifestSetsEveryField
// enforces that, so a field added to the Go types must be added here and
// thereby to the schema.
func fullManifest() *evidence.Manifest {
	started := time.Date(2024, 5, 2, 8, 14, 3, 0, time.UTC)
	finished := started.Add(11*time.Minute + 500*time.Millisecond)
	policy := d("policy")
	return &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: "wearable-monitor", Version: "2024.2.0"},
		CreatedAt:     time.Date(2024, 5, 2, 9, 30, 0, 123456789, time.FixedZone("CEST", 2*3600)),
		Generator:     evidence.Generator{Name: "evident", Version: "0.4.0"},
		SafetyClass:   evidence.ClassC,
		Components: []evidence.Component{
			{
				Name:        "wm-firmware",
				Kind:        evidence.KindFirmware,
				Version:     "2.4.0+b1187",
				SafetyClass: evidence.ClassC,
				Artifacts: []evidence.Artifact{
					{Name: "build/wm-firmware-2.4.0.signed.bin", Digest: d("fw"), Size: 917504, MediaType: "application/octet-stream"},
				},
				Provenance: &evidence.Provenance{
					CISystem:     "gitlab-ci",
					SourceRepo:   "https://git.example-med.com/wearable/firmware",
					Commit:       "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0",
					Ref:          "refs/tags/v2.4.0",
					BuilderID:    "https://git.example-med.com/wearable/firmware/-/runners/12",
					BuildType:    "https://evident.dev/build/gitlab-ci/v1",
					RunID:        "88213",
					RunURL:       "https://git.example-med.com/wearable/firmware/-/pipelines/88213",
					Workflow:     ".gitlab-ci.yml",
					BuildCommand: "make release",
					Runner:       "fw-builder-02",
					Image:        "registry.example-med.com/fw-toolchain@sha256:" + d("image").Hex(),
					Toolchain:    []evidence.Tool{{Name: "arm-none-eabi-gcc", Version: "13.2.1"}},
					StartedAt:    &started,
					FinishedAt:   &finished,
				},
				Evidence: []evidence.EvidenceRef{
					{
						Type: evidence.TypeTestReport, Format: evidence.FormatJUnitXML, Name: "reports/unit.xml",
						Digest: d("unit"), Size: 48213, Level: evidence.LevelUnit,
						Tests: &evidence.TestSummary{
							Tests: 412, Passed: 409, Failed: 1, Errors: 0, Skipped: 2, Flaky: 1, DurationMs: 81234,
							Failures: []evidence.TestCase{{
								Classname: "arrhythmia.MotionArtefactSuite", Name: "test_alert_latency_high_motion",
								Outcome: evidence.OutcomeFailed, Message: "latency 14.2 s > 10 s",
							}},
						},
					},
					{
						Type: evidence.TypeSBOM, Format: evidence.FormatCycloneDXJSON, Name: "sbom/firmware.cdx.json",
						Digest: d("sbom"), Size: 73111,
						SBOM: &evidence.SBOMSummary{
							Format: "CycloneDX", SpecVersion: "1.6", Components: 14, Vulnerabilities: 1, Completeness: "complete",
							Gaps: []evidence.SOUPGap{{Field: evidence.SOUPFieldSupportLevel, Count: 2, Examples: []string{"mbedtls@3.5.1", "lwip@2.2.0"}}},
						},
					},
					{
						Type: evidence.TypeSOUP, Format: evidence.FormatSOUPJSONL, Name: "soup/firmware.soup.jsonl",
						Digest: d("soup"), Size: 5120, DerivedFrom: dp("sbom"),
					},
					{
						Type: evidence.TypeAnomalies, Format: evidence.FormatAnomaliesYAML, Name: "anomalies/firmware.yaml",
						Digest: d("anomalies"), Size: 6012,
						Anomalies: &evidence.AnomalySummary{Total: 5, Open: 4, Closed: 1, Evaluated: 5, Unevaluated: 0, NotAcceptable: 0},
					},
					{
						Type: evidence.TypeChangeReview, Format: evidence.FormatChangesJSON, Name: "changes/github/acme/wm-firmware.changes.json",
						Digest: d("changes"), Size: 9120,
						Changes: &evidence.ChangeSummary{
							Source: "github", Repository: "acme/wm-firmware", Base: "v2.3.0", Head: "v2.4.0",
							Commits: 42, Reviewed: 41, Unreviewed: 1,
							UnreviewedChanges: []evidence.UnreviewedChange{{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Author: "jdoe", Reason: "no pull request"}},
						},
					},
				},
				Anomalies: []evidence.AnomalyEntry{{
					ID: "WMFW-ANOM-0031", Title: "Arrhythmia alert latency exceeds 10 s under sustained motion artefact",
					Kind: evidence.AnomalyPerformance, Status: evidence.AnomalyMitigated, Severity: "serious",
					RiskAcceptable: ptr(true), Rationale: "Delay under 30 s does not change the clinical response (RM-ARR-07).",
					EvaluatedBy: "M. Lindqvist (Risk Manager)", EvaluatedAt: "2024-04-02", PlannedCorrection: "2.5.0",
					Tests: []string{"arrhythmia.MotionArtefactSuite.test_alert_latency_high_motion"},
				}},
			},
			{
				Name:             "wm-alert-service",
				Kind:             evidence.KindCloud,
				Version:          "5.2.0",
				SafetyClass:      evidence.ClassB,
				Artifacts:        []evidence.Artifact{{Name: "registry.example-med.com/wm-alert-service@sha256:" + d("svc").Hex(), Digest: d("svc"), Size: 0, MediaType: "application/vnd.oci.image.manifest.v1+json"}},
				Evidence:         []evidence.EvidenceRef{{Type: evidence.TypeMigration, Format: evidence.FormatText, Name: "db/migrations/0042_alert_ack.sql", Digest: d("mig"), Size: 812}},
				MigrationVersion: "42",
			},
		},
		Evidence: []evidence.EvidenceRef{
			{Type: evidence.TypePolicy, Format: evidence.FormatPolicyJSON, Name: "evident-policy.json", Digest: policy, Size: 2048},
		},
		Policy: evidence.PolicyResult{
			Name:    "iec62304-default",
			Digest:  policy,
			Outcome: evidence.OutcomePass,
			Rules: []evidence.RuleResult{
				{Rule: "anomalies-evaluated", Clause: "5.8.3", Component: "wm-firmware", Outcome: evidence.OutcomePass, Message: "5 of 5 anomalies evaluated"},
				{Rule: "soup-support", Clause: "8.1.2", Component: "wm-firmware", Outcome: evidence.OutcomeWarn, Message: "2 SOUP items without a support level", Missing: []string{"mbedtls@3.5.1", "lwip@2.2.0"}},
			},
		},
	}
}

// minimalManifest sets only what Validate requires; Encode writes its nil
// lists as null.
func minimalManifest() *evidence.Manifest {
	return &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: "wm", Version: "1"},
		CreatedAt:     time.Date(2024, 5, 2, 9, 30, 0, 0, time.UTC),
		SafetyClass:   evidence.ClassA,
		Components:    []evidence.Component{{Name: "wm-trend-dashboard", Kind: evidence.KindWeb, Version: "1.8.2", SafetyClass: evidence.ClassA}},
		Policy:        evidence.PolicyResult{Digest: d("p"), Outcome: evidence.OutcomeFail},
	}
}

// fieldsOf records the fields of t and of the types it contains, as
// "Type.Field"; setFields records those that are non-zero somewhere in v.
func fieldsOf(t reflect.Type, all map[string]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		fieldsOf(t.Elem(), all)
	case reflect.Struct:
		if leaf(t) {
			return
		}
		for i := range t.NumField() {
			k := t.Name() + "." + t.Field(i).Name
			if !all[k] {
				all[k] = true
				fieldsOf(t.Field(i).Type, all)
			}
		}
	}
}

func setFields(v reflect.Value, set map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			setFields(v.Elem(), set)
		}
	case reflect.Slice:
		for i := range v.Len() {
			setFields(v.Index(i), set)
		}
	case reflect.Struct:
		if leaf(v.Type()) {
			return
		}
		for i := range v.NumField() {
			if f := v.Field(i); !f.IsZero() {
				set[v.Type().Name()+"."+v.Type().Field(i).Name] = true
				setFields(f, set)
			}
		}
	}
}

// leaf reports the struct types written as one JSON string.
func leaf(t reflect.Type) bool {
	return t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[digest.Digest]()
}

func TestFullManifestSetsEveryField(t *testing.T) {
	all, set := map[string]bool{}, map[string]bool{}
	fieldsOf(reflect.TypeFor[evidence.Manifest](), all)
	setFields(reflect.ValueOf(fullManifest()).Elem(), set)
	// Zero counts are meaningful values; the schema is checked for them
	// by the counts that are set elsewhere.
	allowedZero := map[string]bool{
		"TestSummary.Errors":           true,
		"AnomalySummary.Unevaluated":   true,
		"AnomalySummary.NotAcceptable": true,
	}
	var unset []string
	for k := range all {
		if !set[k] && !allowedZero[k] {
			unset = append(unset, k)
		}
	}
	sort.Strings(unset)
	for _, k := range unset {
		t.Errorf("fullManifest leaves %s unset: set it, and check the schema describes it", k)
	}
}

func TestManifestSchemaAcceptsEncode(t *testing.T) {
	sch := manifestSchema(t)
	for name, m := range map[string]*evidence.Manifest{"full": fullManifest(), "minimal": minimalManifest()} {
		t.Run(name, func(t *testing.T) {
			if err := m.Validate(); err != nil {
				t.Fatalf("the test manifest is invalid: %v", err)
			}
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if err := validateJSON(sch, b); err != nil {
				t.Fatalf("schema rejects Encode's output:\n%v\n%s", err, b)
			}
			back, err := evidence.DecodeManifest(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("DecodeManifest: %v", err)
			}
			if !evidence.Equal(m, back) {
				t.Error("decode(encode(m)) differs from m")
			}
		})
	}
}

// doc is a manifest as generic JSON, for mutating.
type doc = map[string]any

// at walks a path of keys and indices ("components", 0, "artifacts", 0)
// and returns the object there.
func at(t *testing.T, m doc, path ...any) doc {
	t.Helper()
	var cur any = m
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(doc)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	o, ok := cur.(doc)
	if !ok {
		t.Fatalf("no object at %v", path)
	}
	return o
}

// evidenceOf finds a component's evidence reference by type.
func evidenceOf(t *testing.T, m doc, typ string) doc {
	t.Helper()
	for _, e := range at(t, m, "components", 0)["evidence"].([]any) {
		if e.(doc)["type"] == typ {
			return e.(doc)
		}
	}
	t.Fatalf("no %s evidence", typ)
	return nil
}

var upperDigest = "sha256:" + strings.ToUpper(digest.FromBytes([]byte("fw")).Hex())

// mutations break the full manifest in named ways that both the schema and
// DecodeManifest must refuse.
var mutations = []struct {
	name   string
	mutate func(t *testing.T, m doc)
}{
	{"unknown top-level field", func(t *testing.T, m doc) { m["signature"] = "MEUCIQ..." }},
	{"unknown component field", func(t *testing.T, m doc) { at(t, m, "components", 0)["sha"] = "x" }},
	{"unknown artifact field", func(t *testing.T, m doc) { at(t, m, "components", 0, "artifacts", 0)["sha1"] = "x" }},
	{"unknown provenance field", func(t *testing.T, m doc) { at(t, m, "components", 0, "provenance")["builder"] = "x" }},
	{"unknown test summary field", func(t *testing.T, m doc) { evidenceOf(t, m, "test-report")["tests"].(doc)["xfail"] = 1 }},
	{"unknown anomaly entry field", func(t *testing.T, m doc) { at(t, m, "components", 0, "anomalies", 0)["riskAcceptible"] = true }},
	{"unknown policy rule field", func(t *testing.T, m doc) { at(t, m, "policy", "rules", 0)["severity"] = "high" }},
	{"bad schemaVersion", func(t *testing.T, m doc) { m["schemaVersion"] = "2" }},
	{"numeric schemaVersion", func(t *testing.T, m doc) { m["schemaVersion"] = 1 }},
	{"missing schemaVersion", func(t *testing.T, m doc) { delete(m, "schemaVersion") }},
	{"missing product name", func(t *testing.T, m doc) { delete(at(t, m, "product"), "name") }},
	{"bad product name", func(t *testing.T, m doc) { at(t, m, "product")["name"] = "wearable monitor" }},
	{"bad product version", func(t *testing.T, m doc) { at(t, m, "product")["version"] = "2024.2.0 beta" }},
	{"missing components", func(t *testing.T, m doc) { delete(m, "components") }},
	{"no components", func(t *testing.T, m doc) { m["components"] = []any{} }},
	{"path as component name", func(t *testing.T, m doc) { at(t, m, "components", 0)["name"] = "../wm-firmware" }},
	{"bad component kind", func(t *testing.T, m doc) { at(t, m, "components", 0)["kind"] = "service" }},
	{"bad component class", func(t *testing.T, m doc) { at(t, m, "components", 1)["safetyClass"] = "D" }},
	{"lower-case class", func(t *testing.T, m doc) { m["safetyClass"] = "c" }},
	{"missing createdAt", func(t *testing.T, m doc) { delete(m, "createdAt") }},
	{"createdAt with a space", func(t *testing.T, m doc) { m["createdAt"] = "2024-05-02 09:30:00Z" }},
	{"createdAt date only", func(t *testing.T, m doc) { m["createdAt"] = "2024-05-02" }},
	{"bad provenance time", func(t *testing.T, m doc) { at(t, m, "components", 0, "provenance")["startedAt"] = "yesterday" }},
	{"upper-case digest", func(t *testing.T, m doc) { at(t, m, "components", 0, "artifacts", 0)["digest"] = upperDigest }},
	{"short digest", func(t *testing.T, m doc) { at(t, m, "components", 0, "artifacts", 0)["digest"] = "sha256:abc" }},
	{"digest without algorithm", func(t *testing.T, m doc) {
		at(t, m, "components", 0, "artifacts", 0)["digest"] = digest.FromBytes([]byte("fw")).Hex()
	}},
	{"sha512 digest", func(t *testing.T, m doc) {
		at(t, m, "components", 0, "artifacts", 0)["digest"] = "sha512:" + strings.Repeat("ab", 64)
	}},
	{"bad policy digest", func(t *testing.T, m doc) { at(t, m, "policy")["digest"] = "" }},
	{"bad derivedFrom", func(t *testing.T, m doc) { evidenceOf(t, m, "soup")["derivedFrom"] = "sbom/firmware.cdx.json" }},
	{"negative artifact size", func(t *testing.T, m doc) { at(t, m, "components", 0, "artifacts", 0)["size"] = -1 }},
	{"fractional size", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["size"] = 1.5 }},
	{"empty artifact name", func(t *testing.T, m doc) { at(t, m, "components", 0, "artifacts", 0)["name"] = "" }},
	{"bad evidence type", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["type"] = "screenshot" }},
	{"empty evidence format", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["format"] = "" }},
	{"evidence name escapes", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["name"] = "../sbom.json" }},
	{"absolute evidence name", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["name"] = "/etc/passwd" }},
	{"evidence name with backslash", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["name"] = `sbom\firmware.json` }},
	{"unclean evidence name", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["name"] = "sbom//firmware.json" }},
	{"test report without level", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "test-report"), "level") }},
	{"bad test level", func(t *testing.T, m doc) { evidenceOf(t, m, "test-report")["level"] = "acceptance" }},
	{"test report without summary", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "test-report"), "tests") }},
	{"level on an SBOM", func(t *testing.T, m doc) { evidenceOf(t, m, "sbom")["level"] = "unit" }},
	{"tests summary on an SBOM", func(t *testing.T, m doc) {
		evidenceOf(t, m, "sbom")["tests"] = evidenceOf(t, m, "test-report")["tests"]
	}},
	{"SBOM without summary", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "sbom"), "sbom") }},
	{"SBOM summary on an anomaly list", func(t *testing.T, m doc) {
		evidenceOf(t, m, "anomalies")["sbom"] = evidenceOf(t, m, "sbom")["sbom"]
	}},
	{"anomaly list without summary", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "anomalies"), "anomalies") }},
	{"change review without summary", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "change-review"), "changes") }},
	{"changes summary on an SBOM", func(t *testing.T, m doc) {
		evidenceOf(t, m, "sbom")["changes"] = evidenceOf(t, m, "change-review")["changes"]
	}},
	{"changes summary without head", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "change-review")["changes"].(doc), "head") }},
	{"unknown changes summary field", func(t *testing.T, m doc) { evidenceOf(t, m, "change-review")["changes"].(doc)["approved"] = 1 }},
	{"unreviewed change without reason", func(t *testing.T, m doc) {
		delete(evidenceOf(t, m, "change-review")["changes"].(doc)["unreviewedChanges"].([]any)[0].(doc), "reason")
	}},
	{"SOUP list without derivedFrom", func(t *testing.T, m doc) { delete(evidenceOf(t, m, "soup"), "derivedFrom") }},
	{"count as string", func(t *testing.T, m doc) { evidenceOf(t, m, "test-report")["tests"].(doc)["failed"] = "1" }},
	{"anomaly entry without id", func(t *testing.T, m doc) { delete(at(t, m, "components", 0, "anomalies", 0), "id") }},
	{"riskAcceptable as string", func(t *testing.T, m doc) { at(t, m, "components", 0, "anomalies", 0)["riskAcceptable"] = "yes" }},
	{"policy outcome warn", func(t *testing.T, m doc) { at(t, m, "policy")["outcome"] = "warn" }},
	{"policy outcome missing", func(t *testing.T, m doc) { delete(at(t, m, "policy"), "outcome") }},
	{"components is an object", func(t *testing.T, m doc) { m["components"] = doc{"wm-firmware": at(t, m, "components", 0)} }},
}

func mutated(t *testing.T, mutate func(*testing.T, doc)) []byte {
	t.Helper()
	b, err := fullManifest().Encode()
	if err != nil {
		t.Fatal(err)
	}
	var m doc
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	mutate(t, m)
	out, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifestMutationsRejected(t *testing.T) {
	sch := manifestSchema(t)
	if err := validateJSON(sch, mutated(t, func(*testing.T, doc) {})); err != nil {
		t.Fatalf("the unmutated manifest is rejected: %v", err)
	}
	for _, mu := range mutations {
		t.Run(mu.name, func(t *testing.T) {
			b := mutated(t, mu.mutate)
			if err := validateJSON(sch, b); err == nil {
				t.Error("the schema accepts it")
			}
			if _, err := evidence.DecodeManifest(bytes.NewReader(b)); err == nil {
				t.Error("DecodeManifest accepts it")
			} else if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("DecodeManifest: error kind %q, want invalid: %v", evidence.KindOf(err), err)
			}
		})
	}
}

// TestManifestSchemaKnownLimits pins what only the Go validation can check,
// so that the list in the schema's description stays true: the schema
// accepts each of these, DecodeManifest refuses it.
func TestManifestSchemaKnownLimits(t *testing.T) {
	sch := manifestSchema(t)
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, m doc)
	}{
		{"duplicate component name", func(t *testing.T, m doc) { at(t, m, "components", 1)["name"] = "wm-firmware" }},
		{"release class below a component's", func(t *testing.T, m doc) { m["safetyClass"] = "B" }},
		{"zero createdAt", func(t *testing.T, m doc) { m["createdAt"] = "0001-01-01T00:00:00Z" }},
		{"change counts that do not add up", func(t *testing.T, m doc) { evidenceOf(t, m, "change-review")["changes"].(doc)["reviewed"] = 40 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mutated(t, tc.mutate)
			if err := validateJSON(sch, b); err != nil {
				t.Errorf("the schema now rejects it (%v): move the case to mutations and update the schema description", err)
			}
			if _, err := evidence.DecodeManifest(bytes.NewReader(b)); err == nil {
				t.Error("DecodeManifest accepts it")
			}
		})
	}
}

// TestMutationNamesUnique keeps failures attributable.
func TestMutationNamesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, mu := range mutations {
		if seen[mu.name] {
			t.Errorf("duplicate mutation %q", mu.name)
		}
		seen[mu.name] = true
	}
}

// schemaDefs returns the "$defs" of a schema document.
func schemaDefs(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var s struct {
		Defs map[string]any `json:"$defs"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s.Defs
}

// lookupSchema walks keys from a definition ("component", "properties",
// "kind", "enum").
func lookupSchema(t *testing.T, defs map[string]any, keys ...string) any {
	t.Helper()
	var cur any = defs
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("schema has no %v", keys)
		}
		cur = m[k]
	}
	if cur == nil {
		t.Fatalf("schema has no %v", keys)
	}
	return cur
}

func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// TestSchemaEnumsMatchVocabulary: every enum in the published schemas is
// exactly the Go vocabulary it stands for.
func TestSchemaEnumsMatchVocabulary(t *testing.T) {
	manifest := schemaDefs(t, schemas.Manifest())
	anomalies := schemaDefs(t, schemas.Anomalies())
	for _, tc := range []struct {
		defs map[string]any
		path []string
		want []string
	}{
		{manifest, []string{"class", "enum"}, strs(evidence.Classes)},
		{manifest, []string{"component", "properties", "kind", "enum"}, strs(evidence.ComponentKinds)},
		{manifest, []string{"evidenceRef", "properties", "type", "enum"}, strs(evidence.EvidenceTypes)},
		{manifest, []string{"evidenceRef", "properties", "level", "enum"}, strs(evidence.TestLevels)},
		{manifest, []string{"anomalyEntry", "properties", "kind", "enum"}, evidence.AnomalyKinds},
		{manifest, []string{"anomalyEntry", "properties", "status", "enum"}, evidence.AnomalyStatuses},
		{manifest, []string{"testCase", "properties", "outcome", "enum"}, []string{evidence.OutcomeFailed, evidence.OutcomeError}},
		{manifest, []string{"policyResult", "properties", "outcome", "enum"}, []string{evidence.OutcomePass, evidence.OutcomeFail}},
		{manifest, []string{"ruleResult", "properties", "outcome", "enum"}, []string{evidence.OutcomePass, evidence.OutcomeFail, evidence.OutcomeWarn}},
		{manifest, []string{"soupGap", "properties", "field", "enum"}, []string{
			evidence.SOUPFieldName, evidence.SOUPFieldVersion, evidence.SOUPFieldDesignator, evidence.SOUPFieldManufacturer,
			evidence.SOUPFieldLicense, evidence.SOUPFieldEndOfSupport, evidence.SOUPFieldSupportLevel,
		}},
		{anomalies, []string{"anomaly", "properties", "kind", "enum"}, evidence.AnomalyKinds},
		{anomalies, []string{"anomaly", "properties", "status", "enum"}, evidence.AnomalyStatuses},
	} {
		name := strings.Join(tc.path, ".")
		t.Run(name, func(t *testing.T) {
			raw := lookupSchema(t, tc.defs, tc.path...).([]any)
			got := make([]string, len(raw))
			for i, v := range raw {
				got[i] = v.(string)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("schema enum %v, Go vocabulary %v", got, tc.want)
			}
		})
	}
}

// TestSchemaPatternsMatchValidators runs the same strings through a
// schema pattern and the Go validator it stands for.
func TestSchemaPatternsMatchValidators(t *testing.T) {
	manifest := schemaDefs(t, schemas.Manifest())
	anomalies := schemaDefs(t, schemas.Anomalies())
	pattern := func(defs map[string]any, def string) *regexp.Regexp {
		return regexp.MustCompile(lookupSchema(t, defs, def, "pattern").(string))
	}
	long := strings.Repeat("a", 128)
	names := []string{"wm-firmware", "wm_app.v2", "A", "9lives", long, long + "a", "", "-x", ".x", "_x",
		"wm firmware", "wm/firmware", "../x", "wm@1", "wm+1", "wm~1", "wärme", "a\n"}
	for _, tc := range []struct {
		name     string
		re       *regexp.Regexp
		maxBytes int
		validate func(string) error
		samples  []string
	}{
		{"name", pattern(manifest, "name"), 0, func(s string) error { return evidence.ValidateName("name", s) }, names},
		{"version", pattern(manifest, "version"), 0, func(s string) error { return evidence.ValidateVersion("version", s) },
			append(names, "2.4.0+b1187", "1.0~rc1", "1.0.0-beta.2", "+1", "~1")},
		{"component (anomalies schema)", pattern(anomalies, "component"), 0, func(s string) error {
			n, v, ok := strings.Cut(s, "@")
			if err := evidence.ValidateName("name", n); err != nil {
				return err
			}
			if ok {
				return evidence.ValidateVersion("version", v)
			}
			return nil
		}, append(names, "wm@1.0+b2", "wm@", "@1", "wm@1@2", "wm@"+long, "wm@"+long+"1", "wm@@1")},
		{"evidenceName", pattern(manifest, "evidenceName"), 512, func(s string) error { return evidence.ValidateEvidenceName(s) }, []string{
			"a", "reports/unit.xml", ".hidden", "a/.b", "a/..b", "a/b..", "...", "a/.../b", "a b/c d.txt", "ü/ß.json",
			"", ".", "..", "./a", "../a", "a/..", "a/../b", "a/./b", "a/.", "/a", "a/", "a//b", `a\b`, "a\x00b",
			strings.Repeat("a", 512), strings.Repeat("a", 513), strings.Repeat("ab/", 170) + "ab", strings.Repeat("ab/", 171),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, s := range tc.samples {
				schemaOK := tc.re.MatchString(s) && (tc.maxBytes == 0 || utf8.RuneCountInString(s) <= tc.maxBytes)
				goOK := tc.validate(s) == nil
				if schemaOK != goOK {
					t.Errorf("%.40q: schema pattern says %t, Go validator says %t", s, schemaOK, goOK)
				}
			}
		})
	}
}
