package policy_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

const (
	req  = policy.Required
	warn = policy.Warn
	off  = policy.Off
)

// defaultTable is the README's policy table ("## Policy"): rule -> A, B, C.
// TestDefaultMatchesREADME checks the README still says this, and
// TestDefaultTable that Default does.
var defaultTable = map[string][3]policy.Requirement{
	policy.RuleArtifacts:           {req, req, req},
	policy.RuleProvenance:          {warn, req, req},
	policy.RuleSBOM:                {req, req, req},
	policy.RuleSOUPDesignator:      {req, req, req},
	policy.RuleSOUPManufacturer:    {warn, warn, req},
	policy.RuleSOUPSupport:         {warn, warn, warn},
	policy.RuleAnomaliesListed:     {req, req, req},
	policy.RuleAnomaliesEvaluated:  {warn, req, req},
	policy.RuleAnomaliesAcceptable: {req, req, req},
	policy.RuleTestsUnit:           {off, req, req},
	policy.RuleTestsIntegration:    {off, req, req},
	policy.RuleTestsPassing:        {req, req, req},
	policy.RuleTestsSystem:         {req, req, req},
	policy.RuleChangesReviewed:     {off, req, req},
}

func classIndex(c evidence.Class) int { return c.Rank() - 1 }

func dg(s string) digest.Digest { return digest.FromBytes([]byte(s)) }

func ptr[T any](v T) *T { return &v }

// passing returns a component of class cls that meets every rule; its
// change-review evidence makes changes.reviewed apply to it.
func passing(name string, cls evidence.Class) evidence.Component {
	return evidence.Component{
		Name: name, Kind: evidence.KindFirmware, Version: "3.1.2", SafetyClass: cls,
		Artifacts: []evidence.Artifact{{Name: "build/" + name + ".bin", Digest: dg(name), Size: 1024, MediaType: "application/octet-stream"}},
		Provenance: &evidence.Provenance{
			CISystem: "gitlab-ci", SourceRepo: "https://git.example.com/wm/" + name, Commit: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0",
			BuilderID: "https://git.example.com/runners/12", BuildType: "https://evident.dev/build/gitlab-ci/v1",
		},
		Evidence: []evidence.EvidenceRef{
			{Type: evidence.TypeProvenance, Format: evidence.FormatSLSAv1, Name: "provenance/" + name + ".intoto.json", Digest: dg(name + "prov"), Size: 900},
			{
				Type: evidence.TypeTestReport, Format: evidence.FormatJUnitXML, Name: "reports/" + name + "/unit.xml", Digest: dg(name + "unit"), Size: 4000,
				Level: evidence.LevelUnit, Tests: &evidence.TestSummary{Tests: 12, Passed: 11, Skipped: 1, DurationMs: 300},
			},
			{
				Type: evidence.TypeTestReport, Format: evidence.FormatJUnitXML, Name: "reports/" + name + "/integration.xml", Digest: dg(name + "int"), Size: 2000,
				Level: evidence.LevelIntegration, Tests: &evidence.TestSummary{Tests: 4, Passed: 4, DurationMs: 9000},
			},
			{
				Type: evidence.TypeSBOM, Format: evidence.FormatCycloneDXJSON, Name: "sbom/" + name + ".cdx.json", Digest: dg(name + "sbom"), Size: 7000,
				SBOM: &evidence.SBOMSummary{Format: "CycloneDX", SpecVersion: "1.6", Components: 3, Completeness: "complete"},
			},
			{
				Type: evidence.TypeSOUP, Format: evidence.FormatSOUPJSONL, Name: "soup/" + name + ".soup.jsonl", Digest: dg(name + "soup"), Size: 600,
				DerivedFrom: ptr(dg(name + "sbom")),
			},
			{
				Type: evidence.TypeAnomalies, Format: evidence.FormatAnomaliesYAML, Name: "anomalies/" + name + ".yaml", Digest: dg(name + "anom"), Size: 800,
				Anomalies: &evidence.AnomalySummary{Total: 2, Open: 1, Closed: 1, Evaluated: 2},
			},
			{
				Type: evidence.TypeChangeReview, Format: evidence.FormatChangesJSON, Name: "changes/" + name + ".json", Digest: dg(name + "changes"), Size: 300,
				Changes: &evidence.ChangeSummary{Source: "github", Repository: "acme/" + name, Base: "v3.1.1", Head: "v3.1.2", Commits: 5, Reviewed: 5},
			},
		},
		Anomalies: []evidence.AnomalyEntry{
			anomaly("ANOM-1"),
			anomaly("ANOM-0", func(a *evidence.AnomalyEntry) { a.Status = evidence.AnomalyClosed }),
		},
	}
}

// anomaly is an open anomaly, evaluated as acceptable; opts change it.
func anomaly(id string, opts ...func(*evidence.AnomalyEntry)) evidence.AnomalyEntry {
	a := evidence.AnomalyEntry{
		ID: id, Title: "BLE reconnect takes up to 45 s", Kind: evidence.AnomalyPerformance, Status: evidence.AnomalyOpen,
		RiskAcceptable: ptr(true), Rationale: "Measurements are buffered for 24 h",
		EvaluatedBy: "Dr. Maria Lindqvist (Clinical Safety Officer)", EvaluatedAt: "2026-11-18",
	}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func unevaluated(a *evidence.AnomalyEntry) {
	a.RiskAcceptable, a.Rationale, a.EvaluatedBy, a.EvaluatedAt = nil, "", "", ""
}
func notAcceptable(a *evidence.AnomalyEntry) { a.RiskAcceptable = ptr(false) }
func closed(a *evidence.AnomalyEntry)        { a.Status = evidence.AnomalyClosed }
func naming(tests ...string) func(*evidence.AnomalyEntry) {
	return func(a *evidence.AnomalyEntry) { a.Tests = tests }
}

// release wraps components in a manifest with release-level system tests.
func release(cs ...evidence.Component) *evidence.Manifest {
	var classes []evidence.Class
	for _, c := range cs {
		classes = append(classes, c.SafetyClass)
	}
	return &evidence.Manifest{
		SchemaVersion: evidence.SchemaVersion,
		Product:       evidence.Product{Name: "wearable-monitor", Version: "2.4.0"},
		CreatedAt:     time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC),
		Generator:     evidence.Generator{Name: "evident", Version: "test"},
		SafetyClass:   evidence.HighestClass(classes...),
		Components:    cs,
		Evidence: []evidence.EvidenceRef{{
			Type: evidence.TypeTestReport, Format: evidence.FormatJUnitXML, Name: "reports/system.xml", Digest: dg("system"), Size: 5000,
			Level: evidence.LevelSystem, Tests: &evidence.TestSummary{Tests: 20, Passed: 20},
		}},
		Policy: evidence.PolicyResult{Digest: dg("policy"), Outcome: evidence.OutcomePass},
	}
}

// ref returns the component's first evidence of type t (and level l for
// test reports).
func ref(t *testing.T, c *evidence.Component, typ evidence.EvidenceType, l evidence.TestLevel) *evidence.EvidenceRef {
	t.Helper()
	for i := range c.Evidence {
		if c.Evidence[i].Type == typ && c.Evidence[i].Level == l {
			return &c.Evidence[i]
		}
	}
	t.Fatalf("component %s has no %s %s evidence", c.Name, typ, l)
	return nil
}

// drop removes the component's evidence of type t (and level l).
func drop(c *evidence.Component, typ evidence.EvidenceType, l evidence.TestLevel) {
	var keep []evidence.EvidenceRef
	for _, r := range c.Evidence {
		if r.Type != typ || r.Level != l {
			keep = append(keep, r)
		}
	}
	c.Evidence = keep
}

// failing sets a report's summary to one failing test case.
func failing(t *testing.T, c *evidence.Component, l evidence.TestLevel, tc evidence.TestCase) {
	r := ref(t, c, evidence.TypeTestReport, l)
	r.Tests.Passed--
	if tc.Outcome == evidence.OutcomeError {
		r.Tests.Errors++
	} else {
		r.Tests.Failed++
	}
	r.Tests.Failures = append(r.Tests.Failures, tc)
}

var latency = evidence.TestCase{Classname: "fw.AlarmSuite", Name: "test_alert_latency", Outcome: evidence.OutcomeFailed, Message: "14.2 s > 10 s"}

func gaps(t *testing.T, c *evidence.Component, gs ...evidence.SOUPGap) {
	ref(t, c, evidence.TypeSBOM, "").SBOM.Gaps = gs
}

// passMessages are the messages of a passing component "wm-fw" and release.
var passMessages = map[string]string{
	policy.RuleArtifacts:           "1 artifact(s) recorded by sha256 digest",
	policy.RuleProvenance:          "built from https://git.example.com/wm/wm-fw at 8f14e45fceea by https://git.example.com/runners/12",
	policy.RuleSBOM:                "1 SBOM(s) listing 3 SOUP item(s)",
	policy.RuleSOUPDesignator:      "all 3 SOUP item(s) have title, version and unique designator (purl, cpe or hash)",
	policy.RuleSOUPManufacturer:    "all 3 SOUP item(s) have manufacturer or supplier",
	policy.RuleSOUPSupport:         "all 3 SOUP item(s) have level of support and end-of-support date",
	policy.RuleAnomaliesListed:     "1 known residual anomal(ies) listed",
	policy.RuleAnomaliesEvaluated:  "all 1 residual anomal(ies) evaluated",
	policy.RuleAnomaliesAcceptable: "no residual anomaly with unacceptable risk",
	policy.RuleTestsUnit:           "12 unit test(s) in 1 report(s): 11 passed, 0 failed, 0 errors, 1 skipped",
	policy.RuleTestsIntegration:    "4 integration test(s) in 1 report(s): 4 passed, 0 failed, 0 errors, 0 skipped",
	policy.RuleTestsPassing:        "no failing tests",
	policy.RuleTestsSystem:         "20 system test(s) in 1 report(s)",
	policy.RuleChangesReviewed:     "all 5 change(s) in acme/wm-fw v3.1.1..v3.1.2 reviewed by someone other than their author",
}

// allOn is the built-in table with changes.reviewed required, so that
// every rule is evaluated for every class.
func allOn(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load(strings.NewReader("name: all-on\nrules:\n  changes.reviewed: {A: required, B: required, C: required}\n" +
		"  tests.unit: {A: required}\n  tests.integration: {A: required}\n"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFixtureIsValid: the manifests the rules are tested against are ones
// Validate accepts, so the rules are tested on realistic input.
func TestFixtureIsValid(t *testing.T) {
	m := release(passing("wm-fw", evidence.ClassC), passing("wm-app", evidence.ClassB), passing("wm-dash", evidence.ClassA))
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPassingComponentPassesEveryRule(t *testing.T) {
	p := allOn(t)
	for _, cls := range evidence.Classes {
		t.Run(string(cls), func(t *testing.T) {
			res, err := policy.Evaluate(release(passing("wm-fw", cls)), p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != evidence.OutcomePass {
				t.Errorf("outcome %s", res.Outcome)
			}
			got := map[string]string{}
			for _, r := range res.Rules {
				if r.Outcome != evidence.OutcomePass || len(r.Missing) > 0 {
					t.Errorf("%s: %s %q %v", r.Rule, r.Outcome, r.Message, r.Missing)
				}
				got[r.Rule] = r.Message
			}
			if diff := cmp.Diff(passMessages, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// mutation breaks a passing release of one component "wm-fw" in a named
// way: it breaks rule (and, where that cannot be helped, the rules in also)
// and leaves every other rule passing.
type mutation struct {
	name    string
	rule    string
	also    []string
	mutate  func(t *testing.T, m *evidence.Manifest, c *evidence.Component)
	message string
	missing []string
}

var mutations = []mutation{
	{
		name: "no artifacts", rule: policy.RuleArtifacts,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { c.Artifacts = nil },
		message: "no released artifact is recorded", missing: []string{"artifacts"},
	},
	{
		name: "no provenance", rule: policy.RuleProvenance,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { c.Provenance = nil },
		message: "no build provenance is recorded", missing: []string{"provenance"},
	},
	{
		name: "provenance without commit", rule: policy.RuleProvenance,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { c.Provenance.Commit = "" },
		message: "build provenance lacks source commit", missing: []string{"source commit"},
	},
	{
		name: "provenance without source repository", rule: policy.RuleProvenance,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { c.Provenance.SourceRepo = "" },
		message: "build provenance lacks source repository", missing: []string{"source repository"},
	},
	{
		name: "provenance without builder", rule: policy.RuleProvenance,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { c.Provenance.BuilderID = "" },
		message: "build provenance lacks builder id", missing: []string{"builder id"},
	},
	{
		name: "provenance without SLSA document", rule: policy.RuleProvenance,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			drop(c, evidence.TypeProvenance, "")
		},
		message: "build provenance lacks SLSA provenance document", missing: []string{"SLSA provenance document"},
	},
	{
		name: "provenance lacking everything", rule: policy.RuleProvenance,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Provenance = &evidence.Provenance{CISystem: "local"}
			drop(c, evidence.TypeProvenance, "")
		},
		message: "build provenance lacks source commit, source repository, builder id, SLSA provenance document",
		missing: []string{"source commit", "source repository", "builder id", "SLSA provenance document"},
	},
	{
		name: "no SBOM", rule: policy.RuleSBOM, also: []string{policy.RuleSOUPDesignator, policy.RuleSOUPManufacturer, policy.RuleSOUPSupport},
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			drop(c, evidence.TypeSBOM, "")
		},
		message: "no SBOM is recorded", missing: []string{"sbom"},
	},
	{
		name: "SOUP without designator", rule: policy.RuleSOUPDesignator,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c, evidence.SOUPGap{Field: evidence.SOUPFieldDesignator, Count: 1, Examples: []string{"zlib@1.3"}})
		},
		message: "1 gap(s) in title, version and unique designator (purl, cpe or hash) across 3 SOUP item(s)",
		missing: []string{"zlib@1.3: no designator"},
	},
	{
		name: "SOUP without name, version and designator", rule: policy.RuleSOUPDesignator,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c,
				evidence.SOUPGap{Field: evidence.SOUPFieldDesignator, Count: 2, Examples: []string{"zlib", "lwip"}},
				evidence.SOUPGap{Field: evidence.SOUPFieldVersion, Count: 2, Examples: []string{"lwip", "zlib"}},
				evidence.SOUPGap{Field: evidence.SOUPFieldName, Count: 1, Examples: []string{"pkg:generic/x@1"}},
			)
		},
		// Items in the order the gaps list them, every field each lacks.
		message: "5 gap(s) in title, version and unique designator (purl, cpe or hash) across 3 SOUP item(s)",
		missing: []string{"pkg:generic/x@1: no name", "lwip: no version, designator", "zlib: no version, designator"},
	},
	{
		name: "SOUP without manufacturer", rule: policy.RuleSOUPManufacturer,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c, evidence.SOUPGap{Field: evidence.SOUPFieldManufacturer, Count: 2, Examples: []string{"mbedtls@3.5.1", "lwip@2.2.0"}})
		},
		message: "2 gap(s) in manufacturer or supplier across 3 SOUP item(s)",
		missing: []string{"mbedtls@3.5.1: no manufacturer", "lwip@2.2.0: no manufacturer"},
	},
	{
		name: "more SOUP gaps than examples", rule: policy.RuleSOUPManufacturer,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			ref(t, c, evidence.TypeSBOM, "").SBOM.Components = 300
			gaps(t, c, evidence.SOUPGap{Field: evidence.SOUPFieldManufacturer, Count: 250, Examples: []string{"a@1", "b@1"}})
		},
		message: "250 gap(s) in manufacturer or supplier across 300 SOUP item(s)",
		missing: []string{"a@1: no manufacturer", "b@1: no manufacturer"},
	},
	{
		name: "SOUP without support information", rule: policy.RuleSOUPSupport,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c,
				evidence.SOUPGap{Field: evidence.SOUPFieldEndOfSupport, Count: 1, Examples: []string{"lwip@2.2.0"}},
				evidence.SOUPGap{Field: evidence.SOUPFieldSupportLevel, Count: 2, Examples: []string{"mbedtls@3.5.1", "lwip@2.2.0"}},
			)
		},
		message: "3 gap(s) in level of support and end-of-support date across 3 SOUP item(s)",
		missing: []string{"mbedtls@3.5.1: no supportLevel", "lwip@2.2.0: no supportLevel, endOfSupport"},
	},
	{
		name: "gaps across two SBOMs", rule: policy.RuleSOUPManufacturer,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c, evidence.SOUPGap{Field: evidence.SOUPFieldManufacturer, Count: 1, Examples: []string{"a@1"}})
			second := *ref(t, c, evidence.TypeSBOM, "")
			second.Name, second.Digest = "sbom/second.cdx.xml", dg("second")
			second.SBOM = &evidence.SBOMSummary{Components: 2, Gaps: []evidence.SOUPGap{{Field: evidence.SOUPFieldManufacturer, Count: 1, Examples: []string{"b@2"}}}}
			c.Evidence = append(c.Evidence, second)
		},
		message: "2 gap(s) in manufacturer or supplier across 5 SOUP item(s)",
		missing: []string{"a@1: no manufacturer", "b@2: no manufacturer"},
	},
	{
		name: "no anomaly list", rule: policy.RuleAnomaliesListed,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			drop(c, evidence.TypeAnomalies, "")
			c.Anomalies = nil
		},
		message: "no residual-anomaly list is recorded (an empty list is an explicit statement)", missing: []string{"anomalies"},
	},
	{
		name: "unevaluated anomaly", rule: policy.RuleAnomaliesEvaluated,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", unevaluated))
		},
		message: "1 of 2 residual anomal(ies) not evaluated",
		missing: []string{"ANOM-2: no riskAcceptable, rationale, evaluatedBy, evaluatedAt"},
	},
	{
		name: "anomaly evaluated without a date", rule: policy.RuleAnomaliesEvaluated,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies[0].EvaluatedAt = ""
		},
		message: "1 of 1 residual anomal(ies) not evaluated",
		missing: []string{"ANOM-1: no evaluatedAt"},
	},
	{
		name: "deferred anomaly without rationale", rule: policy.RuleAnomaliesEvaluated,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-3", func(a *evidence.AnomalyEntry) {
				a.Status = evidence.AnomalyDeferred
				a.Rationale = ""
			}))
		},
		message: "1 of 2 residual anomal(ies) not evaluated",
		missing: []string{"ANOM-3: no rationale"},
	},
	{
		name: "anomaly with unacceptable risk", rule: policy.RuleAnomaliesAcceptable,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", notAcceptable))
		},
		message: "1 residual anomal(ies) with unacceptable risk would ship",
		missing: []string{"ANOM-2: risk evaluated as not acceptable"},
	},
	{
		name: "mitigated anomaly with unacceptable risk", rule: policy.RuleAnomaliesAcceptable,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", notAcceptable, func(a *evidence.AnomalyEntry) { a.Status = evidence.AnomalyMitigated }))
		},
		message: "1 residual anomal(ies) with unacceptable risk would ship",
		missing: []string{"ANOM-2: risk evaluated as not acceptable"},
	},
	{
		name: "no unit tests", rule: policy.RuleTestsUnit,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			drop(c, evidence.TypeTestReport, evidence.LevelUnit)
		},
		message: "no unit test results are recorded", missing: []string{"unit test report"},
	},
	{
		name: "unit report with no tests", rule: policy.RuleTestsUnit,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			*ref(t, c, evidence.TypeTestReport, evidence.LevelUnit).Tests = evidence.TestSummary{}
		},
		message: "no unit test results are recorded", missing: []string{"unit test report"},
	},
	{
		name: "no integration tests", rule: policy.RuleTestsIntegration,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			drop(c, evidence.TypeTestReport, evidence.LevelIntegration)
		},
		message: "no integration test results are recorded", missing: []string{"integration test report"},
	},
	{
		name: "unexplained failing test", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed)"},
	},
	{
		name: "unexplained erroring integration test", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelIntegration, evidence.TestCase{Name: "TestHILReconnect", Outcome: evidence.OutcomeError})
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/integration.xml: TestHILReconnect (error)"},
	},
	{
		name: "failing test named by an unevaluated anomaly", rule: policy.RuleTestsPassing, also: []string{policy.RuleAnomaliesEvaluated},
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", unevaluated, naming(latency.ID())))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed): named by ANOM-2, which is not evaluated as acceptable"},
	},
	{
		name: "failing test named by an anomaly lacking its evaluator", rule: policy.RuleTestsPassing, also: []string{policy.RuleAnomaliesEvaluated},
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.Name), func(a *evidence.AnomalyEntry) { a.EvaluatedBy = "" }))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed): named by ANOM-2, which is not evaluated as acceptable"},
	},
	{
		name: "failing test named by a not-acceptable anomaly", rule: policy.RuleTestsPassing, also: []string{policy.RuleAnomaliesAcceptable},
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", notAcceptable, naming(latency.ID())))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed): named by ANOM-2, which is not evaluated as acceptable"},
	},
	{
		name: "failing test named by a closed anomaly", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", closed, naming(latency.ID())))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed): named by ANOM-2, which is closed"},
	},
	{
		name: "anomaly names a different test", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming("fw.AlarmSuite.test_alert_latency_low_motion", "fw.OtherSuite.test_alert_latency")))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: fw.AlarmSuite.test_alert_latency (failed)"},
	},
	{
		name: "failure list truncated", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			r := ref(t, c, evidence.TypeTestReport, evidence.LevelUnit)
			r.Tests.Failed += 2 // three failed, one listed
			r.Tests.Passed -= 2
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.ID())))
		},
		message: "2 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/unit.xml: 2 failing test(s) beyond the 1 listed cannot be matched to anomalies"},
	},
	{
		name: "failures in two reports, one explained", rule: policy.RuleTestsPassing,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			failing(t, c, evidence.LevelIntegration, evidence.TestCase{Classname: "hil", Name: "test_ble", Outcome: evidence.OutcomeFailed})
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.ID())))
		},
		message: "1 failing test(s) not explained by an evaluated, acceptable anomaly",
		missing: []string{"reports/wm-fw/integration.xml: hil.test_ble (failed)"},
	},
	{
		name: "no system tests", rule: policy.RuleTestsSystem,
		mutate:  func(t *testing.T, m *evidence.Manifest, c *evidence.Component) { m.Evidence = nil },
		message: "no system test results are recorded for the release", missing: []string{"system test report"},
	},
	{
		name: "system report with no tests", rule: policy.RuleTestsSystem,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			m.Evidence[0].Tests = &evidence.TestSummary{}
		},
		message: "no system test results are recorded for the release", missing: []string{"system test report"},
	},
	{
		name: "unreviewed changes", rule: policy.RuleChangesReviewed,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			s := ref(t, c, evidence.TypeChangeReview, "").Changes
			s.Reviewed, s.Unreviewed = 3, 2
			s.UnreviewedChanges = []evidence.UnreviewedChange{
				{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Author: "mallory", Reason: "no pull request"},
				{SHA: "c9f0f895fb98ab9159f51fd0297e236d0f2b1a4e", Author: "alice", Reason: "approved only by its author"},
			}
		},
		message: "2 of 5 change(s) in acme/wm-fw v3.1.1..v3.1.2 not reviewed by someone other than their author",
		missing: []string{"8f14e45 (mallory): no pull request", "c9f0f89 (alice): approved only by its author"},
	},
	{
		name: "unreviewed changes beyond the listed ones", rule: policy.RuleChangesReviewed,
		mutate: func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			s := ref(t, c, evidence.TypeChangeReview, "").Changes
			s.Base, s.Reviewed, s.Unreviewed = "", 0, 5
			s.UnreviewedChanges = []evidence.UnreviewedChange{{SHA: "8f14e45fceea167a5a36dedd4bea2543b1c4b2f0", Reason: "no approving review"}}
		},
		message: "5 of 5 change(s) in acme/wm-fw v3.1.2 not reviewed by someone other than their author",
		missing: []string{"8f14e45: no approving review", "acme/wm-fw: 4 more unreviewed commit(s) beyond the 1 listed"},
	},
}

func outcomeFor(r policy.Requirement) string {
	switch r {
	case req:
		return evidence.OutcomeFail
	case warn:
		return evidence.OutcomeWarn
	}
	return ""
}

// checkMutation evaluates mu against a component of class cls under p,
// whose requirements are table, and checks every rule's outcome, the broken
// rule's message and missing items, and the overall outcome.
func checkMutation(t *testing.T, p *policy.Policy, table map[string][3]policy.Requirement, cls evidence.Class, mu mutation) {
	t.Helper()
	m := release(passing("wm-fw", cls))
	mu.mutate(t, m, &m.Components[0])
	res, err := policy.Evaluate(m, p)
	if err != nil {
		t.Fatal(err)
	}
	broken := map[string]bool{mu.rule: true}
	for _, r := range mu.also {
		broken[r] = true
	}
	wantOverall := evidence.OutcomePass
	seen := map[string]bool{}
	for _, r := range res.Rules {
		seen[r.Rule] = true
		need := table[r.Rule][classIndex(cls)]
		want := evidence.OutcomePass
		if broken[r.Rule] {
			want = outcomeFor(need)
		}
		if need == off {
			t.Errorf("%s is off for class %s but was evaluated: %+v", r.Rule, cls, r)
		}
		if r.Outcome != want {
			t.Errorf("%s: outcome %s, want %s (%q %v)", r.Rule, r.Outcome, want, r.Message, r.Missing)
		}
		if want == evidence.OutcomeFail {
			wantOverall = evidence.OutcomeFail
		}
		if r.Outcome == evidence.OutcomePass && len(r.Missing) > 0 {
			t.Errorf("%s passes but lists missing items %v", r.Rule, r.Missing)
		}
		if r.Rule == mu.rule && want != evidence.OutcomePass {
			if r.Message != mu.message {
				t.Errorf("%s: message\n got %q\nwant %q", r.Rule, r.Message, mu.message)
			}
			if diff := cmp.Diff(mu.missing, r.Missing); diff != "" {
				t.Errorf("%s: missing (-want +got):\n%s", r.Rule, diff)
			}
		}
		wantComp := "wm-fw"
		if r.Rule == policy.RuleTestsSystem {
			wantComp = ""
		}
		if r.Component != wantComp {
			t.Errorf("%s: component %q, want %q", r.Rule, r.Component, wantComp)
		}
	}
	for rule, by := range table {
		if by[classIndex(cls)] != off && !seen[rule] {
			t.Errorf("%s is %s for class %s but was not evaluated", rule, by[classIndex(cls)], cls)
		}
	}
	if res.Outcome != wantOverall {
		t.Errorf("overall outcome %s, want %s", res.Outcome, wantOverall)
	}
}

// TestRulesPerClass breaks every rule for every class under the built-in
// table: a required rule fails the release, a warn rule is reported and the
// release passes, an off rule is not evaluated at all.
func TestRulesPerClass(t *testing.T) {
	for _, cls := range evidence.Classes {
		for _, mu := range mutations {
			t.Run(string(cls)+"/"+mu.name, func(t *testing.T) {
				checkMutation(t, policy.Default(), defaultTable, cls, mu)
			})
		}
	}
}

// TestRulesAllRequired runs the same mutations with every rule required,
// so that the message and missing items of every rule, changes.reviewed and
// the tests.* rules of class A included, are checked as failures.
func TestRulesAllRequired(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: strict\nrules:\n")
	all := map[string][3]policy.Requirement{}
	for _, id := range policy.RuleIDs() {
		fmt.Fprintf(&b, "  %s: {A: required, B: required, C: required}\n", id)
		all[id] = [3]policy.Requirement{req, req, req}
	}
	p, err := policy.Load(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	for _, cls := range evidence.Classes {
		for _, mu := range mutations {
			t.Run(string(cls)+"/"+mu.name, func(t *testing.T) {
				checkMutation(t, p, all, cls, mu)
			})
		}
	}
}

// TestEveryRuleIsBroken keeps the mutation list complete.
func TestEveryRuleIsBroken(t *testing.T) {
	broken := map[string]bool{}
	for _, mu := range mutations {
		broken[mu.rule] = true
	}
	for _, id := range policy.RuleIDs() {
		if !broken[id] {
			t.Errorf("no mutation breaks %s", id)
		}
	}
}

// TestStillPassing: changes that look like problems but are not.
func TestStillPassing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cls     evidence.Class
		mutate  func(t *testing.T, m *evidence.Manifest, c *evidence.Component)
		rule    string
		message string
	}{
		{"failing test explained by name", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.Name)))
		}, policy.RuleTestsPassing, "all 1 failing test(s) explained by evaluated anomalies"},
		{"failing test explained by classname.name", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.ID())))
		}, policy.RuleTestsPassing, "all 1 failing test(s) explained by evaluated anomalies"},
		{"erroring test explained, deferred anomaly", evidence.ClassB, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelIntegration, evidence.TestCase{Name: "TestHIL", Outcome: evidence.OutcomeError})
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming("TestHIL"), func(a *evidence.AnomalyEntry) { a.Status = evidence.AnomalyDeferred }))
		}, policy.RuleTestsPassing, "all 1 failing test(s) explained by evaluated anomalies"},
		{"two failures, one anomaly", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			failing(t, c, evidence.LevelIntegration, evidence.TestCase{Classname: "hil", Name: "test_ble", Outcome: evidence.OutcomeFailed})
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", naming(latency.ID(), "hil.test_ble")))
		}, policy.RuleTestsPassing, "all 2 failing test(s) explained by evaluated anomalies"},
		{"an acceptable anomaly outweighs a closed one naming the same test", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			failing(t, c, evidence.LevelUnit, latency)
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", closed, naming(latency.ID())), anomaly("ANOM-3", naming(latency.ID())))
		}, policy.RuleTestsPassing, "all 1 failing test(s) explained by evaluated anomalies"},
		{"skipped tests are not failures", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			ref(t, c, evidence.TypeTestReport, evidence.LevelUnit).Tests.Skipped = 11
		}, policy.RuleTestsPassing, "no failing tests"},
		{"an empty anomaly list", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = nil
		}, policy.RuleAnomaliesListed, "0 known residual anomal(ies) listed"},
		{"a closed anomaly need not be evaluated", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", closed, unevaluated))
		}, policy.RuleAnomaliesEvaluated, "all 1 residual anomal(ies) evaluated"},
		{"a closed anomaly may have been unacceptable", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			c.Anomalies = append(c.Anomalies, anomaly("ANOM-2", closed, notAcceptable))
		}, policy.RuleAnomaliesAcceptable, "no residual anomaly with unacceptable risk"},
		{"a licence gap is not checked", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			gaps(t, c, evidence.SOUPGap{Field: evidence.SOUPFieldLicense, Count: 3, Examples: []string{"a", "b", "c"}})
		}, policy.RuleSOUPDesignator, "all 3 SOUP item(s) have title, version and unique designator (purl, cpe or hash)"},
		{"two SBOMs", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			second := *ref(t, c, evidence.TypeSBOM, "")
			second.Name, second.SBOM = "sbom/second.cdx.xml", &evidence.SBOMSummary{Components: 2}
			c.Evidence = append(c.Evidence, second)
		}, policy.RuleSBOM, "2 SBOM(s) listing 5 SOUP item(s)"},
		{"two unit reports", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			second := *ref(t, c, evidence.TypeTestReport, evidence.LevelUnit)
			second.Name, second.Tests = "reports/wm-fw/unit-2.xml", &evidence.TestSummary{Tests: 3, Passed: 3}
			c.Evidence = append(c.Evidence, second)
		}, policy.RuleTestsUnit, "15 unit test(s) in 2 report(s): 14 passed, 0 failed, 0 errors, 1 skipped"},
		{"system tests recorded by a component", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			sys := m.Evidence[0]
			m.Evidence = nil
			c.Evidence = append(c.Evidence, sys)
		}, policy.RuleTestsSystem, "20 system test(s) in 1 report(s)"},
		{"system tests in two places", evidence.ClassC, func(t *testing.T, m *evidence.Manifest, c *evidence.Component) {
			sys := m.Evidence[0]
			sys.Name, sys.Tests = "reports/fw-system.xml", &evidence.TestSummary{Tests: 5, Passed: 5}
			c.Evidence = append(c.Evidence, sys)
		}, policy.RuleTestsSystem, "25 system test(s) in 2 report(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := release(passing("wm-fw", tc.cls))
			tc.mutate(t, m, &m.Components[0])
			res, err := policy.Evaluate(m, policy.Default())
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != evidence.OutcomePass {
				t.Errorf("outcome %s", res.Outcome)
			}
			found := false
			for _, r := range res.Rules {
				if r.Outcome != evidence.OutcomePass {
					t.Errorf("%s: %s %q %v", r.Rule, r.Outcome, r.Message, r.Missing)
				}
				if r.Rule == tc.rule {
					found = true
					if r.Message != tc.message {
						t.Errorf("%s: message\n got %q\nwant %q", r.Rule, r.Message, tc.message)
					}
				}
			}
			if !found {
				t.Errorf("%s was not evaluated", tc.rule)
			}
		})
	}
}

// TestClassAWithoutUnitTests: class A needs no unit or integration tests;
// the rules are off and do not appear in the result.
func TestClassAWithoutUnitTests(t *testing.T) {
	c := passing("wm-dashboard", evidence.ClassA)
	drop(&c, evidence.TypeTestReport, evidence.LevelUnit)
	drop(&c, evidence.TypeTestReport, evidence.LevelIntegration)
	res, err := policy.Evaluate(release(c), policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != evidence.OutcomePass {
		t.Errorf("outcome %s: %+v", res.Outcome, res.Rules)
	}
	for _, r := range res.Rules {
		if r.Rule == policy.RuleTestsUnit || r.Rule == policy.RuleTestsIntegration || r.Rule == policy.RuleChangesReviewed {
			t.Errorf("%s is off for class A but is in the result: %+v", r.Rule, r)
		}
	}
}

// TestChangesReviewedAppliesOnlyWithASource: a component without
// change-review evidence (no change source configured) is not judged by
// changes.reviewed, even where the rule is required, so configs written
// before change sources existed keep passing; one with an empty range
// passes.
func TestChangesReviewedAppliesOnlyWithASource(t *testing.T) {
	without := passing("wm-app", evidence.ClassC)
	drop(&without, evidence.TypeChangeReview, "")
	empty := passing("wm-fw", evidence.ClassC)
	s := ref(t, &empty, evidence.TypeChangeReview, "").Changes
	s.Commits, s.Reviewed = 0, 0
	for _, p := range []*policy.Policy{policy.Default(), allOn(t)} {
		res, err := policy.Evaluate(release(without, empty), p)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != evidence.OutcomePass {
			t.Errorf("%s: outcome %s: %+v", p.Name, res.Outcome, res.Rules)
		}
		var got []string
		for _, r := range res.Rules {
			if r.Rule == policy.RuleChangesReviewed {
				got = append(got, r.Component+": "+r.Outcome+": "+r.Message)
			}
		}
		want := []string{"wm-fw: pass: no changes in acme/wm-fw v3.1.1..v3.1.2"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: changes.reviewed results (-want +got):\n%s", p.Name, diff)
		}
	}
}

// TestAnomalyExplainsOnlyItsComponent: an anomaly of one component does not
// explain a failing test of another.
func TestAnomalyExplainsOnlyItsComponent(t *testing.T) {
	fw, app := passing("wm-fw", evidence.ClassC), passing("wm-app", evidence.ClassB)
	failing(t, &fw, evidence.LevelUnit, latency)
	app.Anomalies = append(app.Anomalies, anomaly("APP-1", naming(latency.ID())))
	res, err := policy.Evaluate(release(fw, app), policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != evidence.OutcomeFail {
		t.Errorf("outcome %s, want fail", res.Outcome)
	}
	for _, r := range res.Rules {
		if r.Rule == policy.RuleTestsPassing && r.Component == "wm-fw" && r.Outcome != evidence.OutcomeFail {
			t.Errorf("wm-fw tests.passing = %s, want fail", r.Outcome)
		}
	}
}

// TestSystemTestsUseReleaseClass: tests.system is evaluated once, with the
// release's class, the highest of its components.
func TestSystemTestsUseReleaseClass(t *testing.T) {
	lenient, err := policy.Load(strings.NewReader("name: lenient-a\nrules:\n  tests.system: {A: warn}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		p       *policy.Policy
		classes []evidence.Class
		want    string // tests.system outcome
		overall string
	}{
		{"default, class A release", policy.Default(), []evidence.Class{evidence.ClassA}, evidence.OutcomeFail, evidence.OutcomeFail},
		{"A warns, class A release", lenient, []evidence.Class{evidence.ClassA, evidence.ClassA}, evidence.OutcomeWarn, evidence.OutcomePass},
		{"A warns, a class B component makes it a class B release", lenient, []evidence.Class{evidence.ClassA, evidence.ClassB}, evidence.OutcomeFail, evidence.OutcomeFail},
		{"A warns, class C release", lenient, []evidence.Class{evidence.ClassC, evidence.ClassA}, evidence.OutcomeFail, evidence.OutcomeFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cs []evidence.Component
			for i, cls := range tc.classes {
				cs = append(cs, passing(fmt.Sprintf("c%d", i), cls))
			}
			m := release(cs...)
			m.Evidence = nil
			res, err := policy.Evaluate(m, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var sys []evidence.RuleResult
			for _, r := range res.Rules {
				if r.Rule == policy.RuleTestsSystem {
					sys = append(sys, r)
				}
			}
			if len(sys) != 1 {
				t.Fatalf("tests.system evaluated %d times, want once: %+v", len(sys), sys)
			}
			if sys[0].Component != "" || sys[0].Outcome != tc.want {
				t.Errorf("tests.system = %+v, want outcome %s for the release", sys[0], tc.want)
			}
			if res.Outcome != tc.overall {
				t.Errorf("overall %s, want %s", res.Outcome, tc.overall)
			}
		})
	}
}

// TestEvaluateOrder: release rules first, then each component in manifest
// order, its rules by id; clauses recorded as Clause says.
func TestEvaluateOrder(t *testing.T) {
	m := release(passing("wm-fw", evidence.ClassC), passing("wm-dashboard", evidence.ClassA))
	p := policy.Default()
	res, err := policy.Evaluate(m, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res.Rules {
		got = append(got, r.Component+"/"+r.Rule)
		if r.Clause != policy.Clause(r.Rule) || r.Clause == "" {
			t.Errorf("%s: clause %q, want %q", r.Rule, r.Clause, policy.Clause(r.Rule))
		}
	}
	want := []string{"/tests.system"}
	for _, c := range []struct {
		name string
		cls  evidence.Class
	}{{"wm-fw", evidence.ClassC}, {"wm-dashboard", evidence.ClassA}} {
		for _, id := range policy.RuleIDs() {
			if id != policy.RuleTestsSystem && defaultTable[id][classIndex(c.cls)] != off {
				want = append(want, c.name+"/"+id)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	d, err := p.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if res.Name != policy.DefaultName || res.Digest != d {
		t.Errorf("result names policy %q %s, want %q %s", res.Name, res.Digest, policy.DefaultName, d)
	}
}

// TestEvaluateDeterministic: the same input gives byte-identical results,
// however often it is evaluated, and the manifest is not changed.
func TestEvaluateDeterministic(t *testing.T) {
	// A realistic mess: many rules broken at once, in three components.
	build := func() *evidence.Manifest {
		fw, app, dash := passing("wm-fw", evidence.ClassC), passing("wm-app", evidence.ClassB), passing("wm-dash", evidence.ClassA)
		failing(t, &fw, evidence.LevelUnit, latency)
		failing(t, &fw, evidence.LevelIntegration, evidence.TestCase{Name: "TestHIL", Outcome: evidence.OutcomeError})
		fw.Anomalies = append(fw.Anomalies, anomaly("ANOM-2", unevaluated, naming("TestHIL")), anomaly("ANOM-3", notAcceptable))
		gaps(t, &fw,
			evidence.SOUPGap{Field: evidence.SOUPFieldSupportLevel, Count: 2, Examples: []string{"b@1", "a@1"}},
			evidence.SOUPGap{Field: evidence.SOUPFieldManufacturer, Count: 1, Examples: []string{"a@1"}},
			evidence.SOUPGap{Field: evidence.SOUPFieldDesignator, Count: 1, Examples: []string{"c"}},
		)
		drop(&app, evidence.TypeSBOM, "")
		app.Provenance.Commit = ""
		dash.Provenance = nil
		dash.Artifacts = nil
		m := release(fw, app, dash)
		m.Evidence = nil
		return m
	}
	m := build()
	before := mustJSON(t, m)
	first, err := policy.Evaluate(m, policy.Default())
	if err != nil {
		t.Fatal(err)
	}
	if first.Outcome != evidence.OutcomeFail || len(first.Rules) < 30 {
		t.Fatalf("the test manifest is not messy enough: %s, %d rules", first.Outcome, len(first.Rules))
	}
	firstJSON := mustJSON(t, first)
	for range 50 {
		again, err := policy.Evaluate(build(), policy.Default())
		if err != nil {
			t.Fatal(err)
		}
		if b := mustJSON(t, again); string(b) != string(firstJSON) {
			t.Fatalf("results differ:\n%s", cmp.Diff(first, again))
		}
	}
	if after := mustJSON(t, m); string(after) != string(before) {
		t.Error("Evaluate changed the manifest")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDefaultTable: Default is the README's table.
func TestDefaultTable(t *testing.T) {
	p := policy.Default()
	if p.Name != policy.DefaultName {
		t.Errorf("name %q", p.Name)
	}
	got := map[string][3]policy.Requirement{}
	for id, bc := range p.Rules {
		got[id] = [3]policy.Requirement{bc.A, bc.B, bc.C}
		for i, cls := range evidence.Classes {
			if bc.For(cls) != got[id][i] {
				t.Errorf("%s: For(%s) = %s, want %s", id, cls, bc.For(cls), got[id][i])
			}
		}
		if bc.For("D") != off || bc.For("") != off {
			t.Errorf("%s: For an unknown class is not off", id)
		}
	}
	if diff := cmp.Diff(defaultTable, got); diff != "" {
		t.Errorf("Default rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(defaultTable)), policy.RuleIDs()); diff != "" {
		t.Errorf("RuleIDs (-want +got):\n%s", diff)
	}
	wantApprovals := map[evidence.Class]policy.Approvals{
		evidence.ClassA: {Roles: []string{"release-manager"}},
		evidence.ClassB: {Roles: []string{"release-manager"}},
		evidence.ClassC: {Roles: []string{"release-manager", "qa"}, Distinct: true},
	}
	if diff := cmp.Diff(wantApprovals, p.Approvals); diff != "" {
		t.Errorf("approvals (-want +got):\n%s", diff)
	}
	if p.AllowUnencryptedApproverKeys {
		t.Error("unencrypted approver keys are allowed by default")
	}
	if err := p.Validate(); err != nil {
		t.Error(err)
	}
	// Default returns a fresh policy each time: changing one does not
	// change the next.
	p.Rules[policy.RuleSBOM] = policy.ByClass{A: off, B: off, C: off}
	if policy.Default().Rules[policy.RuleSBOM].A != req {
		t.Error("Default shares its rule table")
	}
}

// TestDefaultMatchesREADME reads the policy table of README.md and holds
// the code to it: every rule, clause and cell.
func TestDefaultMatchesREADME(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	readme := map[string][3]policy.Requirement{}
	clauses := map[string]string{}
	inPolicy := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			inPolicy = line == "## Policy"
			continue
		}
		if !inPolicy || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 5 {
			t.Fatalf("README policy row with %d cells: %q", len(cells), line)
		}
		rule := strings.TrimSpace(cells[0])
		rule = rule[1 : strings.Index(rule[1:], "`")+1] // the `rule` before any description
		var row [3]policy.Requirement
		for i := range 3 {
			row[i] = policy.Requirement(strings.TrimSpace(cells[2+i]))
		}
		readme[rule] = row
		clauses[rule] = strings.TrimSpace(cells[1])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaultTable, readme); diff != "" {
		t.Errorf("README policy table (-test +README):\n%s", diff)
	}
	for rule, clause := range clauses {
		if got := policy.Clause(rule); !strings.HasPrefix(got, clause) {
			t.Errorf("%s: clause %q, README says %q", rule, got, clause)
		}
	}
}
