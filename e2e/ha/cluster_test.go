// Package ha is the high-availability test of Arca on etcd, against real
// processes: three etcd members (etcdtest), `arca init --storage etcd` once,
// three `arca serve --storage etcd` nodes sharing one public port, then a
// set-secret storm with kill -9 of an etcd member and an Arca node, the
// cross-node consistency checks, and the Go SDK live suites against one
// node. It starts many processes and takes minutes, so it runs only with
// ARCA_TEST_HA=1 (`make test-ha` sets it).
package ha

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// etcdPrefix is a non-default key prefix, so the test also exercises
// --etcd-prefix.
const etcdPrefix = "ha-test/"

// cluster is the etcd cluster, the Arca nodes and what clients need.
type cluster struct {
	t      *testing.T
	bin    string
	etcd   *etcdtest.Cluster
	tls    bool
	dir    string
	logs   string // the nodes' and the live suites' logs: $ARCA_TEST_HA_LOGS, or within dir
	public int    // the port in every vault URL and in the token issuer
	nodes  []*node
	env    map[string]string // `arca env` of the initialised cluster
	ca     *x509.CertPool
}

// node is one `arca serve` process.
type node struct {
	c      *cluster
	i      int
	dir    string
	port   int
	client *http.Client // dials this node's port whatever the URL's host:port

	proc    etcdtest.Proc // the node's process
	mu      sync.Mutex
	leading []time.Time // when the node logged that it leads the background jobs
	errors  []time.Time // when the node logged at level ERROR
	tail    []string    // the last lines of its log
}

// arcaBinary is $ARCA_BIN, or cmd/arca built into a temporary directory.
func arcaBinary(t *testing.T) string {
	if p := os.Getenv("ARCA_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	out := filepath.Join(t.TempDir(), "arca")
	if b, err := exec.Command("go", "build", "-o", out, "../../cmd/arca").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/arca: %v\n%s", err, b)
	}
	return out
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func freePort(t *testing.T) int { return etcdtest.FreePort(t) }

// startCluster starts etcd, initialises Arca once and starts n nodes.
func startCluster(t *testing.T, n int) *cluster {
	c := &cluster{t: t, bin: arcaBinary(t), dir: t.TempDir(), tls: os.Getenv("ARCA_TEST_HA_ETCD_TLS") != "0"}
	c.logs = c.dir
	if d := os.Getenv("ARCA_TEST_HA_LOGS"); d != "" {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		c.logs = d
	}
	start := time.Now()
	c.etcd = etcdtest.Start(t, etcdtest.Options{Members: 3, TLS: c.tls, Args: []string{
		"--max-txn-ops=" + strconv.Itoa(etcd.RecommendedMaxTxnOps),
		"--max-request-bytes=" + strconv.Itoa(etcd.RecommendedMaxRequest)}})
	t.Logf("etcd: 3 members (TLS with client certificates: %v) up in %v: %s", c.tls, time.Since(start).Round(time.Millisecond),
		strings.Join(c.etcd.Endpoints(), ","))
	c.public = freePort(t)

	// serve refuses a cluster never initialised, even with a root key.
	early := filepath.Join(c.dir, "early")
	if err := os.MkdirAll(early, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(early, "root.key"), []byte(hex.EncodeToString(randBytes(32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	b, err := exec.CommandContext(ctx, c.bin, append([]string{"serve", "--data", early, "--port", "0",
		"--listen", "127.0.0.1"}, c.etcdFlags()...)...).CombinedOutput()
	timedOut := ctx.Err() != nil
	cancel()
	if err == nil || timedOut {
		t.Errorf("arca serve --storage etcd on an uninitialised cluster: %v (want a refusal)\n%s", err, b)
	} else {
		t.Logf("arca serve on an uninitialised cluster refuses: %s", strings.TrimSpace(string(b)))
	}
	initDir := filepath.Join(c.dir, "init")
	args := append([]string{"init", "--data", initDir}, c.etcdFlags()...)
	if b, err := exec.Command(c.bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("arca %s: %v\n%s", strings.Join(args, " "), err, b)
	} else {
		t.Logf("arca init --storage etcd: %s", strings.TrimSpace(string(b)))
	}
	// A second init of the same cluster refuses.
	if b, err := exec.Command(c.bin, append([]string{"init", "--data", filepath.Join(c.dir, "init2")}, c.etcdFlags()...)...).CombinedOutput(); err == nil {
		t.Errorf("a second arca init --storage etcd succeeded: %s", b)
	} else {
		t.Logf("a second arca init refuses: %s", strings.TrimSpace(string(b)))
	}
	key, err := os.ReadFile(filepath.Join(initDir, "root.key"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		nd := &node{c: c, i: i, dir: filepath.Join(c.dir, fmt.Sprintf("node%d", i)), port: freePort(t)}
		if err := os.MkdirAll(nd.dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(nd.dir, "root.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(nd.logPath()) // a kept log directory holds the last run only
		c.nodes = append(c.nodes, nd)
	}
	t.Cleanup(c.stop)
	for _, nd := range c.nodes {
		nd.start()
	}
	for _, nd := range c.nodes {
		nd.waitHealthy(90 * time.Second)
	}
	c.env = c.arcaEnv(c.nodes[0].dir)
	pem, err := os.ReadFile(c.env["SSL_CERT_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	c.ca = x509.NewCertPool()
	if !c.ca.AppendCertsFromPEM(pem) {
		t.Fatalf("%s: no certificate", c.env["SSL_CERT_FILE"])
	}
	for _, nd := range c.nodes {
		nd.client = c.httpClient(nd.port)
	}
	t.Logf("arca: %d nodes up in %v (ports %v, public port %d)", n, time.Since(start).Round(time.Millisecond), c.ports(), c.public)
	return c
}

func (c *cluster) ports() []int {
	var p []int
	for _, n := range c.nodes {
		p = append(p, n.port)
	}
	return p
}

// etcdFlags are the storage flags every arca command of the cluster gets.
func (c *cluster) etcdFlags() []string {
	f := []string{"--storage", "etcd", "--etcd-endpoints", strings.Join(c.etcd.Endpoints(), ","),
		"--etcd-prefix", etcdPrefix,
		"--etcd-max-txn-ops", strconv.Itoa(etcd.RecommendedMaxTxnOps),
		"--etcd-max-request-bytes", strconv.Itoa(etcd.RecommendedMaxRequest)}
	if c.tls {
		f = append(f, "--etcd-cacert", c.etcd.CACert, "--etcd-cert", c.etcd.ClientCert, "--etcd-key", c.etcd.ClientKey)
	}
	return f
}

// arcaEnv runs `arca env` and parses its export lines.
func (c *cluster) arcaEnv(dir string) map[string]string {
	out, err := exec.Command(c.bin, "env", "--data", dir).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		c.t.Fatalf("arca env --data %s: %v\n%s", dir, err, stderr)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' { // shellQuote's quoting
			v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, `'`)
		}
		env[k] = v
	}
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "ARCA_TENANT_ID", "AZURE_SUBSCRIPTION_ID",
		"IDENTITY_HEADER", "SSL_CERT_FILE", "AZURE_KEYVAULT_URL"} {
		if env[k] == "" {
			c.t.Fatalf("arca env --data %s: no %s in\n%s", dir, k, out)
		}
	}
	if want := ":" + strconv.Itoa(c.public); !strings.HasSuffix(strings.TrimSuffix(env["AZURE_KEYVAULT_URL"], "/"), want) {
		c.t.Errorf("arca env: AZURE_KEYVAULT_URL %s does not use the public port %d", env["AZURE_KEYVAULT_URL"], c.public)
	}
	return env
}

// httpClient trusts the deployment's CA and dials 127.0.0.1:port whatever
// host the URL names: vault hosts need no resolver, and the public port in
// the URLs reaches this one node.
func (c *cluster) httpClient(port int) *http.Client {
	d := &net.Dialer{Timeout: 3 * time.Second}
	target := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: c.ca},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, target)
		},
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

// URLs of the deployment, all on the public port.
func (c *cluster) authority() string { return "https://localhost:" + strconv.Itoa(c.public) }
func (c *cluster) vaultURL(name string) string {
	return "https://" + name + ".vault.localhost:" + strconv.Itoa(c.public)
}
func (c *cluster) resource(host string) string {
	return "https://" + host + ".localhost:" + strconv.Itoa(c.public)
}

// start starts the node's process; its log goes to DIR.log and is scanned
// for the scheduler's leadership and for errors.
func (n *node) start() {
	t := n.c.t
	args := append([]string{"serve", "--data", n.dir, "--port", strconv.Itoa(n.port), "--public-port", strconv.Itoa(n.c.public),
		"--listen", "127.0.0.1", "--log-level", "info", "--purge-interval", "2s"}, n.c.etcdFlags()...)
	cmd := exec.Command(n.c.bin, args...)
	logf, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := n.proc.Start(cmd, func() { pw.Close() }); err != nil {
		t.Fatal(err)
	}
	go n.scan(pr, logf)
}

// logLine is what the scan reads of a JSON log line.
type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
}

func (n *node) scan(r io.Reader, logf *os.File) {
	defer logf.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		now := time.Now()
		logf.Write(append(line, '\n'))
		var l logLine
		_ = json.Unmarshal(line, &l)
		n.mu.Lock()
		switch {
		case l.Msg == "leading background jobs":
			n.leading = append(n.leading, now)
		case l.Level == "ERROR":
			n.errors = append(n.errors, now)
		}
		n.tail = append(n.tail, string(line))
		if len(n.tail) > 40 {
			n.tail = n.tail[len(n.tail)-40:]
		}
		n.mu.Unlock()
	}
}

// logPath is the node's log file (kept across its restarts).
func (n *node) logPath() string { return filepath.Join(n.c.logs, fmt.Sprintf("node%d.log", n.i)) }

// kill sends SIGKILL to the node's process (by PID) and waits for it.
func (n *node) kill() { n.proc.Kill() }

// terminate stops the node gracefully (SIGTERM), SIGKILL after 15 s.
func (n *node) terminate() { n.proc.Stop(15 * time.Second) }

func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.terminate() }()
	}
	wg.Wait()
	if c.logs != c.dir { // keep the members' logs beside the nodes'
		for _, m := range c.etcd.Members {
			if b, err := os.ReadFile(m.LogFile()); err == nil {
				_ = os.WriteFile(filepath.Join(c.logs, "etcd-"+m.Name+".log"), b, 0o600)
			}
		}
	}
	if c.t.Failed() {
		for _, n := range c.nodes {
			c.t.Logf("node%d log tail (%s):\n%s", n.i, n.logPath(), strings.Join(n.logTail(), "\n"))
		}
	}
}

func (n *node) logTail() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.tail...)
}

// errorsBetween counts the lines the node logged at level ERROR in [from, to).
func (n *node) errorsBetween(from, to time.Time) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, at := range n.errors {
		if !at.Before(from) && at.Before(to) {
			k++
		}
	}
	return k
}

// waitHealthy polls /healthz on the node's own port until it answers 200,
// failing when the process exits or the deadline passes.
func (n *node) waitHealthy(limit time.Duration) time.Duration {
	t := n.c.t
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the CA may not be known yet: only readiness is checked
	u := "https://127.0.0.1:" + strconv.Itoa(n.port) + "/healthz"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		select {
		case <-n.proc.Exited():
			t.Fatalf("node%d exited before it was healthy; log:\n%s", n.i, strings.Join(n.logTail(), "\n"))
		case <-tick.C:
		}
		if time.Since(start) > limit {
			t.Fatalf("node%d not healthy within %v (%v); log:\n%s", n.i, limit, err, strings.Join(n.logTail(), "\n"))
		}
	}
}

// do sends one request to the node and returns the status and body; err is
// a transport error (no answer).
func (n *node) do(ctx context.Context, method, u, bearer, body string, hdr ...string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// must sends a request and fails the test unless the status is want; it
// decodes a JSON answer.
func (n *node) must(method, u, bearer, body string, want int) map[string]any {
	n.c.t.Helper()
	code, b, err := n.do(context.Background(), method, u, bearer, body)
	if err != nil || code != want {
		n.c.t.Fatalf("node%d %s %s: %d %v %s (want %d)", n.i, method, u, code, err, b, want)
	}
	out := map[string]any{}
	if len(bytes.TrimSpace(b)) > 0 {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// token gets an access token for the development service principal from
// the node's token service (client credentials).
func (n *node) token(resource string) string {
	n.c.t.Helper()
	env := n.c.env
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {env["AZURE_CLIENT_ID"]},
		"client_secret": {env["AZURE_CLIENT_SECRET"]}, "scope": {resource + "/.default"}}
	req, _ := http.NewRequest(http.MethodPost, n.c.authority()+"/"+env["ARCA_TENANT_ID"]+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return n.tokenFrom(req)
}

// miToken gets an access token for the managed identity (App Service
// protocol, X-IDENTITY-HEADER).
func (n *node) miToken(resource string) string {
	n.c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.c.authority()+"/msi/token?api-version=2019-08-01&resource="+url.QueryEscape(resource), nil)
	req.Header.Set("X-IDENTITY-HEADER", n.c.env["IDENTITY_HEADER"])
	return n.tokenFrom(req)
}

func (n *node) tokenFrom(req *http.Request) string {
	n.c.t.Helper()
	resp, err := n.client.Do(req)
	if err != nil {
		n.c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tok) != nil || tok.AccessToken == "" {
		n.c.t.Fatalf("node%d token %s: %d %s", n.i, req.URL.Path, resp.StatusCode, b)
	}
	return tok.AccessToken
}
