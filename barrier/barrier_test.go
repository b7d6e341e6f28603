package barrier_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
)

func rootKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, err := barrier.Open(context.Background(), memory.New(), rootKey(1), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestConformanceRetryEveryUpdate: the barrier's Update tolerates an inner
// backend that runs every function twice.
func TestConformanceRetryEveryUpdate(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		inner := memory.NewWithOptions(memory.Options{RetryEveryUpdate: true})
		b, err := barrier.Open(context.Background(), inner, rootKey(1), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// plain hides the capabilities of the backend it wraps.
type plain struct{ storage.Backend }

// TestCapabilitiesUnsupported: over a backend without capabilities the
// barrier reports errors.ErrUnsupported, and the suite skips those cases.
func TestCapabilitiesUnsupported(t *testing.T) {
	ctx := context.Background()
	b, err := barrier.Open(ctx, plain{memory.New()}, rootKey(1), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Revision(ctx); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Revision: %v", err)
	}
	if err := b.Watch(ctx, "", 0, func(storage.Event) error { return nil }); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Watch: %v", err)
	}
	if _, err := b.Campaign(ctx, "job"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Campaign: %v", err)
	}
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		b, err := barrier.Open(context.Background(), plain{memory.New()}, rootKey(1), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// TestWatchHidesKeyring: the keyring is written through the inner backend
// (a revision of its own) but, as for Get and Scan, a watcher of the
// barrier never sees it.
func TestWatchHidesKeyring(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := memory.New()
	b, err := barrier.Open(ctx, m, rootKey(1), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if rev, _ := b.Revision(ctx); rev != 1 {
		t.Fatalf("revision %d after the keyring was created, want 1", rev)
	}
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("s/x", []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	var got []storage.Event
	err = b.Watch(ctx, "", 0, func(e storage.Event) error {
		got = append(got, e)
		return stop
	})
	if !errors.Is(err, stop) || len(got) != 1 || got[0].Key != "s/x" || got[0].Revision != 2 {
		t.Fatalf("watch from 0: %v %+v, want only s/x at revision 2", err, got)
	}
}

func rawGet(t *testing.T, m storage.Backend, key string) []byte {
	t.Helper()
	var v []byte
	if err := m.View(context.Background(), func(r storage.Reader) error { var err error; v, err = r.Get(key); return err }); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestCiphertextAtRest(t *testing.T) {
	ctx := context.Background()
	m := memory.New()
	b, err := barrier.Open(ctx, m, rootKey(1), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("hunter2-very-secret-value")
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("s/x", secret) }); err != nil {
		t.Fatal(err)
	}
	if raw := rawGet(t, m, "s/x"); bytes.Contains(raw, secret) {
		t.Fatal("plaintext stored in the inner backend")
	}
	// The keyring itself must not contain the data key in clear: reopen with the wrong root key fails.
	if _, err := barrier.Open(ctx, m, rootKey(2), rand.Reader); err == nil {
		t.Fatal("opened the keyring with the wrong root key")
	}
	// Reopen with the right key reads the value back.
	b2, err := barrier.Open(ctx, m, rootKey(1), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	_ = b2.View(ctx, func(r storage.Reader) error { got, err = r.Get("s/x"); return err })
	if !bytes.Equal(got, secret) {
		t.Fatalf("got %q", got)
	}
}

func TestTamperAndMoveDetected(t *testing.T) {
	ctx := context.Background()
	m := memory.New()
	b, _ := barrier.Open(ctx, m, rootKey(1), rand.Reader)
	_ = b.Update(ctx, func(tx storage.Tx) error { return tx.Put("a", []byte("value-a")) })
	raw := rawGet(t, m, "a")
	// Move the ciphertext to another key.
	_ = m.Update(ctx, func(tx storage.Tx) error { return tx.Put("b", raw) })
	err := b.View(ctx, func(r storage.Reader) error { _, err := r.Get("b"); return err })
	if !errors.Is(err, barrier.ErrTampered) {
		t.Fatalf("moved ciphertext: got %v, want ErrTampered", err)
	}
	// Flip a bit.
	raw[len(raw)-1] ^= 1
	_ = m.Update(ctx, func(tx storage.Tx) error { return tx.Put("a", raw) })
	err = b.View(ctx, func(r storage.Reader) error { _, err := r.Get("a"); return err })
	if !errors.Is(err, barrier.ErrTampered) {
		t.Fatalf("flipped bit: got %v, want ErrTampered", err)
	}
}

func TestSealBlobBoundToDeploymentAndAAD(t *testing.T) {
	ctx := context.Background()
	b1, _ := barrier.Open(ctx, memory.New(), rootKey(1), rand.Reader)
	b2, _ := barrier.Open(ctx, memory.New(), rootKey(1), rand.Reader) // same root key, other keyring
	blob, err := b1.Seal([]byte("backup"), []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b1.Unseal([]byte("backup"), blob); err != nil || string(p) != "payload" {
		t.Fatalf("round trip: %q %v", p, err)
	}
	if _, err := b1.Unseal([]byte("other"), blob); !errors.Is(err, barrier.ErrTampered) {
		t.Fatalf("wrong aad: %v", err)
	}
	if _, err := b2.Unseal([]byte("backup"), blob); !errors.Is(err, barrier.ErrTampered) {
		t.Fatalf("other deployment: %v", err)
	}
}

func FuzzUnseal(f *testing.F) {
	b, _ := barrier.Open(context.Background(), memory.New(), rootKey(1), rand.Reader)
	good, _ := b.Seal([]byte("x"), []byte("hello"))
	f.Add(good)
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, ct []byte) {
		p, err := b.Unseal([]byte("x"), ct)
		if err == nil && !bytes.Equal(ct, good) && string(p) != "hello" {
			t.Fatalf("forged blob opened: %q", p)
		}
	})
}
