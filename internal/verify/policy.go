package verify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
)

// ReEvaluate re-evaluates the policy document a release was sealed under
// (doc: the archived policy evidence, whose digest the manifest records)
// and checks that it gives exactly the recorded result, and that the result
// is a pass. It returns the policy. Errors: KindInvalid for a bad document,
// KindVerification when the recorded result differs, KindPolicy when the
// release does not pass.
func ReEvaluate(m *evidence.Manifest, doc io.Reader) (*policy.Policy, error) {
	p, err := policy.Decode(doc)
	if err != nil {
		return nil, err
	}
	if d, err := p.Digest(); err != nil || d != m.Policy.Digest {
		return p, evidence.Errorf(evidence.KindVerification, "the policy document is not the one the manifest records (%s)", m.Policy.Digest)
	}
	res, err := policy.Evaluate(m, p)
	if err != nil {
		return p, err
	}
	if d := differ(m.Policy, res); d != "" {
		return p, evidence.Errorf(evidence.KindVerification, "re-evaluating %s gives a different result than the manifest records: %s", p.Name, d)
	}
	if !res.Passed() {
		return p, evidence.Errorf(evidence.KindPolicy, "the release does not pass its policy %s", p.Name)
	}
	return p, nil
}

// PolicyRef returns the release-level evidence holding the policy document
// the manifest's result names, or nil.
func PolicyRef(m *evidence.Manifest) *evidence.EvidenceRef {
	for i := range m.Evidence {
		if m.Evidence[i].Type == evidence.TypePolicy && m.Evidence[i].Digest == m.Policy.Digest {
			return &m.Evidence[i]
		}
	}
	return nil
}

// checkPolicy re-evaluates the archived policy and, when given, an
// auditor's own.
func checkPolicy(r *Report, fsys fs.FS, m *evidence.Manifest, auditor *policy.Policy) {
	ref := PolicyRef(m)
	if ref == nil {
		r.fail("policy", "the policy document %s the release was checked against is not part of the release", m.Policy.Digest)
		return
	}
	var p *policy.Policy
	err := withBlob(fsys, ref.Digest, func(rd io.Reader) (err error) {
		p, err = ReEvaluate(m, rd)
		return err
	})
	if err != nil {
		r.fail("policy", "%v", err)
	} else {
		r.pass("policy", "re-evaluated %s: pass (%d rules)", p.Name, len(m.Policy.Rules))
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
