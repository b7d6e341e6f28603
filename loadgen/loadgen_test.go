package loadgen

import (
	"context"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
)

// TestPortsRoundRobin: with Ports, worker i's connection goes to
// Ports[i%len(Ports)], whatever host the URL names; OnMeasure runs once,
// after the warm-up.
func TestPortsRoundRobin(t *testing.T) {
	var hits [2]atomic.Int64
	var ports []int
	roots := x509.NewCertPool()
	for i := range hits {
		srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if w, _ := strconv.Atoi(r.Header.Get("Worker")); w%len(hits) != i {
				t.Errorf("worker %d reached server %d", w, i)
			}
			hits[i].Add(1)
		}))
		defer srv.Close()
		roots.AddCert(srv.Certificate())
		ports = append(ports, srv.Listener.Addr().(*net.TCPAddr).Port)
	}
	var measured atomic.Int64
	o := Options{Conns: 4, Requests: 40, Ports: ports, RootCAs: roots, OnMeasure: func() { measured.Add(1) }}
	res, err := Run(context.Background(), o, func(ctx context.Context, c *http.Client, worker, _ int) error {
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://example.com/", nil) // the test certificate's name
		req.Header.Set("Worker", strconv.Itoa(worker))
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		Drain(resp)
		return nil
	})
	if err != nil || res.Errors > 0 {
		t.Fatalf("run: %v, %d errors (%v)", err, res.Errors, res.FirstErr)
	}
	if res.Requests != 40 || hits[0].Load()+hits[1].Load() != 40 || hits[0].Load() == 0 || hits[1].Load() == 0 {
		t.Fatalf("%d requests, hits %d / %d", res.Requests, hits[0].Load(), hits[1].Load())
	}
	if measured.Load() != 1 {
		t.Fatalf("OnMeasure ran %d times", measured.Load())
	}
}
