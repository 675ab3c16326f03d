package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/client"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/tlog"
)

// serverOptions are the flags of every command that talks to an archive.
type serverOptions struct {
	server string
	token  string
}

func (o *serverOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.server, "server", "", "archive URL (or EVIDENT_SERVER)")
	cmd.Flags().StringVar(&o.token, "token", "", "API token (or EVIDENT_TOKEN; prefer the variable: flags show up in process lists)")
}

// client binds the options to the environment and returns a client.
func (a *app) client(cmd *cobra.Command, o *serverOptions) (*client.Client, error) {
	if err := a.bindEnv(cmd, "server", "token"); err != nil {
		return nil, err
	}
	if o.server == "" {
		return nil, &usageError{errors.New("--server URL is required (or EVIDENT_SERVER)")}
	}
	if o.token == "" {
		return nil, &usageError{errors.New("--token is required (or EVIDENT_TOKEN)")}
	}
	c, err := client.New(o.server, o.token, nil)
	if err != nil {
		return nil, err
	}
	c.UserAgent = "evident/" + version
	return c, nil
}

type pushOptions struct {
	serverOptions
	logKey string
	json   bool
}

func (a *app) pushCommand() *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push DIR --server URL --token T",
		Short: "Upload a sealed release to an archive",
		Long: `Upload a sealed release directory to an evidentd archive: the evidence blobs the
archive does not have yet, then the manifest and its signature. The archive verifies
the signature against its trust policy, checks every blob and re-evaluates the
policy before the release becomes visible. The inclusion proof it returns is
verified here against the archive's log key (pin it with --log-key).

Pushing the same release again is a no-op; the same version with different
content is refused (409) and the message names the release that conflicts.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			return a.runPush(cmd.Context(), c, args[0], o)
		},
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.logKey, "log-key", "", "the archive's log verifier key (file); when set, the proof must be signed by it")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

type pushReport struct {
	*api.PushResult
	Uploaded      int    `json:"uploaded"`
	UploadedBytes int64  `json:"uploadedBytes"`
	ProofVerified bool   `json:"proofVerified"`
	LogKeyPinned  bool   `json:"logKeyPinned"`
	Checkpoint    string `json:"-"`
}

func (a *app) runPush(ctx context.Context, c api.Archive, dir string, o pushOptions) error {
	u, res, err := client.PushDir(ctx, c, dir)
	if err != nil {
		return err
	}
	rep := pushReport{PushResult: res, Uploaded: u.Uploaded, UploadedBytes: u.UploadedBytes}

	// The archive's word that the release is in its log, checked here.
	vkey := res.LogKey
	if o.logKey != "" {
		b, err := readFileLimited(o.logKey, 4096)
		if err != nil {
			return evidence.Errorf(evidence.KindInvalid, "log key %s: %v", o.logKey, err)
		}
		vkey = string(bytes.TrimSpace(b))
		rep.LogKeyPinned = true
	}
	if err := client.CheckProof(res, vkey, u); err != nil {
		return err
	}
	rep.ProofVerified = true
	a.render(o.json, rep, func() {
		what := "archived"
		if !res.Created {
			what = "already archived (identical); nothing changed"
		}
		fmt.Fprintf(a.stdout, "%s %s: uploaded %d blob(s), %d bytes\n", res.Release, what, rep.Uploaded, rep.UploadedBytes)
		fmt.Fprintf(a.stdout, "manifest %s, signed by %s\n", res.ManifestDigest, res.Signer)
		pin := "key from the archive"
		if rep.LogKeyPinned {
			pin = "pinned key"
		}
		fmt.Fprintf(a.stdout, "log entry %d in a tree of %d: inclusion proof verified (%s %s)\n", res.Log.Index, res.Log.Size, pin, keyName(vkey))
	})
	return nil
}

func keyName(vkey string) string {
	if v, err := tlog.NewVerifier(vkey); err == nil {
		return fmt.Sprintf("%s+%08x", v.Name(), v.KeyHash())
	}
	return "?"
}
