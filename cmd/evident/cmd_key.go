package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
)

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage signing keys", Args: cobra.ArbitraryArgs, RunE: groupRunE}
	cmd.AddCommand(a.keyGenerateCommand())
	return cmd
}

type keyGenerateOptions struct {
	out         string
	alg         string
	unencrypted bool
}

func (a *app) keyGenerateCommand() *cobra.Command {
	var o keyGenerateOptions
	cmd := &cobra.Command{
		Use:   "generate --out PREFIX",
		Short: "Write a new key pair: PREFIX.key (private) and PREFIX.pub",
		Long: `Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub.

The private key is encrypted with a passphrase in cosign's format (from
EVIDENT_KEY_PASSWORD, or asked twice on a terminal), so cosign can use it too.
--unencrypted writes a plain PKCS#8 key instead; approvers must not use one.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runKeyGenerate(o) },
	}
	cmd.Flags().StringVar(&o.out, "out", "", "path prefix of the key files (required)")
	cmd.Flags().StringVar(&o.alg, "algorithm", "ecdsa-p256", "ecdsa-p256 or ed25519")
	cmd.Flags().BoolVar(&o.unencrypted, "unencrypted", false, "write the private key without a passphrase")
	return cmd
}

func (a *app) runKeyGenerate(o keyGenerateOptions) error {
	if o.out == "" {
		return &usageError{errors.New("--out PREFIX is required")}
	}
	priv, pub := o.out+".key", o.out+".pub"
	for _, p := range []string{priv, pub} {
		if _, err := os.Stat(p); err == nil {
			return evidence.Errorf(evidence.KindInvalid, "%s exists; keys are never overwritten", p)
		}
	}
	k, err := sign.GenerateKey(o.alg)
	if err != nil {
		return err
	}
	var privPEM []byte
	if o.unencrypted {
		privPEM, err = k.MarshalPKCS8PEM()
	} else {
		var pass []byte
		if pass, err = a.newPassphrase(); err != nil {
			return err
		}
		privPEM, err = k.MarshalEncryptedPEM(pass)
	}
	if err != nil {
		return err
	}
	pubPEM, err := k.Public().MarshalPEM()
	if err != nil {
		return err
	}
	if err := writeNew(priv, privPEM, 0o600); err != nil {
		return err
	}
	if err := writeNew(pub, pubPEM, 0o644); err != nil {
		os.Remove(priv)
		return err
	}
	fmt.Fprintf(a.stdout, "Private key: %s\nPublic key:  %s\nKey ID:      %s\n", priv, pub, k.Public().ID())
	return nil
}

// writeNew creates path exclusively, writes b and syncs.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
