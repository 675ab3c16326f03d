package main

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/catalog/postgres"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

// TestReplicas runs two evidentd processes on one PostgreSQL schema, one S3
// location and one log key, as replicas behind a load balancer, and checks
// that they behave as one archive:
//
//   - the same release pushed through both at once is stored once, and both
//     pushes succeed with the same log index;
//   - two different releases with the same product@version pushed through
//     both at once: one is stored, the other push is refused as a conflict;
//   - a push acknowledged by one replica is visible on the other at once;
//   - replica A is killed with SIGKILL in the middle of a stream of pushes
//     through both; clients fail over to B. Every acknowledged push is
//     then on B, and, after A's restart, on A; the releases hold log
//     indices 0..n-1 each once; every checkpoint either replica ever
//     signed is consistent with the final one; fsck finds the shared
//     stores clean.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two evidentd replicas on PostgreSQL and S3 and kills one; not with -short")
	}
	st := newSharedStores(t)
	bins := testutil.BuildBinaries(t)

	begin := time.Now()
	key := testutil.NewKey(t, t.TempDir(), "release")
	same := sealWith(t, key, "", "3.0.1", "3.0.2", "3.0.3")
	rivalsA := sealWith(t, key, " Variant A.", "3.1.1", "3.1.2")
	rivalsB := sealWith(t, key, " Variant B.", "3.1.1", "3.1.2")
	var streamVersions []string
	for k := range 20 {
		streamVersions = append(streamVersions, fmt.Sprintf("3.2.%d", k+1))
	}
	stream := sealWith(t, key, "", streamVersions...)
	t.Logf("%d releases sealed in %v", len(same)+len(rivalsA)+len(rivalsB)+len(stream), time.Since(begin).Round(time.Millisecond))

	ciToken := st.createToken(t, bins.Evidentd, "ci", "release-pipeline") // creates the log key
	auditorToken := st.createToken(t, bins.Evidentd, "auditor", "auditor")
	logKey, err := tlog.NewVerifier(strings.TrimSpace(string(testutil.ReadFile(t, st.logKeyPub()))))
	if err != nil {
		t.Fatal(err)
	}
	start := func(name string) *testutil.Server {
		srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{
			Data: filepath.Join(t.TempDir(), name), TrustedKeys: []string{key.PublicFile}, Args: st.args(),
		})
		srv.WaitReady(30 * time.Second)
		return srv
	}
	a, b := start("a"), start("b")
	r := &replicaRun{t: t, logKey: logKey, pub: st.logKeyPub(), acked: map[string]*api.PushResult{}}
	ctx := timeout(t, 5*time.Minute)

	// 1. The same release through both replicas at once.
	for _, rel := range same {
		res, errs := pushBoth(ctx, []*client.Client{newClient(t, a.URL(), ciToken), newClient(t, b.URL(), ciToken)}, []*sealed{rel, rel})
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("%s pushed through both replicas at once: %v; %v", rel.ref, errs[0], errs[1])
		}
		if res[0].Created == res[1].Created || res[0].Log.Index != res[1].Log.Index {
			t.Errorf("%s pushed through both replicas at once: created %v and %v at log indices %d and %d; want one created, one index",
				rel.ref, res[0].Created, res[1].Created, res[0].Log.Index, res[1].Log.Index)
		}
		r.ack(rel, res[0])
		r.ack(rel, res[1])
	}

	// 2. Rival releases of one version through both replicas at once.
	var winners []*sealed
	for i := range rivalsA {
		pair := []*sealed{rivalsA[i], rivalsB[i]}
		res, errs := pushBoth(ctx, []*client.Client{newClient(t, a.URL(), ciToken), newClient(t, b.URL(), ciToken)}, pair)
		won := -1
		for j := range 2 {
			switch {
			case errs[j] == nil:
				won = j
				r.ack(pair[j], res[j])
			case evidence.KindOf(errs[j]) != evidence.KindConflict:
				t.Errorf("rival push of %s: %v; want success or a conflict", pair[j].ref, errs[j])
			}
		}
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("rival pushes of %s: errors %v and %v; want exactly one refused as a conflict", pair[0].ref, errs[0], errs[1])
		}
		winners = append(winners, pair[won])
	}

	// 3. A stream of pushes through both; A is killed half-way. Every
	// acknowledgement is checked on the other replica at once.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	killAfter := len(r.acked) + len(stream)/2
	killed, cut := r.stream(ctx, []*testutil.Server{a, b}, ciToken, auditorToken, stream, killAfter, time.Duration(rng.IntN(20))*time.Millisecond)
	if !killed {
		t.Errorf("replica A was not killed during the stream")
	}
	t.Logf("the kill cut off %d push(es) in flight through replica A; they were pushed again through B", cut)
	if t.Failed() {
		t.FailNow()
	}

	// Everything acknowledged is on the survivor, and on A after its restart.
	all := slices.Concat(same, winners, stream)
	started := map[int]bool{}
	acked := map[int]*api.PushResult{}
	for i, rel := range all {
		started[i] = true
		acked[i] = r.acked[rel.ref.String()]
		if acked[i] == nil {
			t.Fatalf("%s was never acknowledged", rel.ref)
		}
	}
	checkVisible(t, b.URL(), auditorToken, logKey, all, acked, started)
	a.Start()
	a.WaitReady(30 * time.Second)
	checkVisible(t, a.URL(), auditorToken, logKey, all, acked, started)

	// One log: the releases hold indices 0..n-1, each once, and every
	// checkpoint a replica signed is a prefix of the final tree.
	var indices []uint64
	for _, res := range acked {
		indices = append(indices, res.Log.Index)
	}
	slices.Sort(indices)
	for i, x := range indices {
		if x != uint64(i) {
			t.Fatalf("log indices of the releases are %v, want 0..%d each once", indices, len(all)-1)
		}
	}
	info, err := newClient(t, b.URL(), auditorToken).LogInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	final, err := tlog.OpenCheckpoint([]byte(info.Checkpoint), logKey)
	if err != nil {
		t.Fatalf("replica B's checkpoint: %v", err)
	}
	if final.Size != uint64(len(all)) {
		t.Errorf("the log holds %d entries, want %d (one per release)", final.Size, len(all))
	}
	r.checkConsistency(ctx, st.catalog, final)

	if code := b.Stop(); code != 0 {
		t.Errorf("replica B exited %d on SIGTERM, want 0", code)
	}
	if code := a.Stop(); code != 0 {
		t.Errorf("replica A exited %d on SIGTERM, want 0", code)
	}
	rep := checkFsckStores(t, bins, st.args(), key.PublicFile, len(all), len(all))
	if rep.signatures != len(all) {
		t.Errorf("fsck verified %d signatures, want %d", rep.signatures, len(all))
	}
}

// pushBoth pushes rels[i] through cs[i], both at once.
func pushBoth(ctx context.Context, cs []*client.Client, rels []*sealed) ([]*api.PushResult, []error) {
	res, errs := make([]*api.PushResult, 2), make([]error, 2)
	var ready, wg sync.WaitGroup
	ready.Add(2)
	for i := range 2 {
		wg.Go(func() {
			ready.Done()
			ready.Wait()
			res[i], errs[i] = push(ctx, cs[i], rels[i])
		})
	}
	wg.Wait()
	return res, errs
}

// replicaRun records what the replicas acknowledged.
type replicaRun struct {
	t      *testing.T
	logKey note.Verifier
	pub    string // the log key file

	mu          sync.Mutex
	acked       map[string]*api.PushResult // release → its first acknowledgement
	checkpoints []tlog.Checkpoint          // of every acknowledgement
}

// ack checks that res acknowledges rel, with the index of any earlier
// acknowledgement of rel, and records it.
func (r *replicaRun) ack(rel *sealed, res *api.PushResult) {
	r.t.Helper()
	checkPushResult(r.t, res, rel, r.pub)
	_, c, err := res.Log.Verify(r.logKey)
	if err != nil {
		r.t.Errorf("push of %s: %v", rel.ref, err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkpoints = append(r.checkpoints, c)
	if first := r.acked[rel.ref.String()]; first != nil {
		if first.Log.Index != res.Log.Index || first.ManifestDigest != res.ManifestDigest {
			r.t.Errorf("%s acknowledged as %s at log index %d and as %s at %d", rel.ref, first.ManifestDigest, first.Log.Index, res.ManifestDigest, res.Log.Index)
		}
		return
	}
	r.acked[rel.ref.String()] = res
}

// stream pushes rels from four workers, two per replica, each checking
// every acknowledgement on the other replica at once. Once killAfter
// releases are acknowledged in all, it kills servers[0] (after delay);
// pushes through it fail from then on, and its workers fail over to
// servers[1]. stream reports whether the kill happened, and how many pushes
// it cut off.
func (r *replicaRun) stream(ctx context.Context, servers []*testutil.Server, ciToken, auditorToken string, rels []*sealed, killAfter int, delay time.Duration) (killed bool, cut int) {
	t := r.t
	pending := slices.Clone(rels)
	var mu sync.Mutex // guards pending, dead and cut
	dead := false
	var once sync.Once
	var kill sync.WaitGroup
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			home := w % 2
			for {
				mu.Lock()
				if len(pending) == 0 || t.Failed() {
					mu.Unlock()
					return
				}
				rel := pending[0]
				pending = pending[1:]
				via := home
				if dead {
					via = 1
				}
				mu.Unlock()

				srv, other := servers[via], servers[1-via]
				res, err := push(ctx, newClient(t, srv.URL(), ciToken), rel)
				if err != nil {
					mu.Lock()
					pending = append(pending, rel)
					killedUnder := dead && via == 0
					if killedUnder {
						cut++
					}
					mu.Unlock()
					if !killedUnder {
						t.Errorf("push of %s through replica %d failed while it was up: %v", rel.ref, via, err)
					}
					continue
				}
				r.ack(rel, res)
				// Visible on the other replica at once (unless that is the
				// one killed).
				mu.Lock()
				otherUp := via == 0 || !dead
				mu.Unlock()
				if otherUp {
					r.checkOn(ctx, other, auditorToken, rel, res)
				}
				r.mu.Lock()
				n := len(r.acked)
				r.mu.Unlock()
				if n >= killAfter {
					once.Do(func() {
						kill.Go(func() {
							time.Sleep(delay)
							mu.Lock()
							dead = true
							mu.Unlock()
							servers[0].Kill()
							t.Logf("replica A killed after %d acknowledgements", n)
						})
					})
				}
			}
		})
	}
	wg.Wait()
	kill.Wait()
	return dead, cut
}

// checkOn checks that the release res acknowledged is visible through srv,
// with its log index and a log proof for it. A replica being killed may
// fail to answer; that is not an error.
func (r *replicaRun) checkOn(ctx context.Context, srv *testutil.Server, token string, rel *sealed, res *api.PushResult) {
	t := r.t
	c := newClient(t, srv.URL(), token)
	got, err := c.Release(ctx, rel.ref)
	if evidence.KindOf(err) == evidence.KindInternal {
		return // the connection failed: the replica is being killed
	}
	if err != nil {
		t.Errorf("%s, acknowledged by one replica, is not visible on the other: %v", rel.ref, err)
		return
	}
	if got.ManifestDigest != rel.manifest || got.LogIndex != res.Log.Index {
		t.Errorf("%s on the other replica: manifest %s at log index %d, want %s at %d", rel.ref, got.ManifestDigest, got.LogIndex, rel.manifest, res.Log.Index)
	}
	proof, err := c.LogProof(ctx, res.Log.Index)
	if evidence.KindOf(err) == evidence.KindInternal {
		return
	}
	if err != nil {
		t.Errorf("%s: log proof from the other replica: %v", rel.ref, err)
		return
	}
	if e, _, err := proof.Verify(r.logKey); err != nil || e.Manifest != rel.manifest {
		t.Errorf("%s: the other replica's log proof of index %d: entry %+v, %v", rel.ref, res.Log.Index, e, err)
	}
}

// checkConsistency checks, with consistency proofs computed from the
// catalog, that every checkpoint the replicas signed is a prefix of final.
func (r *replicaRun) checkConsistency(ctx context.Context, catalogURL string, final tlog.Checkpoint) {
	t := r.t
	db, err := postgres.Open(ctx, catalogURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range r.checkpoints {
		hashes, err := tlog.ConsistencyProof(ctx, db, c.Size, final.Size)
		if err != nil {
			t.Fatalf("consistency proof from tree size %d to %d: %v", c.Size, final.Size, err)
		}
		if err := tlog.VerifyConsistency(c, final, hashes); err != nil {
			t.Errorf("checkpoint of tree size %d: %v", c.Size, err)
		}
	}
	t.Logf("%d checkpoints (tree sizes %d to %d) are consistent with the final one (%d)",
		len(r.checkpoints), slices.MinFunc(r.checkpoints, bySize).Size, slices.MaxFunc(r.checkpoints, bySize).Size, final.Size)
}

func bySize(a, b tlog.Checkpoint) int { return cmp.Compare(a.Size, b.Size) }
