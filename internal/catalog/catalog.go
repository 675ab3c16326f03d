// Package catalog defines the archive's metadata store: accepted releases and
// what they are indexed by (components, artifact digests, SOUP packages), the
// Merkle log's leaves and nodes, API tokens and the audit trail.
//
// Implementations live in sub-packages (sqlite, postgres); catalogtest is the
// conformance suite every implementation must pass. The archive is the only
// writer and reaches the store only through these interfaces.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// Errors, returned wrapped.
var (
	ErrNotFound = errors.New("not found")
	// ErrExists is returned when a unique record (product@version, a
	// token) is inserted a second time.
	ErrExists = errors.New("already exists")
)

// Catalog is the metadata store. It is safe for concurrent use.
type Catalog interface {
	Reader
	// Update runs fn in a write transaction. Everything fn writes becomes
	// visible at once when fn returns nil and Update commits, and nothing
	// of it otherwise. Write transactions are serialised, so the log has one
	// append order; fn must not retain tx and must not call Update. When
	// Update returns nil the writes are durable. A write that fails with
	// ErrExists (InsertRelease, InsertToken) or with ErrNotFound
	// (RevokeToken) leaves the transaction usable;
	// any other failed write makes Update roll back whatever fn returns.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the store can serve requests (readiness).
	Ping(ctx context.Context) error
	Close() error
}

// Reader is every read. Reads outside a transaction see committed data only.
//
// Lookups (History, Find*) return an empty list, not ErrNotFound, when
// nothing matches; hits come in log order. Names sort by bytes ("Zeta"
// before "monitor"). Times round-trip exactly, to the nanosecond, in UTC.
type Reader interface {
	tlog.Reader

	// Release returns product@version, with its components and artifacts.
	Release(ctx context.Context, product, version string) (*Release, error)
	// History returns a product's releases (without components and
	// artifacts), newest first: by the manifest's createdAt, then by log
	// index.
	History(ctx context.Context, product string) ([]Release, error)
	// Products lists every product with its release count and latest
	// release, by name.
	Products(ctx context.Context) ([]Product, error)
	// FindArtifact returns every release that ships the artifact.
	FindArtifact(ctx context.Context, d digest.Digest) ([]ArtifactHit, error)
	// FindComponent returns every release that contains component
	// name@version.
	FindComponent(ctx context.Context, name, version string) ([]ComponentHit, error)
	// FindSOUP returns every release whose SOUP includes the package:
	// q.Base is a purl without version, qualifiers or subpath; an empty
	// q.Version matches every version.
	FindSOUP(ctx context.Context, q SOUPQuery) ([]SOUPHit, error)
	// WalkReleases calls fn for every release, in log order, with its
	// components, artifacts and blobs.
	WalkReleases(ctx context.Context, fn func(*Release) error) error

	// Token returns the token with the given hash.
	Token(ctx context.Context, hash []byte) (*Token, error)
	// Tokens lists tokens (hashes included), oldest first.
	Tokens(ctx context.Context) ([]Token, error)
	// AuditEvents returns up to limit events with Seq > after, in order.
	AuditEvents(ctx context.Context, after int64, limit int) ([]AuditEvent, error)

	// Approvers lists the approver registry, oldest first.
	Approvers(ctx context.Context) ([]Approver, error)
	// Approvals returns a release's approval records in log order (empty
	// when there are none; an unknown release is not an error).
	Approvals(ctx context.Context, product, version string) ([]ApprovalRecord, error)
}

// Tx is a write transaction. Its reads see its own writes.
type Tx interface {
	Reader
	tlog.Writer
	// InsertRelease records a release with its components, artifacts and
	// blobs. product@version already present: an error wrapping ErrExists.
	InsertRelease(ctx context.Context, r *Release) error
	// InsertSOUP records SOUP entries of a release (in batches; call it as
	// often as needed within the transaction).
	InsertSOUP(ctx context.Context, product, version string, entries []SOUP) error
	// InsertToken records a token. The same hash twice: ErrExists.
	InsertToken(ctx context.Context, t Token) error
	// RevokeToken marks the token with the given ID revoked at the given
	// time; the row is kept. An unknown ID: ErrNotFound. Revoking a revoked
	// token changes nothing and is not an error: it keeps the first time.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// AppendAudit appends an event; Seq is assigned by the store.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// InsertApprover registers an approver. The same ID twice: ErrExists.
	InsertApprover(ctx context.Context, a Approver) error
	// InsertApproval records an accepted approval record of an existing
	// release (else ErrNotFound). The same bundle twice: ErrExists.
	InsertApproval(ctx context.Context, a ApprovalRecord) error
}

// Release is an accepted release as the catalog records it.
type Release struct {
	Product        string
	Version        string
	ManifestDigest digest.Digest
	BundleDigest   digest.Digest
	SafetyClass    string
	CreatedAt      time.Time // the manifest's createdAt
	AcceptedAt     time.Time // when the archive accepted it
	Signer         string    // the identity the bundle verified with
	LogIndex       uint64
	// Loaded by Release and WalkReleases; empty in History.
	Components []Component
	Artifacts  []Artifact
	// Blobs lists every blob the release references (manifest, bundle,
	// evidence), so that fsck can check each one is stored.
	Blobs []digest.Digest
}

// Ref returns "product@version".
func (r *Release) Ref() string { return r.Product + "@" + r.Version }

// Component is one component of a release.
type Component struct {
	Name        string
	Version     string
	Kind        string
	SafetyClass string
}

// Artifact is one released artifact.
type Artifact struct {
	Component string
	Name      string
	Digest    digest.Digest
	Size      int64
}

// SOUP is one SOUP entry of a release, as indexed.
type SOUP struct {
	Component string
	Name      string
	Version   string
	PURL      string // as the SBOM states it
	Base      string // normalised purl without version, qualifiers, subpath; "" when there is no purl
}

// SOUPQuery selects SOUP by package.
type SOUPQuery struct {
	Base    string
	Version string
}

// Product summarises one product's releases.
type Product struct {
	Name          string
	Releases      int
	LatestVersion string
	LatestAt      time.Time
}

// ArtifactHit is a release that ships an artifact.
type ArtifactHit struct {
	Product, Version, Component, ComponentVersion, Name string
	Size                                                int64
}

// ComponentHit is a release that contains a component version.
type ComponentHit struct {
	Product, Version, Component, ComponentVersion, Kind, SafetyClass string
}

// SOUPHit is a release whose SOUP includes a package.
type SOUPHit struct {
	Product, Version, Component, ComponentVersion string
	Name, PackageVersion, PURL                    string
}

// Token is an API token. Only its SHA-256 hash is stored; the token itself
// is shown once, when it is created. Role is opaque here (package auth
// defines the roles); ID and Hash are each unique.
type Token struct {
	ID        string // short public identifier, shown in logs and the audit trail
	Name      string
	Role      string
	Hash      []byte
	CreatedAt time.Time
	RevokedAt time.Time // zero while the token is not revoked
}

// Revoked reports whether the token has been revoked.
func (t *Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// Approver is one entry of the approver registry: a person (printed name)
// in a role, identified by a public key or by a keyless OIDC identity.
// A person with two roles has two entries with the same name.
type Approver struct {
	ID        string
	Name      string
	Role      string
	KeyID     string // "sha256:<hex>" of the PKIX public key; "" for keyless
	PublicKey []byte // PEM; nil for keyless
	Issuer    string // keyless: the OIDC issuer
	Subject   string // keyless: a regular expression the certificate subject must match in full
	CreatedAt time.Time
}

// ApprovalRecord is an accepted approval, rejection or revocation of a
// release: the facts of its signed predicate and where it is in the log.
type ApprovalRecord struct {
	Product        string
	Version        string
	ManifestDigest digest.Digest
	BundleDigest   digest.Digest // the signed record, stored as a blob
	Decision       string
	Name           string
	Role           string
	Identity       string
	Authentication string
	Meaning        string
	Comment        string
	SignedAt       time.Time // the trusted timestamp when there is one, else the signer's clock
	Timestamped    bool
	AcceptedAt     time.Time
	LogIndex       uint64
}

// AuditEvent is one entry of the append-only audit trail: who changed what,
// when and from where.
type AuditEvent struct {
	Seq     int64
	At      time.Time
	Actor   string // "token:<id> (<name>, <role>)" or "local:<command>"
	Action  string // e.g. "release.push", "blob.put", "token.create"
	Target  string
	Remote  string // client address, when over the network
	Outcome string // "ok", "exists", or the error kind
	Detail  string
}

// ConflictError says which release already holds product@version.
type ConflictError struct {
	Product, Version string
	Existing         digest.Digest
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s@%s already exists with manifest %s", e.Product, e.Version, e.Existing)
}

func (e *ConflictError) Unwrap() error { return ErrExists }
