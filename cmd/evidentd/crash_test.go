package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/testutil"
	"github.com/evident-dev/evident/internal/tlog"
)

// TestCrashDuringConcurrentPushes kills evidentd with SIGKILL while eight
// clients push releases concurrently, several times, restarting it on the
// same data directory each time, and then checks the promise of the issue:
// no acknowledged push is lost, no release is half visible, a push whose
// answer was lost can be repeated, the log holds each release exactly once,
// and every acknowledged release exports to an audit pack that evident
// verify accepts offline.
func TestCrashDuringConcurrentPushes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts evidentd during concurrent pushes (about a minute); not with -short")
	}
	bins := testutil.BuildBinaries(t)

	const releases = 24
	const workers = 8
	// The server is killed as soon as this many distinct releases have been
	// acknowledged (plus a random delay of up to 25 ms, so that the kill
	// lands in a different phase of the pushes in flight); the last round
	// pushes the rest without a kill.
	killAfter := []int{5, 11, 17}

	var versions []string
	for k := range releases {
		versions = append(versions, fmt.Sprintf("2.4.%d", k+1))
	}
	begin := time.Now()
	key, rels := sealVersions(t, versions...)
	t.Logf("%d releases sealed in %v", releases, time.Since(begin).Round(time.Millisecond))
	begin = time.Now()

	data := filepath.Join(t.TempDir(), "data")
	ciToken := testutil.CreateToken(t, bins.Evidentd, data, "ci", "release-pipeline")
	auditorToken := testutil.CreateToken(t, bins.Evidentd, data, "auditor", "auditor")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: data, TrustedKeys: []string{key.PublicFile}})
	srv.WaitReady(30 * time.Second)
	logKey := filepath.Join(data, "log.key.pub")
	logVerifier, err := tlog.NewVerifier(strings.TrimSpace(string(testutil.ReadFile(t, logKey))))
	if err != nil {
		t.Fatal(err)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	st := &pushState{
		rels: rels, pending: rng.Perm(releases),
		started: map[int]bool{}, acked: map[int]*api.PushResult{}, results: map[int][]*api.PushResult{},
	}
	acked, started, results := st.acked, st.started, st.results
	for round := 0; ; round++ {
		threshold := releases + 1 // no kill
		if round < len(killAfter) {
			threshold = killAfter[round]
		}
		killed, interrupted := st.round(t, srv.URL(), ciToken, workers, threshold, time.Duration(rng.IntN(25))*time.Millisecond, srv.Kill)
		nAcked, nPending := len(acked), len(st.pending)
		t.Logf("round %d: %d release(s) acknowledged in all, %d pending; killed: %v, with %d push(es) in flight",
			round+1, nAcked, nPending, killed, interrupted)
		if t.Failed() {
			t.FailNow()
		}
		if !killed {
			if nPending > 0 {
				t.Fatalf("the last round ended with %d release(s) not pushed", nPending)
			}
			break
		}

		// The server is dead: the data directory must be consistent as it
		// is, before any recovery on restart.
		rep := checkFsck(t, bins, data, key.PublicFile, len(acked), len(started))
		t.Logf("after the kill: fsck clean, %d release(s) stored, %d of them not acknowledged", rep.releases, rep.releases-len(acked))

		srv.Start()
		srv.WaitReady(30 * time.Second)
		checkVisible(t, srv.URL(), auditorToken, logVerifier, rels, acked, started)
	}

	// Every acknowledgement carried a valid proof of this release; the
	// releases hold distinct log indices 0..n-1.
	var indices []uint64
	repeated := 0
	for i, rs := range results {
		if !rs[0].Created {
			repeated++ // stored before a kill, answer lost, pushed again
		}
		for _, res := range rs {
			checkPushResult(t, res, rels[i], logKey)
			if res.Log.Index != acked[i].Log.Index {
				t.Errorf("%s was acknowledged at log index %d and at %d", rels[i].ref, acked[i].Log.Index, res.Log.Index)
			}
		}
		indices = append(indices, acked[i].Log.Index)
	}
	t.Logf("%d release(s) were stored by a push whose answer the kill cut off, and acknowledged when pushed again", repeated)
	slices.Sort(indices)
	for i, x := range indices {
		if x != uint64(i) {
			t.Fatalf("log indices of the releases are %v, want 0..%d each once", indices, releases-1)
		}
	}

	// A push repeated after its acknowledgement changes nothing.
	c := newClient(t, srv.URL(), ciToken)
	for _, i := range rng.Perm(releases)[:3] {
		res, err := push(timeout(t, time.Minute), c, rels[i])
		if err != nil {
			t.Fatalf("repeating the push of %s: %v", rels[i].ref, err)
		}
		if res.Created || res.Log.Index != acked[i].Log.Index {
			t.Errorf("repeating the push of %s: created %v at log index %d, want not created, index %d", rels[i].ref, res.Created, res.Log.Index, acked[i].Log.Index)
		}
	}

	auditor := newClient(t, srv.URL(), auditorToken)
	info, err := auditor.LogInfo(timeout(t, time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != releases {
		t.Errorf("the log holds %d entries, want %d (one per release)", info.Size, releases)
	}
	checkVisible(t, srv.URL(), auditorToken, logVerifier, rels, acked, started)

	t.Logf("pushes, kills and restarts took %v", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()

	// Every release's audit pack, exported with the real client.
	packs := make([]string, releases)
	packDir := t.TempDir()
	parallel(t, 4, releases, func(i int) {
		packs[i] = filepath.Join(packDir, rels[i].ref.Product+"-"+rels[i].ref.Version+".tar")
		r := testutil.RunBinary(t, bins.Evident, []string{"EVIDENT_SERVER=" + srv.URL(), "EVIDENT_TOKEN=" + auditorToken},
			"export", rels[i].ref.String(), "-o", packs[i])
		if r.Code != 0 {
			t.Errorf("evident export %s: %v", rels[i].ref, r)
		}
	})

	if code := srv.Stop(); code != 0 {
		t.Errorf("evidentd exited %d on SIGTERM, want 0", code)
	}
	rep := checkFsck(t, bins, data, key.PublicFile, releases, releases)
	if rep.signatures != releases {
		t.Errorf("fsck verified %d signatures, want %d", rep.signatures, releases)
	}

	// Offline, with the release key and the archive's log key only.
	t.Logf("export and fsck took %v", time.Since(begin).Round(time.Millisecond))
	begin = time.Now()
	parallel(t, 4, releases, func(i int) {
		r := testutil.RunBinary(t, bins.Evident, nil, "verify", packs[i], "--key", key.PublicFile, "--log-key", logKey)
		if r.Code != 0 {
			t.Errorf("evident verify %s: %v", filepath.Base(packs[i]), r)
		}
	})
	t.Logf("evident verify of %d packs took %v", releases, time.Since(begin).Round(time.Millisecond))
}

// pushState is what the pushes of every round have done so far.
type pushState struct {
	rels []*sealed

	mu      sync.Mutex
	pending []int                     // indices into rels not acknowledged yet
	started map[int]bool              // a push of it has begun
	acked   map[int]*api.PushResult   // its first acknowledgement
	results map[int][]*api.PushResult // every acknowledgement of it, in order
}

// round pushes pending releases from workers goroutines until none is
// left, or, once threshold distinct releases are acknowledged, kills the
// server (after delay) and lets the pushes in flight fail. A push that
// fails is put back; it fails the test unless the server was being killed.
// round reports whether the server was killed and how many pushes the kill
// cut off.
func (s *pushState) round(t *testing.T, url, token string, workers, threshold int, delay time.Duration, kill func()) (killed bool, interrupted int) {
	c := newClient(t, url, token)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var killing atomic.Bool
	var cut atomic.Int32
	trigger := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for !killing.Load() {
				s.mu.Lock()
				if len(s.pending) == 0 {
					s.mu.Unlock()
					return
				}
				i := s.pending[0]
				s.pending = s.pending[1:]
				s.started[i] = true
				s.mu.Unlock()

				res, err := push(ctx, c, s.rels[i])

				s.mu.Lock()
				if err != nil {
					s.pending = append(s.pending, i)
					s.mu.Unlock()
					if killing.Load() {
						cut.Add(1)
					} else {
						t.Errorf("push of %s failed while the server was up: %v", s.rels[i].ref, err)
						once.Do(func() { close(trigger) }) // end the round
					}
					return
				}
				if s.acked[i] == nil {
					s.acked[i] = res
				}
				s.results[i] = append(s.results[i], res)
				n := len(s.acked)
				s.mu.Unlock()
				if n >= threshold {
					once.Do(func() { close(trigger) })
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return false, 0
	case <-trigger:
	}
	if t.Failed() {
		killing.Store(true)
		<-done
		return false, 0
	}
	time.Sleep(delay)
	killing.Store(true)
	kill()
	<-done
	return true, int(cut.Load())
}

// checkVisible fails the test unless every acknowledged release can be
// looked up with the manifest it was acknowledged with, and the product's
// history holds nothing that was never pushed and nothing half there: every
// release it lists looks up whole, with a log proof under logKey.
func checkVisible(t *testing.T, url, token string, logKey note.Verifier, rels []*sealed, acked map[int]*api.PushResult, started map[int]bool) {
	t.Helper()
	c := newClient(t, url, token)
	ctx := timeout(t, time.Minute)
	for i, res := range acked {
		r, err := c.Release(ctx, rels[i].ref)
		if err != nil {
			t.Errorf("acknowledged release %s: %v", rels[i].ref, err)
			continue
		}
		if r.ManifestDigest != rels[i].manifest || r.LogIndex != res.Log.Index {
			t.Errorf("acknowledged release %s: manifest %s at log index %d, want %s at %d", rels[i].ref, r.ManifestDigest, r.LogIndex, rels[i].manifest, res.Log.Index)
		}
	}
	hist, err := c.History(ctx, rels[0].ref.Product)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	pushed := map[string]bool{}
	for i := range started {
		pushed[rels[i].ref.Version] = true
	}
	byVersion := map[string]*sealed{}
	for _, r := range rels {
		byVersion[r.ref.Version] = r
	}
	seen := map[string]bool{}
	for _, h := range hist {
		if !pushed[h.Version] {
			t.Errorf("release %s@%s is visible but was never pushed", rels[0].ref.Product, h.Version)
			continue
		}
		if seen[h.Version] {
			t.Errorf("release %s@%s is listed twice", rels[0].ref.Product, h.Version)
		}
		seen[h.Version] = true
		// Visible, acknowledged or not: whole, with its log entry.
		rel := byVersion[h.Version]
		r, err := c.Release(ctx, rel.ref)
		if err != nil {
			t.Errorf("release %s is listed but cannot be looked up: %v", rel.ref, err)
			continue
		}
		if r.ManifestDigest != rel.manifest || r.BundleDigest != rel.bundle || r.Manifest.Ref() != rel.ref {
			t.Errorf("release %s is listed with manifest %s, bundle %s", rel.ref, r.ManifestDigest, r.BundleDigest)
		}
		proof, err := c.LogProof(ctx, r.LogIndex)
		if err != nil {
			t.Errorf("release %s: log proof of index %d: %v", rel.ref, r.LogIndex, err)
		} else if e, _, err := proof.Verify(logKey); err != nil || e.Manifest != rel.manifest || e.Record != rel.bundle {
			t.Errorf("release %s: log entry %d is %+v (%v), not this release", rel.ref, r.LogIndex, e, err)
		}
	}
	for i := range acked {
		if !seen[rels[i].ref.Version] {
			t.Errorf("acknowledged release %s is missing from the history", rels[i].ref)
		}
	}
}

// fsckReport is what evidentd fsck printed.
type fsckReport struct {
	releases, signatures, log int
}

var fsckLine = regexp.MustCompile(`(?m)^(releases|signatures|log):\s+(\d+)`)

// checkFsck runs evidentd fsck on the stopped archive and fails the test
// unless it finds no problem and between minReleases and maxReleases
// releases, each with exactly one log entry.
func checkFsck(t *testing.T, bins testutil.Binaries, data, pub string, minReleases, maxReleases int) fsckReport {
	t.Helper()
	return checkFsckStores(t, bins, []string{"--data", data}, pub, minReleases, maxReleases)
}

// checkFsckStores is checkFsck on the stores that storeArgs (--data, or
// --catalog, --blobs and --log-key) name.
func checkFsckStores(t *testing.T, bins testutil.Binaries, storeArgs []string, pub string, minReleases, maxReleases int) fsckReport {
	t.Helper()
	r := testutil.RunBinary(t, bins.Evidentd, nil, append(append([]string{"fsck"}, storeArgs...), "--trusted-key", pub)...)
	if r.Code != 0 || !strings.Contains(r.Stdout, "OK: no problems found") {
		t.Fatalf("evidentd fsck: %v", r)
	}
	var rep fsckReport
	for _, m := range fsckLine.FindAllStringSubmatch(r.Stdout, -1) {
		n, _ := strconv.Atoi(m[2])
		switch m[1] {
		case "releases":
			rep.releases = n
		case "signatures":
			rep.signatures = n
		case "log":
			rep.log = n
		}
	}
	if rep.releases < minReleases || rep.releases > maxReleases {
		t.Errorf("fsck found %d releases, want between %d (acknowledged) and %d (pushed)\n%s", rep.releases, minReleases, maxReleases, r.Stdout)
	}
	if rep.releases != rep.log {
		t.Errorf("fsck: %d releases but %d log entries\n%s", rep.releases, rep.log, r.Stdout)
	}
	return rep
}

// parallel calls fn(0..n-1) from at most width goroutines.
func parallel(t *testing.T, width, n int, fn func(i int)) {
	t.Helper()
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
