package signtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// EnvTimestampServer names the timestamp-server binary; without it the
// binary is looked up on PATH.
const EnvTimestampServer = "EVIDENT_TIMESTAMP_SERVER"

// TimestampServer is the real timestamp authority, sigstore's
// timestamp-server with an in-memory signer, running on 127.0.0.1.
type TimestampServer struct {
	// URL is the server's base URL.
	URL  string
	stop func()
}

// TimestampURL is the timestamp endpoint, as --tsa takes it.
func (s *TimestampServer) TimestampURL() string { return s.URL + "/api/v1/timestamp" }

// Stop stops the server now (it stops anyway when the test ends).
func (s *TimestampServer) Stop() { s.stop() }

// ChainPEM fetches the server's certificate chain (leaf first, root
// last), as --tsa-chain takes it.
func (s *TimestampServer) ChainPEM(t testing.TB) []byte {
	t.Helper()
	resp, err := http.Get(s.URL + "/api/v1/timestamp/certchain")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/api/v1/timestamp/certchain: HTTP %d, %v", s.URL, resp.StatusCode, err)
	}
	return b
}

// TimestampServerBinary returns the path of sigstore's timestamp-server:
// $EVIDENT_TIMESTAMP_SERVER, else timestamp-server on PATH. Without one the
// test skips, or fails when EVIDENT_TEST_NO_SKIP=1 (CI sets it, so that a
// missing tool cannot turn a suite green by skipping).
func TimestampServerBinary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvTimestampServer); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", EnvTimestampServer, err)
		}
		return p
	}
	if p, err := exec.LookPath("timestamp-server"); err == nil {
		return p
	}
	const msg = "timestamp-server not found: set " + EnvTimestampServer + "=/path/to/timestamp-server or put it on PATH"
	if os.Getenv("EVIDENT_TEST_NO_SKIP") == "1" {
		t.Fatal(msg + " (EVIDENT_TEST_NO_SKIP=1 forbids skipping)")
	}
	t.Skip(msg)
	return ""
}

// StartTimestampServer runs the timestamp-server (TimestampServerBinary) on
// a free port of 127.0.0.1 until the test ends or Stop is called.
//
// The server also binds :2112 for its metrics, whatever it is told, and
// exits when that port is taken. So only one runs at a time on the
// machine: the start waits for a lock file in the temporary directory that
// every test process using this function shares (package sign's tests and
// the commands' tests run as separate processes, at the same time).
func StartTimestampServer(t testing.TB) *TimestampServer {
	t.Helper()
	bin := TimestampServerBinary(t)
	unlock, err := lockMetricsPort()
	if err != nil {
		t.Fatalf("timestamp-server lock: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		unlock()
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var out lockedBuffer
	cmd := exec.Command(bin, "serve", "--host", "127.0.0.1", "--port", fmt.Sprint(port),
		"--timestamp-signer", "memory", "--disable-ntp-monitoring")
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		unlock()
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var once sync.Once
	s := &TimestampServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			<-exited
			unlock()
		})
	}
	t.Cleanup(s.stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-exited:
			s.stop()
			t.Fatalf("timestamp-server exited before it served %s:\n%s", s.URL, out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.stop()
			t.Fatalf("timestamp-server did not come up on %s: %v\n%s", s.URL, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
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
