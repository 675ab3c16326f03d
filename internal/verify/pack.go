package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/root"
	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

// PackOptions adds to Options what an audit pack needs.
type PackOptions struct {
	Options
	// LogKey, when set, is the archive's log verifier key the auditor
	// trusts; the pack's own trust/log.pub must then be this key. When
	// empty, the pack's key is used and the report says it was not pinned.
	LogKey string
}

// Pack verifies an opened audit pack: the signed index (every byte of the
// pack), the release in it (as Release does), and the log inclusion proof of
// the release against the archive's log key.
func Pack(ctx context.Context, p *pack.Pack, opts PackOptions) (*Report, error) {
	packKey, err := p.ReadFile(pack.LogKeyFile, 4096)
	if err != nil {
		r := &Report{}
		r.Fail("pack", "%s: %v", pack.LogKeyFile, err)
		return r, nil
	}
	vkey := strings.TrimSpace(string(packKey))
	pinned := opts.LogKey != ""
	var keyProblem string
	if pinned && strings.TrimSpace(opts.LogKey) != vkey {
		keyProblem = "the pack's log key is not the pinned --log-key"
		vkey = strings.TrimSpace(opts.LogKey)
	}
	verifier, err := tlog.NewVerifier(vkey)
	if err != nil {
		r := &Report{}
		r.Fail("pack", "log key: %v", err)
		return r, nil
	}

	o := opts.Options
	o.Allowed = func(name string) bool {
		switch {
		case name == pack.IndexFile, name == pack.RecordFile, name == pack.ProofFile, name == pack.LogKeyFile, name == pack.TrustedRootFile:
			return true
		case strings.HasPrefix(name, "log/approval-") && strings.HasSuffix(name, ".json"):
			return true
		case strings.HasPrefix(name, pack.KeysDir+"/"), strings.HasPrefix(name, pack.ApprovalsDir+"/"):
			return true
		}
		return false
	}
	r, err := Release(ctx, p.FS(), o)
	if err != nil {
		return nil, err
	}

	// Every byte of the pack, under the archive's signature.
	ix, err := p.Verify(verifier)
	switch {
	case keyProblem != "":
		r.Fail("pack", "%s", keyProblem)
	case err != nil:
		r.Fail("pack", "%v", err)
	case r.Release != "" && ix.Release != r.Release:
		r.Fail("pack", "the signed index is for %s, the pack holds %s", ix.Release, r.Release)
	default:
		how := "the pack's own key (pin it with --log-key)"
		if pinned {
			how = "the pinned log key"
		}
		r.Pass("pack", "signed index of %d entries verified with %s %s+%08x", len(ix.Entries), how, verifier.Name(), verifier.KeyHash())
	}

	// The release is in the archive's log.
	checkLogProof(r, p, verifier)

	// Its approvals: signed by their approvers, bound to this manifest, in
	// the log, and what status they give under the archived policy.
	if r.Manifest != nil {
		checkApprovals(ctx, r, p, verifier, opts.Trust.TrustedRoot)
	}

	r.OK = len(r.Failures()) == 0 && r.Artifacts > 0
	return r, nil
}

func checkLogProof(r *Report, p *pack.Pack, v note.Verifier) {
	b, err := p.ReadFile(pack.ProofFile, 1<<20)
	if err != nil {
		r.Fail("log", "%v", err)
		return
	}
	var proof tlog.Proof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&proof); err != nil {
		r.Fail("log", "%s: %v", pack.ProofFile, err)
		return
	}
	e, cp, err := proof.Verify(v)
	if err != nil {
		r.Fail("log", "%v", err)
		return
	}
	mb, err1 := p.ReadFile(pack.ManifestFile, evidence.MaxManifestSize)
	bb, err2 := p.ReadFile(pack.BundleFile, sign.MaxBundleSize)
	if err1 != nil || err2 != nil {
		r.Fail("log", "cannot read the manifest or bundle to match the log entry")
		return
	}
	md, bd := digest.FromBytes(mb), digest.FromBytes(bb)
	if e.Type != tlog.EntryRelease || e.Manifest != md || e.Record != bd || e.Product+"@"+e.Version != r.Release {
		r.Fail("log", "the log entry records %s@%s %s, not this release", e.Product, e.Version, e.Manifest)
		return
	}
	r.Pass("log", "%s is entry %d of log %s (checkpoint of %d entries, signature and inclusion proof verified)",
		r.Release, proof.Index, cp.Origin, cp.Size)
}

// checkApprovals verifies every approval record in the pack.
func checkApprovals(ctx context.Context, r *Report, p *pack.Pack, v note.Verifier, tr root.TrustedMaterial) {
	m := r.Manifest
	md := digest.MustParse(r.ManifestDigest)
	var idxs []uint64
	for _, name := range p.Names() {
		rest, ok := strings.CutPrefix(name, pack.ApprovalsDir+"/")
		if !ok || !strings.HasSuffix(rest, ".sigstore.json") {
			continue
		}
		i, err := strconv.ParseUint(strings.TrimSuffix(rest, ".sigstore.json"), 10, 64)
		if err != nil || pack.ApprovalFile(i) != name {
			r.Fail("approvals", "%s: not a recognised approval record name", name)
			return
		}
		idxs = append(idxs, i)
	}
	sort.Slice(idxs, func(a, b int) bool { return idxs[a] < idxs[b] })

	// The policy the release was sealed under says what approvals it needs.
	ref := PolicyRef(m)
	if ref == nil {
		r.Fail("approvals", "the release carries no policy document")
		return
	}
	pb, err := p.ReadFile(EvidencePath(ref.Digest), policy.MaxFileSize)
	if err != nil {
		r.Fail("approvals", "policy document: %v", err)
		return
	}
	pol, err := policy.Decode(bytes.NewReader(pb))
	if err != nil {
		r.Fail("approvals", "%v", err)
		return
	}
	if len(idxs) == 0 {
		r.Status, r.Missing = pol.Status(m.SafetyClass, nil)
		r.Pass("approvals", "no approval records; status %s", strings.ToUpper(r.Status))
		return
	}

	ab, err := p.ReadFile(pack.ApproversFile, 1<<20)
	if err != nil {
		r.Fail("approvals", "%v", err)
		return
	}
	var approvers []pack.Approver
	dec := json.NewDecoder(bytes.NewReader(ab))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&approvers); err != nil {
		r.Fail("approvals", "%s: %v", pack.ApproversFile, err)
		return
	}
	trust := sign.Trust{TrustedRoot: tr}
	for _, a := range approvers {
		if a.PublicKey == "" {
			if a.Issuer != "" && tr != nil {
				trust.Identities = append(trust.Identities, sign.Identity{Issuer: a.Issuer, SubjectRegexp: a.Subject})
			}
			continue
		}
		k, err := sign.LoadPublicKey([]byte(a.PublicKey))
		if err != nil || k.ID() != a.KeyID {
			r.Fail("approvals", "%s: the key of %s does not match its key ID", pack.ApproversFile, a.Name)
			return
		}
		trust.Keys = append(trust.Keys, k)
	}

	var sigs []policy.Signature
	var probs, parts []string
	for _, i := range idxs {
		bb, err := p.ReadFile(pack.ApprovalFile(i), sign.MaxBundleSize)
		if err != nil {
			probs = append(probs, err.Error())
			continue
		}
		ap, ver, err := Approval(ctx, bb, trust)
		if err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", pack.ApprovalFile(i), err))
			continue
		}
		switch {
		case ap.ManifestDigest != md || ap.Product != m.Product.Name || ap.Version != m.Product.Version:
			probs = append(probs, fmt.Sprintf("%s approves %s@%s %s, not this release", pack.ApprovalFile(i), ap.Product, ap.Version, ap.ManifestDigest))
			continue
		case !registered(approvers, ap, ver):
			probs = append(probs, fmt.Sprintf("%s: %s is not registered as %s with key %s", pack.ApprovalFile(i), ap.Signer.Name, ap.Signer.Role, ver.SignerIdentity))
			continue
		}
		if err := checkApprovalProof(p, v, i, md, digest.FromBytes(bb), ap); err != nil {
			probs = append(probs, fmt.Sprintf("%s: %v", pack.ApprovalFile(i), err))
			continue
		}
		at, stamped := ap.SignedAt.UTC(), false
		if t, ok := ver.SigningTime(); ok {
			at, stamped = t.UTC(), true
		}
		r.Signatures = append(r.Signatures, Signature{
			Decision: ap.Decision, Name: ap.Signer.Name, Role: ap.Signer.Role, Identity: ver.SignerIdentity,
			Meaning: ap.Meaning, Comment: ap.Comment, SignedAt: at, Timestamped: stamped, LogIndex: i,
		})
		sigs = append(sigs, policy.Signature{Decision: ap.Decision, Name: ap.Signer.Name, Role: ap.Signer.Role})
		parts = append(parts, fmt.Sprintf("%s by %s (%s) at %s: %q", ap.Decision, ap.Signer.Name, ap.Signer.Role, at.Format("2006-01-02 15:04:05 UTC"), ap.Meaning))
	}
	if len(probs) > 0 {
		r.Fail("approvals", "%s", strings.Join(probs, "; "))
		return
	}
	r.Status, r.Missing = pol.Status(m.SafetyClass, sigs)
	r.Pass("approvals", "%d signature(s) verified, each in the log; status %s: %s", len(sigs), strings.ToUpper(r.Status), strings.Join(parts, "; "))
}

// registered reports whether the pack's registry entries name the signer
// in the role the record claims: by key ID, or by keyless issuer and
// subject pattern.
func registered(approvers []pack.Approver, ap *evidence.Approval, v *sign.Verified) bool {
	for _, a := range approvers {
		if a.Name != ap.Signer.Name || a.Role != ap.Signer.Role {
			continue
		}
		if a.KeyID != "" && a.KeyID == v.SignerKeyID {
			return true
		}
		if c := v.Certificate; c != nil && a.Issuer != "" && a.Issuer == c.Issuer {
			if re, err := regexp.Compile("^(?:" + a.Subject + ")$"); err == nil && re.MatchString(c.Subject) {
				return true
			}
		}
	}
	return false
}

// checkApprovalProof verifies the log proof of the approval at index i.
func checkApprovalProof(p *pack.Pack, v note.Verifier, i uint64, md, bd digest.Digest, ap *evidence.Approval) error {
	b, err := p.ReadFile(pack.ApprovalProofFile(i), 1<<20)
	if err != nil {
		return err
	}
	var proof tlog.Proof
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&proof); err != nil {
		return fmt.Errorf("%s: %v", pack.ApprovalProofFile(i), err)
	}
	e, _, err := proof.Verify(v)
	if err != nil {
		return fmt.Errorf("log proof: %v", err)
	}
	if proof.Index != i || e.Type != tlog.EntryApproval || e.Manifest != md || e.Record != bd || e.Product != ap.Product || e.Version != ap.Version {
		return fmt.Errorf("log entry %d is not this approval", proof.Index)
	}
	return nil
}
