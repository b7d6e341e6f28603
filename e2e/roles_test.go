package e2e

import (
	"context"
	"net/url"
	"strings"
	"testing"
)

// TestCustomRoleDefinitionThroughARM: a custom role made through ARM with
// one data action, assigned in an RBAC vault, grants exactly that action;
// an update applies at once; the role cannot be deleted while assigned.
func TestCustomRoleDefinitionThroughARM(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	owner := f.arm()
	sub := "/subscriptions/" + owner.sub
	rg := sub + "/resourceGroups/arca"
	vaultScope := rg + "/providers/Microsoft.KeyVault/vaults/customrbac"
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/customrbac?api-version=2023-07-01",
		`{"location":"local","properties":{"tenantId":"`+f.r.App.Facts.TenantID+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true}}`, 200)
	devSP, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	assign := func(scope, principal, roleID string) string {
		name := strings.ToLower(mustUUID(t))
		owner.call("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"`+roleID+`","principalId":"`+principal+`"}}`, 201)
		return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name
	}
	const secretsOfficer = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	assign(vaultScope, devSP.ObjectID, secretsOfficer)
	devTok := f.token("https://vault.localhost:" + f.port() + "/.default")
	if resp, body := f.do("PUT", f.vaultURL("customrbac")+"/secrets/one?api-version=7.4", devTok, `{"value":"custom-role-value"}`); resp.StatusCode != 200 {
		t.Fatalf("officer set: %d %s", resp.StatusCode, body)
	}

	// Create the role as `az role definition create` does: a PUT at the first
	// assignable scope with a new GUID, no properties.type.
	roleID := strings.ToLower(mustUUID(t))
	defPath := sub + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID + "?api-version=2022-04-01"
	roleBody := func(dataActions ...string) string {
		return `{"properties":{"roleName":"Arca Secret Getter","description":"Reads secret values.","permissions":[{"actions":[],"dataActions":["` +
			strings.Join(dataActions, `","`) + `"]}],"assignableScopes":["` + sub + `"]}}`
	}
	const getSecret, readMetadata = "Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	created := owner.call("PUT", defPath, roleBody(getSecret), 201)
	fullID, _ := created["id"].(string)
	if fullID != sub+"/providers/Microsoft.Authorization/roleDefinitions/"+roleID || created["name"] != roleID ||
		dig(created, "properties", "type") != "CustomRole" || dig(created, "properties", "roleName") != "Arca Secret Getter" ||
		dig(created, "properties", "createdBy") != devSP.ObjectID || dig(created, "properties", "createdOn") == "" {
		t.Fatalf("created: %v", created)
	}
	if sc, _ := dig(created, "properties", "assignableScopes").([]any); len(sc) != 1 || sc[0] != sub {
		t.Fatalf("assignable scopes: %v", created)
	}
	if got := owner.call("GET", defPath, "", 200); dig(got, "properties", "type") != "CustomRole" {
		t.Fatalf("get: %v", got)
	}
	list := func(scope, filter string) []map[string]any {
		return values(owner.call("GET", scope+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$filter="+url.QueryEscape(filter), "", 200))
	}
	if got := list(sub, "roleName eq 'Arca Secret Getter'"); len(got) != 1 || got[0]["name"] != roleID {
		t.Fatalf("by name: %v", got)
	}
	if got := list(vaultScope, "type eq 'CustomRole'"); len(got) != 1 || got[0]["name"] != roleID {
		t.Fatalf("custom roles at the vault: %v", got)
	}
	if got := list(sub, "roleName eq 'Key Vault Reader'"); len(got) != 1 || dig(got[0], "properties", "type") != "BuiltInRole" {
		t.Fatalf("a built-in by name: %v", got)
	}

	// Refusals, Azure-shaped.
	for _, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01", roleBody(getSecret), 409, "RoleDefinitionWithSameNameExists"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/not-a-guid?api-version=2022-04-01", roleBody(getSecret), 400, "InvalidRoleDefinitionId"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01", `{"name":"x"}`, 400, "InvalidRoleDefinition"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01", `not json`, 400, "BadParameter"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01",
			`{"properties":{"roleName":"Other","permissions":[{"actions":["*/read"]}],"assignableScopes":["/"]}}`, 400, "InvalidAssignableScope"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01",
			`{"properties":{"roleName":"Other","permissions":[{"actions":["*/read"]}],"assignableScopes":["` + sub + `/resourceGroups/nope"]}}`, 400, "InvalidAssignableScope"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01",
			`{"properties":{"roleName":"Other","type":"BuiltInRole","permissions":[{"actions":["*/read"]}],"assignableScopes":["` + sub + `"]}}`, 400, "InvalidRoleDefinition"},
		{"PUT", sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7?api-version=2022-04-01",
			`{"properties":{"roleName":"Reader","permissions":[{"actions":["*"]}],"assignableScopes":["` + sub + `"]}}`, 403, "RoleDefinitionUpdateNotAllowed"},
		{"DELETE", sub + "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7?api-version=2022-04-01", "", 403, "RoleDefinitionUpdateNotAllowed"},
		{"GET", sub + "/providers/Microsoft.Authorization/roleDefinitions/" + mustUUID(t) + "?api-version=2022-04-01", "", 404, "RoleDefinitionDoesNotExist"},
		{"PATCH", defPath, "{}", 405, "MethodNotAllowed"},
	} {
		if got := owner.call(c.method, c.path, c.body, c.status); errCode(got) != c.code {
			t.Errorf("%s %s: %v (want %s)", c.method, c.path, got, c.code)
		}
	}

	// A principal with no role may not write roles; one that owns only the
	// resource group may not name the subscription as an assignable scope.
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "custom-role-user", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	mgmt := &arm{f: f, token: f.spToken(sp.AppID, secret, "https://management.localhost:"+f.port()), sub: owner.sub}
	if got := mgmt.call("PUT", rg+"/providers/Microsoft.Authorization/roleDefinitions/"+mustUUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleName":"Mine","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+rg+`"]}}`, 403); errCode(got) != "AuthorizationFailed" {
		t.Fatalf("no role: %v", got)
	}
	rgOwner := assign(rg, sp.ObjectID, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635")
	if got := mgmt.call("PUT", rg+"/providers/Microsoft.Authorization/roleDefinitions/"+mustUUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleName":"Mine","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+rg+`","`+sub+`"]}}`, 403); errCode(got) != "LinkedAuthorizationFailed" {
		t.Fatalf("linked scope: %v", got)
	}
	mineID := mustUUID(t)
	mgmt.call("PUT", rg+"/providers/Microsoft.Authorization/roleDefinitions/"+mineID+"?api-version=2022-04-01",
		`{"properties":{"roleName":"Mine","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+rg+`"]}}`, 201)
	// A role assignable in the group only cannot be assigned at the subscription.
	if got := owner.call("PUT", sub+"/providers/Microsoft.Authorization/roleAssignments/"+mustUUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"`+mineID+`","principalId":"`+sp.ObjectID+`"}}`, 400); errCode(got) != "RoleDefinitionDoesNotExist" {
		t.Fatalf("assigned outside its assignable scopes: %v", got)
	}
	mgmt.call("DELETE", rg+"/providers/Microsoft.Authorization/roleDefinitions/"+mineID+"?api-version=2022-04-01", "", 200)
	owner.call("DELETE", rgOwner+"?api-version=2022-04-01", "", 200)

	// Assign the custom role to the principal at the vault: exactly its data action.
	ra := assign(vaultScope, sp.ObjectID, fullID)
	tok := f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port())
	getOne := func() (int, string) {
		resp, body := f.do("GET", f.vaultURL("customrbac")+"/secrets/one/?api-version=7.4", tok, "")
		return resp.StatusCode, body
	}
	listSecrets := func() (int, string) {
		resp, body := f.do("GET", f.vaultURL("customrbac")+"/secrets?api-version=7.4", tok, "")
		return resp.StatusCode, body
	}
	if code, body := getOne(); code != 200 || !strings.Contains(body, "custom-role-value") {
		t.Fatalf("get with the custom role: %d %s", code, body)
	}
	if code, body := listSecrets(); code != 403 || !strings.Contains(body, "ForbiddenByRbac") || !strings.Contains(body, readMetadata) {
		t.Fatalf("list without readMetadata: %d %s", code, body)
	}
	// Update the role (same GUID): the new action applies at once.
	if got := owner.call("PUT", defPath, roleBody(getSecret, readMetadata), 201); dig(got, "properties", "createdBy") != devSP.ObjectID {
		t.Fatalf("update: %v", got)
	}
	if code, body := listSecrets(); code != 200 || !strings.Contains(body, "/secrets/one") {
		t.Fatalf("list after the update: %d %s", code, body)
	}
	// Not deletable while assigned; then the assignment, then the role.
	if got := owner.call("DELETE", defPath, "", 400); errCode(got) != "RoleDefinitionHasAssignments" {
		t.Fatalf("delete while assigned: %v", got)
	}
	owner.call("DELETE", ra+"?api-version=2022-04-01", "", 200)
	if got := owner.call("DELETE", defPath, "", 200); got["name"] != roleID || dig(got, "properties", "roleName") != "Arca Secret Getter" {
		t.Fatalf("delete: %v", got)
	}
	owner.call("DELETE", defPath, "", 204)
	owner.call("GET", defPath, "", 404)
	if got := list(sub, "type eq 'CustomRole'"); len(got) != 0 {
		t.Fatalf("custom roles after the delete: %v", got)
	}
	if code, _ := getOne(); code != 403 {
		t.Fatalf("get after the role is gone: %d", code)
	}
}
