package evidence

import (
	"strings"
	"time"

	"github.com/evident-dev/evident/internal/digest"
)

// PredicateTypeApproval is the in-toto predicate type of an approval record
// (an electronic signature on a release: approval, rejection or revocation).
const PredicateTypeApproval = "https://evident.dev/attestation/approval/v1"

// Decisions an approval record can carry.
const (
	DecisionApproved = "approved"
	DecisionRejected = "rejected"
	DecisionRevoked  = "revoked"
)

// Decisions lists the valid decisions.
var Decisions = []string{DecisionApproved, DecisionRejected, DecisionRevoked}

// Authentication methods an approval records (21 CFR 11.200: two components).
const (
	AuthKeyPassphrase = "key+passphrase" // a passphrase-encrypted private key
	AuthKey           = "key"            // an unencrypted private key: one component only
	AuthOIDC          = "oidc"           // a keyless certificate from a fresh OIDC login
)

// MaxMeaning and MaxComment bound the free text of an approval.
const (
	MaxMeaning = 500
	MaxComment = 4000
)

// Approval is the predicate of an approval record. Because the manifest
// digest is inside the signed payload (and is the statement's subject), an
// approval cannot be moved to another release (21 CFR 11.70). The record is
// never edited: a revocation is a new record.
type Approval struct {
	ManifestDigest digest.Digest `json:"manifestDigest"`
	Product        string        `json:"product"`
	Version        string        `json:"version"`
	Decision       string        `json:"decision"`
	// Meaning is the text shown to the signer, exactly as shown
	// ("approved for release", "QA review", ...) (11.50).
	Meaning string `json:"meaning"`
	Signer  Signer `json:"signer"`
	// SignedAt is the signer's clock; a trusted timestamp in the bundle,
	// when present, is authoritative.
	SignedAt time.Time `json:"signedAt"`
	Comment  string    `json:"comment,omitempty"`
}

// Signer is who signed, as the approver registry knows them.
type Signer struct {
	Name           string `json:"name"`     // printed name (11.50)
	Role           string `json:"role"`     // e.g. release-manager, qa
	Identity       string `json:"identity"` // key fingerprint or OIDC issuer + subject
	Authentication string `json:"authentication"`
}

// Validate checks an approval's fields: everything present, known decision
// and authentication, a comment for rejections and revocations, bounded text.
func (a *Approval) Validate() error {
	var probs []string
	add := func(s string) { probs = append(probs, s) }
	if a.ManifestDigest.IsZero() {
		add("manifestDigest is not set")
	}
	if err := ValidateName("product", a.Product); err != nil {
		add(err.Error())
	}
	if err := ValidateVersion("version", a.Version); err != nil {
		add(err.Error())
	}
	if !oneOf(a.Decision, Decisions) {
		add("decision " + quote(a.Decision) + ": want approved, rejected or revoked")
	}
	switch m := strings.TrimSpace(a.Meaning); {
	case m == "":
		add("meaning is empty: say what the signature means (e.g. \"approved for release\")")
	case len(a.Meaning) > MaxMeaning:
		add("meaning is longer than 500 bytes")
	}
	if strings.TrimSpace(a.Signer.Name) == "" {
		add("signer.name is empty")
	}
	if err := ValidateName("signer.role", a.Signer.Role); err != nil {
		add(err.Error())
	}
	if a.Signer.Identity == "" {
		add("signer.identity is empty")
	}
	if !oneOf(a.Signer.Authentication, []string{AuthKeyPassphrase, AuthKey, AuthOIDC}) {
		add("signer.authentication " + quote(a.Signer.Authentication) + ": want key+passphrase, key or oidc")
	}
	if a.SignedAt.IsZero() {
		add("signedAt is not set")
	}
	if a.Decision != DecisionApproved && strings.TrimSpace(a.Comment) == "" {
		add("a " + a.Decision + " needs a comment saying why")
	}
	if len(a.Comment) > MaxComment {
		add("comment is longer than 4000 bytes")
	}
	if len(probs) > 0 {
		return Errorf(KindInvalid, "approval: %s", strings.Join(probs, "; "))
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }
