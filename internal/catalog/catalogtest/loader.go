package catalogtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/tlog"
)

// The shape of the synthetic releases Load writes.
const (
	LoadProducts         = 50   // releases are spread over this many products
	LoadComponents       = 3    // components per release
	LoadArtifacts        = 4    // artifacts per release
	LoadSOUPEntries      = 20   // SOUP entries per release
	LoadPackages         = 5000 // the SOUP pool: packages ...
	LoadPackageVersions  = 4    // ... each in this many versions
	LoadComponentRelease = 10   // consecutive releases share a component version (and its artifacts)
	loadBatch            = 1000 // releases per transaction
)

var loadComponentNames = [LoadComponents]string{"firmware", "bootloader", "ui"}

// loadBase is the createdAt of release 0; release i is i seconds later.
var loadBase = time.Date(2020, time.January, 1, 0, 0, 0, 0, time.UTC)

// Load adds n synthetic releases to cat, numbered 0 to n-1 and named after
// seed: with the same seed twice, the second Load fails with ErrExists.
// Each release has LoadComponents components, LoadArtifacts artifacts,
// LoadSOUPEntries SOUP entries drawn at random from LoadPackages packages in
// LoadPackageVersions versions, and a log leaf appended with tlog.Append.
// Releases are written 1,000 per transaction.
func Load(ctx context.Context, cat catalog.Catalog, n int, seed int64) error {
	return LoadFrom(ctx, cat, 0, n, seed)
}

// LoadFrom adds the synthetic releases first to first+n-1 of seed, so that
// a caller can load in steps and report progress. Loading 0..k-1 and then
// k..n-1 gives the same catalog as Load(n).
func LoadFrom(ctx context.Context, cat catalog.Catalog, first, n int, seed int64) error {
	for start := first; start < first+n; start += loadBatch {
		end := min(start+loadBatch, first+n)
		err := cat.Update(ctx, func(tx catalog.Tx) error {
			for i := start; i < end; i++ {
				if err := loadOne(ctx, tx, i, seed); err != nil {
					return fmt.Errorf("synthetic release %d: %w", i, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func loadOne(ctx context.Context, tx catalog.Tx, i int, seed int64) error {
	// One generator per release: the release does not depend on how the
	// load was split into steps.
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
	r := &catalog.Release{
		Product:     LoadProduct(i),
		Version:     loadVersion(i, seed),
		SafetyClass: "B",
		CreatedAt:   loadBase.Add(time.Duration(i) * time.Second),
		Signer:      "https://github.com/example/device/.github/workflows/release.yml@refs/heads/main",
	}
	r.AcceptedAt = r.CreatedAt.Add(time.Minute)
	r.ManifestDigest = loadDigest(seed, "manifest", i)
	r.BundleDigest = loadDigest(seed, "bundle", i)
	r.Blobs = []digest.Digest{r.ManifestDigest, r.BundleDigest}
	for c, name := range loadComponentNames {
		r.Components = append(r.Components, catalog.Component{
			Name: name, Version: loadComponentVersion(i, c), Kind: "software", SafetyClass: "B",
		})
	}
	for k := range LoadArtifacts {
		c := k % LoadComponents
		d := LoadArtifact(seed, i, k)
		r.Artifacts = append(r.Artifacts, catalog.Artifact{
			Component: loadComponentNames[c], Name: fmt.Sprintf("%s-%d.bin", loadComponentNames[c], k), Digest: d, Size: int64(1<<16 + k),
		})
		r.Blobs = append(r.Blobs, loadDigest(seed, "evidence", i*LoadArtifacts+k))
	}

	leaf, err := tlog.Entry{Type: tlog.EntryRelease, Product: r.Product, Version: r.Version, Manifest: r.ManifestDigest, Record: r.BundleDigest}.Encode()
	if err != nil {
		return err
	}
	if r.LogIndex, err = tlog.Append(ctx, tx, leaf); err != nil {
		return err
	}
	if err := tx.InsertRelease(ctx, r); err != nil {
		return err
	}
	soup := make([]catalog.SOUP, 0, LoadSOUPEntries)
	for j := range LoadSOUPEntries {
		k, v := rng.IntN(LoadPackages), rng.IntN(LoadPackageVersions)
		base := LoadPackage(k)
		version := LoadPackageVersion(v)
		soup = append(soup, catalog.SOUP{
			Component: loadComponentNames[j%LoadComponents],
			Name:      fmt.Sprintf("lib%04d", k), Version: version, PURL: base + "@" + version, Base: base,
		})
	}
	return tx.InsertSOUP(ctx, r.Product, r.Version, soup)
}

// LoadProduct returns the product of synthetic release i.
func LoadProduct(i int) string { return fmt.Sprintf("product-%02d", i%LoadProducts) }

func loadVersion(i int, seed int64) string { return fmt.Sprintf("%d.%d", seed, i) }

// loadComponentVersion changes every LoadComponentRelease releases.
func loadComponentVersion(i, c int) string {
	return fmt.Sprintf("%d.%d.0", c+1, i/LoadComponentRelease)
}

// LoadArtifact returns the digest of artifact k (0 to LoadArtifacts-1) of
// synthetic release i. An artifact is the same in the LoadComponentRelease
// consecutive releases that share its component's version, so FindArtifact
// has several hits, as it does for an unchanged bootloader.
func LoadArtifact(seed int64, i, k int) digest.Digest {
	c := k % LoadComponents
	return loadDigest(seed, "artifact "+loadComponentVersion(i, c), k)
}

// LoadPackage returns the purl base of package k (0 to LoadPackages-1) of
// the SOUP pool.
func LoadPackage(k int) string { return fmt.Sprintf("pkg:generic/vendor%02d/lib%04d", k%97, k) }

// LoadPackageVersion returns version v (0 to LoadPackageVersions-1) of every
// package of the SOUP pool.
func LoadPackageVersion(v int) string { return fmt.Sprintf("1.%d.0", v) }

func loadDigest(seed int64, kind string, i int) digest.Digest {
	return digest.FromBytes(fmt.Appendf(nil, "%d %s %d", seed, kind, i))
}
