package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/archive"
)

func fsckCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fsck",
		Short: "Check the archive's storage: re-hash every blob, walk the catalog, recompute the log",
		Long: `Check the archive's storage: re-hash every blob, check every release's blobs and
manifest, re-verify release signatures (with --trusted-key), and recompute the Merkle
log from its leaves, comparing every stored node. Nothing is changed.
Exit code 3 when a problem is found; each one is listed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			trust, err := loadKeys(c.TrustedKeys)
			if err != nil {
				return err
			}
			st, err := openStores(cmd.Context(), c, 0)
			if err != nil {
				return err
			}
			defer st.Close()
			rep, err := archive.Fsck(cmd.Context(), st.blobs, st.catalog, trust, func(s string) { fmt.Fprintln(stderr, "fsck:", s) })
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "blobs:      %d re-hashed (%d bytes)\n", rep.Blobs, rep.BlobBytes)
			fmt.Fprintf(stdout, "releases:   %d checked\n", rep.Releases)
			if len(trust.Keys) > 0 {
				fmt.Fprintf(stdout, "signatures: %d verified\n", rep.Signatures)
			} else {
				fmt.Fprintln(stdout, "signatures: not checked (no --trusted-key)")
			}
			fmt.Fprintf(stdout, "log:        %d entries recomputed\n", rep.LogSize)
			for _, p := range rep.Problems {
				fmt.Fprintln(stdout, "PROBLEM:", p)
			}
			if len(rep.Problems) > 0 {
				return &problemsError{len(rep.Problems)}
			}
			fmt.Fprintln(stdout, "OK: no problems found")
			return nil
		},
	}
	addStoreFlags(cmd.Flags())
	cmd.Flags().StringArray("trusted-key", nil, "public key to re-verify release signatures with; repeatable")
	return cmd
}
