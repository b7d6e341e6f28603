package ha

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHA starts the cluster, checks cross-node consistency, runs the chaos
// storm, then the Go SDK live suites against one node, and prints the
// figures; its last line is "ha: N acked, N lost, N corrupted".
//
//	ARCA_TEST_HA=1                 run at all
//	ARCA_BIN=PATH                  the arca binary (default: built from ./cmd/arca)
//	ARCA_ETCD=PATH                 the etcd server (default: built from tools/etcd once)
//	ARCA_TEST_HA_ETCD_TLS=0        etcd without TLS (default: TLS with client certificates)
//	ARCA_TEST_HA_GOLIVE="azsecrets azkeys azcertificates"
//	                               the live suites to run ("off": none; the default is all three)
func TestHA(t *testing.T) {
	if os.Getenv("ARCA_TEST_HA") != "1" {
		t.Skip("set ARCA_TEST_HA=1 (make test-ha) to start 3 etcd members and 3 Arca nodes")
	}
	start := time.Now()
	c := startCluster(t, 3)
	var summary []string
	t.Run("consistency", func(t *testing.T) {
		c.t = t
		defer func() { c.t = t }()
		summary = append(summary, runConsistency(t, c)...)
	})
	c.t = t
	res := chaosResult{acked: -1}
	t.Run("chaos", func(t *testing.T) {
		c.t = t
		res = runChaos(t, c)
	})
	c.t = t
	summary = append(summary, res.lines...)
	if mods := goliveModules(); len(mods) > 0 {
		t.Run("golive", func(t *testing.T) {
			c.t = t
			summary = append(summary, runGoLive(t, c, mods)...)
		})
		c.t = t
	}
	summary = append(summary, fmt.Sprintf("test-ha ran %v", time.Since(start).Round(time.Second)))
	if res.lost > 0 || res.corrupted > 0 {
		t.Errorf("%d acknowledged writes lost, %d corrupted", res.lost, res.corrupted)
	}
	fmt.Println("\n=== ha summary")
	for _, l := range summary {
		fmt.Println(l)
	}
	if res.acked < 0 {
		fmt.Println("ha: the chaos run failed before it counted (see above)")
		return
	}
	fmt.Printf("ha: %d acked, %d lost, %d corrupted\n", res.acked, res.lost, res.corrupted)
}

func goliveModules() []string {
	v, ok := os.LookupEnv("ARCA_TEST_HA_GOLIVE")
	switch {
	case !ok:
		return []string{"azsecrets", "azkeys", "azcertificates"}
	case v == "off":
		return nil
	}
	return strings.Fields(v)
}

// runGoLive runs tests/golive/run.sh, unmodified, once per module. The
// script starts its own `arca serve --data DIR --port P`; ARCA_BIN points it
// at a wrapper that gives that serve the cluster's root key and storage
// flags, so the suite talks to a fourth node of the same cluster (on a port
// of its own, its vault URLs and issuer on that port).
func runGoLive(t *testing.T, c *cluster, modules []string) []string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(t.TempDir(), "arca-ha-node")
	marker := wrapper + ".serves" // what the wrapper started: proof that the suite ran on the cluster
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var flags []string
	for _, f := range c.etcdFlags() {
		flags = append(flags, q(f))
	}
	script := `#!/usr/bin/env bash
# arca for tests/golive/run.sh: its "serve" joins the HA test's etcd cluster.
set -euo pipefail
if [ "${1:-}" = serve ]; then
  data= prev=
  for a in "$@"; do [ "$prev" = --data ] && data=$a; prev=$a; done
  [ -n "$data" ] || { echo "arca-ha-node: serve without --data" >&2; exit 2; }
  mkdir -p "$data" && cp ` + q(filepath.Join(c.nodes[0].dir, "root.key")) + ` "$data/root.key"
  shift
  args=(serve ` + strings.Join(flags, " ") + ` "$@")
  echo "${args[*]}" >>` + q(marker) + `
  exec ` + q(c.bin) + ` "${args[@]}"
fi
exec ` + q(c.bin) + ` "$@"
`
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var lines []string
	counts := regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): `)
	for _, m := range modules {
		start := time.Now()
		logPath := filepath.Join(c.logs, "golive-"+m+".log")
		cmd := exec.Command("bash", filepath.Join(root, "tests/golive/run.sh"), m)
		cmd.Dir = root
		cmd.Env = append(machineEnv(), "ARCA_BIN="+wrapper)
		_ = os.Remove(marker)
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(logPath, out, 0o600)
		if b, _ := os.ReadFile(marker); !strings.Contains(string(b), "serve --storage etcd") {
			t.Errorf("go live suite %s: tests/golive/run.sh did not start its Arca through the cluster's wrapper (%q)", m, b)
		}
		n := map[string]int{}
		for _, g := range counts.FindAllStringSubmatch(string(out), -1) {
			n[g[1]]++
		}
		verdict := "passed"
		if err != nil {
			verdict = "FAILED"
			tail := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
			tail = tail[max(0, len(tail)-60):]
			t.Errorf("go live suite %s against a node of the cluster: %v\n%s", m, err, strings.Join(tail, "\n"))
		}
		line := fmt.Sprintf("golive: %s %s against a node of the cluster in %v (%d passed, %d failed, %d skipped tests)",
			m, verdict, time.Since(start).Round(time.Second), n["PASS"], n["FAIL"], n["SKIP"])
		t.Log(line)
		lines = append(lines, line)
	}
	return lines
}

// machineEnv is the environment without what `go test` adds for its test
// binaries: GOROOT and GOROOT/bin first in PATH. run.sh compiles the suites
// with the machine's go (GOTOOLCHAIN=local), as scripts/test-clients.sh
// does; under go test, "local" would otherwise be the toolchain that
// compiled this test (with go1.27.3 three azkeys list tests fail, see
// tests/golive/run.sh).
func machineEnv() []string {
	goroot := os.Getenv("GOROOT")
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "GOROOT="):
			continue
		case strings.HasPrefix(kv, "PATH=") && goroot != "":
			var keep []string
			for _, d := range filepath.SplitList(strings.TrimPrefix(kv, "PATH=")) {
				if filepath.Clean(d) != filepath.Join(goroot, "bin") {
					keep = append(keep, d)
				}
			}
			kv = "PATH=" + strings.Join(keep, string(filepath.ListSeparator))
		}
		env = append(env, kv)
	}
	return env
}
