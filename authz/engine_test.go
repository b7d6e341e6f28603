package authz

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arcakv/arca"
)

type fakeSource struct {
	access VaultAccess
	as     []RoleAssignment
	custom []RoleDefinition // besides the built-in roles
	groups map[string][]string
	err    error // returned by Assignments and Groups when set
	gen    atomic.Uint64
	calls  atomic.Int64
}

func (f *fakeSource) Access(context.Context, *arca.Vault) (VaultAccess, error) { return f.access, nil }
func (f *fakeSource) Assignments(context.Context) ([]RoleAssignment, map[string]*RoleDefinition, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, nil, f.err
	}
	roles := BuiltinByID()
	for i := range f.custom {
		roles[strings.ToLower(f.custom[i].ID)] = &f.custom[i]
	}
	return f.as, roles, nil
}
func (f *fakeSource) Groups(_ context.Context, _, oid string) ([]string, error) {
	f.calls.Add(1)
	if f.err != nil {
		return nil, f.err
	}
	return f.groups[oid], nil
}
func (f *fakeSource) Generation() uint64 { return f.gen.Load() }

func TestEngineAccessPolicyCacheAndInvalidation(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{access: VaultAccess{Location: "local"}}
	e := &Engine{Source: src}
	v := &arca.Vault{Name: "v", TenantID: "t"}
	p := &arca.Principal{TenantID: "t", ObjectID: "o", AppID: "a"}
	err := e.Authorize(ctx, v, p, "SecretGet", "x")
	if arca.KindOf(err) != arca.KindForbidden || !strings.Contains(err.Error(), "does not have secrets get permission on key vault 'v;location=local'") {
		t.Fatalf("deny: %v", err)
	}
	// The grant takes effect only with a new generation (cache invalidation).
	src.access.Policies = []AccessPolicy{{TenantID: "t", ObjectID: "o", Secrets: []string{"get"}}}
	if err := e.Authorize(ctx, v, p, "SecretGet", "x"); err == nil {
		t.Fatal("cached denial ignored")
	}
	src.gen.Add(1)
	if err := e.Authorize(ctx, v, p, "SecretGet", "x"); err != nil {
		t.Fatalf("after grant: %v", err)
	}
	calls := src.calls.Load()
	for i := 0; i < 10; i++ {
		e.Authorize(ctx, v, p, "SecretGet", "x")
	}
	if src.calls.Load() != calls {
		t.Fatal("decision not cached")
	}
	// Another tenant's principal is denied even with a matching object id.
	if err := e.Authorize(ctx, v, &arca.Principal{TenantID: "u", ObjectID: "o"}, "SecretGet", "x"); err == nil {
		t.Fatal("other tenant allowed")
	}
}

func TestEngineRBAC(t *testing.T) {
	ctx := context.Background()
	scope := "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"
	src := &fakeSource{access: VaultAccess{RBAC: true, Scope: scope, Location: "local"},
		groups: map[string][]string{"o": {"grp"}},
		as:     []RoleAssignment{{Scope: scope + "/secrets/only", PrincipalID: "grp", RoleDefinitionID: "4633458b-17de-408a-b874-0445c86b69e6"}}}
	e := &Engine{Source: src}
	v := &arca.Vault{Name: "v", TenantID: "t"}
	p := &arca.Principal{TenantID: "t", ObjectID: "o"}
	if err := e.Authorize(ctx, v, p, "SecretGet", "only"); err != nil {
		t.Fatalf("group assignment at object scope: %v", err)
	}
	err := e.Authorize(ctx, v, p, "SecretGet", "other")
	if arca.KindOf(err) != arca.KindForbidden || !strings.Contains(err.Error(), "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'") {
		t.Fatalf("other object: %v", err)
	}
	var ae *arca.Error
	if e, ok := err.(*arca.Error); ok {
		ae = e
	}
	if ae == nil || ae.Inner != "ForbiddenByRbac" {
		t.Fatalf("inner code: %+v", ae)
	}
}
