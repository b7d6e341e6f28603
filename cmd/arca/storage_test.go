package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
	"github.com/spf13/cobra"
)

// TestServeStorageFlags: the storage and public port flags have their
// documented defaults, and take their values from the command line, ARCA_*
// variables and the config file like every flag.
func TestServeStorageFlags(t *testing.T) {
	var o deployment.Config
	cmd := &cobra.Command{Use: "serve"}
	serveFlags(cmd.Flags(), &o)
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if o.Storage != deployment.StorageBolt || o.PublicPort != 0 || o.Etcd.Prefix != "arca/" || len(o.Etcd.Endpoints) != 0 ||
		o.Etcd.MaxTxnOps != 128 || o.Etcd.MaxRequestBytes != 1536*1024 {
		t.Fatalf("defaults: storage %q public port %d etcd %+v", o.Storage, o.PublicPort, o.Etcd)
	}
	for _, name := range []string{"etcd-max-txn-ops", "etcd-max-request-bytes"} {
		usage := cmd.Flags().Lookup(name).Usage
		if !strings.Contains(usage, strconv.Itoa(etcd.RecommendedMaxTxnOps)) && !strings.Contains(usage, strconv.Itoa(etcd.RecommendedMaxRequest)) {
			t.Errorf("--%s does not recommend the cluster's setting: %s", name, usage)
		}
	}

	o = deployment.Config{}
	cmd = &cobra.Command{Use: "serve"}
	serveFlags(cmd.Flags(), &o)
	if err := cmd.ParseFlags([]string{"--storage", "etcd", "--etcd-endpoints", "https://10.0.0.1:2379,https://10.0.0.2:2379", "--public-port", "443"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARCA_ETCD_PREFIX", "team/")
	t.Setenv("ARCA_ETCD_CERT", "client.pem")
	conf := filepath.Join(t.TempDir(), "arca.json")
	if err := os.WriteFile(conf, []byte(`{"etcd-max-txn-ops": 16384, "etcd-max-request-bytes": 8388608, "etcd-cacert": "ca.pem", "etcd-key": "client-key.pem", "etcd-prefix": "ignored/"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := applyEnvAndConfig(cmd, conf); err != nil {
		t.Fatal(err)
	}
	want := etcd.Config{Endpoints: []string{"https://10.0.0.1:2379", "https://10.0.0.2:2379"}, CACert: "ca.pem", Cert: "client.pem",
		Key: "client-key.pem", Prefix: "team/", MaxTxnOps: 16384, MaxRequestBytes: 8388608}
	if o.Storage != "etcd" || o.PublicPort != 443 || strings.Join(o.Etcd.Endpoints, ",") != strings.Join(want.Endpoints, ",") ||
		o.Etcd.CACert != want.CACert || o.Etcd.Cert != want.Cert || o.Etcd.Key != want.Key || o.Etcd.Prefix != want.Prefix ||
		o.Etcd.MaxTxnOps != want.MaxTxnOps || o.Etcd.MaxRequestBytes != want.MaxRequestBytes {
		t.Fatalf("parsed: storage %q public port %d etcd %+v", o.Storage, o.PublicPort, o.Etcd)
	}
}

// TestStorageFlagsOnEveryStoreCommand: every command that opens the store
// takes the storage flags.
func TestStorageFlagsOnEveryStoreCommand(t *testing.T) {
	root := newRootCmd()
	for _, path := range [][]string{{"serve"}, {"init"}, {"ca", "export"}, {"vault", "create"}, {"vault", "list"},
		{"sp", "create"}, {"sp", "list"}, {"sp", "delete"}, {"user", "create"}, {"user", "list"}, {"user", "delete"},
		{"subscription", "create"}, {"subscription", "list"}, {"role", "assign"}, {"role", "list"}} {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"data", "storage", "etcd-endpoints", "etcd-cacert", "etcd-cert", "etcd-key", "etcd-prefix",
			"etcd-max-txn-ops", "etcd-max-request-bytes"} {
			if cmd.Flags().Lookup(f) == nil {
				t.Errorf("arca %s has no --%s", strings.Join(path, " "), f)
			}
		}
	}
}

// TestStorageRefusedBeforeAnythingIsWritten: an unknown storage, or etcd
// without endpoints (here from ARCA_STORAGE), is refused by flag name
// before the data directory is created.
func TestStorageRefusedBeforeAnythingIsWritten(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"init", "--storage", "zfs"}, "", `--storage "zfs"`},
		{[]string{"init"}, "etcd", "--etcd-endpoints"},
		{[]string{"vault", "list"}, "etcd", "--etcd-endpoints"},
		{[]string{"sp", "list", "--storage", "etcd", "--etcd-endpoints", "127.0.0.1:2379"}, "", `want http://HOST:PORT`},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		if tc.env != "" {
			t.Setenv("ARCA_STORAGE", tc.env)
		} else {
			os.Unsetenv("ARCA_STORAGE")
		}
		root := newRootCmd()
		root.SetArgs(append(tc.args, "--data", dir))
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("arca %v: %v, want %q", tc.args, err, tc.want)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("arca %v created %s", tc.args, dir)
		}
	}
}

// TestInitEtcd: `arca init --storage etcd` initialises a cluster once; a
// second init refuses; the offline commands work from another node's data
// directory once it holds the root key, and refuse clearly before.
func TestInitEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 1})
	flags := []string{"--storage", "etcd", "--etcd-endpoints", strings.Join(cluster.Endpoints(), ","), "--etcd-prefix", "cli/"}
	run := func(args ...string) (string, error) {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		err := root.Execute()
		return out.String(), err
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	out, err := run(append([]string{"init", "--data", dirA}, flags...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, filepath.Join(dirA, deployment.RootKeyFile)) {
		t.Fatalf("init does not say which root key to copy: %s", out)
	}
	if _, err := run(append([]string{"init", "--data", dirB}, flags...)...); !errors.Is(err, deployment.ErrInitialised) {
		t.Fatalf("second init: %v", err)
	}
	if _, err := run(append([]string{"sp", "list", "--data", dirB}, flags...)...); !errors.Is(err, deployment.ErrNoRootKey) ||
		!strings.Contains(err.Error(), "copy root.key") {
		t.Fatalf("sp list without the root key: %v", err)
	}
	key, err := os.ReadFile(filepath.Join(dirA, deployment.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, deployment.RootKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := run(append([]string{"vault", "create", "fromb", "--data", dirB}, flags...)...); err != nil {
		t.Fatalf("vault create from B: %v", err)
	}
	out, err = run(append([]string{"vault", "list", "--data", dirA}, flags...)...)
	if err != nil || !strings.Contains(out, "fromb") || !strings.Contains(out, "arca") {
		t.Fatalf("vault list from A: %v\n%s", err, out)
	}
	envA, errA := run("env", "--data", dirA)
	envB, errB := run("env", "--data", dirB)
	if errA != nil || errB != nil {
		t.Fatalf("env: %v, %v", errA, errB)
	}
	strip := func(s string) string { // the CA and bundle paths differ; nothing else may
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, deployment.CAFile) && !strings.Contains(l, BundleFile) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if strip(envA) != strip(envB) || !strings.Contains(envA, "AZURE_CLIENT_SECRET") {
		t.Fatalf("env differs between the nodes:\n%s\n---\n%s", envA, envB)
	}
}
