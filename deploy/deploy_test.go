package deploy

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveBinaries()
	os.Exit(code)
}

// repoRoot is the module's root, relative to this package's directory.
const repoRoot = ".."

// flagSet holds the long flags of `evidentd serve`, without --help.
type flagSet map[string]bool

// flagLine matches a flag line of cobra's help: "  -x, --name type  usage".
var flagLine = regexp.MustCompile(`^\s+(?:-[a-zA-Z], )?--([a-z0-9][a-z0-9-]*)\b`)

// serveFlags returns the flags of the real `evidentd serve`, built from this
// module, as its --help lists them.
func serveFlags(t *testing.T) flagSet {
	t.Helper()
	bins := testutil.BuildBinaries(t)
	res := testutil.RunBinary(t, bins.Evidentd, nil, "serve", "--help")
	if res.Code != 0 {
		t.Fatalf("evidentd serve --help: %v", res)
	}
	flags := parseHelpFlags(res.Stdout)
	for _, f := range []string{"addr", "config", "data", "catalog", "blobs", "log-key", "trusted-key"} {
		if !flags[f] {
			t.Fatalf("evidentd serve --help lists no --%s: has the flag gone, or does parseHelpFlags need to learn a new help format?\n%s", f, res.Stdout)
		}
	}
	return flags
}

// healthcheckCLI is what `evidentd healthcheck --help` says: its flags and
// the URL it asks without --url.
type healthcheckCLI struct {
	flags      flagSet
	defaultURL string
}

// healthcheckFlags returns the flags of the real `evidentd healthcheck`,
// built from this module: a subcommand that is not there fails the test.
func healthcheckFlags(t *testing.T) healthcheckCLI {
	t.Helper()
	bins := testutil.BuildBinaries(t)
	res := testutil.RunBinary(t, bins.Evidentd, nil, "healthcheck", "--help")
	if res.Code != 0 || !strings.Contains(res.Stdout, "evidentd healthcheck") {
		t.Fatalf("evidentd healthcheck --help: %v", res)
	}
	h := healthcheckCLI{flags: parseHelpFlags(res.Stdout)}
	m := regexp.MustCompile(`(?m)^\s+--url string .*\(default "([^"]+)"\)`).FindStringSubmatch(res.Stdout)
	if m == nil {
		t.Fatalf("evidentd healthcheck --help lists no --url with a default:\n%s", res.Stdout)
	}
	h.defaultURL = m[1]
	return h
}

func parseHelpFlags(help string) flagSet {
	flags := flagSet{}
	for line := range strings.SplitSeq(help, "\n") {
		if m := flagLine.FindStringSubmatch(line); m != nil && m[1] != "help" {
			flags[m[1]] = true
		}
	}
	return flags
}

// fromEnv returns the flag an EVIDENTD_* variable sets: EVIDENTD_LOG_KEY
// sets --log-key.
func (f flagSet) fromEnv(name string) (string, bool) {
	rest, ok := strings.CutPrefix(name, "EVIDENTD_")
	if !ok {
		return "", false
	}
	flag := strings.ReplaceAll(strings.ToLower(rest), "_", "-")
	return flag, f[flag]
}

// parseArgs parses the arguments after "serve": "--name=value" or
// "--name value" (every flag of serve takes a value). It returns the values
// by flag name and an error for each unknown flag or stray argument.
func (f flagSet) parseArgs(args []string) (map[string][]string, []error) {
	vals := map[string][]string{}
	var errs []error
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			errs = append(errs, fmt.Errorf("argument %q: evidentd serve takes no arguments, only --flags", a))
			continue
		}
		name, val, hasVal := strings.Cut(name, "=")
		if !f[name] {
			errs = append(errs, fmt.Errorf("--%s is not a flag of evidentd serve", name))
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				errs = append(errs, fmt.Errorf("--%s has no value", name))
				continue
			}
			i++
			val = args[i]
		}
		vals[name] = append(vals[name], val)
	}
	return vals, errs
}

// listenPort returns the port of a --addr value such as 0.0.0.0:8080.
func listenPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("--addr %q: %v", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return 0, fmt.Errorf("--addr %q: want a fixed port", addr)
	}
	return port, nil
}

// replaceOnce replaces old by new in s, and fails the test unless old
// occurs exactly once: a case that breaks a file must break what it says.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("%q occurs %d times, want once: update the test case", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// wantError fails the test unless one of errs contains want.
func wantError(t *testing.T, errs []error, want string) {
	t.Helper()
	for _, err := range errs {
		if strings.Contains(err.Error(), want) {
			t.Logf("as expected: %v", err)
			return
		}
	}
	if len(errs) == 0 {
		t.Fatalf("no error, want one containing %q", want)
	}
	t.Fatalf("no error contains %q; got:\n%s", want, joinErrors(errs))
}

func joinErrors(errs []error) string {
	var b strings.Builder
	for _, err := range errs {
		fmt.Fprintf(&b, "  - %v\n", err)
	}
	return b.String()
}

func TestParseHelpFlags(t *testing.T) {
	help := `Usage:
  evidentd serve [flags]

Flags:
      --addr string                    listen address (default "127.0.0.1:8080")
  -h, --help                           help for serve
      --trusted-key stringArray        public key (PEM); repeatable
`
	got := parseHelpFlags(help)
	want := flagSet{"addr": true, "trusted-key": true}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseHelpFlags = %v, want %v", got, want)
	}
	vals, errs := want.parseArgs([]string{"--addr=0.0.0.0:1", "--trusted-key", "a.pub", "--trusted-key=b.pub", "--adress=x", "extra"})
	if fmt.Sprint(vals) != "map[addr:[0.0.0.0:1] trusted-key:[a.pub b.pub]]" {
		t.Errorf("parseArgs values = %v", vals)
	}
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "--adress") || !strings.Contains(errs[1].Error(), `"extra"`) {
		t.Errorf("parseArgs errors = %v, want --adress and \"extra\"", errs)
	}
	if f, ok := want.fromEnv("EVIDENTD_TRUSTED_KEY"); !ok || f != "trusted-key" {
		t.Errorf("fromEnv(EVIDENTD_TRUSTED_KEY) = %q, %v", f, ok)
	}
	if _, ok := want.fromEnv("EVIDENTD_TRUSTED_KEYS"); ok {
		t.Error("fromEnv(EVIDENTD_TRUSTED_KEYS) found a flag")
	}
}
