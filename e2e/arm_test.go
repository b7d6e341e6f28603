package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
)

// arm is a raw ARM client of the fixture.
type arm struct {
	f     *fixture
	token string
	sub   string
}

func (f *fixture) arm() *arm {
	return &arm{f: f, token: f.token("https://management.localhost:" + f.port() + "/.default"), sub: f.r.App.Facts.SubscriptionID}
}

// call sends method to path (relative to the subscription when it does not
// start with "/") and decodes a JSON answer.
func (a *arm) call(method, path, body string, wantStatus int) map[string]any {
	a.f.t.Helper()
	if !strings.HasPrefix(path, "/") {
		path = "/subscriptions/" + a.sub + "/" + path
	}
	u := a.f.authority() + path
	if !strings.Contains(path, "api-version=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "api-version=2022-07-01"
	}
	resp, b := a.f.do(method, u, a.token, body)
	if resp.StatusCode != wantStatus {
		a.f.t.Fatalf("%s %s: %d %s (want %d)", method, path, resp.StatusCode, b, wantStatus)
	}
	out := map[string]any{}
	if strings.TrimSpace(b) != "" {
		if err := json.Unmarshal([]byte(b), &out); err != nil {
			a.f.t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	out["_location"] = resp.Header.Get("Location")
	return out
}

func dig(m map[string]any, path ...string) any {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[p]
	}
	return cur
}

func values(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range m["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func errCode(m map[string]any) string { s, _ := dig(m, "error", "code").(string); return s }

// azVaultBody is the body `az keyvault create` sends (clients.md §11.4).
func azVaultBody(tenant, oid string) string {
	return `{"location":"westus","properties":{"tenantId":"` + tenant + `","sku":{"family":"A","name":"standard"},
 "accessPolicies":[{"tenantId":"` + tenant + `","objectId":"` + oid + `",
   "permissions":{"keys":["all"],"secrets":["all"],"certificates":["all"],"storage":["all"]}}],
 "enableSoftDelete":true,"softDeleteRetentionInDays":90,
 "networkAcls":{"bypass":"AzureServices","defaultAction":"Allow"}}}`
}

func TestARMAuthAndMetadata(t *testing.T) {
	f := startArca(t)
	a := f.arm()
	base := f.authority()
	// no token, a vault token, no api-version
	resp, body := f.do("GET", base+"/subscriptions?api-version=2019-11-01", "", "")
	if resp.StatusCode != 401 || !strings.Contains(body, "AuthenticationFailed") || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", base+"/subscriptions?api-version=2019-11-01", f.token("https://vault.localhost:"+f.port()+"/.default"), "")
	if resp.StatusCode != 401 || !strings.Contains(body, "InvalidAuthenticationToken") {
		t.Fatalf("vault token: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", base+"/subscriptions", a.token, "")
	if resp.StatusCode != 400 || !strings.Contains(body, "MissingApiVersionParameter") {
		t.Fatalf("no api-version: %d %s", resp.StatusCode, body)
	}
	// the management.azure.com audience and a trailing-slash audience work too
	for _, aud := range []string{"https://management.azure.com/.default", "https://management.localhost:" + f.port() + "//.default"} {
		resp, body = f.do("GET", base+"/subscriptions?api-version=2019-11-01", f.token(aud), "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", aud, resp.StatusCode, body)
		}
	}
	subs := values(a.call("GET", "/subscriptions?api-version=2019-11-01", "", 200))
	if len(subs) != 1 || subs[0]["subscriptionId"] != a.sub || subs[0]["tenantId"] != f.r.App.Facts.TenantID || subs[0]["state"] != "Enabled" {
		t.Fatalf("subscriptions: %v", subs)
	}
	if got := a.call("GET", "/subscriptions/"+a.sub+"?api-version=2022-12-01", "", 200); got["id"] != "/subscriptions/"+a.sub {
		t.Fatalf("subscription: %v", got)
	}
	if got := a.call("GET", "/subscriptions/00000000-0000-0000-0000-000000000000?api-version=2022-12-01", "", 404); errCode(got) != "SubscriptionNotFound" {
		t.Fatalf("unknown subscription: %v", got)
	}
	if ts := values(a.call("GET", "/tenants?api-version=2022-12-01", "", 200)); len(ts) != 1 || ts[0]["tenantId"] != f.r.App.Facts.TenantID {
		t.Fatalf("tenants: %v", ts)
	}
	if p := a.call("GET", "providers/Microsoft.KeyVault?api-version=2021-04-01", "", 200); p["registrationState"] != "Registered" {
		t.Fatalf("provider: %v", p)
	}
	if p := a.call("POST", "providers/Microsoft.KeyVault/register?api-version=2021-04-01", "", 200); p["namespace"] != "Microsoft.KeyVault" {
		t.Fatalf("register: %v", p)
	}
	if ops := values(a.call("GET", "/providers/Microsoft.KeyVault/operations", "", 200)); len(ops) < 5 {
		t.Fatalf("operations: %v", ops)
	}
	resp, body = f.do("GET", base+"/metadata/endpoints?api-version=2015-01-01", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"loginEndpoint":"`+base+`/adfs"`) || !strings.Contains(body, "https://management.localhost:"+f.port()+"/") {
		t.Fatalf("metadata: %d %s", resp.StatusCode, body)
	}
}

func TestARMResourceGroups(t *testing.T) {
	f := startArca(t)
	a := f.arm()
	const v = "?api-version=2021-04-01"
	if g := a.call("GET", "resourcegroups/arca"+v, "", 200); g["location"] != "local" {
		t.Fatalf("default group: %v", g)
	}
	g := a.call("PUT", "resourcegroups/rg1"+v, `{"location":"westus","tags":{"a":"b"}}`, 201)
	if g["id"] != "/subscriptions/"+a.sub+"/resourceGroups/rg1" || g["type"] != "Microsoft.Resources/resourceGroups" || dig(g, "properties", "provisioningState") != "Succeeded" {
		t.Fatalf("create: %v", g)
	}
	a.call("PUT", "resourcegroups/rg1"+v, `{"location":"westus"}`, 200)
	if got := a.call("PUT", "resourcegroups/rg1"+v, `{"location":"eastus"}`, 409); errCode(got) != "InvalidResourceGroupLocation" {
		t.Fatalf("location change: %v", got)
	}
	a.call("PUT", "resourcegroups/bad!name"+v, `{"location":"westus"}`, 400)
	a.call("PUT", "resourcegroups/rg2"+v, `{}`, 400)
	a.call("GET", "resourcegroups/rg1"+v, "", 200)
	a.call("HEAD", "resourcegroups/rg1"+v, "", 204)
	a.call("HEAD", "resourcegroups/nope"+v, "", 404)
	if got := a.call("GET", "resourcegroups/nope"+v, "", 404); errCode(got) != "ResourceGroupNotFound" {
		t.Fatalf("missing: %v", got)
	}
	if gs := values(a.call("GET", "resourcegroups"+v, "", 200)); len(gs) != 2 {
		t.Fatalf("list: %v", gs)
	}
	if g := a.call("PATCH", "resourcegroups/rg1"+v, `{"tags":{"x":"y"}}`, 200); dig(g, "tags", "x") != "y" {
		t.Fatalf("patch: %v", g)
	}
	d := a.call("DELETE", "resourcegroups/rg1"+v, "", 202)
	loc := d["_location"].(string)
	if !strings.HasPrefix(loc, f.authority()+"/subscriptions/"+a.sub+"/operationresults/") {
		t.Fatalf("Location: %q", loc)
	}
	resp, body := f.do("GET", loc, a.token, "")
	if resp.StatusCode != 200 {
		t.Fatalf("operation result: %d %s", resp.StatusCode, body)
	}
	a.call("HEAD", "resourcegroups/rg1"+v, "", 404)
	a.call("DELETE", "resourcegroups/rg1"+v, "", 404)
}

func TestARMVaults(t *testing.T) {
	f := startArca(t)
	a := f.arm()
	ctx := context.Background()
	tenant := f.r.App.Facts.TenantID
	dev, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	a.call("PUT", "resourcegroups/rg1?api-version=2021-04-01", `{"location":"westus"}`, 201)
	a.call("PUT", "resourcegroups/rg2?api-version=2021-04-01", `{"location":"westus"}`, 201)
	vp := "resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/"
	// az probes with a GET first and expects a 404
	if got := a.call("GET", vp+"armvault", "", 404); errCode(got) != "ResourceNotFound" {
		t.Fatalf("probe: %v", got)
	}
	v := a.call("PUT", vp+"armvault", azVaultBody(tenant, dev.ObjectID), 200)
	if dig(v, "properties", "provisioningState") != "Succeeded" || dig(v, "properties", "vaultUri") != f.vaultURL("armvault")+"/" ||
		v["id"] != "/subscriptions/"+a.sub+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/armvault" ||
		dig(v, "properties", "enableSoftDelete") != true || dig(v, "properties", "networkAcls", "defaultAction") != "Allow" ||
		dig(v, "properties", "sku", "name") != "standard" || v["location"] != "westus" {
		t.Fatalf("create: %v", v)
	}
	pols := dig(v, "properties", "accessPolicies").([]any)
	if len(pols) != 1 || dig(pols[0].(map[string]any), "objectId") != dev.ObjectID {
		t.Fatalf("policies: %v", pols)
	}
	// the data plane serves the vault
	sc := f.secretsClient(f.credential(), "armvault")
	if _, err := sc.SetSecret(ctx, "s1", azsecrets.SetSecretParameters{Value: to.Ptr("v1")}, nil); err != nil {
		t.Fatal(err)
	}
	// the same name elsewhere is a conflict; bad input is a 400
	if got := a.call("PUT", "resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/armvault", azVaultBody(tenant, dev.ObjectID), 409); errCode(got) != "VaultAlreadyExists" {
		t.Fatalf("conflict: %v", got)
	}
	a.call("PUT", vp+"armvault2", `{"location":"westus","properties":{"sku":{"family":"A","name":"standard"}}}`, 400)
	a.call("PUT", vp+"armvault2", `{"location":"westus","properties":{"tenantId":"`+tenant+`","sku":{"family":"A","name":"gold"}}}`, 400)
	a.call("PUT", vp+"armvault2", `{"location":"westus","properties":{"tenantId":"11111111-2222-3333-4444-555555555555","sku":{"family":"A","name":"standard"}}}`, 400)
	a.call("PUT", vp+"a--b", azVaultBody(tenant, dev.ObjectID), 400)
	// "adfs" (the env tenant) maps onto the deployment tenant; premium, RBAC, purge protection, retention, tags
	v2 := a.call("PUT", vp+"armvault2", `{"location":"westus","tags":{"env":"test"},"properties":{"tenantId":"adfs","sku":{"name":"premium"},
		"accessPolicies":[],"enableRbacAuthorization":true,"enablePurgeProtection":true,"softDeleteRetentionInDays":7}}`, 200)
	if dig(v2, "properties", "tenantId") != tenant || dig(v2, "properties", "enableRbacAuthorization") != true ||
		dig(v2, "properties", "enablePurgeProtection") != true || dig(v2, "properties", "softDeleteRetentionInDays") != float64(7) ||
		dig(v2, "tags", "env") != "test" || dig(v2, "properties", "sku", "name") != "premium" {
		t.Fatalf("vault2: %v", v2)
	}
	if pv, _ := f.r.App.Vaults.Vault(ctx, "armvault2"); pv.SKU != "premium" || !pv.PurgeProtection || pv.RetentionDays != 7 || !pv.EnableRBAC {
		t.Fatalf("stored: %+v", pv)
	}
	a.call("PATCH", vp+"armvault2", `{"properties":{"enablePurgeProtection":false}}`, 400)
	a.call("PATCH", vp+"armvault2", `{"properties":{"enableSoftDelete":false}}`, 400)
	if got := a.call("PATCH", vp+"armvault", `{"tags":{"k":"v"},"properties":{"enabledForDeployment":true}}`, 200); dig(got, "tags", "k") != "v" ||
		dig(got, "properties", "enabledForDeployment") != true || len(dig(got, "properties", "accessPolicies").([]any)) != 1 {
		t.Fatalf("patch: %v", got)
	}
	// access policies: add merges, replace replaces, remove subtracts
	other := "0f0f0f0f-0000-4000-8000-000000000001"
	ap := func(kind, perms string) map[string]any {
		return a.call("PUT", vp+"armvault/accessPolicies/"+kind, `{"properties":{"accessPolicies":[{"tenantId":"`+tenant+`","objectId":"`+other+`","permissions":`+perms+`}]}}`, 200)
	}
	policyOf := func() map[string]any {
		got := a.call("GET", vp+"armvault", "", 200)
		for _, p := range dig(got, "properties", "accessPolicies").([]any) {
			if p.(map[string]any)["objectId"] == other {
				return p.(map[string]any)["permissions"].(map[string]any)
			}
		}
		return nil
	}
	if r := ap("add", `{"secrets":["get","list"]}`); r["type"] != "Microsoft.KeyVault/vaults/accessPolicies" {
		t.Fatalf("add: %v", r)
	}
	ap("add", `{"secrets":["set"],"keys":["get"]}`)
	if p := policyOf(); len(p["secrets"].([]any)) != 3 || len(p["keys"].([]any)) != 1 {
		t.Fatalf("after add: %v", p)
	}
	ap("replace", `{"certificates":["get"]}`)
	if p := policyOf(); p["secrets"] != nil || len(p["certificates"].([]any)) != 1 {
		t.Fatalf("after replace: %v", p)
	}
	ap("remove", `{"certificates":["get"]}`)
	if p := policyOf(); p != nil {
		t.Fatalf("after remove: %v", p)
	}
	a.call("PUT", vp+"armvault/accessPolicies/merge", `{"properties":{"accessPolicies":[]}}`, 400)
	// listings
	if vs := values(a.call("GET", vp[:len(vp)-1], "", 200)); len(vs) != 2 {
		t.Fatalf("list by group: %d", len(vs))
	}
	if vs := values(a.call("GET", "providers/Microsoft.KeyVault/vaults", "", 200)); len(vs) != 3 { // + the default vault
		t.Fatalf("list by subscription: %d", len(vs))
	}
	filter := url.QueryEscape("resourceType eq 'Microsoft.KeyVault/vaults'")
	rs := values(a.call("GET", "resources?$filter="+filter+"&api-version=2015-11-01", "", 200))
	if len(rs) != 3 || rs[0]["type"] != "Microsoft.KeyVault/vaults" {
		t.Fatalf("resources: %v", rs)
	}
	if rs := values(a.call("GET", "resourceGroups/rg1/resources?api-version=2021-04-01", "", 200)); len(rs) != 2 {
		t.Fatalf("group resources: %v", rs)
	}
	// name availability
	cn := func(name string) map[string]any {
		return a.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"`+name+`","type":"Microsoft.KeyVault/vaults"}`, 200)
	}
	if r := cn("armvault"); r["nameAvailable"] != false || r["reason"] != "AlreadyExists" {
		t.Fatalf("taken: %v", r)
	}
	if r := cn("freename"); r["nameAvailable"] != true {
		t.Fatalf("free: %v", r)
	}
	if r := cn("9bad"); r["reason"] != "AccountNameInvalid" {
		t.Fatalf("invalid: %v", r)
	}
	// `az keyvault check-name --resource-type hsm`: no Managed HSM holds a name
	if r := a.call("POST", "providers/Microsoft.KeyVault/checkMhsmNameAvailability", `{"name":"armvault"}`, 200); r["nameAvailable"] != true {
		t.Fatalf("hsm name: %v", r)
	}
	// the retention is fixed once set (90 by azVaultBody)
	if got := a.call("PATCH", vp+"armvault", `{"properties":{"softDeleteRetentionInDays":14}}`, 400); errCode(got) != "BadRequest" {
		t.Fatalf("retention change: %v", got)
	}
	a.call("PATCH", vp+"armvault", `{"properties":{"softDeleteRetentionInDays":90}}`, 200)
	// delete: soft-deleted, invisible to ARM and the data plane, recoverable with its secrets
	a.call("DELETE", vp+"armvault", "", 200)
	a.call("DELETE", vp+"armvault", "", 204)
	a.call("GET", vp+"armvault", "", 404)
	if _, err := sc.GetSecret(ctx, "s1", "", nil); err == nil {
		t.Fatal("data plane served a deleted vault")
	}
	ds := values(a.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200))
	if len(ds) != 1 || ds[0]["name"] != "armvault" || dig(ds[0], "properties", "vaultId") != "/subscriptions/"+a.sub+"/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/armvault" {
		t.Fatalf("deleted: %v", ds)
	}
	dv := "providers/Microsoft.KeyVault/locations/westus/deletedVaults/armvault"
	if d := a.call("GET", dv, "", 200); dig(d, "properties", "scheduledPurgeDate") == nil {
		t.Fatalf("get deleted: %v", d)
	}
	a.call("GET", "providers/Microsoft.KeyVault/locations/eastus/deletedVaults/armvault", "", 404)
	if r := cn("armvault"); r["nameAvailable"] != false {
		t.Fatalf("deleted name: %v", r)
	}
	a.call("PUT", vp+"armvault", azVaultBody(tenant, dev.ObjectID), 409) // a deleted vault holds the name
	rec := a.call("PUT", vp+"armvault", `{"location":"westus","properties":{"createMode":"recover","tenantId":"`+tenant+`","sku":{"family":"A","name":"standard"}}}`, 200)
	if dig(rec, "properties", "provisioningState") != "Succeeded" || dig(rec, "tags", "k") != "v" {
		t.Fatalf("recover: %v", rec)
	}
	if s, err := sc.GetSecret(ctx, "s1", "", nil); err != nil || *s.Value != "v1" {
		t.Fatalf("secret after recover: %v", err)
	}
	// deleting the group soft-deletes its vaults; purge empties the name
	a.call("DELETE", "resourcegroups/rg1?api-version=2021-04-01", "", 202)
	if ds := values(a.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200)); len(ds) != 2 {
		t.Fatalf("deleted after group delete: %v", ds)
	}
	if got := a.call("POST", "providers/Microsoft.KeyVault/locations/westus/deletedVaults/armvault2/purge", "", 409); !strings.Contains(dig(got, "error", "message").(string), "purge protection") {
		t.Fatalf("purge protected: %v", got)
	}
	a.call("POST", dv+"/purge", "", 200)
	a.call("GET", dv, "", 404)
	a.call("POST", dv+"/purge", "", 404)
	// the purged name is free again, and the new vault is empty
	a.call("PUT", "resourcegroups/rg1?api-version=2021-04-01", `{"location":"westus"}`, 201)
	a.call("PUT", vp+"armvault", azVaultBody(tenant, dev.ObjectID), 200)
	if _, err := sc.GetSecret(ctx, "s1", "", nil); err == nil {
		t.Fatal("a purged vault's secret survived")
	}
}

// spToken gets a management token for a service principal (v1 form).
func (f *fixture) spToken(appID, secret, resource string) string {
	f.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {secret}, "resource": {resource}}
	resp, body := f.do("POST", f.authority()+"/adfs/oauth2/token", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != 200 {
		f.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tr)
	return tr.AccessToken
}

func TestARMRoleAssignments(t *testing.T) {
	f := startArca(t)
	owner := f.arm()
	ctx := context.Background()
	tenant := f.r.App.Facts.TenantID
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "limited", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	mgmt := "https://management.localhost:" + f.port()
	a := &arm{f: f, token: f.spToken(sp.AppID, secret, mgmt), sub: owner.sub}
	if subs := values(a.call("GET", "/subscriptions?api-version=2019-11-01", "", 200)); len(subs) != 0 {
		t.Fatalf("no role, yet subscriptions: %v", subs)
	}
	if got := a.call("PUT", "resourcegroups/rg1?api-version=2021-04-01", `{"location":"westus"}`, 403); errCode(got) != "AuthorizationFailed" {
		t.Fatalf("no role: %v", got)
	}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 403)
	// built-in role definitions
	defs := values(owner.call("GET", "providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", 200))
	if len(defs) != len(management.BuiltinRoles) { // Owner, Contributor, Reader, Key Vault Contributor and the Key Vault data roles
		t.Fatalf("definitions: %v", defs)
	}
	assign := func(scope, role string) {
		name := strings.ToLower(mustUUID(t))
		owner.call("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+owner.sub+`/providers/Microsoft.Authorization/roleDefinitions/`+role+`","principalId":"`+sp.ObjectID+`"}}`, 201)
	}
	sub := "/subscriptions/" + owner.sub
	// Reader at the subscription: reads yes, writes no
	assign(sub, management.Reader.ID)
	if subs := values(a.call("GET", "/subscriptions?api-version=2019-11-01", "", 200)); len(subs) != 1 {
		t.Fatalf("reader subscriptions: %v", subs)
	}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 200)
	a.call("GET", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/arca", "", 200)
	a.call("PUT", "resourcegroups/rg1?api-version=2021-04-01", `{"location":"westus"}`, 403)
	// the limited principal cannot grant itself roles
	a.call("PUT", sub+"/providers/Microsoft.Authorization/roleAssignments/"+mustUUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"`+management.Owner.ID+`","principalId":"`+sp.ObjectID+`"}}`, 403)
	// Key Vault Contributor on a group: vaults there, but no groups
	owner.call("PUT", "resourcegroups/rg1?api-version=2021-04-01", `{"location":"westus"}`, 201)
	owner.call("PUT", "resourcegroups/rg2?api-version=2021-04-01", `{"location":"westus"}`, 201)
	assign(sub+"/resourceGroups/rg1", management.KeyVaultContributor.ID)
	a.call("PUT", "resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kvc1", azVaultBody(tenant, sp.ObjectID), 200)
	a.call("PUT", "resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc2", azVaultBody(tenant, sp.ObjectID), 403)
	a.call("DELETE", "resourcegroups/rg1?api-version=2021-04-01", "", 403)
	// Contributor at a vault scope: that vault only
	owner.call("PUT", "resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc2", azVaultBody(tenant, sp.ObjectID), 200)
	assign(sub+"/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc2", management.Contributor.ID)
	a.call("PATCH", "resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc2", `{"tags":{"a":"b"}}`, 200)
	a.call("PUT", "resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc3", azVaultBody(tenant, sp.ObjectID), 403)
	// `az role assignment list --scope <vault>` names each role: the
	// definitions listed at the vault have the ids the assignments name.
	kvc2 := sub + "/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kvc2"
	roleNames := map[string]any{}
	for _, d := range values(owner.call("GET", kvc2+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", 200)) {
		roleNames[d["id"].(string)] = dig(d, "properties", "roleName")
	}
	for _, ra := range values(owner.call("GET", kvc2+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", "", 200)) {
		if roleNames[dig(ra, "properties", "roleDefinitionId").(string)] == nil || dig(ra, "properties", "principalType") != "ServicePrincipal" {
			t.Errorf("assignment at the vault: %v (definitions %v)", ra, roleNames)
		}
	}
	// listing and deleting assignments
	ras := values(owner.call("GET", sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter="+url.QueryEscape("principalId eq '"+sp.ObjectID+"'"), "", 200))
	if len(ras) != 3 {
		t.Fatalf("assignments: %v", ras)
	}
	for _, ra := range ras {
		owner.call("DELETE", ra["id"].(string)+"?api-version=2022-04-01", "", 200)
	}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 403)
	// unknown role
	owner.call("PUT", sub+"/providers/Microsoft.Authorization/roleAssignments/"+mustUUID(t)+"?api-version=2022-04-01",
		`{"properties":{"roleDefinitionId":"00000000-0000-0000-0000-000000000000","principalId":"`+sp.ObjectID+`"}}`, 400)
}

func mustUUID(t *testing.T) string {
	id, err := identity.NewUUID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestUserPasswordRefreshAndGraph(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	u, err := f.r.App.Directory.CreateUser(ctx, "alice@arca.local", "correct horse", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	tenant := f.r.App.Facts.TenantID
	azCLI := "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	mgmtScope := "https://management.localhost:" + f.port() + "//.default offline_access openid profile"
	post := func(form url.Values) (int, map[string]any) {
		resp, body := f.do("POST", f.authority()+"/adfs/oauth2/token", "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		out := map[string]any{}
		_ = json.Unmarshal([]byte(body), &out)
		return resp.StatusCode, out
	}
	st, bad := post(url.Values{"grant_type": {"password"}, "client_id": {azCLI}, "username": {"alice@arca.local"}, "password": {"wrong"}, "scope": {mgmtScope}})
	if st != 400 || bad["error"] != "invalid_grant" {
		t.Fatalf("wrong password: %d %v", st, bad)
	}
	st, tok := post(url.Values{"grant_type": {"password"}, "client_id": {azCLI}, "username": {"ALICE@arca.local"}, "password": {"correct horse"},
		"scope": {mgmtScope}, "client_info": {"1"}})
	if st != 200 || tok["refresh_token"] == nil || tok["id_token"] == nil || tok["client_info"] == nil || tok["token_type"] != "Bearer" {
		t.Fatalf("password grant: %d %v", st, tok)
	}
	at := decodeClaims(t, tok["access_token"].(string))
	if at["oid"] != u.ObjectID || at["tid"] != tenant || at["idtyp"] != "user" || at["upn"] != "alice@arca.local" {
		t.Fatalf("access token claims: %v", at)
	}
	idt := decodeClaims(t, tok["id_token"].(string))
	if idt["oid"] != u.ObjectID || idt["preferred_username"] != "alice@arca.local" || idt["aud"] != azCLI || idt["tid"] != tenant {
		t.Fatalf("id_token claims: %v", idt)
	}
	// the user is no Owner yet (created directly, not by `arca user create`): ARM 403
	a := &arm{f: f, token: tok["access_token"].(string), sub: f.r.App.Facts.SubscriptionID}
	a.call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 403)
	// refresh for another resource (Graph); the old refresh token is single-use
	rt := tok["refresh_token"].(string)
	st, tok2 := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {azCLI}, "refresh_token": {rt}, "scope": {"https://localhost:" + f.port() + "//.default offline_access"}})
	if st != 200 || tok2["refresh_token"] == rt {
		t.Fatalf("refresh: %d %v", st, tok2)
	}
	if st, again := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {azCLI}, "refresh_token": {rt}, "scope": {mgmtScope}}); st != 400 || again["error"] != "invalid_grant" {
		t.Fatalf("reused refresh token: %d %v", st, again)
	}
	graph := tok2["access_token"].(string)
	g := func(path, bearer string, want int) map[string]any {
		resp, body := f.do("GET", f.authority()+path, bearer, "")
		if resp.StatusCode != want {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		out := map[string]any{}
		_ = json.Unmarshal([]byte(body), &out)
		return out
	}
	if me := g("/v1.0/me", graph, 200); me["id"] != u.ObjectID || me["userPrincipalName"] != "alice@arca.local" {
		t.Fatalf("/me: %v", me)
	}
	appGraph := f.token("https://localhost:" + f.port() + "/.default")
	if me := g("/v1.0/me", appGraph, 400); !strings.Contains(dig(me, "error", "message").(string), "delegated authentication flow") {
		t.Fatalf("/me app: %v", me)
	}
	g("/v1.0/me", f.token("https://management.localhost:"+f.port()+"/.default"), 401)
	if got := g("/v1.0/users/alice@arca.local", appGraph, 200); got["id"] != u.ObjectID {
		t.Fatalf("users/upn: %v", got)
	}
	if got := g("/v1.0/users/"+u.ObjectID, appGraph, 200); got["userPrincipalName"] != "alice@arca.local" {
		t.Fatalf("users/id: %v", got)
	}
	g("/v1.0/users/bob@arca.local", appGraph, 404)
	dev, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	for _, filter := range []string{"servicePrincipalNames/any(c:c eq '" + dev.AppID + "')", "appId eq '" + dev.AppID + "'"} {
		got := values(g("/v1.0/servicePrincipals?$filter="+url.QueryEscape(filter), appGraph, 200))
		if len(got) != 1 || got[0]["id"] != dev.ObjectID {
			t.Fatalf("%s: %v", filter, got)
		}
	}
	if got := values(g("/v1.0/servicePrincipals?$filter="+url.QueryEscape("appId eq 'nope'"), appGraph, 200)); len(got) != 0 {
		t.Fatalf("no match: %v", got)
	}
	// the token oid equals the Graph id for an app as well
	if c := decodeClaims(t, appGraph); c["oid"] != dev.ObjectID {
		t.Fatalf("app oid: %v", c)
	}
	// MSAL's home realm discovery
	resp, body := f.do("GET", f.authority()+"/common/userrealm/alice@arca.local?api-version=1.0", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"account_type":"Managed"`) {
		t.Fatalf("userrealm: %d %s", resp.StatusCode, body)
	}
}
