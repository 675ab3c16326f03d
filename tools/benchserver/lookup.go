package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/digest"
)

// lookupOptions configures the lookup benchmark.
type lookupOptions struct {
	N           int   // lookups of each kind, in each mode
	Releases    int   // synthetic releases in the catalog (loadcatalog -n); 0: the log size
	Seed        int64 // the catalog's seed (loadcatalog -seed)
	Concurrency int   // of the concurrent mode
}

// The kinds of lookup, each one query the archive answers from its
// catalog's indexes.
const (
	kindArtifact    = "artifact"     // FindArtifact by digest
	kindPURL        = "purl"         // FindSOUP by purl without version: every version
	kindPURLVersion = "purl@version" // FindSOUP by purl with version
)

var lookupKinds = []string{kindArtifact, kindPURL, kindPURLVersion}

// lookupRow is one kind of lookup in one mode.
type lookupRow struct {
	Kind        string  `json:"kind"`
	Concurrency int     `json:"concurrency"`
	Latency     latency `json:"latency"`
	WallSeconds float64 `json:"wallSeconds"`
	PerSecond   float64 `json:"perSecond"`
	Hits        int64   `json:"hits"`     // over all lookups
	MeanHits    float64 `json:"meanHits"` // per lookup
	Misses      int     `json:"misses"`   // lookups with no hit
	// Use is what these lookups cost the client and the server.
	Use *usage `json:"use"`
}

// lookupResult is the lookup benchmark's outcome.
type lookupResult struct {
	Bench    string      `json:"bench"`
	Server   string      `json:"server"`
	Releases int         `json:"releases"`
	LogSize  uint64      `json:"logSize"`
	Seed     int64       `json:"seed"`
	Rows     []lookupRow `json:"rows"`
}

// query is one lookup, known to exist in a catalog loaded by
// catalogtest.Load with the benchmark's seed.
type query struct {
	kind     string
	artifact digest.Digest // kindArtifact
	purl     string        // kindPURL, kindPURLVersion
}

func (q query) String() string {
	if q.kind == kindArtifact {
		return q.artifact.String()
	}
	return q.purl
}

// queries returns n queries of kind over releases synthetic releases of
// seed, drawn with rng.
func queries(rng *rand.Rand, kind string, n, releases int, seed int64) []query {
	qs := make([]query, n)
	for i := range qs {
		switch kind {
		case kindArtifact:
			qs[i] = query{kind: kind, artifact: catalogtest.LoadArtifact(seed, rng.IntN(releases), rng.IntN(catalogtest.LoadArtifacts))}
		case kindPURL:
			qs[i] = query{kind: kind, purl: catalogtest.LoadPackage(rng.IntN(catalogtest.LoadPackages))}
		case kindPURLVersion:
			qs[i] = query{kind: kind, purl: catalogtest.LoadPackage(rng.IntN(catalogtest.LoadPackages)) + "@" +
				catalogtest.LoadPackageVersion(rng.IntN(catalogtest.LoadPackageVersions))}
		}
	}
	return qs
}

// do runs q through the client and returns the number of hits.
func (q query) do(ctx context.Context, c *client.Client) (int, error) {
	switch q.kind {
	case kindArtifact:
		hits, err := c.FindArtifact(ctx, q.artifact)
		return len(hits), err
	default:
		hits, err := c.FindSOUP(ctx, q.purl)
		return len(hits), err
	}
}

// benchLookup runs o.N lookups of every kind, first one at a time and then
// o.Concurrency at a time, each mode with queries of its own (the same seed
// gives the same queries).
func benchLookup(ctx context.Context, c *client.Client, o lookupOptions, p probe, progress io.Writer) (*lookupResult, error) {
	if o.N < 1 || o.Concurrency < 1 {
		return nil, fmt.Errorf("lookup: want -n and -concurrency of at least 1")
	}
	info, err := c.LogInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("lookup: log info: %w", err)
	}
	releases := o.Releases
	if releases == 0 {
		releases = int(info.Size)
	}
	if releases < 1 {
		return nil, fmt.Errorf("lookup: the archive's log is empty: load it first (loadcatalog), or give -releases")
	}
	res := &lookupResult{Bench: "lookup", Server: c.URL(), Releases: releases, LogSize: info.Size, Seed: o.Seed}
	for _, conc := range []int{1, o.Concurrency} {
		for k, kind := range lookupKinds {
			rng := rand.New(rand.NewPCG(uint64(o.Seed), uint64(conc)<<8|uint64(k)))
			qs := queries(rng, kind, o.N, releases, o.Seed)
			fmt.Fprintf(progress, "lookup: %d × %s, concurrency %d ...\n", o.N, kind, conc)
			var row *lookupRow
			use, err := p.measure(func() error {
				var err error
				row, err = runLookups(ctx, c, qs, conc)
				return err
			})
			if err != nil {
				return nil, err
			}
			row.Use = use
			res.Rows = append(res.Rows, *row)
		}
	}
	return res, nil
}

// runLookups runs qs with conc workers.
func runLookups(ctx context.Context, c *client.Client, qs []query, conc int) (*lookupRow, error) {
	durs := make([]time.Duration, len(qs))
	hits := make([]int, len(qs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				n, err := qs[i].do(ctx, c)
				durs[i] = time.Since(t)
				hits[i] = n
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("lookup %s %s: %w", qs[i].kind, qs[i], err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range qs {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	row := &lookupRow{
		Kind: qs[0].kind, Concurrency: conc, Latency: summarize(durs),
		WallSeconds: wall.Seconds(), PerSecond: perSecond(len(qs), wall),
	}
	for _, h := range hits {
		row.Hits += int64(h)
		if h == 0 {
			row.Misses++
		}
	}
	row.MeanHits = float64(row.Hits) / float64(len(qs))
	return row, nil
}
