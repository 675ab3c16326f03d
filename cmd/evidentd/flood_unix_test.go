//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/testutil"
)

// raiseFileLimit makes sure this process, and the processes it starts, may
// open at least n files, skipping the test (failing it under
// EVIDENT_TEST_NO_SKIP=1) when the hard limit does not allow it.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Max < n {
		testutil.Unavailable(t, "this test needs %d open files; the hard limit (ulimit -Hn) is %d", n, lim.Max)
	}
	// Set it even when it is high enough already: Go raises its own soft
	// limit at start but gives child processes the original one unless the
	// program sets the limit itself.
	lim.Cur = max(lim.Cur, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raise the open-file limit to %d: %v", n, err)
	}
}

// floodServer seals and pushes one release into a new archive served by
// the real binary with args, and returns the server, the release and an
// auditor's token.
func floodServer(t *testing.T, args ...string) (*testutil.Server, *sealed, string) {
	t.Helper()
	bins := testutil.BuildBinaries(t)
	key, rels := sealVersions(t, "2.4.0")
	data := filepath.Join(t.TempDir(), "data")
	ciToken := testutil.CreateToken(t, bins.Evidentd, data, "ci", "release-pipeline")
	auditorToken := testutil.CreateToken(t, bins.Evidentd, data, "auditor", "auditor")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: data, TrustedKeys: []string{key.PublicFile}, Args: args})
	srv.WaitReady(30 * time.Second)
	// Without keep-alive, so that no connection of the push stays open.
	c, err := newClientWith(srv.URL(), ciToken, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := push(timeout(t, time.Minute), c, rels[0]); err != nil {
		t.Fatalf("push: %v", err)
	}
	return srv, rels[0], auditorToken
}

// checkAnswers fails the test unless a fresh client gets /healthz and a
// lookup of rel answered within the liveness bound. A 503 (the server is at
// its in-flight limit) is retried after its Retry-After, as a client
// should.
func checkAnswers(t *testing.T, srv *testutil.Server, rel *sealed, token string, within time.Duration) {
	t.Helper()
	hc := &http.Client{Timeout: within, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	deadline := start.Add(within)
	busy := 0
	get := func(path string) []byte {
		t.Helper()
		for {
			req, err := http.NewRequest(http.MethodGet, srv.URL()+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case err != nil:
				t.Fatalf("GET %s: %v", path, err)
			case resp.StatusCode == http.StatusOK:
				return body
			case resp.StatusCode != http.StatusServiceUnavailable:
				t.Fatalf("GET %s: %s %s", path, resp.Status, body)
			}
			if msg := jsonError(resp.Header, body); msg != "" {
				t.Errorf("GET %s: 503: %s", path, msg)
			}
			busy++
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil {
				t.Fatalf("GET %s: 503 with Retry-After %q", path, resp.Header.Get("Retry-After"))
			}
			if time.Now().Add(time.Duration(wait) * time.Second).After(deadline) {
				t.Fatalf("GET %s: still 503 after %v", path, time.Since(start).Round(time.Millisecond))
			}
			time.Sleep(time.Duration(wait) * time.Second)
		}
	}
	get("/healthz")
	var r api.Release
	if err := json.Unmarshal(get("/api/v1/products/"+rel.ref.Product+"/releases/"+rel.ref.Version), &r); err != nil {
		t.Fatalf("lookup of %s: %v", rel.ref, err)
	}
	if r.ManifestDigest != rel.manifest {
		t.Fatalf("lookup of %s: manifest %s, want %s", rel.ref, r.ManifestDigest, rel.manifest)
	}
	t.Logf("/healthz and a lookup answered in %v (after %d answer(s) 503: busy)", time.Since(start).Round(time.Millisecond), busy)
}

// TestConnectionFlood opens 10,000 connections at once, a third of them
// idle, a third sending a request's headers slowly (slowloris), a third
// sending requests and keeping the connection, and checks that the server
// keeps answering others meanwhile, closes the slow and idle ones by itself,
// and gives back what the connections cost once they are gone.
//
// The test's own goroutines are few (pools, not one per connection), so
// that it also runs under the race detector, which allows 8128.
func TestConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections; not with -short")
	}
	const conns = 10000
	raiseFileLimit(t, conns+1024)
	// The connection limit is sized for the flood, as an operator expecting
	// it would; TestConnectionLimit is about what the limit does.
	srv, rel, token := floodServer(t, "--max-connections", fmt.Sprint(conns+512))
	checkAnswers(t, srv, rel, token, 15*time.Second)
	baseline := srv.Metric("go_goroutines")
	addr := strings.TrimPrefix(srv.URL(), "http://")

	const (
		idle = iota
		slow
		request
	)
	var (
		mu       sync.Mutex
		byKind   [3][]net.Conn
		dialErrs int
		firstErr error
		problems = make(chan string, 16)
	)
	report := func(format string, args ...any) {
		select {
		case problems <- fmt.Sprintf(format, args...):
		default:
		}
	}
	lookup := fmt.Sprintf("GET /api/v1/products/%s/releases/%s HTTP/1.1\r\nHost: flood\r\nAuthorization: Bearer %s\r\n\r\n",
		rel.ref.Product, rel.ref.Version, token)
	t.Cleanup(func() {
		for _, cs := range byKind {
			for _, c := range cs {
				c.(*net.TCPConn).SetLinger(0) // no TIME_WAIT left behind
				c.Close()
			}
		}
	})

	// Open them all, 256 dials at a time; a slowloris connection sends its
	// first header line, a request connection its whole request.
	start := time.Now()
	jobs := make(chan int)
	var dialers sync.WaitGroup
	for range 256 {
		dialers.Go(func() {
			for i := range jobs {
				c, err := net.DialTimeout("tcp", addr, 30*time.Second)
				if err != nil {
					mu.Lock()
					dialErrs++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				kind := i % 3
				switch kind {
				case slow:
					_, err = io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: flood\r\n")
				case request:
					req := "GET /healthz HTTP/1.1\r\nHost: flood\r\n\r\n"
					if i%2 == 0 {
						req = lookup
					}
					_, err = io.WriteString(c, req)
				}
				if err != nil {
					report("writing to a new connection: %v", err)
				}
				mu.Lock()
				byKind[kind] = append(byKind[kind], c)
				mu.Unlock()
			}
		})
	}
	for i := range conns {
		jobs <- i
	}
	close(jobs)
	dialers.Wait()
	t.Logf("%d connections opened in %v (%d failed: %v)", conns-dialErrs, time.Since(start).Round(time.Millisecond), dialErrs, firstErr)
	if dialErrs > 0 {
		t.Errorf("%d of %d connections could not be opened: %v", dialErrs, conns, firstErr)
	}

	// Slowloris: one more header line on every slow connection each
	// second, never the blank line that ends them.
	stopSlow := make(chan struct{})
	slowDone := make(chan struct{})
	go func() {
		defer close(slowDone)
		alive := slices.Clone(byKind[slow])
		for k := 0; len(alive) > 0; k++ {
			select {
			case <-stopSlow:
				return
			case <-time.After(time.Second):
			}
			line := fmt.Sprintf("X-Slow-%d: x\r\n", k)
			alive = slices.DeleteFunc(alive, func(c net.Conn) bool {
				c.SetWriteDeadline(time.Now().Add(time.Second))
				_, err := io.WriteString(c, line)
				return err != nil // closed by the server
			})
		}
	}()

	// Requests: every one is answered, 200 or, beyond the in-flight
	// limit, 503 with a JSON error body.
	var answered, busy atomic.Int32
	var readers sync.WaitGroup
	reqs := make(chan net.Conn)
	for range 32 {
		readers.Go(func() {
			for c := range reqs {
				c.SetReadDeadline(time.Now().Add(2 * time.Minute))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					report("flood request: %v", err)
					continue
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case err != nil:
					report("flood request: reading the answer: %v", err)
				case resp.StatusCode == http.StatusOK:
					answered.Add(1)
				case resp.StatusCode == http.StatusServiceUnavailable:
					if msg := jsonError(resp.Header, body); msg != "" {
						report("flood request: 503: %s", msg)
					}
					busy.Add(1)
				default:
					report("flood request answered %s: %s", resp.Status, body)
				}
			}
		})
	}

	// While they are open the server answers others.
	checkAnswers(t, srv, rel, token, 15*time.Second)

	for _, c := range byKind[request] {
		reqs <- c
	}
	close(reqs)
	readers.Wait()
	t.Logf("flood requests: %d answered, %d told the server is busy (503)", answered.Load(), busy.Load())
	if n := int(answered.Load() + busy.Load()); n != len(byKind[request]) {
		t.Errorf("%d of %d flood requests were answered", n, len(byKind[request]))
	}
	// It holds them: at least the kept third costs a goroutine each.
	during := srv.Metric("go_goroutines")
	t.Logf("goroutines: %v before the flood, %v during it; resident memory %.0f MiB", baseline, during, srv.Metric("process_resident_memory_bytes")/(1<<20))
	if during < baseline+conns/3*0.95 {
		t.Errorf("the server runs %v goroutines during the flood, %v before: the flood did not reach it", during, baseline)
	}

	// The server closes idle and slowloris connections by itself.
	cut := make(chan net.Conn)
	var waiters sync.WaitGroup
	for range 32 {
		waiters.Go(func() {
			for c := range cut {
				waitClosed(c, report)
			}
		})
	}
	for _, c := range slices.Concat(byKind[idle], byKind[slow]) {
		cut <- c
	}
	close(cut)
	waiters.Wait()
	t.Logf("the server had closed every idle and slowloris connection %v after the start", time.Since(start).Round(time.Second))
	close(stopSlow)
	<-slowDone
	close(problems)
	for msg := range problems {
		t.Error(msg)
	}

	// Gone: the server is healthy and back near its baseline.
	for _, cs := range byKind {
		for _, c := range cs {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}
	deadline := time.Now().Add(time.Minute)
	var now float64
	for {
		now = srv.Metric("go_goroutines")
		if now <= baseline+20 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if now > baseline+20 {
		t.Errorf("the server still runs %v goroutines a minute after the flood ended, %v before it", now, baseline)
	}
	checkAnswers(t, srv, rel, token, 15*time.Second)
}

// waitClosed reads from c until the server closes it, at most two minutes
// from now; anything the server sends first is reported (an idle or
// unfinished request gets no answer).
func waitClosed(c net.Conn, report func(string, ...any)) {
	c.SetReadDeadline(time.Now().Add(2 * time.Minute))
	b := make([]byte, 512)
	n, err := c.Read(b)
	switch {
	case n > 0:
		report("a connection that sent no complete request was answered: %q", b[:n])
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
	case errors.Is(err, os.ErrDeadlineExceeded):
		report("an idle or slowloris connection was still open after two minutes")
	default:
		report("waiting for the server to close an idle connection: %v", err)
	}
}

// jsonError returns what is wrong with an error response that should carry
// a JSON body {code, message}, or "".
func jsonError(h http.Header, body []byte) string {
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Sprintf("Content-Type %q, want application/json; body %q", ct, body)
	}
	var e api.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return fmt.Sprintf("body %q: %v", body, err)
	}
	if e.Code == "" || e.Message == "" {
		return fmt.Sprintf("body %q: want a code and a message", body)
	}
	return ""
}

// TestConnectionLimit checks --max-connections: once that many connections
// are open a new one waits (it is not refused), and the server frees the
// slots of connections that never send a request by itself, so the waiting
// request is answered without anyone closing them.
func TestConnectionLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the server's header timeout; not with -short")
	}
	const limit = 16
	srv, _, _ := floodServer(t, "--max-connections", fmt.Sprint(limit))
	baseline := srv.Metric("go_goroutines")
	addr := strings.TrimPrefix(srv.URL(), "http://")
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			c.Close()
		}
	})
	for range limit - 1 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Wait until the server holds them; each poll uses the last free slot
	// for a moment (the server closes it after answering).
	deadline := time.Now().Add(10 * time.Second)
	for srv.Metric("go_goroutines") < baseline+limit-1 {
		if time.Now().After(deadline) {
			t.Fatalf("the server did not accept %d connections", limit-1)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	held = append(held, c)
	started := time.Now()

	type answer struct {
		status int
		err    error
		after  time.Duration
	}
	got := make(chan answer, 1)
	go func() {
		hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := hc.Get(srv.URL() + "/healthz")
		if err != nil {
			got <- answer{err: err}
			return
		}
		resp.Body.Close()
		got <- answer{status: resp.StatusCode, after: time.Since(started)}
	}()
	select {
	case a := <-got:
		t.Fatalf("a request was answered (%d, %v) while %d connections held every slot", a.status, a.err, limit)
	case <-time.After(time.Second):
	}
	a := <-got
	if a.err != nil || a.status != http.StatusOK {
		t.Fatalf("the waiting request: %d, %v", a.status, a.err)
	}
	t.Logf("the waiting request was answered after %v, when the server had closed the idle connections", a.after.Round(time.Millisecond))
}

// TestInFlightLimit checks --max-in-flight: a request beyond the limit is
// answered 503 at once, with Retry-After and a JSON error body, while health
// probes are still answered (a liveness probe must not restart a busy
// server), and the server serves again when a slot is free.
func TestInFlightLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evidentd; not with -short")
	}
	bins := testutil.BuildBinaries(t)
	data := filepath.Join(t.TempDir(), "data")
	token := testutil.CreateToken(t, bins.Evidentd, data, "ci", "release-pipeline")
	srv := testutil.StartServer(t, bins.Evidentd, testutil.ServerOptions{Data: data, Args: []string{"--max-in-flight", "2"}})
	srv.WaitReady(30 * time.Second)

	// Two uploads in progress hold both slots.
	var uploads []*upload
	for k := range 2 {
		u := startUpload(t, srv.URL(), token, 1<<20, byte(k))
		u.send(t, 1000)
		uploads = append(uploads, u)
	}
	waitInFlight(t, srv, 2)

	checkHealthz(t, srv.URL())
	resp, err := http.Get(srv.URL() + "/api/v1/products")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("GET /api/v1/products with every slot taken: %s %s, want 503", resp.Status, body)
	}
	if msg := jsonError(resp.Header, body); msg != "" {
		t.Errorf("503: %s", msg)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("503 without Retry-After")
	}

	// One upload finishes: it is stored, and there is room again.
	uploads[0].send(t, -1)
	if status, body := uploads[0].response(t); status != http.StatusCreated {
		t.Fatalf("finished upload: %d %s", status, body)
	}
	waitInFlight(t, srv, 1)
	checkHealthz(t, srv.URL())
}

// checkHealthz fails the test unless GET /healthz answers 200.
func checkHealthz(t *testing.T, url string) {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(url + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %s", resp.Status)
	}
}

// waitInFlight waits until the server reports n requests in flight.
func waitInFlight(t *testing.T, srv *testutil.Server, n float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := srv.Metric("evidentd_http_requests_in_flight")
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v requests in flight, want %v", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
