package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/evident-dev/evident/internal/evidence"
)

// render writes v as indented JSON when asJSON, else calls text.
func (a *app) render(asJSON bool, v any, text func()) {
	if asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return
	}
	text()
}

// renderRelease prints a release summary for people: one line per
// component, then the policy result with every rule that did not pass (the
// unreviewed commits are named under changes.reviewed).
func renderRelease(w io.Writer, m *evidence.Manifest, manifestDigest, status string) {
	fmt.Fprintf(w, "%s %s — %s (safety class %s)\n", m.Product.Name, m.Product.Version, status, m.SafetyClass)
	fmt.Fprintf(w, "manifest %s\n\n", manifestDigest)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPONENT\tVERSION\tCLASS\tARTIFACTS\tTESTS pass/fail/err/skip\tSOUP\tANOMALIES open (evaluated)\tCHANGES commits/reviewed/unreviewed")
	for _, c := range m.Components {
		var t evidence.TestSummary
		var ch *evidence.ChangeSummary
		soup := 0
		for _, r := range c.Evidence {
			switch {
			case r.Tests != nil:
				t.Add(*r.Tests)
			case r.SBOM != nil:
				soup += r.SBOM.Components
			case r.Changes != nil:
				if ch == nil {
					ch = &evidence.ChangeSummary{}
				}
				ch.Commits += r.Changes.Commits
				ch.Reviewed += r.Changes.Reviewed
				ch.Unreviewed += r.Changes.Unreviewed
			}
		}
		changes := "-"
		if ch != nil {
			changes = fmt.Sprintf("%d/%d/%d", ch.Commits, ch.Reviewed, ch.Unreviewed)
		}
		a := evidence.SummarizeAnomalies(c.Anomalies)
		openEval := 0
		for _, e := range c.Anomalies {
			if e.Open() && e.Evaluated() {
				openEval++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d/%d/%d\t%d\t%d (%d)\t%s\n", c.Name, c.Version, c.SafetyClass,
			len(c.Artifacts), t.Passed, t.Failed, t.Errors, t.Skipped, soup, a.Open, openEval, changes)
	}
	tw.Flush()
	renderPolicy(w, m.Policy)
}

// renderPolicy prints the policy outcome and every failing or warning rule
// with what is missing.
func renderPolicy(w io.Writer, p evidence.PolicyResult) {
	pass, fail, warn := 0, 0, 0
	for _, r := range p.Rules {
		switch r.Outcome {
		case evidence.OutcomePass:
			pass++
		case evidence.OutcomeFail:
			fail++
		case evidence.OutcomeWarn:
			warn++
		}
	}
	fmt.Fprintf(w, "\nPolicy %s: %s (%d rules: %d pass, %d warn, %d fail)\n", p.Name, strings.ToUpper(p.Outcome), len(p.Rules), pass, warn, fail)
	for _, want := range []string{evidence.OutcomeFail, evidence.OutcomeWarn} {
		for _, r := range p.Rules {
			if r.Outcome != want {
				continue
			}
			scope := r.Component
			if scope == "" {
				scope = "release"
			}
			fmt.Fprintf(w, "  %-4s  %s  %s (IEC 62304 %s): %s\n", strings.ToUpper(r.Outcome), scope, r.Rule, r.Clause, r.Message)
			limit := 10
			if r.Outcome == evidence.OutcomeWarn {
				limit = 3
			}
			for i, m := range r.Missing {
				if i == limit {
					fmt.Fprintf(w, "          ... and %d more (--json for all)\n", len(r.Missing)-limit)
					break
				}
				fmt.Fprintf(w, "          - %s\n", m)
			}
		}
	}
}
