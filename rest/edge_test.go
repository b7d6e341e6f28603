package rest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/arcakv/arca/audit"
	"github.com/arcakv/arca/rest/internal/resttest"
	"github.com/arcakv/arca/storage"
)

// breakableSink fails every write while broken is set.
type breakableSink struct {
	mu     sync.Mutex
	broken bool
	lines  []string
}

func (s *breakableSink) Write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return errors.New("write audit.log: no space left on device")
	}
	s.lines = append(s.lines, strings.Split(strings.TrimSuffix(string(p), "\n"), "\n")...)
	return nil
}
func (s *breakableSink) Close() error { return nil }
func (s *breakableSink) set(b bool) {
	s.mu.Lock()
	s.broken = b
	s.mu.Unlock()
}

// TestAuditFailsClosed: while the audit sink fails, no request is served
// (503 ServiceUnavailable, nothing changes) and /healthz says why; once the
// sink works again serving resumes by itself, and every answer a client saw
// as served has its record.
func TestAuditFailsClosed(t *testing.T) {
	e := resttest.New(t)
	sink := &breakableSink{}
	e.Srv.Audit = audit.New(nil, sink)
	defer e.Srv.Audit.Close()

	if w := e.Call("PUT", "/secrets/before?api-version=7.5", `{"value":"v1"}`); w.Code != 200 {
		t.Fatalf("healthy: %d %s", w.Code, w.Body)
	}
	sink.set(true)
	// The first request after the failure runs, but its answer is held and
	// replaced by 503 because its record was not written.
	w := e.Call("PUT", "/secrets/during?api-version=7.5", `{"value":"v2"}`)
	if w.Code != 503 || resttest.ErrCode(t, w) != "ServiceUnavailable" || w.Header().Get("Retry-After") == "" {
		t.Fatalf("unaudited answer served: %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "v2") || w.Header().Get("x-ms-request-id") == "" {
		t.Fatalf("refusal leaks the held answer or loses its request id: %s %v", w.Body, w.Header())
	}
	// From then on nothing runs at all.
	for _, c := range []struct{ method, target, body string }{
		{"PUT", "/secrets/later?api-version=7.5", `{"value":"v3"}`},
		{"GET", "/secrets/before?api-version=7.5", ``},
		{"DELETE", "/secrets/before?api-version=7.5", ``},
	} {
		if w := e.Call(c.method, c.target, c.body); w.Code != 503 || resttest.ErrCode(t, w) != "ServiceUnavailable" {
			t.Fatalf("%s %s while the audit log fails: %d %s", c.method, c.target, w.Code, w.Body)
		}
	}
	if w := e.Healthz(); w.Code != 503 || !strings.Contains(w.Body.String(), "audit") {
		t.Fatalf("healthz while the audit log fails: %d %s", w.Code, w.Body)
	}

	sink.set(false)
	// The next request's record is written (it is the probe); then serving resumes.
	w = e.Call("GET", "/secrets/before?api-version=7.5", "")
	if w.Code != 503 && w.Code != 200 {
		t.Fatalf("probe: %d %s", w.Code, w.Body)
	}
	if w := e.Call("GET", "/secrets/before?api-version=7.5", ""); w.Code != 200 {
		t.Fatalf("after recovery: %d %s", w.Code, w.Body)
	}
	if w := e.Call("GET", "/secrets/later?api-version=7.5", ""); w.Code != 404 {
		t.Fatalf("a write refused while the audit log failed was applied: %d %s", w.Code, w.Body)
	}
	if w := e.Healthz(); w.Code != 200 {
		t.Fatalf("healthz after recovery: %d %s", w.Code, w.Body)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	for _, l := range sink.lines {
		if strings.Contains(l, `"SecretSet"`) && (strings.Contains(l, "/secrets/later") || strings.Contains(l, "/secrets/during")) {
			t.Fatalf("a record of the failure window survived: %s", l)
		}
	}
}

// TestStoreUnavailable: a store that cannot be reached (a lost etcd
// quorum) is 503 ServiceUnavailable with Retry-After, for reads and
// writes alike, never 500 or a missing object; /healthz says so while
// the store does not answer, and both recover with it.
func TestStoreUnavailable(t *testing.T) {
	e := resttest.New(t)
	down := false
	e.Srv.StoreHealth = func(context.Context) error {
		if down {
			return storage.ErrUnavailable
		}
		return nil
	}
	if w := e.Call("PUT", "/secrets/s?api-version=7.5", `{"value":"v1"}`); w.Code != 200 {
		t.Fatalf("healthy: %d %s", w.Code, w.Body)
	}
	e.Faults.FailWith(fmt.Errorf("etcd: no leader: %w", storage.ErrUnavailable))
	e.Faults.FailReads("s/")
	e.Faults.FailWrites("s/")
	down = true
	for _, c := range []struct{ method, target, body string }{
		{"GET", "/secrets/s?api-version=7.5", ``},
		{"PUT", "/secrets/s?api-version=7.5", `{"value":"v2"}`},
	} {
		w := e.Call(c.method, c.target, c.body)
		if w.Code != 503 || resttest.ErrCode(t, w) != "ServiceUnavailable" || w.Header().Get("Retry-After") == "" {
			t.Fatalf("%s with the store unreachable: %d %s %v", c.method, w.Code, w.Body, w.Header())
		}
	}
	if w := e.Healthz(); w.Code != 503 || !strings.Contains(w.Body.String(), "store") {
		t.Fatalf("healthz with the store unreachable: %d %s", w.Code, w.Body)
	}
	e.Faults.FailReads("")
	e.Faults.FailWrites("")
	down = false
	if w := e.Call("GET", "/secrets/s?api-version=7.5", ""); w.Code != 200 || !strings.Contains(w.Body.String(), `"v1"`) {
		t.Fatalf("after recovery: %d %s", w.Code, w.Body)
	}
	if w := e.Healthz(); w.Code != 200 {
		t.Fatalf("healthz after recovery: %d %s", w.Code, w.Body)
	}
}
