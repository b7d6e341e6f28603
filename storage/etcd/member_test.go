package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// TestMemberLoss: with one of three members killed, the backend keeps
// reading and writing through the others (a call may fail with
// storage.ErrUnavailable while the client moves on, never otherwise);
// after the member restarts, everything acknowledged is there.
func TestMemberLoss(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, Args: recommended})
	b := open(t, cluster, "loss/", nil)
	ctx := context.Background()
	acked := map[string]string{}
	write := func(i int) {
		t.Helper()
		k, v := fmt.Sprintf("k%03d", i), fmt.Sprintf("v%d", i)
		for deadline := time.Now().Add(30 * time.Second); ; {
			err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put(k, []byte(v)) })
			if err == nil {
				acked[k] = v
				return
			}
			if !errors.Is(err, storage.ErrUnavailable) || time.Now().After(deadline) {
				t.Fatalf("write %s: %v", k, err)
			}
		}
	}
	for i := range 50 {
		write(i)
	}
	cluster.Members[0].Kill()
	for i := 50; i < 100; i++ {
		write(i)
	}
	cluster.Restart(cluster.Members[0])
	for i := 100; i < 120; i++ {
		write(i)
	}
	got := map[string]string{}
	if err := b.View(ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, v []byte) bool { got[k] = string(v); return true })
	}); err != nil {
		t.Fatal(err)
	}
	for k, v := range acked {
		if got[k] != v {
			t.Errorf("%s = %q, acknowledged %q", k, got[k], v)
		}
	}
	if len(got) != len(acked) {
		t.Errorf("%d keys stored, %d acknowledged", len(got), len(acked))
	}
}

// TestQuotaExceeded: a cluster out of space (its --quota-backend-bytes)
// refuses writes with storage.ErrUnavailable, changes nothing, and keeps
// serving reads of what is stored.
func TestQuotaExceeded(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: append([]string{"--quota-backend-bytes=16777216"}, recommended...)})
	b := open(t, cluster, "quota/", nil)
	ctx := context.Background()
	put(t, b, "first", "kept")
	var err error
	for i := 0; i < 200 && err == nil; i++ {
		err = b.Update(ctx, func(tx storage.Tx) error { return tx.Put(fmt.Sprintf("big/%d", i), make([]byte, 1<<20)) })
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("writing past the quota: %v, want ErrUnavailable", err)
	}
	if err := b.View(ctx, func(r storage.Reader) error {
		v, err := r.Get("first")
		if err == nil && string(v) != "kept" {
			err = fmt.Errorf("first = %q", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
