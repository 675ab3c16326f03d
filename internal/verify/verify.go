// Package verify checks a sealed release offline: the signature over the
// manifest, that the signed statement names exactly the released artifacts,
// that every evidence file is present with its recorded digest, that every
// summary in the manifest is what the evidence actually says (each file is
// parsed again), and that the archived policy still gives the recorded
// result. It needs nothing but the release's files and the trusted keys.
//
// Verification fails closed. Report.OK is true only when every check ran and
// passed; a check that could not run is a failure, never a skip.
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/sign"
)

// File names inside a release directory or audit pack.
const (
	ManifestFile = "manifest.json"
	BundleFile   = "bundle.sigstore.json"
	EvidenceDir  = "evidence"
)

// EvidencePath is where an evidence blob lives inside a release: evidence/sha256/<hex>.
func EvidencePath(d digest.Digest) string { return path.Join(EvidenceDir, digest.Algorithm, d.Hex()) }

// Options says whom to trust and what else to check.
type Options struct {
	Trust sign.Trust
	// Derive re-derives the manifest's summaries from the evidence in fsys
	// and returns how many it compared and every difference (see package
	// rederive). It is required: without it the "summaries" check fails.
	Derive func(ctx context.Context, fsys fs.FS, m *evidence.Manifest) (int, []string)
	// Policy, when set, is an auditor's own policy the release must also
	// pass, in addition to the archived one it was sealed under.
	Policy *policy.Policy
	// Allowed reports whether a file other than the manifest, the bundle
	// and referenced evidence may be present (audit packs carry more). A
	// file not allowed fails verification: a release directory holds
	// nothing unaccounted for.
	Allowed func(name string) bool
}

// Check is one verification step and its outcome.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// Report is the outcome of verifying one release.
type Report struct {
	OK             bool   `json:"ok"`
	Release        string `json:"release,omitempty"`
	ManifestDigest string `json:"manifestDigest,omitempty"`
	// Signer is who signed the release: a key ID, or "issuer|subject" of
	// a keyless certificate.
	Signer        string  `json:"signer,omitempty"`
	Artifacts     int     `json:"artifacts"`
	EvidenceFiles int     `json:"evidenceFiles"`
	Checks        []Check `json:"checks"`
	// Status, Signatures and Missing are the approval state found in an
	// audit pack (empty for a release directory, which has no approvals).
	Status     string             `json:"status,omitempty"`
	Signatures []Signature        `json:"signatures,omitempty"`
	Missing    []string           `json:"missing,omitempty"`
	Manifest   *evidence.Manifest `json:"-"`
}

// Signature is a verified approval record: name, role, time and meaning.
type Signature struct {
	Decision    string    `json:"decision"`
	Name        string    `json:"name"`
	Role        string    `json:"role"`
	Identity    string    `json:"identity"`
	Meaning     string    `json:"meaning"`
	Comment     string    `json:"comment,omitempty"`
	SignedAt    time.Time `json:"signedAt"`
	Timestamped bool      `json:"timestamped"`
	LogIndex    uint64    `json:"logIndex"`
}

// Pass and Fail record a check; callers that verify more than Release does
// (audit packs: the log proof, approvals) add their checks with them.
func (r *Report) Pass(name, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)})
}

// Fail records a failed check and makes the report not OK.
func (r *Report) Fail(name, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: false, Detail: fmt.Sprintf(format, args...)})
	r.OK = false
}

func (r *Report) pass(name, format string, args ...any) { r.Pass(name, format, args...) }
func (r *Report) fail(name, format string, args ...any) { r.Fail(name, format, args...) }

// Failures returns the checks that failed.
func (r *Report) Failures() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Err returns nil when the report is OK, else a KindVerification error that
// lists every failed check.
func (r *Report) Err() error {
	if r.OK {
		return nil
	}
	var parts []string
	for _, c := range r.Failures() {
		parts = append(parts, c.Name+": "+c.Detail)
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing was verified")
	}
	return evidence.Errorf(evidence.KindVerification, "verification failed: %s", strings.Join(parts, "; "))
}

// StepError is a failure of one step of Statement.
type StepError struct {
	Step string // manifest, signature, statement, subjects
	Err  error
}

func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// Statement checks a signed release: manifestJSON is a valid manifest in
// canonical form; bundleJSON is a signature by a trusted signer over an
// in-toto statement whose predicate is exactly manifestJSON and whose
// subjects are exactly the manifest's artifacts. It returns the manifest and
// the verified signature, or a *StepError whose cause carries the kind
// (KindInvalid for malformed input, KindVerification for the rest).
func Statement(ctx context.Context, manifestJSON, bundleJSON []byte, trust sign.Trust) (*evidence.Manifest, *sign.Verified, error) {
	m, err := evidence.DecodeManifest(bytes.NewReader(manifestJSON))
	if err != nil {
		return nil, nil, &StepError{"manifest", err}
	}
	if canon, err := m.Encode(); err != nil || !bytes.Equal(canon, manifestJSON) {
		return nil, nil, &StepError{"manifest", evidence.Errorf(evidence.KindVerification, "manifest.json is not in canonical form (was it edited?)")}
	}
	v, err := sign.Verify(ctx, bundleJSON, trust)
	if err != nil {
		return m, nil, &StepError{"signature", err}
	}
	st := v.Statement
	if st.PredicateType != evidence.PredicateTypeRelease {
		return m, v, &StepError{"statement", evidence.Errorf(evidence.KindVerification, "predicate type %q, want %q", st.PredicateType, evidence.PredicateTypeRelease)}
	}
	if !bytes.Equal(bytes.TrimSpace(st.Predicate), bytes.TrimSpace(manifestJSON)) {
		return m, v, &StepError{"statement", evidence.Errorf(evidence.KindVerification, "the signed predicate is not this manifest")}
	}
	if probs := subjectProblems(m, st); len(probs) > 0 {
		return m, v, &StepError{"subjects", evidence.Errorf(evidence.KindVerification, "%s", strings.Join(probs, "; "))}
	}
	return m, v, nil
}

// Release verifies the release stored in fsys (a release directory or an
// opened audit pack). It returns a report in every case; the error is for
// failures to read at all.
func Release(ctx context.Context, fsys fs.FS, opts Options) (*Report, error) {
	r := &Report{}
	if len(opts.Trust.Keys) == 0 && len(opts.Trust.Identities) == 0 {
		r.fail("trust", "no trusted key or identity was given (--key PUB, or --certificate-identity with --certificate-oidc-issuer); a signature cannot be checked against nothing")
		return r, nil
	}
	mb, err := readSmall(fsys, ManifestFile, evidence.MaxManifestSize)
	if err != nil {
		r.fail("manifest", "%v", err)
		return r, nil
	}
	bb, err := readSmall(fsys, BundleFile, sign.MaxBundleSize)
	if err != nil {
		r.fail("signature", "%v", err)
		return r, nil
	}
	m, v, err := Statement(ctx, mb, bb, opts.Trust)
	if m != nil {
		r.Release, r.ManifestDigest, r.Manifest = m.Ref().String(), digest.FromBytes(mb).String(), m
		r.pass("manifest", "%s, schema %s, %d components", r.Release, m.SchemaVersion, len(m.Components))
	}
	if v != nil {
		r.Signer = v.SignerIdentity
		r.pass("signature", "DSSE signature verified: %s%s", describeSigner(v), describeTime(v))
	}
	var se *StepError
	if errors.As(err, &se) {
		r.fail(se.Step, "%v", se.Err)
		return r, nil
	} else if err != nil {
		return nil, err
	}
	r.pass("statement", "the signed statement's predicate is manifest.json (%s)", r.ManifestDigest)
	r.Artifacts = countArtifacts(m)
	r.pass("subjects", "the signature covers exactly the %d released artifact(s)", r.Artifacts)

	// Evidence files: present, digest and size as recorded, nothing else.
	if checkEvidence(ctx, r, fsys, m, opts.Allowed) {
		// Summaries re-derived from the evidence.
		if opts.Derive == nil {
			r.fail("summaries", "the summaries were not re-derived from the evidence (no deriver configured)")
		} else if n, probs := opts.Derive(ctx, fsys, m); len(probs) > 0 {
			r.fail("summaries", "%s", strings.Join(probs, "; "))
		} else {
			r.pass("summaries", "re-derived %d summaries (tests, SBOMs, SOUP lists, anomalies, change reviews) from the evidence: all match", n)
		}
	}

	// The archived policy, re-evaluated, and an auditor's own.
	checkPolicy(r, fsys, m, opts.Policy)

	r.OK = len(r.Failures()) == 0 && r.Artifacts > 0
	return r, nil
}

func countArtifacts(m *evidence.Manifest) int {
	n := 0
	for _, c := range m.Components {
		n += len(c.Artifacts)
	}
	return n
}

func subjectProblems(m *evidence.Manifest, st *sign.Statement) []string {
	want := map[string]digest.Digest{}
	for _, c := range m.Components {
		for _, a := range c.Artifacts {
			want[a.Name] = a.Digest
		}
	}
	got := map[string]digest.Digest{}
	for _, s := range st.Subjects {
		got[s.Name] = s.Digest
	}
	var probs []string
	if len(want) == 0 {
		probs = append(probs, "the release records no artifacts: nothing to verify")
	}
	for name, d := range want {
		if g, ok := got[name]; !ok {
			probs = append(probs, fmt.Sprintf("artifact %s is not a signed subject", name))
		} else if g != d {
			probs = append(probs, fmt.Sprintf("artifact %s: manifest says %s, signature covers %s", name, d, g))
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			probs = append(probs, fmt.Sprintf("signed subject %s is not an artifact of the manifest", name))
		}
	}
	sort.Strings(probs)
	return probs
}

func checkEvidence(ctx context.Context, r *Report, fsys fs.FS, m *evidence.Manifest, allowed func(string) bool) bool {
	sizes := map[digest.Digest]int64{}
	var probs []string
	for _, ref := range m.AllEvidence() {
		if s, ok := sizes[ref.Digest]; ok && s != ref.Size {
			probs = append(probs, fmt.Sprintf("%s: two sizes recorded for %s", ref.Name, ref.Digest))
		}
		sizes[ref.Digest] = ref.Size
	}
	for _, d := range m.EvidenceDigests() {
		if err := ctx.Err(); err != nil {
			r.fail("evidence", "%v", err)
			return false
		}
		if err := checkBlob(fsys, d, sizes[d]); err != nil {
			probs = append(probs, fmt.Sprintf("%s (%s): %v", namesOf(m, d), d, err))
		}
	}
	// Nothing unaccounted for.
	referenced := map[string]bool{ManifestFile: true, BundleFile: true}
	for d := range sizes {
		referenced[EvidencePath(d)] = true
	}
	_ = fs.WalkDir(fsys, ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", p, err))
			return nil
		}
		if de.IsDir() || referenced[p] || (allowed != nil && allowed(p)) {
			return nil
		}
		probs = append(probs, fmt.Sprintf("%s: not part of the release", p))
		return nil
	})
	r.EvidenceFiles = len(sizes)
	if len(probs) > 0 {
		r.fail("evidence", "%s", strings.Join(probs, "; "))
		return false
	}
	r.pass("evidence", "all %d evidence file(s) present with their recorded sha256 and size", len(sizes))
	return true
}

func checkBlob(fsys fs.FS, d digest.Digest, size int64) error {
	f, err := fsys.Open(EvidencePath(d))
	if errors.Is(err, fs.ErrNotExist) {
		return errors.New("missing")
	}
	if err != nil {
		return err
	}
	defer f.Close()
	vr := digest.NewVerifyingReader(f, d, size)
	if _, err := io.Copy(io.Discard, vr); err != nil {
		if errors.Is(err, digest.ErrMismatch) {
			return fmt.Errorf("content changed: %v", err)
		}
		return err
	}
	return nil
}

// namesOf lists the evidence names recorded for a digest.
func namesOf(m *evidence.Manifest, d digest.Digest) string {
	var names []string
	for _, ref := range m.AllEvidence() {
		if ref.Digest == d {
			names = append(names, ref.Name)
		}
	}
	return strings.Join(names, ", ")
}

// readSmall reads a whole small file, refusing one over max bytes.
func readSmall(fsys fs.FS, name string, max int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing", name)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", name, max)
	}
	return b, nil
}

// describeSigner names who signed, for a report.
func describeSigner(v *sign.Verified) string {
	if v.Certificate != nil {
		return fmt.Sprintf("keyless certificate for %s issued by %s", v.Certificate.Subject, v.Certificate.Issuer)
	}
	return "trusted key " + v.SignerKeyID
}

// describeTime says when the signature was made, if a trusted time says so.
func describeTime(v *sign.Verified) string {
	t, ok := v.SigningTime()
	switch {
	case ok:
		return fmt.Sprintf(", trusted time %s", t.UTC().Format("2006-01-02 15:04:05 UTC"))
	case v.UncheckedTimestamps > 0:
		return fmt.Sprintf(" (%d timestamp(s) not checked: give the timestamp authority's trusted root)", v.UncheckedTimestamps)
	}
	return ""
}
