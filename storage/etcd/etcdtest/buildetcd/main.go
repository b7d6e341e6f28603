// Command buildetcd builds the etcd server of tools/etcd once (into the
// user's cache directory, as etcdtest does for tests) and prints its path;
// with $ARCA_ETCD set it prints that instead. The scripts that start a
// local cluster (scripts/ha-cluster.sh) and make test-ha use it, so the
// machine needs nothing but Go.
package main

import (
	"fmt"
	"os"

	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

func main() {
	if p := os.Getenv("ARCA_ETCD"); p != "" {
		fmt.Println(p)
		return
	}
	p, err := etcdtest.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "buildetcd:", err)
		os.Exit(1)
	}
	fmt.Println(p)
}
