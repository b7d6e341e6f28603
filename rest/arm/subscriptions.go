package arm

// The Resource Manager: subscriptions, tenants, resource providers and the
// cloud metadata endpoint.

import (
	"net/http"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

func (q *armRequest) subscriptionJSON(sub *management.Subscription) map[string]any {
	return map[string]any{
		"id": "/subscriptions/" + sub.ID, "subscriptionId": sub.ID, "tenantId": sub.TenantID,
		"displayName": sub.DisplayName, "state": sub.State, "authorizationSource": "RoleBased",
		"managedByTenants": []any{}, "tags": map[string]string{},
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

func (q *armRequest) listSubscriptions() {
	subs, err := q.h.Management.Subscriptions(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	ras, err := q.h.Management.RoleAssignments(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	// The caller's assignments, direct or through its groups.
	mine := map[string]bool{strings.ToLower(q.principal.ObjectID): true}
	groups, err := q.h.Directory.MemberOf(q.ctx(), q.principal.ObjectID)
	if err != nil {
		q.fail(arca.Internal(err))
		return
	}
	for _, g := range groups {
		mine[strings.ToLower(g)] = true
	}
	out := []any{}
	for _, sub := range subs {
		scope := "/subscriptions/" + sub.ID
		for _, ra := range ras {
			if mine[strings.ToLower(ra.PrincipalID)] && (management.InScope(scope, ra.Scope) || management.InScope(ra.Scope, scope)) {
				out = append(out, q.subscriptionJSON(sub))
				break
			}
		}
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out, "count": map[string]any{"type": "Total", "value": len(out)}})
}

func (q *armRequest) tenants() {
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": []any{map[string]any{
		"id": "/tenants/" + q.tenant, "tenantId": q.tenant, "tenantCategory": "Home", "displayName": "Arca",
		"defaultDomain": "arca.local", "domains": []string{"arca.local"}, "tenantType": "AAD", "countryCode": "US",
	}}})
}

var kvAPIVersions = []string{"2026-02-01", "2025-05-01", "2024-11-01", "2024-04-01-preview", "2023-07-01", "2023-02-01",
	"2022-11-01", "2022-07-01", "2021-10-01", "2021-06-01-preview", "2021-04-01-preview", "2019-09-01", "2018-02-14", "2016-10-01", "2015-06-01"}

func (q *armRequest) providerJSON(sub *management.Subscription, ns string) map[string]any {
	locs := strings.Split(armLocations, ",")
	var types []map[string]any
	switch {
	case eq(ns, kvNamespace):
		ns = kvNamespace
		for _, t := range []string{"vaults", "vaults/accessPolicies", "deletedVaults", "locations", "locations/deletedVaults", "locations/operationResults", "operations", "checkNameAvailability"} {
			types = append(types, map[string]any{"resourceType": t, "locations": locs, "apiVersions": kvAPIVersions})
		}
	case eq(ns, authzNS):
		ns = authzNS
		types = []map[string]any{{"resourceType": "roleAssignments", "locations": []string{}, "apiVersions": []string{"2022-04-01", "2020-04-01-preview", "2018-09-01-preview", "2015-07-01"}},
			{"resourceType": "roleDefinitions", "locations": []string{}, "apiVersions": []string{"2022-04-01", "2018-01-01-preview", "2015-07-01"}}}
	default:
		ns = "Microsoft.Resources"
		types = []map[string]any{{"resourceType": "resourceGroups", "locations": locs, "apiVersions": []string{"2022-09-01", "2021-04-01", "2019-10-01"}}}
	}
	return map[string]any{"id": "/subscriptions/" + sub.ID + "/providers/" + ns, "namespace": ns,
		"registrationState": "Registered", "registrationPolicy": "RegistrationRequired", "resourceTypes": types}
}

func (q *armRequest) operations() {
	ops := [][2]string{
		{"Microsoft.KeyVault/vaults/read", "View the properties of a key vault"},
		{"Microsoft.KeyVault/vaults/write", "Create a new key vault or update the properties of an existing key vault"},
		{"Microsoft.KeyVault/vaults/delete", "Delete a key vault"},
		{"Microsoft.KeyVault/vaults/accessPolicies/write", "Update an existing access policy"},
		{"Microsoft.KeyVault/deletedVaults/read", "View the properties of soft deleted key vaults"},
		{"Microsoft.KeyVault/locations/deletedVaults/purge/action", "Purge a soft deleted key vault"},
		{"Microsoft.KeyVault/checkNameAvailability/read", "Checks that a key vault name is valid and is not in use"},
		{"Microsoft.KeyVault/register/action", "Registers a subscription"},
		{"Microsoft.KeyVault/operations/read", "Lists operations available on Microsoft.KeyVault resource provider"},
	}
	var out []map[string]any
	for _, o := range ops {
		parts := strings.Split(o[0], "/")
		out = append(out, map[string]any{"name": o[0], "isDataAction": false, "origin": "user,system",
			"display": map[string]any{"provider": "Microsoft Key Vault", "resource": parts[1], "operation": o[1], "description": o[1]}})
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

// metadataEndpoints serves GET /metadata/endpoints (no authentication), which
// `az cloud register --endpoint-resource-manager` reads.
func (h *Handler) metadataEndpoints(w http.ResponseWriter, r *http.Request) {
	o := httpx.Origin(r)
	p := h.Config.PortSuffix()
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"galleryEndpoint": "", "portalEndpoint": "", "graphEndpoint": "https://graph.localhost" + p + "/",
		"microsoftGraphResourceId": o + "/", "resourceManager": o + "/", "name": "Arca",
		"authentication": map[string]any{"loginEndpoint": o + "/adfs", "audiences": []string{"https://management.localhost" + p + "/"},
			"tenant": "adfs", "identityProvider": "ADFS"},
		"suffixes": map[string]any{"keyVaultDns": "." + h.Config.DNSSuffix + p},
	})
}
