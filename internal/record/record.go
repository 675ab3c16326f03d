// Package record renders the human-readable release record (RECORD.html in
// every audit pack, and the release page of the archive's web view): the
// components and versions, how each was built, which changes went into it
// and whether they were reviewed, what was tested, the SOUP it contains, the
// residual anomalies with their evaluations, the policy result and every
// signature with the signer's name, time and meaning (21 CFR 11.50).
//
// The page is self-contained (no scripts, no external resources) and prints
// cleanly. Everything shown comes from signed records; the page itself is
// covered by the audit pack's signed index.
package record

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

//go:embed record.html.tmpl
var templates embed.FS

// Input is everything a record shows.
type Input struct {
	Manifest       *evidence.Manifest
	ManifestDigest digest.Digest
	BundleDigest   digest.Digest
	Signer         string // the identity the release signature verified with
	AcceptedAt     time.Time
	Status         string
	LogIndex       uint64
	LogOrigin      string
	// SOUP holds each component's SOUP entries, by component name.
	SOUP map[string][]evidence.SOUPEntry
	// Approvals are the signed approval records, oldest first.
	Approvals []Approval
	// Missing lists what the approval policy still needs, if anything.
	Missing     []string
	GeneratedAt time.Time
	Generator   string
}

// Approval is one electronic signature on the release.
type Approval struct {
	Decision string // approved, rejected, revoked
	Name     string // printed name
	Role     string
	Identity string // key fingerprint or OIDC subject
	Meaning  string // exactly as shown to the signer
	Comment  string
	SignedAt time.Time
	// Timestamped says the time comes from an RFC 3161 timestamp authority.
	Timestamped bool
	Digest      digest.Digest // of the approval's bundle
}

var funcs = template.FuncMap{
	"utc": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"utcp": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"short": func(s string) string {
		s = strings.TrimPrefix(s, "sha256:")
		if len(s) > 16 {
			return s[:16] + "…"
		}
		return s
	},
	// commit abbreviates a commit id as the policy's messages do.
	"commit": func(sha string) string {
		if len(sha) > 7 {
			return sha[:7]
		}
		return sha
	},
	// unlisted counts the unreviewed commits a change summary counts but
	// does not name (it names at most evidence.MaxListedUnreviewed).
	"unlisted": func(s *evidence.ChangeSummary) int {
		return max(s.Unreviewed-len(s.UnreviewedChanges), 0)
	},
	"join":  strings.Join,
	"upper": strings.ToUpper,
	"tests": func(c evidence.Component) map[string]*evidence.TestSummary {
		out := map[string]*evidence.TestSummary{}
		for _, r := range c.Evidence {
			if r.Tests != nil {
				s := out[string(r.Level)]
				if s == nil {
					s = &evidence.TestSummary{}
					out[string(r.Level)] = s
				}
				s.Add(*r.Tests)
			}
		}
		return out
	},
	"byType": func(c evidence.Component, t string) []evidence.EvidenceRef {
		var out []evidence.EvidenceRef
		for _, r := range c.Evidence {
			if string(r.Type) == t {
				out = append(out, r)
			}
		}
		return out
	},
	"acceptable": func(b *bool) string {
		switch {
		case b == nil:
			return "not evaluated"
		case *b:
			return "yes"
		}
		return "NO"
	},
	"rulesFor": func(p evidence.PolicyResult, comp string) []evidence.RuleResult {
		var out []evidence.RuleResult
		for _, r := range p.Rules {
			if r.Component == comp {
				out = append(out, r)
			}
		}
		return out
	},
	"size": func(n int64) string {
		switch {
		case n >= 1<<30:
			return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
		case n >= 1<<20:
			return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		case n >= 1<<10:
			return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
		}
		return fmt.Sprintf("%d B", n)
	},
}

var page = template.Must(template.New("record.html.tmpl").Funcs(funcs).ParseFS(templates, "record.html.tmpl"))

// Render writes the record as one HTML page.
func Render(w io.Writer, in Input) error {
	if in.Manifest == nil {
		return fmt.Errorf("record: no manifest")
	}
	return page.Execute(w, in)
}
