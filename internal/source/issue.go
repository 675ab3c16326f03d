package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/collect/anomaly"
	"github.com/evident-dev/evident/internal/evidence"
)

// Issue is an issue as the sources read it, whatever the tracker.
type Issue struct {
	Number    int    // the issue's number in its project (GitLab: iid)
	URL       string // its web page
	Title     string
	Body      string
	Open      bool
	Author    string // login of whoever opened it
	CreatedAt time.Time
}

// Ref names the issue in messages: "#12 (URL)".
func (i Issue) Ref() string {
	if i.URL == "" {
		return "#" + strconv.Itoa(i.Number)
	}
	return fmt.Sprintf("#%d (%s)", i.Number, i.URL)
}

// maxIssueProblems caps how many issues one error lists.
const maxIssueProblems = 20

// IssueAnomalies turns issues into anomaly records, sorted by issue number.
// Each issue's body supplies the anomaly's fields (anomaly.ParseIssueBody);
// the issue itself supplies what the body leaves out: the id (idPrefix and
// the number), the title, the status (open or closed, as the issue is),
// the discovery date and reporter (when and by whom it was opened), and a
// link to it. The result is validated with the rules of an anomaly list.
// Every problem of every issue is reported in one KindInvalid error that
// names each issue by number and URL.
func IssueAnomalies(issues []Issue, idPrefix string) ([]evidence.Anomaly, error) {
	sorted := append([]Issue(nil), issues...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number < sorted[j].Number })
	var probs []string
	total := 0
	add := func(iss Issue, format string, args ...any) {
		total++
		if len(probs) < maxIssueProblems {
			probs = append(probs, "issue "+iss.Ref()+": "+fmt.Sprintf(format, args...))
		}
	}
	out := make([]evidence.Anomaly, 0, len(sorted))
	ids := map[string]int{}
	for _, iss := range sorted {
		a, err := issueAnomaly(iss, idPrefix)
		if err != nil {
			add(iss, "%v", err)
			continue
		}
		if n, dup := ids[a.ID]; dup {
			add(iss, "anomaly id %s is also issue #%d's (ids are never reused)", a.ID, n)
			continue
		}
		ids[a.ID] = iss.Number
		out = append(out, a)
	}
	if total > 0 {
		msg := strings.Join(probs, "; ")
		if total > len(probs) {
			msg += fmt.Sprintf("; and %d more problems", total-len(probs))
		}
		return nil, evidence.Errorf(evidence.KindInvalid, "%s", msg)
	}
	return out, nil
}

func issueAnomaly(iss Issue, idPrefix string) (evidence.Anomaly, error) {
	a, err := anomaly.ParseIssueBody(iss.Body)
	if errors.Is(err, anomaly.ErrNoIssueFields) {
		return a, errors.New("the body has no anomaly fields: open the issue with the anomaly issue form, or add a ```yaml block " +
			"with kind and the evaluation (riskAcceptable, rationale, evaluatedBy, evaluatedAt)")
	}
	if err != nil {
		return a, err
	}
	if a.ID == "" {
		a.ID = idPrefix + strconv.Itoa(iss.Number)
	}
	if a.Title == "" {
		a.Title = strings.TrimSpace(iss.Title)
	}
	if a.Status == "" {
		a.Status = evidence.AnomalyClosed
		if iss.Open {
			a.Status = evidence.AnomalyOpen
		}
	}
	if iss.URL != "" && !contains(a.Links, iss.URL) {
		a.Links = append([]string{iss.URL}, a.Links...)
	}
	if a.Discovered == nil {
		a.Discovered = &evidence.Discovery{}
	}
	if a.Discovered.Date == "" && !iss.CreatedAt.IsZero() {
		a.Discovered.Date = iss.CreatedAt.UTC().Format(time.DateOnly)
	}
	if a.Discovered.By == "" {
		a.Discovered.By = iss.Author
	}
	if *a.Discovered == (evidence.Discovery{}) {
		a.Discovered = nil
	}

	var missing []string
	if strings.TrimSpace(a.Kind) == "" {
		missing = append(missing, "kind")
	}
	if strings.TrimSpace(a.Title) == "" {
		missing = append(missing, "title")
	}
	if a.RiskAcceptable != nil && strings.TrimSpace(a.Rationale) == "" {
		missing = append(missing, "rationale (required with riskAcceptable)")
	}
	if len(missing) > 0 {
		var labels []string
		for _, m := range missing {
			f, _, _ := strings.Cut(m, " ")
			if l := anomaly.IssueFormLabel(f); l != "" {
				labels = append(labels, fmt.Sprintf("%q", l))
			}
		}
		return a, fmt.Errorf("missing %s (a section %s in the issue form, or the key in its yaml block)",
			strings.Join(missing, ", "), strings.Join(labels, ", "))
	}
	if err := a.Validate(); err != nil {
		return a, err
	}
	return a, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// EncodeAnomalyList writes anomalies as an anomaly list in JSON
// (evidence.FormatAnomaliesJSON): the file a source's anomalies are archived
// as, read back by the same reader as a list kept in a repository.
func EncodeAnomalyList(list []evidence.Anomaly) ([]byte, error) {
	if list == nil {
		list = []evidence.Anomaly{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Anomalies []evidence.Anomaly `json:"anomalies"`
	}{list}); err != nil {
		return nil, fmt.Errorf("encode anomaly list: %w", err)
	}
	return buf.Bytes(), nil
}
