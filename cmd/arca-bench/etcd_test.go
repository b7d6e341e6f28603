package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A member's /metrics as etcd 3.7 writes it (the lines scrapeEtcd reads,
// and some it must skip).
const metricsText = `# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 12
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Range",grpc_service="etcdserverpb.KV",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"} 5
grpc_server_handled_total{grpc_code="OK",grpc_method="Watch",grpc_service="etcdserverpb.Watch",grpc_type="bidi_stream"} 3
etcd_server_proposals_committed_total 40
etcd_disk_wal_fsync_duration_seconds_bucket{le="0.001"} 7
etcd_disk_wal_fsync_duration_seconds_count 30
etcd_network_client_grpc_received_bytes_total 1000
etcd_network_client_grpc_sent_bytes_total 2.5e+03
`

func TestScrapeEtcd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(metricsText)) }))
	defer srv.Close()
	m := &proc{metrics: srv.URL}
	c, err := scrapeEtcd(context.Background(), []*proc{m, m})
	if err != nil {
		t.Fatal(err)
	}
	// Calls and traffic add up over the members; proposals and fsyncs are
	// each member's own count of the same log, so the most of any member.
	if c.rpcs["Range"] != 26 || c.rpcs["Txn"] != 10 || c.rpcs["Watch"] != 0 || c.proposals != 40 || c.fsyncs != 30 || c.in != 2000 || c.out != 5000 {
		t.Fatalf("scraped %+v", c)
	}
	d := c.minus(etcdCounters{rpcs: map[string]float64{"Range": 20, "Txn": 10}, proposals: 38, fsyncs: 29, in: 1000, out: 1000})
	if d.rpcs["Range"] != 6 || len(d.rpcs) != 1 || d.proposals != 2 || d.fsyncs != 1 || d.in != 1000 || d.out != 4000 {
		t.Fatalf("difference %+v", d)
	}
}

func TestMetricLine(t *testing.T) {
	for _, tc := range []struct {
		line, name, labels string
		value              float64
		ok                 bool
	}{
		{`up 1`, "up", "", 1, true},
		{`a{b="c d"} 2.5`, "a", `{b="c d"}`, 2.5, true},
		{`# TYPE a counter`, "", "", 0, false},
		{``, "", "", 0, false},
		{`a NaNx`, "", "", 0, false},
	} {
		name, labels, value, ok := metricLine(tc.line)
		if name != tc.name || labels != tc.labels || value != tc.value || ok != tc.ok {
			t.Errorf("metricLine(%q) = %q %q %v %v", tc.line, name, labels, value, ok)
		}
	}
	if v := label(`{grpc_code="OK",grpc_method="Range"}`, "grpc_method"); v != "Range" {
		t.Errorf("label: %q", v)
	}
	if v := label(`{grpc_code="OK"}`, "grpc_method"); v != "" {
		t.Errorf("missing label: %q", v)
	}
}
