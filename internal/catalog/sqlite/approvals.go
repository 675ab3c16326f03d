package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/sqlcat"
)

const (
	sqlApprovers      = `SELECT id, name, role, key_id, public_key, issuer, subject, created_at FROM approvers ORDER BY created_at, id`
	sqlApproverByID   = `SELECT 1 FROM approvers WHERE id = ?`
	sqlInsertApprover = `INSERT INTO approvers (id, name, role, key_id, public_key, issuer, subject, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	sqlApprovals      = `SELECT r.product, r.version, a.manifest_digest, a.bundle_digest, a.decision, a.name, a.role, a.identity,
		a.authentication, a.meaning, a.comment, a.signed_at, a.timestamped, a.accepted_at, a.log_index
		FROM approvals a JOIN releases r ON r.id = a.release_id
		WHERE r.product = ? AND r.version = ? ORDER BY a.log_index`
	sqlApprovalByBundle = `SELECT 1 FROM approvals WHERE bundle_digest = ?`
	sqlInsertApproval   = `INSERT INTO approvals (release_id, manifest_digest, bundle_digest, decision, name, role, identity,
		authentication, meaning, comment, signed_at, timestamped, accepted_at, log_index)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// Approvers implements catalog.Reader.
func (rd *reader) Approvers(ctx context.Context) ([]catalog.Approver, error) {
	rows, err := rd.st.query(ctx, sqlApprovers)
	if err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	defer rows.Close()
	var out []catalog.Approver
	for rows.Next() {
		var a catalog.Approver
		var at int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Role, &a.KeyID, &a.PublicKey, &a.Issuer, &a.Subject, &at); err != nil {
			return nil, fmt.Errorf("approvers: %w", err)
		}
		a.CreatedAt = sqlcat.DecTime(at)
		out = append(out, a)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("approvers: %w", err)
	}
	return out, nil
}

// Approvals implements catalog.Reader.
func (rd *reader) Approvals(ctx context.Context, product, version string) ([]catalog.ApprovalRecord, error) {
	rows, err := rd.st.query(ctx, sqlApprovals, product, version)
	if err != nil {
		return nil, fmt.Errorf("approvals of %s@%s: %w", product, version, err)
	}
	defer rows.Close()
	var out []catalog.ApprovalRecord
	for rows.Next() {
		var a catalog.ApprovalRecord
		var md, bd []byte
		var signed, accepted, idx int64
		var ts int
		if err := rows.Scan(&a.Product, &a.Version, &md, &bd, &a.Decision, &a.Name, &a.Role, &a.Identity,
			&a.Authentication, &a.Meaning, &a.Comment, &signed, &ts, &accepted, &idx); err != nil {
			return nil, fmt.Errorf("approvals of %s@%s: %w", product, version, err)
		}
		if a.ManifestDigest, err = sqlcat.DecDigest(md); err != nil {
			return nil, err
		}
		if a.BundleDigest, err = sqlcat.DecDigest(bd); err != nil {
			return nil, err
		}
		a.SignedAt, a.AcceptedAt, a.Timestamped, a.LogIndex = sqlcat.DecTime(signed), sqlcat.DecTime(accepted), ts == 1, uint64(idx)
		out = append(out, a)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("approvals of %s@%s: %w", product, version, err)
	}
	return out, nil
}

// InsertApprover implements catalog.Tx.
func (t *tx) InsertApprover(ctx context.Context, a catalog.Approver) error {
	switch {
	case a.ID == "" || a.Name == "" || a.Role == "":
		return errors.New("insert approver: id, name and role are required")
	case a.KeyID == "" && (a.Issuer == "" || a.Subject == ""):
		return fmt.Errorf("insert approver %s: a key or an OIDC issuer and subject is required", a.ID)
	case a.KeyID != "" && len(a.PublicKey) == 0:
		return fmt.Errorf("insert approver %s: the key ID is set but the public key is missing", a.ID)
	}
	at, err := sqlcat.EncTime("createdAt", a.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	if t.failed != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, t.poisoned())
	}
	var one int
	switch err := t.st.scanOne(ctx, sqlApproverByID, []any{a.ID}, &one); {
	case err == nil:
		return fmt.Errorf("insert approver %s: %w", a.ID, catalog.ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	var pub any
	if len(a.PublicKey) > 0 {
		pub = a.PublicKey
	}
	if err := t.st.exec(ctx, sqlInsertApprover, a.ID, a.Name, a.Role, a.KeyID, pub, a.Issuer, a.Subject, at); err != nil {
		return fmt.Errorf("insert approver %s: %w", a.ID, err)
	}
	return nil
}

// InsertApproval implements catalog.Tx.
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
	if t.failed != nil {
		return fmt.Errorf("insert approval: %w", t.poisoned())
	}
	rk, err := t.release(ctx, a.Product, a.Version)
	if err != nil {
		return fmt.Errorf("insert approval of %s@%s: %w", a.Product, a.Version, err)
	}
	var one int
	switch err := t.st.scanOne(ctx, sqlApprovalByBundle, []any{bd}, &one); {
	case err == nil:
		return fmt.Errorf("insert approval %s: %w", a.BundleDigest, catalog.ErrExists)
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("insert approval: %w", err)
	}
	ts := 0
	if a.Timestamped {
		ts = 1
	}
	return t.atomically(func() error {
		return t.st.exec(ctx, sqlInsertApproval, rk.id, md, bd, a.Decision, a.Name, a.Role, a.Identity,
			a.Authentication, a.Meaning, a.Comment, signed, ts, accepted, idx)
	})
}
