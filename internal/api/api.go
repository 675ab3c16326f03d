// Package api is the contract of an evident archive: the operations, their
// request and response types, and their error semantics (evidence.Kind).
// The store-backed archive (package archive) and the HTTP client (package
// client) both implement Archive, so one contract suite (apitest) runs
// in-process and again through HTTP.
package api

import (
	"context"
	"io"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/tlog"
)

// Archive is an evident archive as seen by its users. Every method needs a
// principal allowed to do it (auth): pushes need the push right, everything
// else the read right. Errors carry an evidence.Kind: KindUnauthorized,
// KindForbidden, KindNotFound, KindInvalid, KindConflict, KindVerification,
// KindPolicy, KindInternal.
type Archive interface {
	// MissingBlobs returns those of ds the archive does not have, so a
	// client uploads only what is new.
	MissingBlobs(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error)
	// PutBlob stores content under its digest, verifying it while
	// streaming (size < 0: unknown). Idempotent: a digest already stored
	// succeeds at once without reading r — the archive holds content that
	// hashes to d, so nothing a client sends can change it.
	PutBlob(ctx context.Context, d digest.Digest, size int64, r io.Reader) error
	// GetBlob returns a blob's content and size.
	GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error)

	// PushRelease accepts a sealed release whose manifest, bundle and
	// evidence blobs are already uploaded. It verifies the signature against
	// the archive's trust policy, checks the statement and every evidence
	// blob, re-evaluates the policy and makes the release visible at once,
	// appended to the log. The same release again: Created is false and
	// nothing changes. The same product@version with another manifest:
	// KindConflict.
	PushRelease(ctx context.Context, req PushRequest) (*PushResult, error)

	// Release returns one release with its manifest.
	Release(ctx context.Context, ref evidence.ReleaseRef) (*Release, error)
	// History returns a product's releases, newest first.
	History(ctx context.Context, product string) ([]ReleaseSummary, error)
	// Products lists the archive's products.
	Products(ctx context.Context) ([]Product, error)

	// FindArtifact answers "what is this file?": every release shipping it.
	FindArtifact(ctx context.Context, d digest.Digest) ([]ArtifactHit, error)
	// FindComponent returns every release containing component name@version.
	FindComponent(ctx context.Context, name, version string) ([]ComponentHit, error)
	// FindSOUP returns every release whose SOUP includes a package, given
	// as a purl with or without a version.
	FindSOUP(ctx context.Context, purl string) ([]SOUPHit, error)

	// Export writes the release's audit pack (a tar) to w.
	Export(ctx context.Context, ref evidence.ReleaseRef, w io.Writer) error

	// SubmitApproval accepts a signed approval record: a Sigstore bundle
	// of an in-toto statement with the approval predicate
	// (evidence.PredicateTypeApproval) whose subject is the release's
	// manifest. The signer must be in the archive's approver registry in the
	// role the record claims; the identity that sealed the release may not
	// approve it; one person approves a release once; nothing is accepted
	// for a revoked release. Needs the approve right. The record is appended
	// to the log; nothing is ever edited or removed.
	SubmitApproval(ctx context.Context, bundleJSON []byte) (*ApprovalResult, error)
	// Status returns the release's status, every signature on it, and what
	// the approval policy still needs.
	Status(ctx context.Context, ref evidence.ReleaseRef) (*ReleaseStatus, error)

	// LogInfo returns the log's signed checkpoint and verifier key.
	LogInfo(ctx context.Context) (*LogInfo, error)
	// LogProof returns the inclusion proof of a log entry at the current size.
	LogProof(ctx context.Context, index uint64) (*tlog.Proof, error)
}

// PushRequest names an uploaded, sealed release.
type PushRequest struct {
	Manifest digest.Digest `json:"manifest"`
	Bundle   digest.Digest `json:"bundle"`
}

// PushResult says what the archive did with a pushed release.
type PushResult struct {
	Release        string        `json:"release"`
	ManifestDigest digest.Digest `json:"manifestDigest"`
	Created        bool          `json:"created"` // false: it was already archived, identical
	Signer         string        `json:"signer"`
	Log            *tlog.Proof   `json:"log"`
	LogKey         string        `json:"logKey"` // the note verifier key of the log
}

// ReleaseSummary is a release without its manifest.
type ReleaseSummary struct {
	Product        string        `json:"product"`
	Version        string        `json:"version"`
	ManifestDigest digest.Digest `json:"manifestDigest"`
	BundleDigest   digest.Digest `json:"bundleDigest"`
	SafetyClass    string        `json:"safetyClass"`
	CreatedAt      time.Time     `json:"createdAt"`
	AcceptedAt     time.Time     `json:"acceptedAt"`
	Signer         string        `json:"signer"`
	LogIndex       uint64        `json:"logIndex"`
	Status         string        `json:"status"`
}

// Release statuses.
const (
	StatusSealed   = "sealed"
	StatusApproved = "approved"
	StatusRejected = "rejected"
	StatusRevoked  = "revoked"
)

// Release is a release with its manifest.
type Release struct {
	ReleaseSummary
	Manifest *evidence.Manifest `json:"manifest"`
}

// Product summarises a product.
type Product struct {
	Name          string    `json:"name"`
	Releases      int       `json:"releases"`
	LatestVersion string    `json:"latestVersion"`
	LatestAt      time.Time `json:"latestAt"`
}

// ArtifactHit is a release shipping an artifact.
type ArtifactHit struct {
	Product          string `json:"product"`
	Version          string `json:"version"`
	Component        string `json:"component"`
	ComponentVersion string `json:"componentVersion"`
	Name             string `json:"name"`
	Size             int64  `json:"size"`
}

// ComponentHit is a release containing a component version.
type ComponentHit struct {
	Product          string `json:"product"`
	Version          string `json:"version"`
	Component        string `json:"component"`
	ComponentVersion string `json:"componentVersion"`
	Kind             string `json:"kind"`
	SafetyClass      string `json:"safetyClass"`
}

// SOUPHit is a release whose SOUP includes a package.
type SOUPHit struct {
	Product          string `json:"product"`
	Version          string `json:"version"`
	Component        string `json:"component"`
	ComponentVersion string `json:"componentVersion"`
	Package          string `json:"package"`
	PackageVersion   string `json:"packageVersion"`
	PURL             string `json:"purl"`
}

// LogInfo is the log's current signed checkpoint and the key to verify it.
type LogInfo struct {
	Origin      string `json:"origin"`
	Size        uint64 `json:"size"`
	Checkpoint  string `json:"checkpoint"`
	VerifierKey string `json:"verifierKey"`
}

// Signature is an accepted approval record as readers see it: name, time
// and meaning in every rendering (21 CFR 11.50).
type Signature struct {
	Decision       string        `json:"decision"`
	Name           string        `json:"name"`
	Role           string        `json:"role"`
	Identity       string        `json:"identity"`
	Authentication string        `json:"authentication"`
	Meaning        string        `json:"meaning"`
	Comment        string        `json:"comment,omitempty"`
	SignedAt       time.Time     `json:"signedAt"`
	Timestamped    bool          `json:"timestamped"`
	Record         digest.Digest `json:"record"` // the approval bundle's digest
	LogIndex       uint64        `json:"logIndex"`
}

// ReleaseStatus is a release's approval state.
type ReleaseStatus struct {
	ReleaseSummary
	Signatures []Signature `json:"signatures"`
	// Missing lists the approvals the policy still needs (empty once
	// approved, rejected or revoked).
	Missing []string `json:"missing"`
	// RequiredRoles and Distinct are the approval policy of the release's
	// class, from the policy it was sealed under.
	RequiredRoles []string `json:"requiredRoles"`
	Distinct      bool     `json:"distinct"`
	// AllowUnencryptedKeys says whether approvers may sign with a key
	// that has no passphrase (21 CFR 11.200 wants two components).
	AllowUnencryptedKeys bool `json:"allowUnencryptedKeys"`
}

// ApprovalResult is what the archive did with an approval record.
type ApprovalResult struct {
	Release   string      `json:"release"`
	Status    string      `json:"status"`
	Missing   []string    `json:"missing"`
	Signature Signature   `json:"signature"`
	Log       *tlog.Proof `json:"log"`
	LogKey    string      `json:"logKey"`
}

// ErrorBody is the JSON body of every HTTP error response.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
