// Package archive is the archive's use cases — ingest, lookup, export, the
// log — written against the blob store and catalog interfaces only. It
// implements api.Archive; the HTTP layer and every store implementation are
// outside it, chosen by main.
//
// Authorisation is enforced here, from the principal in the context (see
// package auth), so that it holds for every transport.
package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/blob"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// Config wires an archive.
type Config struct {
	Blobs   blob.Store
	Catalog catalog.Catalog
	// Trust is whose release signatures the archive accepts: keys, keyless
	// identities, and the trusted root (Fulcio CAs, timestamp authorities,
	// logs) that certificates and timestamps are checked against. The
	// trusted root also verifies keyless approvers and approval timestamps.
	Trust sign.Trust
	// TrustedRootJSON is Trust.TrustedRoot as a trusted_root.json, carried
	// in audit packs so that they verify offline.
	TrustedRootJSON []byte
	// LogSigner signs checkpoints; LogVerifierKey is its public note key.
	LogSigner      note.Signer
	LogVerifierKey string
	// MaxMissingQuery bounds one MissingBlobs call (default 10,000).
	MaxMissingQuery int
	Now             func() time.Time
	Log             *slog.Logger
}

// Archive implements api.Archive over a blob store and a catalog.
type Archive struct {
	blobs    blob.Store
	cat      catalog.Catalog
	trust    sign.Trust
	rootJSON []byte
	signer   note.Signer
	verifier note.Verifier
	logKey   string
	maxQuery int
	now      func() time.Time
	log      *slog.Logger
}

var _ api.Archive = (*Archive)(nil)

// New returns an archive. The log key pair must match.
func New(cfg Config) (*Archive, error) {
	if cfg.Blobs == nil || cfg.Catalog == nil || cfg.LogSigner == nil {
		return nil, errors.New("archive: blobs, catalog and log signer are required")
	}
	v, err := tlog.NewVerifier(cfg.LogVerifierKey)
	if err != nil {
		return nil, fmt.Errorf("archive: log verifier key: %w", err)
	}
	if v.Name() != cfg.LogSigner.Name() || v.KeyHash() != cfg.LogSigner.KeyHash() {
		return nil, errors.New("archive: the log verifier key does not belong to the log signer")
	}
	a := &Archive{
		blobs: cfg.Blobs, cat: cfg.Catalog, trust: cfg.Trust, rootJSON: cfg.TrustedRootJSON,
		signer: cfg.LogSigner, verifier: v, logKey: cfg.LogVerifierKey,
		maxQuery: cfg.MaxMissingQuery, now: cfg.Now, log: cfg.Log,
	}
	if a.maxQuery <= 0 {
		a.maxQuery = 10000
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a, nil
}

// authorize returns the principal in ctx if it may perform act.
func authorize(ctx context.Context, act auth.Action) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return p, evidence.Errorf(evidence.KindUnauthorized, "no credentials: a token is required")
	}
	if !auth.Can(p.Role, act) {
		return p, evidence.Errorf(evidence.KindForbidden, "role %q may not %s", p.Role, act)
	}
	return p, nil
}

// audit appends an event to the trail in its own transaction. Callers that
// change records in a transaction append the event there instead.
func (a *Archive) audit(ctx context.Context, p auth.Principal, action, target, outcome, detail string) {
	err := a.cat.Update(ctx, func(tx catalog.Tx) error {
		return tx.AppendAudit(ctx, a.event(p, action, target, outcome, detail))
	})
	if err != nil {
		a.log.Error("audit trail append failed", "action", action, "target", target, "err", err)
	}
}

func (a *Archive) event(p auth.Principal, action, target, outcome, detail string) catalog.AuditEvent {
	return catalog.AuditEvent{
		At: a.now().UTC(), Actor: p.String(), Action: action, Target: target,
		Remote: p.Remote, Outcome: outcome, Detail: detail,
	}
}

// MissingBlobs implements api.Archive.
func (a *Archive) MissingBlobs(ctx context.Context, ds []digest.Digest) ([]digest.Digest, error) {
	if _, err := authorize(ctx, auth.ActionPush); err != nil {
		return nil, err
	}
	if len(ds) > a.maxQuery {
		return nil, evidence.Errorf(evidence.KindInvalid, "at most %d digests per query, got %d", a.maxQuery, len(ds))
	}
	missing := []digest.Digest{}
	for _, d := range ds {
		if d.IsZero() {
			return nil, evidence.Errorf(evidence.KindInvalid, "a digest is empty")
		}
		_, err := a.blobs.Stat(ctx, d)
		switch {
		case errors.Is(err, blob.ErrNotFound):
			missing = append(missing, d)
		case err != nil:
			return nil, fmt.Errorf("stat blob %s: %w", d, err)
		}
	}
	return missing, nil
}

// PutBlob implements api.Archive.
func (a *Archive) PutBlob(ctx context.Context, d digest.Digest, size int64, r io.Reader) error {
	p, err := authorize(ctx, auth.ActionPush)
	if err != nil {
		return err
	}
	if d.IsZero() {
		return evidence.Errorf(evidence.KindInvalid, "the blob digest is empty")
	}
	if _, err := a.blobs.Stat(ctx, d); err == nil {
		return nil // content-addressed: already stored, identical by construction
	}
	if err := a.blobs.Put(ctx, d, size, r); err != nil {
		switch {
		case errors.Is(err, digest.ErrMismatch):
			return evidence.Errorf(evidence.KindInvalid, "blob %s: %w", d, err)
		case errors.Is(err, blob.ErrTooLarge):
			return evidence.Errorf(evidence.KindTooLarge, "blob %s: %w", d, err)
		case ctx.Err() != nil:
			return ctx.Err()
		}
		return fmt.Errorf("put blob %s: %w", d, err)
	}
	a.audit(ctx, p, "blob.put", d.String(), "ok", fmt.Sprintf("%d bytes", size))
	return nil
}

// GetBlob implements api.Archive.
func (a *Archive) GetBlob(ctx context.Context, d digest.Digest) (io.ReadCloser, int64, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, 0, err
	}
	if d.IsZero() {
		return nil, 0, evidence.Errorf(evidence.KindInvalid, "the blob digest is empty")
	}
	rc, n, err := a.blobs.Get(ctx, d)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, 0, evidence.Errorf(evidence.KindNotFound, "blob %s not found", d)
	}
	return rc, n, err
}

// readBlob reads a whole small blob, refusing one larger than max.
func (a *Archive) readBlob(ctx context.Context, d digest.Digest, what string, max int64) ([]byte, error) {
	rc, n, err := a.blobs.Get(ctx, d)
	if errors.Is(err, blob.ErrNotFound) {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s %s has not been uploaded", what, d)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, d, err)
	}
	defer rc.Close()
	if n > max {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s %s is %d bytes, more than %d", what, d, n, max)
	}
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", what, d, err)
	}
	return b, nil
}

// notFound maps a catalog miss to KindNotFound.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, catalog.ErrNotFound) {
		return evidence.Errorf(evidence.KindNotFound, format, args...)
	}
	return err
}

// Authenticate turns a bearer token into the principal it stands for. The
// token is looked up by its hash; an unknown or revoked token is
// KindUnauthorized.
func (a *Archive) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	if !strings.HasPrefix(token, auth.TokenPrefix) || len(token) > 128 {
		return auth.Principal{}, evidence.Errorf(evidence.KindUnauthorized, "malformed token")
	}
	t, err := a.cat.Token(ctx, auth.HashToken(token))
	if errors.Is(err, catalog.ErrNotFound) {
		return auth.Principal{}, evidence.Errorf(evidence.KindUnauthorized, "unknown token %s", auth.TokenID(token))
	}
	if err != nil {
		return auth.Principal{}, err
	}
	if t.Revoked() {
		return auth.Principal{}, evidence.Errorf(evidence.KindUnauthorized, "revoked token %s", t.ID)
	}
	return auth.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role}, nil
}
