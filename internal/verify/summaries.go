package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/evident-dev/evident/internal/collect"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

// checkSummaries parses every evidence file again and compares what it says
// with what the manifest recorded: test counts and failures, SBOM summaries
// and the derived SOUP lists, anomaly entries and their counts.
func checkSummaries(ctx context.Context, r *Report, fsys fs.FS, m *evidence.Manifest) {
	var probs []string
	n := 0
	for _, c := range m.Components {
		var entries []evidence.AnomalyEntry
		soupFrom := map[digest.Digest]digest.Digest{} // sbom digest -> soup digest as recorded
		for _, ref := range c.Evidence {
			if ref.Type == evidence.TypeSOUP && ref.DerivedFrom != nil {
				soupFrom[*ref.DerivedFrom] = ref.Digest
			}
		}
		for _, ref := range c.Evidence {
			if ctx.Err() != nil {
				r.fail("summaries", "%v", ctx.Err())
				return
			}
			where := c.Name + ": " + ref.Name
			switch ref.Type {
			case evidence.TypeTestReport:
				n++
				var got evidence.TestSummary
				err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
					got, err = collect.Tests(rd, ref.Format)
					return err
				})
				if err != nil {
					probs = append(probs, fmt.Sprintf("%s: %v", where, err))
				} else if d := differ(*ref.Tests, got); d != "" {
					probs = append(probs, fmt.Sprintf("%s: the manifest's test summary differs from the report: %s", where, d))
				}
			case evidence.TypeSBOM:
				n++
				h := digest.NewHasher()
				var got evidence.SBOMSummary
				err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
					_, got, err = collect.SBOM(rd, h)
					return err
				})
				switch {
				case err != nil:
					probs = append(probs, fmt.Sprintf("%s: %v", where, err))
				case differ(*ref.SBOM, got) != "":
					probs = append(probs, fmt.Sprintf("%s: the manifest's SBOM summary differs from the SBOM: %s", where, differ(*ref.SBOM, got)))
				case soupFrom[ref.Digest] != h.Digest():
					probs = append(probs, fmt.Sprintf("%s: the recorded SOUP list is not the one this SBOM yields (recorded %s, derived %s)", where, soupFrom[ref.Digest], h.Digest()))
				}
			case evidence.TypeAnomalies:
				n++
				var got []evidence.AnomalyEntry
				var sum evidence.AnomalySummary
				err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
					_, got, sum, err = collect.Anomalies(rd, ref.Format)
					return err
				})
				if err != nil {
					probs = append(probs, fmt.Sprintf("%s: %v", where, err))
					continue
				}
				entries = append(entries, got...)
				if differ(*ref.Anomalies, sum) != "" {
					probs = append(probs, fmt.Sprintf("%s: the manifest's anomaly counts differ from the list", where))
				}
			}
		}
		if d := differ(c.Anomalies, entries); d != "" {
			probs = append(probs, fmt.Sprintf("%s: the manifest's anomaly entries differ from the anomaly lists: %s", c.Name, d))
		}
	}
	if len(probs) > 0 {
		r.fail("summaries", "%s", strings.Join(probs, "; "))
		return
	}
	r.pass("summaries", "re-derived %d summaries (tests, SBOMs, SOUP lists, anomalies) from the evidence: all match", n)
}

// checkPolicy re-evaluates the archived policy and, when given, an
// auditor's own.
func checkPolicy(r *Report, fsys fs.FS, m *evidence.Manifest, auditor *policy.Policy) {
	var ref *evidence.EvidenceRef
	for i := range m.Evidence {
		if m.Evidence[i].Type == evidence.TypePolicy && m.Evidence[i].Digest == m.Policy.Digest {
			ref = &m.Evidence[i]
		}
	}
	if ref == nil {
		r.fail("policy", "the policy document %s the release was checked against is not part of the release", m.Policy.Digest)
		return
	}
	var p *policy.Policy
	err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
		p, err = policy.Decode(rd)
		return err
	})
	if err != nil {
		r.fail("policy", "archived policy: %v", err)
		return
	}
	res, err := policy.Evaluate(m, p)
	if err != nil {
		r.fail("policy", "%v", err)
		return
	}
	switch {
	case differ(m.Policy, res) != "":
		r.fail("policy", "re-evaluating %s gives a different result than the manifest records: %s", p.Name, differ(m.Policy, res))
	case !res.Passed():
		r.fail("policy", "the release does not pass its policy %s", p.Name)
	default:
		r.pass("policy", "re-evaluated %s: pass (%d rules)", p.Name, len(res.Rules))
	}
	if auditor != nil {
		ares, err := policy.Evaluate(m, auditor)
		switch {
		case err != nil:
			r.fail("auditor policy", "%v", err)
		case !ares.Passed():
			var fails []string
			for _, rr := range ares.Rules {
				if rr.Outcome == evidence.OutcomeFail {
					scope := rr.Component
					if scope == "" {
						scope = "release"
					}
					fails = append(fails, scope+" "+rr.Rule+": "+rr.Message)
				}
			}
			r.fail("auditor policy", "%s fails: %s", auditor.Name, strings.Join(fails, "; "))
		default:
			r.pass("auditor policy", "%s: pass", auditor.Name)
		}
	}
}

// withBlob opens an evidence blob and hands it to fn.
func withBlob(fsys fs.FS, d digest.Digest, fn func(io.Reader) error) error {
	f, err := fsys.Open(EvidencePath(d))
	if err != nil {
		return err
	}
	defer f.Close()
	return fn(f)
}

// differ compares what the manifest recorded with what was re-derived, by
// their JSON encodings (the form the manifest stores them in), and describes
// the first difference; "" means equal.
func differ(recorded, derived any) string {
	a, err1 := json.Marshal(recorded)
	b, err2 := json.Marshal(derived)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("cannot compare: %v %v", err1, err2)
	}
	a, b = bytes.ReplaceAll(a, []byte("null"), []byte("[]")), bytes.ReplaceAll(b, []byte("null"), []byte("[]"))
	if bytes.Equal(a, b) {
		return ""
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	start := max(0, i-60)
	return fmt.Sprintf("recorded ...%s... but the evidence gives ...%s...", clip(a, start, i+80), clip(b, start, i+80))
}

func clip(b []byte, from, to int) string {
	return string(b[min(from, len(b)):min(to, len(b))])
}
