package archive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/record"
	"github.com/evident-dev/evident/internal/tlog"
)

// Generator names this software in generated records.
var Generator = "evidentd"

// Export implements api.Archive: it writes the release's audit pack to w.
func (a *Archive) Export(ctx context.Context, ref evidence.ReleaseRef, w io.Writer) error {
	p, err := authorize(ctx, auth.ActionRead)
	if err != nil {
		return err
	}
	if err := validRef(ref); err != nil {
		return err
	}
	rel, err := a.cat.Release(ctx, ref.Product, ref.Version)
	if err != nil {
		return notFound(err, "release %s not found", ref)
	}
	mb, err := a.readBlob(ctx, rel.ManifestDigest, "manifest", evidence.MaxManifestSize)
	if err != nil {
		return err
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return err
	}
	proof, err := tlog.NewProof(ctx, a.cat, a.signer, a.signer.Name(), rel.LogIndex)
	if err != nil {
		return fmt.Errorf("log proof: %w", err)
	}
	proofJSON, err := json.MarshalIndent(proof, "", "  ")
	if err != nil {
		return err
	}

	soup, err := a.soupOf(ctx, m)
	if err != nil {
		return err
	}
	appr, err := a.approvalFiles(ctx, rel)
	if err != nil {
		return err
	}
	_, pol, err := a.releasePolicy(ctx, rel)
	if err != nil {
		return err
	}
	status, missing := pol.Status(m.SafetyClass, signatures(appr.records))
	var html bytes.Buffer
	err = record.Render(&html, record.Input{
		Manifest: m, ManifestDigest: rel.ManifestDigest, BundleDigest: rel.BundleDigest,
		Signer: rel.Signer, AcceptedAt: rel.AcceptedAt, Status: status, Missing: missing,
		LogIndex: rel.LogIndex, LogOrigin: a.signer.Name(), SOUP: soup, Approvals: recordApprovals(appr.records),
		GeneratedAt: a.now().UTC(), Generator: Generator,
	})
	if err != nil {
		return err
	}

	files := []pack.File{
		pack.Bytes(pack.RecordFile, html.Bytes()),
		pack.Bytes(pack.ManifestFile, mb),
		a.blobFile(pack.BundleFile, rel.BundleDigest),
	}
	for _, d := range m.EvidenceDigests() {
		files = append(files, a.blobFile(pack.EvidenceDir+"/sha256/"+d.Hex(), d))
	}
	files = append(files, appr.files...)
	files = append(files,
		pack.Bytes(pack.ProofFile, append(proofJSON, '\n')),
		pack.Bytes(pack.LogKeyFile, []byte(a.logKey+"\n")),
	)
	files = append(files, appr.proofs...)
	if len(a.rootJSON) > 0 {
		files = append(files, pack.Bytes(pack.TrustedRootFile, a.rootJSON))
	}
	for _, k := range a.trust.Keys {
		if k.ID() == rel.Signer {
			pem, err := k.MarshalPEM()
			if err != nil {
				return err
			}
			files = append(files, pack.Bytes(pack.KeysDir+"/"+digest.MustParse(k.ID()).Hex()+".pub", pem))
		}
	}
	// Sizes of blob entries are needed for the tar headers.
	for i := range files {
		if files[i].Size < 0 {
			n, err := a.blobs.Stat(ctx, files[i].Digest)
			if err != nil {
				return fmt.Errorf("stat %s: %w", files[i].Digest, err)
			}
			files[i].Size = n
		}
	}
	if err := pack.Write(ctx, w, ref.String(), files, a.signer); err != nil {
		return err
	}
	a.log.Info("audit pack exported", "release", ref.String(), "actor", p.String())
	return nil
}

// blobFile is a pack entry read from the blob store; its size is filled in
// by Export.
func (a *Archive) blobFile(name string, d digest.Digest) pack.File {
	return pack.File{Name: name, Digest: d, Size: -1, Open: func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := a.blobs.Get(ctx, d)
		return rc, err
	}}
}

// soupOf reads every component's SOUP lists for the record.
func (a *Archive) soupOf(ctx context.Context, m *evidence.Manifest) (map[string][]evidence.SOUPEntry, error) {
	out := map[string][]evidence.SOUPEntry{}
	for _, c := range m.Components {
		for _, r := range c.Evidence {
			if r.Type != evidence.TypeSOUP {
				continue
			}
			rc, _, err := a.blobs.Get(ctx, r.Digest)
			if err != nil {
				return nil, fmt.Errorf("read SOUP list %s: %w", r.Digest, err)
			}
			err = evidence.ReadSOUP(bufio.NewReader(rc), func(e evidence.SOUPEntry) error {
				out[c.Name] = append(out[c.Name], e)
				return nil
			})
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// approvalPack is what a pack carries of a release's approvals.
type approvalPack struct {
	records []catalog.ApprovalRecord
	files   []pack.File // the records and approvers.json
	proofs  []pack.File // one log proof per record
}

// approvalFiles gathers the approval records of a release, the registry
// entries of their signers and an inclusion proof of each.
func (a *Archive) approvalFiles(ctx context.Context, rel *catalog.Release) (*approvalPack, error) {
	recs, err := a.cat.Approvals(ctx, rel.Product, rel.Version)
	if err != nil {
		return nil, err
	}
	out := &approvalPack{records: recs}
	if len(recs) == 0 {
		return out, nil
	}
	registry, err := a.cat.Approvers(ctx)
	if err != nil {
		return nil, err
	}
	var signers []pack.Approver
	seen := map[string]bool{}
	for _, r := range recs {
		out.files = append(out.files, a.blobFile(pack.ApprovalFile(r.LogIndex), r.BundleDigest))
		proof, err := tlog.NewProof(ctx, a.cat, a.signer, a.signer.Name(), r.LogIndex)
		if err != nil {
			return nil, fmt.Errorf("log proof of approval %d: %w", r.LogIndex, err)
		}
		pj, err := json.MarshalIndent(proof, "", "  ")
		if err != nil {
			return nil, err
		}
		out.proofs = append(out.proofs, pack.Bytes(pack.ApprovalProofFile(r.LogIndex), append(pj, '\n')))
		for _, e := range registry {
			key := e.Name + "\x00" + e.Role + "\x00" + e.KeyID
			keyless := e.KeyID == "" && strings.HasPrefix(r.Identity, e.Issuer+"|")
			if (e.KeyID == r.Identity || keyless) && e.Name == r.Name && e.Role == r.Role && !seen[key] {
				seen[key] = true
				signers = append(signers, pack.Approver{Name: e.Name, Role: e.Role, KeyID: e.KeyID, PublicKey: string(e.PublicKey), Issuer: e.Issuer, Subject: e.Subject})
			}
		}
	}
	aj, err := json.MarshalIndent(signers, "", "  ")
	if err != nil {
		return nil, err
	}
	out.files = append(out.files, pack.Bytes(pack.ApproversFile, append(aj, '\n')))
	return out, nil
}

func recordApprovals(recs []catalog.ApprovalRecord) []record.Approval {
	out := make([]record.Approval, len(recs))
	for i, r := range recs {
		out[i] = record.Approval{
			Decision: r.Decision, Name: r.Name, Role: r.Role, Identity: r.Identity, Meaning: r.Meaning,
			Comment: r.Comment, SignedAt: r.SignedAt, Timestamped: r.Timestamped, Digest: r.BundleDigest,
		}
	}
	return out
}
