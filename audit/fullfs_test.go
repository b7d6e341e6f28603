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

// TestFileSinkOnAFullFilesystem: on a real filesystem that fills up, the
// sink's reserve still takes the records of requests already running while
// the logger reports the failure (so new requests are refused); records that
// fail are errors to their callers, the file never holds a torn line, and
// writing resumes by itself once space is freed.
func TestFileSinkOnAFullFilesystem(t *testing.T) {
	dir := mountTmpfs(t, 256<<10)
	sink, err := OpenFile(filepath.Join(dir, "audit.log"), 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	sink.Reserve = 32 << 10
	sink.reserve()
	l := New(nil, sink)
	defer l.Close()
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "first"}); err != nil || l.Err() != nil {
		t.Fatalf("healthy: %v %v", err, l.Err())
	}
	fill(t, filepath.Join(dir, "filler"))

	big := strings.Repeat("x", 3000) // several pages per record, so a write can end part-way
	written, reportedWhileWriting := 1, false
	var failed error
	for i := 0; i < 1000 && failed == nil; i++ {
		failed = l.Record(&Event{OperationName: "SecretSet", CorrelationID: "r" + strconv.Itoa(i), Properties: map[string]any{"pad": big}})
		if failed == nil {
			written++
			reportedWhileWriting = reportedWhileWriting || l.Err() != nil
		}
	}
	if !reportedWhileWriting {
		t.Fatal("the logger never reported the full disk while the reserve still took records")
	}
	if failed == nil {
		t.Fatal("records never failed on a full filesystem")
	}
	if l.Err() == nil {
		t.Fatal("Err is nil on a full filesystem")
	}
	checkLines(t, filepath.Join(dir, "audit.log"), written)

	// Free the space: the next record is written, the log is whole and healthy.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "after"}); err != nil {
		t.Fatalf("record after space was freed: %v", err)
	}
	if l.Err() != nil {
		t.Fatalf("Err after recovery: %v", l.Err())
	}
	checkLines(t, filepath.Join(dir, "audit.log"), written+1)
}

// TestFileSinkReopensAfterAFailedRotation: a rotation that cannot open the
// new file (no inode left) is an error for that write only; once the cause
// is gone the sink reopens by itself.
func TestFileSinkReopensAfterAFailedRotation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	// Three inodes: the root directory, audit.log and one more.
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,nr_inodes=3", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	sink, err := OpenFile(filepath.Join(dir, "audit.log"), 4096, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := New(nil, sink)
	defer l.Close()
	blocker := filepath.Join(dir, "blocker") // takes the last inode
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	pad := map[string]any{"pad": strings.Repeat("y", 1500)}
	var failed error
	for i := 0; i < 10 && failed == nil; i++ { // the third record rotates: audit.log -> .1, then no inode for a new file
		failed = l.Record(&Event{OperationName: "SecretGet", CorrelationID: "r" + strconv.Itoa(i), Properties: pad})
	}
	if failed == nil {
		t.Fatal("rotation without a free inode did not fail")
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(&Event{OperationName: "SecretGet", CorrelationID: "after", Properties: pad}); err != nil {
		t.Fatalf("after an inode was freed: %v", err)
	}
}

// fill writes a file until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
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
