package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
)

const (
	sqlApprovers      = `SELECT id, name, role, key_id, public_key, issuer, subject, created_at FROM approvers ORDER BY created_at, id`
	sqlApproverExists = `SELECT EXISTS (SELECT FROM approvers WHERE id = $1)`
	sqlInsertApprover = `INSERT INTO approvers (id, name, role, key_id, public_key, issuer, subject, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`
	sqlApprovals      = `SELECT r.product, r.version, a.manifest_digest, a.bundle_digest, a.decision, a.name, a.role, a.identity,
		a.authentication, a.meaning, a.comment, a.signed_at, a.timestamped, a.accepted_at, a.log_index
		FROM approvals a JOIN releases r ON r.id = a.release_id
		WHERE r.product = $1 AND r.version = $2 ORDER BY a.log_index`
	sqlApprovalExists = `SELECT EXISTS (SELECT FROM approvals WHERE bundle_digest = $1)`
	sqlInsertApproval = `INSERT INTO approvals (release_id, manifest_digest, bundle_digest, decision, name, role, identity,
		authentication, meaning, comment, signed_at, timestamped, accepted_at, log_index)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`
)

// Approvers implements catalog.Reader.
func (rd *reader) Approvers(ctx context.Context) ([]catalog.Approver, error) {
	out, err := collect(ctx, rd.q, sqlApprovers, nil, func(rows pgx.Rows, a *catalog.Approver) error {
		var at int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Role, &a.KeyID, &a.PublicKey, &a.Issuer, &a.Subject, &at); err != nil {
			return err
		}
		a.CreatedAt = sqlcat.DecTime(at)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	return out, nil
}

// Approvals implements catalog.Reader.
func (rd *reader) Approvals(ctx context.Context, product, version string) ([]catalog.ApprovalRecord, error) {
	if !storable(product) || !storable(version) {
		return nil, nil
	}
	out, err := collect(ctx, rd.q, sqlApprovals, []any{product, version}, func(rows pgx.Rows, a *catalog.ApprovalRecord) error {
		var md, bd []byte
		var signed, accepted, idx int64
		if err := rows.Scan(&a.Product, &a.Version, &md, &bd, &a.Decision, &a.Name, &a.Role, &a.Identity,
			&a.Authentication, &a.Meaning, &a.Comment, &signed, &a.Timestamped, &accepted, &idx); err != nil {
			return err
		}
		var err error
		if a.ManifestDigest, err = sqlcat.DecDigest(md); err != nil {
			return err
		}
		if a.BundleDigest, err = sqlcat.DecDigest(bd); err != nil {
			return err
		}
		a.SignedAt, a.AcceptedAt, a.LogIndex = sqlcat.DecTime(signed), sqlcat.DecTime(accepted), uint64(idx)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("approvals of %s@%s: %w", product, version, err)
	}
	return out, nil
}

// InsertApprover implements catalog.Tx. The same ID twice: an error wrapping
// catalog.ErrExists.
func (t *tx) InsertApprover(ctx context.Context, a catalog.Approver) error {
	switch {
	case a.ID == "" || a.Name == "" || a.Role == "":
		return errors.New("insert approver: id, name and role are required")
	case a.KeyID == "" && (a.Issuer == "" || a.Subject == ""):
		return fmt.Errorf("insert approver %s: a key or an OIDC issuer and subject is required", a.ID)
	case a.KeyID != "" && len(a.PublicKey) == 0:
		return fmt.Errorf("insert approver %s: the key ID is set but the public key is missing", a.ID)
	}
	if err := checkText("approver field", a.ID, a.Name, a.Role, a.KeyID, a.Issuer, a.Subject); err != nil {
		return fmt.Errorf("insert approver: %w", err)
	}
	at, err := sqlcat.EncTime("createdAt", a.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	var exists bool
	if err := t.q.QueryRow(ctx, sqlApproverExists, a.ID).Scan(&exists); err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	if exists {
		return fmt.Errorf("insert approver %s: %w", a.ID, catalog.ErrExists)
	}
	var pub []byte // NULL for keyless
	if len(a.PublicKey) > 0 {
		pub = a.PublicKey
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertApprover, a.ID, a.Name, a.Role, a.KeyID, pub, a.Issuer, a.Subject, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	return nil
}

// InsertApproval implements catalog.Tx. The release must exist (else an
// error wrapping catalog.ErrNotFound); the same bundle twice: ErrExists.
func (t *tx) InsertApproval(ctx context.Context, a catalog.ApprovalRecord) error {
	md, err := sqlcat.EncDigest("manifest digest", a.ManifestDigest)
	if err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	bd, err := sqlcat.EncDigest("bundle digest", a.BundleDigest)
	if err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	signed, err := sqlcat.EncTime("signedAt", a.SignedAt)
	if err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	accepted, err := sqlcat.EncTime("acceptedAt", a.AcceptedAt)
	if err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	idx, err := sqlcat.EncIndex("log index", a.LogIndex)
	if err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	if err := checkText("approval field", a.Decision, a.Name, a.Role, a.Identity, a.Authentication, a.Meaning, a.Comment); err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	if err := t.usable(); err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	rk, err := t.release(ctx, a.Product, a.Version)
	if err != nil {
		return fmt.Errorf("insert approval of %s@%s: %w", a.Product, a.Version, err)
	}
	var exists bool
	if err := t.q.QueryRow(ctx, sqlApprovalExists, bd).Scan(&exists); err != nil {
		return fmt.Errorf("insert approval: %w", err)
	}
	if exists {
		return fmt.Errorf("insert approval %s: %w", a.BundleDigest, catalog.ErrExists)
	}
	err = t.atomically(func() error {
		_, err := t.q.Exec(ctx, sqlInsertApproval, rk.id, md, bd, a.Decision, a.Name, a.Role, a.Identity,
			a.Authentication, a.Meaning, a.Comment, signed, a.Timestamped, accepted, idx)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert approval of %s@%s: %w", a.Product, a.Version, err)
	}
	return nil
}
