// Command evident is the client: it collects and seals release evidence in
// CI, talks to an evidentd archive, and verifies releases offline.
//
// Exit codes (stable; scripts rely on them):
//
//	0  success
//	1  error: bad input, I/O, server
//	2  usage: unknown command or flag, wrong arguments
//	3  verification failed
//	4  policy failed
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/evident-dev/evident/internal/evidence"
)

// Exit codes.
const (
	exitOK           = 0
	exitError        = 1
	exitUsage        = 2
	exitVerification = 3
	exitPolicy       = 4
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the exit code. It is main
// without the process: tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, lookupEnv func(string) (string, bool)) int {
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr, lookupEnv: lookupEnv}
	root := app.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	var silent *silentError
	if !errors.As(err, &silent) {
		fmt.Fprintf(stderr, "evident: %v\n", err)
	}
	if code == exitUsage {
		fmt.Fprintln(stderr, "Run 'evident --help' for usage.")
	}
	return code
}

// exitCode maps an error to the process exit code: the one table.
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var s *silentError
	if errors.As(err, &s) {
		return s.code
	}
	switch evidence.KindOf(err) {
	case evidence.KindVerification:
		return exitVerification
	case evidence.KindPolicy:
		return exitPolicy
	}
	return exitError
}

// usageError marks a command-line mistake.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// silentError carries an exit code for a failure that the command already
// reported on its own (e.g. a policy report), so main prints nothing more.
type silentError struct {
	code int
	err  error
}

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }
