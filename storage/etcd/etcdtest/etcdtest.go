// Package etcdtest runs real etcd servers, as separate processes on
// loopback, for the tests of the etcd backend and of a cluster of Arca
// nodes. The server is built once from the etcd project's Go module by the
// repository's tools/etcd (or taken from $ARCA_ETCD), so tests need no
// system package; each member is stopped by PID when the test ends.
package etcdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Version is the etcd release tools/etcd builds (the client's version).
const Version = "v3.7.3"

var buildOnce sync.Mutex

// Binary returns the path of an etcd server: $ARCA_ETCD when set,
// otherwise the one built from tools/etcd into the user's cache directory
// (built on first use, about 30 s).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ARCA_ETCD"); p != "" {
		return p
	}
	p, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Build builds tools/etcd into the user's cache directory unless it is
// there already, and returns its path.
func Build() (string, error) {
	buildOnce.Lock()
	defer buildOnce.Unlock()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "arca", "etcd-"+Version)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", out, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = filepath.Join(root, "tools", "etcd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building etcd from tools/etcd: %v\n%s", err, b)
	}
	return out, os.Rename(tmp, out)
}

// repoRoot is the directory above the working directory that holds
// tools/etcd.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "etcd", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("etcdtest: tools/etcd not found above the working directory; set ARCA_ETCD")
		}
		dir = parent
	}
}

// Options shape a cluster. The zero value is one member without TLS.
type Options struct {
	Members int  // 0 means 1
	TLS     bool // clients must present a certificate signed by the cluster's CA
	// Args are extra flags for every member (e.g. "--max-txn-ops=16384").
	Args []string
}

// Cluster is a running etcd cluster.
type Cluster struct {
	t       testing.TB
	bin     string
	dir     string
	o       Options
	Members []*Member
	// CACert, ClientCert and ClientKey are PEM files for a client when TLS
	// is on.
	CACert, ClientCert, ClientKey string
}

// Member is one etcd process.
type Member struct {
	Name               string
	ClientURL, PeerURL string
	dataDir            string
	args               []string
	Proc               // the member's process
}

// Start starts a cluster whose members listen on free loopback ports and
// waits until it serves. Every member is killed when the test ends.
func Start(t testing.TB, o Options) *Cluster {
	t.Helper()
	if o.Members <= 0 {
		o.Members = 1
	}
	c := &Cluster{t: t, bin: Binary(t), dir: t.TempDir(), o: o}
	scheme := "http"
	if o.TLS {
		scheme = "https"
		c.writeCerts()
	}
	var initial []string
	for i := range o.Members {
		m := &Member{Name: fmt.Sprintf("m%d", i), dataDir: filepath.Join(c.dir, fmt.Sprintf("m%d", i))}
		m.ClientURL = fmt.Sprintf("%s://127.0.0.1:%d", scheme, freePort(t))
		m.PeerURL = fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
		initial = append(initial, m.Name+"="+m.PeerURL)
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		m.args = []string{"--name", m.Name, "--data-dir", m.dataDir,
			"--listen-client-urls", m.ClientURL, "--advertise-client-urls", m.ClientURL,
			"--listen-peer-urls", m.PeerURL, "--initial-advertise-peer-urls", m.PeerURL,
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "arca-test", "--log-level", "error",
			"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", freePort(t))}
		if o.TLS {
			m.args = append(m.args, "--client-cert-auth", "--trusted-ca-file", c.CACert,
				"--cert-file", filepath.Join(c.dir, "server.pem"), "--key-file", filepath.Join(c.dir, "server-key.pem"))
		}
		m.args = append(m.args, o.Args...)
		if err := c.start(m); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, m := range c.Members {
			m.Kill()
		}
	})
	for _, m := range c.Members {
		c.waitHealthy(m)
	}
	return c
}

// Endpoints are the members' client URLs.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.ClientURL)
	}
	return out
}

func (c *Cluster) start(m *Member) error {
	cmd := exec.Command(c.bin, m.args...)
	log, err := os.OpenFile(m.dataDir+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := m.Start(cmd, func() { log.Close() }); err != nil {
		log.Close()
		return err
	}
	return nil
}

// Restart starts a killed member again on its data directory and waits
// until it reports healthy.
func (c *Cluster) Restart(m *Member) {
	c.t.Helper()
	for i, a := range m.args { // a restarted member rejoins; it is no longer "new"
		if a == "new" && i > 0 && m.args[i-1] == "--initial-cluster-state" {
			m.args[i] = "existing"
		}
	}
	if err := c.start(m); err != nil {
		c.t.Fatal(err)
	}
	c.waitHealthy(m)
}

// waitHealthy polls the member's /health until it answers true, for at most
// 60 s (the process reports itself; nothing is assumed from time passing).
func (c *Cluster) waitHealthy(m *Member) {
	c.t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: c.transport()}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(m.ClientURL + "/health")
		if err == nil {
			var b [256]byte
			n, _ := resp.Body.Read(b[:])
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b[:n]), `"true"`) {
				return
			}
		}
		select {
		case <-m.Exited():
			out, _ := os.ReadFile(m.dataDir + ".log")
			c.t.Fatalf("etcd %s exited:\n%s", m.Name, out)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("etcd %s not healthy within 60s: %v", m.Name, err)
		}
	}
}

func freePort(t testing.TB) int { return FreePort(t) }

// FreePort returns a loopback TCP port that was free a moment ago, chosen
// at random below the kernel's ephemeral range: ports the kernel hands out
// for ":0" listeners and outgoing connections never collide with it, so a
// process started on it a moment later finds it still free (unless
// another test picked the same one, one chance in many thousands).
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := PickPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// PickPort is FreePort for programs (arca-bench).
func PickPort() (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 12000 {
				low = n
			}
		}
	}
	for range 100 {
		p := 10000 + mrand.IntN(low-10000)
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			ln.Close()
			return p, nil
		}
	}
	return 0, errors.New("etcdtest: no free port below the ephemeral range")
}

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in the cluster's directory.
func (c *Cluster) writeCerts() {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		c.t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(name string, serial int64, usage ...x509.ExtKeyUsage) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: usage, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			c.t.Fatal(err)
		}
		kb, _ := x509.MarshalPKCS8PrivateKey(key)
		write(c.t, filepath.Join(c.dir, name+".pem"), "CERTIFICATE", der)
		write(c.t, filepath.Join(c.dir, name+"-key.pem"), "PRIVATE KEY", kb)
	}
	write(c.t, filepath.Join(c.dir, "ca.pem"), "CERTIFICATE", caDER)
	// The server certificate also authenticates clients: etcd's JSON
	// gateway dials the member's own gRPC port with it (Cluster.Leader).
	issue("server", 2, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	issue("client", 3, x509.ExtKeyUsageClientAuth)
	c.CACert = filepath.Join(c.dir, "ca.pem")
	c.ClientCert, c.ClientKey = filepath.Join(c.dir, "client.pem"), filepath.Join(c.dir, "client-key.pem")
}

func write(t testing.TB, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (c *Cluster) transport() http.RoundTripper {
	if !c.o.TLS {
		return http.DefaultTransport
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg, err := ClientTLS(c.CACert, c.ClientCert, c.ClientKey)
	if err != nil {
		c.t.Fatal(err)
	}
	tr.TLSClientConfig = cfg
	return tr
}

// Port returns the TCP port of a URL such as a member's ClientURL.
func Port(rawURL string) int {
	i := strings.LastIndexByte(rawURL, ':')
	p, _ := strconv.Atoi(rawURL[i+1:])
	return p
}
