package arm_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest"
)

// TestARMSubscriptions: Subscriptions - List answers the subscriptions the
// caller holds a role in (directly, through a group, or at a scope below
// the subscription) with ARM's Subscription shape and the {"type":"Total"}
// count; Subscriptions - Get answers one; an unknown one is 404
// SubscriptionNotFound.
func TestARMSubscriptions(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	got := e.call("GET", "/subscriptions", "", 200)
	subs := armList(got)
	if len(subs) != 1 || armProp(got, "count", "type") != "Total" || armProp(got, "count", "value") != float64(1) {
		t.Fatalf("list: %v", got)
	}
	s := subs[0]
	want := map[string]any{"id": "/subscriptions/" + e.sub, "subscriptionId": e.sub, "tenantId": e.tenant, "displayName": "test",
		"state": "Enabled", "authorizationSource": "RoleBased"}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%s = %v, want %v", k, s[k], v)
		}
	}
	if armProp(s, "subscriptionPolicies", "spendingLimit") == nil || s["managedByTenants"] == nil {
		t.Errorf("subscription: %v", s)
	}
	if one := e.call("GET", "/subscriptions/"+e.sub, "", 200); !reflect.DeepEqual(one, s) {
		t.Errorf("GET: %v", one)
	}
	if one := e.call("GET", "/subscriptions/"+strings.ToUpper(e.sub), "", 200); one["subscriptionId"] != e.sub {
		t.Errorf("GET upper case: %v", one)
	}
	missing := "00000000-0000-4000-8000-000000000000"
	got = e.call("GET", "/subscriptions/"+missing, "", 404)
	if armCode(got) != "SubscriptionNotFound" || armProp(got, "error", "message") != "The subscription '"+missing+"' could not be found." {
		t.Errorf("missing: %v", got)
	}
	wantError(t, "below a missing subscription", e.call("GET", "/subscriptions/"+missing+"/resourcegroups", "", 404), "SubscriptionNotFound")
	e.call("POST", "/subscriptions", "", 405)
	e.call("DELETE", "/subscriptions/"+e.sub, "", 405)

	// A second subscription the owner does not hold a role in is not listed.
	if _, err := e.mgmt.CreateSubscription(ctx, "hidden", e.tenant); err != nil {
		t.Fatal(err)
	}
	if got := e.call("GET", "/subscriptions", "", 200); len(armList(got)) != 1 {
		t.Errorf("with a hidden subscription: %v", got)
	}

	// A caller with no role sees none, and cannot read the subscription.
	tok, oid := e.stranger("stranger")
	if got := e.expect(armReq{method: "GET", path: "/subscriptions", token: tok}, 200); len(armList(got)) != 0 || armProp(got, "count", "value") != float64(0) {
		t.Errorf("stranger: %v", got)
	}
	wantError(t, "stranger GET", e.expect(armReq{method: "GET", path: "/subscriptions/" + e.sub, token: tok}, 403), "AuthorizationFailed")

	// A role through a group, at a resource group, lists the subscription.
	group, err := e.dir.CreateGroup(ctx, "Team", "team", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.dir.AddMember(ctx, group.ObjectID, oid); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgmt.CreateRoleAssignment(ctx, &management.RoleAssignment{Scope: "/subscriptions/" + e.sub + "/resourceGroups/rg",
		RoleDefinitionID: management.Reader.ID, PrincipalID: group.ObjectID}); err != nil {
		t.Fatal(err)
	}
	if got := e.expect(armReq{method: "GET", path: "/subscriptions", token: tok}, 200); len(armList(got)) != 1 || armList(got)[0]["subscriptionId"] != e.sub {
		t.Errorf("member of a reader group: %v", got)
	}
	e.expect(armReq{method: "GET", path: "resourcegroups/rg", token: tok}, 200)
}

// TestARMTenantsLocationsProviders: Tenants - List answers the deployment's
// tenant; Subscriptions - List Locations the locations Arca offers;
// Providers - List and Get the three namespaces Arca serves, Key Vault with
// its resource types and api-versions; Operations - List Key Vault's
// operations.
func TestARMTenantsLocationsProviders(t *testing.T) {
	e := newARMEnv(t)
	ts := armList(e.call("GET", "/tenants?api-version=2022-12-01", "", 200))
	if len(ts) != 1 || ts[0]["tenantId"] != e.tenant || ts[0]["id"] != "/tenants/"+e.tenant || ts[0]["tenantCategory"] != "Home" {
		t.Errorf("tenants: %v", ts)
	}
	e.call("POST", "/tenants", "", 405)

	locs := e.call("GET", "locations?api-version=2022-12-01", "", 200)
	if !hasName(locs, "westus") || !hasName(locs, "eastus") {
		t.Errorf("locations: %v", armNames(locs))
	}
	for _, l := range armList(locs) {
		if l["id"] != "/subscriptions/"+e.sub+"/locations/"+l["name"].(string) || l["displayName"] == "" {
			t.Errorf("location: %v", l)
		}
	}
	e.call("POST", "locations", "", 405)

	var namespaces []string
	for _, p := range armList(e.call("GET", "providers?api-version=2021-04-01", "", 200)) {
		namespaces = append(namespaces, p["namespace"].(string))
		if p["registrationState"] != "Registered" || p["id"] != "/subscriptions/"+e.sub+"/providers/"+p["namespace"].(string) {
			t.Errorf("provider: %v", p)
		}
	}
	slices.Sort(namespaces)
	if !slices.Equal(namespaces, []string{"Microsoft.Authorization", "Microsoft.KeyVault", "Microsoft.Resources"}) {
		t.Errorf("namespaces: %v", namespaces)
	}
	kv := e.call("GET", "providers/microsoft.keyvault?api-version=2021-04-01", "", 200)
	if kv["namespace"] != "Microsoft.KeyVault" {
		t.Errorf("namespace not canonical: %v", kv["namespace"])
	}
	types := map[string][]any{}
	for _, rt := range kv["resourceTypes"].([]any) {
		m := rt.(map[string]any)
		types[m["resourceType"].(string)], _ = m["apiVersions"].([]any)
	}
	for _, want := range []string{"vaults", "deletedVaults", "locations/deletedVaults", "checkNameAvailability", "operations"} {
		if !slices.Contains(types[want], any("2023-07-01")) {
			t.Errorf("resource type %s: %v", want, types[want])
		}
	}
	for _, ns := range []string{"Microsoft.Resources", "Microsoft.Authorization"} {
		if got := e.call("GET", "providers/"+ns, "", 200); len(got["resourceTypes"].([]any)) == 0 {
			t.Errorf("%s: %v", ns, got)
		}
	}
	e.call("PUT", "providers/Microsoft.KeyVault", `{}`, 405)

	ops := e.call("GET", "/providers/Microsoft.KeyVault/operations?api-version=2023-07-01", "", 200)
	if !hasName(ops, "Microsoft.KeyVault/vaults/read") || !hasName(ops, "Microsoft.KeyVault/locations/deletedVaults/purge/action") {
		t.Errorf("operations: %v", armNames(ops))
	}
	for _, op := range armList(ops) {
		if armProp(op, "display", "provider") != "Microsoft Key Vault" || armProp(op, "display", "operation") == "" || op["isDataAction"] != false {
			t.Errorf("operation: %v", op)
		}
	}
	e.call("POST", "/providers/Microsoft.KeyVault/operations", "", 405)
}

// TestARMKeyVaultSubscriptionRoutes: the subscription-level Key Vault
// resources Arca has none of (Managed HSMs) list empty, operation results
// answer 200, and unknown types are 404.
func TestARMKeyVaultSubscriptionRoutes(t *testing.T) {
	e := newARMEnv(t)
	for _, p := range []string{"providers/Microsoft.KeyVault/managedHSMs", "providers/Microsoft.KeyVault/deletedManagedHSMs"} {
		if got := e.call("GET", p, "", 200); got["value"] == nil || len(armList(got)) != 0 {
			t.Errorf("%s: %v", p, got)
		}
	}
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus/operationResults/"+armGUID(t), "", 200)
	e.call("GET", "operationresults/"+armGUID(t), "", 200)
	e.call("POST", "operationresults/x", "", 405)
	e.call("GET", "providers/Microsoft.KeyVault/secretsEverywhere", "", 404)
	e.call("GET", "providers/Microsoft.KeyVault/locations/westus", "", 404)
	e.call("GET", "somethingElse", "", 404)
	e.call("GET", "/providers/Microsoft.KeyVault/unknown", "", 404)
	e.call("GET", "/elsewhere", "", 404)
	e.call("POST", "providers/Microsoft.KeyVault/managedHSMs", "", 405)
}

// TestARMAuthentication: every ARM call but /metadata/endpoints needs a
// bearer token for the management audience: none is 401
// AuthenticationFailed, a bad or wrong-audience one 401
// InvalidAuthenticationToken, both with a WWW-Authenticate challenge naming
// the tenant's authority.
func TestARMAuthentication(t *testing.T) {
	e := newARMEnv(t)
	w := e.do(armReq{method: "GET", path: "/subscriptions", token: "-"})
	if w.Code != 401 || !strings.Contains(w.Body.String(), `"AuthenticationFailed"`) {
		t.Errorf("no token: %d %s", w.Code, w.Body.String())
	}
	if c := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(c, `Bearer authorization_uri="https://localhost:8443/`+e.tenant+`"`) {
		t.Errorf("challenge %q", c)
	}
	vaultTok, _, err := e.srv.Identity.Tokens.Issue(e.tenant, e.owner, "https://vault.localhost:8443", false, "1")
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"garbage": "not-a-jwt", "vault audience": vaultTok, "truncated": e.token[:len(e.token)-8]} {
		w := e.do(armReq{method: "GET", path: "/subscriptions", token: tok})
		if w.Code != 401 || !strings.Contains(w.Body.String(), `"InvalidAuthenticationToken"`) || w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	// Basic credentials are not a bearer token.
	req := httptest.NewRequest("GET", "https://localhost:8443/subscriptions?api-version=2022-12-01", nil)
	req.Host = "localhost:8443"
	req.SetBasicAuth("a", "b")
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != 401 {
		t.Errorf("basic: %d", rec.Code)
	}
}

// TestARMRequestChecks: ARM requires api-version (400
// MissingApiVersionParameter) and a valid query string; every answer
// carries x-ms-request-id (a UUID) and the same x-ms-correlation-request-id.
func TestARMRequestChecks(t *testing.T) {
	e := newARMEnv(t)
	for _, p := range []string{"/subscriptions", "/subscriptions/" + e.sub + "/resourcegroups/rg", "/tenants"} {
		got := e.expect(armReq{method: "GET", path: p, noAPIVersion: true}, 400)
		if armCode(got) != "MissingApiVersionParameter" || armProp(got, "error", "message") != "The api-version query parameter (?api-version=) is required for all requests." {
			t.Errorf("%s: %v", p, got)
		}
	}
	wantError(t, "empty api-version", e.call("GET", "/subscriptions?api-version=", "", 400), "MissingApiVersionParameter")
	wantError(t, "bad query", e.call("GET", "/subscriptions?api-version=2022-12-01&x=%zz", "", 400), "InvalidQueryParameterValue")

	w := e.do(armReq{method: "GET", path: "/subscriptions"})
	id := w.Header().Get("x-ms-request-id")
	if !guidPattern.MatchString(id) || w.Header().Get("x-ms-correlation-request-id") != id {
		t.Errorf("request id %q, correlation id %q", id, w.Header().Get("x-ms-correlation-request-id"))
	}
	if w2 := e.do(armReq{method: "GET", path: "/subscriptions"}); w2.Header().Get("x-ms-request-id") == id {
		t.Error("the request id is not fresh")
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestARMMetadataEndpoints: GET /metadata/endpoints needs no token and
// answers the cloud metadata `az cloud register --endpoint-resource-manager`
// reads: the resource manager, the ADFS login endpoint and management
// audience, and the Key Vault DNS suffix.
func TestARMMetadataEndpoints(t *testing.T) {
	e := newARMEnv(t)
	got := e.expect(armReq{method: "GET", path: "/metadata/endpoints?api-version=2022-09-01", token: "-"}, 200)
	if got["resourceManager"] != "https://localhost:8443/" || armProp(got, "authentication", "loginEndpoint") != "https://localhost:8443/adfs" ||
		armProp(got, "authentication", "tenant") != "adfs" || armProp(got, "suffixes", "keyVaultDns") != ".vault.localhost:8443" ||
		got["graphEndpoint"] != "https://graph.localhost:8443/" {
		t.Errorf("metadata: %v", got)
	}
	if auds, _ := armProp(got, "authentication", "audiences").([]any); len(auds) != 1 || auds[0] != "https://management.localhost:8443/" {
		t.Errorf("audiences: %v", auds)
	}
	// Without an api-version too (az sends one, other tools may not).
	e.expect(armReq{method: "GET", path: "/metadata/endpoints", token: "-", noAPIVersion: true}, 200)
}

// TestARMDisabled: without a management service the ARM paths are 404.
func TestARMDisabled(t *testing.T) {
	e := newARMEnv(t)
	srv := &rest.Server{Config: e.srv.Config, Vaults: e.srv.Vaults, Identity: e.srv.Identity, Authorizer: arca.TenantAuthorizer{},
		Clock: e.srv.Clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	e.srv = srv
	e.call("GET", "/subscriptions", "", 404)
	e.call("GET", "resourcegroups/rg", "", 404)
}
