package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRecordShapeAndRedaction(t *testing.T) {
	var buf bytes.Buffer
	l := New(nil, WriterSink{&buf})
	u, _ := url.Parse("https://v.vault.localhost:8443/secrets/x?api-version=7.4&client_secret=hunter2&code=abc")
	err := l.Record(&Event{Time: time.Unix(1, 0).UTC(), OperationName: "SecretGet", ResourceID: "/subscriptions/s/vaults/v",
		ResultType: ResultType(403), ResultSignature: "Forbidden", CallerIPAddress: "127.0.0.1", CorrelationID: "c",
		Identity: &Identity{Claim: map[string]string{"oid": "o"}}, Properties: map[string]any{"requestUri": RedactURI(u), "httpStatusCode": 403}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil { // Close writes what is queued
		t.Fatal(err)
	}
	if err := l.Record(&Event{}); err != ErrClosed {
		t.Fatalf("record after close: %v", err)
	}
	line := buf.String()
	if strings.Contains(line, "hunter2") || strings.Contains(line, "code=abc") {
		t.Fatalf("credential in audit line: %s", line)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "category", "operationName", "resourceId", "resultType", "durationMs", "callerIpAddress", "correlationId", "identity", "properties"} {
		if _, ok := m[k]; !ok {
			t.Errorf("missing %s in %s", k, line)
		}
	}
	if m["category"] != "AuditEvent" || m["resultType"] != "Forbidden" {
		t.Fatalf("%s", line)
	}
}

// TestRedactPercentEncodedNames: a credential parameter whose name is
// percent-encoded is the same parameter once decoded, and is redacted too.
func TestRedactPercentEncodedNames(t *testing.T) {
	for _, raw := range []string{
		"https://h/x?api-version=7.6&client%5Fsecret=hunter2",
		"https://h/x?%63ode=hunter2",
		"https://h/x?PASSWORD=hunter2&%zz",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := RedactURI(u); strings.Contains(got, "hunter2") {
			t.Errorf("RedactURI(%s) = %s", raw, got)
		}
	}
	u, _ := url.Parse("https://h/secrets?api-version=7.6&q=a%3D%3D")
	if got := RedactURI(u); got != u.String() {
		t.Errorf("a query without credentials changed: %s", got)
	}
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	s, err := OpenFile(path, 300, 2)
	if err != nil {
		t.Fatal(err)
	}
	l := New(nil, s)
	for i := 0; i < 20; i++ {
		if err := l.Record(&Event{OperationName: "SecretGet", Properties: map[string]any{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + ".1", path + ".2"} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, st.Mode())
		}
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Fatal("kept more than 2 rotated files")
	}
}

// FuzzAppendJSON: the hand-written encoder writes exactly what
// encoding/json writes for the same event.
func FuzzAppendJSON(f *testing.F) {
	f.Add("SecretGet", "https://v.vault.localhost/secrets/a?api-version=7.4", "oid-1", int64(3), 200, true, "")
	f.Add("<&>\"\\\n\u2028", "\xff\xfe", "é", int64(-1), 0, false, "x")
	f.Fuzz(func(t *testing.T, op, uri, oid string, ms int64, status int, hit bool, desc string) {
		e := &Event{Time: time.Unix(1_800_000_000, int64(status)*1000).UTC(), Category: "AuditEvent", OperationName: op,
			OperationVersion: desc, ResourceID: uri, ResultType: ResultType(status), ResultSignature: desc, ResultDescription: desc,
			DurationMs: ms, CallerIPAddress: "127.0.0.1", CorrelationID: oid,
			Properties: map[string]any{"requestUri": uri, "httpStatusCode": status, "isAccessPolicyMatch": hit, op: desc, "n": ms, "f": 1.5}}
		if status%2 == 0 {
			e.Identity = &Identity{Claim: map[string]string{"oid": oid, "appid": op, "tid": desc}}
		}
		if status%3 == 0 {
			e.Properties = nil
		}
		want, err := json.Marshal(e)
		if err != nil {
			t.Skip()
		}
		if got := e.AppendJSON(nil); string(got) != string(want) {
			t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got, want)
		}
	})
}

// slowSink counts its writes and holds each one a moment, so concurrent
// records pile up behind the writer.
type slowSink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	closed bool
}

func (s *slowSink) Write(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	runtime.Gosched()
	s.writes++
	s.buf.Write(b)
	return nil
}
func (s *slowSink) Close() error { s.mu.Lock(); s.closed = true; s.mu.Unlock(); return nil }

// TestLoggerCombinesConcurrentRecords: every record of many concurrent
// callers is written whole, once, on its own line, and Close returns after
// the last of them.
func TestLoggerCombinesConcurrentRecords(t *testing.T) {
	sink := &slowSink{}
	l := New(nil, sink)
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: strconv.Itoa(i), Properties: map[string]any{"httpStatusCode": 200}}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSuffix(sink.buf.String(), "\n"), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("torn line %q: %v", line, err)
		}
		if seen[e.CorrelationID] {
			t.Fatalf("record %s written twice", e.CorrelationID)
		}
		seen[e.CorrelationID] = true
	}
	if len(seen) != n || !sink.closed {
		t.Fatalf("%d of %d records written; closed %v", len(seen), n, sink.closed)
	}
	t.Logf("%d records in %d writes", n, sink.writes)
}

// panickySink fails every write by panicking.
type panickySink struct{}

func (panickySink) Write([]byte) error { panic("disk on fire") }
func (panickySink) Close() error       { return nil }

// TestLoggerSurvivesASinkPanic: a panicking sink is the error of the
// record it failed to write, and Close still returns.
func TestLoggerSurvivesASinkPanic(t *testing.T) {
	l := New(nil, panickySink{})
	err := l.Record(&Event{OperationName: "SecretGet"})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("sink panic not reported: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// switchSink fails while broken is set.
type switchSink struct {
	mu     sync.Mutex
	broken bool
	buf    bytes.Buffer
}

func (s *switchSink) Write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken {
		return errors.New("no space left on device")
	}
	s.buf.Write(p)
	return nil
}
func (s *switchSink) Close() error { return nil }
func (s *switchSink) set(broken bool) {
	s.mu.Lock()
	s.broken = broken
	s.mu.Unlock()
}

// TestLoggerFailsClosedAndRecovers: every record of a failing sink returns
// the sink's error to its caller (so the request is not served), Err reports
// the failure, one line is logged per transition, and the first record the
// sink takes again clears it.
func TestLoggerFailsClosedAndRecovers(t *testing.T) {
	var logBuf bytes.Buffer
	sink := &switchSink{}
	l := New(slog.New(slog.NewTextHandler(&logBuf, nil)), sink)
	defer l.Close()
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "ok-1"}); err != nil || l.Err() != nil {
		t.Fatalf("healthy sink: %v %v", err, l.Err())
	}
	sink.set(true)
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Record(&Event{OperationName: "SecretSet", CorrelationID: "lost"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "no space") {
			t.Fatalf("record %d of a failing sink acknowledged: %v", i, err)
		}
	}
	if l.Err() == nil {
		t.Fatal("Err is nil while the sink fails")
	}
	sink.set(false)
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "ok-2"}); err != nil || l.Err() != nil {
		t.Fatalf("recovered sink: %v %v", err, l.Err())
	}
	if got := sink.buf.String(); strings.Contains(got, "lost") || !strings.Contains(got, "ok-2") {
		t.Fatalf("sink content: %s", got)
	}
	logged := logBuf.String()
	if strings.Count(logged, "audit log cannot be written") != 1 || strings.Count(logged, "audit log writable again") != 1 {
		t.Fatalf("transition log lines: %s", logged)
	}
}

// TestLoggerHugeRecordDoesNotAlias: after a record larger than the reuse
// bound, concurrent records still come out whole.
func TestLoggerHugeRecordDoesNotAlias(t *testing.T) {
	sink := &slowSink{}
	l := New(nil, sink)
	_ = l.Record(&Event{OperationName: "VaultRequest", Properties: map[string]any{"requestUri": strings.Repeat("a", 2<<20)}})
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = l.Record(&Event{OperationName: "SecretGet", CorrelationID: strconv.Itoa(i)})
		}()
	}
	wg.Wait()
	l.Close()
	lines := strings.Split(strings.TrimSuffix(sink.buf.String(), "\n"), "\n")
	if len(lines) != 501 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, line := range lines {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("torn line (%d bytes): %v", len(line), err)
		}
	}
}

// blockingSink hangs in Write until released.
type blockingSink struct{ release chan struct{} }

func (s *blockingSink) Write([]byte) error { <-s.release; return nil }
func (s *blockingSink) Close() error       { return nil }

// TestLoggerHangingSink: a sink that hangs costs a record at most the
// Logger's Timeout (ErrStalled, so the request is refused), Err reports the
// stall for the requests that follow, and Close does not hang either.
func TestLoggerHangingSink(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	l := New(nil, sink)
	l.Timeout = 50 * time.Millisecond
	if err := l.Record(&Event{OperationName: "SecretGet"}); !errors.Is(err, ErrStalled) {
		t.Fatalf("record on a hanging sink: %v", err)
	}
	if !errors.Is(l.Err(), ErrStalled) {
		t.Fatalf("Err while the sink hangs: %v", l.Err())
	}
	if err := l.Close(); !errors.Is(err, ErrStalled) {
		t.Fatalf("Close with a hanging sink: %v", err)
	}
	close(sink.release)
}
