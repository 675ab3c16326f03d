package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// defaultHealthURL is what healthcheck asks when neither --url nor
// EVIDENTD_ADDR says otherwise: serve's default address.
const defaultHealthURL = "http://127.0.0.1:8080/readyz"

func healthcheckCommand(stdout, _ io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "healthcheck [--url URL]",
		Short: "Ask a running evidentd whether it is ready; exit 0 if it is, 1 if not",
		Long: `Ask a running evidentd whether it is ready (GET /readyz: the server is up and its
catalog answers) and exit 0 if it answers 200, 1 otherwise with the reason. It is the
healthcheck of the container image, which has no shell, curl or wget:

  healthcheck: test: ["CMD", "/usr/local/bin/evidentd", "healthcheck"]

Without --url it asks ` + defaultHealthURL + `, or, when EVIDENTD_ADDR is set, /readyz on
that port of 127.0.0.1 (a wildcard host such as 0.0.0.0 is asked on the loopback
address). A server with --tls-cert needs --url https://NAME:PORT/readyz with a name the
certificate holds.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, _ := cmd.Flags().GetString("url")
			timeout, _ := cmd.Flags().GetDuration("timeout")
			if !cmd.Flags().Changed("url") {
				if addr := os.Getenv("EVIDENTD_ADDR"); addr != "" {
					u, err := readyzURL(addr)
					if err != nil {
						return &usageError{err}
					}
					url = u
				}
			}
			if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
				return &usageError{fmt.Errorf("--url %q: want http://HOST:PORT/readyz", url)}
			}
			if timeout <= 0 {
				return &usageError{fmt.Errorf("--timeout %v: want a positive duration", timeout)}
			}
			if err := checkHealth(cmd.Context(), url, timeout); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: ready\n", url)
			return nil
		},
	}
	cmd.Flags().String("url", defaultHealthURL, "the readiness endpoint to ask")
	cmd.Flags().Duration("timeout", 3*time.Second, "how long to wait for the answer")
	return cmd
}

// readyzURL returns the /readyz URL of a server listening on addr
// (HOST:PORT, as --addr), asked from the same machine.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("EVIDENTD_ADDR %q: %v", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}

// checkHealth asks url and returns nil if it answers 200 within timeout,
// else a one-line error that says why not.
func checkHealth(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &usageError{fmt.Errorf("--url %q: %v", url, err)}
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer within %v", url, timeout)
	}
	if err != nil {
		if ue, ok := errors.AsType[*neturl.Error](err); ok {
			err = ue.Err // *url.Error repeats the method and URL
		}
		return fmt.Errorf("%s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	reason := strings.Join(strings.Fields(string(body)), " ")
	if reason != "" {
		reason = ": " + reason
	}
	return fmt.Errorf("%s: not ready: %s%s", url, resp.Status, reason)
}
