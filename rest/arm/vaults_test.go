package arm_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/management"
)

// TestARMVaultCreate: Vaults - Create Or Update answers the Vault resource
// the az CLI and azure-mgmt-keyvault read: id, name, type, location, tags,
// systemData and properties with sku {family, name}, tenantId,
// accessPolicies, vaultUri (with its trailing slash), the enabledFor*
// flags, enableSoftDelete (default true), softDeleteRetentionInDays
// (default 90), enableRbacAuthorization, provisioningState,
// publicNetworkAccess (default Enabled) and networkAcls as sent. GET
// answers the same; the "adfs" tenant is the deployment's tenant.
func TestARMVaultCreate(t *testing.T) {
	e := newARMEnv(t)
	policies := `[{"tenantId":"adfs","objectId":"` + e.owner.ObjectID + `","permissions":{"secrets":["get","list"],"keys":["sign"]}}]`
	acls := `{"bypass":"AzureServices","defaultAction":"Deny","ipRules":[{"value":"10.0.0.0/24"}],"virtualNetworkRules":[]}`
	got := e.call("PUT", vaultPath("rg", "Shape-Vault1"),
		`{"location":"West US","tags":{"env":"dev"},"properties":{"tenantId":"adfs","sku":{"family":"A","name":"Premium"},"accessPolicies":`+policies+
			`,"enabledForDeployment":true,"enabledForTemplateDeployment":true,"enableRbacAuthorization":false,"networkAcls":`+acls+`}}`, 200)
	wantID := "/subscriptions/" + e.sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/Shape-Vault1"
	if got["id"] != wantID || got["name"] != "Shape-Vault1" || got["type"] != "Microsoft.KeyVault/vaults" || got["location"] != "westus" ||
		armProp(got, "tags", "env") != "dev" {
		t.Fatalf("resource: %v", got)
	}
	p := got["properties"].(map[string]any)
	want := map[string]any{
		"tenantId": e.tenant, "enabledForDeployment": true,
		"enabledForDiskEncryption": false, "enabledForTemplateDeployment": true, "enableSoftDelete": true,
		"softDeleteRetentionInDays": float64(90), "enableRbacAuthorization": false, "provisioningState": "Succeeded",
		"publicNetworkAccess": "Enabled",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("properties.%s = %v, want %v", k, p[k], v)
		}
	}
	if !strings.EqualFold(p["vaultUri"].(string), "https://Shape-Vault1.vault.localhost:8443/") {
		t.Errorf("vaultUri %v", p["vaultUri"])
	}
	if armProp(got, "properties", "sku", "family") != "A" || armProp(got, "properties", "sku", "name") != "premium" {
		t.Errorf("sku %v", p["sku"])
	}
	if _, ok := p["enablePurgeProtection"]; ok {
		t.Errorf("enablePurgeProtection without purge protection: %v", p["enablePurgeProtection"])
	}
	var wantACLs, gotACLs any
	_ = json.Unmarshal([]byte(acls), &wantACLs)
	b, _ := json.Marshal(p["networkAcls"])
	_ = json.Unmarshal(b, &gotACLs)
	if !reflect.DeepEqual(wantACLs, gotACLs) {
		t.Errorf("networkAcls %s", b)
	}
	pols := p["accessPolicies"].([]any)
	if len(pols) != 1 || armProp(pols[0].(map[string]any), "tenantId") != e.tenant || armProp(pols[0].(map[string]any), "objectId") != e.owner.ObjectID ||
		!reflect.DeepEqual(armProp(pols[0].(map[string]any), "permissions", "secrets"), []any{"get", "list"}) {
		t.Errorf("accessPolicies %v", pols)
	}
	created, err := time.Parse(time.RFC3339Nano, armProp(got, "systemData", "createdAt").(string))
	if err != nil || !created.Equal(time.Unix(1_800_000_000, 0)) || armProp(got, "systemData", "lastModifiedAt") != armProp(got, "systemData", "createdAt") {
		t.Errorf("systemData %v", got["systemData"])
	}
	if read := e.call("GET", vaultPath("rg", "shape-vault1"), "", 200); !reflect.DeepEqual(read, got) {
		t.Errorf("GET differs:\n%v\n%v", read, got)
	}
	// The vault is the data plane's vault.
	v, err := e.srv.Vaults.Vault(context.Background(), "shape-vault1")
	if err != nil || v.Subscription != e.sub || v.ResourceGroup != "rg" || v.SKU != "premium" || len(v.AccessPolicies) != 1 {
		t.Fatalf("stored %+v %v", v, err)
	}

	// A minimal body takes Azure's defaults.
	min := e.call("PUT", vaultPath("rg", "minimal"), `{"location":"westus","properties":{"tenantId":"`+e.tenant+`","sku":{"name":"standard"}}}`, 200)
	if armProp(min, "properties", "softDeleteRetentionInDays") != float64(90) || armProp(min, "properties", "enableSoftDelete") != true ||
		!reflect.DeepEqual(armProp(min, "properties", "accessPolicies"), []any{}) || !reflect.DeepEqual(min["tags"], map[string]any{}) {
		t.Errorf("defaults: %v", min)
	}
	if _, ok := min["properties"].(map[string]any)["networkAcls"]; ok {
		t.Errorf("networkAcls without any: %v", min["properties"])
	}
}

// TestARMVaultCreateSnakeCase: azure-mgmt-keyvault sends a plain dict as it
// is, so snake_case member names (tenant_id, access_policies, object_id,
// enabled_for_deployment, soft_delete_retention_in_days) are ARM's
// camelCase ones; tag names are left as they are; the camelCase member wins
// when both are sent.
func TestARMVaultCreateSnakeCase(t *testing.T) {
	e := newARMEnv(t)
	got := e.call("PUT", vaultPath("rg", "snakevault"), `{"location":"westus","tags":{"cost_center":"42"},"properties":{"tenant_id":"`+e.tenant+
		`","sku":{"family":"A","name":"standard"},"access_policies":[{"tenant_id":"`+e.tenant+`","object_id":"oid-1","permissions":{"secrets":["get"]}}],`+
		`"enabled_for_deployment":true,"soft_delete_retention_in_days":7,"softDeleteRetentionInDays":14}}`, 200)
	p := got["properties"].(map[string]any)
	if p["enabledForDeployment"] != true || p["softDeleteRetentionInDays"] != float64(14) || armProp(got, "tags", "cost_center") != "42" {
		t.Errorf("snake case: %v", got)
	}
	if ids := armPolicyIDs(got); len(ids) != 1 || ids[0] != "oid-1" {
		t.Errorf("policies: %v", p["accessPolicies"])
	}
}

// TestARMVaultCreateInvalid: the 400s of a vault create: no properties, no
// location (LocationRequired), no tenantId or sku, an unknown SKU name or
// family, a tenant that is not the deployment's or not a GUID, a retention
// outside 7-90 days, an access policy without objectId, a name outside
// Azure's rules (VaultNameNotValid), purge protection without soft delete,
// and bodies that are not a JSON object. Nothing is created.
func TestARMVaultCreateInvalid(t *testing.T) {
	e := newARMEnv(t)
	other := "11111111-2222-4333-8444-555555555555"
	for name, body := range map[string]string{
		"no properties":         `{"location":"westus"}`,
		"null properties":       `{"location":"westus","properties":null}`,
		"no tenant":             `{"location":"westus","properties":{"sku":{"family":"A","name":"standard"}}}`,
		"no sku":                `{"location":"westus","properties":{"tenantId":"` + e.tenant + `"}}`,
		"sku name":              e.vaultBody(`,"sku":{"family":"A","name":"basic"}`),
		"sku family":            e.vaultBody(`,"sku":{"family":"B","name":"standard"}`),
		"other tenant":          strings.Replace(e.vaultBody(""), e.tenant, other, 1),
		"tenant not a GUID":     strings.Replace(e.vaultBody(""), e.tenant, "contoso", 1),
		"retention 6":           e.vaultBody(`,"softDeleteRetentionInDays":6`),
		"retention 91":          e.vaultBody(`,"softDeleteRetentionInDays":91`),
		"policy without object": e.vaultBody(`,"accessPolicies":[{"tenantId":"` + e.tenant + `","permissions":{"secrets":["get"]}}]`),
		"policy other tenant":   e.vaultBody(`,"accessPolicies":[{"tenantId":"` + other + `","objectId":"x","permissions":{}}]`),
		"purge without soft":    e.vaultBody(`,"enableSoftDelete":false,"enablePurgeProtection":true`),
		"not JSON":              `{"location":"westus",`,
		"array":                 `[{"location":"westus"}]`,
		"empty":                 ``,
		"wrong type":            `{"location":"westus","properties":{"tenantId":5}}`,
		"policies not an array": e.vaultBody(`,"accessPolicies":{}`),
	} {
		got := e.call("PUT", vaultPath("rg", "badvault"), body, 400)
		if armCode(got) == "" || armProp(got, "error", "message") == "" {
			t.Errorf("%s: %v", name, got)
		}
	}
	wantError(t, "no location", e.call("PUT", vaultPath("rg", "badvault"), `{"properties":{}}`, 400), "LocationRequired")
	for _, name := range []string{"1starts-with-digit", "a--b", "ab", "a_b", "ends-", strings.Repeat("v", 25)} {
		wantError(t, name, e.call("PUT", vaultPath("rg", name), e.vaultBody(""), 400), "VaultNameNotValid")
	}
	e.call("GET", vaultPath("rg", "badvault"), "", 404)
	if vs := e.call("GET", "providers/Microsoft.KeyVault/vaults", "", 200); len(armList(vs)) != 0 {
		t.Errorf("created anyway: %v", armNames(vs))
	}
}

// TestARMVaultNameConflicts: vault names are global: a name held by a vault
// of another resource group or subscription is 409 VaultAlreadyExists, one
// held by a soft-deleted vault is 409 ConflictError, and a vault's
// location cannot change.
func TestARMVaultNameConflicts(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	e.putVault("globalname", "90")
	e.call("PUT", "resourcegroups/rg2", `{"location":"westus"}`, 201)
	wantError(t, "other group", e.call("PUT", vaultPath("rg2", "GlobalName"), e.vaultBody(""), 409), "VaultAlreadyExists")
	sub2, err := e.mgmt.CreateSubscription(ctx, "second", e.tenant, e.owner.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.mgmt.PutResourceGroup(ctx, &management.ResourceGroup{Subscription: sub2.ID, Name: "rg", Location: "westus"}); err != nil {
		t.Fatal(err)
	}
	wantError(t, "other subscription", e.call("PUT", "/subscriptions/"+sub2.ID+"/"+vaultPath("rg", "globalname"), e.vaultBody(""), 409), "VaultAlreadyExists")
	// Nor is the vault visible from there.
	e.call("GET", "/subscriptions/"+sub2.ID+"/"+vaultPath("rg", "globalname"), "", 404)
	if vs := e.call("GET", "/subscriptions/"+sub2.ID+"/providers/Microsoft.KeyVault/vaults", "", 200); len(armList(vs)) != 0 {
		t.Errorf("listed in the other subscription: %v", armNames(vs))
	}

	// Moving the vault is refused (ARM's code for it is InvalidResourceLocation,
	// see the report of these tests; the status is left open here).
	if w := e.do(armReq{method: "PUT", path: vaultPath("rg", "globalname"), body: strings.Replace(e.vaultBody(""), "westus", "eastus", 1)}); w.Code != 400 && w.Code != 409 {
		t.Errorf("location change: %d %s", w.Code, w.Body.String())
	}
	if got := e.call("GET", vaultPath("rg", "globalname"), "", 200); got["location"] != "westus" {
		t.Errorf("moved: %v", got["location"])
	}

	e.call("DELETE", vaultPath("rg", "globalname"), "", 200)
	wantError(t, "soft-deleted name", e.call("PUT", vaultPath("rg", "globalname"), e.vaultBody(""), 409), "ConflictError")
}

// TestARMVaultUpdate: PUT of an existing vault replaces it (access policies
// and tags not sent are gone, 200); PATCH changes only what it names (tags,
// sku, flags, the policy list), moves systemData.lastModifiedAt, and keeps
// the irreversible settings: soft delete cannot be switched off, nor purge
// protection once on (400 BadRequest). A vault that is not in the group is
// 404 ResourceNotFound.
func TestARMVaultUpdate(t *testing.T) {
	e := newARMEnv(t)
	path := vaultPath("rg", "updvault")
	pol := func(oid string) string {
		return `{"tenantId":"` + e.tenant + `","objectId":"` + oid + `","permissions":{"secrets":["get"]}}`
	}
	first := e.call("PUT", path, `{"location":"westus","tags":{"a":"1"},"properties":{"tenantId":"`+e.tenant+`","sku":{"name":"standard"},"accessPolicies":[`+pol("p1")+`]}}`, 200)

	e.advance(time.Hour)
	got := e.call("PATCH", path, `{"tags":{"b":"2"}}`, 200)
	if !reflect.DeepEqual(got["tags"], map[string]any{"b": "2"}) || !reflect.DeepEqual(armPolicyIDs(got), []string{"p1"}) {
		t.Errorf("PATCH tags: %v", got)
	}
	if armProp(got, "systemData", "createdAt") != armProp(first, "systemData", "createdAt") ||
		armProp(got, "systemData", "lastModifiedAt") == armProp(first, "systemData", "lastModifiedAt") {
		t.Errorf("systemData after PATCH: %v", got["systemData"])
	}
	got = e.call("PATCH", path, `{"properties":{"sku":{"family":"A","name":"premium"},"enabledForDiskEncryption":true,"enableRbacAuthorization":true,"publicNetworkAccess":"Disabled"}}`, 200)
	p := got["properties"].(map[string]any)
	if armProp(got, "properties", "sku", "name") != "premium" || p["enabledForDiskEncryption"] != true || p["enableRbacAuthorization"] != true ||
		p["publicNetworkAccess"] != "Disabled" || !reflect.DeepEqual(armPolicyIDs(got), []string{"p1"}) || armProp(got, "tags", "b") != "2" {
		t.Errorf("PATCH properties: %v", got)
	}
	got = e.call("PATCH", path, `{"properties":{"accessPolicies":[`+pol("p2")+`,`+pol("p3")+`]}}`, 200)
	if !reflect.DeepEqual(armPolicyIDs(got), []string{"p2", "p3"}) {
		t.Errorf("PATCH policies: %v", armPolicyIDs(got))
	}
	wantError(t, "soft delete off", e.call("PATCH", path, `{"properties":{"enableSoftDelete":false}}`, 400), "BadRequest")
	if got := e.call("PATCH", path, `{"properties":{"enablePurgeProtection":true}}`, 200); armProp(got, "properties", "enablePurgeProtection") != true {
		t.Errorf("purge protection on: %v", got["properties"])
	}
	wantError(t, "purge protection off", e.call("PATCH", path, `{"properties":{"enablePurgeProtection":false}}`, 400), "BadRequest")
	wantError(t, "PATCH bad sku", e.call("PATCH", path, `{"properties":{"sku":{"name":"gold"}}}`, 400), "BadRequest")
	e.call("PATCH", path, `{"properties":`, 400)

	// PUT replaces: what it does not send is gone, except the irreversible settings.
	got = e.call("PUT", path, e.vaultBody(""), 200)
	if len(armPolicyIDs(got)) != 0 || !reflect.DeepEqual(got["tags"], map[string]any{}) || armProp(got, "properties", "enablePurgeProtection") != true {
		t.Errorf("PUT replaces: %v", got)
	}

	e.call("PUT", "resourcegroups/rg2", `{"location":"westus"}`, 201)
	for _, m := range []string{"GET", "PATCH"} {
		got := e.call(m, vaultPath("rg2", "updvault"), `{"tags":{}}`, 404)
		wantError(t, m+" from another group", got, "ResourceNotFound")
		if msg := armProp(got, "error", "message").(string); !strings.Contains(msg, "Microsoft.KeyVault/vaults/updvault") || !strings.Contains(msg, "'rg2'") {
			t.Errorf("message: %s", msg)
		}
	}
	wantError(t, "PATCH missing", e.call("PATCH", vaultPath("rg", "nosuchvault"), `{"tags":{}}`, 404), "ResourceNotFound")
	e.call("POST", path, `{}`, 405)
}

// TestARMVaultList: Vaults - List By Resource Group and List By
// Subscription answer {"value":[…]} of full Vault resources ([] when
// empty).
func TestARMVaultList(t *testing.T) {
	e := newARMEnv(t)
	if got := e.call("GET", "resourceGroups/rg/providers/Microsoft.KeyVault/vaults", "", 200); got["value"] == nil || len(armList(got)) != 0 {
		t.Errorf("empty: %v", got)
	}
	e.call("PUT", "resourcegroups/rg2", `{"location":"westus"}`, 201)
	e.putVault("lista", "90")
	e.call("PUT", vaultPath("rg2", "listb"), e.vaultBody(""), 200)
	if got := armNames(e.call("GET", "resourceGroups/rg/providers/Microsoft.KeyVault/vaults", "", 200)); !reflect.DeepEqual(got, []string{"lista"}) {
		t.Errorf("rg: %v", got)
	}
	all := e.call("GET", "providers/Microsoft.KeyVault/vaults", "", 200)
	if got := sorted(armNames(all)); !reflect.DeepEqual(got, []string{"lista", "listb"}) {
		t.Errorf("subscription: %v", got)
	}
	for _, v := range armList(all) {
		if armProp(v, "properties", "vaultUri") != "https://"+v["name"].(string)+".vault.localhost:8443/" || v["type"] != "Microsoft.KeyVault/vaults" {
			t.Errorf("listed: %v", v)
		}
	}
	e.call("POST", "providers/Microsoft.KeyVault/vaults", `{}`, 405)
	e.call("DELETE", "resourceGroups/rg/providers/Microsoft.KeyVault/vaults", "", 405)
}

// TestARMVaultDelete: Vaults - Delete answers 200, then 204 once there is
// nothing to delete (also for a vault of another group); the vault becomes
// a deleted vault (Vaults - Get Deleted / List Deleted: id under
// locations/{location}/deletedVaults, properties vaultId, location,
// deletionDate, scheduledPurgeDate = deletionDate + retention, tags,
// purgeProtectionEnabled); at the wrong location or unknown it is 404.
func TestARMVaultDelete(t *testing.T) {
	e := newARMEnv(t)
	e.call("PUT", vaultPath("rg", "delvault"), `{"location":"westus","tags":{"k":"v"},"properties":{"tenantId":"`+e.tenant+`","sku":{"name":"standard"},"softDeleteRetentionInDays":7}}`, 200)
	e.putVault("keepvault", "90")
	e.call("PUT", "resourcegroups/rg2", `{"location":"westus"}`, 201)
	if w := e.do(armReq{method: "DELETE", path: vaultPath("rg2", "keepvault")}); w.Code != 204 {
		t.Errorf("DELETE from another group: %d %s", w.Code, w.Body.String())
	}
	e.call("GET", vaultPath("rg", "keepvault"), "", 200)

	if w := e.do(armReq{method: "DELETE", path: vaultPath("rg", "delvault")}); w.Code != 200 {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body.String())
	}
	if w := e.do(armReq{method: "DELETE", path: vaultPath("rg", "delvault")}); w.Code != 204 {
		t.Errorf("DELETE again: %d", w.Code)
	}
	wantError(t, "GET deleted", e.call("GET", vaultPath("rg", "delvault"), "", 404), "ResourceNotFound")

	list := e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200)
	if got := armNames(list); !reflect.DeepEqual(got, []string{"delvault"}) {
		t.Fatalf("deleted vaults: %v", got)
	}
	d := armList(list)[0]
	if d["id"] != "/subscriptions/"+e.sub+"/providers/Microsoft.KeyVault/locations/westus/deletedVaults/delvault" || d["type"] != "Microsoft.KeyVault/deletedVaults" {
		t.Errorf("deleted vault: %v", d)
	}
	p := d["properties"].(map[string]any)
	del, err1 := time.Parse(time.RFC3339, p["deletionDate"].(string))
	purge, err2 := time.Parse(time.RFC3339, p["scheduledPurgeDate"].(string))
	if err1 != nil || err2 != nil || !del.Equal(time.Unix(1_800_000_000, 0)) || purge.Sub(del) != 7*24*time.Hour {
		t.Errorf("dates: %v", p)
	}
	if p["vaultId"] != "/subscriptions/"+e.sub+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/delvault" || p["location"] != "westus" ||
		p["purgeProtectionEnabled"] != false || armProp(d, "properties", "tags", "k") != "v" {
		t.Errorf("properties: %v", p)
	}
	if got := e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/delvault", "", 200); !reflect.DeepEqual(got, d) {
		t.Errorf("GET deleted: %v", got)
	}
	e.call("GET", "providers/Microsoft.KeyVault/locations/eastus/deletedVaults/delvault", "", 404)
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/keepvault", "", 404)
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/nosuch", "", 404)
	e.call("DELETE", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/delvault", "", 405)
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/delvault/purge", "", 405)
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/delvault/other", "", 404)
	e.call("POST", "providers/Microsoft.KeyVault/deletedVaults", "", 405)

	// Without soft delete the vault is gone at once.
	e.call("PUT", vaultPath("rg", "nosoft"), e.vaultBody(`,"enableSoftDelete":false`), 200)
	e.call("DELETE", vaultPath("rg", "nosoft"), "", 200)
	if got := armNames(e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200)); len(got) != 1 {
		t.Errorf("deleted vaults: %v", got)
	}
	e.call("PUT", vaultPath("rg", "nosoft"), e.vaultBody(""), 200)
}

// TestARMDeletedVaultPurge: Vaults - Purge Deleted removes the deleted
// vault (200) and frees its name; a purge-protected vault cannot be purged
// before its scheduled purge date (409), and can after it; purging what is
// not there is 404.
func TestARMDeletedVaultPurge(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("purgeme", "7")
	e.call("DELETE", vaultPath("rg", "purgeme"), "", 200)
	e.call("POST", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/purgeme/purge", "", 200)
	if got := e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200); len(armList(got)) != 0 {
		t.Errorf("after purge: %v", armNames(got))
	}
	if got := e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"purgeme","type":"Microsoft.KeyVault/vaults"}`, 200); got["nameAvailable"] != true {
		t.Errorf("name after purge: %v", got)
	}
	e.call("POST", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/purgeme/purge", "", 404)

	e.call("PUT", vaultPath("rg", "protected"), e.vaultBody(`,"softDeleteRetentionInDays":7,"enablePurgeProtection":true`), 200)
	e.call("DELETE", vaultPath("rg", "protected"), "", 200)
	d := e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/protected", "", 200)
	if armProp(d, "properties", "purgeProtectionEnabled") != true {
		t.Errorf("deleted: %v", d)
	}
	if got := e.call("POST", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/protected/purge", "", 409); armCode(got) == "" {
		t.Errorf("protected purge: %v", got)
	}
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/protected", "", 200)
	e.advance(7*24*time.Hour + time.Second)
	e.call("POST", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/protected/purge", "", 200)
}

// TestARMDeletedVaultRecover: PUT with createMode "recover" brings a deleted
// vault back with its access policies and settings (200), into the group
// of the request; a vault that is not deleted in this subscription is 404
// DeletedVaultNotFound.
func TestARMDeletedVaultRecover(t *testing.T) {
	e := newARMEnv(t)
	e.call("PUT", vaultPath("rg", "comeback"), e.vaultBody(`,"softDeleteRetentionInDays":30,"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid-r","permissions":{"keys":["get"]}}]`), 200)
	e.call("DELETE", vaultPath("rg", "comeback"), "", 200)
	got := e.call("PUT", vaultPath("rg", "comeback"), `{"location":"westus","tags":{"r":"1"},"properties":{"createMode":"recover"}}`, 200)
	if !reflect.DeepEqual(armPolicyIDs(got), []string{"oid-r"}) || armProp(got, "properties", "softDeleteRetentionInDays") != float64(30) ||
		armProp(got, "tags", "r") != "1" || armProp(got, "properties", "tenantId") != e.tenant {
		t.Errorf("recovered: %v", got)
	}
	if _, ok := got["properties"].(map[string]any)["createMode"]; ok {
		t.Errorf("createMode answered: %v", got["properties"])
	}
	e.call("GET", vaultPath("rg", "comeback"), "", 200)
	if got := e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200); len(armList(got)) != 0 {
		t.Errorf("still deleted: %v", armNames(got))
	}
	wantError(t, "recover nothing", e.call("PUT", vaultPath("rg", "neverwas"), `{"location":"westus","properties":{"createMode":"recover"}}`, 404), "DeletedVaultNotFound")
	// A live vault with createMode recover is an update.
	e.call("PUT", vaultPath("rg", "comeback"), `{"location":"westus","properties":{"createMode":"recover"}}`, 200)
}

// TestARMCheckNameAvailability: Vaults - Check Name Availability answers
// {"nameAvailable":true} for a free name and false with reason
// AccountNameInvalid or AlreadyExists (live or soft-deleted vault, any
// case) and a message; the type must be Microsoft.KeyVault/vaults (400);
// only POST.
func TestARMCheckNameAvailability(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("takenname", "7")
	e.putVault("softgone", "7")
	e.call("DELETE", vaultPath("rg", "softgone"), "", 200)
	check := func(name string) map[string]any {
		return e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"`+name+`","type":"Microsoft.KeyVault/vaults"}`, 200)
	}
	if got := check("freename"); !reflect.DeepEqual(got, map[string]any{"nameAvailable": true}) {
		t.Errorf("free: %v", got)
	}
	for _, name := range []string{"takenname", "TakenName", "softgone"} {
		if got := check(name); got["nameAvailable"] != false || got["reason"] != "AlreadyExists" || got["message"] == "" {
			t.Errorf("%s: %v", name, got)
		}
	}
	for _, name := range []string{"", "ab", "1abc", "a--b", "a_b", strings.Repeat("a", 25)} {
		if got := check(name); got["nameAvailable"] != false || got["reason"] != "AccountNameInvalid" || got["message"] == "" {
			t.Errorf("%q: %v", name, got)
		}
	}
	for _, body := range []string{`{"name":"x1x"}`, `{"name":"x1x","type":"Microsoft.KeyVault/managedHSMs"}`, `{"name":`, `[]`} {
		e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", body, 400)
	}
	if got := e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"freename","type":"microsoft.keyvault/VAULTS"}`, 200); got["nameAvailable"] != true {
		t.Errorf("type case: %v", got)
	}
	e.call("GET", "providers/Microsoft.KeyVault/checkNameAvailability", "", 405)
}

// TestARMAccessPolicies: Vaults - Update Access Policy
// (…/accessPolicies/{add|replace|remove}): add merges permissions into the
// policy of the same tenant, object and application (or appends a new one),
// replace swaps that policy, remove takes permissions away and drops a
// policy left with none. The answer is the VaultAccessPolicyParameters
// resource with the policies sent.
func TestARMAccessPolicies(t *testing.T) {
	e := newARMEnv(t)
	path := vaultPath("rg", "apvault")
	e.call("PUT", path, e.vaultBody(`,"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid1","permissions":{"secrets":["get"]}}]`), 200)
	policies := func() []map[string]any {
		var out []map[string]any
		for _, p := range armProp(e.call("GET", path, "", 200), "properties", "accessPolicies").([]any) {
			out = append(out, p.(map[string]any))
		}
		return out
	}
	perms := func(p map[string]any, kind string) []any { v, _ := armProp(p, "permissions", kind).([]any); return v }

	body := `{"properties":{"accessPolicies":[{"tenantId":"adfs","objectId":"OID1","permissions":{"secrets":["Get","list"],"keys":["get"]}},` +
		`{"tenantId":"` + e.tenant + `","objectId":"oid2","permissions":{"certificates":["get"]}}]}}`
	got := e.call("PUT", path+"/accessPolicies/add", body, 200)
	if got["id"] != "/subscriptions/"+e.sub+"/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/apvault/accessPolicies/add" || got["name"] != "add" ||
		got["type"] != "Microsoft.KeyVault/vaults/accessPolicies" || got["location"] != "westus" {
		t.Errorf("answer: %v", got)
	}
	if sent := armProp(got, "properties", "accessPolicies").([]any); len(sent) != 2 || armProp(sent[0].(map[string]any), "tenantId") != e.tenant {
		t.Errorf("answered policies: %v", sent)
	}
	ps := policies()
	if len(ps) != 2 || !reflect.DeepEqual(perms(ps[0], "secrets"), []any{"get", "list"}) || !reflect.DeepEqual(perms(ps[0], "keys"), []any{"get"}) ||
		ps[1]["objectId"] != "oid2" {
		t.Fatalf("after add: %v", ps)
	}
	// The same object for an application is another policy (compound identity).
	e.call("PUT", path+"/accessPolicies/add", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid2","applicationId":"app1","permissions":{"keys":["sign"]}}]}}`, 200)
	if ps := policies(); len(ps) != 3 || ps[2]["applicationId"] != "app1" || perms(ps[1], "keys") != nil {
		t.Fatalf("after add with application: %v", ps)
	}

	e.call("PUT", path+"/accessPolicies/replace", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid1","permissions":{"certificates":["list"]}}]}}`, 200)
	if ps := policies(); len(ps) != 3 || perms(ps[0], "secrets") != nil || !reflect.DeepEqual(perms(ps[0], "certificates"), []any{"list"}) {
		t.Fatalf("after replace: %v", ps)
	}

	// Remove a permission the policy does not have, then its last one.
	e.call("PUT", path+"/accessPolicies/remove", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid1","permissions":{"keys":["get"]}}]}}`, 200)
	if ps := policies(); len(ps) != 3 {
		t.Fatalf("after removing nothing: %v", ps)
	}
	e.call("PUT", path+"/accessPolicies/remove", `{"properties":{"accessPolicies":[{"tenantId":"`+e.tenant+`","objectId":"oid1","permissions":{"certificates":["LIST"]}},`+
		`{"tenantId":"`+e.tenant+`","objectId":"nobody","permissions":{"secrets":["get"]}}]}}`, 200)
	ps = policies()
	if len(ps) != 2 || ps[0]["objectId"] != "oid2" || ps[1]["applicationId"] != "app1" {
		t.Fatalf("after remove: %v", ps)
	}

	for name, c := range map[string]struct {
		path, body string
		status     int
		code       string
	}{
		"kind":           {path + "/accessPolicies/merge", `{"properties":{"accessPolicies":[]}}`, 400, "BadRequest"},
		"no properties":  {path + "/accessPolicies/add", `{}`, 400, "BadRequest"},
		"no object id":   {path + "/accessPolicies/add", `{"properties":{"accessPolicies":[{"tenantId":"` + e.tenant + `","permissions":{}}]}}`, 400, "BadRequest"},
		"bad tenant":     {path + "/accessPolicies/add", `{"properties":{"accessPolicies":[{"tenantId":"x","objectId":"o","permissions":{}}]}}`, 400, "BadRequest"},
		"not JSON":       {path + "/accessPolicies/add", `{"properties":`, 400, "BadParameter"},
		"missing vault":  {vaultPath("rg", "novault") + "/accessPolicies/add", `{"properties":{"accessPolicies":[]}}`, 404, "ResourceNotFound"},
		"missing group":  {vaultPath("nogroup", "apvault") + "/accessPolicies/add", `{"properties":{"accessPolicies":[]}}`, 404, "ResourceGroupNotFound"},
		"deeper":         {path + "/accessPolicies/add/more", `{}`, 404, "NotFound"},
		"policies empty": {path + "/accessPolicies/add", `{"properties":{"accessPolicies":[]}}`, 200, ""},
	} {
		got := e.call("PUT", c.path, c.body, c.status)
		if armCode(got) != c.code {
			t.Errorf("%s: %v", name, got)
		}
	}
	e.call("GET", path+"/accessPolicies/add", "", 405)
	if ps := policies(); len(ps) != 2 {
		t.Fatalf("changed by the failed calls: %v", ps)
	}
}

// TestARMVaultAuthorization: a caller without a role is 403
// AuthorizationFailed on vault reads, writes, access policy updates and the
// vault and deleted-vault lists; Reader on one vault lets it read that
// vault, not change it nor list the subscription's vaults.
func TestARMVaultAuthorization(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("authzvault", "90")
	tok, oid := e.stranger("outsider")
	path := vaultPath("rg", "authzvault")
	for _, c := range []armReq{
		{method: "GET", path: path}, {method: "PUT", path: path, body: e.vaultBody("")}, {method: "PATCH", path: path, body: `{}`},
		{method: "DELETE", path: path}, {method: "PUT", path: path + "/accessPolicies/add", body: `{"properties":{"accessPolicies":[]}}`},
		{method: "GET", path: "providers/Microsoft.KeyVault/vaults"}, {method: "GET", path: "resourceGroups/rg/providers/Microsoft.KeyVault/vaults"},
		{method: "GET", path: "providers/Microsoft.KeyVault/deletedVaults"},
	} {
		c.token = tok
		wantError(t, c.method+" "+c.path, e.expect(c, 403), "AuthorizationFailed")
	}
	reader := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	e.call("PUT", "/subscriptions/"+e.sub+"/"+path+"/providers/Microsoft.Authorization/roleAssignments/"+armGUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"`+reader+`","principalId":"`+oid+`"}}`, 201)
	e.expect(armReq{method: "GET", path: path, token: tok}, 200)
	e.expect(armReq{method: "PATCH", path: path, body: `{}`, token: tok}, 403)
	e.expect(armReq{method: "GET", path: "providers/Microsoft.KeyVault/vaults", token: tok}, 403)
	e.call("GET", path, "", 200)
}
