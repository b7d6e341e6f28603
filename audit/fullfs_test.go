package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts it
// when the test ends. It skips unless the test runs as root.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// TestFileSinkOnAFullFilesystem: on a real full filesystem every record is
// an error to its caller, the file never holds a torn line, and writing
// resumes by itself once space is freed.
func TestFileSinkOnAFullFilesystem(t *testing.T) {
	dir := mountTmpfs(t, 64<<10)
	sink, err := OpenFile(filepath.Join(dir, "audit.log"), 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	l := New(nil, sink)
	defer l.Close()
	big := strings.Repeat("x", 3000) // several pages per record, so a write can end part-way
	var failed error
	written := 0
	for i := 0; i < 1000 && failed == nil; i++ {
		failed = l.Record(&Event{OperationName: "SecretSet", CorrelationID: "r" + strconv.Itoa(i), Properties: map[string]any{"pad": big}})
		if failed == nil {
			written++
		}
	}
	if failed == nil {
		t.Fatal("a 64 KiB filesystem took 3 MB of records")
	}
	if l.Err() == nil {
		t.Fatal("Err is nil on a full filesystem")
	}
	if err := l.Record(&Event{OperationName: "SecretSet", Properties: map[string]any{"pad": big}}); err == nil {
		t.Fatal("a record on a full filesystem was acknowledged")
	}
	checkLines(t, filepath.Join(dir, "audit.log"), written)

	// Free the space: the next record is written and the log is whole.
	if err := os.Truncate(filepath.Join(dir, "audit.log"), 0); err != nil {
		t.Fatal(err)
	}
	sink.size = 0 // an operator truncating the log is outside the sink's knowledge; reopen as a restart would
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "after"}); err != nil {
		t.Fatalf("record after space was freed: %v", err)
	}
	if l.Err() != nil {
		t.Fatalf("Err after recovery: %v", l.Err())
	}
	checkLines(t, filepath.Join(dir, "audit.log"), 1)
}

// checkLines asserts that path holds exactly n whole JSON lines.
func checkLines(t *testing.T, path string, n int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("torn last line: %q", b[max(0, len(b)-40):])
	}
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(b) == 0 {
		lines = nil
	}
	if len(lines) != n {
		t.Fatalf("%d lines, want %d", len(lines), n)
	}
	for _, line := range lines {
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("bad line: %v", err)
		}
	}
}
