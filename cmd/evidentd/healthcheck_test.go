package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHealthcheck checks healthcheck's exit code and its one line of
// reason against servers that are ready, not ready, slow and absent.
func TestHealthcheck(t *testing.T) {
	clearEnv(t)
	answer := func(code int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/readyz" {
				http.NotFound(w, r)
				return
			}
			w.WriteHeader(code)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ready := answer(http.StatusOK, "ok\n")
	notReady := answer(http.StatusServiceUnavailable, `{"error":"catalog:`+"\n"+` not reachable"}`)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	redirect := answer(http.StatusFound, "")
	// A port nothing listens on: one that was just free.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name string
		args []string
		env  string // EVIDENTD_ADDR
		code int
		want string // in stdout when 0, else in the one line of stderr
	}{
		{name: "ready", args: []string{"--url", ready + "/readyz"}, code: exitOK, want: "ready"},
		{name: "not ready", args: []string{"--url", notReady + "/readyz"}, code: exitError, want: `503 Service Unavailable: {"error":"catalog: not reachable"}`},
		{name: "wrong path", args: []string{"--url", ready + "/ready"}, code: exitError, want: "404 Not Found"},
		{name: "redirect", args: []string{"--url", redirect + "/readyz"}, code: exitError, want: "302 Found"},
		{name: "unreachable", args: []string{"--url", closed + "/readyz"}, code: exitError, want: "connection refused"},
		{name: "slow", args: []string{"--url", slow.URL + "/readyz", "--timeout", "200ms"}, code: exitError, want: "no answer within 200ms"},
		{name: "EVIDENTD_ADDR", env: "0.0.0.0:" + port(t, ready), code: exitOK, want: "http://127.0.0.1:" + port(t, ready) + "/readyz: ready"},
		{name: "EVIDENTD_ADDR without host", env: ":" + port(t, notReady), code: exitError, want: "503"},
		{name: "--url over EVIDENTD_ADDR", env: "0.0.0.0:" + port(t, notReady), args: []string{"--url", ready + "/readyz"}, code: exitOK, want: "ready"},
		{name: "bad EVIDENTD_ADDR", env: "localhost", code: exitUsage, want: "EVIDENTD_ADDR"},
		{name: "bad URL", args: []string{"--url", "127.0.0.1:8080/readyz"}, code: exitUsage, want: "--url"},
		{name: "argument", args: []string{"extra"}, code: exitUsage, want: "extra"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("EVIDENTD_ADDR", tc.env)
			}
			start := time.Now()
			r := evidentd(t, append([]string{"healthcheck"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("want exit %d, got %v", tc.code, r)
			}
			out := r.stdout
			if tc.code != exitOK {
				out = r.stderr
				if tc.code == exitError && strings.Count(out, "\n") != 1 {
					t.Errorf("stderr is not one line: %q", out)
				}
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("want %q in the output, got %v", tc.want, r)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// port returns the port of the server at url.
func port(t *testing.T, url string) string {
	_, p, err := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHealthcheckServe checks healthcheck against evidentd serve itself.
func TestHealthcheckServe(t *testing.T) {
	clearEnv(t)
	s, r := startServe(t, "--data", t.TempDir(), "--addr", "127.0.0.1:0")
	if s == nil {
		t.Fatalf("serve did not start: %v", r)
	}
	wantCode(t, evidentd(t, "healthcheck", "--url", s.url+"/readyz"), exitOK)
	t.Setenv("EVIDENTD_ADDR", strings.TrimPrefix(s.url, "http://"))
	wantCode(t, evidentd(t, "healthcheck"), exitOK)
	s.stop(t)
	wantCode(t, evidentd(t, "healthcheck", "--url", s.url+"/readyz"), exitError)
}
