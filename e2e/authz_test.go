package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
)

// TestAccessPolicyEnforcedAndGrantedWithoutRestart: an identity without a
// policy gets Azure's 403; accessPolicies/add through ARM grants exactly
// the listed permissions, at once.
func TestAccessPolicyEnforcedAndGrantedWithoutRestart(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	owner := f.arm()
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "reader-app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	devTok := f.token("https://vault.localhost:" + f.port() + "/.default")
	f.do("PUT", f.vaultURL("arca")+"/secrets/app-secret?api-version=7.4", devTok, `{"value":"top-secret-value-123"}`)
	tok := f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port())
	get := func() (int, string) {
		resp, body := f.do("GET", f.vaultURL("arca")+"/secrets/app-secret/?api-version=7.4", tok, "")
		return resp.StatusCode, body
	}
	if code, body := get(); code != 403 || !strings.Contains(body, `"code":"Forbidden"`) || !strings.Contains(body, "does not have secrets get permission on key vault 'arca;location=local'") ||
		!strings.Contains(body, `"innererror":{"code":"AccessDenied"}`) {
		t.Fatalf("before the grant: %d %s", code, body)
	}
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/arca/accessPolicies/add?api-version=2023-07-01",
		`{"properties":{"accessPolicies":[{"tenantId":"`+f.r.App.Facts.TenantID+`","objectId":"`+sp.ObjectID+`","permissions":{"secrets":["get"]}}]}}`, 200)
	if code, body := get(); code != 200 || !strings.Contains(body, "top-secret-value-123") {
		t.Fatalf("after the grant: %d %s", code, body)
	}
	// Only what was granted: listing and setting stay forbidden.
	if resp, _ := f.do("GET", f.vaultURL("arca")+"/secrets?api-version=7.4", tok, ""); resp.StatusCode != 403 {
		t.Fatalf("list without the list permission: %d", resp.StatusCode)
	}
	if resp, _ := f.do("PUT", f.vaultURL("arca")+"/secrets/x?api-version=7.4", tok, `{"value":"v"}`); resp.StatusCode != 403 {
		t.Fatalf("set without the set permission: %d", resp.StatusCode)
	}
	// And removal takes effect at once too.
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/arca/accessPolicies/remove?api-version=2023-07-01",
		`{"properties":{"accessPolicies":[{"tenantId":"`+f.r.App.Facts.TenantID+`","objectId":"`+sp.ObjectID+`","permissions":{"secrets":["get"]}}]}}`, 200)
	if code, _ := get(); code != 403 {
		t.Fatalf("after the removal: %d", code)
	}
}

// TestRBACModeDownToOneObject: in an RBAC vault, a Secrets User assignment
// at one secret's scope reads that secret and nothing else.
func TestRBACModeDownToOneObject(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	owner := f.arm()
	sub := owner.sub
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/rbacvault?api-version=2023-07-01",
		`{"location":"local","properties":{"tenantId":"`+f.r.App.Facts.TenantID+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true}}`, 200)
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "rbac-app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	devSP, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	vaultScope := "/subscriptions/" + sub + "/resourceGroups/arca/providers/Microsoft.KeyVault/vaults/rbacvault"
	assign := func(scope, principal, role string) {
		owner.call("PUT", scope+"/providers/Microsoft.Authorization/roleAssignments/"+strings.ToLower(mustUUID(t))+"?api-version=2022-04-01",
			`{"properties":{"roleDefinitionId":"/subscriptions/`+sub+`/providers/Microsoft.Authorization/roleDefinitions/`+role+`","principalId":"`+principal+`"}}`, 201)
	}
	const secretsOfficer, secretsUser = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "4633458b-17de-408a-b874-0445c86b69e6"
	devTok := f.token("https://vault.localhost:" + f.port() + "/.default")
	// The vault's access policies are ignored in RBAC mode: the owner needs a data role too.
	if resp, body := f.do("PUT", f.vaultURL("rbacvault")+"/secrets/one?api-version=7.4", devTok, `{"value":"1"}`); resp.StatusCode != 403 || !strings.Contains(body, "ForbiddenByRbac") {
		t.Fatalf("owner without a data role: %d %s", resp.StatusCode, body)
	}
	assign(vaultScope, devSP.ObjectID, secretsOfficer)
	for _, n := range []string{"one", "two"} {
		if resp, body := f.do("PUT", f.vaultURL("rbacvault")+"/secrets/"+n+"?api-version=7.4", devTok, `{"value":"v-`+n+`"}`); resp.StatusCode != 200 {
			t.Fatalf("officer set %s: %d %s", n, resp.StatusCode, body)
		}
	}
	tok := f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port())
	assign(vaultScope+"/secrets/one", sp.ObjectID, secretsUser)
	if resp, body := f.do("GET", f.vaultURL("rbacvault")+"/secrets/one/?api-version=7.4", tok, ""); resp.StatusCode != 200 {
		t.Fatalf("user on its secret: %d %s", resp.StatusCode, body)
	}
	resp, body := f.do("GET", f.vaultURL("rbacvault")+"/secrets/two/?api-version=7.4", tok, "")
	if resp.StatusCode != 403 || !strings.Contains(body, "Microsoft.KeyVault/vaults/secrets/getSecret/action") {
		t.Fatalf("user on another secret: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do("PUT", f.vaultURL("rbacvault")+"/secrets/one?api-version=7.4", tok, `{"value":"x"}`); resp.StatusCode != 403 {
		t.Fatalf("secrets user may not set: %d", resp.StatusCode)
	}
}

// TestAuditLogRecordsEveryRequestWithoutSecrets: allowed, denied and
// unauthenticated requests each leave one AuditEvent line, and no secret
// value, client secret or token appears in the log.
func TestAuditLogRecordsEveryRequestWithoutSecrets(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	const value = "AUDIT-CANARY-secret-value-9f8e"
	devTok := f.token("https://vault.localhost:" + f.port() + "/.default")
	f.do("PUT", f.vaultURL("arca")+"/secrets/canary?api-version=7.4", devTok, `{"value":"`+value+`"}`)
	f.do("GET", f.vaultURL("arca")+"/secrets/canary/?api-version=7.4", devTok, "")
	f.do("GET", f.vaultURL("arca")+"/secrets/canary/?api-version=7.4", "", "")
	sp, secret, _ := f.r.App.Directory.CreateServicePrincipal(ctx, "nobody", true, nil)
	f.do("GET", f.vaultURL("arca")+"/secrets/canary/?api-version=7.4", f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port()), "")
	// Management plane and Graph calls are audited too, with their caller.
	f.arm().call("GET", "resourcegroups/arca?api-version=2021-04-01", "", 200)
	f.graph(f.token("https://graph.localhost:"+f.port()+"/.default"), "GET", "groups", "", 200)
	f.r.Close()

	raw, err := os.ReadFile(filepath.Join(f.dir, "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range []string{value, secret, f.creds.ClientSecret, devTok, devTok[len(devTok)-40:]} {
		if strings.Contains(string(raw), needle) {
			t.Fatalf("audit log leaks %q", needle[:8])
		}
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			OperationName string `json:"operationName"`
			ResultType    string `json:"resultType"`
			ResourceID    string `json:"resourceId"`
			Identity      *struct {
				Claim map[string]string `json:"claim"`
			} `json:"identity"`
			Properties map[string]any `json:"properties"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		if strings.Contains(e.ResourceID, "/vaults/arca") {
			seen[e.OperationName+"/"+e.ResultType]++
		}
		if (e.OperationName == "ManagementRequest" && strings.HasPrefix(e.ResourceID, "/subscriptions/") || e.OperationName == "GraphRequest") &&
			e.Identity != nil && e.Identity.Claim["oid"] != "" {
			seen[e.OperationName+"/"+e.ResultType]++
		}
	}
	for _, want := range []string{"SecretSet/Success", "SecretGet/Success", "VaultRequest/Unauthorized", "SecretGet/Forbidden",
		"ManagementRequest/Success", "GraphRequest/Success"} {
		if seen[want] == 0 {
			t.Errorf("no %s record; saw %v", want, seen)
		}
	}
}

// TestEveryHandlerOperationIsInTheTable: handlers name their operation
// with the arca.Op constants, so a misspelt name does not compile; every
// declared operation (arca.AllOperations) has a requirement in
// authz.Operations and the table has nothing else, so no operation is
// denied by omission (or decided by anything but the table).
// TestAuthorizationMatrix drives each operation through its handler and
// checks that its audit record names it.
func TestEveryHandlerOperationIsInTheTable(t *testing.T) {
	declared := map[arca.Operation]bool{}
	for _, op := range arca.AllOperations() {
		if declared[op] {
			t.Errorf("%s is declared twice", op)
		}
		declared[op] = true
		if _, ok := authz.Operations[op]; !ok {
			t.Errorf("%s is declared, but the authorisation table lacks it", op)
		}
	}
	for op := range authz.Operations {
		if !declared[op] {
			t.Errorf("%s is in the authorisation table, but not in arca.AllOperations", op)
		}
	}
	if len(declared) == 0 {
		t.Fatal("no operation declared")
	}
}

// TestVaultCreateIsAnARMClientWhileServing: with `arca serve` holding the
// store, `arca vault create` goes through the Resource Manager, and the new
// vault serves the development identity at once.
func TestVaultCreateIsAnARMClientWhileServing(t *testing.T) {
	f := startArca(t)
	out, err := exec.Command(arcaBinary(t), "vault", "create", "armvault", "--data", f.dir, "--sku", "standard").CombinedOutput()
	if err != nil {
		t.Fatalf("arca vault create: %v %s", err, out)
	}
	if _, err := f.r.App.Vaults.Vault(context.Background(), "armvault"); err != nil {
		t.Fatalf("vault not created: %v (%s)", err, out)
	}
	tok := f.token("https://vault.localhost:" + f.port() + "/.default")
	if resp, body := f.do("PUT", f.vaultURL("armvault")+"/secrets/s?api-version=7.4", tok, `{"value":"v"}`); resp.StatusCode != 200 {
		t.Fatalf("dev identity on the new vault: %d %s", resp.StatusCode, body)
	}
}

// TestDecisionNotTakenOnAStaleVault: a request that fetched its vault just
// before an access policy was removed is decided on the current policies,
// and no "allowed" decision outlives the removal.
func TestDecisionNotTakenOnAStaleVault(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	stale, err := f.r.App.Vaults.Vault(ctx, "arca")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	if err != nil {
		t.Fatal(err)
	}
	p := &arca.Principal{TenantID: stale.TenantID, ObjectID: sp.ObjectID, AppID: sp.AppID}
	if err := f.r.Handler.Authorizer.Authorize(ctx, stale, p, "SecretGet", ""); err != nil {
		t.Fatalf("before the change: %v", err)
	}
	if _, err := f.r.App.Vaults.Update(ctx, "arca", func(v *arca.Vault) error {
		v.AccessPolicies = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.r.Handler.Authorizer.Authorize(ctx, stale, p, "SecretGet", ""); arca.KindOf(err) != arca.KindForbidden {
			t.Fatalf("decision %d on a vault fetched before its policies were removed: %v", i, err)
		}
	}
}
