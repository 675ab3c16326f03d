package archive

import (
	"bytes"
	"context"
	"strings"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/tlog"
)

// Release implements api.Archive.
func (a *Archive) Release(ctx context.Context, ref evidence.ReleaseRef) (*api.Release, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if err := validRef(ref); err != nil {
		return nil, err
	}
	r, err := a.cat.Release(ctx, ref.Product, ref.Version)
	if err != nil {
		return nil, notFound(err, "release %s not found", ref)
	}
	mb, err := a.readBlob(ctx, r.ManifestDigest, "manifest", evidence.MaxManifestSize)
	if err != nil {
		return nil, err
	}
	m, err := evidence.DecodeManifest(bytes.NewReader(mb))
	if err != nil {
		return nil, err
	}
	sum := a.summary(r)
	if sum.Status, err = a.statusOf(ctx, r); err != nil {
		return nil, err
	}
	return &api.Release{ReleaseSummary: sum, Manifest: m}, nil
}

// validRef checks a release reference given by a caller: a name that no
// release can have is bad input, not an unknown release.
func validRef(ref evidence.ReleaseRef) error {
	if err := evidence.ValidateName("product", ref.Product); err != nil {
		return err
	}
	return evidence.ValidateVersion("version", ref.Version)
}

func (a *Archive) summary(r *catalog.Release) api.ReleaseSummary {
	return api.ReleaseSummary{
		Product: r.Product, Version: r.Version, ManifestDigest: r.ManifestDigest, BundleDigest: r.BundleDigest,
		SafetyClass: r.SafetyClass, CreatedAt: r.CreatedAt, AcceptedAt: r.AcceptedAt, Signer: r.Signer,
		LogIndex: r.LogIndex, Status: api.StatusSealed,
	}
}

// History implements api.Archive.
func (a *Archive) History(ctx context.Context, product string) ([]api.ReleaseSummary, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if err := evidence.ValidateName("product", product); err != nil {
		return nil, err
	}
	rs, err := a.cat.History(ctx, product)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, evidence.Errorf(evidence.KindNotFound, "no releases of %s", product)
	}
	out := make([]api.ReleaseSummary, len(rs))
	for i := range rs {
		out[i] = a.summary(&rs[i])
		if out[i].Status, err = a.statusOf(ctx, &rs[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Products implements api.Archive.
func (a *Archive) Products(ctx context.Context) ([]api.Product, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	ps, err := a.cat.Products(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]api.Product, len(ps))
	for i, p := range ps {
		out[i] = api.Product{Name: p.Name, Releases: p.Releases, LatestVersion: p.LatestVersion, LatestAt: p.LatestAt}
	}
	return out, nil
}

// FindArtifact implements api.Archive.
func (a *Archive) FindArtifact(ctx context.Context, d digest.Digest) ([]api.ArtifactHit, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if d.IsZero() {
		return nil, evidence.Errorf(evidence.KindInvalid, "the artifact digest is empty")
	}
	hits, err := a.cat.FindArtifact(ctx, d)
	if err != nil {
		return nil, err
	}
	out := make([]api.ArtifactHit, len(hits))
	for i, h := range hits {
		out[i] = api.ArtifactHit{Product: h.Product, Version: h.Version, Component: h.Component, ComponentVersion: h.ComponentVersion, Name: h.Name, Size: h.Size}
	}
	return out, nil
}

// FindComponent implements api.Archive.
func (a *Archive) FindComponent(ctx context.Context, name, version string) ([]api.ComponentHit, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if err := evidence.ValidateName("component", name); err != nil {
		return nil, err
	}
	if err := evidence.ValidateVersion("component version", version); err != nil {
		return nil, err
	}
	hits, err := a.cat.FindComponent(ctx, name, version)
	if err != nil {
		return nil, err
	}
	out := make([]api.ComponentHit, len(hits))
	for i, h := range hits {
		out[i] = api.ComponentHit{Product: h.Product, Version: h.Version, Component: h.Component, ComponentVersion: h.ComponentVersion, Kind: h.Kind, SafetyClass: h.SafetyClass}
	}
	return out, nil
}

// FindSOUP implements api.Archive.
func (a *Archive) FindSOUP(ctx context.Context, purl string) ([]api.SOUPHit, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(purl, "pkg:") || len(purl) > 2048 {
		return nil, evidence.Errorf(evidence.KindInvalid, "purl %q: want a package URL such as pkg:github/madler/zlib@v1.3.1", purl)
	}
	base, version := purlBase(purl)
	if base == "" {
		return nil, evidence.Errorf(evidence.KindInvalid, "purl %q is not a valid package URL", purl)
	}
	// The catalog indexes the version the SBOM states (1.3.1), which need
	// not be the purl's (v1.3.1): select by package, then match the
	// version against either.
	hits, err := a.cat.FindSOUP(ctx, catalog.SOUPQuery{Base: base})
	if err != nil {
		return nil, err
	}
	out := make([]api.SOUPHit, 0, len(hits))
	for _, h := range hits {
		if version != "" && h.PackageVersion != version {
			if _, v := purlBase(h.PURL); v != version {
				continue
			}
		}
		out = append(out, api.SOUPHit{Product: h.Product, Version: h.Version, Component: h.Component, ComponentVersion: h.ComponentVersion, Package: h.Name, PackageVersion: h.PackageVersion, PURL: h.PURL})
	}
	return out, nil
}

// LogInfo implements api.Archive.
func (a *Archive) LogInfo(ctx context.Context) (*api.LogInfo, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	size, err := a.cat.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	root, err := tlog.Root(ctx, a.cat, size)
	if err != nil {
		return nil, err
	}
	cp, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: a.signer.Name(), Size: size, Root: root}, a.signer)
	if err != nil {
		return nil, err
	}
	c, err := tlog.OpenCheckpoint([]byte(cp), a.verifier)
	if err != nil {
		return nil, err
	}
	return &api.LogInfo{Origin: c.Origin, Size: c.Size, Checkpoint: cp, VerifierKey: a.logKey}, nil
}

// LogProof implements api.Archive.
func (a *Archive) LogProof(ctx context.Context, index uint64) (*tlog.Proof, error) {
	if _, err := authorize(ctx, auth.ActionRead); err != nil {
		return nil, err
	}
	size, err := a.cat.LogSize(ctx)
	if err != nil {
		return nil, err
	}
	if index >= size {
		return nil, evidence.Errorf(evidence.KindNotFound, "log index %d: the log has %d entries", index, size)
	}
	return tlog.NewProof(ctx, a.cat, a.signer, a.signer.Name(), index)
}
