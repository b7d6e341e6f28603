package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca/deployment"
	"github.com/arcakv/arca/loadgen"
	"github.com/spf13/cobra"
)

// benchOptions configure arca-bench.
type benchOptions struct {
	Arca      string // the arca binary to measure
	Conns     int
	Duration  time.Duration
	Requests  int
	Warmup    time.Duration
	HTTP2     bool
	Scale     int
	ScaleOnly bool
	Only      []string
	Out       string
	Profiles  string   // directory for per-workload CPU profiles of Arca
	Storage   []string // bolt, etcd or both
	Etcd      string   // the etcd server binary ("" builds tools/etcd)
	EtcdNodes []int    // Arca node counts of the etcd mode
}

func newBenchCmd() *cobra.Command {
	o := benchOptions{}
	cmd := &cobra.Command{
		Use:   "arca-bench",
		Short: "Measure Arca against this machine's ceiling (bare HTTPS handler, raw crypto) in one run",
		RunE: func(cmd *cobra.Command, _ []string) error {
			var buf bytes.Buffer
			w := io.MultiWriter(cmd.OutOrStdout(), &buf)
			if err := runBench(cmd.Context(), o, w); err != nil {
				return err
			}
			if o.Out != "" {
				return os.WriteFile(o.Out, buf.Bytes(), 0o644)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Arca, "arca", defaultArca(), "the arca binary to measure")
	f.IntVar(&o.Conns, "conns", 16, "connections (one worker each)")
	f.DurationVar(&o.Duration, "duration", 5*time.Second, "measured time per workload")
	f.IntVar(&o.Requests, "requests", 0, "measure this many requests per workload instead of a fixed duration")
	f.DurationVar(&o.Warmup, "warmup", time.Second, "warm-up per workload")
	f.BoolVar(&o.HTTP2, "http2", false, "use HTTP/2 (default HTTP/1.1 keep-alive)")
	f.IntVar(&o.Scale, "scale", 0, "also run the scale comparison with this many secrets (e.g. 1000000)")
	f.BoolVar(&o.ScaleOnly, "scale-only", false, "run only the scale comparison")
	f.StringSliceVar(&o.Only, "only", nil, "run only these workloads")
	f.StringVar(&o.Out, "out", "", "also write the report to this file")
	f.StringVar(&o.Profiles, "profiles", "", "write CPU profiles for each workload into this directory: of Arca (on etcd, of the first node and of every member)")
	f.StringSliceVar(&o.Storage, "storage", []string{"bolt", "etcd"}, "stores to measure: bolt (one node), etcd (3 members started here, then Arca nodes on them), or both")
	f.StringVar(&o.Etcd, "etcd", "", "the etcd server binary (default: $ARCA_ETCD, or tools/etcd built into the user's cache)")
	f.IntSliceVar(&o.EtcdNodes, "etcd-nodes", []int{1, 3}, "on etcd, measure with this many Arca nodes (load spread round-robin over them), in turn")
	cmd.AddCommand(newBenchServerCmd())
	return cmd
}

type benchEnv struct {
	o      benchOptions
	arca   *proc
	roots  *x509.CertPool
	vault  string
	token  string
	client *http.Client
	out    io.Writer
}

// lg is the load generator's options, its connections spread round-robin
// over ports.
func (e *benchEnv) lg(ports ...int) loadgen.Options {
	return loadgen.Options{Conns: e.o.Conns, Duration: e.o.Duration, Requests: e.o.Requests, Warmup: e.o.Warmup, HTTP2: e.o.HTTP2,
		Port: ports[0], Ports: ports, RootCAs: e.roots}
}

func (e *benchEnv) request(ctx context.Context, c *http.Client, method, path, body string, want int) ([]byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.vault+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b, nil
}

// workload is one measured request type.
type workload struct {
	name string
	op   loadgen.Op
}

func (e *benchEnv) workloads(ctx context.Context) ([]workload, error) {
	const api = "?api-version=2026-04-01"
	c := e.client
	value := strings.Repeat("s", 64)
	if _, err := e.request(ctx, c, "PUT", "/secrets/bench"+api, `{"value":"`+value+`"}`, 200); err != nil {
		return nil, err
	}
	for i := 0; i < 25; i++ {
		if _, err := e.request(ctx, c, "PUT", fmt.Sprintf("/secrets/list-%02d%s", i, api), `{"value":"x"}`, 200); err != nil {
			return nil, err
		}
	}
	for _, k := range []string{`rsa:{"kty":"RSA","key_size":2048}`, `ec:{"kty":"EC","crv":"P-256"}`} {
		name, body, _ := strings.Cut(k, ":")
		if _, err := e.request(ctx, c, "POST", "/keys/"+name+"/create"+api, body, 200); err != nil {
			return nil, err
		}
	}
	cek := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	b, err := e.request(ctx, c, "POST", "/keys/rsa/wrapkey"+api, `{"alg":"RSA-OAEP-256","value":"`+cek+`"}`, 200)
	if err != nil {
		return nil, err
	}
	var wrapped struct{ Value string }
	json.Unmarshal(b, &wrapped)
	d256 := sha256.Sum256([]byte("bench"))
	digest := base64.RawURLEncoding.EncodeToString(d256[:])
	op := func(method, path, body string) loadgen.Op {
		return func(ctx context.Context, c *http.Client, _, _ int) error {
			_, err := e.request(ctx, c, method, path, body, 200)
			return err
		}
	}
	return []workload{
		{"get secret (latest)", op("GET", "/secrets/bench/"+api, "")},
		{"set secret (new version)", op("PUT", "/secrets/bench"+api, `{"value":"`+value+`"}`)},
		// Every connection writes its own secret: no two writers want the
		// same keys (the one above has all of them contend for one).
		{"set secret (a name per connection)", func(ctx context.Context, c *http.Client, w, _ int) error {
			_, err := e.request(ctx, c, "PUT", fmt.Sprintf("/secrets/bench-%03d%s", w, api), `{"value":"`+value+`"}`, 200)
			return err
		}},
		{"list secrets (one page)", op("GET", "/secrets"+api+"&maxresults=25", "")},
		{"sign RS256 (RSA-2048)", op("POST", "/keys/rsa//sign"+api, `{"alg":"RS256","value":"`+digest+`"}`)},
		{"sign ES256 (P-256)", op("POST", "/keys/ec//sign"+api, `{"alg":"ES256","value":"`+digest+`"}`)},
		{"encrypt RSA-OAEP-256", op("POST", "/keys/rsa//encrypt"+api, `{"alg":"RSA-OAEP-256","value":"`+cek+`"}`)},
		{"unwrap RSA-OAEP-256", op("POST", "/keys/rsa//unwrapkey"+api, `{"alg":"RSA-OAEP-256","value":"`+wrapped.Value+`"}`)},
		{"create EC key (P-256)", op("POST", "/keys/ec/create"+api, `{"kty":"EC","crv":"P-256"}`)},
		{"get key", op("GET", "/keys/ec/"+api, "")},
	}, nil
}

// fetchToken gets a token for the vaults from the node e.client dials;
// port is the public port, in the token endpoint's URL and the scope.
func (e *benchEnv) fetchToken(ctx context.Context, dir string, port int) (string, error) {
	creds, err := deployment.ReadCredentials(dir)
	if err != nil {
		return "", err
	}
	d, err := deployment.ReadFacts(dir)
	if err != nil {
		return "", err
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {d.DevClientID}, "client_secret": {creds.ClientSecret},
		"scope": {fmt.Sprintf("https://vault.localhost:%d/.default", port)}}
	resp, err := e.client.PostForm(fmt.Sprintf("https://localhost:%d/adfs/oauth2/token", port), form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("token: %d %v", resp.StatusCode, err)
	}
	return tr.AccessToken, nil
}

type row struct {
	name           string
	rps            float64
	p50, p99, p999 time.Duration
	cpuPerReq      time.Duration // of the Arca processes
	etcdPerReq     time.Duration // of the etcd members (0 on bolt)
	errors         int
	requests       int
	etcdUse        etcdCounters // what the members counted meanwhile (on etcd)
}

// total is the CPU per request of every server process, Arca's and etcd's.
func (r row) total() time.Duration { return r.cpuPerReq + r.etcdPerReq }

// target is what a workload runs against: the Arca nodes, over which the
// connections are spread round-robin, and on etcd its members, whose CPU
// is counted apart from Arca's.
type target struct {
	nodes []*proc
	etcd  []*proc
	label string // prefixes the names of profiles
}

func (t target) ports() []int {
	var ps []int
	for _, n := range t.nodes {
		ps = append(ps, n.port)
	}
	return ps
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

// measure runs op against t and reads the CPU time its processes used
// meanwhile (and on etcd, the members' counters). With profiles on, the
// CPU profiles of the first node and of every etcd member are written.
func (e *benchEnv) measure(ctx context.Context, t target, name string, op loadgen.Op) (row, error) {
	var prof sync.WaitGroup
	for i, p := range append([]*proc{t.nodes[0]}, t.etcd...) {
		if p.pprof == "" {
			continue
		}
		file := t.label + strings.NewReplacer(" ", "_", "(", "", ")", "", "/", "_", ",", "").Replace(name) + ".prof"
		if i > 0 {
			file = fmt.Sprintf("%setcd-m%d-%s", t.label, i-1, file[len(t.label):])
		}
		prof.Add(1)
		go func() {
			defer prof.Done()
			time.Sleep(e.o.Warmup)
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, max(1, int(e.o.Duration.Seconds()))))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(e.o.Profiles, file))
			if err == nil {
				io.Copy(f, resp.Body)
				f.Close()
			}
		}()
	}
	defer prof.Wait()
	// The counters are read after the warm-up (a request in the warm-up
	// counted against the measured ones would inflate CPU per request).
	var (
		m0     etcdCounters
		merr   error
		c0, e0 time.Duration
	)
	lo := e.lg(t.ports()...)
	lo.OnMeasure = func() {
		m0, merr = scrapeEtcd(ctx, t.etcd)
		c0, e0 = cpuOf(t.nodes), cpuOf(t.etcd)
	}
	res, err := loadgen.Run(ctx, lo, op)
	if err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	cpu, ecpu := cpuOf(t.nodes)-c0, cpuOf(t.etcd)-e0
	r := row{name: name, rps: res.RPS(), p50: res.Percentile(50), p99: res.Percentile(99), p999: res.Percentile(99.9), errors: res.Errors,
		requests: res.Requests}
	if m1, err := scrapeEtcd(ctx, t.etcd); merr == nil && err == nil && len(t.etcd) > 0 {
		r.etcdUse = m1.minus(m0)
	}
	if res.Requests > 0 {
		r.cpuPerReq = cpu / time.Duration(res.Requests)
		r.etcdPerReq = ecpu / time.Duration(res.Requests)
	}
	if res.Errors > 0 {
		fmt.Fprintf(e.out, "  %s: %d errors, first: %v\n", name, res.Errors, res.FirstErr)
	}
	return r, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// table prints rows; withEtcd adds the etcd members' CPU and the sum.
func (e *benchEnv) table(rows []row, withEtcd bool) {
	if withEtcd {
		fmt.Fprintln(e.out, "| workload | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req Arca | etcd | Arca + etcd | errors |")
		fmt.Fprintln(e.out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	} else {
		fmt.Fprintln(e.out, "| workload | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | errors |")
		fmt.Fprintln(e.out, "|---|---:|---:|---:|---:|---:|---:|")
	}
	for _, r := range rows {
		fmt.Fprintf(e.out, "| %s | %.0f | %s | %s | %s | %.0f |", r.name, r.rps, ms(r.p50), ms(r.p99), ms(r.p999), us(r.cpuPerReq))
		if withEtcd {
			fmt.Fprintf(e.out, " %.0f | %.0f |", us(r.etcdPerReq), us(r.total()))
		}
		fmt.Fprintf(e.out, " %d |\n", r.errors)
	}
	fmt.Fprintln(e.out)
}

func runBench(ctx context.Context, o benchOptions, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tmp, err := os.MkdirTemp("", "arca-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	proto := "HTTP/1.1 keep-alive"
	if o.HTTP2 {
		proto = "HTTP/2"
	}
	fmt.Fprintf(out, "# Arca benchmark\n\n%s, %d CPUs, %s, %d connections, %s per workload (after %s warm-up); TLS, token verification, authorisation check and durable encrypted storage on.\n\n",
		runtime.Version(), runtime.NumCPU(), proto, o.Conns, o.Duration, o.Warmup)

	e := &benchEnv{o: o, out: out}
	if o.ScaleOnly {
		return e.scale(ctx, tmp, max(o.Scale, 1000))
	}
	var onBolt, onEtcd bool
	for _, s := range o.Storage {
		switch s {
		case "bolt":
			onBolt = true
		case "etcd":
			onEtcd = true
		default:
			return fmt.Errorf("--storage %q: want bolt, etcd or both", s)
		}
	}
	var boltRows []row
	if onBolt {
		var err error
		if boltRows, err = e.bolt(ctx, tmp); err != nil {
			return err
		}
	}
	if onEtcd {
		modes, err := e.etcd(ctx, tmp)
		if err != nil {
			return err
		}
		e.compare(boltRows, modes)
	}
	if o.Scale > 0 && onBolt {
		return e.scale(ctx, tmp, o.Scale)
	}
	return nil
}

// bolt measures one Arca node on its embedded store, then the ceiling,
// and returns Arca's rows.
func (e *benchEnv) bolt(ctx context.Context, tmp string) ([]row, error) {
	o, out := e.o, e.out
	data := filepath.Join(tmp, "data")
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", data, "--port", strconv.Itoa(port), "--listen", "127.0.0.1", "--log-level", "warn"}
	pprofAddr := ""
	if o.Profiles != "" {
		if pprofAddr, err = e.pprofAddr(); err != nil {
			return nil, err
		}
		args = append(args, "--pprof", pprofAddr)
	}
	p, err := startChild(ctx, o.Arca, filepath.Join(tmp, "arca.log"), args...)
	if err != nil {
		return nil, err
	}
	p.port, p.pprof = port, pprofAddr
	defer p.stop()
	if err := e.connect(ctx, data, p, port); err != nil {
		return nil, err
	}
	ws, err := e.workloads(ctx)
	if err != nil {
		return nil, err
	}
	var rows []row
	byName := map[string]row{}
	for _, w := range ws {
		if len(o.Only) > 0 && !containsPrefix(o.Only, w.name) {
			continue
		}
		r, err := e.measure(ctx, target{nodes: []*proc{p}}, w.name, w.op)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
		byName[w.name] = r
	}
	var attacked row
	if _, ok := byName["get secret (latest)"]; ok {
		r, err := e.underBruteForce(ctx, p, data, ws[0].op)
		if err != nil {
			return nil, err
		}
		rows, attacked = append(rows, r), r
	}
	fmt.Fprintln(out, "## Arca (bolt, one node)")
	fmt.Fprintln(out)
	e.table(rows, false)
	fmt.Fprintf(out, "Arca peak RSS: %.1f MiB\n\n", float64(p.peakRSS())/(1<<20))

	// The ceiling: the same load generator against a bare handler.
	getBody, _ := e.request(ctx, e.client, "GET", "/secrets/bench/?api-version=2026-04-01", "", 200)
	ceil := map[string]row{}
	var crow []row
	for _, mode := range []string{"plain", "p256", "rsa2048"} {
		cport, err := freePort()
		if err != nil {
			return nil, err
		}
		caOut := filepath.Join(tmp, "ceiling-"+mode+".pem")
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cp, err := startChild(ctx, self, filepath.Join(tmp, "ceiling-"+mode+".log"), "server", "--ca-out", caOut, "--port", strconv.Itoa(cport),
			"--mode", mode, "--body-size", strconv.Itoa(len(getBody)))
		if err != nil {
			return nil, err
		}
		cp.port = cport
		if err := waitFile(ctx, caOut); err != nil {
			cp.stop()
			return nil, err
		}
		pem, _ := os.ReadFile(caOut)
		e.roots.AppendCertsFromPEM(pem)
		if _, err := waitHealthy(ctx, e.client, fmt.Sprintf("https://localhost:%d/healthz", cport), cp); err != nil {
			cp.stop()
			return nil, err
		}
		r, err := e.measure(ctx, target{nodes: []*proc{cp}}, "bare handler: "+mode, func(ctx context.Context, c *http.Client, _, _ int) error {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("https://localhost:%d/x", cport), nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			loadgen.Drain(resp)
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
		cp.stop()
		if err != nil {
			return nil, err
		}
		ceil[mode] = r
		crow = append(crow, r)
	}
	fmt.Fprintln(out, "## Ceiling (same generator, bare Go HTTPS handler, same body size)")
	fmt.Fprintln(out)
	e.table(crow, false)
	fmt.Fprintln(out, "Raw in-process crypto (this machine):")
	fmt.Fprintln(out)
	for _, c := range rawCrypto() {
		fmt.Fprintf(out, "- %s\n", c)
	}
	fmt.Fprintln(out)

	fmt.Fprintln(out, "## Arca / ceiling")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| figure | value | target | met |")
	fmt.Fprintln(out, "|---|---:|---:|---|")
	ratio := func(label, w, c string, target float64) {
		a, ok1 := byName[w]
		b, ok2 := ceil[c]
		if !ok1 || !ok2 || b.rps == 0 {
			return
		}
		v := a.rps / b.rps
		fmt.Fprintf(out, "| %s | %.0f%% | ≥ %.0f%% | %s |\n", label, 100*v, 100*target, yes(v >= target))
	}
	ratio("get secret / bare handler", "get secret (latest)", "plain", 0.5)
	ratio("sign ES256 / handler + P-256 sign", "sign ES256 (P-256)", "p256", 0.8)
	ratio("sign RS256 / handler + RSA-2048 sign", "sign RS256 (RSA-2048)", "rsa2048", 0.9)
	if q, ok := byName["get secret (latest)"]; ok && attacked.p50 > 0 && q.p50 > 0 {
		v := float64(attacked.p50) / float64(q.p50)
		fmt.Fprintf(out, "| get secret p50 with 8 clients guessing secrets / without | %.2f× | ≤ 2× | %s |\n", v, yes(v <= 2))
	}
	if r, ok := byName["set secret (new version)"]; ok {
		fmt.Fprintf(out, "| set secret, durable (req/s) | %.0f | ≥ 4000 | %s |\n", r.rps, yes(r.rps >= 4000))
	}
	if r, ok := byName["set secret (a name per connection)"]; ok {
		fmt.Fprintf(out, "| set secret, durable, a name per connection (req/s) | %.0f | ≥ 4000 | %s |\n", r.rps, yes(r.rps >= 4000))
	}
	fmt.Fprintln(out)
	p.stop()
	return rows, nil
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func containsPrefix(list []string, name string) bool {
	for _, l := range list {
		if strings.HasPrefix(name, l) {
			return true
		}
	}
	return false
}

// connect waits for the child Arca and fetches a token. The URLs use the
// public port; e.client dials the node's own port.
func (e *benchEnv) connect(ctx context.Context, data string, p *proc, public int) error {
	if err := waitFile(ctx, filepath.Join(data, deployment.FactsFile)); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(data, deployment.CAFile))
	if err != nil {
		return err
	}
	e.roots = x509.NewCertPool()
	e.roots.AppendCertsFromPEM(b)
	e.client = loadgen.Client(loadgen.Options{Port: p.port, RootCAs: e.roots})
	if _, err := waitHealthy(ctx, e.client, fmt.Sprintf("https://localhost:%d/healthz", p.port), p); err != nil {
		return err
	}
	d, err := deployment.ReadFacts(data)
	if err != nil {
		return err
	}
	e.vault = fmt.Sprintf("https://%s.vault.localhost:%d", d.DefaultVault, public)
	e.arca = p
	e.token, err = e.fetchToken(ctx, data, public)
	return err
}

// rawCrypto measures signatures per second in-process, on one core and on all.
func rawCrypto() []string {
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	d := sha256.Sum256([]byte("x"))
	rate := func(workers int, f func()) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(time.Second)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(stop) {
					f()
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(n.Load())
	}
	es := func() { ecdsa.SignASN1(rand.Reader, ek, d[:]) }
	rs := func() { rsa.SignPKCS1v15(nil, rk, crypto.SHA256, d[:]) }
	cpus := runtime.NumCPU()
	return []string{
		fmt.Sprintf("ECDSA P-256 sign: %.0f/s on 1 core, %.0f/s on %d", rate(1, es), rate(cpus, es), cpus),
		fmt.Sprintf("RSA-2048 sign: %.0f/s on 1 core, %.0f/s on %d", rate(1, rs), rate(cpus, rs), cpus),
	}
}
