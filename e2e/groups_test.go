package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/arcakv/arca/management"
)

// graph calls Microsoft Graph on the deployment with bearer and decodes
// the answer; it fails the test on an unexpected status.
func (f *fixture) graph(bearer, method, path, body string, want int) map[string]any {
	f.t.Helper()
	resp, raw := f.do(method, f.authority()+"/v1.0/"+path, bearer, body)
	if resp.StatusCode != want {
		f.t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, raw, want)
	}
	out := map[string]any{}
	_ = json.Unmarshal([]byte(raw), &out)
	return out
}

// TestGroupMembershipGrantsAccess: security groups made through Graph
// (as `az ad group create` / `member add` do) count in both permission
// models, transitively, and membership changes apply at once; only a
// group owner or a directory writer may change a group.
func TestGroupMembershipGrantsAccess(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	owner := f.arm()
	sub := owner.sub
	tenant := f.r.App.Facts.TenantID
	graphTok := f.token("https://graph.localhost:" + f.port() + "/.default")
	devTok := f.token("https://vault.localhost:" + f.port() + "/.default")
	outer := f.graph(graphTok, "POST", "groups", `{"displayName":"Vault Readers","mailNickname":"vault-readers","mailEnabled":false,"securityEnabled":true}`, 201)
	inner := f.graph(graphTok, "POST", "groups", `{"displayName":"Team A","mailNickname":"team-a","mailEnabled":false,"securityEnabled":true}`, 201)
	outerID, innerID := outer["id"].(string), inner["id"].(string)
	if outer["securityEnabled"] != true || outer["mailNickname"] != "vault-readers" {
		t.Fatalf("group: %v", outer)
	}
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "grouped-app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(id string) string {
		return `{"@odata.id":"https://graph.localhost:` + f.port() + `/v1.0/directoryObjects/` + id + `"}`
	}
	// A principal that is neither owner nor directory writer cannot touch groups.
	spGraph := f.spToken(sp.AppID, secret, "https://graph.localhost:"+f.port())
	if e := f.graph(spGraph, "POST", "groups/"+outerID+"/members/$ref", ref(sp.ObjectID), 403); dig(e, "error", "code") != "Authorization_RequestDenied" {
		t.Fatalf("self-add: %v", e)
	}
	f.graph(spGraph, "POST", "groups", `{"displayName":"Mine","mailNickname":"mine"}`, 403)
	// Team A (with the app) is a member of Vault Readers.
	f.graph(graphTok, "POST", "groups/"+innerID+"/members/$ref", ref(sp.ObjectID), 204)
	f.graph(graphTok, "POST", "groups/"+outerID+"/members/$ref", ref(innerID), 204)
	if e := f.graph(graphTok, "POST", "groups/"+innerID+"/members/$ref", ref(outerID), 400); !strings.Contains(dig(e, "error", "message").(string), "member of itself") {
		t.Fatalf("cycle: %v", e)
	}
	if e := f.graph(graphTok, "POST", "groups/"+innerID+"/members/$ref", ref(sp.ObjectID), 400); !strings.Contains(dig(e, "error", "message").(string), "already exist") {
		t.Fatalf("duplicate: %v", e)
	}
	if got := f.graph(graphTok, "POST", "directoryObjects/"+sp.ObjectID+"/checkMemberGroups", `{"groupIds":["`+outerID+`"]}`, 200); len(got["value"].([]any)) != 1 {
		t.Fatalf("checkMemberGroups: %v", got)
	}
	if got := f.graph(graphTok, "GET", "groups?$filter="+url.QueryEscape("displayName eq 'Vault Readers' and mailNickname eq 'vault-readers'"), "", 200); len(values(got)) != 1 {
		t.Fatalf("filter: %v", got)
	}
	if got := f.graph(graphTok, "GET", "groups/"+innerID+"/members", "", 200); len(values(got)) != 1 || values(got)[0]["@odata.type"] != "#microsoft.graph.servicePrincipal" {
		t.Fatalf("members: %v", got)
	}

	// Access-policy mode: a policy for the outer group.
	f.do("PUT", f.vaultURL("arca")+"/secrets/shared?api-version=7.4", devTok, `{"value":"group-visible"}`)
	tok := f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port())
	get := func(vault string) int {
		resp, _ := f.do("GET", f.vaultURL(vault)+"/secrets/shared/?api-version=7.4", tok, "")
		return resp.StatusCode
	}
	if code := get("arca"); code != 403 {
		t.Fatalf("before the group policy: %d", code)
	}
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/arca/accessPolicies/add?api-version=2023-07-01",
		`{"properties":{"accessPolicies":[{"tenantId":"`+tenant+`","objectId":"`+outerID+`","permissions":{"secrets":["get"]}}]}}`, 200)
	if code := get("arca"); code != 200 {
		t.Fatalf("through the nested group: %d", code)
	}

	// RBAC mode: Secrets User assigned to the outer group at the vault.
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/grouprbac?api-version=2023-07-01",
		`{"location":"local","properties":{"tenantId":"`+tenant+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true}}`, 200)
	devSP, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	vaultScope := "/subscriptions/" + sub + "/resourceGroups/arca/providers/Microsoft.KeyVault/vaults/grouprbac"
	assign := func(principal, ptype, role string) {
		owner.call("PUT", vaultScope+"/providers/Microsoft.Authorization/roleAssignments/"+strings.ToLower(mustUUID(t))+"?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/`+role+`","principalId":"`+principal+`","principalType":"`+ptype+`"}}`, 201)
	}
	assign(devSP.ObjectID, "ServicePrincipal", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7")
	f.do("PUT", f.vaultURL("grouprbac")+"/secrets/shared?api-version=7.4", devTok, `{"value":"group-visible"}`)
	if code := get("grouprbac"); code != 403 {
		t.Fatalf("rbac before the group assignment: %d", code)
	}
	assign(outerID, "Group", "4633458b-17de-408a-b874-0445c86b69e6")
	if code := get("grouprbac"); code != 200 {
		t.Fatalf("rbac through the nested group: %d", code)
	}
	// The management plane counts groups too: Reader on the subscription for the outer group.
	mgmt := "https://management.localhost:" + f.port()
	a := &arm{f: f, token: f.spToken(sp.AppID, secret, mgmt), sub: sub}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 403)
	owner.call("PUT", "/subscriptions/"+sub+"/providers/Microsoft.Authorization/roleAssignments/"+strings.ToLower(mustUUID(t))+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"`+management.Reader.ID+`","principalId":"`+outerID+`","principalType":"Group"}}`, 201)
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 200)
	if subs := values(a.call("GET", "/subscriptions?api-version=2019-11-01", "", 200)); len(subs) != 1 {
		t.Fatalf("subscriptions through the group: %v", subs)
	}
	a.call("PUT", "resourcegroups/rg9?api-version=2021-04-01", `{"location":"westus"}`, 403)
	// Leaving Team A removes every grant at once.
	f.graph(graphTok, "DELETE", "groups/"+innerID+"/members/"+sp.ObjectID+"/$ref", "", 204)
	if a, b := get("arca"), get("grouprbac"); a != 403 || b != 403 {
		t.Fatalf("after leaving the group: policy %d, rbac %d", a, b)
	}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 403)
	f.graph(graphTok, "DELETE", "groups/"+innerID+"/members/"+sp.ObjectID+"/$ref", "", 404)
	f.graph(graphTok, "DELETE", "groups/"+outerID, "", 204)
	f.graph(graphTok, "GET", "groups/"+outerID, "", 404)

	// With a subscription the development identity does not own, it may no
	// longer manage groups (a group could hold rights there), not even the
	// one it created.
	if _, err := f.r.App.Management.CreateSubscription(ctx, "other", tenant, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	f.graph(graphTok, "POST", "groups", `{"displayName":"Late","mailNickname":"late"}`, 403)
	f.graph(graphTok, "POST", "groups/"+innerID+"/members/$ref", ref(devSP.ObjectID), 403)
	f.graph(graphTok, "DELETE", "groups/"+innerID, "", 403)
	f.graph(graphTok, "GET", "groups/"+innerID, "", 200)
}
