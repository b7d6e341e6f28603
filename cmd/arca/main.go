// Command arca is the Arca server and its administration tool.
//
// Every flag can also come from an ARCA_<FLAG> environment variable (dashes
// become underscores, e.g. ARCA_DNS_SUFFIX) or from a JSON config file given
// with --config whose keys are flag names. Precedence: flag, environment,
// config file, default.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
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
	root.AddCommand(newServeCmd(), newInitCmd(), newEnvCmd(), newCACmd(), newVaultCmd(), newSPCmd(), newUserCmd(), newSubscriptionCmd(), newRoleCmd())
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
		// Numbers stay as written: a float64 would print 8388608 as 8.388608e+06.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&conf); err != nil {
			return fmt.Errorf("config %s: %w", configFile, err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return fmt.Errorf("config %s: data after the JSON object", configFile)
		}
		if err := checkConfigKeys(cmd.Root(), conf); err != nil {
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

// checkConfigKeys refuses keys that are no flag of any command (a typo such
// as "dnssufix" would otherwise start Arca on its defaults). A key that is a
// flag of another command is allowed: one file configures them all.
func checkConfigKeys(root *cobra.Command, conf map[string]any) error {
	valid := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) { valid[f.Name] = true })
		c.PersistentFlags().VisitAll(func(f *pflag.Flag) { valid[f.Name] = true })
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	delete(valid, "config")
	delete(valid, "help")
	var unknown []string
	for k := range conf {
		if !valid[k] {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	names := make([]string, 0, len(valid))
	for k := range valid {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Errorf("unknown key(s) %s; valid keys are the flag names: %s", strings.Join(unknown, ", "), strings.Join(names, ", "))
}

func setFlag(f *pflag.Flag, v string) error {
	if err := f.Value.Set(v); err != nil {
		return fmt.Errorf("--%s: %w", f.Name, err)
	}
	return nil
}
