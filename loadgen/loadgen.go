// Package loadgen is Arca's load generator: N workers, each with its own
// keep-alive TLS connection (HTTP/1.1 or HTTP/2), a warm-up, then a timed
// run whose latencies are kept exactly for percentiles. It only talks to
// loopback addresses.
package loadgen

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a run.
type Options struct {
	Conns    int           // concurrent workers, one connection each
	Duration time.Duration // measured time (ignored when Requests > 0)
	Requests int           // stop after this many measured requests (0: use Duration)
	Warmup   time.Duration
	HTTP2    bool
	Port     int            // every host name is dialled at 127.0.0.1:Port
	RootCAs  *x509.CertPool // the server's CA (verification stays on)
	// Ports, when set, replace Port: worker i dials Ports[i%len(Ports)],
	// as a TCP balancer spreads connections round-robin over nodes.
	Ports []int
	// OnMeasure, when set, is called after the warm-up, just before the
	// measured run starts (no request is in flight), e.g. to read the
	// server's CPU time.
	OnMeasure func()
}

// Op performs one request with client and reports an error for anything
// but the expected response. worker and seq let workloads vary requests.
type Op func(ctx context.Context, c *http.Client, worker, seq int) error

// Result is a run's outcome.
type Result struct {
	Requests int
	Errors   int
	FirstErr error
	Elapsed  time.Duration
	Lat      []time.Duration // sorted
}

// RPS is successful requests per second.
func (r *Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentile returns the p-th percentile latency (0 < p <= 100).
func (r *Result) Percentile(p float64) time.Duration {
	if len(r.Lat) == 0 {
		return 0
	}
	i := int(float64(len(r.Lat))*p/100+0.5) - 1
	return r.Lat[min(max(i, 0), len(r.Lat)-1)]
}

// Client returns an HTTP client with its own connection to the loopback
// server, trusting roots.
func Client(o Options) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: o.RootCAs},
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		ForceAttemptHTTP2:   o.HTTP2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", o.Port))
		},
	}
	if !o.HTTP2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// Drain reads and closes a response body so the connection is reused.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// Run runs op with o.Conns workers: first for o.Warmup (not measured), then
// for o.Duration or until o.Requests measured requests.
func Run(ctx context.Context, o Options, op Op) (*Result, error) {
	if o.Conns < 1 {
		return nil, errors.New("loadgen: need at least one connection")
	}
	clients := make([]*http.Client, o.Conns)
	for i := range clients {
		co := o
		if len(o.Ports) > 0 {
			co.Port = o.Ports[i%len(o.Ports)]
		}
		clients[i] = Client(co)
	}
	defer func() {
		for _, c := range clients {
			c.CloseIdleConnections()
		}
	}()
	phase := func(d time.Duration, limit int, record bool) *Result {
		var (
			wg       sync.WaitGroup
			issued   atomic.Int64
			mu       sync.Mutex
			res      = &Result{}
			deadline = time.Now().Add(d)
		)
		start := time.Now()
		for w := 0; w < o.Conns; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				var lat []time.Duration
				var errs int
				var first error
				for seq := 0; ; seq++ {
					if limit > 0 {
						if issued.Add(1) > int64(limit) {
							break
						}
					} else if time.Now().After(deadline) {
						break
					}
					if ctx.Err() != nil {
						break
					}
					t0 := time.Now()
					err := op(ctx, clients[w], w, seq)
					el := time.Since(t0)
					if err != nil {
						errs++
						if first == nil {
							first = err
						}
						continue
					}
					if record {
						lat = append(lat, el)
					}
				}
				mu.Lock()
				res.Lat = append(res.Lat, lat...)
				res.Errors += errs
				if res.FirstErr == nil {
					res.FirstErr = first
				}
				mu.Unlock()
			}(w)
		}
		wg.Wait()
		res.Elapsed = time.Since(start)
		res.Requests = len(res.Lat)
		slices.Sort(res.Lat)
		return res
	}
	if o.Warmup > 0 {
		if r := phase(o.Warmup, 0, false); r.Errors > 0 && r.Errors >= r.Requests {
			return nil, fmt.Errorf("loadgen: warm-up failed: %v", r.FirstErr)
		}
	}
	if o.OnMeasure != nil {
		o.OnMeasure()
	}
	return phase(o.Duration, o.Requests, true), ctx.Err()
}
