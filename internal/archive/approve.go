package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// maxClockSkew is how far in the future a signer's clock may be.
const maxClockSkew = 5 * time.Minute

// SubmitApproval implements api.Archive.
func (a *Archive) SubmitApproval(ctx context.Context, bundleJSON []byte) (*api.ApprovalResult, error) {
	p, err := authorize(ctx, auth.ActionApprove)
	if err != nil {
		return nil, err
	}
	res, err := a.submitApproval(ctx, p, bundleJSON)
	if err != nil {
		a.audit(ctx, p, "approval.submit", digest.FromBytes(bundleJSON).String(), string(evidence.KindOf(err)), err.Error())
		return nil, err
	}
	return res, nil
}

func (a *Archive) submitApproval(ctx context.Context, p auth.Principal, bundleJSON []byte) (*api.ApprovalResult, error) {
	if len(bundleJSON) > sign.MaxBundleSize {
		return nil, evidence.Errorf(evidence.KindTooLarge, "the approval bundle is larger than %d bytes", sign.MaxBundleSize)
	}
	approvers, err := a.cat.Approvers(ctx)
	if err != nil {
		return nil, err
	}
	trust := approverTrust(approvers, a.trust.TrustedRoot)
	if len(trust.Keys) == 0 && len(trust.Identities) == 0 {
		return nil, evidence.Errorf(evidence.KindForbidden, "the archive has no registered approvers (evidentd approver add)")
	}
	ap, v, err := verify.Approval(ctx, bundleJSON, trust)
	if err != nil {
		if evidence.IsKind(err, evidence.KindVerification) {
			return nil, evidence.Errorf(evidence.KindForbidden, "the approval is not signed by a registered approver: %v", err)
		}
		return nil, err
	}
	identity := v.SignerIdentity

	// The registry binds the signer to a printed name and role.
	var entry *catalog.Approver
	var rolesOfSigner []string
	for i := range approvers {
		if !signedBy(approvers[i], v) {
			continue
		}
		rolesOfSigner = append(rolesOfSigner, approvers[i].Role)
		if approvers[i].Role == ap.Signer.Role {
			entry = &approvers[i]
		}
	}
	switch {
	case entry == nil:
		return nil, evidence.Errorf(evidence.KindForbidden, "%s is registered for role(s) %s, not %q", identity, strings.Join(rolesOfSigner, ", "), ap.Signer.Role)
	case entry.Name != ap.Signer.Name:
		return nil, evidence.Errorf(evidence.KindForbidden, "the record is signed as %q but key %s belongs to %q", ap.Signer.Name, identity, entry.Name)
	}

	// The release it is bound to.
	rel, err := a.cat.Release(ctx, ap.Product, ap.Version)
	if err != nil {
		return nil, notFound(err, "release %s@%s not found", ap.Product, ap.Version)
	}
	if rel.ManifestDigest != ap.ManifestDigest {
		return nil, evidence.Errorf(evidence.KindNotFound, "no release with manifest %s: %s@%s has manifest %s", ap.ManifestDigest, ap.Product, ap.Version, rel.ManifestDigest)
	}
	m, pol, err := a.releasePolicy(ctx, rel)
	if err != nil {
		return nil, err
	}
	switch {
	case ap.Signer.Authentication == evidence.AuthKey && !pol.AllowUnencryptedApproverKeys:
		return nil, evidence.Errorf(evidence.KindForbidden, "the record was signed with a key that has no passphrase; policy %s requires two components (a passphrase-protected key or a keyless OIDC login)", pol.Name)
	case identity == rel.Signer:
		return nil, evidence.Errorf(evidence.KindForbidden, "%s sealed %s and cannot also approve it", identity, rel.Ref())
	case !m.Policy.Passed():
		return nil, evidence.Errorf(evidence.KindPolicy, "%s does not pass its policy; it cannot be approved", rel.Ref())
	}
	signedAt, timestamped := ap.SignedAt.UTC(), false
	if t, ok := v.SigningTime(); ok {
		signedAt, timestamped = t.UTC(), true
	} else if ap.SignedAt.After(a.now().Add(maxClockSkew)) {
		return nil, evidence.Errorf(evidence.KindInvalid, "the record is signed at %s, in the future", ap.SignedAt.UTC().Format(time.RFC3339))
	}

	// The sequence is checked again in the transaction below; checking it
	// first too keeps a refused record out of the blob store.
	recs, err := a.cat.Approvals(ctx, ap.Product, ap.Version)
	if err != nil {
		return nil, err
	}
	if err := checkSequence(catalog.ApprovalRecord{Product: ap.Product, Version: ap.Version, Decision: ap.Decision, Name: ap.Signer.Name}, recs, pol, m.SafetyClass); err != nil {
		return nil, err
	}

	bd := digest.FromBytes(bundleJSON)
	if err := a.blobs.Put(ctx, bd, int64(len(bundleJSON)), bytes.NewReader(bundleJSON)); err != nil {
		return nil, fmt.Errorf("store approval %s: %w", bd, err)
	}
	rec := catalog.ApprovalRecord{
		Product: ap.Product, Version: ap.Version, ManifestDigest: ap.ManifestDigest, BundleDigest: bd,
		Decision: ap.Decision, Name: ap.Signer.Name, Role: ap.Signer.Role, Identity: identity,
		Authentication: ap.Signer.Authentication, Meaning: ap.Meaning, Comment: ap.Comment,
		SignedAt: signedAt, Timestamped: timestamped, AcceptedAt: a.now().UTC(),
	}
	entryBytes, err := tlog.Entry{Type: tlog.EntryApproval, Product: ap.Product, Version: ap.Version, Manifest: ap.ManifestDigest, Record: bd}.Encode()
	if err != nil {
		return nil, err
	}
	var status string
	var missing []string
	err = a.cat.Update(ctx, func(tx catalog.Tx) error {
		recs, err := tx.Approvals(ctx, ap.Product, ap.Version)
		if err != nil {
			return err
		}
		if err := checkSequence(rec, recs, pol, m.SafetyClass); err != nil {
			return err
		}
		if rec.LogIndex, err = tlog.Append(ctx, tx, entryBytes); err != nil {
			return fmt.Errorf("append to log: %w", err)
		}
		if err := tx.InsertApproval(ctx, rec); err != nil {
			return err
		}
		status, missing = pol.Status(m.SafetyClass, signatures(append(recs, rec)))
		return tx.AppendAudit(ctx, a.event(p, "approval."+ap.Decision, rel.Ref(), "ok",
			fmt.Sprintf("%s (%s) signed %q with %s; log index %d; status %s", rec.Name, rec.Role, rec.Meaning, identity, rec.LogIndex, status)))
	})
	if errors.Is(err, catalog.ErrExists) {
		return nil, evidence.Errorf(evidence.KindConflict, "this approval record was already submitted")
	}
	if err != nil {
		return nil, err
	}
	a.log.Info("approval accepted", "release", rel.Ref(), "decision", rec.Decision, "name", rec.Name, "role", rec.Role, "log_index", rec.LogIndex, "status", status)
	proof, err := tlog.NewProof(ctx, a.cat, a.signer, a.signer.Name(), rec.LogIndex)
	if err != nil {
		return nil, fmt.Errorf("log proof: %w", err)
	}
	return &api.ApprovalResult{Release: rel.Ref(), Status: status, Missing: nonNil(missing), Signature: apiSignature(rec), Log: proof, LogKey: a.logKey}, nil
}

// checkSequence refuses a record that the release's existing records rule
// out (21 CFR 11.10(f): sequencing): nothing after a revocation, no approval
// after a rejection, and no person signing the same decision twice.
func checkSequence(rec catalog.ApprovalRecord, recs []catalog.ApprovalRecord, pol *policy.Policy, c evidence.Class) error {
	ref := rec.Product + "@" + rec.Version
	for _, r := range recs {
		if r.Decision == evidence.DecisionRevoked {
			return evidence.Errorf(evidence.KindConflict, "%s was revoked by %s on %s; nothing more can be signed", ref, r.Name, r.SignedAt.Format(time.RFC3339))
		}
	}
	for _, r := range recs {
		if rec.Decision == evidence.DecisionApproved && r.Decision == evidence.DecisionRejected {
			return evidence.Errorf(evidence.KindConflict, "%s was rejected by %s on %s (%q); it cannot be approved", ref, r.Name, r.SignedAt.Format(time.RFC3339), r.Comment)
		}
		if r.Decision == rec.Decision && r.Name == rec.Name {
			return evidence.Errorf(evidence.KindConflict, "%s already %s %s (log entry %d)", r.Name, r.Decision, ref, r.LogIndex)
		}
	}
	return nil
}

// approverTrust is the trust an approval record is verified against: the
// registered approvers' keys and keyless identities, with the archive's
// trusted root for certificates and timestamps.
func approverTrust(approvers []catalog.Approver, tr root.TrustedMaterial) sign.Trust {
	t := sign.Trust{TrustedRoot: tr}
	seen := map[string]bool{}
	for _, ap := range approvers {
		switch {
		case ap.KeyID != "" && !seen[ap.KeyID]:
			k, err := sign.LoadPublicKey(ap.PublicKey)
			if err != nil {
				continue // refused at registration; never trusted if it got in anyway
			}
			seen[ap.KeyID] = true
			t.Keys = append(t.Keys, k)
		case ap.Issuer != "" && tr != nil:
			t.Identities = append(t.Identities, sign.Identity{Issuer: ap.Issuer, SubjectRegexp: ap.Subject})
		}
	}
	return t
}

// signedBy reports whether a registry entry names who signed: its key, or
// its keyless issuer and subject pattern (matched in full).
func signedBy(e catalog.Approver, v *sign.Verified) bool {
	if e.KeyID != "" {
		return e.KeyID == v.SignerKeyID
	}
	c := v.Certificate
	if c == nil || e.Issuer != c.Issuer {
		return false
	}
	re, err := regexp.Compile("^(?:" + e.Subject + ")$")
	return err == nil && re.MatchString(c.Subject)
}

// releasePolicy reads a release's manifest and the policy it was sealed
// under, which also says what approvals it needs.
func (a *Archive) releasePolicy(ctx context.Context, rel *catalog.Release) (*evidence.Manifest, *policy.Policy, error) {
	mb, err := a.readBlob(ctx, rel.ManifestDigest, "manifest", evidence.MaxManifestSize)
	if err != nil {
		return nil, nil, err
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return nil, nil, err
	}
	pb, err := a.readBlob(ctx, m.Policy.Digest, "policy", policy.MaxFileSize)
	if err != nil {
		return nil, nil, err
	}
	pol, err := policy.Decode(bytes.NewReader(pb))
	if err != nil {
		return nil, nil, err
	}
	return m, pol, nil
}

func signatures(recs []catalog.ApprovalRecord) []policy.Signature {
	out := make([]policy.Signature, len(recs))
	for i, r := range recs {
		out[i] = policy.Signature{Decision: r.Decision, Name: r.Name, Role: r.Role}
	}
	return out
}

func apiSignature(r catalog.ApprovalRecord) api.Signature {
	return api.Signature{
		Decision: r.Decision, Name: r.Name, Role: r.Role, Identity: r.Identity, Authentication: r.Authentication,
		Meaning: r.Meaning, Comment: r.Comment, SignedAt: r.SignedAt, Timestamped: r.Timestamped,
		Record: r.BundleDigest, LogIndex: r.LogIndex,
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Status implements api.Archive.
func (a *Archive) Status(ctx context.Context, ref evidence.ReleaseRef) (*api.ReleaseStatus, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if err := validRef(ref); err != nil {
		return nil, err
	}
	rel, err := a.cat.Release(ctx, ref.Product, ref.Version)
	if err != nil {
		return nil, notFound(err, "release %s not found", ref)
	}
	m, pol, err := a.releasePolicy(ctx, rel)
	if err != nil {
		return nil, err
	}
	recs, err := a.cat.Approvals(ctx, ref.Product, ref.Version)
	if err != nil {
		return nil, err
	}
	status, missing := pol.Status(m.SafetyClass, signatures(recs))
	out := &api.ReleaseStatus{
		ReleaseSummary: a.summary(rel), Missing: nonNil(missing), Signatures: []api.Signature{},
		RequiredRoles: nonNil(pol.Approvals[m.SafetyClass].Roles), Distinct: pol.Approvals[m.SafetyClass].Distinct,
		AllowUnencryptedKeys: pol.AllowUnencryptedApproverKeys,
	}
	out.Status = status
	for _, r := range recs {
		out.Signatures = append(out.Signatures, apiSignature(r))
	}
	return out, nil
}

// statusOf computes a release's status for listings: a release without
// records is sealed, without reading its policy.
func (a *Archive) statusOf(ctx context.Context, rel *catalog.Release) (string, error) {
	recs, err := a.cat.Approvals(ctx, rel.Product, rel.Version)
	if err != nil || len(recs) == 0 {
		return policy.StatusSealed, err
	}
	m, pol, err := a.releasePolicy(ctx, rel)
	if err != nil {
		return "", err
	}
	s, _ := pol.Status(m.SafetyClass, signatures(recs))
	return s, nil
}
