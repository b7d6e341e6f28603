// Command arca-bench measures an arca binary against this machine's
// ceiling (a bare Go HTTPS handler, raw crypto) in one run, the same
// workloads on a 3-member etcd cluster it starts itself (with one Arca
// node, then three; --storage picks bolt, etcd or both), and runs the
// 1,000,000-secret scale comparison. It is kept out of the server binary;
// make bench builds both.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	if err := newBenchCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "arca-bench:", err)
		os.Exit(1)
	}
}

// defaultArca is the arca binary next to this one (make bench builds both
// into bin/).
func defaultArca() string {
	self, err := os.Executable()
	if err != nil {
		return "arca"
	}
	return filepath.Join(filepath.Dir(self), "arca")
}
