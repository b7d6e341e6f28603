package rest_test

import "testing"

// BenchmarkGetSecretHandler is the handler cost of GET /secrets/{name}/
// without TLS: routing, token check (cached), storage, JSON.
func BenchmarkGetSecretHandler(b *testing.B) {
	e := newEnv(b)
	e.call("PUT", "/secrets/bench?api-version=7.4", `{"value":"`+string(make([]byte, 0))+`some-value-of-modest-size"}`)
	b.ReportAllocs()
	for b.Loop() {
		if w := e.call("GET", "/secrets/bench/?api-version=7.4", ""); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
