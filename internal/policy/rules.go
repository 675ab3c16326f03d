package policy

import (
	"fmt"
	"sort"
	"strings"

	"github.com/evident-dev/evident/internal/evidence"
)

// Rule identifiers. They are stable: policy files and archived results name
// them.
const (
	RuleArtifacts           = "artifacts.digested"
	RuleProvenance          = "provenance.recorded"
	RuleSBOM                = "sbom.present"
	RuleSOUPDesignator      = "soup.designator"
	RuleSOUPManufacturer    = "soup.manufacturer"
	RuleSOUPSupport         = "soup.support"
	RuleAnomaliesListed     = "anomalies.listed"
	RuleAnomaliesEvaluated  = "anomalies.evaluated"
	RuleAnomaliesAcceptable = "anomalies.acceptable"
	RuleTestsUnit           = "tests.unit"
	RuleTestsIntegration    = "tests.integration"
	RuleTestsPassing        = "tests.passing"
	RuleTestsSystem         = "tests.system"
	RuleChangesReviewed     = "changes.reviewed"
)

// check is a rule's test. It returns whether the rule is met, a one-line
// message for the report, and the missing items when it is not.
type check struct {
	clause string
	// Exactly one of component and release is set: component rules apply to
	// each component with that component's class, release rules once with
	// the release's (highest) class.
	component func(c *evidence.Component) (bool, string, []string)
	release   func(m *evidence.Manifest) (bool, string, []string)
	// applies, when set, says whether a component rule concerns a
	// component at all; a rule that does not apply is not evaluated and
	// not recorded, whatever its requirement.
	applies func(c *evidence.Component) bool
}

var rules = map[string]check{
	RuleArtifacts:           {clause: "5.8.1, 5.8.8", component: checkArtifacts},
	RuleProvenance:          {clause: "5.8.5", component: checkProvenance},
	RuleSBOM:                {clause: "8.1.2", component: checkSBOM},
	RuleSOUPDesignator:      {clause: "8.1.2", component: soupGaps("title, version and unique designator (purl, cpe or hash)", evidence.SOUPFieldName, evidence.SOUPFieldVersion, evidence.SOUPFieldDesignator)},
	RuleSOUPManufacturer:    {clause: "8.1.2", component: soupGaps("manufacturer or supplier", evidence.SOUPFieldManufacturer)},
	RuleSOUPSupport:         {clause: "8.1.2 (FDA: level of support, end of support)", component: soupGaps("level of support and end-of-support date", evidence.SOUPFieldSupportLevel, evidence.SOUPFieldEndOfSupport)},
	RuleAnomaliesListed:     {clause: "5.8.2", component: checkAnomaliesListed},
	RuleAnomaliesEvaluated:  {clause: "5.8.3", component: checkAnomaliesEvaluated},
	RuleAnomaliesAcceptable: {clause: "5.8.3", component: checkAnomaliesAcceptable},
	RuleTestsUnit:           {clause: "5.5.5", component: testLevel(evidence.LevelUnit)},
	RuleTestsIntegration:    {clause: "5.6", component: testLevel(evidence.LevelIntegration)},
	RuleTestsPassing:        {clause: "5.8.1, 9.8", component: checkTestsPassing},
	RuleTestsSystem:         {clause: "5.7", release: checkSystemTests},
	RuleChangesReviewed:     {clause: "8.2", component: checkChangesReviewed, applies: hasChangeReview},
}

// RuleIDs returns every rule identifier, sorted.
func RuleIDs() []string {
	ids := make([]string, 0, len(rules))
	for id := range rules {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Clause returns the IEC 62304 clause a rule implements.
func Clause(id string) string { return rules[id].clause }

// Evaluate checks m against p and returns the result to record. It reads
// everything but m.Policy, which it is meant to produce. Rules run in a fixed
// order (release rules first, then components in manifest order, rules by
// id), so that the same inputs always give identical results.
func Evaluate(m *evidence.Manifest, p *Policy) (evidence.PolicyResult, error) {
	d, err := p.Digest()
	if err != nil {
		return evidence.PolicyResult{}, err
	}
	res := evidence.PolicyResult{Name: p.Name, Digest: d, Outcome: evidence.OutcomePass}
	record := func(id, comp string, req Requirement, ok bool, msg string, missing []string) {
		r := evidence.RuleResult{Rule: id, Clause: rules[id].clause, Component: comp, Message: msg}
		switch {
		case ok:
			r.Outcome = evidence.OutcomePass
		case req == Required:
			r.Outcome = evidence.OutcomeFail
			r.Missing = missing
			res.Outcome = evidence.OutcomeFail
		default:
			r.Outcome = evidence.OutcomeWarn
			r.Missing = missing
		}
		res.Rules = append(res.Rules, r)
	}
	ids := RuleIDs()
	for _, id := range ids {
		if rules[id].release == nil {
			continue
		}
		req := p.Rules[id].For(m.SafetyClass)
		if req == Off {
			continue
		}
		ok, msg, missing := rules[id].release(m)
		record(id, "", req, ok, msg, missing)
	}
	for i := range m.Components {
		c := &m.Components[i]
		for _, id := range ids {
			if rules[id].component == nil {
				continue
			}
			req := p.Rules[id].For(c.SafetyClass)
			if req == Off || (rules[id].applies != nil && !rules[id].applies(c)) {
				continue
			}
			ok, msg, missing := rules[id].component(c)
			record(id, c.Name, req, ok, msg, missing)
		}
	}
	return res, nil
}

func evidenceOf(c *evidence.Component, t evidence.EvidenceType) []evidence.EvidenceRef {
	var out []evidence.EvidenceRef
	for _, r := range c.Evidence {
		if r.Type == t {
			out = append(out, r)
		}
	}
	return out
}

func checkArtifacts(c *evidence.Component) (bool, string, []string) {
	if len(c.Artifacts) == 0 {
		return false, "no released artifact is recorded", []string{"artifacts"}
	}
	return true, fmt.Sprintf("%d artifact(s) recorded by sha256 digest", len(c.Artifacts)), nil
}

func checkProvenance(c *evidence.Component) (bool, string, []string) {
	var missing []string
	p := c.Provenance
	if p == nil {
		return false, "no build provenance is recorded", []string{"provenance"}
	}
	if p.Commit == "" {
		missing = append(missing, "source commit")
	}
	if p.SourceRepo == "" {
		missing = append(missing, "source repository")
	}
	if p.BuilderID == "" {
		missing = append(missing, "builder id")
	}
	if len(evidenceOf(c, evidence.TypeProvenance)) == 0 {
		missing = append(missing, "SLSA provenance document")
	}
	if len(missing) > 0 {
		return false, "build provenance lacks " + strings.Join(missing, ", "), missing
	}
	return true, fmt.Sprintf("built from %s at %.12s by %s", p.SourceRepo, p.Commit, p.BuilderID), nil
}

func checkSBOM(c *evidence.Component) (bool, string, []string) {
	sboms := evidenceOf(c, evidence.TypeSBOM)
	if len(sboms) == 0 {
		return false, "no SBOM is recorded", []string{"sbom"}
	}
	n := 0
	for _, s := range sboms {
		n += s.SBOM.Components
	}
	return true, fmt.Sprintf("%d SBOM(s) listing %d SOUP item(s)", len(sboms), n), nil
}

func soupGaps(what string, fields ...string) func(*evidence.Component) (bool, string, []string) {
	return func(c *evidence.Component) (bool, string, []string) {
		sboms := evidenceOf(c, evidence.TypeSBOM)
		if len(sboms) == 0 {
			return false, "no SBOM to check " + what + " against", []string{"sbom"}
		}
		total, gaps := 0, 0
		// One line per SOUP item naming every field it lacks, in the order
		// the SBOM summaries list them.
		var items []string
		lacks := map[string][]string{}
		for _, s := range sboms {
			total += s.SBOM.Components
			for _, f := range fields {
				g := s.SBOM.Gap(f)
				gaps += g.Count
				for _, ex := range g.Examples {
					if _, seen := lacks[ex]; !seen {
						items = append(items, ex)
					}
					lacks[ex] = append(lacks[ex], f)
				}
			}
		}
		if gaps == 0 {
			return true, fmt.Sprintf("all %d SOUP item(s) have %s", total, what), nil
		}
		missing := make([]string, len(items))
		for i, it := range items {
			missing[i] = it + ": no " + strings.Join(lacks[it], ", ")
		}
		return false, fmt.Sprintf("%d gap(s) in %s across %d SOUP item(s)", gaps, what, total), missing
	}
}

func checkAnomaliesListed(c *evidence.Component) (bool, string, []string) {
	lists := evidenceOf(c, evidence.TypeAnomalies)
	if len(lists) == 0 {
		return false, "no residual-anomaly list is recorded (an empty list is an explicit statement)", []string{"anomalies"}
	}
	open := 0
	for _, a := range c.Anomalies {
		if a.Open() {
			open++
		}
	}
	return true, fmt.Sprintf("%d known residual anomal(ies) listed", open), nil
}

func checkAnomaliesEvaluated(c *evidence.Component) (bool, string, []string) {
	var missing []string
	open := 0
	for _, a := range c.Anomalies {
		if !a.Open() {
			continue
		}
		open++
		if a.Evaluated() {
			continue
		}
		var lacks []string
		if a.RiskAcceptable == nil {
			lacks = append(lacks, "riskAcceptable")
		}
		if a.Rationale == "" {
			lacks = append(lacks, "rationale")
		}
		if a.EvaluatedBy == "" {
			lacks = append(lacks, "evaluatedBy")
		}
		if a.EvaluatedAt == "" {
			lacks = append(lacks, "evaluatedAt")
		}
		missing = append(missing, a.ID+": no "+strings.Join(lacks, ", "))
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("%d of %d residual anomal(ies) not evaluated", len(missing), open), missing
	}
	return true, fmt.Sprintf("all %d residual anomal(ies) evaluated", open), nil
}

func checkAnomaliesAcceptable(c *evidence.Component) (bool, string, []string) {
	var missing []string
	for _, a := range c.Anomalies {
		if a.Open() && a.RiskAcceptable != nil && !*a.RiskAcceptable {
			missing = append(missing, a.ID+": risk evaluated as not acceptable")
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("%d residual anomal(ies) with unacceptable risk would ship", len(missing)), missing
	}
	return true, "no residual anomaly with unacceptable risk", nil
}

func testLevel(level evidence.TestLevel) func(*evidence.Component) (bool, string, []string) {
	return func(c *evidence.Component) (bool, string, []string) {
		var s evidence.TestSummary
		reports := 0
		for _, r := range evidenceOf(c, evidence.TypeTestReport) {
			if r.Level == level {
				reports++
				s.Add(*r.Tests)
			}
		}
		if s.Tests == 0 {
			return false, fmt.Sprintf("no %s test results are recorded", level), []string{string(level) + " test report"}
		}
		return true, fmt.Sprintf("%d %s test(s) in %d report(s): %d passed, %d failed, %d errors, %d skipped",
			s.Tests, level, reports, s.Passed, s.Failed, s.Errors, s.Skipped), nil
	}
}

// checkTestsPassing requires every failed or erroring test to be named by an
// anomaly of the component that ships (not closed), is evaluated, and whose
// risk is acceptable. A test is named by its name or by classname.name.
func checkTestsPassing(c *evidence.Component) (bool, string, []string) {
	explained := map[string]string{} // test id -> anomaly id
	unevaluated := map[string]string{}
	closed := map[string]string{} // a closed anomaly says it is fixed; the test says otherwise
	for _, a := range c.Anomalies {
		ok := a.Evaluated() && *a.RiskAcceptable
		for _, t := range a.Tests {
			switch {
			case !a.Open():
				closed[t] = a.ID
			case ok:
				explained[t] = a.ID
			default:
				unevaluated[t] = a.ID
			}
		}
	}
	var missing []string
	failing, covered := 0, 0
	for _, r := range evidenceOf(c, evidence.TypeTestReport) {
		s := r.Tests
		failing += s.Failed + s.Errors
		for _, f := range s.Failures {
			if _, ok := explained[f.ID()]; ok {
				covered++
				continue
			}
			if _, ok := explained[f.Name]; ok {
				covered++
				continue
			}
			item := fmt.Sprintf("%s: %s (%s)", r.Name, f.ID(), f.Outcome)
			if id, ok := lookupTest(unevaluated, f); ok {
				item += ": named by " + id + ", which is not evaluated as acceptable"
			} else if id, ok := lookupTest(closed, f); ok {
				item += ": named by " + id + ", which is closed"
			}
			missing = append(missing, item)
		}
		if s.FailuresTruncated() {
			missing = append(missing, fmt.Sprintf("%s: %d failing test(s) beyond the %d listed cannot be matched to anomalies",
				r.Name, s.Failed+s.Errors-len(s.Failures), len(s.Failures)))
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("%d failing test(s) not explained by an evaluated, acceptable anomaly", failing-covered), missing
	}
	if failing == 0 {
		return true, "no failing tests", nil
	}
	return true, fmt.Sprintf("all %d failing test(s) explained by evaluated anomalies", failing), nil
}

// lookupTest finds a test case in a map keyed by test id, by
// classname.name first, then by name.
func lookupTest(m map[string]string, f evidence.TestCase) (string, bool) {
	if id, ok := m[f.ID()]; ok {
		return id, true
	}
	id, ok := m[f.Name]
	return id, ok
}

func checkSystemTests(m *evidence.Manifest) (bool, string, []string) {
	n, reports := 0, 0
	for _, r := range m.AllEvidence() {
		if r.Type == evidence.TypeTestReport && r.Level == evidence.LevelSystem {
			n += r.Tests.Tests
			reports++
		}
	}
	if n == 0 {
		return false, "no system test results are recorded for the release", []string{"system test report"}
	}
	return true, fmt.Sprintf("%d system test(s) in %d report(s)", n, reports), nil
}

// hasChangeReview: changes.reviewed concerns the components that record
// change-review evidence, that is, those whose config names a change
// source. A component without one is not judged by it, so that configs
// written before change sources existed keep passing.
func hasChangeReview(c *evidence.Component) bool {
	return len(evidenceOf(c, evidence.TypeChangeReview)) > 0
}

// checkChangesReviewed requires every recorded change to have been reviewed
// by someone other than its author (IEC 62304 8.2), and names the
// unreviewed commits: short sha, author, why.
func checkChangesReviewed(c *evidence.Component) (bool, string, []string) {
	refs := evidenceOf(c, evidence.TypeChangeReview)
	if len(refs) == 0 {
		return false, "no change-review evidence is recorded", []string{"change-review"}
	}
	var missing, ranges []string
	commits, unreviewed := 0, 0
	for _, r := range refs {
		s := r.Changes
		commits += s.Commits
		unreviewed += s.Unreviewed
		rng := s.Repository + " " + s.Head
		if s.Base != "" {
			rng = s.Repository + " " + s.Base + ".." + s.Head
		}
		ranges = append(ranges, rng)
		for _, u := range s.UnreviewedChanges {
			item := shortSHA(u.SHA)
			if u.Author != "" {
				item += " (" + u.Author + ")"
			}
			missing = append(missing, item+": "+u.Reason)
		}
		if more := s.Unreviewed - len(s.UnreviewedChanges); more > 0 {
			missing = append(missing, fmt.Sprintf("%s: %d more unreviewed commit(s) beyond the %d listed", s.Repository, more, len(s.UnreviewedChanges)))
		}
	}
	where := strings.Join(ranges, ", ")
	if unreviewed > 0 {
		return false, fmt.Sprintf("%d of %d change(s) in %s not reviewed by someone other than their author", unreviewed, commits, where), missing
	}
	if commits == 0 {
		return true, "no changes in " + where, nil
	}
	return true, fmt.Sprintf("all %d change(s) in %s reviewed by someone other than their author", commits, where), nil
}

func shortSHA(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}
