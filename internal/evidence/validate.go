package evidence

import (
	"fmt"
	"path"
	"strings"
)

// Validate checks that a manifest is complete and consistent enough to be
// signed, stored or verified: known schema version, valid names, versions,
// classes and kinds, unique component names, every digest set, every
// evidence reference well-formed, and the release class equal to the highest
// component class. It does not judge the policy; that is the policy's job.
func (m *Manifest) Validate() error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	if m.SchemaVersion != SchemaVersion {
		add("schemaVersion %q is not supported (this evident reads %q)", m.SchemaVersion, SchemaVersion)
	}
	if err := ValidateName("product.name", m.Product.Name); err != nil {
		add("%v", err)
	}
	if err := ValidateVersion("product.version", m.Product.Version); err != nil {
		add("%v", err)
	}
	if m.CreatedAt.IsZero() {
		add("createdAt is not set")
	}
	if len(m.Components) == 0 {
		add("components: a release needs at least one component")
	}
	seen := map[string]bool{}
	var classes []Class
	for i, c := range m.Components {
		where := fmt.Sprintf("components[%d]", i)
		if c.Name != "" {
			where = fmt.Sprintf("component %s", c.Name)
		}
		if err := ValidateName(where+": name", c.Name); err != nil {
			add("%v", err)
		}
		if seen[c.Name] {
			add("%s: the name is used by two components", where)
		}
		seen[c.Name] = true
		if err := ValidateVersion(where+": version", c.Version); err != nil {
			add("%v", err)
		}
		if !c.Kind.Valid() {
			add("%s: kind %q: want one of %v", where, c.Kind, ComponentKinds)
		}
		if !c.SafetyClass.Valid() {
			add("%s: safetyClass %q: want A, B or C", where, c.SafetyClass)
		}
		classes = append(classes, c.SafetyClass)
		for j, a := range c.Artifacts {
			if a.Name == "" {
				add("%s: artifacts[%d]: name is empty", where, j)
			}
			if a.Digest.IsZero() {
				add("%s: artifact %q: digest is not set", where, a.Name)
			}
			if a.Size < 0 {
				add("%s: artifact %q: negative size", where, a.Name)
			}
		}
		for _, r := range c.Evidence {
			if err := r.validate(); err != nil {
				add("%s: %v", where, err)
			}
		}
		for j, a := range c.Anomalies {
			if strings.TrimSpace(a.ID) == "" {
				add("%s: anomalies[%d]: id is empty", where, j)
			}
		}
	}
	for _, r := range m.Evidence {
		if err := r.validate(); err != nil {
			add("release evidence: %v", err)
		}
	}
	if want := HighestClass(classes...); len(m.Components) > 0 && m.SafetyClass != want {
		add("safetyClass %q: the highest component class is %q", m.SafetyClass, want)
	}
	if m.Policy.Digest.IsZero() {
		add("policy.digest is not set")
	}
	if m.Policy.Outcome != OutcomePass && m.Policy.Outcome != OutcomeFail {
		add("policy.outcome %q: want pass or fail", m.Policy.Outcome)
	}
	if len(probs) > 0 {
		return Errorf(KindInvalid, "manifest: %s", strings.Join(probs, "; "))
	}
	return nil
}

func (r EvidenceRef) validate() error {
	if !r.Type.Valid() {
		return fmt.Errorf("evidence %q: type %q: want one of %v", r.Name, r.Type, EvidenceTypes)
	}
	if err := ValidateEvidenceName(r.Name); err != nil {
		return err
	}
	if r.Format == "" {
		return fmt.Errorf("evidence %q: format is empty", r.Name)
	}
	if r.Digest.IsZero() {
		return fmt.Errorf("evidence %q: digest is not set", r.Name)
	}
	if r.Size < 0 {
		return fmt.Errorf("evidence %q: negative size", r.Name)
	}
	if r.Type == TypeTestReport {
		if !r.Level.Valid() {
			return fmt.Errorf("evidence %q: level %q: want one of %v", r.Name, r.Level, TestLevels)
		}
		if r.Tests == nil {
			return fmt.Errorf("evidence %q: a test report needs a tests summary", r.Name)
		}
	} else if r.Level != "" {
		return fmt.Errorf("evidence %q: level is only for test reports", r.Name)
	}
	if (r.Type == TypeSBOM) != (r.SBOM != nil) {
		return fmt.Errorf("evidence %q: an sbom summary belongs to, and only to, an sbom", r.Name)
	}
	if (r.Type == TypeAnomalies) != (r.Anomalies != nil) {
		return fmt.Errorf("evidence %q: an anomalies summary belongs to, and only to, an anomaly list", r.Name)
	}
	if (r.Type == TypeChangeReview) != (r.Changes != nil) {
		return fmt.Errorf("evidence %q: a changes summary belongs to, and only to, a change review", r.Name)
	}
	if r.Changes != nil {
		if c := r.Changes; c.Commits < 0 || c.Reviewed < 0 || c.Unreviewed < 0 || c.Reviewed+c.Unreviewed != c.Commits {
			return fmt.Errorf("evidence %q: changes summary: reviewed (%d) and unreviewed (%d) do not add up to commits (%d)", r.Name, c.Reviewed, c.Unreviewed, c.Commits)
		}
		if r.Changes.Source == "" || r.Changes.Repository == "" || r.Changes.Head == "" {
			return fmt.Errorf("evidence %q: changes summary: source, repository and head are required", r.Name)
		}
		if len(r.Changes.UnreviewedChanges) > r.Changes.Unreviewed {
			return fmt.Errorf("evidence %q: changes summary names more unreviewed changes than it counts", r.Name)
		}
		for i, u := range r.Changes.UnreviewedChanges {
			if u.SHA == "" || u.Reason == "" {
				return fmt.Errorf("evidence %q: changes summary: unreviewedChanges[%d] needs a sha and a reason", r.Name, i)
			}
		}
	}
	if r.Type != TypeTestReport && r.Tests != nil {
		return fmt.Errorf("evidence %q: a tests summary belongs only to a test report", r.Name)
	}
	if r.Type == TypeSOUP && r.DerivedFrom == nil {
		return fmt.Errorf("evidence %q: a SOUP list must name the SBOM it was derived from", r.Name)
	}
	return nil
}

// ValidateEvidenceName checks the name an evidence file is recorded under: a
// clean, relative, slash-separated path. Names are shown to people and used
// as file names inside audit packs, so "..", absolute paths and backslashes
// are refused.
func ValidateEvidenceName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("evidence name is empty")
	case len(name) > 512:
		return fmt.Errorf("evidence name %.40q...: longer than 512 bytes", name)
	case strings.ContainsAny(name, "\\\x00"):
		return fmt.Errorf("evidence name %q: backslashes and NUL are not allowed", name)
	case path.IsAbs(name) || path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == "..":
		return fmt.Errorf("evidence name %q: must be a clean relative path inside the project", name)
	}
	return nil
}
