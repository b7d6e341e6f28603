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
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca"
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
	Profiles  string // directory for per-workload CPU profiles of Arca
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
	f.StringVar(&o.Profiles, "profiles", "", "write a CPU profile of Arca for each workload into this directory")
	cmd.AddCommand(newBenchServerCmd())
	return cmd
}

// proc is a child process whose CPU time and peak RSS we read from /proc.
type proc struct {
	cmd   *exec.Cmd
	port  int
	pprof string // pprof address, if enabled
}

func (p *proc) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// peakRSS returns VmHWM in bytes.
func (p *proc) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func (p *proc) stop() {
	p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitHealthy polls the health endpoint until it answers (bounded).
func waitHealthy(ctx context.Context, c *http.Client, u string, p *proc) (time.Duration, error) {
	start := time.Now()
	for i := 0; i < 600; i++ {
		if p.cmd.ProcessState != nil {
			return 0, errors.New("server exited")
		}
		resp, err := c.Get(u)
		if err == nil {
			loadgen.Drain(resp)
			if resp.StatusCode == 200 {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return 0, errors.New("server did not become healthy")
}

// startChild starts bin with args, its output in logPath.
func startChild(ctx context.Context, bin, logPath string, args ...string) (*proc, error) {
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); lf.Close() }()
	return &proc{cmd: cmd}, nil
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

func (e *benchEnv) lg(port int) loadgen.Options {
	return loadgen.Options{Conns: e.o.Conns, Duration: e.o.Duration, Requests: e.o.Requests, Warmup: e.o.Warmup, HTTP2: e.o.HTTP2, Port: port, RootCAs: e.roots}
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
		{"list secrets (one page)", op("GET", "/secrets"+api+"&maxresults=25", "")},
		{"sign RS256 (RSA-2048)", op("POST", "/keys/rsa//sign"+api, `{"alg":"RS256","value":"`+digest+`"}`)},
		{"sign ES256 (P-256)", op("POST", "/keys/ec//sign"+api, `{"alg":"ES256","value":"`+digest+`"}`)},
		{"encrypt RSA-OAEP-256", op("POST", "/keys/rsa//encrypt"+api, `{"alg":"RSA-OAEP-256","value":"`+cek+`"}`)},
		{"unwrap RSA-OAEP-256", op("POST", "/keys/rsa//unwrapkey"+api, `{"alg":"RSA-OAEP-256","value":"`+wrapped.Value+`"}`)},
		{"create EC key (P-256)", op("POST", "/keys/ec/create"+api, `{"kty":"EC","crv":"P-256"}`)},
		{"get key", op("GET", "/keys/ec/"+api, "")},
	}, nil
}

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
	cpuPerReq      time.Duration
	errors         int
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond)) }

func (e *benchEnv) measure(ctx context.Context, p *proc, name string, op loadgen.Op) (row, error) {
	var prof sync.WaitGroup
	if p.pprof != "" {
		prof.Add(1)
		go func() {
			defer prof.Done()
			time.Sleep(e.o.Warmup)
			resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.pprof, max(1, int(e.o.Duration.Seconds()))))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(e.o.Profiles, strings.NewReplacer(" ", "_", "(", "", ")", "", "/", "_").Replace(name)+".prof"))
			if err == nil {
				io.Copy(f, resp.Body)
				f.Close()
			}
		}()
	}
	defer prof.Wait()
	c0 := p.cpu()
	res, err := loadgen.Run(ctx, e.lg(p.port), op)
	if err != nil {
		return row{}, fmt.Errorf("%s: %w", name, err)
	}
	cpu := p.cpu() - c0
	r := row{name: name, rps: res.RPS(), p50: res.Percentile(50), p99: res.Percentile(99), p999: res.Percentile(99.9), errors: res.Errors}
	if res.Requests > 0 {
		r.cpuPerReq = cpu / time.Duration(res.Requests)
	}
	if res.Errors > 0 {
		fmt.Fprintf(e.out, "  %s: %d errors, first: %v\n", name, res.Errors, res.FirstErr)
	}
	return r, nil
}

func (e *benchEnv) table(rows []row) {
	fmt.Fprintln(e.out, "| workload | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | errors |")
	fmt.Fprintln(e.out, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		fmt.Fprintf(e.out, "| %s | %.0f | %s | %s | %s | %.0f | %d |\n", r.name, r.rps, ms(r.p50), ms(r.p99), ms(r.p999),
			float64(r.cpuPerReq)/float64(time.Microsecond), r.errors)
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
	data := filepath.Join(tmp, "data")
	port, err := freePort()
	if err != nil {
		return err
	}
	args := []string{"serve", "--data", data, "--port", strconv.Itoa(port), "--listen", "127.0.0.1", "--log-level", "warn"}
	pprofAddr := ""
	if o.Profiles != "" {
		pp, err := freePort()
		if err != nil {
			return err
		}
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", pp)
		args = append(args, "--pprof", pprofAddr)
		if err := os.MkdirAll(o.Profiles, 0o755); err != nil {
			return err
		}
	}
	p, err := startChild(ctx, o.Arca, filepath.Join(tmp, "arca.log"), args...)
	if err != nil {
		return err
	}
	p.port, p.pprof = port, pprofAddr
	defer p.stop()
	if err := e.connect(ctx, data, p); err != nil {
		return err
	}
	ws, err := e.workloads(ctx)
	if err != nil {
		return err
	}
	var rows []row
	byName := map[string]row{}
	for _, w := range ws {
		if len(o.Only) > 0 && !containsPrefix(o.Only, w.name) {
			continue
		}
		r, err := e.measure(ctx, p, w.name, w.op)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		byName[w.name] = r
	}
	var attacked row
	if _, ok := byName["get secret (latest)"]; ok {
		r, err := e.underBruteForce(ctx, p, data, ws[0].op)
		if err != nil {
			return err
		}
		rows, attacked = append(rows, r), r
	}
	fmt.Fprintln(out, "## Arca")
	fmt.Fprintln(out)
	e.table(rows)
	fmt.Fprintf(out, "Arca peak RSS: %.1f MiB\n\n", float64(p.peakRSS())/(1<<20))

	// The ceiling: the same load generator against a bare handler.
	getBody, _ := e.request(ctx, e.client, "GET", "/secrets/bench/?api-version=2026-04-01", "", 200)
	ceil := map[string]row{}
	var crow []row
	for _, mode := range []string{"plain", "p256", "rsa2048"} {
		cport, err := freePort()
		if err != nil {
			return err
		}
		caOut := filepath.Join(tmp, "ceiling-"+mode+".pem")
		self, err := os.Executable()
		if err != nil {
			return err
		}
		cp, err := startChild(ctx, self, filepath.Join(tmp, "ceiling-"+mode+".log"), "server", "--ca-out", caOut, "--port", strconv.Itoa(cport),
			"--mode", mode, "--body-size", strconv.Itoa(len(getBody)))
		if err != nil {
			return err
		}
		cp.port = cport
		if err := waitFile(ctx, caOut); err != nil {
			cp.stop()
			return err
		}
		pem, _ := os.ReadFile(caOut)
		e.roots.AppendCertsFromPEM(pem)
		if _, err := waitHealthy(ctx, e.client, fmt.Sprintf("https://localhost:%d/healthz", cport), cp); err != nil {
			cp.stop()
			return err
		}
		r, err := e.measure(ctx, cp, "bare handler: "+mode, func(ctx context.Context, c *http.Client, _, _ int) error {
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
			return err
		}
		ceil[mode] = r
		crow = append(crow, r)
	}
	fmt.Fprintln(out, "## Ceiling (same generator, bare Go HTTPS handler, same body size)")
	fmt.Fprintln(out)
	e.table(crow)
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
	fmt.Fprintln(out)
	p.stop()

	if o.Scale > 0 {
		return e.scale(ctx, tmp, o.Scale)
	}
	return nil
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

// waitFile waits (bounded) until path exists.
func waitFile(ctx context.Context, path string) error {
	for i := 0; i < 1000; i++ {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not appear", path)
}

// connect waits for the child Arca and fetches a token.
func (e *benchEnv) connect(ctx context.Context, data string, p *proc) error {
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
	e.vault = fmt.Sprintf("https://%s.vault.localhost:%d", d.DefaultVault, p.port)
	e.arca = p
	e.token, err = e.fetchToken(ctx, data, p.port)
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

// scale compares a vault of n secrets with one of 1,000: get p99, list page
// p99, restart time and RSS.
func (e *benchEnv) scale(ctx context.Context, tmp string, n int) error {
	fmt.Fprintf(e.out, "## Scale: %d secrets vs 1,000\n\nLatency is measured with one connection (no queueing), random names and random list positions.\n\n", n)
	fmt.Fprintln(e.out, "| secrets | seed s | restart ms | get p99 ms | list page p99 ms | RSS MiB |")
	fmt.Fprintln(e.out, "|---:|---:|---:|---:|---:|---:|")
	var p99 = map[int][2]time.Duration{}
	for _, count := range []int{1000, n} {
		data := filepath.Join(tmp, fmt.Sprintf("scale-%d", count))
		t0 := time.Now()
		if err := seed(ctx, data, count); err != nil {
			return err
		}
		seedTime := time.Since(t0)
		port, _ := freePort()
		p, err := startChild(ctx, e.o.Arca, filepath.Join(tmp, fmt.Sprintf("scale-%d.log", count)), "serve", "--data", data, "--port", strconv.Itoa(port), "--listen", "127.0.0.1", "--log-level", "warn")
		if err != nil {
			return err
		}
		p.port = port
		t1 := time.Now()
		if err := e.connect(ctx, data, p); err != nil {
			p.stop()
			return err
		}
		restart := time.Since(t1)
		names := func(i int) string { return fmt.Sprintf("s%08d", i%count) }
		lat := e.lg(port)
		lat.Conns = 1
		get, err := loadgen.Run(ctx, lat, func(ctx context.Context, c *http.Client, w, seq int) error {
			_, err := e.request(ctx, c, "GET", "/secrets/"+names((w*7919+seq*104729)%count)+"/?api-version=2026-04-01", "", 200)
			return err
		})
		if err != nil {
			p.stop()
			return err
		}
		list, err := loadgen.Run(ctx, lat, func(ctx context.Context, c *http.Client, w, seq int) error {
			tok := base64.RawURLEncoding.EncodeToString([]byte(names((w*31 + seq*7877) % count)))
			_, err := e.request(ctx, c, "GET", "/secrets?api-version=2026-04-01&maxresults=25&$skiptoken="+tok, "", 200)
			return err
		})
		if err != nil {
			p.stop()
			return err
		}
		rss := p.peakRSS()
		p.stop()
		p99[count] = [2]time.Duration{get.Percentile(99), list.Percentile(99)}
		fmt.Fprintf(e.out, "| %d | %.1f | %d | %s | %s | %.0f |\n", count, seedTime.Seconds(), restart.Milliseconds(),
			ms(get.Percentile(99)), ms(list.Percentile(99)), float64(rss)/(1<<20))
		if count == n {
			small := p99[1000]
			fmt.Fprintf(e.out, "\nget p99 ratio %d/1000: %.2f (target ≤ 1.2: %s); list page p99 %s ms (target < 5: %s); restart %d ms (target < 2000: %s); RSS %.0f MiB (target < 1024: %s)\n\n",
				n, float64(get.Percentile(99))/math.Max(1, float64(small[0])), yes(float64(get.Percentile(99)) <= 1.2*float64(small[0])),
				ms(list.Percentile(99)), yes(list.Percentile(99) < 5*time.Millisecond), restart.Milliseconds(), yes(restart < 2*time.Second),
				float64(rss)/(1<<20), yes(rss < 1<<30))
		}
	}
	return nil
}

// seed initialises a data directory and loads count secrets directly into
// its default vault (not over HTTP), in batches.
func seed(ctx context.Context, data string, count int) error {
	a, err := deployment.Open(ctx, data, deployment.Options{Clock: arca.SystemClock{}})
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.Vaults.Vault(ctx, a.Facts.DefaultVault)
	if err != nil {
		return err
	}
	const batch = 10000
	names := make([]string, 0, batch)
	for i := 0; i < count; i++ {
		names = append(names, fmt.Sprintf("s%08d", i))
		if len(names) == batch || i == count-1 {
			if err := a.Secrets.Seed(ctx, v, names, strings.Repeat("v", 64)); err != nil {
				return err
			}
			names = names[:0]
		}
	}
	return nil
}
