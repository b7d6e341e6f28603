package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

func put(t *testing.T, b storage.Backend, kv ...string) {
	t.Helper()
	if err := b.Update(context.Background(), func(tx storage.Tx) error {
		for i := 0; i < len(kv); i += 2 {
			var err error
			if kv[i+1] == "" {
				err = tx.Delete(kv[i])
			} else {
				err = tx.Put(kv[i], []byte(kv[i+1]))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestConflictsRerun: an Update whose reads another node changes before it
// commits runs again and sees the change, for each kind of read: a key
// read and then changed, a missing key created, a key appearing in a
// scanned range, a scanned key deleted. Writes to keys it did not read do
// not make it run again.
func TestConflictsRerun(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	cases := []struct {
		name  string
		read  func(storage.Tx) (string, error)
		other []string // what node B writes during node A's first run
		runs  int
	}{
		{"GetChanged", func(tx storage.Tx) (string, error) { v, err := tx.Get("k"); return string(v), err }, []string{"k", "2"}, 2},
		{"GetMissingCreated", func(tx storage.Tx) (string, error) {
			_, err := tx.Get("new")
			if errors.Is(err, storage.ErrNotFound) {
				return "missing", nil
			}
			return "present", err
		}, []string{"new", "x"}, 2},
		{"ScanInsert", scanAll, []string{"s/b2", "x"}, 2},
		{"ScanDelete", scanAll, []string{"s/b", ""}, 2},
		{"UnrelatedWrite", scanAll, []string{"t/other", "x", "k", "9"}, 1},
		{"ScanStoppedEarly", func(tx storage.Tx) (string, error) {
			var first string
			err := tx.Scan("s/", "", func(k string, _ []byte) bool { first = k; return false })
			return first, err
		}, []string{"s/z", "x"}, 1},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("c%d/", i)
			a := open(t, cluster, prefix, nil)
			b := open(t, cluster, prefix, nil)
			put(t, a, "k", "1", "s/a", "1", "s/b", "1", "s/c", "1")
			runs := 0
			var seen string
			if err := a.Update(context.Background(), func(tx storage.Tx) error {
				runs++
				v, err := c.read(tx)
				if err != nil {
					return err
				}
				seen = v
				if runs == 1 {
					put(t, b, c.other...)
				}
				return tx.Put("result", []byte(v))
			}); err != nil {
				t.Fatal(err)
			}
			if runs != c.runs {
				t.Fatalf("ran %d times, want %d (saw %q)", runs, c.runs, seen)
			}
			var got []byte
			if err := a.View(context.Background(), func(r storage.Reader) error {
				var err error
				got, err = r.Get("result")
				return err
			}); err != nil || string(got) != seen {
				t.Fatalf("result %q, %v; the last run saw %q", got, err, seen)
			}
		})
	}
}

func scanAll(tx storage.Tx) (string, error) {
	var keys []string
	err := tx.Scan("s/", "", func(k string, _ []byte) bool { keys = append(keys, k); return true })
	return strings.Join(keys, ","), err
}

// TestPrefixesIsolate: two deployments under different prefixes of one
// cluster see nothing of each other, neither in reads nor in watches.
func TestPrefixesIsolate(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	a := open(t, cluster, "one/", nil)
	b := open(t, cluster, "two/", nil)
	put(t, a, "k", "a")
	err := b.View(context.Background(), func(r storage.Reader) error {
		if _, err := r.Get("k"); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("b sees a's key: %v", err)
		}
		return r.Scan("", "", func(k string, _ []byte) bool { t.Errorf("b scans %s", k); return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	if rev, err := b.Revision(context.Background()); err != nil || rev != 0 {
		t.Fatalf("b's revision %d, %v; want 0", rev, err)
	}
}

// TestTooLarge: an Update beyond the configured limits is refused with
// storage.ErrTooLarge before anything is sent, and one beyond the
// cluster's own limits (configured higher than the cluster allows) is
// refused by etcd with the same error; nothing is written either way.
func TestTooLarge(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{}) // etcd's defaults: 128 ops, 1.5 MiB
	for _, c := range []struct {
		name string
		mod  func(*etcd.Config)
		keys int
		size int
	}{
		{"OpsConfigured", func(c *etcd.Config) { c.MaxTxnOps = 10 }, 20, 1},
		{"BytesConfigured", func(c *etcd.Config) { c.MaxRequestBytes = 64 << 10 }, 1, 100 << 10},
		{"OpsCluster", func(c *etcd.Config) { c.MaxTxnOps = 1000 }, 200, 1},
		{"BytesCluster", func(c *etcd.Config) { c.MaxRequestBytes = 8 << 20 }, 1, 3 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := open(t, cluster, c.name+"/", c.mod)
			err := b.Update(context.Background(), func(tx storage.Tx) error {
				for i := range c.keys {
					if err := tx.Put(fmt.Sprintf("k%04d", i), make([]byte, c.size)); err != nil {
						return err
					}
				}
				return nil
			})
			if !errors.Is(err, storage.ErrTooLarge) {
				t.Fatalf("got %v, want ErrTooLarge", err)
			}
			if rev, err := b.Revision(context.Background()); err != nil || rev != 0 {
				t.Fatalf("revision %d, %v after a refused Update", rev, err)
			}
		})
	}
}

// TestTLSClientCertificates: a cluster that requires client certificates
// serves a backend that presents one and refuses one that does not.
func TestTLSClientCertificates(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{TLS: true, Args: recommended})
	b := open(t, cluster, "tls/", nil)
	put(t, b, "k", "v")
	c := etcd.Config{Endpoints: cluster.Endpoints(), CACert: cluster.CACert, DialTimeout: 2 * 1e9}
	if nb, err := etcd.Open(context.Background(), c); err == nil {
		nb.Close()
		t.Fatal("opened a client-certificate cluster without a certificate")
	}
}

// TestCoarseConditionOverLimits: an Update that read more keys than one
// request may compare still detects a conflicting write (the fence).
func TestCoarseConditionOverLimits(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Args: recommended})
	small := func(c *etcd.Config) { c.MaxTxnOps = 5 }
	a := open(t, cluster, "coarse/", small)
	b := open(t, cluster, "coarse/", small)
	put(t, a, "s/a", "1", "s/b", "1", "s/c", "1")
	put(t, a, "s/d", "1", "s/e", "1", "s/f", "1") // a scan reads 6 keys: more than 5 comparisons
	runs := 0
	if err := a.Update(context.Background(), func(tx storage.Tx) error {
		runs++
		v, err := scanAll(tx)
		if runs == 1 {
			put(t, b, "unrelated", "x") // any commit moves the fence
		}
		if err != nil {
			return err
		}
		return tx.Put("result", []byte(v))
	}); err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("ran %d times, want 2 (the coarse condition must fail after any commit)", runs)
	}
}

// TestReadsAreLinearizable: a write acknowledged through one node is seen
// by the very next read through another (reads come from each node's
// replica, which must first catch up with the last commit anywhere).
func TestReadsAreLinearizable(t *testing.T) {
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 3, Args: recommended})
	a := open(t, cluster, "lin/", nil)
	b := open(t, cluster, "lin/", nil)
	ctx := context.Background()
	for i := range 200 {
		w, r := a, b
		if i%2 == 1 {
			w, r = b, a
		}
		want := fmt.Sprint(i)
		put(t, w, "k", want, fmt.Sprintf("s/%03d", i), want)
		// First an Update's outcome: one that reads only, and one that fails
		// on what it read, must not answer from a replica behind the write.
		if err := r.Update(ctx, func(tx storage.Tx) error {
			v, err := tx.Get("k")
			if err == nil && string(v) != want {
				err = fmt.Errorf("write %d: an Update on the other node read k=%q", i, v)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var got string
		var n int
		if err := r.View(ctx, func(rd storage.Reader) error {
			v, err := rd.Get("k")
			got = string(v)
			n = 0
			if err == nil {
				err = rd.Scan("s/", "", func(string, []byte) bool { n++; return true })
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got != want || n != i+1 {
			t.Fatalf("write %d: the other node read k=%q and %d scanned keys", i, got, n)
		}

	}
}
