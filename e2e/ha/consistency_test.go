package ha

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// awaitLimit bounds every wait for a change made through one node to show
// on another.
const awaitLimit = 10 * time.Second

// admin is the development service principal's view of the cluster
// through node a: tokens for the three planes, ids.
type admin struct {
	c                  *cluster
	vault, mgmt, graph string // tokens
	tenant, sub        string
	devOID, miOID      string
	mi                 string // the managed identity's vault token
}

func newAdmin(c *cluster, a *node) *admin {
	ad := &admin{c: c, tenant: c.env["ARCA_TENANT_ID"], sub: c.env["AZURE_SUBSCRIPTION_ID"],
		vault: a.token(c.resource("vault")), mgmt: a.token(c.resource("management")), graph: a.token(c.resource("graph")),
		mi: a.miToken(c.resource("vault"))}
	ad.devOID, ad.miOID = claim(c.t, ad.vault, "oid"), claim(c.t, ad.mi, "oid")
	return ad
}

// claim reads a claim of a JWT without verifying it (the server did).
func claim(t *testing.T, jwt, name string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40s", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	s, _ := claims[name].(string)
	if s == "" {
		t.Fatalf("JWT without %s: %s", name, b)
	}
	return s
}

func (ad *admin) armURL(path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/subscriptions/" + ad.sub + "/" + path
	}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return ad.c.authority() + path + sep + "api-version=2023-07-01"
}

func (ad *admin) vaultPath(name string) string {
	return "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/" + name
}

// vaultBody creates a vault with the given access policies (JSON objects
// without tenantId) or, with rbac, none and Azure RBAC on.
func (ad *admin) vaultBody(rbac bool, policies ...string) string {
	var ps []string
	for _, p := range policies {
		ps = append(ps, `{"tenantId":"`+ad.tenant+`",`+strings.TrimPrefix(p, "{"))
	}
	return fmt.Sprintf(`{"location":"local","properties":{"tenantId":%q,"sku":{"family":"A","name":"standard"},"enableRbacAuthorization":%v,"accessPolicies":[%s]}}`,
		ad.tenant, rbac, strings.Join(ps, ","))
}

func (ad *admin) devAll() string {
	return `{"objectId":"` + ad.devOID + `","permissions":{"keys":["all"],"secrets":["all"],"certificates":["all"]}}`
}

func readGet(oid string) string {
	return `{"objectId":"` + oid + `","permissions":{"secrets":["get"]}}`
}

// await polls probe on node n, one request after another (no sleeps), until
// it reports the expected state or awaitLimit passes; it returns how long
// after since the state showed.
func await(t *testing.T, what string, n *node, since time.Time, probe func(n *node) (bool, string)) time.Duration {
	t.Helper()
	deadline := time.Now().Add(awaitLimit)
	for polls := 1; ; polls++ {
		ok, state := probe(n)
		if ok {
			return time.Since(since)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: node%d still shows %s after %v (%d polls)", what, n.i, state, awaitLimit, polls)
		}
	}
}

// status is a probe answering whether a GET of u with bearer answers want.
func status(u, bearer string, want int) func(n *node) (bool, string) {
	return func(n *node) (bool, string) {
		code, b, err := n.do(context.Background(), "GET", u, bearer, "")
		return err == nil && code == want, fmt.Sprintf("%d %v %.100s", code, err, b)
	}
}

// azureError is a probe answering whether a GET of u with bearer answers
// status want with the Azure error code code.
func azureError(u, bearer string, want int, code string) func(n *node) (bool, string) {
	return func(n *node) (bool, string) {
		got, b, err := n.do(context.Background(), "GET", u, bearer, "")
		return err == nil && got == want && errCode(b) == code, fmt.Sprintf("%d %v %.100s", got, err, b)
	}
}

// runConsistency makes changes through node A and measures how long each
// takes to show on the other nodes, having first made sure they serve (and
// cache) the state before the change.
func runConsistency(t *testing.T, c *cluster) []string {
	a, others := c.nodes[0], c.nodes[1:]
	ad := newAdmin(c, a)
	var lines []string
	measure := func(what string, since time.Time, probe func(n *node) (bool, string)) {
		var parts []string
		for _, b := range others {
			d := await(t, what, b, since, probe)
			parts = append(parts, fmt.Sprintf("node%d %v", b.i, d.Round(100*time.Microsecond)))
		}
		line := fmt.Sprintf("consistency: %-44s through node%d, shown on %s", what, a.i, strings.Join(parts, ", "))
		lines = append(lines, line)
		t.Log(line)
	}
	secretURL := func(vault string) string { return c.vaultURL(vault) + "/secrets/ha-s?api-version=7.4" }

	// A new vault, with an access policy for the managed identity.
	since := time.Now()
	a.must("PUT", ad.armURL(ad.vaultPath("ha-pol")), ad.mgmt, ad.vaultBody(false, ad.devAll(), readGet(ad.miOID)), 200)
	measure("create a vault", since, azureError(secretURL("ha-pol"), ad.vault, 404, "SecretNotFound")) // the vault answers
	a.must("PUT", secretURL("ha-pol"), ad.vault, `{"value":"v"}`, 200)
	for _, b := range others {
		await(t, "managed identity reads through its policy", b, time.Now(), status(secretURL("ha-pol"), ad.mi, 200))
	}

	// Revoke the managed identity's access policy.
	since = time.Now()
	a.must("PUT", ad.armURL(ad.vaultPath("ha-pol")+"/accessPolicies/remove"), ad.mgmt,
		`{"properties":{"accessPolicies":[{"tenantId":"`+ad.tenant+`",`+strings.TrimPrefix(readGet(ad.miOID), "{")+`]}}`, 200)
	measure("revoke an access policy (then 403)", since, status(secretURL("ha-pol"), ad.mi, 403))

	// Delete the vault.
	for _, b := range others {
		await(t, "vault serves before the delete", b, time.Now(), status(secretURL("ha-pol"), ad.vault, 200))
	}
	since = time.Now()
	a.must("DELETE", ad.armURL(ad.vaultPath("ha-pol")), ad.mgmt, "", 200)
	measure("delete a vault (then 404)", since, azureError(secretURL("ha-pol"), ad.vault, 404, "VaultNotFound"))

	// Rotate a key.
	keyURL := c.vaultURL("arca") + "/keys/ha-rot"
	k1 := a.must("POST", keyURL+"/create?api-version=7.4", ad.vault, `{"kty":"EC","crv":"P-256"}`, 200)
	kid1, _ := dig(k1, "key", "kid").(string)
	currentKid := func(want string) func(n *node) (bool, string) {
		return func(n *node) (bool, string) {
			code, b, err := n.do(context.Background(), "GET", keyURL+"?api-version=7.4", ad.vault, "")
			var k struct {
				Key struct {
					Kid string `json:"kid"`
				} `json:"key"`
			}
			_ = json.Unmarshal(b, &k)
			return err == nil && code == 200 && k.Key.Kid == want, fmt.Sprintf("%d %v kid %s", code, err, k.Key.Kid)
		}
	}
	for _, b := range others {
		await(t, "key before the rotation", b, time.Now(), currentKid(kid1))
	}
	since = time.Now()
	k2 := a.must("POST", keyURL+"/rotate?api-version=7.4", ad.vault, "", 200)
	kid2, _ := dig(k2, "key", "kid").(string)
	if kid2 == "" || kid2 == kid1 {
		t.Fatalf("rotate: kid %q after %q", kid2, kid1)
	}
	measure("rotate a key (new version current)", since, currentKid(kid2))

	// A group that grants the managed identity access through an access
	// policy (vault ha-grp) and through Azure RBAC (vault ha-rbac).
	graph := func(method, path, body string, want int) map[string]any {
		return a.must(method, c.authority()+"/v1.0/"+path, ad.graph, body, want)
	}
	g := graph("POST", "groups", `{"displayName":"HA readers","mailNickname":"ha-readers","mailEnabled":false,"securityEnabled":true}`, 201)
	gid, _ := g["id"].(string)
	graph("POST", "groups/"+gid+"/members/$ref", `{"@odata.id":"`+c.resource("graph")+`/v1.0/directoryObjects/`+ad.miOID+`"}`, 204)
	a.must("PUT", ad.armURL(ad.vaultPath("ha-grp")), ad.mgmt, ad.vaultBody(false, ad.devAll(), readGet(gid)), 200)
	a.must("PUT", ad.armURL(ad.vaultPath("ha-rbac")), ad.mgmt, ad.vaultBody(true), 200)
	scope := "/subscriptions/" + ad.sub + "/" + ad.vaultPath("ha-rbac")
	assign := func(principal, ptype, role string) {
		a.must("PUT", c.authority()+scope+"/providers/Microsoft.Authorization/roleAssignments/"+uuid.NewString()+"?api-version=2022-04-01", ad.mgmt,
			`{"properties":{"roleDefinitionId":"/subscriptions/`+ad.sub+`/providers/Microsoft.Authorization/roleDefinitions/`+role+`","principalId":"`+principal+`","principalType":"`+ptype+`"}}`, 201)
	}
	assign(ad.devOID, "ServicePrincipal", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7") // Key Vault Secrets Officer
	assign(gid, "Group", "4633458b-17de-408a-b874-0445c86b69e6")                  // Key Vault Secrets User
	a.must("PUT", secretURL("ha-grp"), ad.vault, `{"value":"v"}`, 200)
	// The Secrets Officer assignment may take a moment to show on A itself
	// (its own write): poll A too.
	await(t, "RBAC write through Secrets Officer", a, time.Now(), func(n *node) (bool, string) {
		code, b, err := n.do(context.Background(), "PUT", secretURL("ha-rbac"), ad.vault, `{"value":"v"}`)
		return err == nil && code == 200, fmt.Sprintf("%d %v %.100s", code, err, b)
	})
	for _, b := range others {
		await(t, "group member reads through the access policy", b, time.Now(), status(secretURL("ha-grp"), ad.mi, 200))
		await(t, "group member reads through RBAC", b, time.Now(), status(secretURL("ha-rbac"), ad.mi, 200))
	}
	since = time.Now()
	graph("DELETE", "groups/"+gid+"/members/"+ad.miOID+"/$ref", "", 204)
	measure("remove a group member (policy: then 403)", since, status(secretURL("ha-grp"), ad.mi, 403))
	measure("remove a group member (RBAC: then 403)", since, status(secretURL("ha-rbac"), ad.mi, 403))
	return lines
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
