package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-dev/evident/internal/auth"
	"github.com/evident-dev/evident/internal/catalog"
	"github.com/evident-dev/evident/internal/evidence"
)

func tokenCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens"}
	create := &cobra.Command{
		Use:   "create --role ROLE --name NAME",
		Short: "Create an API token and print it (once; only its hash is stored)",
		Long: `Create an API token and print it. Only its SHA-256 hash is stored, so it cannot be
shown again. Roles: ci (push releases), auditor (read), approver (read, approve),
admin (everything).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			role, _ := cmd.Flags().GetString("role")
			name, _ := cmd.Flags().GetString("name")
			if !auth.ValidRole(role) {
				return &usageError{fmt.Errorf("--role %q: want one of %v", role, auth.Roles)}
			}
			if err := evidence.ValidateName("--name", name); err != nil {
				return &usageError{err}
			}
			st, err := openStores(cmd.Context(), c, 0)
			if err != nil {
				return err
			}
			defer st.Close()
			secret, id, hash, err := auth.NewToken()
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			err = st.catalog.Update(cmd.Context(), func(tx catalog.Tx) error {
				if err := tx.InsertToken(cmd.Context(), catalog.Token{ID: id, Name: name, Role: role, Hash: hash, CreatedAt: now}); err != nil {
					return err
				}
				return tx.AppendAudit(cmd.Context(), catalog.AuditEvent{
					At: now, Actor: localActor("token create"), Action: "token.create",
					Target: "token:" + id, Outcome: "ok", Detail: fmt.Sprintf("name %s, role %s", name, role),
				})
			})
			if errors.Is(err, catalog.ErrExists) {
				return fmt.Errorf("token collision; run the command again")
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, secret)
			fmt.Fprintf(stderr, "Created token %s (%s, role %s). It is shown once; store it as a secret (e.g. EVIDENT_TOKEN).\n", id, name, role)
			return nil
		},
	}
	addStoreFlags(create.Flags())
	create.Flags().String("role", "", "ci, auditor, approver or admin (required)")
	create.Flags().String("name", "", "who or what uses the token, e.g. github-release-workflow (required)")

	list := &cobra.Command{
		Use:   "list",
		Short: "List API tokens (never their secrets)",
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
			ts, err := st.catalog.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tREVOKED")
			for _, t := range ts {
				revoked := "-"
				if t.Revoked() {
					revoked = "revoked " + t.RevokedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.UTC().Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		},
	}
	addStoreFlags(list.Flags())

	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an API token (by its ID, as token list shows it)",
		Long: `Revoke an API token: from now on the server refuses it (401) like an unknown
token. The token stays in token list, marked revoked, and the revocation is
recorded in the audit trail. Revoking a revoked token changes nothing.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return &usageError{fmt.Errorf("want one token ID, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if id == "" {
				return &usageError{errors.New("the token ID is empty")}
			}
			c, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			st, err := openStores(cmd.Context(), c, 0)
			if err != nil {
				return err
			}
			defer st.Close()
			now := time.Now().UTC()
			err = st.catalog.Update(cmd.Context(), func(tx catalog.Tx) error {
				if err := tx.RevokeToken(cmd.Context(), id, now); err != nil {
					return err
				}
				return tx.AppendAudit(cmd.Context(), catalog.AuditEvent{
					At: now, Actor: localActor("token revoke"), Action: "token.revoke",
					Target: "token:" + id, Outcome: "ok",
				})
			})
			if errors.Is(err, catalog.ErrNotFound) {
				return fmt.Errorf("no token with ID %q (see evidentd token list)", id)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "Revoked token %s.\n", id)
			return nil
		},
	}
	addStoreFlags(revoke.Flags())
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// localActor names a local command run by the operating-system user.
func localActor(command string) string {
	user := os.Getenv("USER")
	if user == "" {
		user = "unknown-user"
	}
	return "local:evidentd " + command + " (" + user + ")"
}
