package resttest

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

// Authority is the token service origin of every test deployment.
const Authority = "https://localhost:8443"

// Identity is what the tests of every plane start from: a barrier over
// memory (behind a FaultStore), a clock at 1,800,000,000 (2027-01-15), a
// tenant and its token keys.
type Identity struct {
	Faults *FaultStore
	Store  *barrier.Barrier
	Clock  *arca.ManualClock
	Dir    *identity.Directory
	Tenant *identity.Tenant
	Tokens *identity.Tokens
}

// NewIdentity builds an Identity; any error fails t.
func NewIdentity(t testing.TB) *Identity {
	t.Helper()
	ctx := context.Background()
	id := &Identity{Faults: &FaultStore{Backend: memory.New()}, Clock: arca.NewManualClock(time.Unix(1_800_000_000, 0))}
	var err error
	if id.Store, err = barrier.Open(ctx, id.Faults, make([]byte, 32), rand.Reader); err != nil {
		t.Fatal(err)
	}
	id.Dir = &identity.Directory{Store: id.Store, Clock: id.Clock, Rand: rand.Reader}
	if id.Tenant, err = id.Dir.InitTenant(ctx); err != nil {
		t.Fatal(err)
	}
	id.Tokens = &identity.Tokens{Store: id.Store, Clock: id.Clock, Authority: Authority}
	if err := id.Tokens.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return id
}

// ErrInjected is the error a FaultStore injects.
var ErrInjected = errors.New("injected storage failure")

// FaultStore is a storage.Backend whose reads (or writes) of the keys under
// a prefix fail, to check that a store that cannot be read is an error
// (500), never taken for an absent object, and that a write that fails is
// not reported as done.
type FaultStore struct {
	storage.Backend
	mu     sync.Mutex
	reads  string
	writes string
	err    error // what the failures return; nil: ErrInjected
}

// FailWith sets the error the failing reads and writes return (nil:
// ErrInjected), e.g. storage.ErrUnavailable for a store that cannot be
// reached.
func (f *FaultStore) FailWith(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *FaultStore) injected() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	return ErrInjected
}

// FailReads makes every read of a key under prefix fail; "" stops it.
func (f *FaultStore) FailReads(prefix string) {
	f.mu.Lock()
	f.reads = prefix
	f.mu.Unlock()
}

// FailWrites makes every write of a key under prefix fail; "" stops it.
func (f *FaultStore) FailWrites(prefix string) {
	f.mu.Lock()
	f.writes = prefix
	f.mu.Unlock()
}

func (f *FaultStore) failingWrite(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writes != "" && strings.HasPrefix(key, f.writes)
}

func (f *FaultStore) failingRead(key string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads != "" && (strings.HasPrefix(key, f.reads) || strings.HasPrefix(f.reads, key))
}

// View implements storage.Backend.
func (f *FaultStore) View(ctx context.Context, fn func(storage.Reader) error) error {
	return f.Backend.View(ctx, func(r storage.Reader) error { return fn(faultTx{f: f, Reader: r}) })
}

// Update implements storage.Backend.
func (f *FaultStore) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return f.Backend.Update(ctx, func(tx storage.Tx) error { return fn(faultTx{f: f, Reader: tx, tx: tx}) })
}

type faultTx struct {
	storage.Reader
	f  *FaultStore
	tx storage.Tx
}

func (t faultTx) Get(key string) ([]byte, error) {
	if t.f.failingRead(key) {
		return nil, t.f.injected()
	}
	return t.Reader.Get(key)
}

func (t faultTx) Scan(prefix, after string, fn func(string, []byte) bool) error {
	if t.f.failingRead(prefix) {
		return t.f.injected()
	}
	return t.Reader.Scan(prefix, after, fn)
}

func (t faultTx) Put(key string, value []byte) error {
	if t.f.failingWrite(key) {
		return t.f.injected()
	}
	return t.tx.Put(key, value)
}

func (t faultTx) Delete(key string) error {
	if t.f.failingWrite(key) {
		return t.f.injected()
	}
	return t.tx.Delete(key)
}
