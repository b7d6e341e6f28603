package etcdtest_test

import (
	"testing"
	"time"

	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// TestLeaderKillRestart: the leader is found, killed by PID, another member
// takes over, and the killed member rejoins on its data directory.
func TestLeaderKillRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three etcd processes")
	}
	c := etcdtest.Start(t, etcdtest.Options{Members: 3, TLS: true})
	old, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	if old.PID() == 0 || !old.Running() {
		t.Fatalf("leader %s: not running", old.Name)
	}
	old.Kill()
	if old.Running() || old.PID() != 0 {
		t.Fatalf("%s still runs after Kill", old.Name)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := c.Leader()
		if err == nil {
			if m == old {
				t.Fatalf("the killed member %s leads", m.Name)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new leader within 30s: %v", err)
		}
	}
	c.Restart(old)
	if !old.Running() {
		t.Fatalf("%s not running after Restart", old.Name)
	}
	if _, err := c.Leader(); err != nil {
		t.Fatal(err)
	}
}
