package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/ci"
	"github.com/evident-dev/evident/internal/config"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/runner"
	"github.com/evident-dev/evident/internal/sign"
)

type collectOptions struct {
	config string
	out    string
	sets   []string
	json   bool
}

func (o *collectOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.config, "config", config.DefaultFile, "project config file")
	cmd.Flags().StringVar(&o.out, "out", "", "output directory to create (required; must not exist or be empty)")
	cmd.Flags().StringArrayVar(&o.sets, "set", nil, "override a config key, e.g. --set product.version=2.4.1 or --set components.NAME.version=3.1.3 (repeatable)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
}

type sealOptions struct {
	collectOptions
	signer signerOptions
}

func (a *app) collectCommand() *cobra.Command {
	var o collectOptions
	cmd := &cobra.Command{
		Use:   "collect [--config F] --out DIR",
		Short: "Collect evidence and write an unsigned manifest (a dry run of seal)",
		Long: `Collect everything evident.yaml names and write DIR/manifest.json and DIR/evidence/,
without signing. The policy is evaluated and reported; exit code 4 when it fails
(the directory is written either way, so the report can be inspected).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.bindEnv(cmd, "config"); err != nil {
				return err
			}
			return a.runCollect(cmd, o, nil)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func (a *app) sealCommand() *cobra.Command {
	var o sealOptions
	cmd := &cobra.Command{
		Use:   "seal [--config F] (--key KEY | --keyless) --out DIR",
		Short: "Collect evidence, check the policy and sign the release manifest",
		Long: `Collect everything evident.yaml names, evaluate the safety-class policy and, when it
passes, sign the manifest: DIR/manifest.json, DIR/evidence/ and DIR/bundle.sigstore.json.
When the policy fails nothing is signed or written, the report names the component,
rule and what is missing, and the exit code is 4.

The key's passphrase comes from EVIDENT_KEY_PASSWORD or a terminal prompt. In CI,
--keyless signs with the job's OIDC identity (GitHub Actions: permissions id-token:
write; GitLab: an id_tokens entry SIGSTORE_ID_TOKEN with aud sigstore) through
Fulcio; a keyless signature needs a trusted time, from --tsa or a Rekor log.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := a.bindEnv(cmd, "config", "key"); err != nil {
				return err
			}
			if !o.signer.keyless && o.signer.key == "" {
				return &usageError{errors.New("--key KEY or --keyless is required (or EVIDENT_KEY)")}
			}
			return a.runCollect(cmd, o.collectOptions, &o.signer)
		},
	}
	o.addFlags(cmd)
	o.signer.addFlags(cmd)
	return cmd
}

// sealResult is what collect and seal report.
type sealResult struct {
	Release        string                `json:"release"`
	Out            string                `json:"out,omitempty"`
	ManifestDigest string                `json:"manifestDigest"`
	Signed         bool                  `json:"signed"`
	Bundle         string                `json:"bundle,omitempty"`
	Manifest       *evidence.Manifest    `json:"manifest"`
	Policy         evidence.PolicyResult `json:"-"`
}

// runCollect collects and, when so is not nil, signs.
func (a *app) runCollect(cmd *cobra.Command, o collectOptions, so *signerOptions) error {
	ctx := cmd.Context()
	if o.out == "" {
		return &usageError{errors.New("--out DIR is required")}
	}
	var signer sign.Signer
	if so != nil {
		// Set the signer up first: a wrong passphrase or a missing OIDC
		// permission should fail in a second, not after hashing a gigabyte
		// of artifacts.
		var err error
		if signer, _, err = a.signer(ctx, *so); err != nil {
			return err
		}
	}
	cfg, err := config.Load(config.LoadOptions{Path: o.config, LookupEnv: a.lookupEnv, Sets: o.sets})
	if err != nil {
		return err
	}
	pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	staged, err := runner.Collect(ctx, runner.Options{
		Config: cfg, Policy: pol, Out: o.out,
		Env: ci.Env(a.lookupEnv), Git: ci.NewGit(cfg.Dir),
		Version: version, Log: a.logger(),
	})
	if err != nil {
		return err
	}
	defer staged.Discard()

	res := sealResult{
		Release:        staged.Manifest.Ref().String(),
		ManifestDigest: staged.Digest.String(),
		Manifest:       staged.Manifest,
	}
	passed := staged.Manifest.Policy.Passed()
	switch {
	case signer != nil && !passed:
		// Nothing is signed or written for a failing release.
		a.render(o.json, res, func() { renderRelease(a.stdout, staged.Manifest, staged.Digest.String(), "NOT SEALED: policy failed") })
		return &silentError{code: exitPolicy, err: errors.New("policy failed")}
	case signer != nil:
		if err := staged.Sign(ctx, signer); err != nil {
			return err
		}
		res.Signed = true
	}
	out, err := staged.Commit()
	if err != nil {
		return err
	}
	res.Out = out
	if res.Signed {
		res.Bundle = out + string(os.PathSeparator) + runner.BundleFile
	}
	status := "collected (unsigned)"
	if res.Signed {
		status = "sealed"
	}
	a.render(o.json, res, func() {
		renderRelease(a.stdout, staged.Manifest, staged.Digest.String(), status)
		fmt.Fprintf(a.stdout, "\nWritten to %s\n", out)
	})
	if !passed {
		return &silentError{code: exitPolicy, err: errors.New("policy failed")}
	}
	return nil
}

// loadPolicy returns the policy the config names, or the built-in one.
func loadPolicy(cfg *config.Config) (*policy.Policy, error) {
	if cfg.Policy == "" {
		return policy.Default(), nil
	}
	files, err := cfg.Glob("policy", cfg.Policy)
	if err != nil {
		return nil, err
	}
	if len(files) != 1 {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy: %q matches %d files, want one", cfg.Policy, len(files))
	}
	f, err := os.Open(files[0].Path)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "policy %s: %v", files[0].Name, err)
	}
	defer f.Close()
	p, err := policy.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", files[0].Name, err)
	}
	return p, nil
}
