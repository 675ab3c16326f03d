package anomaly

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/evident-dev/evident/internal/evidence"
)

// formBody is what GitHub writes for an issue made with
// testdata/anomaly-issue-form.yml.
const formBody = "### Kind\n\nPerformance\n\n" +
	"### Description\n\nBLE reconnect takes up to 45 s after the phone leaves range.\n\n" +
	"### Affected components\n\nwm-firmware@3.1.2, wm-app\n\n" +
	"### Discovery date\n\n2026-10-02\n\n" +
	"### How discovered\n\nHIL test ble.ReconnectSuite\n\n" +
	"### Discovered by\n\n_No response_\n\n" +
	"### Hazards\n\n- HAZ-012\n- HAZ-014\n\n" +
	"### Severity\n\nminor\n\n" +
	"### CWE\n\n_No response_\n\n" +
	"### Exploitability\n\n_No response_\n\n" +
	"### Risk acceptable\n\nYes\n\n" +
	"### Rationale\n\nMeasurements are buffered for 24 h;\nno alert is lost.\n\n" +
	"### Mitigation or workaround\n\n_No response_\n\n" +
	"### User disclosure\n\n_No response_\n\n" +
	"### Planned correction\n\n3.2.0\n\n" +
	"### Evaluated by\n\nDr. Maria Lindqvist (Clinical Safety Officer)\n\n" +
	"### Evaluated at\n\n2026-11-18\n\n" +
	"### Status\n\nopen\n\n" +
	"### Failing tests\n\n_No response_\n\n" +
	"### Logs\n\n```yaml\nreconnect_ms: 45012\n```\n"

var wantForm = evidence.Anomaly{
	Description:       "BLE reconnect takes up to 45 s after the phone leaves range.",
	Kind:              evidence.AnomalyPerformance,
	Components:        []string{"wm-firmware@3.1.2", "wm-app"},
	Discovered:        &evidence.Discovery{Date: "2026-10-02", How: "HIL test ble.ReconnectSuite"},
	SafetyImpact:      &evidence.SafetyImpact{Hazards: []string{"HAZ-012", "HAZ-014"}, Severity: "minor"},
	RiskAcceptable:    ptr(true),
	Rationale:         "Measurements are buffered for 24 h;\nno alert is lost.",
	PlannedCorrection: &evidence.Correction{Version: "3.2.0"},
	EvaluatedBy:       "Dr. Maria Lindqvist (Clinical Safety Officer)",
	EvaluatedAt:       "2026-11-18",
	Status:            evidence.AnomalyOpen,
}

const yamlBody = "The motion filter drops a beat under sustained artefact.\r\n\r\n" +
	"```yaml\r\n" +
	"kind: defect\r\n" +
	"riskAcceptable: false\r\n" +
	"rationale: Could delay an alarm; fixed before release.\r\n" +
	"evaluatedBy: QA board\r\n" +
	"evaluatedAt: 2026-11-18\r\n" +
	"safetyImpact: {hazards: [HAZ-003], severity: serious}\r\n" +
	"```\r\n"

func TestParseIssueBody(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want evidence.Anomaly
	}{
		{"issue form", formBody, wantForm},
		{"yaml block, CRLF", yamlBody, evidence.Anomaly{
			Kind: evidence.AnomalyDefect, RiskAcceptable: ptr(false), Rationale: "Could delay an alarm; fixed before release.",
			EvaluatedBy: "QA board", EvaluatedAt: "2026-11-18",
			SafetyImpact: &evidence.SafetyImpact{Hazards: []string{"HAZ-003"}, Severity: "serious"},
		}},
		{"marked block among others", "```yaml\nsteps: [a, b]\n```\n\n```yaml anomaly\nkind: soup\nstatus: deferred\n```\n",
			evidence.Anomaly{Kind: evidence.AnomalySOUP, Status: evidence.AnomalyDeferred}},
		{"form sections and a yaml block before them", "```yaml\nkind: usability\n```\n\n### Description\n\nHard to read in sunlight.\n\n### Logs\n\n```yaml\nx: 1\n```\n",
			evidence.Anomaly{Kind: evidence.AnomalyUsability, Description: "Hard to read in sunlight."}},
		{"camelCase headings and a code-rendered field", "### riskAcceptable\n\nno\n\n### Rationale\n\n```text\nNot acceptable.\n```\n",
			evidence.Anomaly{RiskAcceptable: ptr(false), Rationale: "Not acceptable."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseIssueBody(tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIssueBodyErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want []string // each must appear in the error
	}{
		{"nothing", "It crashes.\n\n```\nstack trace\n```\n", []string{"no anomaly fields in the issue body"}},
		{"empty", "", []string{"no anomaly fields"}},
		{"risk acceptable neither yes nor no", "### Kind\n\ndefect\n\n### Risk acceptable\n\nmaybe\n",
			[]string{`section "Risk acceptable": "maybe": want yes or no`}},
		{"bad date", "### Kind\n\ndefect\n\n### Evaluated at\n\nyesterday\n", []string{`section "Evaluated at": "yesterday" is not a date`}},
		{"bad component", "### Affected components\n\nwm firmware\n", []string{`section "Affected components": [0]: want NAME or NAME@VERSION`}},
		{"near-miss heading", "### Kind\n\ndefect\n\n### Risk acceptible\n\nyes\n", []string{`section "Risk acceptible" is not an anomaly field; did you mean "Risk acceptable"?`}},
		{"field twice", "### Evaluated at\n\n2026-11-18\n\n### Evaluation date\n\n2026-11-19\n", []string{`both give evaluatedAt`}},
		{"yaml unknown key", "```yaml\nkind: defect\nriskAcceptible: true\n```\n", []string{`line 2: the yaml block: unknown key "riskAcceptible"; did you mean "riskAcceptable"?`}},
		{"yaml wrong type", "```yml\nriskAcceptable: \"yes\"\n```\n", []string{"riskAcceptable: want true or false"}},
		{"yaml not a mapping", "```yaml\n- kind: defect\n```\n", []string{"the yaml block is a list"}},
		{"yaml malformed", "```yaml\nkind: [defect\n```\n", []string{"the yaml block: line"}},
		{"two yaml blocks", "```yaml\nkind: defect\n```\n```yaml\nstatus: open\n```\n", []string{"2 yaml blocks and none marked"}},
		{"field in block and section", "```yaml anomaly\nkind: defect\n```\n### Kind\n\nsecurity\n", []string{`section "Kind": kind is also given by the yaml block`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseIssueBody(tc.body)
			if err == nil {
				t.Fatal("accepted")
			}
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %s: %v", evidence.KindOf(err), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if strings.Contains(tc.want[0], "no anomaly fields") != errors.Is(err, ErrNoIssueFields) {
				t.Errorf("errors.Is(err, ErrNoIssueFields) = %t: %v", errors.Is(err, ErrNoIssueFields), err)
			}
		})
	}
}

// TestIssueFormTemplate: every field label of the example issue form names
// an anomaly field (Logs excepted), and every field an evaluation needs has
// a place in the form.
func TestIssueFormTemplate(t *testing.T) {
	b, err := os.ReadFile("testdata/anomaly-issue-form.yml")
	if err != nil {
		t.Fatal(err)
	}
	var form struct {
		Body []struct {
			Attributes struct {
				Label string `yaml:"label"`
			} `yaml:"attributes"`
		} `yaml:"body"`
	}
	if err := yaml.Unmarshal(b, &form); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, item := range form.Body {
		l := item.Attributes.Label
		f, ok := fieldForLabel(l)
		if !ok {
			if l != "Logs" {
				t.Errorf("label %q names no anomaly field", l)
			}
			continue
		}
		covered[f.path] = true
	}
	for _, p := range []string{"kind", "riskAcceptable", "rationale", "evaluatedBy", "evaluatedAt", "status", "components", "tests"} {
		if !covered[p] {
			t.Errorf("the form has no field for %s (label %q)", p, IssueFormLabel(p))
		}
	}
}

// FuzzParseIssueBody: any body parses or fails with KindInvalid, without
// panicking.
func FuzzParseIssueBody(f *testing.F) {
	for _, s := range []string{formBody, yamlBody, "### Kind\n\n```yaml\n", "```yaml anomaly\n<<: *x\n```", "### \n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := ParseIssueBody(body)
		if err != nil && !evidence.IsKind(err, evidence.KindInvalid) {
			t.Errorf("kind %s: %v", evidence.KindOf(err), err)
		}
	})
}
