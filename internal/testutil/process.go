package testutil

// Process-level helpers: the real evident and evidentd binaries, built from
// this module once per test process, and an evidentd server run as a child
// process that a test can kill -9, stop with a signal and restart on the
// same data directory.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries are the paths of the evident and evidentd commands built from
// this module.
type Binaries struct {
	Evident, Evidentd string
}

// built caches the one build of the binaries per test process: building
// them takes seconds, and every process-level test needs them. It is the
// package's only mutable state and is written once, under once.
var built struct {
	once sync.Once
	dir  string
	bins Binaries
	err  error
}

// BuildBinaries builds cmd/evident and cmd/evidentd into a temporary
// directory, once per test process, and returns their paths. They are built
// without the race detector even when the test runs with it: the race
// detector is for the in-process tests, and the process-level tests need
// the binaries fast. Without the go command the test skips (see
// Unavailable). Call RemoveBinaries from TestMain to delete them.
func BuildBinaries(t testing.TB) Binaries {
	t.Helper()
	built.once.Do(func() { built.dir, built.bins, built.err = buildBinaries() })
	if errors.Is(built.err, exec.ErrNotFound) {
		Unavailable(t, "building the binaries: %v", built.err)
	}
	if built.err != nil {
		t.Fatalf("building the binaries: %v", built.err)
	}
	return built.bins
}

// RemoveBinaries deletes what BuildBinaries built. Call it from TestMain
// after m.Run; BuildBinaries must not be called afterwards.
func RemoveBinaries() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

func buildBinaries() (string, Binaries, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", Binaries{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	// The module root, wherever the test's package directory is.
	out, err := exec.CommandContext(ctx, goBin, "env", "GOMOD").Output()
	if err != nil {
		return "", Binaries{}, fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", Binaries{}, errors.New("not inside the evident module")
	}
	dir, err := os.MkdirTemp("", "evident-test-bin-")
	if err != nil {
		return "", Binaries{}, err
	}
	exe := ""
	if filepath.Ext(goBin) == ".exe" {
		exe = ".exe"
	}
	bins := Binaries{Evident: filepath.Join(dir, "evident"+exe), Evidentd: filepath.Join(dir, "evidentd"+exe)}
	// With -o naming a directory, go build writes each command into it.
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator), "./cmd/evident", "./cmd/evidentd")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", Binaries{}, fmt.Errorf("go build: %v\n%s", err, out)
	}
	return dir, bins, nil
}

// Result is what one run of a command did.
type Result struct {
	Code           int
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
}

// cleanEnv is the process environment without the variables the evident
// commands read, so that the machine's settings cannot change a test, plus
// extra.
func cleanEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "EVIDENT_") || strings.HasPrefix(kv, "EVIDENTD_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// RunBinary runs bin with args, with the process environment stripped of
// EVIDENT_* and EVIDENTD_* variables plus env (KEY=VALUE), and returns what
// it did. A run that cannot start, or takes more than two minutes, is an
// error of the test (t.Errorf, so that RunBinary may be called from any
// goroutine) and returns exit code -1.
func RunBinary(t testing.TB, bin string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Errorf("%s %s: did not finish within two minutes", filepath.Base(bin), strings.Join(args, " "))
		return Result{Code: -1, Stdout: stdout.String(), Stderr: stderr.String()}
	case err != nil && !errors.As(err, &ee):
		t.Errorf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
		return Result{Code: -1, Stdout: stdout.String(), Stderr: stderr.String()}
	}
	return Result{Code: cmd.ProcessState.ExitCode(), Stdout: stdout.String(), Stderr: stderr.String()}
}

// CreateToken runs evidentd token create on the data directory and returns
// the token it prints.
func CreateToken(t testing.TB, evidentd, data, role, name string) string {
	t.Helper()
	r := RunBinary(t, evidentd, nil, "token", "create", "--data", data, "--role", role, "--name", name)
	if r.Code != 0 {
		t.Fatalf("evidentd token create: %v", r)
	}
	tok := strings.TrimSpace(r.Stdout)
	if tok == "" || strings.ContainsAny(tok, " \n") {
		t.Fatalf("evidentd token create printed %q, want one token", r.Stdout)
	}
	return tok
}

// ServerOptions configure an evidentd serve child process.
type ServerOptions struct {
	// Data is the data directory (required).
	Data string
	// TrustedKeys are public key files passed as --trusted-key.
	TrustedKeys []string
	// Args are further flags, e.g. "--max-connections", "100".
	Args []string
	// Env is added to the environment (KEY=VALUE).
	Env []string
}

// Server is evidentd serve running as a child process on 127.0.0.1 and a
// port of the kernel's choosing. It is stopped when the test ends; when the
// test has failed, its output is logged then.
type Server struct {
	t    testing.TB
	bin  string
	opts ServerOptions

	mu     sync.Mutex // guards the fields below
	url    string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	state  *os.ProcessState
	out    *lockedBuffer // all of the process's output, every start
}

// listening matches the line serve prints on stdout once it accepts
// connections.
var listening = regexp.MustCompile(`listening on (https?://[^\s]+)`)

// StartServer starts evidentd serve with opts and waits until it is
// listening.
func StartServer(t testing.TB, evidentd string, opts ServerOptions) *Server {
	t.Helper()
	if opts.Data == "" {
		t.Fatal("StartServer: ServerOptions.Data is required")
	}
	s := &Server{t: t, bin: evidentd, opts: opts, out: &lockedBuffer{}}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("evidentd output:\n%s", tail(s.Output(), 8000))
		}
	})
	s.Start()
	return s
}

// Start starts the server again, on the same data directory, after it was
// killed or stopped, and waits until it is listening (at most 30 seconds).
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd != nil && s.state == nil {
		s.mu.Unlock()
		s.t.Fatal("evidentd is already running")
	}
	s.mu.Unlock()

	args := []string{"serve", "--data", s.opts.Data, "--addr", "127.0.0.1:0"}
	for _, k := range s.opts.TrustedKeys {
		args = append(args, "--trusted-key", k)
	}
	args = append(args, s.opts.Args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Env = cleanEnv(s.opts.Env)
	urlc := make(chan string, 1)
	cmd.Stdout = &lineWatcher{w: s.out, fn: func(line string) {
		if m := listening.FindStringSubmatch(line); m != nil {
			select {
			case urlc <- m[1]:
			default:
			}
		}
	}}
	cmd.Stderr = s.out
	fmt.Fprintf(s.out, "--- %s %s\n", filepath.Base(s.bin), strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start evidentd: %v", err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited, s.state, s.url = cmd, exited, nil, ""
	s.mu.Unlock()
	go func() {
		cmd.Wait()
		s.mu.Lock()
		s.state = cmd.ProcessState
		s.mu.Unlock()
		close(exited)
	}()

	select {
	case u := <-urlc:
		s.mu.Lock()
		s.url = u
		s.mu.Unlock()
	case <-exited:
		s.t.Fatalf("evidentd exited before listening (%v):\n%s", cmd.ProcessState, tail(s.Output(), 8000))
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
		s.t.Fatalf("evidentd did not print 'listening on' within 30 s:\n%s", tail(s.Output(), 8000))
	}
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234. It changes
// with every Start.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Data is the server's data directory.
func (s *Server) Data() string { return s.opts.Data }

// Pid is the process id of the running server.
func (s *Server) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// Output is everything the server has printed, over all its starts.
func (s *Server) Output() string { return s.out.String() }

// Kill kills the server with SIGKILL (kill -9: no chance to clean up) and
// waits until it is gone.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Fatalf("kill evidentd: %v", err)
	}
	<-exited
}

// Signal sends sig to the server.
func (s *Server) Signal(sig os.Signal) {
	s.t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal evidentd: %v", err)
	}
}

// Wait waits at most timeout for the server to exit and returns its exit
// code; it fails the test if the server is still running then (and kills
// it).
func (s *Server) Wait(timeout time.Duration) int {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	select {
	case <-exited:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-exited
		s.t.Fatalf("evidentd did not exit within %v", timeout)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.ExitCode()
}

// Stop stops the server with SIGTERM and returns its exit code; it fails
// the test if the server has not exited within 60 seconds.
func (s *Server) Stop() int {
	s.t.Helper()
	s.Signal(syscall.SIGTERM)
	return s.Wait(time.Minute)
}

// stop kills a server that is still running (test cleanup).
func (s *Server) stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// WaitReady polls GET /readyz until it answers 200, failing the test if it
// has not within timeout.
func (s *Server) WaitReady(timeout time.Duration) {
	s.t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		resp, err := c.Get(s.URL() + "/readyz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = fmt.Sprintf("%s %s", resp.Status, b)
		} else {
			last = err.Error()
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("evidentd at %s not ready within %v: %s", s.URL(), timeout, last)
}

// Metric returns the value of the unlabelled metric name from the server's
// /metrics (e.g. go_goroutines), failing the test if it is not there.
func (s *Server) Metric(name string) float64 {
	s.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(s.URL() + "/metrics")
	if err != nil {
		s.t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				s.t.Fatalf("metric %s: %v", name, err)
			}
			return v
		}
	}
	if err := sc.Err(); err != nil {
		s.t.Fatalf("GET /metrics: %v", err)
	}
	s.t.Fatalf("metric %s not in /metrics", name)
	return 0
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWatcher writes everything to w and calls fn with every complete line.
type lineWatcher struct {
	w       io.Writer
	fn      func(string)
	partial []byte
}

func (l *lineWatcher) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.fn(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	return l.w.Write(p)
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
