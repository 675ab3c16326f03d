package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"golang.org/x/net/netutil"

	"github.com/evident-dev/evident/internal/archive"
	"github.com/evident-dev/evident/internal/httpapi"
	"github.com/evident-dev/evident/internal/sign"
)

func serveCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the archive",
		Long: `Run the archive. With no flags it stores everything in ./evidentd-data and listens
on 127.0.0.1:8080. Pushed releases are accepted only when signed by a trusted key
(--trusted-key, repeatable, or trusted-key: [...] in the config file).

At scale, keep the catalog in PostgreSQL (--catalog postgres://...) and the blobs in
an S3-compatible object store (--blobs s3://bucket/prefix?endpoint=...&region=...,
credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the shared
AWS files): any number of evidentd processes with the same catalog, blobs and
--log-key file then serve one archive.

Every flag can also be set in the config file (same name) or as EVIDENTD_<NAME>
(e.g. EVIDENTD_ADDR, EVIDENTD_TRUSTED_KEY=a.pub,b.pub).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), c, stdout, stderr)
		},
	}
	f := cmd.Flags()
	addStoreFlags(f)
	f.String("addr", "127.0.0.1:8080", "listen address")
	f.StringArray("trusted-key", nil, "public key (PEM) whose release signatures are accepted; repeatable")
	f.StringArray("trusted-identity", nil, "keyless signer whose releases are accepted: ISSUER|SUBJECT-REGEXP, e.g. 'https://token.actions.githubusercontent.com|https://github.com/acme/wearable/.github/workflows/release.yml@refs/tags/v.*'; repeatable")
	f.String("trusted-root", "", "Sigstore trusted_root.json: Fulcio CAs, timestamp authorities and logs that keyless signatures and timestamps are checked against")
	f.String("tsa-chain", "", "PEM chain of a timestamp authority whose timestamps are trusted (instead of --trusted-root)")
	f.Int64("max-blob-size", 8<<30, "largest blob accepted, in bytes")
	f.Int("max-in-flight", 512, "requests handled at once; more are answered 503")
	f.Int("max-connections", 0, "open connections accepted at once (default: the open-file limit minus a reserve)")
	f.String("tls-cert", "", "TLS certificate file (serve HTTPS when set with --tls-key)")
	f.String("tls-key", "", "TLS private key file")
	f.Duration("shutdown-timeout", 30*time.Second, "how long to let requests finish on SIGTERM")
	f.String("log-level", "info", "debug, info, warn or error")
	return cmd
}

// loadTrust builds the archive's trust policy from keys, keyless identities
// and a trusted root, and returns the root's JSON for audit packs.
func loadTrust(c *config) (sign.Trust, []byte, error) {
	t, err := loadKeys(c.TrustedKeys)
	if err != nil {
		return t, nil, err
	}
	for _, s := range c.TrustedIdentities {
		issuer, subject, ok := strings.Cut(s, "|")
		id := sign.Identity{Issuer: issuer, SubjectRegexp: subject}
		if !ok {
			return t, nil, &usageError{fmt.Errorf("--trusted-identity %q: want ISSUER|SUBJECT-REGEXP", s)}
		}
		if err := id.Validate(); err != nil {
			return t, nil, &usageError{fmt.Errorf("--trusted-identity %q: %v", s, err)}
		}
		t.Identities = append(t.Identities, id)
	}
	switch {
	case c.TrustedRoot != "" && c.TSAChain != "":
		return t, nil, &usageError{fmt.Errorf("give --trusted-root or --tsa-chain, not both")}
	case c.TrustedRoot != "":
		b, err := os.ReadFile(c.TrustedRoot)
		if err != nil {
			return t, nil, fmt.Errorf("trusted root: %w", err)
		}
		if t.TrustedRoot, err = sign.ParseTrustedRoot(b); err != nil {
			return t, nil, fmt.Errorf("trusted root %s: %w", c.TrustedRoot, err)
		}
		return t, b, nil
	case c.TSAChain != "":
		b, err := os.ReadFile(c.TSAChain)
		if err != nil {
			return t, nil, fmt.Errorf("TSA chain: %w", err)
		}
		tr, err := sign.TrustedRootFromTSAChain(b)
		if err != nil {
			return t, nil, fmt.Errorf("TSA chain %s: %w", c.TSAChain, err)
		}
		j, err := tr.MarshalJSON()
		if err != nil {
			return t, nil, err
		}
		t.TrustedRoot = tr
		return t, j, nil
	}
	if len(t.Identities) > 0 {
		return t, nil, &usageError{fmt.Errorf("--trusted-identity needs --trusted-root: keyless certificates are checked against the Sigstore instance's trusted root")}
	}
	return t, nil, nil
}

func loadKeys(paths []string) (sign.Trust, error) {
	var t sign.Trust
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return t, fmt.Errorf("trusted key %s: %w", p, err)
		}
		k, err := sign.LoadPublicKey(b)
		if err != nil {
			return t, fmt.Errorf("trusted key %s: %w", p, err)
		}
		t.Keys = append(t.Keys, k)
	}
	return t, nil
}

func serve(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	log := newLogger(stderr, c.LogLevel)
	trust, rootJSON, err := loadTrust(c)
	if err != nil {
		return err
	}
	if len(trust.Keys) == 0 && len(trust.Identities) == 0 {
		log.Warn("no trusted signers: every pushed release will be refused (add --trusted-key or --trusted-identity)")
	}
	st, err := openStores(ctx, c, c.MaxBlobSize)
	if err != nil {
		return err
	}
	defer st.Close()

	if len(c.Approvers) > 0 {
		n, err := registerApprovers(ctx, st.catalog, c.Approvers, localActor("serve (config file approvers)"))
		if err != nil {
			return fmt.Errorf("config approvers: %w", err)
		}
		if n > 0 {
			log.Info("registered approvers from the config file", "added", n)
		}
	}
	arch, err := archive.New(archive.Config{
		Blobs: st.blobs, Catalog: st.catalog, Trust: trust, TrustedRootJSON: rootJSON,
		LogSigner: st.signer, LogVerifierKey: st.vkey, Log: log,
	})
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h, err := httpapi.New(httpapi.Config{
		Archive: arch, Auth: arch, Ready: st.catalog.Ping, Log: log, Registry: reg,
		MaxBlobSize: c.MaxBlobSize, MaxInFlight: c.MaxInFlight,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	// Bound open connections so that a flood cannot exhaust file
	// descriptors; excess connections wait in the kernel's backlog.
	maxConns := c.MaxConns
	if maxConns <= 0 {
		maxConns = defaultMaxConns()
	}
	ln = netutil.LimitListener(ln, maxConns)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		// No whole-request read/write timeout: blobs and audit packs may
		// take long. Uploads are bounded by size instead, and a stalled
		// client costs one connection slot.
		ErrorLog: nil,
	}
	scheme := "http"
	if c.TLSCert != "" || c.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	log.Info("evidentd listening", "addr", ln.Addr().String(), "max_connections", maxConns, "url", scheme+"://"+ln.Addr().String(),
		"data", c.Data, "catalog", st.catalogName, "blobs", st.blobsName, "trusted_keys", len(trust.Keys), "trusted_identities", len(trust.Identities), "log_origin", st.signer.Name(), "version", version)
	fmt.Fprintf(stdout, "evidentd %s listening on %s://%s (data %s)\n", version, scheme, ln.Addr(), c.Data)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", c.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	log.Info("stopped")
	return nil
}
