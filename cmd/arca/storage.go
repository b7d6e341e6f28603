package main

import (
	"fmt"

	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/spf13/pflag"
)

// addStorageFlags registers the flags that choose the store and reach an
// etcd cluster, shared by serve, init and the offline admin commands (and
// so settable from ARCA_* variables and the config file like any flag).
func addStorageFlags(f *pflag.FlagSet, storage *string, c *etcd.Config) {
	f.StringVar(storage, "storage", deployment.StorageBolt,
		"store: bolt (DATA/arca.db, one node) or etcd (a cluster shared by several nodes; run `arca init --storage etcd` once first)")
	f.StringSliceVar(&c.Endpoints, "etcd-endpoints", nil, "etcd members' client URLs, comma-separated (http:// or https://)")
	f.StringVar(&c.CACert, "etcd-cacert", "", "PEM CA certificate that verifies the etcd members (needed for https endpoints)")
	f.StringVar(&c.Cert, "etcd-cert", "", "PEM client certificate presented to etcd (with --etcd-key)")
	f.StringVar(&c.Key, "etcd-key", "", "PEM private key of --etcd-cert")
	f.StringVar(&c.Prefix, "etcd-prefix", etcd.DefaultPrefix, "key prefix of this deployment in etcd (ends with /)")
	f.IntVar(&c.MaxTxnOps, "etcd-max-txn-ops", etcd.DefaultMaxTxnOps, fmt.Sprintf(
		"the cluster's --max-txn-ops; larger transactions are refused before they are sent (etcd's default; start etcd with --max-txn-ops=%d and set this to match)",
		etcd.RecommendedMaxTxnOps))
	f.IntVar(&c.MaxRequestBytes, "etcd-max-request-bytes", etcd.DefaultMaxRequestBytes, fmt.Sprintf(
		"the cluster's --max-request-bytes (etcd's default; start etcd with --max-request-bytes=%d and set this to match)",
		etcd.RecommendedMaxRequest))
}

// store says where an offline command finds the deployment: the data
// directory and the store's flags.
type store struct {
	data    string
	storage string
	etcd    etcd.Config
}

// register adds --data and the storage flags to f.
func (s *store) register(f *pflag.FlagSet) {
	f.StringVar(&s.data, "data", "./arca-data", "data directory")
	addStorageFlags(f, &s.storage, &s.etcd)
}

// options are the deployment Options of an offline command.
func (s *store) options(o deployment.Options) deployment.Options {
	o.Storage, o.Etcd = s.storage, s.etcd
	return o
}

// check reports an invalid storage choice or etcd configuration by flag
// name.
func (s *store) check() error { return deployment.CheckStorage(s.storage, s.etcd) }

// shared reports whether the store is an etcd cluster, which the offline
// commands may use while nodes serve it.
func (s *store) shared() bool { return s.storage == deployment.StorageEtcd }
