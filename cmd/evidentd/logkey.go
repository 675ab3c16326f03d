package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/evident-dev/evident/internal/tlog"
)

func logkeyCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "logkey", Short: "Manage the log's checkpoint signing key"}
	create := &cobra.Command{
		Use:   "create --out FILE [--log-origin NAME]",
		Short: "Create a new log signing key in FILE and FILE.pub; print the verifier key",
		Long: `Create a new key for signing the log's checkpoints: the secret signer key in FILE
(mode 0600) and the public verifier key in FILE.pub, which is also printed. It never
replaces a key. For a key rotation give the log's current origin (the part of
log.key.pub before the first '+'): it is the same log.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Only --log-origin has an EVIDENTD_ variable: the key is
			// made for the archive those variables describe.
			v := viper.New()
			v.SetEnvPrefix("EVIDENTD")
			v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
			if err := v.BindPFlag("log-origin", cmd.Flags().Lookup("log-origin")); err != nil {
				return err
			}
			if err := v.BindEnv("log-origin"); err != nil {
				return err
			}
			out, _ := cmd.Flags().GetString("out")
			origin := v.GetString("log-origin")
			if out == "" {
				return &usageError{errors.New("--out FILE is required: where to write the new key")}
			}
			// CreateKeyFile never replaces FILE; FILE.pub may be the
			// published key of another log, so it is not replaced either.
			for _, f := range []string{out, out + ".pub"} {
				if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("%s already exists; logkey create never replaces a key: choose another --out", f)
				}
			}
			_, vkey, err := tlog.CreateKeyFile(out, origin)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; logkey create never replaces a key: choose another --out", out)
			}
			if errors.Is(err, tlog.ErrMalformed) {
				return &usageError{fmt.Errorf("--log-origin: %w", err)}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, vkey)
			fmt.Fprintf(stderr, "Created log key %s (secret: keep it like a password) and its verifier key %s.pub (publish it).\n", out, out)
			return nil
		},
	}
	create.Flags().String("out", "", "file to write the new signer key to; the verifier key goes to FILE.pub (required)")
	create.Flags().String("log-origin", "evident-archive", "the log's origin name (for a rotation: the current one, from log.key.pub)")
	cmd.AddCommand(create)
	return cmd
}
