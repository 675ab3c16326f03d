package evidence

import (
	"fmt"
	"regexp"
)

// Class is an IEC 62304 software safety class.
type Class string

const (
	ClassA Class = "A"
	ClassB Class = "B"
	ClassC Class = "C"
)

// Classes lists the safety classes from least to most rigorous.
var Classes = []Class{ClassA, ClassB, ClassC}

// Valid reports whether c is A, B or C.
func (c Class) Valid() bool { return c == ClassA || c == ClassB || c == ClassC }

// Rank orders classes: A=1, B=2, C=3, anything else 0.
func (c Class) Rank() int {
	switch c {
	case ClassA:
		return 1
	case ClassB:
		return 2
	case ClassC:
		return 3
	}
	return 0
}

// HighestClass returns the most rigorous class of cs ("" for none).
func HighestClass(cs ...Class) Class {
	var hi Class
	for _, c := range cs {
		if c.Rank() > hi.Rank() {
			hi = c
		}
	}
	return hi
}

// ComponentKind says what a component is.
type ComponentKind string

const (
	KindFirmware ComponentKind = "firmware"
	KindApp      ComponentKind = "app"
	KindCloud    ComponentKind = "cloud"
	KindWeb      ComponentKind = "web"
	KindLibrary  ComponentKind = "library"
	KindOther    ComponentKind = "other"
)

// ComponentKinds lists the valid kinds.
var ComponentKinds = []ComponentKind{KindFirmware, KindApp, KindCloud, KindWeb, KindLibrary, KindOther}

// Valid reports whether k is one of ComponentKinds.
func (k ComponentKind) Valid() bool { return oneOf(k, ComponentKinds) }

// TestLevel is the verification level a test report belongs to.
type TestLevel string

const (
	LevelUnit        TestLevel = "unit"        // 5.5.5
	LevelIntegration TestLevel = "integration" // 5.6
	LevelSystem      TestLevel = "system"      // 5.7
)

// TestLevels lists the valid levels.
var TestLevels = []TestLevel{LevelUnit, LevelIntegration, LevelSystem}

// Valid reports whether l is one of TestLevels.
func (l TestLevel) Valid() bool { return oneOf(l, TestLevels) }

// EvidenceType says what an evidence file is.
type EvidenceType string

const (
	TypeTestReport   EvidenceType = "test-report"
	TypeSBOM         EvidenceType = "sbom"
	TypeSOUP         EvidenceType = "soup"      // normalized SOUP list derived from an SBOM
	TypeAnomalies    EvidenceType = "anomalies" // a residual-anomaly list
	TypeChangeReview EvidenceType = "change-review"
	TypeProvenance   EvidenceType = "provenance"
	TypeReleaseNotes EvidenceType = "release-notes"
	TypeConfig       EvidenceType = "config"
	TypeMigration    EvidenceType = "migration"
	TypeInstallation EvidenceType = "installation"
	TypePolicy       EvidenceType = "policy" // the policy document the release was checked against
	TypeOther        EvidenceType = "other"
)

// EvidenceTypes lists the valid evidence types.
var EvidenceTypes = []EvidenceType{
	TypeTestReport, TypeSBOM, TypeSOUP, TypeAnomalies, TypeChangeReview, TypeProvenance,
	TypeReleaseNotes, TypeConfig, TypeMigration, TypeInstallation, TypePolicy, TypeOther,
}

// Valid reports whether t is one of EvidenceTypes.
func (t EvidenceType) Valid() bool { return oneOf(t, EvidenceTypes) }

// Evidence formats: the exact encoding of an evidence file.
const (
	FormatJUnitXML      = "junit-xml"
	FormatGoTestJSON    = "go-test-json"
	FormatGoTestText    = "go-test-text"
	FormatCycloneDXJSON = "cyclonedx-json"
	FormatCycloneDXXML  = "cyclonedx-xml"
	FormatSOUPJSONL     = "evident-soup-jsonl"
	FormatAnomaliesYAML = "evident-anomalies-yaml"
	FormatAnomaliesJSON = "evident-anomalies-json"
	FormatSLSAv1        = "slsa-provenance-v1"
	FormatPolicyJSON    = "evident-policy-json"
	FormatChangesJSON   = "evident-changes-json"
	FormatMarkdown      = "markdown"
	FormatBinary        = "binary"
	FormatText          = "text"
	FormatJSON          = "json"
	FormatYAML          = "yaml"
)

var (
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}$`)
)

// ValidateName checks a product or component name. Names appear in URLs,
// file names and lookups, so they are restricted to letters, digits, '.', '_'
// and '-', starting with a letter or digit, at most 128 characters. That also
// rules out path traversal by construction.
func ValidateName(field, s string) error {
	if s == "" {
		return Errorf(KindInvalid, "%s is empty", field)
	}
	if !nameRE.MatchString(s) {
		return Errorf(KindInvalid, "%s %q: use letters, digits, '.', '_' and '-' (starting with a letter or digit, at most 128)", field, s)
	}
	return nil
}

// ValidateVersion checks a product or component version: like a name, plus
// '+' and '~' so that semantic versions with build metadata fit.
func ValidateVersion(field, s string) error {
	if s == "" {
		return Errorf(KindInvalid, "%s is empty", field)
	}
	if !versionRE.MatchString(s) {
		return Errorf(KindInvalid, "%s %q: use letters, digits, '.', '_', '-', '+' and '~' (starting with a letter or digit, at most 128)", field, s)
	}
	return nil
}

// ReleaseRef names a release: PRODUCT@VERSION.
type ReleaseRef struct {
	Product string
	Version string
}

func (r ReleaseRef) String() string { return r.Product + "@" + r.Version }

// ParseReleaseRef parses "PRODUCT@VERSION".
func ParseReleaseRef(s string) (ReleaseRef, error) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			r := ReleaseRef{Product: s[:i], Version: s[i+1:]}
			if err := ValidateName("product", r.Product); err != nil {
				return ReleaseRef{}, err
			}
			if err := ValidateVersion("version", r.Version); err != nil {
				return ReleaseRef{}, err
			}
			return r, nil
		}
	}
	return ReleaseRef{}, Errorf(KindInvalid, "%q: want PRODUCT@VERSION", s)
}

func oneOf[T comparable](v T, vs []T) bool {
	for _, x := range vs {
		if v == x {
			return true
		}
	}
	return false
}

func enumError[T ~string](field string, v T, vs []T) error {
	return Errorf(KindInvalid, "%s %q: want one of %v", field, string(v), fmt.Sprint(vs))
}
