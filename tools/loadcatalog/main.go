// Command loadcatalog fills an evidentd catalog with synthetic releases, for
// the archive benchmark (docs/benchmarks.md, "Archive (evidentd)"):
//
//	go run ./tools/loadcatalog -catalog sqlite:///tmp/bench/catalog.db -n 1000000 [-seed 1] [-step 10000]
//
// The releases are those of catalogtest.Load (the same seed gives the same
// releases, so that `benchserver lookup -seed` knows which artifact digests
// and purls exist). They are written straight into the catalog, in
// transactions of 1,000, with progress after every step. The load is
// resumable: it first finds how many releases of this seed the catalog
// already holds and loads only the rest, so an interrupted run (Ctrl-C stops
// after the current transaction) continues where it stopped.
//
// The catalog can then be served as it is:
//
//	evidentd serve --data DIR --catalog sqlite:///tmp/bench/catalog.db
//	evidentd serve --data DIR --catalog postgres://user@host/db --blobs s3://...
//
// The synthetic releases are appended to the catalog's Merkle log, so the
// log needs the key its checkpoints will be signed with: loadcatalog creates
// it (-log-key, default log.key beside a SQLite catalog, where evidentd
// --data looks for it) when it is missing. A PostgreSQL catalog is shared
// by replicas, and evidentd refuses to create a log key for one whose log
// already has entries: give -log-key DIR/log.key (or the file every replica
// gets as --log-key).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/catalog/catalogtest"
	"github.com/evident-dev/evident/internal/catalog/postgres"
	"github.com/evident-dev/evident/internal/catalog/sqlite"
	"github.com/evident-dev/evident/internal/tlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags.
type options struct {
	catalog string
	logKey  string
	origin  string
	n       int
	seed    int64
	step    int
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("loadcatalog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.catalog, "catalog", "", "catalog URL: sqlite:///path/catalog.db (the directory is created) or postgres://user@host:5432/db")
	fs.StringVar(&o.logKey, "log-key", "", "the log key file, created if missing (default: log.key beside a sqlite catalog; required for postgres)")
	fs.StringVar(&o.origin, "log-origin", "evident-archive", "the log origin of a created key (evidentd --log-origin)")
	fs.IntVar(&o.n, "n", 1_000_000, "number of synthetic releases the catalog should hold when done")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the synthetic releases (benchserver lookup needs the same)")
	fs.IntVar(&o.step, "step", 10_000, "releases between progress lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.logKey == "" {
		if path, ok := strings.CutPrefix(o.catalog, "sqlite://"); ok && path != "" {
			o.logKey = filepath.Join(filepath.Dir(path), "log.key")
		}
	}
	if o.catalog == "" || fs.NArg() > 0 || o.n < 0 || o.step < 1 {
		fmt.Fprintln(stderr, "usage: loadcatalog -catalog sqlite:///path/catalog.db|postgres://... [-log-key FILE] [-n 1000000] [-seed 1] [-step 10000]")
		return 2
	}
	if err := load(ctx, o, stdout); err != nil {
		fmt.Fprintln(stderr, "loadcatalog:", err)
		return 1
	}
	return 0
}

// openCatalog opens the catalog named by raw, as evidentd serve --catalog
// does. It also returns the files that hold the catalog, for reporting its
// size (none for a server-based catalog).
func openCatalog(ctx context.Context, raw string) (catalog.Catalog, []string, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, nil, errors.New("catalog: want sqlite:///path/catalog.db or postgres://user@host/db")
	}
	switch scheme {
	case "sqlite":
		if rest == "" {
			return nil, nil, fmt.Errorf("catalog %q: the path is empty", raw)
		}
		if err := os.MkdirAll(filepath.Dir(rest), 0o755); err != nil {
			return nil, nil, fmt.Errorf("catalog %s: %w", rest, err)
		}
		db, err := sqlite.Open(ctx, rest)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog %s: %w", rest, err)
		}
		return db, []string{rest, rest + "-wal", rest + "-shm"}, nil
	case "postgres", "postgresql":
		db, err := postgres.Open(ctx, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("catalog: %w", err) // pgx hides the password
		}
		return db, nil, nil
	}
	return nil, nil, fmt.Errorf("catalog: unsupported scheme %q (want sqlite:// or postgres://)", scheme)
}

func load(ctx context.Context, o options, stdout io.Writer) (err error) {
	cat, files, err := openCatalog(ctx, o.catalog)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := cat.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close catalog: %w", cerr)
		}
	}()

	if o.logKey == "" {
		return errors.New("-log-key is required for a catalog that is not a sqlite file")
	}
	switch _, _, err := tlog.CreateKeyFile(o.logKey, o.origin); {
	case err == nil:
		fmt.Fprintf(stdout, "created the log key %s\n", o.logKey)
	case !errors.Is(err, os.ErrExist):
		return err
	}

	have, err := loaded(ctx, cat, o.n, o.seed)
	if err != nil {
		return err
	}
	logSize, err := cat.LogSize(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d of %d synthetic releases of seed %d present (log size %d)\n", redact(o.catalog), have, o.n, o.seed, logSize)
	if have >= o.n {
		fmt.Fprintf(stdout, "nothing to do; %s\n", sizeOf(files))
		return nil
	}

	start := time.Now()
	for i := have; i < o.n; i += o.step {
		k := min(o.step, o.n-i)
		if err := catalogtest.LoadFrom(ctx, cat, i, k, o.seed); err != nil {
			done, _ := loaded(context.WithoutCancel(ctx), cat, o.n, o.seed)
			return fmt.Errorf("after %d releases (run again to resume): %w", done, err)
		}
		el := time.Since(start)
		loaded := i + k - have
		rate := float64(loaded) / el.Seconds()
		eta := time.Duration(float64(o.n-i-k) / rate * float64(time.Second))
		fmt.Fprintf(stdout, "%d of %d releases  +%d in %v (%.0f/s)  eta %v  %s\n",
			i+k, o.n, loaded, el.Round(time.Second), rate, eta.Round(time.Second), sizeOf(files))
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "done: %d releases loaded in %v (%.0f/s); %s\n",
		o.n-have, el.Round(time.Millisecond), float64(o.n-have)/el.Seconds(), sizeOf(files))
	return nil
}

// loaded returns how many of the synthetic releases 0 to n-1 of seed cat
// holds. catalogtest.LoadFrom writes them in order, a transaction at a time,
// so they form a prefix and a binary search over their existence finds its
// length with about log2(n) lookups. Releases pushed by other means (the
// push benchmark, a test) do not count.
func loaded(ctx context.Context, cat catalog.Reader, n int, seed int64) (int, error) {
	var ferr error
	k := sort.Search(n, func(i int) bool {
		if ferr != nil {
			return true
		}
		_, err := cat.Release(ctx, catalogtest.LoadProduct(i), syntheticVersion(seed, i))
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			return true
		case err != nil:
			ferr = err
			return true
		}
		return false
	})
	if ferr != nil {
		return 0, fmt.Errorf("count loaded releases: %w", ferr)
	}
	return k, nil
}

// syntheticVersion is the version catalogtest.Load gives release i of seed.
// It is not exported there; if it ever changes, loaded finds 0 releases and
// the load fails at once with "already exists" rather than loading twice.
func syntheticVersion(seed int64, i int) string { return fmt.Sprintf("%d.%d", seed, i) }

// redact returns the catalog URL raw with its password, if any, hidden.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the catalog"
	}
	return u.Redacted()
}

// sizeOf describes the total size of the files that exist among files.
func sizeOf(files []string) string {
	if len(files) == 0 {
		return ""
	}
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return fmt.Sprintf("catalog files %.1f MB", float64(total)/1e6)
}
