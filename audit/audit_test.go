package audit

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRecordShapeAndRedaction(t *testing.T) {
	var buf bytes.Buffer
	l := New(WriterSink{&buf})
	u, _ := url.Parse("https://v.vault.localhost:8443/secrets/x?api-version=7.4&client_secret=hunter2&code=abc")
	err := l.Record(&Event{Time: time.Unix(1, 0).UTC(), OperationName: "SecretGet", ResourceID: "/subscriptions/s/vaults/v",
		ResultType: ResultType(403), ResultSignature: "Forbidden", CallerIPAddress: "127.0.0.1", CorrelationID: "c",
		Identity: &Identity{Claim: map[string]string{"oid": "o"}}, Properties: map[string]any{"requestUri": RedactURI(u), "httpStatusCode": 403}})
	if err != nil {
		t.Fatal(err)
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
	l := New(s)
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
