package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/deployment"
)

// TestVaultCreateBehindAPublicPort: while a node serves with a public port
// other than its own (a load balancer's, here not listening at all), `arca
// vault create` goes through the node's Resource Manager on the port it
// listens on, with URLs and token audiences of the public port.
func TestVaultCreateBehindAPublicPort(t *testing.T) {
	dir := t.TempDir()
	r, err := deployment.Start(context.Background(), deployment.Config{Data: dir, Port: 0, PublicPort: 1, Listen: []string{"127.0.0.1"},
		DNSSuffix: "vault.localhost", DefaultVault: "arca", LogLevel: "warn", LogOutput: io.Discard, PurgeInterval: time.Hour, AuditLog: "off"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"vault", "create", "Behind", "--data", dir})
	if err := root.Execute(); err != nil {
		t.Fatalf("vault create: %v", err)
	}
	if !strings.Contains(out.String(), "Created vault behind") {
		t.Fatalf("output: %s", out.String())
	}
	if _, err := r.App.Vaults.Vault(context.Background(), "behind"); err != nil {
		t.Fatal(err)
	}
	env, err := envLines(dir)
	if err != nil || !strings.Contains(env, "https://arca.vault.localhost:1'") {
		t.Fatalf("env does not carry the public port: %v\n%s", err, env)
	}
}
