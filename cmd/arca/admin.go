package main

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/bolt"
	"github.com/spf13/cobra"
)

// Administrative commands open the deployment directly. On bolt they run
// while `arca serve` is stopped (bbolt holds an exclusive lock); on etcd
// they run beside the serving nodes, which learn of their writes by
// watching the store. They never initialise an etcd cluster (`arca init
// --storage etcd` does, once).

func withApp(cmd *cobra.Command, st *store, fn func(ctx context.Context, a *deployment.App) error) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if err := st.check(); err != nil {
		return err
	}
	a, err := deployment.Open(ctx, st.data, st.options(deployment.Options{Clock: arca.SystemClock{}}))
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(ctx, a)
}

func newInitCmd() *cobra.Command {
	var st store
	var vault string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Initialise a deployment: root key, tenant, CA, development identity, default vault (an etcd cluster: once, on one node)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			if err := st.check(); err != nil {
				return err
			}
			a, err := deployment.Init(ctx, st.data, st.options(deployment.Options{Clock: arca.SystemClock{}, DefaultVault: vault}))
			if err != nil {
				return err
			}
			defer a.Close()
			out := cmd.OutOrStdout()
			if !st.shared() {
				fmt.Fprintf(out, "Initialised %s: tenant %s, default vault %s\n", st.data, a.Facts.TenantID, a.Facts.DefaultVault)
				return nil
			}
			fmt.Fprintf(out, "Initialised etcd %s (prefix %s): tenant %s, default vault %s\n"+
				"Copy %s to the data directory of every node, then start each with `arca serve --storage etcd`.\n",
				strings.Join(st.etcd.Endpoints, ","), st.etcd.Prefix, a.Facts.TenantID, a.Facts.DefaultVault,
				filepath.Join(st.data, deployment.RootKeyFile))
			return nil
		},
	}
	st.register(cmd.Flags())
	cmd.Flags().StringVar(&vault, "default-vault", "arca", "name of the default vault")
	return cmd
}

func newCACmd() *cobra.Command {
	ca := &cobra.Command{Use: "ca", Short: "The deployment's certificate authority"}
	var st store
	export := &cobra.Command{
		Use:   "export",
		Short: "Print the CA certificate (PEM) that clients must trust",
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := os.ReadFile(filepath.Join(st.data, deployment.CAFile))
			if errors.Is(err, os.ErrNotExist) {
				return withApp(cmd, &st, func(_ context.Context, a *deployment.App) error {
					_, err := cmd.OutOrStdout().Write(a.CA.PEM())
					return err
				})
			}
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	st.register(export.Flags())
	ca.AddCommand(export)
	return ca
}

func newVaultCmd() *cobra.Command {
	v := &cobra.Command{Use: "vault", Short: "Manage vaults (create goes through the Resource Manager while `arca serve` runs)"}
	var st store
	var sku string
	var retention int
	var purgeProtection bool
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a vault",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sku != "standard" && sku != "premium" {
				return fmt.Errorf("--sku must be standard or premium")
			}
			if !st.shared() && serving(st.data) {
				// `arca serve` holds the store: go through its Resource Manager.
				c, err := newARMClient(st.data)
				if err != nil {
					return err
				}
				if err := c.createVault(st.data, args[0], sku, retention, purgeProtection); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created vault %s\n", strings.ToLower(args[0]))
				return nil
			}
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				v := a.NewVault(args[0], sku)
				v.RetentionDays, v.PurgeProtection = retention, purgeProtection
				err := a.Vaults.CreateVault(ctx, v)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Created vault %s\n", strings.ToLower(args[0]))
				return nil
			})
		},
	}
	st.register(create.Flags())
	create.Flags().StringVar(&sku, "sku", "standard", "standard or premium")
	create.Flags().IntVar(&retention, "retention-days", arca.DefaultRetentionDays, "soft-delete retention (7-90 days)")
	create.Flags().BoolVar(&purgeProtection, "purge-protection", false, "refuse purges during the retention period")
	list := &cobra.Command{
		Use:   "list",
		Short: "List vaults",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				vs, err := a.Vaults.ListVaults(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSKU\tRETENTION\tPURGE-PROTECTION")
				for _, v := range vs {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%v\n", v.Name, v.SKU, v.RetentionDays, v.PurgeProtection)
				}
				return tw.Flush()
			})
		},
	}
	st.register(list.Flags())
	v.AddCommand(create, list)
	return v
}

func newSPCmd() *cobra.Command {
	sp := &cobra.Command{Use: "sp", Short: "Manage service principals (offline; on bolt stop `arca serve` first)"}
	var st store
	var name string
	var certFiles []string
	var noSecret bool
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a service principal; prints its client secret once",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var ders [][]byte
			for _, f := range certFiles {
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
					if blk.Type == "CERTIFICATE" {
						ders = append(ders, blk.Bytes)
						break
					}
				}
			}
			if len(ders) != len(certFiles) {
				return errors.New("--cert: every file must hold a PEM CERTIFICATE")
			}
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				p, secret, err := a.Directory.CreateServicePrincipal(ctx, name, !noSecret, ders)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "AZURE_TENANT_ID=%s\nAZURE_CLIENT_ID=%s\nOBJECT_ID=%s\n", a.Facts.TenantID, p.AppID, p.ObjectID)
				if secret != "" {
					fmt.Fprintf(out, "AZURE_CLIENT_SECRET=%s\n", secret)
				}
				for _, c := range p.Certs {
					fmt.Fprintf(out, "CERT_THUMBPRINT=%s\n", strings.ToUpper(c.SHA1))
				}
				return nil
			})
		},
	}
	st.register(create.Flags())
	create.Flags().StringVar(&name, "name", "app", "display name")
	create.Flags().StringSliceVar(&certFiles, "cert", nil, "PEM certificate allowed to sign client assertions (repeatable)")
	create.Flags().BoolVar(&noSecret, "no-secret", false, "do not create a client secret")
	list := &cobra.Command{
		Use:   "list",
		Short: "List service principals",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				sps, err := a.Directory.ServicePrincipals(ctx)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT-ID\tOBJECT-ID\tNAME\tSECRETS\tCERTIFICATES")
				for _, p := range sps {
					var th []string
					for _, c := range p.Certs {
						th = append(th, strings.ToUpper(c.SHA1))
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", p.AppID, p.ObjectID, p.DisplayName, len(p.Secrets), strings.Join(th, ","))
				}
				return tw.Flush()
			})
		},
	}
	st.register(list.Flags())
	del := &cobra.Command{
		Use:   "delete CLIENT-ID",
		Short: "Delete a service principal",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withApp(cmd, &st, func(ctx context.Context, a *deployment.App) error {
				err := a.Directory.DeleteServicePrincipal(ctx, args[0])
				if errors.Is(err, storage.ErrNotFound) {
					return fmt.Errorf("no service principal with client id %s", args[0])
				}
				return err
			})
		},
	}
	st.register(del.Flags())
	sp.AddCommand(create, list, del)
	return sp
}

// serving reports whether `arca serve` holds the data directory's store.
func serving(data string) bool {
	db, err := bolt.Open(filepath.Join(data, deployment.DBFile))
	if err == nil {
		db.Close()
		return false
	}
	return errors.Is(err, bolt.ErrLocked)
}
