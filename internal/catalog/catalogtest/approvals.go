package catalogtest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/catalog"
)

func testApprovers(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	keyed := catalog.Approver{ID: "a1", Name: "Dr. Maria Lindqvist", Role: "release-manager", KeyID: "sha256:" + dg("k1").Hex(),
		PublicKey: []byte("-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n"), CreatedAt: t0}
	keyless := catalog.Approver{ID: "a2", Name: "Sven Olsen", Role: "qa", Issuer: "https://token.actions.githubusercontent.com",
		Subject: `^https://github\\.com/acme/.*$`, CreatedAt: t0.Add(time.Second)}
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertApprover(ctx, keyed); err != nil {
			return err
		}
		return tx.InsertApprover(ctx, keyless)
	})
	got, err := cat.Approvers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []catalog.Approver{keyed, keyless}
	want[0].CreatedAt, want[1].CreatedAt = t0.UTC(), t0.Add(time.Second).UTC()
	if d := cmp.Diff(want, got, opts()); d != "" {
		t.Errorf("Approvers (-want +got):\n%s", d)
	}
	// The same ID again is refused, and the transaction stays usable.
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertApprover(ctx, keyed); !errors.Is(err, catalog.ErrExists) {
			t.Errorf("second InsertApprover: %v, want ErrExists", err)
		}
		return nil
	})
	// An approver with neither a key nor an identity is refused.
	err = cat.Update(ctx, func(tx catalog.Tx) error {
		return tx.InsertApprover(ctx, catalog.Approver{ID: "a3", Name: "x", Role: "qa"})
	})
	if err == nil {
		t.Error("InsertApprover without key or identity succeeded")
	}
}

func testApprovals(t *testing.T, cat catalog.Catalog) {
	ctx := t.Context()
	r := newRelease("monitor", "1.0", 0, t0)
	insert(t, cat, r)
	rec := func(decision string, idx uint64, name string) catalog.ApprovalRecord {
		return catalog.ApprovalRecord{
			Product: r.Product, Version: r.Version, ManifestDigest: r.ManifestDigest,
			BundleDigest: dg(decision + name), Decision: decision, Name: name, Role: "qa",
			Identity: "sha256:" + dg(name).Hex(), Authentication: "key+passphrase",
			Meaning: "QA review", Comment: "", SignedAt: t0.Add(time.Hour), Timestamped: idx%2 == 1,
			AcceptedAt: t0.Add(2 * time.Hour), LogIndex: idx,
		}
	}
	a, b := rec("approved", 1, "Sven Olsen"), rec("rejected", 2, "Ana Ruiz")
	b.Comment = "SOUP list incomplete"
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertApproval(ctx, b); err != nil { // log order, not insert order, is returned
			return err
		}
		return tx.InsertApproval(ctx, a)
	})
	got, err := cat.Approvals(ctx, r.Product, r.Version)
	if err != nil {
		t.Fatal(err)
	}
	a.SignedAt, a.AcceptedAt = a.SignedAt.UTC(), a.AcceptedAt.UTC()
	b.SignedAt, b.AcceptedAt = b.SignedAt.UTC(), b.AcceptedAt.UTC()
	if d := cmp.Diff([]catalog.ApprovalRecord{a, b}, got, opts()); d != "" {
		t.Errorf("Approvals (-want +got):\n%s", d)
	}
	// No approvals, or an unknown release: an empty list.
	for _, v := range []string{"2.0"} {
		got, err := cat.Approvals(ctx, r.Product, v)
		if err != nil || len(got) != 0 {
			t.Errorf("Approvals of unknown release: %v, %v; want none", got, err)
		}
	}
	// The same bundle twice: ErrExists; a release that does not exist: ErrNotFound.
	update(t, cat, func(tx catalog.Tx) error {
		if err := tx.InsertApproval(ctx, a); !errors.Is(err, catalog.ErrExists) {
			t.Errorf("second InsertApproval: %v, want ErrExists", err)
		}
		c := rec("approved", 3, "X")
		c.Version = "9.9"
		if err := tx.InsertApproval(ctx, c); !errors.Is(err, catalog.ErrNotFound) {
			t.Errorf("InsertApproval of a missing release: %v, want ErrNotFound", err)
		}
		return nil
	})
	// Rolled back with everything else.
	err = cat.Update(ctx, func(tx catalog.Tx) error {
		if err := tx.InsertApproval(ctx, rec("revoked", 4, "Y")); err != nil {
			return err
		}
		return errors.New("abort")
	})
	if err == nil {
		t.Fatal("Update returned nil")
	}
	if got, _ := cat.Approvals(ctx, r.Product, r.Version); len(got) != 2 {
		t.Errorf("after a rolled-back Update: %d approvals, want 2", len(got))
	}
}
