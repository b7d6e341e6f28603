package etcd_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
	"github.com/arcakv/arca/storage/storagetest"
)

// recommended are the flags Arca's scripts start etcd with.
var recommended = []string{fmt.Sprintf("--max-txn-ops=%d", etcd.RecommendedMaxTxnOps),
	fmt.Sprintf("--max-request-bytes=%d", etcd.RecommendedMaxRequest)}

// open connects to cluster under a prefix no other backend of the test
// uses, so one cluster serves many fresh backends.
func open(t *testing.T, cluster *etcdtest.Cluster, prefix string, mod func(*etcd.Config)) *etcd.Backend {
	t.Helper()
	c := etcd.Config{Endpoints: cluster.Endpoints(), Prefix: prefix, SessionTTL: etcd.DefaultSessionTTL,
		MaxTxnOps: etcd.RecommendedMaxTxnOps, MaxRequestBytes: etcd.RecommendedMaxRequest,
		CACert: cluster.CACert, Cert: cluster.ClientCert, Key: cluster.ClientKey}
	if mod != nil {
		mod(&c)
	}
	b, err := etcd.Open(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func openB(b *testing.B, cluster *etcdtest.Cluster) *etcd.Backend {
	be, err := etcd.Open(context.Background(), etcd.Config{Endpoints: cluster.Endpoints(), Prefix: "bench/",
		MaxTxnOps: etcd.RecommendedMaxTxnOps, MaxRequestBytes: etcd.RecommendedMaxRequest})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { be.Close() })
	return be
}

func TestConformance(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	var n atomic.Int64
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return open(t, cluster, fmt.Sprintf("t%d/", n.Add(1)), nil)
	})
}
