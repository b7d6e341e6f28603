package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFileUnknownKeys: a misspelt key in --config is an error that
// names it and lists the valid keys; known keys (of any command) are applied.
func TestConfigFileUnknownKeys(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	root := newRootCmd()
	root.SetArgs([]string{"ca", "export", "--config", write(`{"dnssufix":"example.test","data":"` + dir + `"}`)})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), `"dnssufix"`) || !strings.Contains(err.Error(), "dns-suffix") {
		t.Fatalf("misspelt key: %v", err)
	}

	// A key of another command (port is serve's) is accepted by every command.
	root = newRootCmd()
	root.SetArgs([]string{"ca", "export", "--config", write(`{"port":9443,"data":"` + filepath.Join(dir, "none") + `"}`)})
	if err := root.Execute(); err != nil && strings.Contains(err.Error(), "unknown key") {
		t.Fatalf("known key refused: %v", err)
	}
}
