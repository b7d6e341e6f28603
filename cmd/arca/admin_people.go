package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/management"
	"github.com/spf13/cobra"
)

// Offline administration of users, subscriptions and role assignments
// (on bolt, stop `arca serve` first; online, use the management plane).

func newUserCmd() *cobra.Command {
	u := &cobra.Command{Use: "user", Short: "Manage users who sign in with a password (offline; on bolt stop `arca serve` first)"}
	var st store
	var upn, password, name string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a user; the first user becomes Owner of the default subscription",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if password == "" {
				password = os.Getenv("ARCA_USER_PASSWORD")
			}
			if upn == "" || password == "" {
				return errors.New("--upn and --password (or ARCA_USER_PASSWORD) are required")
			}
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				before, err := a.Directory.Users(ctx)
				if err != nil {
					return err
				}
				usr, err := a.Directory.CreateUser(ctx, upn, password, name)
				if err != nil {
					return err
				}
				if len(before) == 0 {
					if _, err := a.Management.CreateRoleAssignment(ctx, &management.RoleAssignment{
						Scope: "/subscriptions/" + a.Facts.SubscriptionID, RoleDefinitionID: management.Owner.ID,
						PrincipalID: usr.ObjectID, PrincipalType: "User"}); err != nil {
						return err
					}
				}
				fmt.Fprintf(cmd.OutOrStdout(), "USER_PRINCIPAL_NAME=%s\nOBJECT_ID=%s\n", usr.UPN, usr.ObjectID)
				return nil
			})
		},
	}
	st.register(create.Flags())
	create.Flags().StringVar(&upn, "upn", "", "user principal name, e.g. alice@arca.local")
	create.Flags().StringVar(&password, "password", "", "password (at least 8 characters); or ARCA_USER_PASSWORD")
	create.Flags().StringVar(&name, "display-name", "", "display name")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				us, err := a.Directory.Users(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "UPN\tOBJECT-ID\tNAME")
				for _, x := range us {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", x.UPN, x.ObjectID, x.DisplayName)
				}
				return tw.Flush()
			})
		},
	}
	st.register(list.Flags())
	del := &cobra.Command{
		Use:   "delete UPN",
		Short: "Delete a user and its sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error { return a.Directory.DeleteUser(ctx, args[0]) })
		},
	}
	st.register(del.Flags())
	u.AddCommand(create, list, del)
	return u
}

func newSubscriptionCmd() *cobra.Command {
	s := &cobra.Command{Use: "subscription", Short: "Manage subscriptions (offline; on bolt stop `arca serve` first)"}
	var st store
	var name string
	var owners []string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a subscription; the development identity and the first user (or --owner) become Owner",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				os := owners
				if len(os) == 0 {
					os = append(os, a.DevObjectID(ctx))
					if us, err := a.Directory.Users(ctx); err == nil && len(us) > 0 {
						first := us[0]
						for _, x := range us {
							if x.Created.Before(first.Created) {
								first = x
							}
						}
						os = append(os, first.ObjectID)
					}
				}
				sub, err := a.Management.CreateSubscription(ctx, name, a.Facts.TenantID, os...)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "AZURE_SUBSCRIPTION_ID=%s\n", sub.ID)
				return nil
			})
		},
	}
	st.register(create.Flags())
	create.Flags().StringVar(&name, "name", "Arca", "display name")
	create.Flags().StringSliceVar(&owners, "owner", nil, "object id of an Owner (repeatable)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List subscriptions",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				subs, err := a.Management.Subscriptions(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SUBSCRIPTION-ID\tNAME\tDEFAULT")
				for _, x := range subs {
					fmt.Fprintf(tw, "%s\t%s\t%v\n", x.ID, x.DisplayName, x.ID == a.Facts.SubscriptionID)
				}
				return tw.Flush()
			})
		},
	}
	st.register(list.Flags())
	s.AddCommand(create, list)
	return s
}

func newRoleCmd() *cobra.Command {
	r := &cobra.Command{Use: "role", Short: "Management-plane role assignments (offline; on bolt stop `arca serve` first)"}
	var st store
	var principal, role, scope string
	assign := &cobra.Command{
		Use:   "assign",
		Short: "Assign a built-in role (Owner, Contributor, Reader, Key Vault Contributor) at a scope",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var def *management.RoleDefinition
			for _, d := range management.BuiltinRoles {
				if strings.EqualFold(d.Name, role) || strings.EqualFold(d.ID, role) {
					d := d
					def = &d
				}
			}
			if def == nil {
				return fmt.Errorf("--role %q: not a built-in role", role)
			}
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				if scope == "" {
					scope = "/subscriptions/" + a.Facts.SubscriptionID
				}
				oid := principal
				if sp, err := a.Directory.ServicePrincipal(ctx, principal); err == nil {
					oid = sp.ObjectID
				} else if u, err := a.Directory.User(ctx, principal); err == nil {
					oid = u.ObjectID
				}
				ra, err := a.Management.CreateRoleAssignment(ctx, &management.RoleAssignment{Scope: scope,
					RoleDefinitionID: def.ID, PrincipalID: oid})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Assigned %s to %s at %s (%s)\n", def.Name, oid, scope, ra.Name)
				return nil
			})
		},
	}
	st.register(assign.Flags())
	assign.Flags().StringVar(&principal, "principal", "", "object id, client id or user principal name")
	assign.Flags().StringVar(&role, "role", "Contributor", "role name or id")
	assign.Flags().StringVar(&scope, "scope", "", "scope (default: the default subscription)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List role assignments",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				ras, err := a.Management.RoleAssignments(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPRINCIPAL\tROLE\tSCOPE")
				for _, x := range ras {
					name := ""
					if rd, err := a.Management.RoleDefinition(ctx, x.RoleDefinitionID); err == nil {
						name = rd.Name
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Name, x.PrincipalID, name, x.Scope)
				}
				return tw.Flush()
			})
		},
	}
	st.register(list.Flags())
	r.AddCommand(assign, list)
	return r
}
