package deployment

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage/etcd"
)

// TestConfigValidate: every problem is reported at once, by flag name; a
// complete configuration passes.
func TestConfigValidate(t *testing.T) {
	ok := Config{Data: "d", DNSSuffix: "vault.localhost", Port: 8443, Listen: []string{"127.0.0.1", "::1"}, LogLevel: "warn"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := Config{DNSSuffix: "localhost", Port: 70000, Listen: []string{"localhost"}, TLSCert: "c.pem", LogLevel: "loud",
		BodyTimeout: -1, AttestAuth: []string{"no-equals"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"--data", "--dns-suffix", "--port", "--listen", "--tls-cert", "--log-level", "--request-timeout", "--attestation-authority"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no complaint about %s in %v", want, err)
		}
	}
}

// TestConfigValidateStorage: an unknown storage is refused; etcd's settings
// are checked (by flag name) only when the storage is etcd; the public port
// must be a port.
func TestConfigValidateStorage(t *testing.T) {
	base := Config{Data: "d", DNSSuffix: "vault.localhost", Port: 8443, Listen: []string{"127.0.0.1"}}
	badEtcd := etcd.Config{Endpoints: []string{"https://127.0.0.1:2379", "127.0.0.1:2379"}, Cert: "c.pem", Prefix: "arca", MaxTxnOps: -1}
	for _, tc := range []struct {
		name    string
		mutate  func(*Config)
		want    []string // substrings of the error; none: valid
		notWant []string
	}{
		{"bolt ignores etcd settings", func(c *Config) { c.Storage, c.Etcd = StorageBolt, badEtcd }, nil, nil},
		{"default is bolt", func(c *Config) { c.Etcd = badEtcd }, nil, nil},
		{"unknown storage", func(c *Config) { c.Storage = "zfs" }, []string{`--storage "zfs"`}, []string{"--etcd"}},
		{"etcd without endpoints", func(c *Config) { c.Storage = StorageEtcd }, []string{"--etcd-endpoints"}, nil},
		{"etcd, every problem", func(c *Config) { c.Storage, c.Etcd = StorageEtcd, badEtcd },
			[]string{"--etcd-cacert", `--etcd-endpoints "127.0.0.1:2379"`, "--etcd-cert and --etcd-key", "--etcd-prefix", "negative"}, nil},
		{"etcd, valid", func(c *Config) {
			c.Storage, c.Etcd = StorageEtcd, etcd.Config{Endpoints: []string{"http://127.0.0.1:2379"}, MaxTxnOps: etcd.RecommendedMaxTxnOps}
		}, nil, nil},
		{"public port", func(c *Config) { c.PublicPort = 70000 }, []string{"--public-port"}, nil},
		{"public port with a free listen port", func(c *Config) { c.Port, c.PublicPort = 0, 443 }, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.mutate(&c)
			err := c.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("invalid config accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("no %q in %v", w, err)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("%q in %v", w, err)
				}
			}
		})
	}
}

// TestOpenUnknownStorage: Open refuses a storage it does not know, and
// writes nothing.
func TestOpenUnknownStorage(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	_, err := Open(context.Background(), dir, Options{Clock: arca.SystemClock{}, Storage: "zfs"})
	if err == nil || !strings.Contains(err.Error(), `"zfs"`) {
		t.Fatalf("unknown storage: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused open created %s: %v", dir, err)
	}
}
