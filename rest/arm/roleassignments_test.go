package arm_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/arcakv/arca/management"
)

// raEnv is an armEnv with two more service principals and role
// assignments at the resource group, a vault and the subscription.
type raEnv struct {
	*armEnv
	sub, rg, vault string // scopes
	a, b           string // principals' object ids
	raA, raAV, raB string // assignment names: a at rg, a at the vault, b at the subscription
}

func newRAEnv(t *testing.T) *raEnv {
	e := newARMEnv(t)
	ctx := context.Background()
	spA, _, err := e.dir.CreateServicePrincipal(ctx, "a", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	spB, _, err := e.dir.CreateServicePrincipal(ctx, "b", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.putVault("ravault", "90")
	r := &raEnv{armEnv: e, sub: "/subscriptions/" + e.sub, a: spA.ObjectID, b: spB.ObjectID, raA: armGUID(t), raAV: armGUID(t), raB: armGUID(t)}
	r.rg = r.sub + "/resourceGroups/rg"
	r.vault = r.rg + "/providers/Microsoft.KeyVault/vaults/ravault"
	r.put(r.rg, r.raA, management.Reader.ID, r.a, 201)
	r.put(r.vault, r.raAV, management.Contributor.ID, r.a, 201)
	r.put(r.sub, r.raB, management.Reader.ID, r.b, 201)
	return r
}

func (r *raEnv) raURL(scope, name string) string {
	return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + "?api-version=2022-04-01"
}

func (r *raEnv) put(scope, name, role, principal string, want int) map[string]any {
	r.t.Helper()
	return r.call("PUT", r.raURL(scope, name), `{"properties":{"roleDefinitionId":"`+r.sub+`/providers/Microsoft.Authorization/roleDefinitions/`+role+
		`","principalId":"`+principal+`"}}`, want)
}

// list lists the assignments at scope with filter and returns their names.
func (r *raEnv) list(scope, filter string) []string {
	r.t.Helper()
	p := scope + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01"
	if filter != "" {
		p += "&$filter=" + url.QueryEscape(filter)
	}
	names := armNames(r.call("GET", p, "", 200))
	slices.Sort(names)
	return names
}

func sortedOf(s ...string) []string { slices.Sort(s); return s }

// TestARMRoleAssignmentList: Role Assignments - List For Scope answers the
// assignments at, above (inherited) and below the scope; atScope() keeps
// those at and above it; principalId eq '…' those of one principal (az
// role assignment list --assignee).
func TestARMRoleAssignmentList(t *testing.T) {
	r := newRAEnv(t)
	owner := ""
	for _, ra := range armList(r.call("GET", r.sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 200)) {
		if armProp(ra, "properties", "principalId") == r.owner.ObjectID {
			owner = ra["name"].(string)
		}
		if ra["type"] != "Microsoft.Authorization/roleAssignments" || !strings.HasSuffix(ra["id"].(string), "/providers/Microsoft.Authorization/roleAssignments/"+ra["name"].(string)) ||
			!strings.HasPrefix(armProp(ra, "properties", "roleDefinitionId").(string), r.sub+"/providers/Microsoft.Authorization/roleDefinitions/") {
			t.Errorf("assignment: %v", ra)
		}
	}
	if owner == "" {
		t.Fatal("no owner assignment")
	}
	for name, c := range map[string]struct {
		scope, filter string
		want          []string
	}{
		"subscription":         {r.sub, "", sortedOf(owner, r.raA, r.raAV, r.raB)},
		"subscription atScope": {r.sub, "atScope()", sortedOf(owner, r.raB)},
		"group":                {r.rg, "", sortedOf(owner, r.raA, r.raAV, r.raB)},
		"group atScope":        {r.rg, "atScope()", sortedOf(owner, r.raA, r.raB)},
		"vault atScope":        {r.vault, "atScope()", sortedOf(owner, r.raA, r.raAV, r.raB)},
		"principal a":          {r.sub, "principalId eq '" + r.a + "'", sortedOf(r.raA, r.raAV)},
		"principal a upper":    {r.sub, "principalId eq '" + strings.ToUpper(r.a) + "'", sortedOf(r.raA, r.raAV)},
		"principal b at vault": {r.vault, "atScope() and principalId eq '" + r.b + "'", sortedOf(r.raB)},
		"nobody":               {r.sub, "principalId eq '00000000-0000-4000-8000-000000000000'", nil},
	} {
		if got := r.list(c.scope, c.filter); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	// An empty list is [], not null.
	if got := r.call("GET", r.sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter="+
		url.QueryEscape("principalId eq 'none'"), "", 200); got["value"] == nil {
		t.Errorf("empty list: %v", got)
	}
	r.call("POST", r.sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", `{}`, 405)
}

// TestARMRoleAssignmentGetDelete: Role Assignments - Get answers the
// assignment at its own scope only (404 RoleAssignmentNotFound elsewhere);
// Delete answers 200 with the deleted assignment, then 204; the principal
// loses the access the assignment gave.
func TestARMRoleAssignmentGetDelete(t *testing.T) {
	r := newRAEnv(t)
	got := r.call("GET", r.raURL(r.rg, r.raA), "", 200)
	if got["name"] != r.raA || armProp(got, "properties", "scope") != r.rg || armProp(got, "properties", "principalId") != r.a ||
		armProp(got, "properties", "roleDefinitionId") != r.sub+"/providers/Microsoft.Authorization/roleDefinitions/"+management.Reader.ID {
		t.Errorf("GET: %v", got)
	}
	if up := r.call("GET", r.raURL(strings.ToUpper(r.rg), strings.ToUpper(r.raA)), "", 200); up["name"] != r.raA {
		t.Errorf("GET in upper case: %v", up)
	}
	for _, scope := range []string{r.sub, r.vault} {
		wantError(t, "other scope "+scope, r.call("GET", r.raURL(scope, r.raA), "", 404), "RoleAssignmentNotFound")
	}
	wantError(t, "unknown", r.call("GET", r.raURL(r.rg, armGUID(t)), "", 404), "RoleAssignmentNotFound")
	// Deleting through another scope does nothing.
	if w := r.do(armReq{method: "DELETE", path: r.raURL(r.sub, r.raA)}); w.Code != 204 {
		t.Errorf("DELETE at another scope: %d %s", w.Code, w.Body.String())
	}
	if err := r.may(r.a, r.rg, "Microsoft.Resources/subscriptions/resourceGroups/read"); err != nil {
		t.Fatalf("before delete: %v", err)
	}
	del := r.call("DELETE", r.raURL(r.rg, r.raA), "", 200)
	if del["name"] != r.raA || armProp(del, "properties", "principalId") != r.a {
		t.Errorf("DELETE: %v", del)
	}
	if w := r.do(armReq{method: "DELETE", path: r.raURL(r.rg, r.raA)}); w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("DELETE again: %d %q", w.Code, w.Body.String())
	}
	r.call("GET", r.raURL(r.rg, r.raA), "", 404)
	if err := r.may(r.a, r.rg, "Microsoft.Resources/subscriptions/resourceGroups/read"); err == nil {
		t.Error("the deleted assignment still grants")
	}
	r.call("PATCH", r.raURL(r.rg, r.raAV), `{}`, 405)
}

// TestARMRoleAssignmentPutErrors: the assignment name must be a GUID (400
// InvalidRoleAssignmentId), the principal given (400 InvalidPrincipalId),
// the role exist (400 RoleDefinitionDoesNotExist); the same principal, role
// and scope under another name is 409 RoleAssignmentExists; reusing a name
// for another principal 409; an identical PUT is idempotent; an unknown
// subscription is 404 SubscriptionNotFound; a body that is not a JSON
// object is 400.
func TestARMRoleAssignmentPutErrors(t *testing.T) {
	r := newRAEnv(t)
	wantError(t, "name", r.put(r.rg, "not-a-guid", management.Reader.ID, r.a, 400), "InvalidRoleAssignmentId")
	wantError(t, "principal", r.put(r.rg, armGUID(t), management.Reader.ID, "", 400), "InvalidPrincipalId")
	wantError(t, "role", r.put(r.rg, armGUID(t), "00000000-1111-4222-8333-444444444444", r.a, 400), "RoleDefinitionDoesNotExist")
	wantError(t, "duplicate", r.put(r.rg, armGUID(t), management.Reader.ID, r.a, 409), "RoleAssignmentExists")
	wantError(t, "name of another principal", r.put(r.rg, r.raA, management.Reader.ID, r.b, 409), "RoleAssignmentUpdateNotPermitted")
	wantError(t, "name moved to another scope", r.put(r.sub, r.raA, management.Reader.ID, r.a, 409), "RoleAssignmentUpdateNotPermitted")
	if got := r.put(r.rg, r.raA, management.Reader.ID, r.a, 201); got["name"] != r.raA {
		t.Errorf("idempotent PUT: %v", got)
	}
	missing := "/subscriptions/00000000-0000-4000-8000-000000000000"
	wantError(t, "subscription", r.put(missing, armGUID(t), management.Reader.ID, r.a, 404), "SubscriptionNotFound")
	for _, body := range []string{`{"properties":`, `[]`, ``, `{"properties":{"principalId":5}}`} {
		r.call("PUT", r.raURL(r.rg, armGUID(t)), body, 400)
	}
	if got := r.list(r.rg, "atScope() and principalId eq '"+r.a+"'"); !slices.Equal(got, []string{r.raA}) {
		t.Errorf("stored: %v", got)
	}
}

// TestARMAuthorizationRoutes: role assignments and definitions are served
// at subscription, group and resource scopes; other scopes and deeper paths
// are 404, other Microsoft.Authorization types 404 InvalidResourceType.
func TestARMAuthorizationRoutes(t *testing.T) {
	r := newRAEnv(t)
	r.call("GET", "/foo/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 404)
	r.call("GET", "/subscriptions/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 404)
	r.call("GET", r.sub+"/providers/Microsoft.Authorization/roleAssignments/a/b/c?api-version=2022-04-01", "", 404)
	wantError(t, "other type", r.call("GET", r.sub+"/providers/Microsoft.Authorization/locks?api-version=2022-04-01", "", 404), "InvalidResourceType")
	// The tenant root: the owner of a subscription holds no role there.
	wantError(t, "root", r.call("GET", "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 403), "AuthorizationFailed")
}

// TestARMRoleAssignmentAuthorization: reading assignments needs
// roleAssignments/read at the scope, writing roleAssignments/write (a
// Reader may list, not assign; Contributor may not assign either).
func TestARMRoleAssignmentAuthorization(t *testing.T) {
	r := newRAEnv(t)
	tok, oid := r.stranger("visitor")
	wantError(t, "list", r.expect(armReq{method: "GET", path: r.sub + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", token: tok}, 403), "AuthorizationFailed")
	wantError(t, "get", r.expect(armReq{method: "GET", path: r.raURL(r.rg, r.raA), token: tok}, 403), "AuthorizationFailed")
	wantError(t, "delete", r.expect(armReq{method: "DELETE", path: r.raURL(r.rg, r.raA), token: tok}, 403), "AuthorizationFailed")
	r.put(r.rg, armGUID(t), management.Contributor.ID, oid, 201)
	r.expect(armReq{method: "GET", path: r.rg + "/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", token: tok}, 200)
	body := `{"properties":{"roleDefinitionId":"` + r.sub + `/providers/Microsoft.Authorization/roleDefinitions/` + management.Owner.ID + `","principalId":"` + oid + `"}}`
	wantError(t, "Contributor makes itself Owner", r.expect(armReq{method: "PUT", path: r.raURL(r.rg, armGUID(t)), body: body, token: tok}, 403), "AuthorizationFailed")
	r.expect(armReq{method: "GET", path: r.raURL(r.rg, r.raA), token: tok}, 200)
}

// TestARMRoleDefinitions: Role Definitions - List with $filter roleName eq
// and type eq, and the lifecycle of a custom role: Create Or Update (201,
// also on update), Get, Delete (200 with the role, then 204); an id that is
// not a GUID is 400 InvalidRoleDefinitionId, a body without properties or
// with two permissions entries 400 InvalidRoleDefinition; a built-in role
// cannot be written; assignable scopes the caller may not write are 403
// LinkedAuthorizationFailed.
func TestARMRoleDefinitions(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	sub := "/subscriptions/" + e.sub
	defs := sub + "/providers/Microsoft.Authorization/roleDefinitions"
	q := "?api-version=2022-04-01"
	list := func(filter string) []map[string]any {
		return armList(e.call("GET", defs+q+"&$filter="+url.QueryEscape(filter), "", 200))
	}
	if got := list("roleName eq 'Reader'"); len(got) != 1 || got[0]["name"] != management.Reader.ID || armProp(got[0], "properties", "type") != "BuiltInRole" {
		t.Errorf("roleName filter: %v", got)
	}
	if got := list("roleName eq 'reader'"); len(got) != 1 {
		t.Errorf("roleName filter, other case: %v", got)
	}
	if got := list("type eq 'CustomRole'"); len(got) != 0 {
		t.Errorf("no custom role yet: %v", got)
	}

	id := armGUID(t)
	body := `{"properties":{"roleName":"Vault Lister","description":"Lists vaults","type":"CustomRole","permissions":[{"actions":["Microsoft.KeyVault/vaults/read"]}],"assignableScopes":["` + sub + `"]}}`
	wantError(t, "id", e.call("PUT", defs+"/not-a-guid"+q, body, 400), "InvalidRoleDefinitionId")
	wantError(t, "no properties", e.call("PUT", defs+"/"+id+q, `{}`, 400), "InvalidRoleDefinition")
	wantError(t, "two permissions", e.call("PUT", defs+"/"+id+q, strings.Replace(body, `"permissions":[{`, `"permissions":[{"actions":["*/read"]},{`, 1), 400), "InvalidRoleDefinition")
	e.call("PUT", defs+"/"+id+q, `{"properties":`, 400)
	wantError(t, "built-in", e.call("PUT", defs+"/"+management.Reader.ID+q, body, 403), "RoleDefinitionUpdateNotAllowed")

	created := e.call("PUT", defs+"/"+id+q, body, 201)
	p := created["properties"].(map[string]any)
	if created["id"] != defs+"/"+id || created["name"] != id || created["type"] != "Microsoft.Authorization/roleDefinitions" ||
		p["roleName"] != "Vault Lister" || p["type"] != "CustomRole" || p["createdBy"] != e.owner.ObjectID {
		t.Errorf("created: %v", created)
	}
	if got := list("type eq 'CustomRole'"); len(got) != 1 || got[0]["name"] != id {
		t.Errorf("custom roles: %v", got)
	}
	if got := list("roleName eq 'Vault Lister' and type eq 'CustomRole'"); len(got) != 1 {
		t.Errorf("both filters: %v", got)
	}
	updated := e.call("PUT", defs+"/"+id+q, strings.Replace(body, "Lists vaults", "Lists the vaults", 1), 201)
	if armProp(updated, "properties", "description") != "Lists the vaults" || armProp(updated, "properties", "createdOn") != p["createdOn"] {
		t.Errorf("updated: %v", updated)
	}
	if got := e.call("GET", defs+"/"+id+q, "", 200); armProp(got, "properties", "description") != "Lists the vaults" {
		t.Errorf("GET: %v", got)
	}

	// A subscription the caller holds no role in cannot be an assignable scope.
	other, err := e.mgmt.CreateSubscription(ctx, "other", e.tenant)
	if err != nil {
		t.Fatal(err)
	}
	linked := strings.Replace(body, `"assignableScopes":["`+sub+`"]`, `"assignableScopes":["`+sub+`","/subscriptions/`+other.ID+`"]`, 1)
	got := e.call("PUT", defs+"/"+id+q, linked, 403)
	if armCode(got) != "LinkedAuthorizationFailed" || !strings.Contains(armProp(got, "error", "message").(string), "/subscriptions/"+other.ID) {
		t.Errorf("linked scope: %v", got)
	}

	del := e.call("DELETE", defs+"/"+id+q, "", 200)
	if del["name"] != id || armProp(del, "properties", "roleName") != "Vault Lister" {
		t.Errorf("DELETE: %v", del)
	}
	if w := e.do(armReq{method: "DELETE", path: defs + "/" + id + q}); w.Code != 204 {
		t.Errorf("DELETE again: %d %s", w.Code, w.Body.String())
	}
	e.call("GET", defs+"/"+id+q, "", 404)
	wantError(t, "DELETE id", e.call("DELETE", defs+"/nope"+q, "", 400), "InvalidRoleDefinitionId")
	e.call("PATCH", defs+"/"+id+q, `{}`, 405)
	e.call("POST", defs+q, `{}`, 405)

	// Without roleDefinitions/write the caller cannot create one.
	tok, _ := e.stranger("creator")
	e.expect(armReq{method: "PUT", path: defs + "/" + armGUID(t) + q, body: body, token: tok}, 403)
	e.expect(armReq{method: "DELETE", path: defs + "/" + armGUID(t) + q, token: tok}, 403)
}
