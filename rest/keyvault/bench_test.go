package keyvault_test

import (
	"testing"

	"github.com/arcakv/arca/rest/internal/resttest"
)

// BenchmarkGetSecretHandler is the handler cost of GET /secrets/{name}/
// without TLS: routing, token check (cached), storage, JSON.
func BenchmarkGetSecretHandler(b *testing.B) {
	e := resttest.New(b)
	e.Call("PUT", "/secrets/bench?api-version=7.4", `{"value":"`+string(make([]byte, 0))+`some-value-of-modest-size"}`)
	b.ReportAllocs()
	for b.Loop() {
		if w := e.Call("GET", "/secrets/bench/?api-version=7.4", ""); w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
