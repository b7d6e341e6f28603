// Command etcd is the etcd server, built from the etcd project's own Go
// module at the version Arca's client uses, so that tests and the local
// cluster run a real etcd as separate processes without a system package.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
