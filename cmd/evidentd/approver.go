package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/evidence"
	"github.com/evident-dev/evident/internal/sign"
)

// approverSpec is an approver as given on the command line or in the
// config file (approvers: [{name, role, key | issuer + subject}]).
type approverSpec struct {
	Name    string `mapstructure:"name"`
	Role    string `mapstructure:"role"`
	Key     string `mapstructure:"key"` // public key file
	Issuer  string `mapstructure:"issuer"`
	Subject string `mapstructure:"subject"` // regular expression, matched in full
}

// approver validates a spec and returns the registry entry.
func (s approverSpec) approver(now time.Time) (catalog.Approver, error) {
	a := catalog.Approver{Name: strings.TrimSpace(s.Name), Role: s.Role, CreatedAt: now.UTC()}
	switch {
	case a.Name == "" || len(a.Name) > 200:
		return a, fmt.Errorf("approver name: give the printed name, at most 200 characters")
	case (s.Key == "") == (s.Issuer == "" && s.Subject == ""):
		return a, fmt.Errorf("approver %s: give either --key PUB or --issuer URL --subject PATTERN", a.Name)
	}
	if err := evidence.ValidateName("role", s.Role); err != nil {
		return a, err
	}
	if s.Key != "" {
		b, err := os.ReadFile(s.Key)
		if err != nil {
			return a, fmt.Errorf("approver key %s: %w", s.Key, err)
		}
		k, err := sign.LoadPublicKey(b)
		if err != nil {
			return a, fmt.Errorf("approver key %s: %w", s.Key, err)
		}
		pem, err := k.MarshalPEM()
		if err != nil {
			return a, err
		}
		a.KeyID, a.PublicKey = k.ID(), pem
	} else {
		u, err := url.Parse(s.Issuer)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return a, fmt.Errorf("approver %s: --issuer %q: want the OIDC issuer's https URL", a.Name, s.Issuer)
		}
		if s.Subject == "" {
			return a, fmt.Errorf("approver %s: --subject PATTERN is required with --issuer", a.Name)
		}
		if _, err := regexp.Compile("^(?:" + s.Subject + ")$"); err != nil {
			return a, fmt.Errorf("approver %s: --subject %q: %v", a.Name, s.Subject, err)
		}
		a.Issuer, a.Subject = s.Issuer, s.Subject
	}
	id := make([]byte, 6)
	if _, err := rand.Read(id); err != nil {
		return a, err
	}
	a.ID = "apr_" + hex.EncodeToString(id)
	return a, nil
}

// same reports whether two entries register the same person, role and identity.
func same(a, b catalog.Approver) bool {
	return a.Name == b.Name && a.Role == b.Role && a.KeyID == b.KeyID && a.Issuer == b.Issuer && a.Subject == b.Subject
}

// registerApprovers adds the specs not yet in the registry (the registry is
// append-only: removing an approver from the config does not unregister).
func registerApprovers(ctx context.Context, cat catalog.Catalog, specs []approverSpec, actor string) (int, error) {
	existing, err := cat.Approvers(ctx)
	if err != nil {
		return 0, err
	}
	added := 0
	err = cat.Update(ctx, func(tx catalog.Tx) error {
		for _, s := range specs {
			a, err := s.approver(time.Now())
			if err != nil {
				return err
			}
			dup := false
			for _, e := range existing {
				if same(a, e) {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			if err := tx.InsertApprover(ctx, a); err != nil {
				return err
			}
			added++
			identity := a.KeyID
			if identity == "" {
				identity = a.Issuer + " " + a.Subject
			}
			if err := tx.AppendAudit(ctx, catalog.AuditEvent{
				At: time.Now().UTC(), Actor: actor, Action: "approver.add", Target: a.ID, Outcome: "ok",
				Detail: fmt.Sprintf("%s as %s, identity %s", a.Name, a.Role, identity),
			}); err != nil {
				return err
			}
			existing = append(existing, a)
		}
		return nil
	})
	return added, err
}

func approverCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "approver", Short: "Manage the approver registry (who may sign approvals, in which role)"}
	var spec approverSpec
	add := &cobra.Command{
		Use:   "add --name \"Printed Name\" --role ROLE (--key PUB | --issuer URL --subject PATTERN)",
		Short: "Register an approver: a printed name in a role, with a public key or a keyless OIDC identity",
		Long: `Register an approver: a printed name in a role (e.g. release-manager, qa), identified
by a public key (their passphrase-protected key pair's .pub) or by a keyless OIDC
identity (issuer URL and a regular expression the certificate subject must match in
full). A person with two roles is registered twice. The registry is append-only.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if _, err := spec.approver(time.Now()); err != nil {
				return &usageError{err}
			}
			st, err := openStores(cmd.Context(), c, 0)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := registerApprovers(cmd.Context(), st.catalog, []approverSpec{spec}, localActor("approver add"))
			if err != nil {
				return err
			}
			if n == 0 {
				fmt.Fprintf(stdout, "%s is already registered as %s with that identity\n", spec.Name, spec.Role)
				return nil
			}
			fmt.Fprintf(stdout, "Registered %s as %s\n", spec.Name, spec.Role)
			return nil
		},
	}
	addStoreFlags(add.Flags())
	add.Flags().StringVar(&spec.Name, "name", "", "printed name, as it appears on every signature (required)")
	add.Flags().StringVar(&spec.Role, "role", "", "role, e.g. release-manager or qa (required)")
	add.Flags().StringVar(&spec.Key, "key", "", "the approver's public key (PEM)")
	add.Flags().StringVar(&spec.Issuer, "issuer", "", "keyless: OIDC issuer URL")
	add.Flags().StringVar(&spec.Subject, "subject", "", "keyless: regular expression for the certificate subject (e.g. an e-mail address)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List registered approvers",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := openStores(cmd.Context(), c, 0)
			if err != nil {
				return err
			}
			defer st.Close()
			as, err := st.catalog.Approvers(cmd.Context())
			if err != nil {
				return err
			}
			if len(as) == 0 {
				fmt.Fprintln(stdout, "no approvers registered (evidentd approver add)")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tIDENTITY\tREGISTERED")
			for _, a := range as {
				id := a.KeyID
				if id == "" {
					id = a.Issuer + " " + a.Subject
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role, id, a.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	addStoreFlags(list.Flags())
	cmd.AddCommand(add, list)
	return cmd
}
