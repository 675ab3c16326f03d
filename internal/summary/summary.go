// Package summary renders a release as the Markdown a CI system shows next
// to a job: GitHub Actions' job summary ($GITHUB_STEP_SUMMARY), the summary
// of a GitHub check run, a merge request comment. Per component it gives the
// version, safety class, tests passed and failed, SOUP count and gaps,
// anomalies, the changes and how many were reviewed, and the policy's
// verdict; then every failing and warning rule with what is missing (the
// unreviewed commits, for instance); and the overall status.
//
// It reads only the manifest (and what the caller says about signing and
// archiving): nothing here verifies anything. The summary tells people what
// the record says; `evident verify` is what checks it.
package summary

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// Overall statuses of a release, as the summary's headline and as the
// release-status output of the CI integrations.
const (
	// StatusPolicyFailed: the policy failed, so nothing was signed.
	StatusPolicyFailed = "policy-failed"
	// StatusCollected: the policy passed, but the release is not signed
	// (evident collect, a dry run).
	StatusCollected = "collected"
	// StatusSealed: signed, not pushed to an archive.
	StatusSealed = "sealed"
	// StatusArchived: signed and accepted by an archive.
	StatusArchived = "archived"
)

// Release is what a summary describes.
type Release struct {
	Manifest       *evidence.Manifest
	ManifestDigest digest.Digest
	// Signed says whether the release directory carries a signature.
	Signed bool
	// Archive is where the release was pushed; nil when it was not.
	Archive *Archive
}

// Archive is what an archive said when it accepted the release.
type Archive struct {
	// URL is the archive's record of the release (may be empty).
	URL string
	// Created is false when the archive already held the identical
	// release (a re-push).
	Created  bool
	LogIndex uint64
	// Signer is the signing identity the archive accepted.
	Signer string
}

// Status returns the release's overall status.
func (r Release) Status() string {
	switch {
	case !r.Manifest.Policy.Passed():
		return StatusPolicyFailed
	case !r.Signed:
		return StatusCollected
	case r.Archive != nil:
		return StatusArchived
	}
	return StatusSealed
}

// Options tune the rendering.
type Options struct {
	// MaxBytes bounds the output: the list of findings is cut short, with
	// a note, to fit. GitHub takes 1 MiB for a job summary and 65,535
	// characters for a check run's summary. 0 means no bound.
	MaxBytes int
	// Heading is the Markdown heading level of the title (2 when 0): a job
	// summary holds the summaries of several steps.
	Heading int
}

// maxMissingPerRule is how many missing items a finding lists.
const maxMissingPerRule = 10

// Title returns a one-line description of the release and its status, for
// a check run's title or a log line.
func Title(r Release) string {
	p := r.Manifest.Product
	switch r.Status() {
	case StatusPolicyFailed:
		n := count(r.Manifest.Policy.Rules, evidence.OutcomeFail)
		return fmt.Sprintf("%s %s: NOT SEALED, the policy failed (%d rule%s)", p.Name, p.Version, n, plural(n))
	case StatusCollected:
		return fmt.Sprintf("%s %s: policy passed, not signed (collected only)", p.Name, p.Version)
	case StatusArchived:
		return fmt.Sprintf("%s %s: sealed and archived", p.Name, p.Version)
	}
	return fmt.Sprintf("%s %s: sealed (not pushed to an archive)", p.Name, p.Version)
}

// Markdown writes the summary of r to w.
func Markdown(w io.Writer, r Release, opts Options) error {
	if r.Manifest == nil {
		return fmt.Errorf("summary: no manifest")
	}
	h := opts.Heading
	if h <= 0 {
		h = 2
	}
	head := strings.Repeat("#", h)
	sub := strings.Repeat("#", h+1)
	m := r.Manifest

	var top strings.Builder
	icon := map[string]string{StatusPolicyFailed: "❌", StatusCollected: "⚠️", StatusSealed: "✅", StatusArchived: "✅"}[r.Status()]
	fmt.Fprintf(&top, "%s %s %s\n\n", head, icon, cell(Title(r)))
	fmt.Fprintf(&top, "| | |\n|---|---|\n")
	fmt.Fprintf(&top, "| Release | `%s@%s`, safety class %s |\n", m.Product.Name, m.Product.Version, m.SafetyClass)
	fmt.Fprintf(&top, "| Status | **%s** |\n", r.Status())
	fmt.Fprintf(&top, "| Policy | %s |\n", cell(policyLine(m.Policy)))
	if !r.ManifestDigest.IsZero() {
		fmt.Fprintf(&top, "| Manifest | `%s` |\n", r.ManifestDigest)
	}
	switch {
	case r.Signed:
		fmt.Fprintf(&top, "| Signature | `bundle.sigstore.json` (verify with `evident verify`) |\n")
	case r.Status() == StatusPolicyFailed:
		fmt.Fprintf(&top, "| Signature | none: a release that fails its policy is never signed |\n")
	default:
		fmt.Fprintf(&top, "| Signature | none (collected, not sealed) |\n")
	}
	if a := r.Archive; a != nil {
		what := "archived"
		if !a.Created {
			what = "already archived (identical), nothing changed"
		}
		where := ""
		if a.URL != "" {
			where = fmt.Sprintf(" at <%s>", cell(a.URL))
		}
		fmt.Fprintf(&top, "| Archive | %s%s, log entry %d; approvals per the archive's policy |\n", what, where, a.LogIndex)
		if a.Signer != "" {
			fmt.Fprintf(&top, "| Signed by | %s |\n", code(a.Signer))
		}
	}
	fmt.Fprintf(&top, "\n%s Components\n\n", sub)
	fmt.Fprintf(&top, "| Component | Version | Class | Tests passed | Tests failed | SOUP | SOUP gaps | Anomalies | Changes | Policy |\n")
	fmt.Fprintf(&top, "|---|---|:-:|--:|--:|--:|---|---|---|---|\n")
	for _, c := range m.Components {
		t, soup, gaps := componentEvidence(c)
		fmt.Fprintf(&top, "| %s | %s | %s | %d | %d | %d | %s | %s | %s | %s |\n",
			cell(c.Name), cell(c.Version), c.SafetyClass, t.Passed, t.Failed+t.Errors, soup,
			cell(gaps), cell(anomalyCell(c.Anomalies)), cell(changesCell(c)), cell(componentPolicy(m.Policy, c.Name)))
	}

	findings := findingsSection(m.Policy, sub)
	foot := fmt.Sprintf("\n<sub>Made by %s %s on %s.</sub>\n", cell(m.Generator.Name), cell(m.Generator.Version), m.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"))

	if opts.MaxBytes > 0 && top.Len()+len(findings)+len(foot) > opts.MaxBytes {
		findings = cut(findings, opts.MaxBytes-top.Len()-len(foot))
	}
	_, err := io.WriteString(w, top.String()+findings+foot)
	return err
}

// cut shortens a findings section to at most n bytes, at a line boundary,
// with a note that says where the rest is.
func cut(s string, n int) string {
	const note = "\n… more findings than fit here: the job log and `evident verify --json` list them all.\n"
	n -= len(note)
	if n <= 0 {
		return ""
	}
	if i := strings.LastIndexByte(s[:n], '\n'); i >= 0 {
		return s[:i+1] + note
	}
	return ""
}

// policyLine says the policy's outcome and its counts.
func policyLine(p evidence.PolicyResult) string {
	name := p.Name
	if name == "" {
		name = "policy"
	}
	return fmt.Sprintf("%s: %s (%d rules: %d pass, %d warn, %d fail)", name, strings.ToUpper(p.Outcome),
		len(p.Rules), count(p.Rules, evidence.OutcomePass), count(p.Rules, evidence.OutcomeWarn), count(p.Rules, evidence.OutcomeFail))
}

func count(rules []evidence.RuleResult, outcome string) int {
	n := 0
	for _, r := range rules {
		if r.Outcome == outcome {
			n++
		}
	}
	return n
}

// componentEvidence adds up a component's test reports and SBOMs: tests,
// SOUP entries, and the SOUP fields missing, per field.
func componentEvidence(c evidence.Component) (evidence.TestSummary, int, string) {
	var t evidence.TestSummary
	soup := 0
	gaps := map[string]int{}
	for _, r := range c.Evidence {
		if r.Tests != nil {
			t.Add(*r.Tests)
		}
		if r.SBOM != nil {
			soup += r.SBOM.Components
			for _, g := range r.SBOM.Gaps {
				if g.Count > 0 {
					gaps[g.Field] += g.Count
				}
			}
		}
	}
	if len(gaps) == 0 {
		return t, soup, "none"
	}
	fields := make([]string, 0, len(gaps))
	for f := range gaps {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = fmt.Sprintf("%s %d", f, gaps[f])
	}
	return t, soup, "missing " + strings.Join(parts, ", ")
}

// anomalyCell counts the anomalies a component ships with and says how
// many of them lack an evaluation.
func anomalyCell(es []evidence.AnomalyEntry) string {
	open, unevaluated, unacceptable := 0, 0, 0
	for _, e := range es {
		if !e.Open() {
			continue
		}
		open++
		if !e.Evaluated() {
			unevaluated++
		}
		if e.RiskAcceptable != nil && !*e.RiskAcceptable {
			unacceptable++
		}
	}
	if open == 0 {
		return "none open"
	}
	s := fmt.Sprintf("%d open", open)
	switch {
	case unevaluated > 0:
		s += fmt.Sprintf(", %d not evaluated", unevaluated)
	default:
		s += ", all evaluated"
	}
	if unacceptable > 0 {
		s += fmt.Sprintf(", %d risk not acceptable", unacceptable)
	}
	return s
}

// changesCell adds up a component's change reviews: the commits, how many
// someone other than their author reviewed and how many no one did. The
// unreviewed commits themselves are named by the changes.reviewed rule.
func changesCell(c evidence.Component) string {
	var s evidence.ChangeSummary
	found := false
	for _, r := range c.Evidence {
		if r.Changes == nil {
			continue
		}
		found = true
		s.Commits += r.Changes.Commits
		s.Reviewed += r.Changes.Reviewed
		s.Unreviewed += r.Changes.Unreviewed
	}
	if !found {
		return "not recorded"
	}
	return fmt.Sprintf("%d commit%s, %d reviewed, %d unreviewed", s.Commits, plural(s.Commits), s.Reviewed, s.Unreviewed)
}

// componentPolicy is the policy's verdict on one component.
func componentPolicy(p evidence.PolicyResult, name string) string {
	fail, warn := 0, 0
	for _, r := range p.Rules {
		if r.Component != name {
			continue
		}
		switch r.Outcome {
		case evidence.OutcomeFail:
			fail++
		case evidence.OutcomeWarn:
			warn++
		}
	}
	switch {
	case fail > 0:
		return fmt.Sprintf("❌ %d failed", fail)
	case warn > 0:
		return fmt.Sprintf("✅ pass, %d warning%s", warn, plural(warn))
	}
	return "✅ pass"
}

// findingsSection lists every failing, then every warning rule, with what
// is missing.
func findingsSection(p evidence.PolicyResult, sub string) string {
	var b strings.Builder
	for _, want := range []string{evidence.OutcomeFail, evidence.OutcomeWarn} {
		n := count(p.Rules, want)
		if n == 0 {
			continue
		}
		icon, title := "❌", "Policy failures"
		if want == evidence.OutcomeWarn {
			icon, title = "⚠️", "Policy warnings"
		}
		fmt.Fprintf(&b, "\n%s %s (%d)\n\n", sub, title, n)
		for _, r := range p.Rules {
			if r.Outcome != want {
				continue
			}
			scope := r.Component
			if scope == "" {
				scope = "release"
			}
			clause := ""
			if r.Clause != "" {
				clause = " (IEC 62304 " + cell(r.Clause) + ")"
			}
			fmt.Fprintf(&b, "- %s **%s** %s%s: %s\n", icon, cell(scope), code(r.Rule), clause, cell(r.Message))
			for i, miss := range r.Missing {
				if i == maxMissingPerRule {
					fmt.Fprintf(&b, "  - … and %d more\n", len(r.Missing)-maxMissingPerRule)
					break
				}
				fmt.Fprintf(&b, "  - %s\n", cell(miss))
			}
		}
	}
	return b.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// cell makes text from a manifest safe inside a Markdown table cell or list
// item: one line, no table separators, no HTML.
func cell(s string) string {
	s = strings.NewReplacer(
		"\r\n", " ", "\n", " ", "\r", " ",
		"|", `\|`, "<", "&lt;", ">", "&gt;",
	).Replace(s)
	const max = 500
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

// code puts text in a code span, where HTML means nothing but a backtick
// would end the span early (it becomes a quote) and, inside a table, a
// pipe still ends the cell.
func code(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "|", `\|`, "`", "'").Replace(s)
	return "`" + s + "`"
}
