// Command benchserver measures a running evidentd archive over HTTP, through
// internal/client, for the archive benchmark (docs/benchmarks.md,
// "Archive (evidentd)"):
//
//	benchserver lookup -server URL -token T [-n 2000] [-concurrency 8] [-releases N] [-seed 1]
//	benchserver push   -server URL -token T -key KEY [-n 200] [-concurrency 4]
//	benchserver blob   -server URL -token T [-size 2147483648] [-pid PID]
//
// With -pid (run knows it), every benchmark also records the server
// process's CPU time and peak memory (/proc/PID/stat and status; the peak
// is reset through /proc/PID/clear_refs before each measurement).
//
//	benchserver run    -evidentd BIN -data DIR [-catalog URL] [-blobs URL] [-benches lookup,push,blob] ...
//
// lookup looks up artifact digests and purls (without and with version) that
// exist in a catalog loaded by tools/loadcatalog with the same -seed, one at
// a time and then -concurrency at a time. push seals -n small, distinct
// releases with a real signature (not timed), then pushes them as evident
// push does, -concurrency at a time. blob streams a generated blob up and
// back down, sampling the server's memory (/proc/PID/status) meanwhile.
// run starts a throwaway evidentd on the given data directory and stores
// (with a fresh signing key it trusts and an admin token), runs the chosen
// benchmarks against it and stops it; the store flags are passed through,
// so the same command measures SQLite and a blob directory, or any store
// evidentd can open.
//
// The token needs the rights of the benchmark: read for lookup, push for
// push, both for blob (role admin). -server and -token default to
// EVIDENT_SERVER and EVIDENT_TOKEN. Each benchmark prints a table, then its
// result as one line of JSON; progress goes to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/evident-dev/evident/internal/client"
)

const usageText = `usage:
  benchserver lookup -server URL -token T [-n 2000] [-concurrency 8] [-releases N] [-seed 1]
  benchserver push   -server URL -token T -key KEY [-n 200] [-concurrency 4]
  benchserver blob   -server URL -token T [-size 2147483648] [-pid PID]
  benchserver run    -evidentd BIN -data DIR [-catalog URL] [-blobs URL] [-benches lookup,push,blob]
'benchserver COMMAND -h' lists a command's flags.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad command-line input (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usageText)
		return 2
	}
	var err error
	switch args[0] {
	case "lookup", "push", "blob":
		err = runOne(ctx, args[0], args[1:], stdout, stderr)
	case "run":
		err = runServer(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usageText)
		return 0
	default:
		err = &usageError{fmt.Sprintf("unknown command %q", args[0])}
	}
	var u *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "benchserver: %v\n%s\n", err, usageText)
		return 2
	}
	fmt.Fprintf(stderr, "benchserver: %v\n", err)
	return 1
}

// flags are every benchmark's options, bound to a flag set.
type flags struct {
	server, token string
	lookup        lookupOptions
	push          pushOptions
	blob          blobOptions
	probe         probe
}

// addBenchFlags adds the flags of the benchmark named cmd ("" for all of
// them, as run takes) to fs.
func (f *flags) addBenchFlags(fs *flag.FlagSet, cmd string) {
	prefix := func(p string) string {
		if cmd == "" {
			return p + "-"
		}
		return ""
	}
	if cmd == "" || cmd == "lookup" {
		p := prefix("lookup")
		fs.IntVar(&f.lookup.N, p+"n", 2000, "lookups of each kind (artifact, purl, purl@version) in each mode")
		fs.IntVar(&f.lookup.Concurrency, p+"concurrency", 8, "lookups at once in the concurrent mode")
		fs.IntVar(&f.lookup.Releases, "releases", 0, "synthetic releases in the catalog (loadcatalog -n); 0: the archive's log size")
		fs.Int64Var(&f.lookup.Seed, "seed", 1, "the catalog's seed (loadcatalog -seed)")
	}
	if cmd == "" || cmd == "push" {
		p := prefix("push")
		fs.IntVar(&f.push.N, p+"n", 200, "small releases to seal and push")
		fs.IntVar(&f.push.Concurrency, p+"concurrency", 4, "pushes at once")
		if cmd != "" {
			fs.StringVar(&f.push.KeyFile, "key", "", "private key to sign with (PEM; EVIDENT_KEY_PASSWORD for an encrypted one); the server must trust it")
		}
		fs.StringVar(&f.push.Product, "product", "bench-push", "product of the pushed releases")
		fs.StringVar(&f.push.Version, "version-prefix", "", "versions are PREFIX.0, PREFIX.1, ... (default 1.<unix time>, new on every run)")
	}
	if cmd == "" || cmd == "blob" {
		p := prefix("blob")
		fs.Int64Var(&f.blob.Size, p+"size", 2<<30, "blob size in bytes")
		fs.Uint64Var(&f.blob.Seed, p+"seed", uint64(time.Now().Unix()), "selects the blob's content (default: the clock, so a rerun sends a new blob)")
	}
	if cmd != "" {
		fs.IntVar(&f.probe.PID, "pid", 0, "the server's process id, to record its CPU time and memory (/proc/PID); 0: do not")
	}
	fs.DurationVar(&f.probe.Interval, "interval", 20*time.Millisecond, "between samples of the server's memory")
	fs.BoolVar(&f.probe.ResetPeak, "reset-peak", true, "reset the server's VmHWM (/proc/PID/clear_refs) before each measurement")
}

// parse parses args into fs and refuses stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func runOne(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	var f flags
	fs := flag.NewFlagSet("benchserver "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.server, "server", os.Getenv("EVIDENT_SERVER"), "archive URL (default EVIDENT_SERVER)")
	fs.StringVar(&f.token, "token", os.Getenv("EVIDENT_TOKEN"), "API token (default EVIDENT_TOKEN)")
	f.addBenchFlags(fs, cmd)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.server == "" || f.token == "" {
		return &usageError{"-server and -token are required (or EVIDENT_SERVER and EVIDENT_TOKEN)"}
	}
	c, err := client.New(f.server, f.token, nil)
	if err != nil {
		return err
	}
	c.UserAgent = "evident-benchserver"
	return bench(ctx, cmd, c, &f, stdout, stderr)
}

// bench runs the benchmark named cmd and prints its result.
func bench(ctx context.Context, cmd string, c *client.Client, f *flags, stdout, progress io.Writer) error {
	before := loadAvg()
	var (
		res    any
		render func(io.Writer)
		err    error
	)
	switch cmd {
	case "lookup":
		var r *lookupResult
		if r, err = benchLookup(ctx, c, f.lookup, f.probe, progress); err == nil {
			res, render = r, r.render
		}
	case "push":
		var r *pushResult
		if r, err = benchPush(ctx, c, f.push, f.probe, progress); err == nil {
			res, render = r, r.render
		}
	case "blob":
		var r *blobResult
		if r, err = benchBlob(ctx, c, f.blob, f.probe, progress); err == nil {
			res, render = r, r.render
		}
	}
	if err != nil {
		return err
	}
	after := loadAvg()
	fmt.Fprintf(stdout, "\n%s against %s (load average before: %s, after: %s; %d CPUs, %s)\n",
		cmd, c.URL(), before, after, runtime.NumCPU(), runtime.Version())
	render(stdout)
	line, err := json.Marshal(struct {
		Result    any    `json:"result"`
		LoadStart string `json:"loadAvgStart"`
		LoadEnd   string `json:"loadAvgEnd"`
		At        string `json:"at"`
	}{res, before, after, time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", line)
	return nil
}

// loadAvg returns the 1-, 5- and 15-minute load averages, or "?" where
// /proc/loadavg cannot be read.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func (r *lookupResult) render(w io.Writer) {
	fmt.Fprintf(w, "%d synthetic releases (seed %d), log size %d\n", r.Releases, r.Seed, r.LogSize)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "lookup\tconcurrency\tn\tp50 ms\tp90 ms\tp99 ms\tmax ms\tlookups/s\thits/lookup\tmisses\tserver CPU ms/lookup\tclient CPU ms/lookup\tserver peak RSS MiB\t")
	for _, row := range r.Rows {
		l := row.Latency
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t\n",
			row.Kind, row.Concurrency, l.N, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, row.PerSecond, row.MeanHits, row.Misses,
			serverCPUPer(row.Use, l.N), clientCPUPer(row.Use, l.N), peakMiB(row.Use))
	}
	tw.Flush()
}

func (r *pushResult) render(w io.Writer) {
	fmt.Fprintf(w, "%d small releases of %s, sealed in %.1f s (not timed)\n", r.N, r.Product, r.SealSeconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pushes\tconcurrency\twall s\tpushes/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tblobs/push\tbytes/push\tproofs verified\tserver CPU ms/push\tclient CPU ms/push\tserver peak RSS MiB\t")
	l := r.Latency
	fmt.Fprintf(tw, "%d\t%d\t%.2f\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%.0f\t%d\t%s\t%s\t%s\t\n",
		r.N, r.Concurrency, r.WallSeconds, r.PushesPerSec, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs, r.BlobsPerPush, r.BytesPerPush, r.ProofsVerified,
		serverCPUPer(r.Use, r.N), clientCPUPer(r.Use, r.N), peakMiB(r.Use))
	tw.Flush()
}

func (r *blobResult) render(w io.Writer) {
	fmt.Fprintf(w, "blob %s, %d bytes (%.1f MiB)\n", r.Digest, r.Size, float64(r.Size)/(1<<20))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "step\tseconds\tMB/s\tserver CPU s\tclient CPU s\tserver RSS before MiB\tpeak RSS MiB\tVmHWM reset\tgrowth MiB\tsamples\t")
	fmt.Fprintf(tw, "hash (client)\t%.2f\t%.1f\t\t\t\t\t\t\t\t\n", r.HashSeconds, float64(r.Size)/1e6/r.HashSeconds)
	for _, p := range []struct {
		name string
		s    float64
		mbps float64
		u    *usage
	}{{"upload", r.UploadSeconds, r.UploadMBps, r.Upload}, {"download", r.DownloadSeconds, r.DownloadMBps, r.Download}} {
		client := "-"
		if p.u != nil {
			client = fmt.Sprintf("%.2f", p.u.ClientCPUSeconds)
		}
		if p.u == nil || p.u.Server == nil {
			fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t-\t%s\t-\t-\t-\t-\t-\t\n", p.name, p.s, p.mbps, client)
			continue
		}
		sv := p.u.Server
		fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.2f\t%s\t%.1f\t%.1f\t%v\t%.1f\t%d\t\n", p.name, p.s, p.mbps, sv.CPUSeconds, client,
			mib(sv.RSSBefore), mib(sv.Peak()), sv.HWMReset, mib(sv.Peak()-sv.RSSBefore), sv.Samples)
	}
	tw.Flush()
	if r.PID == 0 {
		fmt.Fprintln(w, "server memory not measured (no -pid)")
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// serverCPUPer is the server's CPU time per operation in milliseconds, or
// "-".
func serverCPUPer(u *usage, n int) string {
	if u == nil || u.Server == nil || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", u.Server.CPUSeconds*1000/float64(n))
}

// clientCPUPer is this process's CPU time per operation in milliseconds,
// or "-".
func clientCPUPer(u *usage, n int) string {
	if u == nil || n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", u.ClientCPUSeconds*1000/float64(n))
}

// peakMiB is the server's peak RSS in MiB, or "-".
func peakMiB(u *usage) string {
	if u == nil || u.Server == nil {
		return "-"
	}
	return fmt.Sprintf("%.1f", mib(u.Server.Peak()))
}
