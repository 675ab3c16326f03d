package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/api"
	"github.com/evident-dev/evident/internal/digest"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
	"github.com/evident-dev/evident/internal/tlog"
)

type approveOptions struct {
	serverOptions
	signer  signerOptions
	name    string
	role    string
	meaning string
	comment string
	yes     bool
	json    bool
}

// approveCommand builds approve, reject and revoke: the same signing flow
// with a different decision.
func (a *app) approveCommand(decision string) *cobra.Command {
	var o approveOptions
	verb := map[string]string{
		evidence.DecisionApproved: "approve",
		evidence.DecisionRejected: "reject",
		evidence.DecisionRevoked:  "revoke",
	}[decision]
	short := map[string]string{
		evidence.DecisionApproved: "Sign an approval of a release (a Part 11 electronic signature)",
		evidence.DecisionRejected: "Sign a rejection of a release (needs --comment)",
		evidence.DecisionRevoked:  "Sign a revocation of a release, e.g. a recall (needs --comment)",
	}[decision]
	cmd := &cobra.Command{
		Use:   verb + " PRODUCT@VERSION (--key KEY | --keyless) --name \"Printed Name\" --role ROLE --meaning TEXT",
		Short: short,
		Long: short + `.

The release's summary and the exact meaning you are signing are shown first; on a
terminal you confirm (--yes for scripts). The signed record names you, your role,
the time and the meaning, and contains the release's manifest digest, so it cannot
be moved to another release. The archive records it in its log; nothing is ever
edited or deleted (a revocation is a new record). Your key's passphrase comes from
EVIDENT_KEY_PASSWORD or a prompt: a key without a passphrase is refused unless the
release's policy allows it.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := evidence.ParseReleaseRef(args[0])
			if err != nil {
				return &usageError{err}
			}
			if err := a.bindEnv(cmd, "key"); err != nil {
				return err
			}
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			return a.runApprove(cmd.Context(), c, ref, decision, o)
		},
	}
	o.addFlags(cmd)
	o.signer.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "your printed name, as registered with the archive")
	f.StringVar(&o.role, "role", "", "the role you sign in, e.g. release-manager or qa")
	f.StringVar(&o.meaning, "meaning", "", "what this signature means, e.g. \"approved for release\" (shown with your name on every rendering)")
	f.StringVar(&o.comment, "comment", "", "a comment (required to reject or revoke)")
	f.BoolVar(&o.yes, "yes", false, "do not ask for confirmation")
	f.BoolVar(&o.json, "json", false, "print the result as JSON on stdout")
	return cmd
}

func (a *app) runApprove(ctx context.Context, c api.Archive, ref evidence.ReleaseRef, decision string, o approveOptions) error {
	switch {
	case o.signer.key == "" && !o.signer.keyless:
		return &usageError{errors.New("--key KEY or --keyless is required (or EVIDENT_KEY)")}
	case strings.TrimSpace(o.name) == "" || o.role == "" || strings.TrimSpace(o.meaning) == "":
		return &usageError{errors.New("--name, --role and --meaning are required: they are part of what you sign")}
	case decision != evidence.DecisionApproved && strings.TrimSpace(o.comment) == "":
		return &usageError{fmt.Errorf("a %s needs --comment saying why", decision)}
	}
	rel, err := c.Release(ctx, ref)
	if err != nil {
		return err
	}
	st, err := c.Status(ctx, ref)
	if err != nil {
		return err
	}

	// What is being signed, shown before anything is signed (11.50, 11.70).
	w := a.stderr
	renderRelease(w, rel.Manifest, rel.ManifestDigest.String(), "status "+strings.ToUpper(st.Status))
	renderSignatures(w, st)
	fmt.Fprintf(w, "\nYou are about to sign: %s\n  release:  %s\n  manifest: %s\n  as:       %s (%s)\n  meaning:  %q\n",
		strings.ToUpper(decision), ref, rel.ManifestDigest, o.name, o.role, o.meaning)
	if o.comment != "" {
		fmt.Fprintf(w, "  comment:  %q\n", o.comment)
	}
	if !o.yes {
		ok, err := a.confirm("Sign?", "--yes")
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("not signed")
		}
	}

	signer, who, err := a.signer(ctx, o.signer)
	if err != nil {
		return err
	}
	if who.Authentication == evidence.AuthKey && !st.AllowUnencryptedKeys {
		return evidence.Errorf(evidence.KindForbidden, "%s has no passphrase: an approval needs two components (21 CFR 11.200); protect the key with a passphrase (evident key generate writes one)", o.signer.key)
	}
	identity := who.Identity
	if identity == "" {
		// Keyless: the certificate names the signer; the record names the
		// identity it will be issued for, which the archive checks.
		if identity, err = keylessIdentity(ctx, a, o.signer); err != nil {
			return err
		}
	}
	ap := evidence.Approval{
		ManifestDigest: rel.ManifestDigest, Product: ref.Product, Version: ref.Version,
		Decision: decision, Meaning: o.meaning, Comment: o.comment,
		Signer:   evidence.Signer{Name: strings.TrimSpace(o.name), Role: o.role, Identity: identity, Authentication: who.Authentication},
		SignedAt: time.Now().UTC().Truncate(time.Second),
	}
	if err := ap.Validate(); err != nil {
		return err
	}
	pred, err := json.Marshal(ap)
	if err != nil {
		return err
	}
	stmt := sign.Statement{
		Subjects:      []sign.Subject{{Name: ref.String(), Digest: rel.ManifestDigest}},
		PredicateType: evidence.PredicateTypeApproval, Predicate: pred,
	}
	payload, err := stmt.Encode()
	if err != nil {
		return err
	}
	bundle, err := signer.Sign(ctx, payload)
	if err != nil {
		return err
	}
	res, err := c.SubmitApproval(ctx, bundle)
	if err != nil {
		return err
	}
	if err := checkApprovalProof(res, ref, rel.ManifestDigest, digest.FromBytes(bundle)); err != nil {
		return err
	}
	a.render(o.json, res, func() {
		s := res.Signature
		fmt.Fprintf(a.stdout, "%s %s: %s (%s), %s — %q\n", strings.ToUpper(s.Decision), res.Release, s.Name, s.Role,
			s.SignedAt.UTC().Format("2006-01-02 15:04:05 UTC"), s.Meaning)
		fmt.Fprintf(a.stdout, "recorded as log entry %d (inclusion proof verified); release status: %s\n", s.LogIndex, strings.ToUpper(res.Status))
		for _, m := range res.Missing {
			fmt.Fprintf(a.stdout, "still needed: %s\n", m)
		}
	})
	return nil
}

// checkApprovalProof verifies the log proof of an accepted approval.
func checkApprovalProof(res *api.ApprovalResult, ref evidence.ReleaseRef, md, bd digest.Digest) error {
	if res.Log == nil {
		return evidence.Errorf(evidence.KindVerification, "the archive returned no log proof")
	}
	v, err := tlog.NewVerifier(res.LogKey)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "log key: %v", err)
	}
	e, _, err := res.Log.Verify(v)
	if err != nil {
		return evidence.Errorf(evidence.KindVerification, "the archive's log proof does not verify: %v", err)
	}
	if e.Type != tlog.EntryApproval || e.Product != ref.Product || e.Version != ref.Version || e.Manifest != md || e.Record != bd {
		return evidence.Errorf(evidence.KindVerification, "the archive's log entry is not this approval")
	}
	return nil
}

func (a *app) statusCommand() *cobra.Command {
	var o showOptions
	cmd := &cobra.Command{
		Use:   "status PRODUCT@VERSION",
		Short: "Show a release's approval status: every signature (name, role, time, meaning) and what is missing",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := evidence.ParseReleaseRef(args[0])
			if err != nil {
				return &usageError{err}
			}
			c, err := a.client(cmd, &o.serverOptions)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context(), ref)
			if err != nil {
				return err
			}
			if o.json {
				a.render(true, st, nil)
				return nil
			}
			rel, err := c.Release(cmd.Context(), ref)
			if err != nil {
				return err
			}
			renderRelease(a.stdout, rel.Manifest, rel.ManifestDigest.String(), "status "+strings.ToUpper(st.Status))
			renderSignatures(a.stdout, st)
			return nil
		},
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.json, "json", false, "print the status as JSON on stdout")
	return cmd
}

// renderSignatures prints every signature with name, role, UTC time and
// meaning (21 CFR 11.50), and what the policy still needs.
func renderSignatures(w io.Writer, st *api.ReleaseStatus) {
	fmt.Fprintf(w, "\nApprovals required for class %s: %s", st.SafetyClass, strings.Join(st.RequiredRoles, " + "))
	if st.Distinct {
		fmt.Fprint(w, " (different people)")
	}
	fmt.Fprintf(w, "\nStatus: %s\n", strings.ToUpper(st.Status))
	if len(st.Signatures) == 0 {
		fmt.Fprintln(w, "No signatures yet.")
	} else {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DECISION\tNAME\tROLE\tSIGNED (UTC)\tMEANING\tCOMMENT")
		for _, s := range st.Signatures {
			when := s.SignedAt.UTC().Format("2006-01-02 15:04:05")
			if s.Timestamped {
				when += " (TSA)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%q\t%s\n", s.Decision, s.Name, s.Role, when, s.Meaning, s.Comment)
		}
		tw.Flush()
	}
	for _, m := range st.Missing {
		fmt.Fprintf(w, "Still needed: %s\n", m)
	}
}
