package evidence

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"time"

	"github.com/evident-dev/evident/internal/digest"
)

// SchemaVersion is the manifest format version written by this code. A
// manifest with any other value is rejected: reading a newer format with an
// older verifier must fail closed, not silently drop what it cannot see.
const SchemaVersion = "1"

// PredicateTypeRelease is the in-toto predicate type of a signed manifest.
const PredicateTypeRelease = "https://evident.dev/attestation/release/v1"

// MaxManifestSize bounds a manifest read from anywhere. Manifests reference
// evidence by digest, so even a release with a 30,000-component SBOM stays far
// below this; only failing-test names grow it, and those are capped too.
const MaxManifestSize = 64 << 20

// Manifest is the release record: what shipped, how it was built, what was
// tested, which SOUP and which anomalies it carries, and what the policy said.
// It is the predicate of the signed in-toto statement and is never edited
// after signing.
type Manifest struct {
	SchemaVersion string        `json:"schemaVersion"`
	Product       Product       `json:"product"`
	CreatedAt     time.Time     `json:"createdAt"`
	Generator     Generator     `json:"generator"`
	SafetyClass   Class         `json:"safetyClass"` // the highest class of its components
	Components    []Component   `json:"components"`
	Evidence      []EvidenceRef `json:"evidence,omitempty"` // release-level evidence (the policy document, system tests)
	Policy        PolicyResult  `json:"policy"`
}

// Product names the released product.
type Product struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Ref returns the product's release reference.
func (p Product) Ref() ReleaseRef { return ReleaseRef{Product: p.Name, Version: p.Version} }

// Generator records the tool that wrote the manifest.
type Generator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Component is one software system or item of the release.
type Component struct {
	Name        string         `json:"name"`
	Kind        ComponentKind  `json:"kind"`
	Version     string         `json:"version"`
	SafetyClass Class          `json:"safetyClass"`
	Artifacts   []Artifact     `json:"artifacts"`
	Provenance  *Provenance    `json:"provenance,omitempty"`
	Evidence    []EvidenceRef  `json:"evidence"`
	Anomalies   []AnomalyEntry `json:"anomalies,omitempty"`
	// MigrationVersion is the database schema version this component
	// expects, when it has one (DESIGN 3.1: database migration version).
	MigrationVersion string `json:"migrationVersion,omitempty"`
}

// Artifact is one released file or image.
type Artifact struct {
	Name      string        `json:"name"` // slash-separated path relative to the config, or an image reference
	Digest    digest.Digest `json:"digest"`
	Size      int64         `json:"size"` // 0 for images referenced by digest only
	MediaType string        `json:"mediaType"`
}

// Provenance is how a component was built, summarised from its SLSA v1
// provenance predicate (which is kept in full as evidence of type provenance).
type Provenance struct {
	CISystem     string     `json:"ciSystem"` // github-actions | gitlab-ci | local
	SourceRepo   string     `json:"sourceRepo,omitempty"`
	Commit       string     `json:"commit,omitempty"`
	Ref          string     `json:"ref,omitempty"`
	BuilderID    string     `json:"builderId"`
	BuildType    string     `json:"buildType"`
	RunID        string     `json:"runId,omitempty"`
	RunURL       string     `json:"runUrl,omitempty"`
	Workflow     string     `json:"workflow,omitempty"`
	BuildCommand string     `json:"buildCommand,omitempty"`
	Runner       string     `json:"runner,omitempty"`
	Image        string     `json:"image,omitempty"`
	Toolchain    []Tool     `json:"toolchain,omitempty"`
	StartedAt    *time.Time `json:"startedAt,omitempty"`
	FinishedAt   *time.Time `json:"finishedAt,omitempty"`
}

// Tool is a named tool with its version, part of the build environment.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// EvidenceRef references an evidence file by digest, with the summary that
// was computed from it at collection time. Exactly one summary is set for
// test reports, SBOMs, anomaly lists and change reviews; none for other
// types.
type EvidenceRef struct {
	Type        EvidenceType    `json:"type"`
	Format      string          `json:"format"`
	Name        string          `json:"name"`
	Digest      digest.Digest   `json:"digest"`
	Size        int64           `json:"size"`
	Level       TestLevel       `json:"level,omitempty"`       // test reports only
	DerivedFrom *digest.Digest  `json:"derivedFrom,omitempty"` // a SOUP list names its SBOM
	Tests       *TestSummary    `json:"tests,omitempty"`
	SBOM        *SBOMSummary    `json:"sbom,omitempty"`
	Anomalies   *AnomalySummary `json:"anomalies,omitempty"`
	Changes     *ChangeSummary  `json:"changes,omitempty"`
}

// MaxListedFailures caps the failing test cases kept per report. A report
// with more failures than this records the count and the first ones; the
// policy treats a truncated list as unexplained failures.
const MaxListedFailures = 1000

// TestSummary is what one test report says.
type TestSummary struct {
	Tests      int   `json:"tests"`
	Passed     int   `json:"passed"`
	Failed     int   `json:"failed"`
	Errors     int   `json:"errors"`
	Skipped    int   `json:"skipped"`
	Flaky      int   `json:"flaky"` // passed only after a failed attempt; counted in Passed too
	DurationMs int64 `json:"durationMs"`
	// Failures lists failed and erroring test cases in report order, at
	// most MaxListedFailures of them.
	Failures []TestCase `json:"failures,omitempty"`
}

// Add accumulates o into s (failure lists are concatenated, still capped).
func (s *TestSummary) Add(o TestSummary) {
	s.Tests += o.Tests
	s.Passed += o.Passed
	s.Failed += o.Failed
	s.Errors += o.Errors
	s.Skipped += o.Skipped
	s.Flaky += o.Flaky
	s.DurationMs += o.DurationMs
	for _, f := range o.Failures {
		if len(s.Failures) >= MaxListedFailures {
			break
		}
		s.Failures = append(s.Failures, f)
	}
}

// FailuresTruncated reports whether more tests failed than are listed.
func (s TestSummary) FailuresTruncated() bool { return s.Failed+s.Errors > len(s.Failures) }

// Outcomes of a test case.
const (
	OutcomeFailed = "failed"
	OutcomeError  = "error"
)

// TestCase identifies a failed or erroring test case.
type TestCase struct {
	Classname string `json:"classname,omitempty"`
	Name      string `json:"name"`
	Outcome   string `json:"outcome"`           // failed | error
	Message   string `json:"message,omitempty"` // first line, at most 300 characters
}

// ID returns "classname.name", or the name alone when there is no classname.
func (t TestCase) ID() string {
	if t.Classname == "" {
		return t.Name
	}
	return t.Classname + "." + t.Name
}

// SBOMSummary is what one SBOM says about the SOUP it lists.
type SBOMSummary struct {
	Format          string `json:"format"` // CycloneDX
	SpecVersion     string `json:"specVersion"`
	Components      int    `json:"components"` // SOUP entries, nested ones included
	Vulnerabilities int    `json:"vulnerabilities,omitempty"`
	// Completeness is the aggregate of the SBOM's compositions for the
	// whole inventory: complete, incomplete, unknown, ... ("unknown" when
	// the SBOM does not say).
	Completeness string    `json:"completeness"`
	Gaps         []SOUPGap `json:"gaps,omitempty"`
}

// SOUP fields whose absence is reported as a gap.
const (
	SOUPFieldName         = "name"
	SOUPFieldVersion      = "version"
	SOUPFieldDesignator   = "designator" // purl, cpe or a hash
	SOUPFieldManufacturer = "manufacturer"
	SOUPFieldLicense      = "license"
	SOUPFieldEndOfSupport = "endOfSupport"
	SOUPFieldSupportLevel = "supportLevel"
)

// MaxGapExamples caps the entries named per gap.
const MaxGapExamples = 20

// SOUPGap says how many SOUP entries lack a field, naming the first ones.
type SOUPGap struct {
	Field    string   `json:"field"`
	Count    int      `json:"count"`
	Examples []string `json:"examples"` // "name@version" of the first MaxGapExamples
}

// Gap returns the gap for field, or a zero gap.
func (s SBOMSummary) Gap(field string) SOUPGap {
	for _, g := range s.Gaps {
		if g.Field == field {
			return g
		}
	}
	return SOUPGap{Field: field}
}

// AnomalySummary counts an anomaly list by evaluation state.
type AnomalySummary struct {
	Total         int `json:"total"`
	Open          int `json:"open"` // every status but closed
	Closed        int `json:"closed"`
	Evaluated     int `json:"evaluated"`
	Unevaluated   int `json:"unevaluated"`
	NotAcceptable int `json:"notAcceptable"`
}

// MaxListedUnreviewed caps the unreviewed changes a change summary names.
// A summary with more records the count and the first ones.
const MaxListedUnreviewed = 1000

// ChangeSummary is what a change-review record (IEC 62304 8.2) says: which
// range of history it covers and how many of its changes were reviewed by
// someone other than their author.
type ChangeSummary struct {
	Source     string `json:"source"`         // github
	Repository string `json:"repository"`     // owner/name
	Base       string `json:"base,omitempty"` // the previous release (tag or commit); empty: all history up to head
	Head       string `json:"head"`           // the commit (or tag) being released
	Commits    int    `json:"commits"`
	Reviewed   int    `json:"reviewed"`
	Unreviewed int    `json:"unreviewed"`
	// UnreviewedChanges names the unreviewed commits in history order, at
	// most MaxListedUnreviewed of them.
	UnreviewedChanges []UnreviewedChange `json:"unreviewedChanges,omitempty"`
}

// UnreviewedChange names a commit that no one but its author approved.
type UnreviewedChange struct {
	SHA    string `json:"sha"`
	Author string `json:"author,omitempty"` // login, or the git author name when the platform knows no login
	Reason string `json:"reason"`           // no pull request, pull request not merged, no approving review, ...
}

// AnomalyEntry is the manifest's record of one anomaly: its identity and its
// evaluation. The full record stays in the anomaly list it came from.
type AnomalyEntry struct {
	ID                string   `json:"id"`
	Title             string   `json:"title"`
	Kind              string   `json:"kind"`
	Status            string   `json:"status"`
	Severity          string   `json:"severity,omitempty"`
	RiskAcceptable    *bool    `json:"riskAcceptable,omitempty"`
	Rationale         string   `json:"rationale,omitempty"`
	EvaluatedBy       string   `json:"evaluatedBy,omitempty"`
	EvaluatedAt       string   `json:"evaluatedAt,omitempty"`
	PlannedCorrection string   `json:"plannedCorrection,omitempty"`
	Tests             []string `json:"tests,omitempty"`
}

// Evaluated reports whether the entry carries a complete evaluation: a risk
// decision, a rationale, an evaluator and a date (IEC 62304 5.8.3).
func (a AnomalyEntry) Evaluated() bool {
	return a.RiskAcceptable != nil && a.Rationale != "" && a.EvaluatedBy != "" && a.EvaluatedAt != ""
}

// Open reports whether the anomaly ships with the release.
func (a AnomalyEntry) Open() bool { return a.Status != AnomalyClosed }

// PolicyResult is the outcome of checking a release against a policy.
type PolicyResult struct {
	Name    string        `json:"name"`
	Digest  digest.Digest `json:"digest"` // of the policy document, archived as release-level evidence
	Outcome string        `json:"outcome"`
	Rules   []RuleResult  `json:"rules"`
}

// Policy and rule outcomes.
const (
	OutcomePass = "pass"
	OutcomeFail = "fail"
	OutcomeWarn = "warn"
)

// Passed reports whether the policy outcome is pass.
func (p PolicyResult) Passed() bool { return p.Outcome == OutcomePass }

// RuleResult is one rule's outcome for one component (or the whole release
// when Component is empty).
type RuleResult struct {
	Rule      string   `json:"rule"`
	Clause    string   `json:"clause"`
	Component string   `json:"component,omitempty"`
	Outcome   string   `json:"outcome"` // pass | fail | warn
	Message   string   `json:"message"`
	Missing   []string `json:"missing,omitempty"`
}

// Ref returns the manifest's release reference.
func (m *Manifest) Ref() ReleaseRef { return m.Product.Ref() }

// Component returns the named component, or nil.
func (m *Manifest) Component(name string) *Component {
	for i := range m.Components {
		if m.Components[i].Name == name {
			return &m.Components[i]
		}
	}
	return nil
}

// AllEvidence returns every evidence reference of the release, release-level
// first, then per component in order.
func (m *Manifest) AllEvidence() []EvidenceRef {
	refs := append([]EvidenceRef(nil), m.Evidence...)
	for _, c := range m.Components {
		refs = append(refs, c.Evidence...)
	}
	return refs
}

// EvidenceDigests returns the distinct digests of every evidence file,
// sorted, so that callers can fetch or check each blob once.
func (m *Manifest) EvidenceDigests() []digest.Digest {
	seen := map[digest.Digest]bool{}
	var out []digest.Digest
	for _, r := range m.AllEvidence() {
		if !seen[r.Digest] {
			seen[r.Digest] = true
			out = append(out, r.Digest)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Encode returns the manifest's canonical bytes: indented JSON with a
// trailing newline. The digest of these bytes is the manifest digest that
// approvals are bound to.
func (m *Manifest) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// Digest returns the digest of the canonical encoding.
func (m *Manifest) Digest() (digest.Digest, error) {
	b, err := m.Encode()
	if err != nil {
		return digest.Digest{}, err
	}
	return digest.FromBytes(b), nil
}

// DecodeManifest reads a manifest strictly: unknown fields, trailing data,
// a different schemaVersion and anything Validate rejects are errors. It
// reads at most MaxManifestSize bytes.
func DecodeManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	if err := DecodeStrictJSON(io.LimitReader(r, MaxManifestSize+1), &m, MaxManifestSize); err != nil {
		return nil, Errorf(KindInvalid, "manifest: %w", err)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// DecodeStrictJSON decodes one JSON value from r into v, rejecting unknown
// fields, trailing data and inputs over max bytes. It reads at most max+1
// bytes from r.
func DecodeStrictJSON(r io.Reader, v any, max int64) error {
	cr := &countingReader{r: io.LimitReader(r, max+1)}
	dec := json.NewDecoder(cr)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if cr.n > max {
			return fmt.Errorf("larger than %d bytes", max)
		}
		return describeJSONError(err)
	}
	_, err := dec.Token()
	if cr.n > max {
		// Also when the value fit and only trailing white space did not:
		// what lies beyond the limit was never looked at.
		return fmt.Errorf("larger than %d bytes", max)
	}
	if !errors.Is(err, io.EOF) {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

func describeJSONError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
	case errors.As(err, &te) && te.Field == "":
		return fmt.Errorf("want a JSON %s, got JSON %s", jsonKind(te.Type), te.Value)
	case errors.As(err, &te):
		return fmt.Errorf("field %q: want a JSON %s, got JSON %s", te.Field, jsonKind(te.Type), te.Value)
	case errors.Is(err, io.EOF):
		return errors.New("empty input")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("truncated JSON")
	}
	return err
}

// jsonKind names the JSON type a Go type is read from, for messages that
// should not speak of Go types.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	if t.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		return "string"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "value"
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Equal reports whether two manifests have identical canonical bytes.
func Equal(a, b *Manifest) bool {
	x, err1 := a.Encode()
	y, err2 := b.Encode()
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
