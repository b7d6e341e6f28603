package arm_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/arcakv/arca/management"
)

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestARMResourceGroupCRUD: Resource Groups - Create Or Update answers 201
// for a new group and 200 for an existing one, with ARM's ResourceGroup
// shape (location normalised, tags, provisioningState); Get, Check
// Existence (HEAD: 204/404), Update (PATCH: tags replaced, the rest kept)
// and List; an unknown group is 404 ResourceGroupNotFound.
func TestARMResourceGroupCRUD(t *testing.T) {
	e := newARMEnv(t)
	got := e.call("PUT", "resourcegroups/rg2", `{"location":"West US","tags":{"env":"test"}}`, 201)
	wantID := "/subscriptions/" + e.sub + "/resourceGroups/rg2"
	if got["id"] != wantID || got["name"] != "rg2" || got["type"] != "Microsoft.Resources/resourceGroups" || got["location"] != "westus" ||
		armProp(got, "tags", "env") != "test" || armProp(got, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("created: %v", got)
	}
	if _, ok := got["managedBy"]; ok {
		t.Errorf("managedBy without one: %v", got)
	}
	if again := e.call("PUT", "resourcegroups/rg2", `{"location":"westus","tags":{"env":"test"}}`, 200); again["id"] != wantID {
		t.Errorf("again: %v", again)
	}
	// Names are case-insensitive; the answer keeps the stored name.
	if read := e.call("GET", "resourceGroups/RG2", "", 200); read["name"] != "rg2" || read["id"] != wantID || armProp(read, "tags", "env") != "test" {
		t.Errorf("GET: %v", read)
	}
	if w := e.do(armReq{method: "HEAD", path: "resourcegroups/rg2"}); w.Code != 204 || w.Body.Len() != 0 {
		t.Errorf("HEAD existing: %d %q", w.Code, w.Body.String())
	}
	if w := e.do(armReq{method: "HEAD", path: "resourcegroups/nope"}); w.Code != 404 || w.Body.Len() != 0 {
		t.Errorf("HEAD missing: %d %q", w.Code, w.Body.String())
	}

	// PATCH replaces the tags and keeps the location.
	patched := e.call("PATCH", "resourcegroups/rg2", `{"tags":{"owner":"me"}}`, 200)
	if patched["location"] != "westus" || armProp(patched, "tags", "owner") != "me" || armProp(patched, "tags", "env") != nil {
		t.Errorf("PATCH tags: %v", patched)
	}
	// PATCH without tags keeps them.
	if kept := e.call("PATCH", "resourcegroups/rg2", `{}`, 200); armProp(kept, "tags", "owner") != "me" {
		t.Errorf("PATCH without tags: %v", kept)
	}

	list := e.call("GET", "resourcegroups", "", 200)
	if !hasName(list, "rg") || !hasName(list, "rg2") || len(armList(list)) != 2 {
		t.Errorf("list: %v", armNames(list))
	}
	for _, g := range armList(list) {
		if g["type"] != "Microsoft.Resources/resourceGroups" || g["id"] != "/subscriptions/"+e.sub+"/resourceGroups/"+g["name"].(string) {
			t.Errorf("listed: %v", g)
		}
	}

	wantError(t, "GET missing", e.call("GET", "resourcegroups/nope", "", 404), "ResourceGroupNotFound")
	if got := e.call("GET", "resourcegroups/nope", "", 404); armProp(got, "error", "message") != "Resource group 'nope' could not be found." {
		t.Errorf("message: %v", got)
	}
	wantError(t, "PATCH missing", e.call("PATCH", "resourcegroups/nope", `{"tags":{}}`, 404), "ResourceGroupNotFound")
	e.call("POST", "resourcegroups/rg2", `{}`, 405)
}

// TestARMResourceGroupInvalid: the create errors ARM answers: no location
// (400 LocationRequired), a name ARM refuses (400), a body that is not a
// JSON object (400).
func TestARMResourceGroupInvalid(t *testing.T) {
	e := newARMEnv(t)
	wantError(t, "no location", e.call("PUT", "resourcegroups/rg3", `{"tags":{}}`, 400), "LocationRequired")
	for _, name := range []string{"bad*name", "ends.", strings.Repeat("a", 91), "sp%20ace"} {
		got := e.call("PUT", "resourcegroups/"+name, `{"location":"westus"}`, 400)
		if armCode(got) == "" {
			t.Errorf("%q: %v", name, got)
		}
		e.call("GET", "resourcegroups/"+name, "", 404)
	}
	for _, body := range []string{`{"location":`, `["westus"]`, ``, `{"location":5}`} {
		if got := e.call("PUT", "resourcegroups/rg3", body, 400); armCode(got) == "" {
			t.Errorf("body %q: %v", body, got)
		}
	}
	e.call("GET", "resourcegroups/rg3", "", 404)
	// Names of 90 characters with every allowed character are fine.
	e.call("PUT", "resourcegroups/"+strings.Repeat("a", 84)+"_().-9", `{"location":"westus"}`, 201)
}

// TestARMResourceGroupLocationConflict: creating a group that exists in
// another location is ARM's 409 InvalidResourceGroupLocation ("Invalid
// resource group location 'eastus'. The Resource group already exists in
// location 'westus'."), as `az group create` and the Azure SDKs report it
// (e.g. "Resource group create_or_update failed with status code: 409 and
// message: Invalid resource group location ...", trailofbits/algo#1814).
// The group is not changed.
func TestARMResourceGroupLocationConflict(t *testing.T) {
	e := newARMEnv(t)
	w := e.do(armReq{method: "PUT", path: "resourcegroups/rg", body: `{"location":"eastus"}`})
	if !strings.Contains(w.Body.String(), "InvalidResourceGroupLocation") ||
		!strings.Contains(w.Body.String(), "The Resource group already exists in location 'westus'.") {
		t.Errorf("body: %s", w.Body.String())
	}
	if w.Code != 409 {
		t.Errorf("status %d, want 409 Conflict as ARM's", w.Code)
	}
	if got := e.call("GET", "resourcegroups/rg", "", 200); got["location"] != "westus" {
		t.Errorf("changed: %v", got)
	}
}

// TestARMResourceGroupManagedBy: managedBy is stored and answered; a PATCH
// that does not name it (az group update --tags) keeps it, as ARM's PATCH
// keeps every property the request leaves out.
func TestARMResourceGroupManagedBy(t *testing.T) {
	e := newARMEnv(t)
	mb := "/subscriptions/" + e.sub + "/resourceGroups/rg/providers/Microsoft.Something/things/t1"
	if got := e.call("PUT", "resourcegroups/managed", `{"location":"westus","managedBy":"`+mb+`"}`, 201); got["managedBy"] != mb {
		t.Fatalf("PUT: %v", got)
	}
	if got := e.call("PATCH", "resourcegroups/managed", `{"tags":{"a":"b"}}`, 200); got["managedBy"] != mb || armProp(got, "tags", "a") != "b" {
		t.Errorf("PATCH: %v", got)
	}
	if got := e.call("GET", "resourcegroups/managed", "", 200); got["managedBy"] != mb {
		t.Errorf("GET after PATCH: %v", got)
	}
}

// TestARMResourceGroupDelete: deleting a group is ARM's long-running 202
// with a Location (whose GET answers 200) and Retry-After; its vaults become
// soft-deleted vaults (or are purged, without soft delete), the role
// assignments made inside it go, and nothing outside it is touched. A
// missing group is 404 ResourceGroupNotFound.
func TestARMResourceGroupDelete(t *testing.T) {
	e := newARMEnv(t)
	e.call("PUT", "resourcegroups/doomed", `{"location":"westus"}`, 201)
	e.call("PUT", vaultPath("doomed", "soft1"), e.vaultBody(`,"softDeleteRetentionInDays":7`), 200)
	e.call("PUT", vaultPath("doomed", "hard1"), e.vaultBody(`,"enableSoftDelete":false`), 200)
	e.putVault("survivor", "90")
	reader := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	inside := "/subscriptions/" + e.sub + "/resourceGroups/doomed/providers/Microsoft.Authorization/roleAssignments/" + armGUID(t) + "?api-version=2022-04-01"
	outside := "/subscriptions/" + e.sub + "/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/" + armGUID(t) + "?api-version=2022-04-01"
	for _, p := range []string{inside, outside} {
		e.call("PUT", p, `{"properties":{"roleDefinitionId":"`+reader+`","principalId":"`+e.owner.ObjectID+`"}}`, 201)
	}

	w := e.do(armReq{method: "DELETE", path: "resourcegroups/doomed?api-version=2021-04-01"})
	if w.Code != 202 {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body.String())
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Scheme != "https" || loc.Host != "localhost:8443" || loc.Query().Get("api-version") != "2021-04-01" ||
		!strings.HasPrefix(loc.Path, "/subscriptions/"+e.sub+"/operationresults/") {
		t.Fatalf("Location %q", w.Header().Get("Location"))
	}
	if op := strings.TrimPrefix(loc.Path, "/subscriptions/"+e.sub+"/operationresults/"); !guidPattern.MatchString(op) {
		t.Errorf("operation id %q is not a version 4 UUID", op)
	}
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	e.call("GET", loc.RequestURI(), "", 200)

	wantError(t, "GET deleted group", e.call("GET", "resourcegroups/doomed", "", 404), "ResourceGroupNotFound")
	wantError(t, "vault of deleted group", e.call("GET", vaultPath("doomed", "soft1"), "", 404), "ResourceGroupNotFound")
	deleted := e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200)
	if !hasName(deleted, "soft1") || hasName(deleted, "hard1") || hasName(deleted, "survivor") {
		t.Errorf("deleted vaults: %v", armNames(deleted))
	}
	for _, d := range armList(deleted) {
		if d["name"] == "soft1" && armProp(d, "properties", "vaultId") != "/subscriptions/"+e.sub+"/resourceGroups/doomed/providers/Microsoft.KeyVault/vaults/soft1" {
			t.Errorf("deleted vault: %v", d)
		}
	}
	if vs := e.call("GET", "providers/Microsoft.KeyVault/vaults", "", 200); !hasName(vs, "survivor") || len(armList(vs)) != 1 {
		t.Errorf("vaults left: %v", armNames(vs))
	}
	e.call("GET", outside, "", 200)
	for _, ra := range armList(e.call("GET", "/subscriptions/"+e.sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 200)) {
		if strings.Contains(strings.ToLower(armProp(ra, "properties", "scope").(string)), "/resourcegroups/doomed") {
			t.Errorf("assignment inside the deleted group kept: %v", ra)
		}
	}
	// The soft-deleted vault still holds its name; the purged one does not.
	if got := e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"soft1","type":"Microsoft.KeyVault/vaults"}`, 200); got["nameAvailable"] != false {
		t.Errorf("soft1 name: %v", got)
	}
	if got := e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"hard1","type":"Microsoft.KeyVault/vaults"}`, 200); got["nameAvailable"] != true {
		t.Errorf("hard1 name: %v", got)
	}

	wantError(t, "DELETE again", e.call("DELETE", "resourcegroups/doomed", "", 404), "ResourceGroupNotFound")
	// A group of the same name can be made again.
	e.call("PUT", "resourcegroups/doomed", `{"location":"eastus"}`, 201)
}

// TestARMResources: Resources - List (by subscription and by group) lists
// the vaults as GenericResources, with ARM's $filter on resourceType, name,
// resourceGroup, location, tagName and tagValue; another resource type
// lists nothing; a filter ARM does not support is 400
// InvalidFilterInQueryString.
func TestARMResources(t *testing.T) {
	e := newARMEnv(t)
	e.call("PUT", "resourcegroups/rg2", `{"location":"eastus"}`, 201)
	e.call("PUT", vaultPath("rg", "res1"), `{"location":"westus","tags":{"team":"a"},"properties":{"tenantId":"`+e.tenant+`","sku":{"name":"standard"}}}`, 200)
	e.call("PUT", vaultPath("rg2", "res2"), `{"location":"eastus","tags":{"team":"b"},"properties":{"tenantId":"`+e.tenant+`","sku":{"name":"premium"}}}`, 200)

	all := e.call("GET", "resources", "", 200)
	if len(armList(all)) != 2 {
		t.Fatalf("all: %v", all)
	}
	for _, r := range armList(all) {
		if r["type"] != "Microsoft.KeyVault/vaults" || !strings.HasSuffix(r["id"].(string), "/providers/Microsoft.KeyVault/vaults/"+r["name"].(string)) ||
			r["location"] == nil || r["tags"] == nil {
			t.Errorf("resource: %v", r)
		}
	}
	if got := armNames(e.call("GET", "resourceGroups/rg2/resources", "", 200)); len(got) != 1 || got[0] != "res2" {
		t.Errorf("in rg2: %v", got)
	}
	for filter, want := range map[string]string{
		"resourceType eq 'Microsoft.KeyVault/vaults'":         "res1,res2",
		"resourceType eq 'microsoft.keyvault/vaults'":         "res1,res2",
		"resourceType eq 'Microsoft.Storage/storageAccounts'": "",
		"name eq 'res2'":                        "res2",
		"resourceGroup eq 'RG'":                 "res1",
		"location eq 'eastus'":                  "res2",
		"tagName eq 'team'":                     "res1,res2",
		"tagName eq 'team' and tagValue eq 'a'": "res1",
		"tagName eq 'nope'":                     "",
		"resourceType eq 'Microsoft.KeyVault/vaults' and name eq 'res1'": "res1",
	} {
		got := armNames(e.call("GET", "resources?$filter="+url.QueryEscape(filter), "", 200))
		if strings.Join(sorted(got), ",") != want {
			t.Errorf("$filter=%s: %v, want %s", filter, got, want)
		}
	}
	for _, filter := range []string{"substringof('a', name)", "kind eq 'x'", "name eq res1"} {
		wantError(t, filter, e.call("GET", "resources?$filter="+url.QueryEscape(filter), "", 400), "InvalidFilterInQueryString")
	}
	e.call("POST", "resources", `{}`, 405)
}

// TestARMGroupScopeRoutes: below a resource group, an unknown group is 404
// ResourceGroupNotFound before anything else; Managed HSMs list empty and
// none exists; another provider's resources are 404
// NoRegisteredProviderFound; unknown paths 404.
func TestARMGroupScopeRoutes(t *testing.T) {
	e := newARMEnv(t)
	for _, p := range []string{"resourceGroups/nope/providers/Microsoft.KeyVault/vaults", vaultPath("nope", "v1"), "resourceGroups/nope/resources"} {
		wantError(t, p, e.call("GET", p, "", 404), "ResourceGroupNotFound")
	}
	wantError(t, "PUT vault in missing group", e.call("PUT", vaultPath("nope", "v1"), e.vaultBody(""), 404), "ResourceGroupNotFound")
	if got := e.call("GET", "resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs", "", 200); len(armList(got)) != 0 || got["value"] == nil {
		t.Errorf("managedHSMs: %v", got)
	}
	wantError(t, "managed HSM", e.call("GET", "resourceGroups/rg/providers/Microsoft.KeyVault/managedHSMs/h1", "", 404), "ResourceNotFound")
	wantError(t, "other provider", e.call("GET", "resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s1", "", 404), "NoRegisteredProviderFound")
	e.call("GET", "resourceGroups/rg/whatever", "", 404)
	e.call("GET", vaultPath("rg", "v1")+"/secrets", "", 404)
}

// TestARMResourceGroupAuthorization: a caller without a role assignment is
// 403 AuthorizationFailed on every group operation (HEAD: a bare 403);
// Reader on the group lets it read the group but not write it.
func TestARMResourceGroupAuthorization(t *testing.T) {
	e := newARMEnv(t)
	tok, oid := e.stranger("nobody")
	for _, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
		got := e.expect(armReq{method: m, path: "resourcegroups/rg", body: `{"location":"westus"}`, token: tok}, 403)
		wantError(t, m, got, "AuthorizationFailed")
	}
	if w := e.do(armReq{method: "HEAD", path: "resourcegroups/rg", token: tok}); w.Code != 403 {
		t.Errorf("HEAD: %d", w.Code)
	}
	wantError(t, "list", e.expect(armReq{method: "GET", path: "resourcegroups", token: tok}, 403), "AuthorizationFailed")

	reader := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	e.call("PUT", "/subscriptions/"+e.sub+"/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/"+armGUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"`+reader+`","principalId":"`+oid+`"}}`, 201)
	e.expect(armReq{method: "GET", path: "resourcegroups/rg", token: tok}, 200)
	if w := e.do(armReq{method: "HEAD", path: "resourcegroups/rg", token: tok}); w.Code != 204 {
		t.Errorf("HEAD as reader: %d", w.Code)
	}
	wantError(t, "PATCH as reader", e.expect(armReq{method: "PATCH", path: "resourcegroups/rg", body: `{"tags":{}}`, token: tok}, 403), "AuthorizationFailed")
	// Reader on one group does not list the subscription's groups.
	e.expect(armReq{method: "GET", path: "resourcegroups", token: tok}, 403)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
