package cli

import (
	"context"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mlthreat/mlthreat/internal/report/termtext"
	"github.com/mlthreat/mlthreat/internal/server/api"
)

func (a *app) tokenCommand() *cobra.Command {
	var server, token string
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage a portfolio server's API tokens (admin)",
		Long: `Create, list and revoke API tokens on a portfolio server. Roles:
viewer (read), submitter (push systems of one owner or one system), reviewer
(decide on escalations) and admin. Only the token's sha256 is stored; a new
token is printed once.`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "portfolio server URL (default $MLTHREAT_SERVER)")
	cmd.PersistentFlags().StringVar(&token, "token", "", "an admin token (default $MLTHREAT_TOKEN)")

	var name, role, owner, system string
	create := &cobra.Command{
		Use:     "create --name NAME --role ROLE [--owner OWNER | --system ID]",
		Short:   "Create a token and print it once",
		Example: `  mlthreat token create --name ci-fraud --role submitter --owner fraud-team`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.serverClient(server, token, true)
			if err != nil {
				return err
			}
			var out api.TokenCreated
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Do(ctx, "POST", "/api/v1/tokens", api.TokenRequest{Name: name, Role: role, Owner: owner, System: system}, &out); err != nil {
				return exitWith(ExitUsage, "token create: %v", err)
			}
			fmt.Fprintf(a.stderr, "created token %s (%s, role %s); it is shown once:\n", termtext.Clean(out.ID), termtext.Clean(out.Name), termtext.Clean(out.Role))
			fmt.Fprintln(a.stdout, out.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "who or what uses the token (shown in the audit log)")
	create.Flags().StringVar(&role, "role", "", "viewer, submitter, reviewer or admin")
	create.Flags().StringVar(&owner, "owner", "", "submitter scope: systems of this owner")
	create.Flags().StringVar(&system, "system", "", "submitter scope: this one system id")

	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.serverClient(server, token, true)
			if err != nil {
				return err
			}
			var out []api.Token
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Do(ctx, "GET", "/api/v1/tokens", nil, &out); err != nil {
				return exitWith(ExitUsage, "token list: %v", err)
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tSCOPE\tCREATED\tREVOKED")
			for _, t := range out {
				scope := t.Owner
				if t.System != "" {
					scope = "system " + t.System
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", termtext.Clean(t.ID), termtext.Clean(t.Name), termtext.Clean(t.Role), termtext.Clean(scope), termtext.Clean(t.CreatedAt), termtext.Clean(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.serverClient(server, token, true)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := c.Do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(args[0]), nil, nil); err != nil {
				return exitWith(ExitUsage, "token revoke: %v", err)
			}
			fmt.Fprintf(a.stderr, "revoked %s\n", termtext.Clean(args[0]))
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}
