package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/pack"
	"github.com/evident-dev/evident/internal/policy"
	"github.com/evident-dev/evident/internal/rederive"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/verify"
)

type verifyOptions struct {
	keys           []string
	identity       string
	identityRegexp string
	issuer         string
	trustedRoot    string
	tsaChain       string
	policy         string
	logKey         string
	json           bool
}

func (a *app) verifyCommand() *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify DIR|PACK.tar (--key PUB | --certificate-identity ID --certificate-oidc-issuer URL --trusted-root F)",
		Short: "Verify a sealed release or an audit pack offline",
		Long: `Verify a sealed release directory or an audit pack offline: the signature with the
trusted public key(s), that the signed statement covers exactly the released
artifacts, that every evidence file is present and unchanged, that every summary in
the manifest is what the evidence says (each file is parsed again), and that the
archived policy still passes. For an audit pack also: the archive's signed index of
every file (so any changed byte, RECORD.html included, is caught) and the release's
inclusion proof in the archive's log (pin the archive's log key with --log-key), and
every approval record with its signer's name, role, time and meaning.

A keyless release is verified by identity: --certificate-identity (or
--certificate-identity-regexp) and --certificate-oidc-issuer, against the Sigstore
instance's --trusted-root. Timestamps are checked against --trusted-root or
--tsa-chain; an audit pack carries the archive's trusted root, used when neither is
given (the report says so).

Exit code 0 when everything verified, 3 when anything did not (the report says what).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runVerify(cmd, args[0], o)
		},
	}
	cmd.Flags().StringArrayVar(&o.keys, "key", nil, "trusted public key (PEM); repeatable")
	cmd.Flags().StringVar(&o.identity, "certificate-identity", "", "keyless: the signer's identity (certificate subject), exactly")
	cmd.Flags().StringVar(&o.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the certificate subject must match in full")
	cmd.Flags().StringVar(&o.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer, e.g. https://token.actions.githubusercontent.com")
	cmd.Flags().StringVar(&o.trustedRoot, "trusted-root", "", "Sigstore trusted_root.json (Fulcio CAs, timestamp authorities, logs)")
	cmd.Flags().StringVar(&o.tsaChain, "tsa-chain", "", "PEM chain of a timestamp authority (instead of --trusted-root)")
	cmd.Flags().StringVar(&o.policy, "policy", "", "an auditor's own policy file the release must also pass")
	cmd.Flags().StringVar(&o.logKey, "log-key", "", "the archive's log verifier key file (audit packs): pins whose log the proof must come from")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the report as JSON on stdout")
	return cmd
}

func (a *app) runVerify(cmd *cobra.Command, target string, o verifyOptions) error {
	keyless := o.identity != "" || o.identityRegexp != "" || o.issuer != ""
	if len(o.keys) == 0 && !keyless {
		return &usageError{errors.New("--key PUB, or --certificate-identity and --certificate-oidc-issuer, is required: verification needs a trusted signer")}
	}
	var trust sign.Trust
	if keyless {
		id := sign.Identity{Issuer: o.issuer, Subject: o.identity, SubjectRegexp: o.identityRegexp}
		if err := id.Validate(); err != nil {
			return &usageError{err}
		}
		trust.Identities = append(trust.Identities, id)
	}
	tr, _, err := loadTrustedRoot(o.trustedRoot, o.tsaChain)
	if err != nil {
		return err
	}
	trust.TrustedRoot = tr
	for _, p := range o.keys {
		b, err := readFileLimited(p, 1<<20)
		if err != nil {
			return evidence.Errorf(evidence.KindInvalid, "key %s: %v", p, err)
		}
		k, err := sign.LoadPublicKey(b)
		if err != nil {
			return fmt.Errorf("key %s: %w", p, err)
		}
		trust.Keys = append(trust.Keys, k)
	}
	var auditor *policy.Policy
	if o.policy != "" {
		f, err := os.Open(o.policy)
		if err != nil {
			return evidence.Errorf(evidence.KindInvalid, "policy %s: %v", o.policy, err)
		}
		auditor, err = policy.Load(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", o.policy, err)
		}
	}
	st, statErr := os.Stat(target)
	err = statErr
	if err != nil {
		return evidence.Errorf(evidence.KindInvalid, "%s: %v", target, err)
	}
	opts := verify.Options{Trust: trust, Policy: auditor, Derive: rederive.Check}
	var rep *verify.Report
	if st.IsDir() {
		rep, err = verify.Release(cmd.Context(), os.DirFS(target), opts)
	} else {
		rep, err = a.verifyPack(cmd, target, st.Size(), verify.PackOptions{Options: opts}, o.logKey, tr == nil)
	}
	if err != nil {
		return err
	}
	a.render(o.json, rep, func() { renderVerify(a, target, rep) })
	if !rep.OK {
		return &silentError{code: exitVerification, err: rep.Err()}
	}
	return nil
}

func renderVerify(a *app, target string, rep *verify.Report) {
	w := a.stdout
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-15s %s\n", mark, c.Name, c.Detail)
	}
	if rep.Status != "" {
		fmt.Fprintf(w, "\nRelease status: %s\n", strings.ToUpper(rep.Status))
		for _, s := range rep.Signatures {
			when := s.SignedAt.UTC().Format("2006-01-02 15:04:05 UTC")
			if s.Timestamped {
				when += " (trusted timestamp)"
			}
			fmt.Fprintf(w, "  %-8s %s (%s), %s: %q", strings.ToUpper(s.Decision), s.Name, s.Role, when, s.Meaning)
			if s.Comment != "" {
				fmt.Fprintf(w, " — %s", s.Comment)
			}
			fmt.Fprintln(w)
		}
		for _, m := range rep.Missing {
			fmt.Fprintf(w, "  still needed: %s\n", m)
		}
	}
	if rep.OK {
		fmt.Fprintf(w, "\nVERIFIED %s (%s): %d artifact(s), %d evidence file(s), signed by %s\n",
			rep.Release, rep.ManifestDigest, rep.Artifacts, rep.EvidenceFiles, rep.Signer)
		return
	}
	var names []string
	for _, c := range rep.Failures() {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		names = []string{"nothing was verified"}
	}
	fmt.Fprintf(w, "\nNOT VERIFIED %s: %s\n", target, strings.Join(names, ", "))
}

// verifyPack verifies an audit pack; with packRoot, the pack's own trusted
// root (if it has one) stands in for a --trusted-root the user did not give.
func (a *app) verifyPack(cmd *cobra.Command, target string, size int64, opts verify.PackOptions, logKeyFile string, packRoot bool) (*verify.Report, error) {
	if logKeyFile != "" {
		b, err := readFileLimited(logKeyFile, 4096)
		if err != nil {
			return nil, evidence.Errorf(evidence.KindInvalid, "log key %s: %v", logKeyFile, err)
		}
		opts.LogKey = strings.TrimSpace(string(b))
	}
	f, err := os.Open(target)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindInvalid, "%s: %v", target, err)
	}
	defer f.Close()
	p, err := pack.Open(f, size)
	if err != nil {
		return nil, evidence.Errorf(evidence.KindVerification, "%s is not a valid audit pack: %v", target, err)
	}
	fromPack := false
	if packRoot {
		if b, err := p.ReadFile(pack.TrustedRootFile, 16<<20); err == nil {
			tr, err := sign.ParseTrustedRoot(b)
			if err != nil {
				return nil, evidence.Errorf(evidence.KindVerification, "%s: %v", pack.TrustedRootFile, err)
			}
			opts.Trust.TrustedRoot, fromPack = tr, true
		}
	}
	rep, err := verify.Pack(cmd.Context(), p, opts)
	if err == nil && fromPack {
		rep.Checks = append(rep.Checks, verify.Check{Name: "trust", OK: true,
			Detail: "timestamps and certificates were checked against the pack's own trusted root (pin one with --trusted-root)"})
	}
	return rep, err
}
