package evidence_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/evidence"
)

// entry is an evaluated, acceptable, open anomaly entry; the options change it.
func entry(id string, opts ...func(*evidence.AnomalyEntry)) evidence.AnomalyEntry {
	e := evidence.AnomalyEntry{
		ID: id, Title: "t", Kind: evidence.AnomalyDefect, Status: evidence.AnomalyOpen,
		RiskAcceptable: ptr(true), Rationale: "r", EvaluatedBy: "M. Lindqvist", EvaluatedAt: "2026-11-18",
	}
	for _, o := range opts {
		o(&e)
	}
	return e
}

func TestAnomalyEntryEvaluatedOpen(t *testing.T) {
	for _, tc := range []struct {
		name      string
		e         evidence.AnomalyEntry
		evaluated bool
		open      bool
	}{
		{"complete", entry("A"), true, true},
		{"not acceptable is still evaluated", entry("A", func(e *evidence.AnomalyEntry) { e.RiskAcceptable = ptr(false) }), true, true},
		{"no decision", entry("A", func(e *evidence.AnomalyEntry) { e.RiskAcceptable = nil }), false, true},
		{"no rationale", entry("A", func(e *evidence.AnomalyEntry) { e.Rationale = "" }), false, true},
		{"no evaluator", entry("A", func(e *evidence.AnomalyEntry) { e.EvaluatedBy = "" }), false, true},
		{"no date", entry("A", func(e *evidence.AnomalyEntry) { e.EvaluatedAt = "" }), false, true},
		{"deferred ships", entry("A", func(e *evidence.AnomalyEntry) { e.Status = evidence.AnomalyDeferred }), true, true},
		{"mitigated ships", entry("A", func(e *evidence.AnomalyEntry) { e.Status = evidence.AnomalyMitigated }), true, true},
		{"closed does not ship", entry("A", func(e *evidence.AnomalyEntry) { e.Status = evidence.AnomalyClosed }), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Evaluated(); got != tc.evaluated {
				t.Errorf("Evaluated() = %t, want %t", got, tc.evaluated)
			}
			if got := tc.e.Open(); got != tc.open {
				t.Errorf("Open() = %t, want %t", got, tc.open)
			}
		})
	}
}

func TestSummarizeAnomalies(t *testing.T) {
	closed := func(e *evidence.AnomalyEntry) { e.Status = evidence.AnomalyClosed }
	unevaluated := func(e *evidence.AnomalyEntry) { e.EvaluatedBy = "" }
	notAcceptable := func(e *evidence.AnomalyEntry) { e.RiskAcceptable = ptr(false) }
	for _, tc := range []struct {
		name string
		in   []evidence.AnomalyEntry
		want evidence.AnomalySummary
	}{
		{"none", nil, evidence.AnomalySummary{}},
		{"one evaluated open", []evidence.AnomalyEntry{entry("A")}, evidence.AnomalySummary{Total: 1, Open: 1, Evaluated: 1}},
		{"mixed", []evidence.AnomalyEntry{
			entry("A"),
			entry("B", closed),
			entry("C", unevaluated),
			entry("D", notAcceptable),
			entry("E", closed, notAcceptable),
			entry("F", func(e *evidence.AnomalyEntry) { e.RiskAcceptable = nil }),
		}, evidence.AnomalySummary{Total: 6, Open: 4, Closed: 2, Evaluated: 4, Unevaluated: 2, NotAcceptable: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := evidence.SummarizeAnomalies(tc.in)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("SummarizeAnomalies (-want +got):\n%s", diff)
			}
			if got.Open+got.Closed != got.Total || got.Evaluated+got.Unevaluated != got.Total {
				t.Errorf("counts do not add up to the total: %+v", got)
			}
		})
	}
}

func TestAnomalyValidate(t *testing.T) {
	valid := func() evidence.Anomaly {
		return evidence.Anomaly{ID: "ANOM-FW-0042", Title: "BLE reconnect slow", Kind: evidence.AnomalyPerformance, Status: evidence.AnomalyOpen}
	}
	for _, tc := range []struct {
		name   string
		mutate func(a *evidence.Anomaly)
		want   string // "" for valid
	}{
		{"minimal", func(*evidence.Anomaly) {}, ""},
		{"evaluated", func(a *evidence.Anomaly) { a.RiskAcceptable = ptr(true); a.Rationale = "buffered" }, ""},
		{"every kind", func(a *evidence.Anomaly) { a.Kind = evidence.AnomalySOUP }, ""},
		{"no id", func(a *evidence.Anomaly) { a.ID = " " }, ": id is empty"},
		{"no id nor title", func(a *evidence.Anomaly) { a.ID = ""; a.Title = "" }, "anomaly (no id): id is empty; title is empty"},
		{"bad kind", func(a *evidence.Anomaly) { a.Kind = "bug" }, `anomaly ANOM-FW-0042: kind "bug": want one of [defect usability performance security soup]`},
		{"bad status", func(a *evidence.Anomaly) { a.Status = "wontfix" }, `anomaly ANOM-FW-0042: status "wontfix": want one of [open deferred mitigated closed]`},
		{"decision without rationale", func(a *evidence.Anomaly) { a.RiskAcceptable = ptr(false); a.Rationale = "  " }, "anomaly ANOM-FW-0042: riskAcceptable is set but rationale is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := valid()
			tc.mutate(&a)
			err := a.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantInvalid(t, err, tc.want)
		})
	}
}

func TestAnomalyEntry(t *testing.T) {
	a := evidence.Anomaly{
		ID: "ANOM-FW-0042", Title: "BLE reconnect slow", Description: "d", Kind: evidence.AnomalyPerformance,
		Components: []string{"wm-firmware@3.1.2"}, Discovered: &evidence.Discovery{Date: "2026-11-12"},
		SafetyImpact:   &evidence.SafetyImpact{Hazards: []string{"HAZ-007"}, Severity: "minor"},
		RiskAcceptable: ptr(true), Rationale: "buffered", Mitigation: "m",
		PlannedCorrection: &evidence.Correction{Version: "3.2.0"},
		EvaluatedBy:       "M. Lindqvist", EvaluatedAt: "2026-11-18", Status: evidence.AnomalyOpen,
		Tests: []string{"tests.hil.test_ble"},
	}
	want := evidence.AnomalyEntry{
		ID: "ANOM-FW-0042", Title: "BLE reconnect slow", Kind: evidence.AnomalyPerformance, Status: evidence.AnomalyOpen,
		Severity: "minor", RiskAcceptable: ptr(true), Rationale: "buffered", EvaluatedBy: "M. Lindqvist",
		EvaluatedAt: "2026-11-18", PlannedCorrection: "3.2.0", Tests: []string{"tests.hil.test_ble"},
	}
	if diff := cmp.Diff(want, a.Entry()); diff != "" {
		t.Errorf("Entry (-want +got):\n%s", diff)
	}
	bare := evidence.Anomaly{ID: "X", Title: "t", Kind: evidence.AnomalyDefect, Status: evidence.AnomalyClosed}
	if e := bare.Entry(); e.Severity != "" || e.PlannedCorrection != "" || e.RiskAcceptable != nil {
		t.Errorf("Entry of a bare anomaly = %+v", e)
	}
}
