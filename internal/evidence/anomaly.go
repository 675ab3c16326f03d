package evidence

import (
	"fmt"
	"strings"
)

// Anomaly kinds (REGULATORY.md: residual anomaly record).
const (
	AnomalyDefect      = "defect"
	AnomalyUsability   = "usability"
	AnomalyPerformance = "performance"
	AnomalySecurity    = "security"
	AnomalySOUP        = "soup"
)

// AnomalyKinds lists the valid kinds.
var AnomalyKinds = []string{AnomalyDefect, AnomalyUsability, AnomalyPerformance, AnomalySecurity, AnomalySOUP}

// Anomaly statuses. Every status but closed means the anomaly ships.
const (
	AnomalyOpen      = "open"
	AnomalyDeferred  = "deferred"
	AnomalyMitigated = "mitigated"
	AnomalyClosed    = "closed"
)

// AnomalyStatuses lists the valid statuses.
var AnomalyStatuses = []string{AnomalyOpen, AnomalyDeferred, AnomalyMitigated, AnomalyClosed}

// Anomaly is one known residual anomaly with its evaluation, as written in
// an anomaly list (YAML or JSON, camelCase keys). The JSON Schema in
// schemas/anomalies.v1.schema.json describes the same document.
type Anomaly struct {
	ID                string          `json:"id" yaml:"id"`
	Title             string          `json:"title" yaml:"title"`
	Description       string          `json:"description,omitempty" yaml:"description,omitempty"`
	Kind              string          `json:"kind" yaml:"kind"`
	Components        []string        `json:"components,omitempty" yaml:"components,omitempty"` // NAME or NAME@VERSION
	Discovered        *Discovery      `json:"discovered,omitempty" yaml:"discovered,omitempty"`
	Links             []string        `json:"links,omitempty" yaml:"links,omitempty"`
	SafetyImpact      *SafetyImpact   `json:"safetyImpact,omitempty" yaml:"safetyImpact,omitempty"`
	SecurityImpact    *SecurityImpact `json:"securityImpact,omitempty" yaml:"securityImpact,omitempty"`
	RiskAcceptable    *bool           `json:"riskAcceptable,omitempty" yaml:"riskAcceptable,omitempty"`
	Rationale         string          `json:"rationale,omitempty" yaml:"rationale,omitempty"`
	Mitigation        string          `json:"mitigation,omitempty" yaml:"mitigation,omitempty"`
	Disclosure        string          `json:"disclosure,omitempty" yaml:"disclosure,omitempty"`
	PlannedCorrection *Correction     `json:"plannedCorrection,omitempty" yaml:"plannedCorrection,omitempty"`
	EvaluatedBy       string          `json:"evaluatedBy,omitempty" yaml:"evaluatedBy,omitempty"`
	EvaluatedAt       string          `json:"evaluatedAt,omitempty" yaml:"evaluatedAt,omitempty"` // ISO 8601 date or date-time
	Status            string          `json:"status" yaml:"status"`
	Tests             []string        `json:"tests,omitempty" yaml:"tests,omitempty"` // failing test cases this anomaly explains
}

// Discovery records when, how and by whom an anomaly was found.
type Discovery struct {
	Date string `json:"date,omitempty" yaml:"date,omitempty"`
	How  string `json:"how,omitempty" yaml:"how,omitempty"` // test id, complaint, scan, ...
	By   string `json:"by,omitempty" yaml:"by,omitempty"`
}

// SafetyImpact links an anomaly to the risk file.
type SafetyImpact struct {
	Hazards  []string `json:"hazards,omitempty" yaml:"hazards,omitempty"`
	Severity string   `json:"severity,omitempty" yaml:"severity,omitempty"`
}

// SecurityImpact records weakness class and exploitability.
type SecurityImpact struct {
	CWE            []string `json:"cwe,omitempty" yaml:"cwe,omitempty"`
	Exploitability string   `json:"exploitability,omitempty" yaml:"exploitability,omitempty"`
}

// Correction says when the anomaly is planned to be fixed.
type Correction struct {
	Version string `json:"version,omitempty" yaml:"version,omitempty"`
}

// Validate checks the fields every anomaly needs regardless of safety class:
// an id, a title, a valid kind and status. Whether it is evaluated is the
// policy's question, not a validity one.
func (a *Anomaly) Validate() error {
	var probs []string
	if strings.TrimSpace(a.ID) == "" {
		probs = append(probs, "id is empty")
	}
	if strings.TrimSpace(a.Title) == "" {
		probs = append(probs, "title is empty")
	}
	if !oneOf(a.Kind, AnomalyKinds) {
		probs = append(probs, fmt.Sprintf("kind %q: want one of %v", a.Kind, AnomalyKinds))
	}
	if !oneOf(a.Status, AnomalyStatuses) {
		probs = append(probs, fmt.Sprintf("status %q: want one of %v", a.Status, AnomalyStatuses))
	}
	if a.RiskAcceptable != nil && strings.TrimSpace(a.Rationale) == "" {
		probs = append(probs, "riskAcceptable is set but rationale is empty")
	}
	if len(probs) > 0 {
		id := a.ID
		if id == "" {
			id = "(no id)"
		}
		return Errorf(KindInvalid, "anomaly %s: %s", id, strings.Join(probs, "; "))
	}
	return nil
}

// Entry returns the manifest's compact record of the anomaly.
func (a *Anomaly) Entry() AnomalyEntry {
	e := AnomalyEntry{
		ID:             a.ID,
		Title:          a.Title,
		Kind:           a.Kind,
		Status:         a.Status,
		RiskAcceptable: a.RiskAcceptable,
		Rationale:      a.Rationale,
		EvaluatedBy:    a.EvaluatedBy,
		EvaluatedAt:    a.EvaluatedAt,
		Tests:          a.Tests,
	}
	if a.SafetyImpact != nil {
		e.Severity = a.SafetyImpact.Severity
	}
	if a.PlannedCorrection != nil {
		e.PlannedCorrection = a.PlannedCorrection.Version
	}
	return e
}

// SummarizeAnomalies counts entries by evaluation state.
func SummarizeAnomalies(es []AnomalyEntry) AnomalySummary {
	var s AnomalySummary
	for _, e := range es {
		s.Total++
		if e.Open() {
			s.Open++
		} else {
			s.Closed++
		}
		if e.Evaluated() {
			s.Evaluated++
		} else {
			s.Unevaluated++
		}
		if e.RiskAcceptable != nil && !*e.RiskAcceptable {
			s.NotAcceptable++
		}
	}
	return s
}
