package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/arcakv/arca/deployment"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func newServeCmd() *cobra.Command {
	o := deployment.Config{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Start Arca (on bolt, initialises the data directory on first start; on etcd, run `arca init --storage etcd` once first)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			r, err := deployment.Start(ctx, o)
			if err != nil {
				return err
			}
			env, err := envLines(o.Data)
			if err != nil {
				r.Close()
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Arca is listening on %s, port %d%s. Default vault: %s\n\nPoint the Azure SDKs and DefaultAzureCredential at it with:\n\n%s\n",
				strings.Join(o.Listen, ", "), r.Port, publicNote(r), r.Handler.Config.VaultURL(r.App.Facts.DefaultVault), env)
			<-ctx.Done()
			return r.Close()
		},
	}
	serveFlags(cmd.Flags(), &o)
	return cmd
}

// serveFlags registers the flags of `arca serve` into o.
func serveFlags(f *pflag.FlagSet, o *deployment.Config) {
	f.StringVar(&o.Data, "data", "./arca-data", "data directory")
	f.IntVar(&o.Port, "port", 8443, "HTTPS port (443 writes vault URLs without a port)")
	f.IntVar(&o.PublicPort, "public-port", 0, "port clients use, written into vault URLs, the token issuer and `arca env`: a TCP load balancer's port in front of the nodes (default: --port)")
	f.StringSliceVar(&o.Listen, "listen", []string{"127.0.0.1", "::1"}, "addresses to listen on")
	f.StringVar(&o.DNSSuffix, "dns-suffix", "vault.localhost", "vault DNS suffix: vaults are https://NAME.<suffix>")
	f.StringVar(&o.DefaultVault, "default-vault", "arca", "name of the (premium) vault created on first start")
	f.StringSliceVar(&o.TLSSANs, "tls-san", nil, "extra DNS names or IPs for the server certificate")
	f.StringVar(&o.TLSCert, "tls-cert", "", "PEM certificate chain to serve instead of the generated one")
	f.StringVar(&o.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	f.BoolVar(&o.IMDS, "imds", true, "serve the IMDS managed identity endpoint to loopback callers")
	f.StringVar(&o.LogLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.AuditLog, "audit-log", "", "audit log file, rotated at 100 MiB, 5 kept (default DATA/audit/audit.log; \"off\" disables)")
	f.BoolVar(&o.AuditStdout, "audit-stdout", false, "also write audit records to stdout")
	f.StringVar(&o.PprofAddr, "pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060); off by default")
	f.BoolVar(&o.TestAttest, "test-attestation", false, "serve a test attestation authority at https://localhost:PORT/attestation and trust it for secure key release (development only)")
	f.StringSliceVar(&o.AttestAuth, "attestation-authority", nil, "trusted attestation authority for key release, as URL=JWKS-FILE (repeatable)")
	f.DurationVar(&o.BodyTimeout, "request-timeout", 30*time.Second, "the most a request's headers and body may take to arrive; a stalled client is disconnected")
	f.IntVar(&o.MaxConnsPerIP, "max-conns-per-ip", 256, "open connections one remote address may hold (0: no limit); more are closed on accept")
	addStorageFlags(f, &o.Storage, &o.Etcd)
	f.DurationVar(&o.PurgeInterval, "purge-interval", time.Minute, "how often soft-deleted objects past retention are purged")
}

// publicNote mentions the public port when clients use another one.
func publicNote(r *deployment.Running) string {
	if r.PublicPort == r.Port {
		return ""
	}
	return fmt.Sprintf(" (clients use port %d)", r.PublicPort)
}
