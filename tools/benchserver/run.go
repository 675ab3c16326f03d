package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/sign"
)

// serverOptions says how to start the evidentd under test.
type serverOptions struct {
	Evidentd string // the binary
	Data     string // --data
	Catalog  string // --catalog, "" for evidentd's default
	Blobs    string // --blobs, "" for evidentd's default
	Addr     string
	Work     string // key, token and server log; a temporary directory when ""
}

// storeArgs are the store flags every evidentd command is given.
func (o serverOptions) storeArgs() []string {
	args := []string{"--data", o.Data}
	if o.Catalog != "" {
		args = append(args, "--catalog", o.Catalog)
	}
	if o.Blobs != "" {
		args = append(args, "--blobs", o.Blobs)
	}
	return args
}

// server is a running evidentd.
type server struct {
	cmd  *exec.Cmd
	url  string
	log  string // its stderr
	done chan error
}

// startServer creates an admin token, starts evidentd serve trusting
// pubKey, and waits until it says where it listens.
func startServer(ctx context.Context, o serverOptions, pubKey string) (*server, string, error) {
	var out, errb bytes.Buffer
	tok := exec.CommandContext(ctx, o.Evidentd, append([]string{"token", "create", "--role", "admin", "--name", "benchserver"}, o.storeArgs()...)...)
	tok.Stdout, tok.Stderr = &out, &errb
	if err := tok.Run(); err != nil {
		return nil, "", fmt.Errorf("evidentd token create: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	token := strings.TrimSpace(out.String())
	if token == "" || strings.ContainsAny(token, " \n") {
		return nil, "", fmt.Errorf("evidentd token create printed %q, want one token", token)
	}

	logPath := filepath.Join(o.Work, "evidentd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := append([]string{"serve", "--addr", o.Addr, "--trusted-key", pubKey}, o.storeArgs()...)
	cmd := exec.Command(o.Evidentd, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start evidentd: %w", err)
	}
	s := &server{cmd: cmd, log: logPath, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u, ok := listeningURL(sc.Text()); ok {
				select {
				case urls <- u:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		s.done <- cmd.Wait()
	}()
	select {
	case s.url = <-urls:
		return s, token, nil
	case err := <-s.done:
		return nil, "", fmt.Errorf("evidentd exited before listening (%v); see %s", err, logPath)
	case <-time.After(2 * time.Minute):
		s.stop()
		return nil, "", fmt.Errorf("evidentd did not say where it listens within 2 minutes; see %s", logPath)
	case <-ctx.Done():
		s.stop()
		return nil, "", ctx.Err()
	}
}

// listeningURL finds the URL in evidentd's "... listening on URL (data DIR)"
// line.
func listeningURL(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, " listening on ")
	if !ok {
		return "", false
	}
	u, _, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", false
	}
	return u, true
}

// stop asks the server to shut down (SIGTERM) and kills it if it has not
// within 30 seconds.
func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-s.done:
		return err
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		return fmt.Errorf("evidentd did not stop within 30 s of SIGTERM; killed")
	}
}

// runServer is the run command: start a server, run the benchmarks, stop it.
func runServer(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	var f flags
	var o serverOptions
	var benches string
	fs := flag.NewFlagSet("benchserver run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.Evidentd, "evidentd", "bin/evidentd", "the evidentd binary")
	fs.StringVar(&o.Data, "data", "", "evidentd --data: the server's data directory (required)")
	fs.StringVar(&o.Catalog, "catalog", "", "evidentd --catalog URL (default: DATA/catalog.db)")
	fs.StringVar(&o.Blobs, "blobs", "", "evidentd --blobs URL (default: DATA/blobs)")
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:0", "evidentd --addr")
	fs.StringVar(&benches, "benches", "lookup,push,blob", "which benchmarks to run, in this order")
	f.addBenchFlags(fs, "")
	if err := parse(fs, args); err != nil {
		return err
	}
	if o.Data == "" {
		return &usageError{"-data is required"}
	}
	list := strings.Split(benches, ",")
	for _, b := range list {
		if !slices.Contains([]string{"lookup", "push", "blob"}, b) {
			return &usageError{fmt.Sprintf("-benches: unknown benchmark %q (want lookup, push, blob)", b)}
		}
	}

	if o.Work, err = os.MkdirTemp("", "benchserver-run-"); err != nil {
		return err
	}
	defer func() {
		if err == nil {
			os.RemoveAll(o.Work)
		} else {
			fmt.Fprintf(stderr, "benchserver: keeping %s (server log, key)\n", o.Work)
		}
	}()
	f.push.KeyFile, err = writeKey(o.Work)
	if err != nil {
		return err
	}
	pub := strings.TrimSuffix(f.push.KeyFile, ".key") + ".pub"
	s, token, err := startServer(ctx, o, pub)
	if err != nil {
		return err
	}
	defer func() {
		if serr := s.stop(); serr != nil && err == nil {
			var ee *exec.ExitError
			if !errors.As(serr, &ee) {
				err = fmt.Errorf("stop evidentd: %w", serr)
			}
		}
	}()
	f.probe.PID = s.cmd.Process.Pid
	fmt.Fprintf(stderr, "evidentd (pid %d) listening on %s; log %s\n", f.probe.PID, s.url, s.log)

	c, err := client.New(s.url, token, nil)
	if err != nil {
		return err
	}
	c.UserAgent = "evident-benchserver"
	for _, b := range list {
		if err := bench(ctx, b, c, &f, stdout, stderr); err != nil {
			return fmt.Errorf("%s: %w (server log: %s)", b, err, s.log)
		}
	}
	return nil
}

// writeKey writes a new ECDSA P-256 key pair as dir/bench.key (unencrypted
// PKCS#8) and dir/bench.pub, and returns the private key's path.
func writeKey(dir string) (string, error) {
	k, err := sign.GenerateKey(sign.AlgECDSAP256)
	if err != nil {
		return "", err
	}
	priv, err := k.MarshalPKCS8PEM()
	if err != nil {
		return "", err
	}
	pub, err := k.Public().MarshalPEM()
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "bench.key")
	if err := os.WriteFile(path, priv, 0o600); err != nil {
		return "", err
	}
	return path, os.WriteFile(filepath.Join(dir, "bench.pub"), pub, 0o644)
}
