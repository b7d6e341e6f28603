package management

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/storage/storagetest"
)

// Several nodes over one store: each node has its own Service over a
// shared barrier, and its own authorisation engine.

func sharedStore(t *testing.T) *barrier.Barrier {
	t.Helper()
	b, err := barrier.Open(context.Background(), memory.New(), make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func node(store storage.Backend) *Service {
	return &Service{Store: store, Clock: arca.NewManualClock(time.Unix(1_800_000_000, 0)), Rand: rand.Reader}
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

// follow runs s.Follow until the test ends, and returns once Follow has
// moved the generation at its start: from then on every write is reported
// to it.
func follow(t *testing.T, s *Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	gen := s.Generation()
	go func() { done <- s.Follow(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Follow ended with %v, want context.Canceled", err)
		}
	})
	waitFor(t, "Follow to start", func() bool { return s.Generation() != gen })
}

// rbacSource feeds an authorisation engine from one node's Service for one
// RBAC vault, as the deployment does.
type rbacSource struct {
	s     *Service
	vault string // the vault's ARM id
}

func (src rbacSource) Access(context.Context, *arca.Vault) (authz.VaultAccess, error) {
	return authz.VaultAccess{RBAC: true, Scope: src.vault, Location: "local"}, nil
}
func (src rbacSource) Assignments(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return src.s.Grants(ctx)
}
func (rbacSource) Groups(context.Context, string, string) ([]string, error) { return nil, nil }
func (src rbacSource) Generation() uint64                                   { return src.s.Generation() }

const secretsUser = "4633458b-17de-408a-b874-0445c86b69e6" // Key Vault Secrets User

var reader = &arca.Principal{TenantID: "t", ObjectID: "0000000a-0000-4000-8000-000000000000"}

func canRead(t *testing.T, e *authz.Engine) bool {
	t.Helper()
	err := e.Authorize(context.Background(), &arca.Vault{Name: "v", TenantID: "t"}, reader, "SecretGet", "s")
	if err != nil && arca.KindOf(err) != arca.KindForbidden {
		t.Fatal(err)
	}
	return err == nil
}

// nodes returns nodes a (which writes), b (which follows) and c (which does
// not) over one store with a subscription, and the id of an RBAC vault in
// it.
func nodes(t *testing.T, store storage.Backend) (a, b, c *Service, sub, vault string) {
	t.Helper()
	a, b, c = node(store), node(store), node(store)
	s, err := a.CreateSubscription(context.Background(), "test", "t", owner)
	if err != nil {
		t.Fatal(err)
	}
	sub = "/subscriptions/" + s.ID
	return a, b, c, sub, sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"
}

// TestFollowRoleAssignments: a role assigned, a custom role narrowed and an
// assignment removed through node A apply to node B's cached decisions as
// soon as B's Follow hears of them. Node C, which does not follow, keeps
// deciding on what it cached.
func TestFollowRoleAssignments(t *testing.T) {
	ctx := context.Background()
	a, b, c, sub, vault := nodes(t, sharedStore(t))
	follow(t, b)
	eb, ec := &authz.Engine{Source: rbacSource{b, vault}}, &authz.Engine{Source: rbacSource{c, vault}}
	if canRead(t, eb) || canRead(t, ec) { // and the denials are cached
		t.Fatal("read allowed without a role")
	}

	step := func(what string, write func() error, want bool) {
		t.Helper()
		gen := b.Generation()
		if err := write(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B to hear of "+what, func() bool { return b.Generation() != gen })
		if got := canRead(t, eb); got != want {
			t.Fatalf("after %s through A, B decides %v, want %v", what, got, want)
		}
		if got := canRead(t, ec); got == want {
			t.Fatalf("after %s through A, C (not following) decides %v: the test proves nothing", what, got)
		}
		c = node(c.Store) // C starts afresh for the next step
		ec = &authz.Engine{Source: rbacSource{c, vault}}
		if got := canRead(t, ec); got != want {
			t.Fatalf("after %s, a fresh node decides %v, want %v", what, got, want)
		}
	}
	step("a role assignment", func() error {
		_, err := a.CreateRoleAssignment(ctx, &RoleAssignment{Name: "ra1", Scope: vault, RoleDefinitionID: secretsUser, PrincipalID: reader.ObjectID})
		return err
	}, true)
	step("its removal", func() error { _, err := a.DeleteRoleAssignment(ctx, vault, "ra1"); return err }, false)

	gen := b.Generation()
	if _, _, err := a.PutRoleDefinition(ctx, sub, customRole(roleA, "Getter", sub), owner); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear of the custom role", func() bool { return b.Generation() != gen })
	step("a custom role's assignment", func() error {
		_, err := a.CreateRoleAssignment(ctx, &RoleAssignment{Name: "ra2", Scope: sub, RoleDefinitionID: roleA, PrincipalID: reader.ObjectID})
		return err
	}, true)
	step("the custom role narrowed", func() error {
		narrowed := customRole(roleA, "Getter", sub)
		narrowed.DataActions = []string{"Microsoft.KeyVault/vaults/keys/read"}
		_, _, err := a.PutRoleDefinition(ctx, sub, narrowed, owner)
		return err
	}, false)

	// B's own writes move its generation at once, and their events again,
	// harmlessly.
	gen = b.Generation()
	if _, err := b.CreateRoleAssignment(ctx, &RoleAssignment{Name: "ra3", Scope: vault, RoleDefinitionID: secretsUser, PrincipalID: reader.ObjectID}); err != nil {
		t.Fatal(err)
	}
	if !canRead(t, eb) {
		t.Fatal("B's own assignment does not apply at once")
	}
	waitFor(t, "B to hear of its own write", func() bool { return b.Generation() >= gen+2 })
	if !canRead(t, eb) {
		t.Fatal("B's own assignment, reported back to B, no longer applies")
	}
}

// TestFollowActions: Resource Manager decisions share the engine's cache
// with the data plane's, and a role assigned and removed through node A
// applies to node B's cached decisions as soon as B's Follow hears of it;
// node C, which does not follow, keeps its cached denial.
func TestFollowActions(t *testing.T) {
	ctx := context.Background()
	a, b, c, sub, vault := nodes(t, sharedStore(t))
	follow(t, b)
	eb, ec := &authz.Engine{Source: rbacSource{b, vault}}, &authz.Engine{Source: rbacSource{c, vault}}
	const action = "Microsoft.KeyVault/vaults/read"
	may := func(e *authz.Engine) bool {
		t.Helper()
		err := e.AuthorizeAction(ctx, reader, vault, action)
		if err != nil && arca.KindOf(err) != arca.KindForbidden {
			t.Fatal(err)
		}
		return err == nil
	}
	if may(eb) || may(ec) {
		t.Fatal("allowed without a role")
	}
	gen := b.Generation()
	if _, err := a.CreateRoleAssignment(ctx, &RoleAssignment{Name: "ra1", Scope: sub, RoleDefinitionID: Reader.ID, PrincipalID: reader.ObjectID}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear of the assignment", func() bool { return b.Generation() != gen })
	if !may(eb) {
		t.Fatal("B does not apply A's assignment")
	}
	if may(ec) {
		t.Fatal("C, which does not follow, decided afresh: the test proves nothing")
	}
	gen = b.Generation()
	if _, err := a.DeleteRoleAssignment(ctx, sub, "ra1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to hear of the removal", func() bool { return b.Generation() != gen })
	if may(eb) {
		t.Fatal("B still grants a removed assignment")
	}
}

// TestDecides: which records move the generation when another node
// changes them.
func TestDecides(t *testing.T) {
	for key, want := range map[string]bool{
		raPrefix + "ra1": true, rdPrefix + roleA: true, subPrefix + "s": true,
		rgPrefix + "s/rg": false, opPrefix + "op": false,
	} {
		if got := decides(key); got != want {
			t.Errorf("decides(%s) = %v, want %v", key, got, want)
		}
	}
}

// TestGenerationLocalWrites: the writes that add or remove role
// assignments besides the role assignment calls (a subscription's owners,
// a resource group's deletion) move the generation at once.
func TestGenerationLocalWrites(t *testing.T) {
	ctx := context.Background()
	s, sub, _ := newRoleService(t)
	gen := s.Generation()
	if _, err := s.CreateSubscription(ctx, "owned", "t", owner); err != nil {
		t.Fatal(err)
	}
	if s.Generation() == gen {
		t.Fatal("a subscription with owners did not move the generation")
	}
	if _, err := s.CreateRoleAssignment(ctx, &RoleAssignment{Scope: sub + "/resourceGroups/rg", RoleDefinitionID: secretsUser, PrincipalID: reader.ObjectID}); err != nil {
		t.Fatal(err)
	}
	gen = s.Generation()
	if err := s.DeleteResourceGroup(ctx, strings.TrimPrefix(sub, "/subscriptions/"), "rg"); err != nil {
		t.Fatal(err)
	}
	if s.Generation() == gen {
		t.Fatal("deleting a resource group, and its role assignments, did not move the generation")
	}
	if ras, _ := s.RoleAssignments(ctx); len(ras) != 2 { // the two subscriptions' owners
		t.Fatalf("%d role assignments left, want 2", len(ras))
	}
}

// TestFollowCompacted: when the store loses B's watch (ErrCompacted), B
// moves its generation, so a role assigned meanwhile applies all the same,
// and follows on.
func TestFollowCompacted(t *testing.T) {
	ctx := context.Background()
	shared := sharedStore(t)
	lossy := storagetest.NewCompactOnce(shared)
	a, _, _, _, vault := nodes(t, shared)
	b := node(lossy)
	follow(t, b)
	<-lossy.Started(1)
	eb := &authz.Engine{Source: rbacSource{b, vault}}
	if canRead(t, eb) {
		t.Fatal("read allowed without a role")
	}
	gen := b.Generation()
	if _, err := a.CreateRoleAssignment(ctx, &RoleAssignment{Name: "ra1", Scope: vault, RoleDefinitionID: secretsUser, PrincipalID: reader.ObjectID}); err != nil {
		t.Fatal(err)
	}
	if b.Generation() != gen || canRead(t, eb) {
		t.Fatal("B heard of the assignment through a lost watch")
	}
	lossy.Compact()
	<-lossy.Started(2) // after the generation moved
	if !canRead(t, eb) {
		t.Fatal("B's decision survived ErrCompacted")
	}
	gen = b.Generation()
	if _, err := a.DeleteRoleAssignment(ctx, vault, "ra1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B to follow on after ErrCompacted", func() bool { return b.Generation() != gen })
	if canRead(t, eb) {
		t.Fatal("B still grants a removed assignment")
	}
}

type plainStore struct{ storage.Backend } // hides the capabilities

// TestFollowEnds: Follow ends with its context, and at once with
// errors.ErrUnsupported on a store that cannot watch.
func TestFollowEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node(sharedStore(t)).Follow(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Follow outlived its context")
	}
	if err := node(plainStore{memory.New()}).Follow(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Follow on a store without Watch: %v, want ErrUnsupported", err)
	}
}
