package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/catalog/sqlite"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/tlog"
	"github.com/evident-dev/evident/internal/verify"
)

func TestSummarize(t *testing.T) {
	msd := func(v ...int) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x)*time.Millisecond)
		}
		return ds
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 .. 1, unsorted on purpose
	}
	tests := []struct {
		name string
		in   []time.Duration
		want latency
	}{
		{"empty", nil, latency{}},
		{"one", msd(7), latency{N: 1, P50Ms: 7, P90Ms: 7, P99Ms: 7, MaxMs: 7, MeanMs: 7}},
		{"nearest rank of four", msd(4, 1, 3, 2), latency{N: 4, P50Ms: 2, P90Ms: 4, P99Ms: 4, MaxMs: 4, MeanMs: 2.5}},
		{"1 to 100 ms", msd(hundred...), latency{N: 100, P50Ms: 50, P90Ms: 90, P99Ms: 99, MaxMs: 100, MeanMs: 50.5}},
		{"one slow outlier shows in p99 and max only", append(msd(hundred[:99]...), 5*time.Second),
			latency{N: 100, P50Ms: 51, P90Ms: 91, P99Ms: 100, MaxMs: 5000, MeanMs: 100.49}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(tt.in)); diff != "" {
				t.Errorf("summarize (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	const real = "Name:\tevidentd\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 1292480 kB\nVmSize:\t 1292480 kB\n" +
		"VmHWM:\t   72380 kB\nVmRSS:\t   44104 kB\nRssAnon:\t   20000 kB\nThreads:\t9\n"
	tests := []struct {
		name    string
		in      string
		want    memStatus
		wantErr string
	}{
		{"a real status file", real, memStatus{RSSKiB: 44104, HWMKiB: 72380}, ""},
		{"no VmRSS (a kernel thread)", "Name:\tkthreadd\nVmHWM:\t 1 kB\n", memStatus{}, "VmRSS or VmHWM missing"},
		{"a unit other than kB", "VmHWM:\t 1 MB\nVmRSS:\t 1 kB\n", memStatus{}, `VmHWM: want "<number> kB", got "1 MB"`},
		{"not a number", "VmHWM:\t 1 kB\nVmRSS:\t x kB\n", memStatus{}, `VmRSS: "x" is not a size`},
		{"negative", "VmHWM:\t -1 kB\nVmRSS:\t 1 kB\n", memStatus{}, `VmHWM: "-1" is not a size`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr string
	}{
		{"a real stat line", "31438 (evidentd) S 1 31438 1 0 -1 4194560 9443 0 0 0 1520 347 0 0 20 0 9 0 123 1292480 12326 18446744073709551615",
			18670 * time.Millisecond, ""},
		{"a command name with spaces and parentheses", "7 (a (b) c) R 1 7 1 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 1 1 1",
			100 * time.Millisecond, ""},
		{"no command name", "7 evidentd R 1", 0, "no command name"},
		{"cut short", "7 (x) R 1 7 1 0 -1 0 0 0", 0, "want at least 13"},
		{"not a number", "7 (x) R 1 7 1 0 -1 0 0 0 0 0 five 5 0", 0, `CPU time "five"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestProbe watches this process while it allocates and touches 64 MiB and
// burns CPU: the measurement must show both.
func TestProbe(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc on this system")
	}
	var keep []byte
	p := probe{PID: os.Getpid(), Interval: time.Millisecond, ResetPeak: true}
	use, err := p.measure(func() error {
		keep = make([]byte, 64<<20)
		for i := range keep {
			keep[i] = byte(i)
		}
		for start := time.Now(); time.Since(start) < 200*time.Millisecond; {
			keep[0]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	u := use.Server
	if u.Samples < 2 {
		t.Errorf("%d samples, want several", u.Samples)
	}
	if grew := u.Peak() - u.RSSBefore; grew < 60<<10 {
		t.Errorf("peak RSS %d KiB is %d KiB above %d KiB before; want about 64 MiB more", u.Peak(), grew, u.RSSBefore)
	}
	// Here the server is this process, so both see the busy loop.
	if u.CPUSeconds < 0.1 || use.ClientCPUSeconds < 0.1 {
		t.Errorf("%.3f s of server CPU and %.3f s of client CPU, want at least 0.1 each (200 ms of busy loop)", u.CPUSeconds, use.ClientCPUSeconds)
	}
	_ = keep[len(keep)-1]

	t.Run("without a PID", func(t *testing.T) {
		called := false
		u, err := probe{}.measure(func() error { called = true; return nil })
		if err != nil || !called || u == nil || u.Server != nil {
			t.Errorf("got %+v, %v, called %v; want the client's use only, nil, true", u, err, called)
		}
	})
}

func TestContent(t *testing.T) {
	const size = 3*contentBlock + 12345
	read := func(r io.Reader) []byte {
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	whole := read(content(1, size))
	if len(whole) != size {
		t.Fatalf("%d bytes, want %d", len(whole), size)
	}
	tests := []struct {
		name string
		r    io.Reader
	}{
		{"one byte at a time", iotest.OneByteReader(io.LimitReader(content(1, size), 2*contentBlock+40))},
		{"odd chunks", iotest.HalfReader(content(1, size))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := read(tt.r)
			if !bytes.Equal(got, whole[:len(got)]) {
				t.Error("the content depends on how it is read")
			}
		})
	}
	t.Run("blocks differ", func(t *testing.T) {
		for b := 1; b < 3; b++ {
			if bytes.Equal(whole[:contentBlock], whole[b*contentBlock:(b+1)*contentBlock]) {
				t.Errorf("block %d equals block 0", b)
			}
		}
	})
	t.Run("seeds differ", func(t *testing.T) {
		if bytes.Equal(read(content(2, 4096)), whole[:4096]) {
			t.Error("seeds 1 and 2 give the same content")
		}
	})
	t.Run("not compressible to nothing", func(t *testing.T) {
		// The 1 MiB block is ChaCha8 output: about as many distinct bytes
		// as there can be.
		var seen [256]bool
		n := 0
		for _, c := range whole[16:contentBlock] {
			if !seen[c] {
				seen[c] = true
				n++
			}
		}
		if n != 256 {
			t.Errorf("%d distinct byte values in a block, want 256", n)
		}
	})
}

func TestListeningURL(t *testing.T) {
	tests := []struct {
		line, want string
		ok         bool
	}{
		{"evidentd dev listening on http://127.0.0.1:41234 (data /tmp/d)", "http://127.0.0.1:41234", true},
		{"evidentd v1.2.0 listening on https://[::1]:8443 (data /srv)", "https://[::1]:8443", true},
		{`{"level":"INFO","msg":"evidentd listening"}`, "", false},
		{"listening on tcp 127.0.0.1:80", "", false},
	}
	for _, tt := range tests {
		got, ok := listeningURL(tt.line)
		if got != tt.want || ok != tt.ok {
			t.Errorf("listeningURL(%q) = %q, %v; want %q, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stderr string
	}{
		{"no command", nil, nil, 2, "usage:"},
		{"unknown command", []string{"lookups"}, nil, 2, `unknown command "lookups"`},
		{"no server", []string{"lookup", "-token", "t"}, nil, 2, "-server and -token are required"},
		{"no token", []string{"push", "-server", "http://127.0.0.1:1"}, nil, 2, "-server and -token are required"},
		{"an unknown flag", []string{"blob", "-sise", "5"}, nil, 2, "flag provided but not defined: -sise"},
		{"a stray argument", []string{"lookup", "-server", "http://x", "-token", "t", "more"}, nil, 2, `unexpected argument "more"`},
		{"run without -data", []string{"run"}, nil, 2, "-data is required"},
		{"run with an unknown benchmark", []string{"run", "-data", "d", "-benches", "lookup,pushes"}, nil, 2, `unknown benchmark "pushes"`},
		{"a server URL that is not one", []string{"lookup", "-server", "127.0.0.1:8080", "-token", "t"}, nil, 1, "want an http:// or https:// URL"},
		{"push without a key", []string{"push", "-server", "http://127.0.0.1:1", "-token", "t"}, nil, 1, "-key is required"},
		{"nothing listening", []string{"lookup", "-server", "http://127.0.0.1:1", "-token", "t"}, nil, 1, "lookup: log info:"},
		{"server and token from the environment", []string{"blob", "-size", "0"},
			map[string]string{"EVIDENT_SERVER": "http://127.0.0.1:1", "EVIDENT_TOKEN": "t"}, 1, "-size must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("EVIDENT_SERVER", tt.env["EVIDENT_SERVER"])
			t.Setenv("EVIDENT_TOKEN", tt.env["EVIDENT_TOKEN"])
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d; stderr: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
		})
	}
}

// TestRun builds evidentd, loads a small synthetic catalog into a data
// directory, and runs every benchmark against a server that run starts:
// the whole harness as make bench-archive uses it.
func TestRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds evidentd and runs a server")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "evidentd")
	build := exec.Command("go", "build", "-o", bin, "github.com/evident-dev/evident/cmd/evidentd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build evidentd: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	const releases, seed = 1200, 7
	db, err := sqlite.Open(t.Context(), filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := catalogtest.Load(t.Context(), db, releases, seed); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// The loaded log needs its key, as loadcatalog creates it.
	if _, _, err := tlog.CreateKeyFile(filepath.Join(data, "log.key"), "evident-archive"); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"run", "-evidentd", bin, "-data", data,
		"-seed", "7", "-lookup-n", "30", "-lookup-concurrency", "3",
		"-push-n", "5", "-push-concurrency", "2", "-product", "bench-test",
		"-blob-size", "3000000", "-blob-seed", "42", "-interval", "5ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}

	// One JSON line per benchmark, in order.
	type line struct {
		Result json.RawMessage `json:"result"`
	}
	var results []json.RawMessage
	for _, l := range strings.Split(stdout.String(), "\n") {
		if strings.HasPrefix(l, "{") {
			var v line
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("JSON line %q: %v", l, err)
			}
			results = append(results, v.Result)
		}
	}
	if len(results) != 3 {
		t.Fatalf("%d JSON lines, want 3 (lookup, push, blob); stdout:\n%s", len(results), stdout.String())
	}

	var lk lookupResult
	if err := json.Unmarshal(results[0], &lk); err != nil {
		t.Fatal(err)
	}
	if lk.Releases != releases || len(lk.Rows) != 6 {
		t.Errorf("lookup over %d releases with %d rows, want %d and 6", lk.Releases, len(lk.Rows), releases)
	}
	for _, r := range lk.Rows {
		if r.Use == nil || r.Use.Server == nil || r.Use.Server.Samples < 1 {
			t.Errorf("%s ×%d: use %+v; want the server's memory sampled", r.Kind, r.Concurrency, r.Use)
		}
		if r.Latency.N != 30 {
			t.Errorf("%s ×%d: %d lookups, want 30", r.Kind, r.Concurrency, r.Latency.N)
		}
		// Artifacts and packages exist; a package at one version may not
		// at this small size.
		if r.Kind != kindPURLVersion && r.Misses != 0 {
			t.Errorf("%s ×%d: %d lookups found nothing; the queries must name what the catalog holds", r.Kind, r.Concurrency, r.Misses)
		}
		if r.Kind == kindArtifact && r.MeanHits != catalogtest.LoadComponentRelease {
			t.Errorf("artifact ×%d: %.1f hits per lookup, want %d (releases sharing a component version)", r.Concurrency, r.MeanHits, catalogtest.LoadComponentRelease)
		}
	}

	var ps pushResult
	if err := json.Unmarshal(results[1], &ps); err != nil {
		t.Fatal(err)
	}
	if ps.N != 5 || ps.ProofsVerified != 5 || ps.PushesPerSec <= 0 || ps.BlobsPerPush < 7 {
		t.Errorf("push: %+v; want 5 pushes with verified proofs, each uploading its blobs", ps)
	}
	if ps.Use == nil || ps.Use.Server == nil || ps.Use.Server.CPUSeconds <= 0 || ps.Use.Server.Peak() <= 0 || ps.Use.ClientCPUSeconds <= 0 {
		t.Errorf("push: use %+v; want the server's CPU time and memory and the client's CPU time", ps.Use)
	}

	var bl blobResult
	if err := json.Unmarshal(results[2], &bl); err != nil {
		t.Fatal(err)
	}
	want, _, err := digest.FromReader(content(42, 3000000))
	if err != nil {
		t.Fatal(err)
	}
	if bl.Digest != want.String() {
		t.Errorf("blob digest %s, want %s", bl.Digest, want)
	}
	if fi, err := os.Stat(filepath.Join(data, "blobs", "sha256", want.Hex()[:2], want.Hex())); err != nil || fi.Size() != 3000000 {
		t.Errorf("the uploaded blob is not stored whole: %v", err)
	}
	if bl.Size != 3000000 || bl.Upload == nil || bl.Download == nil || bl.Upload.Server == nil || bl.Upload.Server.Samples < 1 || bl.Upload.Server.RSSBefore <= 0 {
		t.Errorf("blob: %+v; want 3,000,000 bytes both ways with the server's memory sampled", bl)
	}

	// The server is gone and what was pushed is in the catalog.
	db, err = sqlite.Open(t.Context(), filepath.Join(data, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hist, err := db.History(context.Background(), "bench-test")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 5 {
		t.Errorf("%d releases of bench-test in the catalog, want 5", len(hist))
	}
	size, err := db.LogSize(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if size != releases+5 {
		t.Errorf("log size %d, want %d", size, releases+5)
	}
}

// TestSealAll seals small releases and checks what the push benchmark
// relies on: each is signed, its policy passed, and it shares no evidence
// with another but the archived policy document, so that every push
// uploads its own blobs.
func TestSealAll(t *testing.T) {
	work := t.TempDir()
	keyFile, err := writeKey(work)
	if err != nil {
		t.Fatal(err)
	}
	key, err := loadKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	version := func(i int) string { return fmt.Sprintf("2.0.%d", i) }
	dirs, err := sealAll(t.Context(), work, "bench-test", version, 3, 1, key)
	if err != nil {
		t.Fatal(err)
	}
	owners := map[digest.Digest][]int{}
	var policy digest.Digest
	for i, dir := range dirs {
		f, err := os.Open(filepath.Join(dir, runner.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		m, err := evidence.DecodeManifest(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if m.Ref().String() != "bench-test@"+version(i) || !m.Policy.Passed() || m.SafetyClass != evidence.ClassA {
			t.Errorf("release %d: %s, policy %s, class %s; want bench-test@%s, pass, A", i, m.Ref(), m.Policy.Outcome, m.SafetyClass, version(i))
		}
		if _, err := os.Stat(filepath.Join(dir, runner.BundleFile)); err != nil {
			t.Errorf("release %d is not signed: %v", i, err)
		}
		policy = verify.PolicyRef(m).Digest
		for _, d := range m.EvidenceDigests() {
			owners[d] = append(owners[d], i)
		}
	}
	for d, in := range owners {
		if len(in) > 1 && d != policy {
			t.Errorf("evidence %s is shared by releases %v", d, in)
		}
	}
	if len(owners[policy]) != 3 {
		t.Errorf("the policy document is in releases %v, want all three", owners[policy])
	}
}
