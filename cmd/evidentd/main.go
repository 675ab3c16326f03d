// Command evidentd is the evident archive: content-addressed, append-only,
// tamper-evident storage of signed release records, served over HTTP.
//
//	evidentd serve  [--data DIR] [--addr HOST:PORT] [--config F] [--trusted-key PUB]...
//	evidentd token  create --role ROLE --name NAME | list
//	evidentd fsck   [--data DIR]
//	evidentd logkey create --out FILE [--log-origin NAME]
//	evidentd healthcheck [--url URL]
//
// With no configuration it keeps everything in ./evidentd-data (a blob
// directory and an embedded SQLite catalog) and listens on 127.0.0.1:8080.
// With --catalog postgres://... and --blobs s3://... several evidentd
// processes (replicas) serve one archive.
//
// Exit codes: 0 success, 1 error, 2 usage, 3 fsck found problems.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const (
	exitOK       = 0
	exitError    = 1
	exitUsage    = 2
	exitProblems = 3
)

var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process, for in-process tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := rootCommand(stdout, stderr)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var u *usageError
	var p *problemsError
	switch {
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "evidentd: %v\nRun 'evidentd --help' for usage.\n", err)
		return exitUsage
	case errors.As(err, &p):
		fmt.Fprintf(stderr, "evidentd: %v\n", err)
		return exitProblems
	}
	fmt.Fprintf(stderr, "evidentd: %v\n", err)
	return exitError
}

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

type problemsError struct{ n int }

func (e *problemsError) Error() string { return fmt.Sprintf("fsck found %d problem(s)", e.n) }
