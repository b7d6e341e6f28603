// Command arca is the Arca server and its administration tool.
//
// Every flag can also come from an ARCA_<FLAG> environment variable (dashes
// become underscores, e.g. ARCA_DNS_SUFFIX) or from a JSON config file given
// with --config whose keys are flag names. Precedence: flag, environment,
// config file, default.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "arca:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	var configFile string
	root := &cobra.Command{
		Use:           "arca",
		Short:         "Arca: a self-hosted, Azure Key Vault-compatible service",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnvAndConfig(cmd, configFile)
		},
	}
	root.PersistentFlags().StringVar(&configFile, "config", "", "JSON config file whose keys are flag names")
	root.AddCommand(newServeCmd(), newInitCmd(), newEnvCmd(), newCACmd(), newVaultCmd(), newSPCmd(), newUserCmd(), newSubscriptionCmd(), newRoleCmd(), newBenchCmd())
	return root
}

// applyEnvAndConfig fills flags not given on the command line from ARCA_*
// variables, then from the config file.
func applyEnvAndConfig(cmd *cobra.Command, configFile string) error {
	if configFile == "" {
		configFile = os.Getenv("ARCA_CONFIG")
	}
	conf := map[string]any{}
	if configFile != "" {
		b, err := os.ReadFile(configFile)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &conf); err != nil {
			return fmt.Errorf("config %s: %w", configFile, err)
		}
	}
	var ferr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Changed || ferr != nil || f.Name == "config" {
			return
		}
		env := "ARCA_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			ferr = setFlag(f, v)
			return
		}
		if v, ok := conf[f.Name]; ok {
			switch vv := v.(type) {
			case []any:
				for _, e := range vv {
					if ferr = setFlag(f, fmt.Sprint(e)); ferr != nil {
						return
					}
				}
			default:
				ferr = setFlag(f, fmt.Sprint(vv))
			}
		}
	})
	return ferr
}

func setFlag(f *pflag.Flag, v string) error {
	if err := f.Value.Set(v); err != nil {
		return fmt.Errorf("--%s: %w", f.Name, err)
	}
	return nil
}
