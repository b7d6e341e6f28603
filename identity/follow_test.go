package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
	"github.com/go-jose/go-jose/v4"
)

// Several nodes over one store: each node has its own Directory and Tokens
// over a shared barrier.

// sealedAs presents a test wrapper of a barrier (w, which only changes how
// watches end) as that barrier: services require a barrier.Sealed.
type sealedAs struct {
	barrier.Sealed
	w *storagetest.CompactOnce
}

func (s sealedAs) View(ctx context.Context, fn func(storage.Reader) error) error {
	return s.w.View(ctx, fn)
}
func (s sealedAs) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return s.w.Update(ctx, fn)
}
func (s sealedAs) Revision(ctx context.Context) (int64, error) { return s.w.Revision(ctx) }
func (s sealedAs) Watch(ctx context.Context, prefix string, from int64, fn func(storage.Event) error) error {
	return s.w.Watch(ctx, prefix, from, fn)
}

func sharedStore(t *testing.T) *barrier.Barrier {
	t.Helper()
	b, err := barrier.Open(context.Background(), memory.New(), make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var followClock = arca.NewManualClock(time.Unix(1_800_000_000, 0))

func dirNode(store barrier.Sealed) *Directory {
	return &Directory{Store: store, Clock: followClock, Rand: rand.Reader}
}

func tokensNode(t *testing.T, store barrier.Sealed) *Tokens {
	t.Helper()
	tk := &Tokens{Store: store, Clock: followClock, Authority: "https://localhost:8443"}
	if err := tk.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tk
}

// waitFor polls cond until it holds, failing t after a deadline that only a
// broken Follow reaches.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		runtime.Gosched()
	}
}

// start runs follow until the test ends, and returns once started reports
// that Follow has done its first reset: from then on every write is
// reported to it.
func start(t *testing.T, follow func(context.Context) error, started func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- follow(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow ended with %v, want context.Canceled", err)
		}
	})
	waitFor(t, "Follow to start", started)
}

func followDir(t *testing.T, d *Directory) {
	t.Helper()
	gen := d.Generation()
	start(t, d.Follow, func() bool { return d.Generation() != gen })
}

func (t *Tokens) loadCount() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.loads
}

func (t *Tokens) currentKID() string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.current
}

func followTokens(t *testing.T, tk *Tokens) {
	t.Helper()
	n := tk.loadCount()
	start(t, tk.Follow, func() bool { return tk.loadCount() != n })
}

// groupSource feeds an authorisation engine from one node's Directory: the
// vault's access policy grants the group.
type groupSource struct {
	d     *Directory
	group string
}

func (src groupSource) Access(context.Context, *arca.Vault) (authz.VaultAccess, error) {
	return authz.VaultAccess{Location: "local", Policies: []authz.AccessPolicy{{TenantID: "t", ObjectID: src.group, Secrets: []string{"get"}}}}, nil
}
func (groupSource) Assignments(context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return nil, nil, nil
}
func (src groupSource) Groups(ctx context.Context, _, oid string) ([]string, error) {
	return src.d.MemberOf(ctx, oid)
}
func (src groupSource) Generation() uint64 { return src.d.Generation() }

func canRead(t *testing.T, e *authz.Engine, oid string) bool {
	t.Helper()
	err := e.Authorize(context.Background(), &arca.Vault{Name: "v", TenantID: "t"}, &arca.Principal{TenantID: "t", ObjectID: oid}, "SecretGet", "s")
	if err != nil && arca.KindOf(err) != arca.KindForbidden {
		t.Fatal(err)
	}
	return err == nil
}

// TestFollowGroups: a membership granted and withdrawn through node A
// applies to node B's cached decisions as soon as B's Follow hears of it;
// node C, which does not follow, keeps deciding on what it cached. Users
// and service principals changed through A move B's generation too.
func TestFollowGroups(t *testing.T) {
	ctx := context.Background()
	store := sharedStore(t)
	a, b, c := dirNode(store), dirNode(store), dirNode(store)
	sp, _, err := a.CreateServicePrincipal(ctx, "reader", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.CreateGroup(ctx, "Readers", "readers", "", "")
	if err != nil {
		t.Fatal(err)
	}
	followDir(t, b)
	eb, ec := &authz.Engine{Source: groupSource{b, g.ObjectID}}, &authz.Engine{Source: groupSource{c, g.ObjectID}}
	if canRead(t, eb, sp.ObjectID) || canRead(t, ec, sp.ObjectID) { // and the denials are cached
		t.Fatal("read allowed outside the group")
	}

	step := func(what string, write func() error) {
		t.Helper()
		gen := b.Generation()
		if err := write(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B to hear of "+what, func() bool { return b.Generation() != gen })
	}
	step("a membership", func() error { return a.AddMember(ctx, g.ObjectID, sp.ObjectID) })
	if !canRead(t, eb, sp.ObjectID) {
		t.Fatal("B does not grant through a membership added on A")
	}
	if canRead(t, ec, sp.ObjectID) {
		t.Fatal("C, which does not follow, dropped its decision: the test proves nothing")
	}
	step("a withdrawn membership", func() error { return a.RemoveMember(ctx, g.ObjectID, sp.ObjectID) })
	if canRead(t, eb, sp.ObjectID) {
		t.Fatal("B still grants through a membership removed on A")
	}

	step("a user", func() error { _, err := a.CreateUser(ctx, "u@arca.test", "P@ssw0rd-long-enough", "U"); return err })
	step("a deleted service principal", func() error { return a.DeleteServicePrincipal(ctx, sp.AppID) })

	// B's own writes move its generation at once, and their events again.
	gen := b.Generation()
	if err := b.DeleteGroup(ctx, g.ObjectID); err != nil {
		t.Fatal(err)
	}
	if b.Generation() == gen {
		t.Fatal("B's own write did not move its generation")
	}
	waitFor(t, "B to hear of its own write", func() bool { return b.Generation() >= gen+2 })
}

// TestDirectoryDecides: which records move the generation when another
// node changes them.
func TestDirectoryDecides(t *testing.T) {
	for key, want := range map[string]bool{
		groupPrefix + "g": true, userPrefix + "u@x": true, spPrefix + "app": true,
		rtPrefix + "abc": false, tenantKey: false, signPrefix + "kid": false, signCurrent: false,
	} {
		if got := decides(key); got != want {
			t.Errorf("decides(%s) = %v, want %v", key, got, want)
		}
	}
}

// TestFollowGroupsCompacted: when the store loses B's watch (ErrCompacted),
// B moves its generation, so a membership granted meanwhile applies all the
// same.
func TestFollowGroupsCompacted(t *testing.T) {
	ctx := context.Background()
	shared := sharedStore(t)
	lossy := storagetest.NewCompactOnce(shared)
	a, b := dirNode(shared), dirNode(sealedAs{shared, lossy})
	sp, _, err := a.CreateServicePrincipal(ctx, "reader", false, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.CreateGroup(ctx, "Readers", "readers", "", "")
	if err != nil {
		t.Fatal(err)
	}
	followDir(t, b)
	<-lossy.Started(1)
	eb := &authz.Engine{Source: groupSource{b, g.ObjectID}}
	if canRead(t, eb, sp.ObjectID) {
		t.Fatal("read allowed outside the group")
	}
	gen := b.Generation()
	if err := a.AddMember(ctx, g.ObjectID, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	if b.Generation() != gen || canRead(t, eb, sp.ObjectID) {
		t.Fatal("B heard of the membership through a lost watch")
	}
	lossy.Compact()
	<-lossy.Started(2) // after the generation moved
	if !canRead(t, eb, sp.ObjectID) {
		t.Fatal("B's decision survived ErrCompacted")
	}
}

var follower = &ServicePrincipal{AppID: "app", ObjectID: "oid"}

func audOK(a string) bool { return a == "https://vault.localhost:8443" }

func issue(t *testing.T, tk *Tokens) (raw, kid string) {
	t.Helper()
	raw, _, err := tk.Issue("t", follower, "https://vault.localhost:8443", true, "1")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return raw, sig.Signatures[0].Header.KeyID
}

func verifies(tk *Tokens, raw string) bool {
	_, err := tk.Verify(raw, "t", audOK, "")
	return err == nil
}

// TestFollowSigningKeys: a signing key rotated through node A verifies on
// node B, and B signs with it, as soon as B's Follow hears of the rotation;
// node C, which does not follow, cannot verify it. A key removed from the
// store is dropped, with B's cached verifications.
func TestFollowSigningKeys(t *testing.T) {
	ctx := context.Background()
	store := sharedStore(t)
	a, b, c := tokensNode(t, store), tokensNode(t, store), tokensNode(t, store)
	old, oldKID := issue(t, a)
	if !verifies(b, old) || !verifies(c, old) {
		t.Fatal("a token of the first key does not verify")
	}
	followTokens(t, b)

	n := b.loadCount()
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, kid := issue(t, a)
	if kid == oldKID {
		t.Fatal("Rotate kept the key")
	}
	waitFor(t, "B to verify a token of the rotated key", func() bool { return verifies(b, fresh) })
	waitFor(t, "B to hear of both records of the rotation", func() bool { return b.loadCount() >= n+2 })
	if _, bkid := issue(t, b); bkid != kid {
		t.Fatalf("B signs with %s, want %s", bkid, kid)
	}
	if verifies(c, fresh) {
		t.Fatal("C, which does not follow, verifies the rotated key: the test proves nothing")
	}

	// B's own rotation applies at once; its events reload, harmlessly.
	n = b.loadCount()
	if err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	own, ownKID := issue(t, b)
	waitFor(t, "B to hear of its own rotation", func() bool { return b.loadCount() >= n+3 }) // Rotate, then one reload per record
	if !verifies(b, own) || !verifies(b, fresh) || !verifies(b, old) || b.currentKID() != ownKID {
		t.Fatal("B lost a key after hearing of its own rotation")
	}

	// A key removed from the store (by another node) no longer verifies,
	// even for a token B verified before.
	n = b.loadCount()
	if err := store.Update(ctx, func(tx storage.Tx) error { return tx.Delete(signPrefix + oldKID) }); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear of the removal", func() bool { return b.loadCount() != n })
	if verifies(b, old) {
		t.Fatal("B verifies a token of a removed key")
	}
	if !verifies(b, fresh) {
		t.Fatal("B dropped a key still stored")
	}
}

// TestFollowSigningKeysCompacted: when the store loses B's watch
// (ErrCompacted), B reloads its keys, so a key rotated meanwhile verifies
// all the same.
func TestFollowSigningKeysCompacted(t *testing.T) {
	ctx := context.Background()
	shared := sharedStore(t)
	lossy := storagetest.NewCompactOnce(shared)
	a, b := tokensNode(t, shared), tokensNode(t, sealedAs{shared, lossy})
	followTokens(t, b)
	<-lossy.Started(1)
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	fresh, _ := issue(t, a)
	if verifies(b, fresh) {
		t.Fatal("B heard of the rotation through a lost watch")
	}
	lossy.Compact()
	<-lossy.Started(2) // after the keys were reloaded
	if !verifies(b, fresh) {
		t.Fatal("B does not verify the rotated key after ErrCompacted")
	}
}

// TestFollowSigningKeysBadRecord: a signing key record that does not
// decode stops Follow with an error, and the keys loaded before stay in
// use.
func TestFollowSigningKeysBadRecord(t *testing.T) {
	ctx := context.Background()
	store := sharedStore(t)
	b := tokensNode(t, store)
	tok, _ := issue(t, b)
	done := make(chan error, 1)
	go func() { done <- b.Follow(ctx) }()
	if err := store.Update(ctx, func(tx storage.Tx) error { return tx.Put(signPrefix+"bad", []byte("{")) }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || errors.Is(err, context.Canceled) {
			t.Fatalf("Follow ended with %v, want the decoding error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow did not stop on a bad record")
	}
	b.cacheMu.Lock()
	clear(b.cache)
	b.cacheMu.Unlock()
	if !verifies(b, tok) {
		t.Fatal("the keys loaded before are lost")
	}
}

type plainStore struct{ storage.Backend } // hides the capabilities

// TestFollowEnds: both Follows end with their context, and at once with
// errors.ErrUnsupported on a store that cannot watch.
func TestFollowEnds(t *testing.T) {
	store := sharedStore(t)
	for name, follow := range map[string]func(context.Context) error{
		"Directory": dirNode(store).Follow, "Tokens": tokensNode(t, store).Follow,
	} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- follow(ctx) }()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s.Follow ended with %v, want context.Canceled", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s.Follow outlived its context", name)
		}
	}
	plain, err := barrier.Open(context.Background(), plainStore{memory.New()}, make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, follow := range map[string]func(context.Context) error{
		"Directory": dirNode(plain).Follow, "Tokens": tokensNode(t, plain).Follow,
	} {
		if err := follow(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("%s.Follow on a store without Watch: %v, want ErrUnsupported", name, err)
		}
	}
}
