package authz

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arcakv/arca"
)

const (
	sub   = "/subscriptions/s"
	rg    = sub + "/resourceGroups/g"
	vault = rg + "/providers/Microsoft.KeyVault/vaults/v"

	vaultsRead    = "Microsoft.KeyVault/vaults/read"
	vaultsWrite   = "Microsoft.KeyVault/vaults/write"
	vaultsDelete  = "Microsoft.KeyVault/vaults/delete"
	raWrite       = "Microsoft.Authorization/roleAssignments/write"
	raRead        = "Microsoft.Authorization/roleAssignments/read"
	rgWrite       = "Microsoft.Resources/subscriptions/resourceGroups/write"
	rgRead        = "Microsoft.Resources/subscriptions/resourceGroups/read"
	customRoleID  = "11111111-2222-4333-8444-555555555555"
	secretsUserID = "4633458b-17de-408a-b874-0445c86b69e6"
)

// TestBuiltinRoleActions: the management actions of the built-in roles.
func TestBuiltinRoleActions(t *testing.T) {
	for _, c := range []struct {
		role   RoleDefinition
		action string
		want   bool
	}{
		{Owner, raWrite, true},
		{Owner, "Microsoft.Authorization/elevateAccess/Action", true},
		{Contributor, rgWrite, true},
		{Contributor, raWrite, false},
		{Contributor, "Microsoft.Authorization/roleAssignments/delete", false},
		{Contributor, "Microsoft.Authorization/roleDefinitions/write", false},
		{Contributor, "Microsoft.Authorization/elevateAccess/Action", false},
		{Contributor, raRead, true},
		{Reader, vaultsRead, true},
		{Reader, vaultsWrite, false},
		{Reader, "Microsoft.KeyVault/deletedVaults/read", true},
		{KeyVaultContributor, vaultsWrite, true},
		{KeyVaultContributor, "microsoft.keyvault/locations/deletedVaults/purge/action", true},
		{KeyVaultContributor, rgWrite, false},
		{KeyVaultContributor, rgRead, true},
		{KeyVaultContributor, raWrite, false},
		{Builtin[0], vaultsRead, true}, // Key Vault Administrator: read-only management
		{Builtin[0], vaultsWrite, false},
		{Builtin[0], raRead, true},
	} {
		if got := c.role.AllowsAction(c.action); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.role.Name, c.action, got, c.want)
		}
	}
	// Data actions and management actions are separate sets.
	if Owner.Allows(kv+"secrets/getSecret/action") || Builtin[0].AllowsAction(kv+"secrets/getSecret/action") {
		t.Error("a role grants across planes")
	}
}

// TestByAction: who may do what where, through which assignment.
func TestByAction(t *testing.T) {
	custom := RoleDefinition{ID: customRoleID, Name: "Vault operator", Actions: []string{rgRead, "Microsoft.KeyVault/*"},
		NotActions: []string{vaultsDelete}}
	roles := BuiltinByID()
	roles[customRoleID] = &custom
	assign := func(scope, principal, role string) RoleAssignment {
		return RoleAssignment{Scope: scope, PrincipalID: principal, RoleDefinitionID: role}
	}
	as := []RoleAssignment{
		assign(sub, "owner", Owner.ID),
		assign(sub, "contrib", "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/"+Contributor.ID), // full id
		assign(rg, "reader", strings.ToUpper(Reader.ID)),
		assign(strings.ToUpper(vault), "kvc", KeyVaultContributor.ID),
		assign(rg, "operator", customRoleID),
		assign(sub, "grp", Reader.ID),
		assign(vault, "data", secretsUserID),
		assign(sub, "ghost", "99999999-9999-4999-8999-999999999999"), // no such role
	}
	for _, c := range []struct {
		who    string
		groups []string
		scope  string
		action string
		want   bool
	}{
		{"owner", nil, sub, raWrite, true},
		{"owner", nil, vault, vaultsDelete, true}, // inherited: subscription -> group -> vault
		{"OWNER", nil, vault + "/", vaultsDelete, true},
		{"owner", nil, "/subscriptions/s2", vaultsRead, false}, // another subscription
		{"owner", nil, "/subscriptions/s2x", vaultsRead, false},
		{"contrib", nil, rg, rgWrite, true},
		{"contrib", nil, sub, raWrite, false},
		{"reader", nil, rg, rgRead, true},
		{"reader", nil, vault, vaultsRead, true},
		{"reader", nil, sub, rgRead, false}, // not upwards
		{"reader", nil, sub + "/resourceGroups/g2", rgRead, false},
		{"reader", nil, sub + "/resourceGroups/gg", rgRead, false}, // a segment boundary
		{"reader", nil, vault, vaultsWrite, false},
		{"kvc", nil, vault, vaultsWrite, true},
		{"kvc", nil, rg, vaultsWrite, false},
		{"operator", nil, vault, vaultsWrite, true},
		{"operator", nil, vault, vaultsDelete, false}, // NotActions
		{"operator", nil, rg, rgRead, true},
		{"operator", nil, rg, rgWrite, false},
		{"member", []string{"other", "GRP"}, vault, vaultsRead, true}, // through a group
		{"member", []string{"other", "GRP"}, vault, vaultsWrite, false},
		{"member", nil, vault, vaultsRead, false},
		{"grp", nil, sub, vaultsRead, true},
		{"data", nil, vault, vaultsRead, true}, // a data role's read-only management actions
		{"data", nil, vault, vaultsWrite, false},
		{"ghost", nil, sub, vaultsRead, false},
		{"nobody", nil, sub, vaultsRead, false},
	} {
		got, err := ByAction(as, roles, Subject{TenantID: "t", ObjectID: c.who, Groups: c.groups}, c.scope, c.action)
		if err != nil || got != c.want {
			t.Errorf("%s (groups %v) %s at %s: %v %v, want %v", c.who, c.groups, c.action, c.scope, got, err, c.want)
		}
	}
}

// TestByActionFailsClosed: an unreadable assignment fails every decision;
// an unreadable role fails the decisions of a subject with assignments in
// scope (another's may be the one it cannot read).
func TestByActionFailsClosed(t *testing.T) {
	broken := errors.New("does not decode")
	as := []RoleAssignment{{Scope: sub, PrincipalID: "owner", RoleDefinitionID: Owner.ID}}
	roles := BuiltinByID()
	owner, nobody := Subject{ObjectID: "owner"}, Subject{ObjectID: "nobody"}
	if ok, err := ByAction(as, roles, owner, sub, vaultsRead); !ok || err != nil {
		t.Fatalf("owner: %v %v", ok, err)
	}
	bad := append(as, RoleAssignment{Unreadable: broken})
	for _, s := range []Subject{owner, nobody} {
		if ok, err := ByAction(bad, roles, s, sub, vaultsRead); ok || !errors.Is(err, broken) {
			t.Errorf("%s over an unreadable assignment: %v %v", s.ObjectID, ok, err)
		}
	}
	roles[customRoleID] = &RoleDefinition{ID: customRoleID, Unreadable: broken}
	if ok, err := ByAction(as, roles, owner, sub, vaultsRead); ok || !errors.Is(err, broken) {
		t.Errorf("owner over an unreadable role: %v %v", ok, err)
	}
	if ok, err := ByAction(as, roles, nobody, sub, vaultsRead); ok || err != nil {
		t.Errorf("no assignment, over an unreadable role: %v %v", ok, err)
	}
	// The data plane skips both: they grant nothing.
	data := append(bad, RoleAssignment{Scope: vault, PrincipalID: "owner", RoleDefinitionID: customRoleID})
	if ByRBAC(data, roles, owner, vault, arca.OpSecretGet) {
		t.Error("an unreadable role grants a data action")
	}
}

func TestInScope(t *testing.T) {
	for _, c := range []struct {
		outer, scope string
		want         bool
	}{
		{sub, sub, true},
		{sub, sub + "/resourceGroups/rg", true},
		{"/subscriptions/S/resourcegroups/G/", vault, true},
		{rg, sub + "/resourceGroups/g2", false},
		{rg, sub, false},
		{"/subscriptions/s2", sub, false},
		{"", sub, true},
		{"/", sub, true},
	} {
		if got := InScope(c.outer, c.scope); got != c.want {
			t.Errorf("InScope(%s, %s) = %v", c.outer, c.scope, got)
		}
	}
}

// TestEngineAuthorizeAction: the engine's Resource Manager decisions: ARM's
// answer on a denial, group membership through the Source, a cache shared
// with the data plane and dropped when the generation moves, and errors
// that fail closed without being cached.
func TestEngineAuthorizeAction(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{access: VaultAccess{Location: "local"}, groups: map[string][]string{"o": {"grp"}},
		custom: []RoleDefinition{{ID: customRoleID, Name: "Vaults", Actions: []string{"Microsoft.KeyVault/*"}, NotActions: []string{vaultsDelete}}}}
	e := &Engine{Source: src}
	p := &arca.Principal{TenantID: "t", ObjectID: "o", AppID: "a"}

	err := e.AuthorizeAction(ctx, p, vault, vaultsWrite)
	var ae *arca.Error
	if !errors.As(err, &ae) || ae.Kind != arca.KindForbidden || ae.Code != "AuthorizationFailed" ||
		ae.Message != "The client with object id 'o' does not have authorization to perform action '"+vaultsWrite+"' over scope '"+vault+"' or the scope is invalid. If access was recently granted, please refresh your credentials." {
		t.Fatalf("deny: %#v", err)
	}

	// A grant to the principal's group, at the resource group: the cached
	// denial stands until the generation moves.
	src.as = []RoleAssignment{{Scope: rg, PrincipalID: "grp", RoleDefinitionID: customRoleID}}
	if err := e.AuthorizeAction(ctx, p, vault, vaultsWrite); err == nil {
		t.Fatal("cached denial ignored")
	}
	src.gen.Add(1)
	if err := e.AuthorizeAction(ctx, p, vault, vaultsWrite); err != nil {
		t.Fatalf("after the grant: %v", err)
	}
	if err := e.AuthorizeAction(ctx, p, vault, vaultsDelete); arca.KindOf(err) != arca.KindForbidden {
		t.Fatalf("NotActions: %v", err)
	}
	if err := e.AuthorizeAction(ctx, p, sub, vaultsWrite); arca.KindOf(err) != arca.KindForbidden {
		t.Fatalf("above the assignment: %v", err)
	}
	calls := src.calls.Load()
	for range 10 {
		if err := e.AuthorizeAction(ctx, p, strings.ToUpper(vault), vaultsWrite); err != nil {
			t.Fatal(err)
		}
		e.AuthorizeAction(ctx, p, vault, vaultsDelete)
	}
	if src.calls.Load() != calls {
		t.Fatal("decisions not cached")
	}

	// One cache: a data-plane decision and an action decision of the same
	// caller both go when the generation moves.
	src.access.Policies = []AccessPolicy{{TenantID: "t", ObjectID: "o", Secrets: []string{"get"}}}
	v := &arca.Vault{Name: "v", TenantID: "t"}
	if err := e.Authorize(ctx, v, p, arca.OpSecretGet, "s"); err != nil {
		t.Fatal(err)
	}
	src.as, src.access.Policies = nil, nil
	if e.Authorize(ctx, v, p, arca.OpSecretGet, "s") != nil || e.AuthorizeAction(ctx, p, vault, vaultsWrite) != nil {
		t.Fatal("cached grants not used")
	}
	src.gen.Add(1)
	if e.Authorize(ctx, v, p, arca.OpSecretGet, "s") == nil || e.AuthorizeAction(ctx, p, vault, vaultsWrite) == nil {
		t.Fatal("revoked grants outlived the generation")
	}

	// A Source that cannot be read is an internal error, never cached.
	src.as = []RoleAssignment{{Scope: sub, PrincipalID: "o", RoleDefinitionID: Reader.ID}}
	src.err = errors.New("store down")
	src.gen.Add(1)
	if err := e.AuthorizeAction(ctx, p, sub, vaultsRead); arca.KindOf(err) != arca.KindInternal {
		t.Fatalf("unreadable source: %v", err)
	}
	src.err = nil
	if err := e.AuthorizeAction(ctx, p, sub, vaultsRead); err != nil {
		t.Fatalf("after the source recovered: %v", err)
	}
	// So is an unreadable record the decision may depend on.
	src.as = append(src.as, RoleAssignment{Unreadable: errors.New("does not decode")})
	src.gen.Add(1)
	if err := e.AuthorizeAction(ctx, p, sub, vaultsRead); arca.KindOf(err) != arca.KindInternal {
		t.Fatalf("unreadable assignment: %v", err)
	}

	if err := e.AuthorizeAction(ctx, nil, sub, vaultsRead); arca.KindOf(err) != arca.KindForbidden {
		t.Fatalf("no principal: %v", err)
	}
}
