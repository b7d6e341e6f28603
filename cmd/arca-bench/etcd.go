package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca/loadgen"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// etcdMembers is the size of the cluster the etcd mode starts.
const etcdMembers = 3

// etcdMode is the outcome of one etcd measurement: nodes Arca nodes on a
// fresh cluster.
type etcdMode struct {
	nodes int
	rows  []row
}

// etcdBinary is --etcd, $ARCA_ETCD, or tools/etcd built into the user's
// cache (once, like the tests do).
func (e *benchEnv) etcdBinary() (string, error) {
	if e.o.Etcd != "" {
		return e.o.Etcd, nil
	}
	if p := os.Getenv("ARCA_ETCD"); p != "" {
		return p, nil
	}
	return etcdtest.Build()
}

// etcd measures the workloads on a 3-member etcd cluster started here,
// once for every count of Arca nodes in --etcd-nodes, each on a fresh
// cluster.
func (e *benchEnv) etcd(ctx context.Context, tmp string) ([]etcdMode, error) {
	bin, err := e.etcdBinary()
	if err != nil {
		return nil, err
	}
	version := "etcd"
	if b, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
		first, _, _ := strings.Cut(string(b), "\n")
		version = strings.Replace(first, "etcd Version: ", "etcd ", 1)
	}
	fmt.Fprintf(e.out, "## Arca on etcd\n\n%s, %d members on loopback started by arca-bench (--max-txn-ops=%d --max-request-bytes=%d, "+
		"each with its own data directory, fsync on, no TLS), a fresh cluster for each run. Every Arca node is given all members. "+
		"Arca, etcd and the load generator share this machine's CPUs. CPU per request is read from /proc for the Arca processes "+
		"and for the etcd processes, each summed over its nodes.\n\n",
		version, etcdMembers, etcd.RecommendedMaxTxnOps, etcd.RecommendedMaxRequest)
	var modes []etcdMode
	for _, n := range e.o.EtcdNodes {
		if n < 1 {
			return nil, fmt.Errorf("--etcd-nodes %d: want at least 1", n)
		}
		rows, err := e.etcdRun(ctx, filepath.Join(tmp, fmt.Sprintf("etcd-%d", n)), bin, n)
		if err != nil {
			return nil, fmt.Errorf("etcd, %d Arca nodes: %w", n, err)
		}
		modes = append(modes, etcdMode{nodes: n, rows: rows})
	}
	return modes, nil
}

// etcdRun starts the cluster and n Arca nodes on it (initialised once,
// the root key copied to every node), measures the workloads with the
// connections spread over the nodes and stops everything by PID.
func (e *benchEnv) etcdRun(ctx context.Context, dir, bin string, n int) ([]row, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	members, endpoints, err := startEtcd(ctx, dir, bin, etcdMembers, e.o.Profiles != "")
	defer func() {
		for _, m := range members {
			m.stop()
		}
	}()
	if err != nil {
		return nil, err
	}
	flags := []string{"--storage", "etcd", "--etcd-endpoints", strings.Join(endpoints, ","), "--etcd-prefix", "bench/",
		"--etcd-max-txn-ops", strconv.Itoa(etcd.RecommendedMaxTxnOps), "--etcd-max-request-bytes", strconv.Itoa(etcd.RecommendedMaxRequest)}

	initDir := filepath.Join(dir, "init")
	ictx, cancel := context.WithTimeout(ctx, time.Minute)
	b, err := exec.CommandContext(ictx, e.o.Arca, append([]string{"init", "--data", initDir}, flags...)...).CombinedOutput()
	cancel()
	if err != nil {
		return nil, fmt.Errorf("arca init --storage etcd: %v\n%s", err, b)
	}
	key, err := os.ReadFile(filepath.Join(initDir, "root.key"))
	if err != nil {
		return nil, err
	}

	public, err := freePort() // in the URLs and the token issuer, as a balancer's port would be
	if err != nil {
		return nil, err
	}
	var nodes []*proc
	defer func() {
		for _, p := range nodes {
			p.stop()
		}
	}()
	var dirs []string
	for i := range n {
		data := filepath.Join(dir, fmt.Sprintf("node%d", i))
		if err := os.MkdirAll(data, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(data, "root.key"), key, 0o600); err != nil {
			return nil, err
		}
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := append([]string{"serve", "--data", data, "--port", strconv.Itoa(port), "--public-port", strconv.Itoa(public),
			"--listen", "127.0.0.1", "--log-level", "warn"}, flags...)
		pprofAddr := ""
		if i == 0 && e.o.Profiles != "" {
			if pprofAddr, err = e.pprofAddr(); err != nil {
				return nil, err
			}
			args = append(args, "--pprof", pprofAddr)
		}
		p, err := startChild(ctx, e.o.Arca, data+".log", args...)
		if err != nil {
			return nil, err
		}
		p.port, p.pprof = port, pprofAddr
		nodes = append(nodes, p)
		dirs = append(dirs, data)
	}
	if err := e.connect(ctx, dirs[0], nodes[0], public); err != nil {
		return nil, fmt.Errorf("node 0: %w (log: %s)", err, tail(dirs[0]+".log"))
	}
	for i, p := range nodes[1:] {
		c := loadgen.Client(loadgen.Options{Port: p.port, RootCAs: e.roots})
		if _, err := waitHealthy(ctx, c, fmt.Sprintf("https://localhost:%d/healthz", public), p); err != nil {
			return nil, fmt.Errorf("node %d: %w (log: %s)", i+1, err, tail(dirs[i+1]+".log"))
		}
	}

	ws, err := e.workloads(ctx)
	if err != nil {
		return nil, err
	}
	// What the processes use with no request at all (heartbeats, leases,
	// the leader's jobs), which every figure per request includes.
	const idleFor = 2 * time.Second
	a0, m0 := cpuOf(nodes), cpuOf(members)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(idleFor):
	}
	idleArca, idleEtcd := float64(cpuOf(nodes)-a0)/float64(idleFor), float64(cpuOf(members)-m0)/float64(idleFor)
	t := target{nodes: nodes, etcd: members, label: fmt.Sprintf("etcd-%dnode-", n)}
	var rows []row
	for _, w := range ws {
		if len(e.o.Only) > 0 && !containsPrefix(e.o.Only, w.name) {
			continue
		}
		r, err := e.measure(ctx, t, w.name, w.op)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	s := "s"
	if n == 1 {
		s = ""
	}
	fmt.Fprintf(e.out, "### %d Arca node%s on %d etcd members\n\n", n, s, etcdMembers)
	if n > 1 {
		fmt.Fprintf(e.out, "The %d connections are spread round-robin over the nodes (as a TCP balancer would); the URLs name one public port.\n\n", e.o.Conns)
	}
	e.table(rows, true)
	fmt.Fprintf(e.out, "Idle (no requests, %s): Arca %.1f%% of a core, etcd %.1f%%.\n\n", idleFor, 100*idleArca, 100*idleEtcd)
	e.etcdUseTable(rows)
	fmt.Fprintf(e.out, "Peak RSS: Arca %s MiB, etcd %s MiB.\n\n", rssList(nodes), rssList(members))
	return rows, nil
}

// pprofAddr makes the profile directory and picks a loopback address for
// a node's --pprof.
func (e *benchEnv) pprofAddr() (string, error) {
	if err := os.MkdirAll(e.o.Profiles, 0o755); err != nil {
		return "", err
	}
	pp, err := freePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", pp), nil
}

// startEtcd starts a cluster of n members on free loopback ports, each
// with its data directory under dir, and waits until every member reports
// itself healthy. The members it started are returned also on error, to
// be stopped.
func startEtcd(ctx context.Context, dir, bin string, n int, pprof bool) ([]*proc, []string, error) {
	type member struct{ name, client, peer string }
	var ms []member
	var initial []string
	for i := range n {
		cp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		pp, err := freePort()
		if err != nil {
			return nil, nil, err
		}
		m := member{fmt.Sprintf("m%d", i), fmt.Sprintf("http://127.0.0.1:%d", cp), fmt.Sprintf("http://127.0.0.1:%d", pp)}
		ms = append(ms, m)
		initial = append(initial, m.name+"="+m.peer)
	}
	var procs []*proc
	var endpoints []string
	for _, m := range ms {
		args := []string{"--name", m.name, "--data-dir", filepath.Join(dir, m.name),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "arca-bench", "--log-level", "error",
			"--max-txn-ops=" + strconv.Itoa(etcd.RecommendedMaxTxnOps),
			"--max-request-bytes=" + strconv.Itoa(etcd.RecommendedMaxRequest)}
		if pprof {
			args = append(args, "--enable-pprof")
		}
		p, err := startChild(ctx, bin, filepath.Join(dir, m.name+".log"), args...)
		if err != nil {
			return procs, nil, err
		}
		p.metrics = m.client + "/metrics"
		if pprof {
			p.pprof = strings.TrimPrefix(m.client, "http://")
		}
		procs = append(procs, p)
		endpoints = append(endpoints, m.client)
	}
	c := &http.Client{Timeout: 2 * time.Second}
	for i, m := range ms {
		if err := waitEtcd(ctx, c, m.client, procs[i]); err != nil {
			return procs, nil, fmt.Errorf("etcd %s: %w (log: %s)", m.name, err, tail(filepath.Join(dir, m.name+".log")))
		}
	}
	return procs, endpoints, nil
}

// waitEtcd polls a member's /health until it answers true (at most 60 s).
func waitEtcd(ctx context.Context, c *http.Client, url string, p *proc) error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Get(url + "/health")
		if err == nil {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(b.String(), `"true"`) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not healthy within a minute: %v", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.exited:
			return fmt.Errorf("exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tail is the end of a log file, for errors.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// rssList is the processes' peak RSS in MiB, comma-separated.
func rssList(ps []*proc) string {
	var s []string
	for _, p := range ps {
		s = append(s, fmt.Sprintf("%.0f", float64(p.peakRSS())/(1<<20)))
	}
	return strings.Join(s, ", ")
}

// compare sets the etcd runs next to the bolt run: throughput, p99 and
// CPU per request (every server process), and the goals.
func (e *benchEnv) compare(bolt []row, modes []etcdMode) {
	if len(modes) == 0 {
		return
	}
	out := e.out
	boltBy := map[string]row{}
	for _, r := range bolt {
		boltBy[r.name] = r
	}
	label := func(m etcdMode) string {
		if m.nodes == 1 {
			return "etcd, 1 node"
		}
		return fmt.Sprintf("etcd, %d nodes", m.nodes)
	}
	fmt.Fprintln(out, "## bolt vs etcd")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "CPU per request counts every server process: on etcd, Arca (all nodes) + etcd (all members) = total, and the total's ratio to bolt's.")
	fmt.Fprintln(out)
	head, sep := "| workload | bolt req/s |", "|---|---:|"
	for _, m := range modes {
		head += " " + label(m) + " |"
		sep += "---:|"
	}
	head += " bolt p99 ms |"
	sep += "---:|"
	for _, m := range modes {
		head += " " + label(m) + " |"
		sep += "---:|"
	}
	head += " bolt CPU µs/req |"
	sep += "---:|"
	for _, m := range modes {
		head += " " + label(m) + " |"
		sep += "---:|"
	}
	fmt.Fprintln(out, head)
	fmt.Fprintln(out, sep)
	cell := func(v float64, ok bool, format string) string {
		if !ok {
			return " – |"
		}
		return " " + fmt.Sprintf(format, v) + " |"
	}
	for i, r0 := range modes[0].rows {
		b, hasBolt := boltBy[r0.name]
		line := "| " + r0.name + " |" + cell(b.rps, hasBolt, "%.0f")
		for _, m := range modes {
			line += cell(m.rows[i].rps, true, "%.0f")
		}
		line += cell(float64(b.p99)/float64(time.Millisecond), hasBolt, "%.2f")
		for _, m := range modes {
			line += cell(float64(m.rows[i].p99)/float64(time.Millisecond), true, "%.2f")
		}
		line += cell(us(b.total()), hasBolt, "%.0f")
		for _, m := range modes {
			r := m.rows[i]
			line += fmt.Sprintf(" %.0f + %.0f = %.0f", us(r.cpuPerReq), us(r.etcdPerReq), us(r.total()))
			if hasBolt && b.total() > 0 {
				line += fmt.Sprintf(" (%.2f×)", float64(r.total())/float64(b.total()))
			}
			line += " |"
		}
		fmt.Fprintln(out, line)
	}
	fmt.Fprintln(out)

	fmt.Fprintln(out, "| goal (issue: high availability on etcd) | value | target | met |")
	fmt.Fprintln(out, "|---|---:|---:|---|")
	for _, m := range modes {
		for _, r := range m.rows {
			b, ok := boltBy[r.name]
			if !ok || b.total() == 0 || !strings.HasPrefix(r.name, "get secret") && !strings.HasPrefix(r.name, "set secret") && !strings.HasPrefix(r.name, "sign") {
				continue
			}
			a, v := float64(r.cpuPerReq)/float64(b.total()), float64(r.total())/float64(b.total())
			fmt.Fprintf(out, "| %s: %s, CPU/req over bolt's: Arca alone · Arca + etcd | %.2f× · %.2f× | ≤ 1.2× | %s · %s |\n",
				label(m), r.name, a, v, yes(a <= 1.2), yes(v <= 1.2))
		}
		for _, r := range m.rows {
			if strings.HasPrefix(r.name, "set secret") {
				fmt.Fprintf(out, "| %s: %s, durable (req/s) | %.0f | ≥ 1000 | %s |\n", label(m), r.name, r.rps, yes(r.rps >= 1000))
			}
		}
	}
	fmt.Fprintln(out)
}

// etcdCounters are counters of the members' /metrics that tell how Arca
// uses etcd.
type etcdCounters struct {
	rpcs      map[string]float64 // unary gRPC calls by method, summed over the members (each call lands on one)
	proposals float64            // raft proposals committed (the most any member counted: each commits all)
	fsyncs    float64            // WAL fsyncs (likewise, per member)
	in, out   float64            // bytes received from and sent to clients, summed over the members
}

// scrapeEtcd reads the counters of every member (none: zero counters).
func scrapeEtcd(ctx context.Context, members []*proc) (etcdCounters, error) {
	c := etcdCounters{rpcs: map[string]float64{}}
	for _, m := range members {
		req, err := http.NewRequestWithContext(ctx, "GET", m.metrics, nil)
		if err != nil {
			return c, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return c, err
		}
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			return c, err
		}
		var proposals, fsyncs float64
		for _, l := range strings.Split(b.String(), "\n") {
			name, labels, value, ok := metricLine(l)
			if !ok {
				continue
			}
			switch name {
			case "grpc_server_handled_total":
				if strings.Contains(labels, `grpc_type="unary"`) {
					c.rpcs[label(labels, "grpc_method")] += value
				}
			case "etcd_server_proposals_committed_total":
				proposals = value
			case "etcd_disk_wal_fsync_duration_seconds_count":
				fsyncs = value
			case "etcd_network_client_grpc_received_bytes_total":
				c.in += value
			case "etcd_network_client_grpc_sent_bytes_total":
				c.out += value
			}
		}
		c.proposals, c.fsyncs = max(c.proposals, proposals), max(c.fsyncs, fsyncs)
	}
	return c, nil
}

// metricLine splits a line of the Prometheus text format.
func metricLine(l string) (name, labels string, value float64, ok bool) {
	if l == "" || l[0] == '#' {
		return "", "", 0, false
	}
	i := strings.LastIndexByte(l, ' ')
	if i < 0 {
		return "", "", 0, false
	}
	v, err := strconv.ParseFloat(l[i+1:], 64)
	if err != nil {
		return "", "", 0, false
	}
	name = l[:i]
	if j := strings.IndexByte(name, '{'); j >= 0 {
		name, labels = name[:j], name[j:]
	}
	return name, labels, v, true
}

// label is the value of a label in a {k="v",…} list.
func label(labels, key string) string {
	_, v, ok := strings.Cut(labels, key+`="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

func (c etcdCounters) minus(o etcdCounters) etcdCounters {
	d := etcdCounters{rpcs: map[string]float64{}, proposals: c.proposals - o.proposals, fsyncs: c.fsyncs - o.fsyncs,
		in: c.in - o.in, out: c.out - o.out}
	for k, v := range c.rpcs {
		if v-o.rpcs[k] > 0 {
			d.rpcs[k] = v - o.rpcs[k]
		}
	}
	return d
}

// etcdUseTable prints, per request, what the members counted: gRPC calls
// by method, raft proposals, WAL fsyncs of a member, client traffic.
func (e *benchEnv) etcdUseTable(rows []row) {
	fmt.Fprintln(e.out, "etcd's own counters (/metrics) per measured request:")
	fmt.Fprintln(e.out)
	fmt.Fprintln(e.out, "| workload | gRPC calls/req | raft proposals/req | WAL fsyncs/req (one member) | client bytes/req in / out |")
	fmt.Fprintln(e.out, "|---|---|---:|---:|---:|")
	for _, r := range rows {
		if r.requests == 0 || r.etcdUse.rpcs == nil {
			continue
		}
		n := float64(r.requests)
		var calls []string
		methods := make([]string, 0, len(r.etcdUse.rpcs))
		for m := range r.etcdUse.rpcs {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			calls = append(calls, fmt.Sprintf("%s %.2f", m, r.etcdUse.rpcs[m]/n))
		}
		fmt.Fprintf(e.out, "| %s | %s | %.2f | %.2f | %.0f / %.0f |\n", r.name, strings.Join(calls, ", "),
			r.etcdUse.proposals/n, r.etcdUse.fsyncs/n, r.etcdUse.in/n, r.etcdUse.out/n)
	}
	fmt.Fprintln(e.out)
}
