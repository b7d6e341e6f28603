package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/pki"
	"github.com/arcakv/arca/rest"
	"github.com/arcakv/arca/storage/memory"
	"github.com/spf13/cobra"
)

// newBenchServerCmd is the ceiling: a bare Go HTTPS handler that returns a
// body of a given size, optionally after one P-256 or RSA-2048 signature.
func newBenchServerCmd() *cobra.Command {
	var port, size int
	var mode, caOut string
	cmd := &cobra.Command{
		Use:    "server",
		Short:  "Bare HTTPS handler used as the benchmark ceiling",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			root, err := barrier.NewRootKey()
			if err != nil {
				return err
			}
			store, err := barrier.Open(ctx, memory.New(), root, rand.Reader)
			if err != nil {
				return err
			}
			ca, err := pki.LoadOrCreate(ctx, store, time.Now())
			if err != nil {
				return err
			}
			cert, err := ca.ServerCertificate([]string{"localhost", "127.0.0.1"}, time.Now())
			if err != nil {
				return err
			}
			body := []byte(`{"value":"` + strings.Repeat("x", max(size-12, 0)) + `"}`)
			ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			rk, _ := rsa.GenerateKey(rand.Reader, 2048)
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				d := sha256.Sum256([]byte(r.URL.Path))
				switch mode {
				case "p256":
					ecdsa.SignASN1(rand.Reader, ek, d[:])
				case "rsa2048":
					rsa.SignPKCS1v15(nil, rk, crypto.SHA256, d[:])
				}
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body)
			})
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				return err
			}
			srv := &http.Server{Handler: h, TLSConfig: rest.TLSConfig(*cert), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second} // the same TLS as Arca
			go func() { <-ctx.Done(); srv.Close() }()
			if err := os.WriteFile(caOut, ca.PEM(), 0o644); err != nil {
				return err
			}
			if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&port, "port", 0, "port")
	f.IntVar(&size, "body-size", 256, "response body size")
	f.StringVar(&mode, "mode", "plain", "plain, p256 or rsa2048")
	f.StringVar(&caOut, "ca-out", "", "write the CA certificate here")
	return cmd
}
