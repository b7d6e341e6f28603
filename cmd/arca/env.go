package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/arcakv/arca/deployment"
	"github.com/spf13/cobra"
)

func newEnvCmd() *cobra.Command {
	var data string
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Print, as export lines, what a client needs to reach this deployment",
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := envLines(data)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), s)
			return nil
		},
	}
	cmd.Flags().StringVar(&data, "data", "./arca-data", "data directory")
	return cmd
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// envLines renders the environment of a deployment's development identity.
// AZURE_TENANT_ID is "adfs": MSAL then skips instance discovery, so
// DefaultAzureCredential works unmodified with these variables only. The
// variables that replace a program's trust store point at DIR/ca-bundle.pem
// (the system roots and Arca's CA, written here); NODE_EXTRA_CA_CERTS,
// which adds to Node's own roots, at Arca's CA alone.
func envLines(data string) (string, error) {
	d, err := deployment.ReadFacts(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w (run `arca init` or `arca serve` first)", data, err)
	}
	c, err := deployment.ReadCredentials(data)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(filepath.Join(data, deployment.CAFile))
	if err != nil {
		return "", err
	}
	bundle, err := writeCABundle(filepath.Dir(abs), systemRootFiles)
	if err != nil {
		return "", fmt.Errorf("writing the CA bundle: %w", err)
	}
	port := ""
	if d.Port != 443 && d.Port != 0 {
		port = ":" + strconv.Itoa(d.Port)
	}
	authority := "https://localhost" + port
	vars := [][2]string{
		{"AZURE_AUTHORITY_HOST", authority},
		{"AZURE_TENANT_ID", "adfs"},
		{"ARCA_TENANT_ID", d.TenantID},
		{"AZURE_SUBSCRIPTION_ID", d.SubscriptionID},
		{"AZURE_CLIENT_ID", d.DevClientID},
		{"AZURE_CLIENT_SECRET", c.ClientSecret},
		{"IDENTITY_ENDPOINT", authority + "/msi/token"},
		{"IDENTITY_HEADER", c.IdentityHeader},
		{"AZURE_KEYVAULT_URL", "https://" + d.DefaultVault + "." + d.DNSSuffix + port},
		{"KEY_VAULT_NAME", d.DefaultVault},
		{"ARCA_MANAGED_IDENTITY_CLIENT_ID", d.ManagedClientID},
		{"REQUESTS_CA_BUNDLE", bundle},
		{"SSL_CERT_FILE", bundle},
		{"NODE_EXTRA_CA_CERTS", abs},
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
	}
	return strings.TrimRight(b.String(), "\n"), nil
}
