// Package rederive checks a manifest's summaries against its evidence: it
// parses every test report, SBOM and anomaly list again, with the same
// parsers that produced the summaries, and compares. It is the part of
// offline verification that needs the format parsers, kept apart so that
// the archive server, which trusts its signers' summaries, does not link
// them.
package rederive

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path"

	"github.com/evident-dev/evident/internal/collect"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
)

// Check parses every evidence file of m in fsys (a release directory or pack:
// evidence/sha256/<hex>) again and compares what it says with what the
// manifest recorded: test counts and failures, SBOM summaries and the derived
// SOUP lists, anomaly entries and their counts, and change-review summaries
// (every commit re-judged from its recorded reviews). It returns how many summaries
// it compared and every difference found.
func Check(ctx context.Context, fsys fs.FS, m *evidence.Manifest) (int, []string) {
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
				return n, append(probs, ctx.Err().Error())
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
			case evidence.TypeChangeReview:
				n++
				var got evidence.ChangeSummary
				err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
					got, err = collect.Changes(rd)
					return err
				})
				if err != nil {
					probs = append(probs, fmt.Sprintf("%s: %v", where, err))
				} else if d := differ(*ref.Changes, got); d != "" {
					probs = append(probs, fmt.Sprintf("%s: the manifest's change-review summary differs from the record: %s", where, d))
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
	return n, probs
}

// withBlob opens an evidence blob and hands it to fn.
func withBlob(fsys fs.FS, d digest.Digest, fn func(io.Reader) error) error {
	f, err := fsys.Open(path.Join("evidence", digest.Algorithm, d.Hex()))
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
