package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
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

// TestLeaderKilledMidCommit: writers increment counters (read, add one,
// write) while etcd's leader is killed. Commits in flight then are lost by
// raft or not; the backend sends them again, and each commit's marker lets
// one try at most commit. Every counter must equal its acknowledged
// increments, give or take the increments that failed (their outcome is
// unknown): never more (an increment applied twice), never fewer (an
// acknowledged one lost).
func TestLeaderKilledMidCommit(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, Args: recommended})
	b := open(t, cluster, "kill/", nil)
	ctx := context.Background()
	const writers = 8
	acked, failed := make([]int, writers), make([]int, writers)
	increment := func(w int) error {
		return b.Update(ctx, func(tx storage.Tx) error {
			k := fmt.Sprintf("counter/%d", w)
			n := 0
			if v, err := tx.Get(k); err == nil {
				n, _ = strconv.Atoi(string(v))
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			return tx.Put(k, []byte(strconv.Itoa(n+1)))
		})
	}
	leader, err := cluster.Leader()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := 0; i < 400; i++ {
				if i == 50 && w == 0 {
					leader.Kill()
				}
				if err := increment(w); err != nil {
					failed[w]++
				} else {
					acked[w]++
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	total, lost := 0, 0
	if err := b.View(ctx, func(r storage.Reader) error {
		for w := range writers {
			v, err := r.Get(fmt.Sprintf("counter/%d", w))
			if err != nil {
				return err
			}
			n, _ := strconv.Atoi(string(v))
			if n < acked[w] || n > acked[w]+failed[w] {
				t.Errorf("writer %d: counter %d after %d acknowledged and %d failed increments", w, n, acked[w], failed[w])
			}
			total += acked[w]
			lost += failed[w]
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d increments acknowledged, %d failed across the leader's kill", total, lost)
}

// TestLostAnswerAppliedOnce: a commit goes through but its answer is lost
// (the member died before answering); the backend sends it again and the
// commit's marker shows it went through: the increment is acknowledged
// and applied once, not twice, for an Update that read what it changed and
// for one that only wrote.
func TestLostAnswerAppliedOnce(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	b := open(t, cluster, "lost/", nil)
	ctx := context.Background()
	put(t, b, "n", "0")
	lost := 0
	etcd.LoseAnswers(b, func() bool { lost++; return lost == 1 })
	if err := b.Update(ctx, func(tx storage.Tx) error {
		v, err := tx.Get("n")
		if err != nil {
			return err
		}
		n, _ := strconv.Atoi(string(v))
		return tx.Put("n", []byte(strconv.Itoa(n+1)))
	}); err != nil {
		t.Fatal(err)
	}
	lost = 0
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("blind", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	etcd.LoseAnswers(b, nil)
	rev, err := b.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.View(ctx, func(r storage.Reader) error {
		v, err := r.Get("n")
		if err == nil && string(v) != "1" {
			err = fmt.Errorf("n = %s after one acknowledged increment", v)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Three commits in all (the seed, the increment, the blind write): a
	// second try that went through too would be a fourth revision of the fence.
	var revs []int64
	w := make(chan struct{})
	go func() {
		defer close(w)
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_ = b.Watch(wctx, "", 0, func(e storage.Event) error {
			revs = append(revs, e.Revision)
			if e.Revision >= rev {
				cancel()
			}
			return nil
		})
	}()
	<-w
	if len(revs) != 3 {
		t.Fatalf("events at revisions %v, want 3 commits", revs)
	}
}

// TestMarkersSwept: every commit leaves a marker beside the data; the
// sweep removes those older than their lifetime, and only those.
func TestMarkersSwept(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	b := open(t, cluster, "sweep/", nil)
	put(t, b, "a", "1")
	put(t, b, "b", "2")
	raw, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	markers := func() int64 {
		resp, err := raw.Get(context.Background(), "sweep/n/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	if n := markers(); n != 2 {
		t.Fatalf("%d markers after 2 commits", n)
	}
	if err := etcd.SweepMarkers(b, time.Now()); err != nil || markers() != 2 {
		t.Fatalf("a sweep now removed fresh markers (%v): %d left", err, markers())
	}
	if err := etcd.SweepMarkers(b, time.Now().Add(11*time.Minute)); err != nil || markers() != 0 {
		t.Fatalf("a sweep 11 minutes later left %d markers (%v)", markers(), err)
	}
	if err := b.View(context.Background(), func(r storage.Reader) error {
		_, err := r.Get("b")
		return err
	}); err != nil {
		t.Fatalf("the sweep touched the data: %v", err)
	}
}
