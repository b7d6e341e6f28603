package arm_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest"
	"github.com/arcakv/arca/rest/internal/resttest"
	"github.com/arcakv/arca/vaults"
)

// armEnv is a Server with the management plane on an in-memory store: one
// subscription owned by the service principal whose management token the
// env holds, and a resource group "rg". Its Authorizer is an authz.Engine
// over the management service and the directory, as in a deployment.
type armEnv struct {
	t      *testing.T
	srv    *rest.Server
	dir    *identity.Directory
	mgmt   *management.Service
	authz  *authz.Engine // the server's Authorizer
	token  string
	owner  *identity.ServicePrincipal
	tenant string
	sub    string
}

func newARMEnv(t *testing.T) *armEnv {
	t.Helper()
	ctx := context.Background()
	id := resttest.NewIdentity(t)
	store, clock, dir, ten, toks := id.Store, id.Clock, id.Dir, id.Tenant, id.Tokens
	owner, _, err := dir.CreateServicePrincipal(ctx, "owner", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := toks.Issue(ten.ID, owner, "https://management.localhost:8443", false, "1")
	if err != nil {
		t.Fatal(err)
	}
	vs := vaults.New(store, clock, nil)
	mgmt := &management.Service{Store: store, Clock: clock, Rand: rand.Reader,
		ResourceExists: func(ctx context.Context, scope string) (bool, error) {
			i := strings.LastIndex(scope, "/")
			_, err := vs.Vault(ctx, scope[i+1:])
			return err == nil, nil
		}}
	sub, err := mgmt.CreateSubscription(ctx, "test", ten.ID, owner.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := mgmt.PutResourceGroup(ctx, &management.ResourceGroup{Subscription: sub.ID, Name: "rg", Location: "westus"}); err != nil {
		t.Fatal(err)
	}
	az := &authz.Engine{Source: armSource{mgmt: mgmt, dir: dir}}
	srv := &rest.Server{
		Config: rest.Config{DNSSuffix: "vault.localhost", Port: 8443, AuthorityURL: "https://localhost:8443"},
		Vaults: vs, Management: mgmt, Identity: &identity.Service{Dir: dir, Tokens: toks, Clock: clock},
		Authorizer: az, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return &armEnv{t: t, srv: srv, dir: dir, mgmt: mgmt, authz: az, token: tok, owner: owner, tenant: ten.ID, sub: sub.ID}
}

// call sends method to path (relative to the subscription when it does not
// start with "/"; api-version added when missing), checks the status and
// decodes the JSON answer ({} for an empty body).
func (e *armEnv) call(method, path, body string, want int) map[string]any {
	e.t.Helper()
	code, out, raw := e.send(method, path, body)
	if code != want {
		e.t.Fatalf("%s %s: %d %s (want %d)", method, path, code, raw, want)
	}
	if out == nil {
		e.t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return out
}

// send is call without the checks, for use from any goroutine: it returns
// the status, the decoded JSON answer ({} for an empty body, nil when the
// body is not JSON) and the raw body.
func (e *armEnv) send(method, path, body string) (int, map[string]any, string) {
	if !strings.HasPrefix(path, "/") {
		path = "/subscriptions/" + e.sub + "/" + path
	}
	if !strings.Contains(path, "api-version=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "api-version=2023-07-01"
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://localhost:8443"+path, rd)
	req.Host = "localhost:8443"
	req.Header.Set("Authorization", "Bearer "+e.token)
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	out := map[string]any{}
	if s := strings.TrimSpace(w.Body.String()); s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			out = nil
		}
	}
	return w.Code, out, w.Body.String()
}

// putVault creates a vault in "rg" with the given retention.
func (e *armEnv) putVault(name, retention string) map[string]any {
	e.t.Helper()
	return e.call("PUT", "resourceGroups/rg/providers/Microsoft.KeyVault/vaults/"+name,
		`{"location":"westus","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"},"accessPolicies":[],"softDeleteRetentionInDays":`+retention+`}}`, 200)
}

func armProp(m map[string]any, path ...string) any {
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

func armList(m map[string]any) []map[string]any {
	var out []map[string]any
	vs, _ := m["value"].([]any)
	for _, v := range vs {
		out = append(out, v.(map[string]any))
	}
	return out
}

func armCode(m map[string]any) string { s, _ := armProp(m, "error", "code").(string); return s }

// TestARMRoleDefinitionIDs: a role definition's id is subscription-level
// whatever the scope it is read at (subscription, resource group, vault), as
// Azure's; at the tenant scope it has no subscription. The id a role
// assignment names is the id its scope's listing shows, so `az role
// assignment list --scope <vault>` can name the role.
func TestARMRoleDefinitionIDs(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("idsvault", "90")
	sub := "/subscriptions/" + e.sub
	rg := sub + "/resourceGroups/rg"
	vault := rg + "/providers/Microsoft.KeyVault/vaults/idsvault"
	customID := "0f0f0f0f-1111-4222-8333-444444444444"
	e.call("PUT", sub+"/providers/Microsoft.Authorization/roleDefinitions/"+customID+"?api-version=2022-04-01",
		`{"properties":{"roleName":"Custom Reader","permissions":[{"actions":["*/read"]}],"assignableScopes":["`+sub+`"]}}`, 201)
	defID := func(guid string) string { return sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid }
	for _, scope := range []string{sub, rg, vault} {
		defs := armList(e.call("GET", scope+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", 200))
		if len(defs) != len(management.BuiltinRoles)+1 {
			t.Fatalf("%s: %d definitions", scope, len(defs))
		}
		for _, d := range defs {
			if d["id"] != defID(d["name"].(string)) {
				t.Errorf("listed at %s: id %v", scope, d["id"])
			}
		}
		for _, guid := range []string{management.Reader.ID, customID} {
			if got := e.call("GET", scope+"/providers/Microsoft.Authorization/roleDefinitions/"+guid+"?api-version=2022-04-01", "", 200); got["id"] != defID(guid) {
				t.Errorf("GET at %s: id %v", scope, got["id"])
			}
		}
	}
	for _, d := range armList(e.call("GET", "/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", 200)) {
		if d["name"] == management.Reader.ID && d["id"] != "/providers/Microsoft.Authorization/roleDefinitions/"+management.Reader.ID {
			t.Errorf("tenant scope: id %v", d["id"])
		}
	}

	// az role assignment list --scope <vault>: assignments at the vault,
	// joined on roleDefinitionId with the definitions listed at the vault.
	for _, role := range []string{"4633458b-17de-408a-b874-0445c86b69e6", customID} {
		e.call("PUT", vault+"/providers/Microsoft.Authorization/roleAssignments/"+armGUID(t)+"?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"`+defID(role)+`","principalId":"`+e.owner.ObjectID+`"}}`, 201)
	}
	names := map[string]string{}
	for _, d := range armList(e.call("GET", vault+"/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01", "", 200)) {
		names[d["id"].(string)] = armProp(d, "properties", "roleName").(string)
	}
	// atScope() is the assignments at the vault and above it (the
	// subscription owner's), as Azure's.
	ras := armList(e.call("GET", vault+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=atScope()", "", 200))
	if len(ras) != 3 {
		t.Fatalf("assignments at the vault: %v", ras)
	}
	for _, ra := range ras {
		if names[armProp(ra, "properties", "roleDefinitionId").(string)] == "" {
			t.Errorf("roleDefinitionName would be null for %v", armProp(ra, "properties", "roleDefinitionId"))
		}
	}
}

func armGUID(t *testing.T) string {
	id, err := identity.NewUUID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestARMRoleAssignmentProperties: principalType comes from the directory
// (User, ServicePrincipal, Group) when the request leaves it out; a type
// that contradicts the directory is Azure's 400 UnmatchedPrincipalType. The
// creating call's answer has createdBy null and updatedBy the caller, as
// ARM's; reads have both, and createdOn/updatedOn.
func TestARMRoleAssignmentProperties(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	user, err := e.dir.CreateUser(ctx, "alice@arca.local", "password-1", "")
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := e.dir.CreateServicePrincipal(ctx, "app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	group, err := e.dir.CreateGroup(ctx, "Readers", "readers", "", "")
	if err != nil {
		t.Fatal(err)
	}
	rg := "/subscriptions/" + e.sub + "/resourceGroups/rg"
	reader := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	put := func(scope, principal, ptype string, want int) map[string]any {
		body := `{"properties":{"roleDefinitionId":"` + reader + `","principalId":"` + principal + `"`
		if ptype != "" {
			body += `,"principalType":"` + ptype + `"`
		}
		return e.call("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+armGUID(t)+"?api-version=2022-04-01", body+`}}`, want)
	}
	for principal, want := range map[string]string{user.ObjectID: "User", sp.ObjectID: "ServicePrincipal", group.ObjectID: "Group"} {
		got := put(rg, principal, "", 201)
		p := got["properties"].(map[string]any)
		if p["principalType"] != want {
			t.Errorf("%s: principalType %v", want, p["principalType"])
		}
		if v, ok := p["createdBy"]; !ok || v != nil {
			t.Errorf("%s: created answer has createdBy %v (%v), want null", want, v, ok)
		}
		if p["updatedBy"] != e.owner.ObjectID {
			t.Errorf("%s: updatedBy %v", want, p["updatedBy"])
		}
		created, err1 := time.Parse(time.RFC3339Nano, p["createdOn"].(string))
		updated, err2 := time.Parse(time.RFC3339Nano, p["updatedOn"].(string))
		if err1 != nil || err2 != nil || created.IsZero() || updated.Before(created) {
			t.Errorf("%s: createdOn %v updatedOn %v", want, p["createdOn"], p["updatedOn"])
		}
		for _, k := range []string{"condition", "conditionVersion", "description", "delegatedManagedIdentityResourceId"} {
			if v, ok := p[k]; !ok || v != nil {
				t.Errorf("%s: %s = %v (%v), want null", want, k, v, ok)
			}
		}
		read := e.call("GET", got["id"].(string)+"?api-version=2022-04-01", "", 200)
		if armProp(read, "properties", "principalType") != want || armProp(read, "properties", "createdBy") != e.owner.ObjectID ||
			armProp(read, "properties", "updatedBy") != e.owner.ObjectID || armProp(read, "properties", "createdOn") != p["createdOn"] {
			t.Errorf("%s: read back %v", want, read["properties"])
		}
	}
	// A type given in the request must match the directory's.
	if got := put("/subscriptions/"+e.sub, sp.ObjectID, "User", 400); armCode(got) != "UnmatchedPrincipalType" ||
		!strings.Contains(armProp(got, "error", "message").(string), "has type 'ServicePrincipal'") {
		t.Fatalf("mismatched type: %v", got)
	}
	if got := put("/subscriptions/"+e.sub, user.ObjectID, "user", 201); armProp(got, "properties", "principalType") != "User" {
		t.Errorf("lower-case type: %v", got) // case-insensitive, as ARM's enums
	}
	// The listing fills principalType too, also for an assignment made
	// without the ARM front end (the subscription owner's).
	for _, ra := range armList(e.call("GET", "/subscriptions/"+e.sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 200)) {
		if armProp(ra, "properties", "principalType") == "" || armProp(ra, "properties", "principalType") == nil {
			t.Errorf("no principalType: %v", ra)
		}
		if armProp(ra, "properties", "principalId") == e.owner.ObjectID && armProp(ra, "properties", "principalType") != "ServicePrincipal" {
			t.Errorf("owner: %v", ra)
		}
	}
}

// TestARMCheckMhsmNameAvailability: POST …/checkMhsmNameAvailability (az
// keyvault check-name --resource-type hsm) answers the spec's
// CheckMhsmNameAvailabilityResult; no Managed HSM exists, so every valid
// name is free.
func TestARMCheckMhsmNameAvailability(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("takenbyvault", "90")
	check := func(name string) map[string]any {
		return e.call("POST", "providers/Microsoft.KeyVault/checkMhsmNameAvailability", `{"name":"`+name+`"}`, 200)
	}
	for _, name := range []string{"sample-mhsm", "takenbyvault"} {
		if got := check(name); got["nameAvailable"] != true || len(got) != 1 {
			t.Errorf("%s: %v", name, got)
		}
	}
	for _, name := range []string{"9starts-with-digit", "a--b", "ab", "ends-", strings.Repeat("a", 25)} {
		got := check(name)
		if got["nameAvailable"] != false || got["reason"] != "AccountNameInvalid" || got["message"] == "" {
			t.Errorf("%q: %v", name, got)
		}
	}
	e.call("GET", "providers/Microsoft.KeyVault/checkMhsmNameAvailability", "", 405)
	e.call("POST", "providers/Microsoft.KeyVault/checkMhsmNameAvailability", `[1]`, 400)
	// The vault check is unchanged.
	if got := e.call("POST", "providers/Microsoft.KeyVault/checkNameAvailability", `{"name":"takenbyvault","type":"Microsoft.KeyVault/vaults"}`, 200); got["reason"] != "AlreadyExists" {
		t.Errorf("vault check: %v", got)
	}
}

// TestARMRetentionDaysImmutable: softDeleteRetentionInDays is fixed once a
// vault exists: a different value through PUT or PATCH is Azure's 400
// BadRequest; the same value, or none, keeps it.
func TestARMRetentionDaysImmutable(t *testing.T) {
	e := newARMEnv(t)
	e.putVault("retvault", "30")
	path := "resourceGroups/rg/providers/Microsoft.KeyVault/vaults/retvault"
	for _, c := range []struct{ method, body string }{
		{"PATCH", `{"properties":{"softDeleteRetentionInDays":14}}`},
		{"PUT", `{"location":"westus","properties":{"tenantId":"` + e.tenant + `","sku":{"family":"A","name":"standard"},"softDeleteRetentionInDays":14}}`},
	} {
		got := e.call(c.method, path, c.body, 400)
		if armCode(got) != "BadRequest" || armProp(got, "error", "message") != `The property "softDeleteRetentionInDays" has been set already and it can't be modified.` {
			t.Errorf("%s: %v", c.method, got)
		}
	}
	e.call("PATCH", path, `{"properties":{"softDeleteRetentionInDays":30,"enabledForDeployment":true}}`, 200)
	e.call("PATCH", path, `{"tags":{"a":"b"}}`, 200)
	e.putVault("retvault", "30")
	got := e.call("PUT", path, `{"location":"westus","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"}}}`, 200)
	if armProp(got, "properties", "softDeleteRetentionInDays") != float64(30) {
		t.Fatalf("after updates: %v", got["properties"])
	}
	if v, err := e.srv.Vaults.Vault(context.Background(), "retvault"); err != nil || v.RetentionDays != 30 {
		t.Fatalf("stored: %+v %v", v, err)
	}
	// Out of range is still the range error, on create and update.
	e.call("PATCH", path, `{"properties":{"softDeleteRetentionInDays":3}}`, 400)
	e.call("PUT", "resourceGroups/rg/providers/Microsoft.KeyVault/vaults/retvault2",
		`{"location":"westus","properties":{"tenantId":"`+e.tenant+`","sku":{"family":"A","name":"standard"},"softDeleteRetentionInDays":91}}`, 400)
}

// TestARMProviderActions: only provider registration is served under
// /subscriptions/{sub}/providers/{namespace}/{action}; any other action or
// type of a namespace is ARM's 404 InvalidResourceType, and an unknown
// namespace its 404 InvalidResourceNamespace.
func TestARMProviderActions(t *testing.T) {
	e := newARMEnv(t)
	for _, ns := range []string{"Microsoft.KeyVault", "Microsoft.Resources", "Microsoft.Authorization", "microsoft.keyvault"} {
		for _, action := range []string{"register", "unregister"} {
			if got := e.call("POST", "providers/"+ns+"/"+action+"?api-version=2021-04-01", "", 200); !strings.EqualFold(got["namespace"].(string), ns) ||
				got["registrationState"] != "Registered" {
				t.Errorf("%s/%s: %v", ns, action, got)
			}
		}
		if got := e.call("GET", "providers/"+ns+"?api-version=2021-04-01", "", 200); !strings.EqualFold(got["namespace"].(string), ns) {
			t.Errorf("GET %s: %v", ns, got)
		}
		e.call("GET", "providers/"+ns+"/register?api-version=2021-04-01", "", 405)
	}
	for path, typ := range map[string]string{
		"providers/Microsoft.Resources/checkZonePeers":                   "Microsoft.Resources' type 'checkZonePeers",
		"providers/Microsoft.Resources/checkResourceName":                "Microsoft.Resources' type 'checkResourceName",
		"providers/Microsoft.Resources/deployments/d1/validate":          "Microsoft.Resources' type 'deployments/validate",
		"providers/Microsoft.Resources/locations/westus/deletedVaults/x": "Microsoft.Resources' type 'locations/deletedVaults",
		"providers/Microsoft.Authorization/elevateAccess":                "Microsoft.Authorization' type 'elevateAccess",
	} {
		ns, typ, _ := strings.Cut(typ, "' type '")
		for _, method := range []string{"POST", "GET"} {
			got := e.call(method, path+"?api-version=2022-12-01", `{}`, 404)
			if armCode(got) != "InvalidResourceType" || armProp(got, "error", "message") !=
				"The resource type '"+typ+"' could not be found in the namespace '"+ns+"' for api version '2022-12-01'." {
				t.Errorf("%s %s: %v", method, path, got)
			}
		}
	}
	if got := e.call("POST", "providers/Microsoft.Nope/register", "", 404); armCode(got) != "InvalidResourceNamespace" {
		t.Errorf("unknown namespace: %v", got)
	}
	if got := e.call("GET", "providers/Microsoft.Nope/locations/westus/deletedVaults/x", "", 404); armCode(got) != "InvalidResourceNamespace" {
		t.Errorf("unknown namespace, deep path: %v", got)
	}
	// Key Vault's own routes are unchanged.
	e.call("GET", "providers/Microsoft.KeyVault/vaults", "", 200)
	e.call("GET", "providers/Microsoft.KeyVault/deletedVaults", "", 200)
	if ps := armList(e.call("GET", "providers?api-version=2021-04-01", "", 200)); len(ps) != 3 {
		t.Errorf("providers: %v", ps)
	}
}

// TestARMRoleAssignmentCondition: Arca does not evaluate ABAC conditions, so
// a role assignment PUT with a condition is refused (400 InvalidCondition,
// Azure's message first) instead of granting the role without its
// restriction; nothing is stored, and an existing assignment is not
// changed. A null or empty condition is no condition.
func TestARMRoleAssignmentCondition(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	sp, _, err := e.dir.CreateServicePrincipal(ctx, "app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + e.sub + "/resourceGroups/rg"
	reader := "/subscriptions/" + e.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	raPath := func(name string) string {
		return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name + "?api-version=2022-04-01"
	}
	body := func(extra string) string {
		return `{"properties":{"roleDefinitionId":"` + reader + `","principalId":"` + sp.ObjectID + `"` + extra + `}}`
	}
	for _, cond := range []string{
		`,"condition":"@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'a'","conditionVersion":"2.0"`,
		`,"condition":"@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'a'"`,
		`,"condition":" ","conditionVersion":"2.0"`,
		`,"Condition":"x"`,
	} {
		name := armGUID(t)
		got := e.call("PUT", raPath(name), body(cond), 400)
		if armCode(got) != "InvalidCondition" || !strings.HasPrefix(armProp(got, "error", "message").(string), "The given role assignment condition is invalid.") {
			t.Errorf("%s: %v", cond, got)
		}
		e.call("GET", raPath(name), "", 404)
	}
	e.call("PUT", raPath(armGUID(t)), body(`,"condition":{"a":1}`), 400)
	for _, ra := range armList(e.call("GET", scope+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 200)) {
		if armProp(ra, "properties", "principalId") == sp.ObjectID {
			t.Fatalf("an assignment with a condition was stored: %v", ra)
		}
	}
	if err := e.may(sp.ObjectID, scope, "Microsoft.KeyVault/vaults/read"); err == nil {
		t.Fatal("the refused assignment grants the role")
	}

	// No condition: null, or empty (with or without a version).
	name := armGUID(t)
	got := e.call("PUT", raPath(name), body(`,"condition":null,"conditionVersion":null`), 201)
	if v, ok := armProp(got, "properties").(map[string]any)["condition"]; !ok || v != nil {
		t.Errorf("condition %v", v)
	}
	e.call("PUT", raPath(name), body(`,"condition":"","conditionVersion":"2.0"`), 201)
	// Adding a condition to the existing assignment is refused too.
	if got := e.call("PUT", raPath(name), body(`,"condition":"true"`), 400); armCode(got) != "InvalidCondition" {
		t.Errorf("existing assignment: %v", got)
	}
	if got := e.call("GET", raPath(name), "", 200); armProp(got, "properties", "condition") != nil {
		t.Errorf("stored: %v", got)
	}
}

// TestARMRoleAssignmentDescription: the description sent on PUT is stored
// and answered (PUT, GET, list); putting the assignment again with another
// description replaces it and moves updatedOn/updatedBy.
func TestARMRoleAssignmentDescription(t *testing.T) {
	e := newARMEnv(t)
	ctx := context.Background()
	sp, _, err := e.dir.CreateServicePrincipal(ctx, "app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub := "/subscriptions/" + e.sub
	reader := sub + "/providers/Microsoft.Authorization/roleDefinitions/" + management.Reader.ID
	path := sub + "/providers/Microsoft.Authorization/roleAssignments/" + armGUID(t) + "?api-version=2022-04-01"
	put := func(desc string) map[string]any {
		return e.call("PUT", path, `{"properties":{"roleDefinitionId":"`+reader+`","principalId":"`+sp.ObjectID+`","description":"`+desc+`"}}`, 201)
	}
	if got := put("Reads the vaults of the team"); armProp(got, "properties", "description") != "Reads the vaults of the team" {
		t.Fatalf("PUT: %v", got["properties"])
	}
	read := e.call("GET", path, "", 200)
	if armProp(read, "properties", "description") != "Reads the vaults of the team" {
		t.Fatalf("GET: %v", read["properties"])
	}
	found := false
	for _, ra := range armList(e.call("GET", sub+"/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01", "", 200)) {
		if ra["id"] == read["id"] {
			found = armProp(ra, "properties", "description") == "Reads the vaults of the team"
		}
	}
	if !found {
		t.Fatal("the listing lacks the description")
	}
	e.srv.Clock.(*arca.ManualClock).Advance(time.Minute)
	got := put("Reads everything")
	p := got["properties"].(map[string]any)
	if p["description"] != "Reads everything" || p["createdOn"] != armProp(read, "properties", "createdOn") || p["updatedOn"] == p["createdOn"] ||
		p["updatedBy"] != e.owner.ObjectID || p["createdBy"] != e.owner.ObjectID {
		t.Fatalf("changed description: %v", p)
	}
	if armProp(e.call("GET", path, "", 200), "properties", "description") != "Reads everything" {
		t.Fatal("the new description was not stored")
	}
}
