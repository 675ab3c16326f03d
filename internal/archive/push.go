package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	packageurl "github.com/package-url/packageurl-go"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

// soupBatch is how many SOUP rows go to the catalog per insert.
const soupBatch = 500

// PushRelease implements api.Archive. Everything that can fail is checked
// before the write transaction begins, except the SOUP lists, which are
// streamed from the blob store into the catalog inside it; the release, its
// index rows, its log leaf and its audit event then commit together.
func (a *Archive) PushRelease(ctx context.Context, req api.PushRequest) (*api.PushResult, error) {
	p, err := authorize(ctx, auth.ActionPush)
	if err != nil {
		return nil, err
	}
	res, err := a.pushRelease(ctx, p, req)
	if err != nil {
		target := req.Manifest.String()
		a.audit(ctx, p, "release.push", target, string(evidence.KindOf(err)), err.Error())
		return nil, err
	}
	return res, nil
}

func (a *Archive) pushRelease(ctx context.Context, p auth.Principal, req api.PushRequest) (*api.PushResult, error) {
	if req.Manifest.IsZero() || req.Bundle.IsZero() {
		return nil, evidence.Errorf(evidence.KindInvalid, "manifest and bundle digests are required")
	}
	mb, err := a.readBlob(ctx, req.Manifest, "manifest", evidence.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	bb, err := a.readBlob(ctx, req.Bundle, "bundle", sign.MaxBundleSize)
	if err != nil {
		return nil, err
	}
	// The signature against the archive's trust policy, the statement, and
	// that it names exactly the manifest's artifacts.
	m, v, err := verify.Statement(ctx, mb, bb, a.trust)
	if err != nil {
		return nil, err
	}
	ref := m.Ref()

	// Every evidence blob present with its recorded size. Digests were
	// verified when the blobs were stored.
	var missing []string
	sizes := map[string]int64{}
	for _, r := range m.AllEvidence() {
		sizes[r.Digest.String()] = r.Size
	}
	for _, d := range m.EvidenceDigests() {
		n, err := a.blobs.Stat(ctx, d)
		switch {
		case err != nil:
			missing = append(missing, fmt.Sprintf("%s (%s)", d, namesOf(m, d.String())))
		case n != sizes[d.String()]:
			return nil, evidence.Errorf(evidence.KindInvalid, "evidence %s is %d bytes, the manifest says %d", d, n, sizes[d.String()])
		}
	}
	if len(missing) > 0 {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s references evidence that has not been uploaded: %s", ref, strings.Join(missing, ", "))
	}

	// The archived policy, re-evaluated.
	pref := verify.PolicyRef(m)
	if pref == nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s does not carry the policy document it was checked against", ref)
	}
	rc, _, err := a.blobs.Get(ctx, pref.Digest)
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", pref.Digest, err)
	}
	_, err = verify.ReEvaluate(m, rc)
	rc.Close()
	if err != nil {
		return nil, err
	}

	rel := catalogRelease(m, req, v.SignerIdentity, a.now())
	entry, err := tlog.Entry{Type: tlog.EntryRelease, Product: ref.Product, Version: ref.Version, Manifest: req.Manifest, Record: req.Bundle}.Encode()
	if err != nil {
		return nil, err
	}

	var index uint64
	created := false
	err = a.cat.Update(ctx, func(tx catalog.Tx) error {
		existing, err := tx.Release(ctx, ref.Product, ref.Version)
		switch {
		case err == nil && existing.ManifestDigest == req.Manifest:
			index = existing.LogIndex
			return nil
		case err == nil:
			return &catalog.ConflictError{Product: ref.Product, Version: ref.Version, Existing: existing.ManifestDigest}
		case !errors.Is(err, catalog.ErrNotFound):
			return err
		}
		if index, err = tlog.Append(ctx, tx, entry); err != nil {
			return fmt.Errorf("append to log: %w", err)
		}
		rel.LogIndex = index
		if err := tx.InsertRelease(ctx, rel); err != nil {
			return err
		}
		if err := a.indexSOUP(ctx, tx, m); err != nil {
			return err
		}
		created = true
		return tx.AppendAudit(ctx, a.event(p, "release.push", ref.String(), "ok",
			fmt.Sprintf("manifest %s, log index %d, signed by %s", req.Manifest, index, v.SignerIdentity)))
	})
	var ce *catalog.ConflictError
	if errors.As(err, &ce) {
		return nil, evidence.Errorf(evidence.KindConflict, "%s already exists with a different manifest (%s); a sealed release is never replaced: publish a new version", ref, ce.Existing)
	}
	if err != nil {
		return nil, err
	}
	if created {
		a.log.Info("release accepted", "release", ref.String(), "manifest", req.Manifest.String(), "log_index", index, "signer", v.SignerIdentity, "actor", p.String())
	}
	proof, err := tlog.NewProof(ctx, a.cat, a.signer, a.signer.Name(), index)
	if err != nil {
		return nil, fmt.Errorf("log proof: %w", err)
	}
	return &api.PushResult{
		Release: ref.String(), ManifestDigest: req.Manifest, Created: created,
		Signer: v.SignerIdentity, Log: proof, LogKey: a.logKey,
	}, nil
}

// indexSOUP streams every SOUP list of the release into the catalog.
func (a *Archive) indexSOUP(ctx context.Context, tx catalog.Tx, m *evidence.Manifest) error {
	for _, c := range m.Components {
		for _, r := range c.Evidence {
			if r.Type != evidence.TypeSOUP {
				continue
			}
			rc, _, err := a.blobs.Get(ctx, r.Digest)
			if err != nil {
				return fmt.Errorf("read SOUP list %s: %w", r.Digest, err)
			}
			batch := make([]catalog.SOUP, 0, soupBatch)
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				err := tx.InsertSOUP(ctx, m.Product.Name, m.Product.Version, batch)
				batch = batch[:0]
				return err
			}
			err = evidence.ReadSOUP(bufio.NewReader(rc), func(e evidence.SOUPEntry) error {
				base, _ := purlBase(e.PURL)
				batch = append(batch, catalog.SOUP{Component: c.Name, Name: e.Title(), Version: e.Version, PURL: e.PURL, Base: base})
				if len(batch) == soupBatch {
					return flush()
				}
				return nil
			})
			rc.Close()
			if err != nil {
				return fmt.Errorf("%s: SOUP list %s: %w", c.Name, r.Name, err)
			}
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// purlBase normalises a purl to "pkg:type/namespace/name" (the spec's
// canonical form, without version, qualifiers or subpath) and returns its
// version.
func purlBase(s string) (base, version string) {
	if s == "" {
		return "", ""
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		return "", ""
	}
	version = p.Version
	p.Version, p.Qualifiers, p.Subpath = "", nil, ""
	return p.ToString(), version
}

// catalogRelease is the catalog's record of an accepted release.
func catalogRelease(m *evidence.Manifest, req api.PushRequest, signer string, accepted time.Time) *catalog.Release {
	r := &catalog.Release{
		Product: m.Product.Name, Version: m.Product.Version,
		ManifestDigest: req.Manifest, BundleDigest: req.Bundle,
		SafetyClass: string(m.SafetyClass), CreatedAt: m.CreatedAt, AcceptedAt: accepted.UTC(),
		Signer: signer,
	}
	r.Blobs = append([]digest.Digest{req.Manifest, req.Bundle}, m.EvidenceDigests()...)
	for _, c := range m.Components {
		r.Components = append(r.Components, catalog.Component{Name: c.Name, Version: c.Version, Kind: string(c.Kind), SafetyClass: string(c.SafetyClass)})
		for _, art := range c.Artifacts {
			r.Artifacts = append(r.Artifacts, catalog.Artifact{Component: c.Name, Name: art.Name, Digest: art.Digest, Size: art.Size})
		}
	}
	return r
}

func namesOf(m *evidence.Manifest, d string) string {
	var names []string
	for _, r := range m.AllEvidence() {
		if r.Digest.String() == d {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}
