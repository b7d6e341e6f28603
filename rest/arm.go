package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
)

// This file is a small Azure Resource Manager on the token service host:
// subscriptions, tenants, provider registration, resource groups,
// Microsoft.KeyVault/vaults (and deleted vaults), role assignments, role
// definitions (built-in and custom) and the cloud metadata document. Vaults created here are the vaults the data
// plane serves. Every call but /metadata/endpoints needs a bearer token for
// the management audience; writes and reads are authorised with ARM role
// assignments (package management).

const (
	kvNamespace  = "Microsoft.KeyVault"
	vaultType    = "Microsoft.KeyVault/vaults"
	rgType       = "Microsoft.Resources/resourceGroups"
	authzNS      = "Microsoft.Authorization"
	maxARMBody   = 1 << 20
	armLocations = "westus,eastus,westeurope,northeurope,local"
)

// armRequest is one authenticated ARM call.
type armRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	s         *Server
	segs      []string // path segments, unescaped
	query     url.Values
	principal *arca.Principal
	tenant    string
	ptypes    map[string]string // principalType answers, by lower-case object id
}

func (q *armRequest) fail(err error) { writeError(q.w, q.r, q.s.Log, err) }

// deleted answers an ARM DELETE: 200 with the deleted resource, 204 when
// there was nothing to delete, the error otherwise.
func (q *armRequest) deleted(err error, body func() any) {
	switch {
	case arca.KindOf(err) == arca.KindNotFound:
		q.w.WriteHeader(http.StatusNoContent)
	case err != nil:
		q.fail(err)
	default:
		writeJSON(q.w, http.StatusOK, body())
	}
}

func (q *armRequest) ctx() context.Context { return q.r.Context() }

// authorize checks the caller's role assignments for action at scope.
func (q *armRequest) authorize(scope, action string) bool {
	if err := q.s.Management.Authorize(q.ctx(), q.principal.ObjectID, scope, action); err != nil {
		q.fail(err)
		return false
	}
	return true
}

// managementAudience reports whether aud names the management endpoint.
func (s *Server) managementAudience(aud string) bool {
	aud = strings.ToLower(strings.TrimSuffix(aud, "/"))
	return aud == "https://management.localhost"+s.Config.PortSuffix() || aud == "https://management.azure.com" ||
		aud == "https://management.core.windows.net"
}

// graphAudience reports whether aud names Microsoft Graph.
func (s *Server) graphAudience(aud string) bool {
	aud = strings.ToLower(strings.TrimSuffix(aud, "/"))
	return aud == "https://localhost"+s.Config.PortSuffix() || aud == "https://graph.localhost"+s.Config.PortSuffix() ||
		aud == "https://graph.microsoft.com"
}

// isARMPath reports whether the token-service host path belongs to ARM or Graph.
func isARMPath(lower string) bool {
	first, _, _ := strings.Cut(lower, "/")
	switch first {
	case "subscriptions", "tenants", "providers", "v1.0":
		return true
	}
	return lower == "metadata/endpoints"
}

// authenticate verifies the bearer token of an ARM or Graph call.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, audOK func(string) bool, hint string) (*arca.Principal, string, bool) {
	t, err := s.Identity.Dir.Tenant(r.Context())
	if err != nil {
		writeError(w, r, s.Log, arca.Internal(err))
		return nil, "", false
	}
	authz := r.Header.Get("Authorization")
	challenge := `Bearer authorization_uri="` + s.Config.AuthorityURL + "/" + t.ID + `", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "Bearer ") {
		w.Header().Set("WWW-Authenticate", challenge)
		writeError(w, r, s.Log, arca.Errorf(arca.KindUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."))
		return nil, "", false
	}
	p, err := s.Identity.Tokens.Verify(strings.TrimSpace(authz[7:]), t.ID, audOK, hint)
	if err != nil {
		w.Header().Set("WWW-Authenticate", challenge)
		msg := "The access token is invalid."
		if e, ok := err.(*arca.Error); ok {
			msg = e.Message
		}
		writeError(w, r, s.Log, arca.Errorf(arca.KindUnauthorized, "InvalidAuthenticationToken", "%s", msg))
		return nil, "", false
	}
	if ri := reqInfoFrom(r.Context()); ri != nil {
		ri.principal = p // the audit record names the caller
	}
	return p, t.ID, true
}

// serveARM serves the management plane and Graph on the token service host.
func (s *Server) serveARM(w http.ResponseWriter, r *http.Request, lower string) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("x-ms-correlation-request-id", w.Header().Get("x-ms-request-id"))
	if lower == "metadata/endpoints" {
		s.metadataEndpoints(w, r)
		return
	}
	if strings.HasPrefix(lower, "v1.0") {
		s.serveGraph(w, r)
		return
	}
	if s.Management == nil {
		writeError(w, r, s.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The management plane is not enabled."))
		return
	}
	p, tenant, ok := s.authenticate(w, r, s.managementAudience, "https://management.localhost"+s.Config.PortSuffix()+"/")
	if !ok {
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, s.Log, arca.Errorf(arca.KindInvalid, "InvalidQueryParameterValue", "The query string is not valid."))
		return
	}
	if query.Get("api-version") == "" {
		writeError(w, r, s.Log, arca.Errorf(arca.KindInvalid, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	segs, ok := splitPath(r)
	if !ok {
		writeError(w, r, s.Log, arca.Errorf(arca.KindInvalid, "InvalidRequestUri", "The request URI is not valid."))
		return
	}
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	q := &armRequest{w: w, r: r, s: s, segs: segs, query: query, principal: p, tenant: tenant}
	q.route()
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

func (q *armRequest) notFoundPath() {
	q.fail(arca.Errorf(arca.KindNotFound, "NotFound", "No HTTP resource was found that matches the request URI '%s'.", q.r.URL.Path))
}

func (q *armRequest) method(allowed ...string) bool {
	for _, m := range allowed {
		if q.r.Method == m {
			return true
		}
	}
	q.fail(arca.Errorf(arca.KindMethod, "MethodNotAllowed", "The requested resource does not support http method '%s'.", q.r.Method))
	return false
}

func (q *armRequest) route() {
	segs := q.segs
	n := len(segs)
	// role assignments and definitions at any scope
	for i := 0; i+1 < n; i++ {
		if eq(segs[i], "providers") && eq(segs[i+1], authzNS) {
			if i == 2 && eq(segs[0], "subscriptions") && (n == 4 || n == 5 && isRegistration(segs[4])) {
				break // the resource provider itself (subscriptionScope)
			}
			q.authorization("/"+strings.Join(segs[:i], "/"), segs[i+2:])
			return
		}
	}
	switch {
	case eq(segs[0], "tenants") && n == 1:
		if q.method(http.MethodGet) {
			q.tenants()
		}
	case eq(segs[0], "providers") && n == 3 && eq(segs[1], kvNamespace) && eq(segs[2], "operations"):
		if q.method(http.MethodGet) {
			q.operations()
		}
	case eq(segs[0], "subscriptions") && n == 1:
		if q.method(http.MethodGet) {
			q.listSubscriptions()
		}
	case eq(segs[0], "subscriptions"):
		q.subscriptionScope(segs[1], segs[2:])
	default:
		q.notFoundPath()
	}
}

func (q *armRequest) subscriptionScope(subID string, rest []string) {
	sub, err := q.s.Management.Subscription(q.ctx(), subID)
	if err != nil {
		q.fail(err)
		return
	}
	scope := "/subscriptions/" + sub.ID
	n := len(rest)
	switch {
	case n == 0:
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/read") {
			writeJSON(q.w, http.StatusOK, q.subscriptionJSON(sub))
		}
	case eq(rest[0], "resources") && n == 1:
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/resources/read") {
			q.listResources(sub, "")
		}
	case eq(rest[0], "operationresults") && n == 2:
		if q.method(http.MethodGet) {
			q.w.WriteHeader(http.StatusOK)
		}
	case eq(rest[0], "locations") && n == 1:
		if q.method(http.MethodGet) {
			var out []map[string]any
			for _, l := range strings.Split(armLocations, ",") {
				out = append(out, map[string]any{"id": scope + "/locations/" + l, "name": l, "displayName": l, "regionalDisplayName": l})
			}
			writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
		}
	case eq(rest[0], "resourcegroups") && n == 1:
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/read") {
			q.listGroups(sub)
		}
	case eq(rest[0], "resourcegroups"):
		q.groupScope(sub, rest[1], rest[2:])
	case eq(rest[0], "providers") && n == 1:
		if q.method(http.MethodGet) {
			writeJSON(q.w, http.StatusOK, map[string]any{"value": []any{q.providerJSON(sub, kvNamespace), q.providerJSON(sub, "Microsoft.Resources"), q.providerJSON(sub, authzNS)}})
		}
	case eq(rest[0], "providers"):
		q.provider(sub, rest[1], rest[2:])
	default:
		q.notFoundPath()
	}
}

// armProviders are the namespaces of the resource providers Arca serves.
var armProviders = []string{kvNamespace, "Microsoft.Resources", authzNS}

// isRegistration reports whether action is a resource provider
// registration action (register or unregister).
func isRegistration(action string) bool { return eq(action, "register") || eq(action, "unregister") }

// provider serves /subscriptions/{sub}/providers/{ns}[/…]: GET of the
// provider, POST …/register and …/unregister (Arca's providers are always
// registered: both answer the provider as it is) and, for Key Vault, its
// subscription-level resources and actions. Any other type or action of a
// known namespace is ARM's 404 InvalidResourceType; an unknown namespace is
// 404 InvalidResourceNamespace.
func (q *armRequest) provider(sub *management.Subscription, ns string, rest []string) {
	known := false
	for _, p := range armProviders {
		if eq(p, ns) {
			ns, known = p, true
		}
	}
	switch {
	case !known:
		q.fail(arca.Errorf(arca.KindNotFound, "InvalidResourceNamespace", "The resource namespace '%s' is invalid.", ns))
	case len(rest) == 0:
		if q.method(http.MethodGet) {
			writeJSON(q.w, http.StatusOK, q.providerJSON(sub, ns))
		}
	case len(rest) == 1 && isRegistration(rest[0]):
		if q.method(http.MethodPost) {
			writeJSON(q.w, http.StatusOK, q.providerJSON(sub, ns))
		}
	case ns == kvNamespace:
		q.keyVaultSubscription(sub, rest)
	default:
		q.invalidResourceType(ns, rest)
	}
}

// invalidResourceType is ARM's 404 for a path under the known namespace ns
// that names none of its resource types or actions; rest is the path below
// the namespace, whose type segments (every other one) name the type.
func (q *armRequest) invalidResourceType(ns string, rest []string) {
	var types []string
	for i := 0; i < len(rest); i += 2 {
		types = append(types, rest[i])
	}
	q.fail(arca.Errorf(arca.KindNotFound, "InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s' for api version '%s'.",
		strings.Join(types, "/"), ns, q.query.Get("api-version")))
}

// keyVaultSubscription serves the non-empty rest of
// /subscriptions/{sub}/providers/Microsoft.KeyVault/{rest}.
func (q *armRequest) keyVaultSubscription(sub *management.Subscription, rest []string) {
	scope := "/subscriptions/" + sub.ID
	n := len(rest)
	switch {
	case n == 1 && eq(rest[0], "vaults"):
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.KeyVault/vaults/read") {
			q.listVaults(sub.ID, "")
		}
	case n == 1 && eq(rest[0], "deletedVaults"):
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.KeyVault/deletedVaults/read") {
			q.listDeletedVaults(sub.ID)
		}
	case n == 1 && (eq(rest[0], "managedHSMs") || eq(rest[0], "deletedManagedHSMs")):
		if q.method(http.MethodGet) {
			writeJSON(q.w, http.StatusOK, map[string]any{"value": []any{}}) // Managed HSM is not offered
		}
	case n == 1 && eq(rest[0], "checkNameAvailability"):
		if q.method(http.MethodPost) {
			q.checkName()
		}
	case n == 1 && eq(rest[0], "checkMhsmNameAvailability"):
		if q.method(http.MethodPost) {
			q.checkMhsmName()
		}
	case n >= 4 && eq(rest[0], "locations") && eq(rest[2], "deletedVaults"):
		q.deletedVault(sub, rest[1], rest[3], rest[4:])
	case n >= 3 && eq(rest[0], "locations") && eq(rest[2], "operationResults"):
		if q.method(http.MethodGet) {
			q.w.WriteHeader(http.StatusOK)
		}
	default:
		q.notFoundPath()
	}
}

func (q *armRequest) groupScope(sub *management.Subscription, name string, rest []string) {
	scope := "/subscriptions/" + sub.ID + "/resourceGroups/" + name
	if len(rest) == 0 {
		switch q.r.Method {
		case http.MethodGet:
			if q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/read") {
				g, err := q.s.Management.ResourceGroup(q.ctx(), sub.ID, name)
				if err != nil {
					q.fail(err)
					return
				}
				writeJSON(q.w, http.StatusOK, groupJSON(g))
			}
		case http.MethodHead:
			if q.s.Management.Authorize(q.ctx(), q.principal.ObjectID, scope, "Microsoft.Resources/subscriptions/resourceGroups/read") != nil {
				q.w.WriteHeader(http.StatusForbidden)
				return
			}
			if _, err := q.s.Management.ResourceGroup(q.ctx(), sub.ID, name); err != nil {
				q.w.WriteHeader(http.StatusNotFound)
				return
			}
			q.w.WriteHeader(http.StatusNoContent)
		case http.MethodPut, http.MethodPatch:
			if q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/write") {
				q.putGroup(sub, name)
			}
		case http.MethodDelete:
			if q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/delete") {
				q.deleteGroup(sub, name)
			}
		default:
			q.method()
		}
		return
	}
	g, err := q.s.Management.ResourceGroup(q.ctx(), sub.ID, name)
	if err != nil {
		q.fail(err)
		return
	}
	n := len(rest)
	switch {
	case n == 1 && eq(rest[0], "resources"):
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/resources/read") {
			q.listResources(sub, g.Name)
		}
	case n >= 3 && eq(rest[0], "providers") && eq(rest[1], kvNamespace) && eq(rest[2], "vaults"):
		if n == 3 {
			if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.KeyVault/vaults/read") {
				q.listVaults(sub.ID, g.Name)
			}
			return
		}
		q.vaultScope(sub, g, rest[3], rest[4:])
	case n == 3 && eq(rest[0], "providers") && eq(rest[1], kvNamespace) && eq(rest[2], "managedHSMs"):
		if q.method(http.MethodGet) {
			writeJSON(q.w, http.StatusOK, map[string]any{"value": []any{}})
		}
	case n == 4 && eq(rest[0], "providers") && eq(rest[1], kvNamespace) && eq(rest[2], "managedHSMs"):
		q.fail(arca.Errorf(arca.KindNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/managedHSMs/%s' under resource group '%s' was not found.", rest[3], g.Name))
	case n >= 2 && eq(rest[0], "providers"):
		q.fail(arca.Errorf(arca.KindNotFound, "NoRegisteredProviderFound", "No registered resource provider found for the namespace '%s'.", rest[1]))
	default:
		q.notFoundPath()
	}
}

// ---- subscriptions, tenants, providers, metadata ----

func (q *armRequest) subscriptionJSON(sub *management.Subscription) map[string]any {
	return map[string]any{
		"id": "/subscriptions/" + sub.ID, "subscriptionId": sub.ID, "tenantId": sub.TenantID,
		"displayName": sub.DisplayName, "state": sub.State, "authorizationSource": "RoleBased",
		"managedByTenants": []any{}, "tags": map[string]string{},
		"subscriptionPolicies": map[string]any{"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
	}
}

func (q *armRequest) listSubscriptions() {
	subs, err := q.s.Management.Subscriptions(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	ras, err := q.s.Management.RoleAssignments(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	// The caller's assignments, direct or through its groups.
	mine := map[string]bool{strings.ToLower(q.principal.ObjectID): true}
	if q.s.Management.MemberOf != nil {
		groups, err := q.s.Management.MemberOf(q.ctx(), q.principal.ObjectID)
		if err != nil {
			q.fail(arca.Internal(err))
			return
		}
		for _, g := range groups {
			mine[strings.ToLower(g)] = true
		}
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
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out, "count": map[string]any{"type": "Total", "value": len(out)}})
}

func (q *armRequest) tenants() {
	writeJSON(q.w, http.StatusOK, map[string]any{"value": []any{map[string]any{
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
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

// metadataEndpoints serves GET /metadata/endpoints (no authentication), which
// `az cloud register --endpoint-resource-manager` reads.
func (s *Server) metadataEndpoints(w http.ResponseWriter, r *http.Request) {
	o := origin(r)
	p := s.Config.PortSuffix()
	writeJSON(w, http.StatusOK, map[string]any{
		"galleryEndpoint": "", "portalEndpoint": "", "graphEndpoint": "https://graph.localhost" + p + "/",
		"microsoftGraphResourceId": o + "/", "resourceManager": o + "/", "name": "Arca",
		"authentication": map[string]any{"loginEndpoint": o + "/adfs", "audiences": []string{"https://management.localhost" + p + "/"},
			"tenant": "adfs", "identityProvider": "ADFS"},
		"suffixes": map[string]any{"keyVaultDns": "." + s.Config.DNSSuffix + p},
	})
}

// ---- resource groups ----

func groupJSON(g *management.ResourceGroup) map[string]any {
	tags := g.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	out := map[string]any{"id": "/subscriptions/" + g.Subscription + "/resourceGroups/" + g.Name, "name": g.Name,
		"type": rgType, "location": g.Location, "tags": tags, "properties": map[string]any{"provisioningState": "Succeeded"}}
	if g.ManagedBy != "" {
		out["managedBy"] = g.ManagedBy
	}
	return out
}

func (q *armRequest) putGroup(sub *management.Subscription, name string) {
	var body struct {
		Location  string            `json:"location"`
		Tags      map[string]string `json:"tags"`
		ManagedBy string            `json:"managedBy"`
	}
	if err := decodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if q.r.Method == http.MethodPatch {
		g, err := q.s.Management.ResourceGroup(q.ctx(), sub.ID, name)
		if err != nil {
			q.fail(err)
			return
		}
		if body.Location == "" {
			body.Location = g.Location
		}
		if body.Tags == nil {
			body.Tags = g.Tags
		}
	}
	created, g, err := q.s.Management.PutResourceGroup(q.ctx(), &management.ResourceGroup{Subscription: sub.ID, Name: name,
		Location: strings.ToLower(strings.ReplaceAll(body.Location, " ", "")), Tags: body.Tags, ManagedBy: body.ManagedBy})
	if err != nil {
		q.fail(err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(q.w, status, groupJSON(g))
}

func (q *armRequest) listGroups(sub *management.Subscription) {
	gs, err := q.s.Management.ResourceGroups(q.ctx(), sub.ID)
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, g := range gs {
		out = append(out, groupJSON(g))
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

// deleteGroup deletes the group's vaults (they become soft-deleted vaults),
// then the group; 202 + Location, whose GET answers 200.
func (q *armRequest) deleteGroup(sub *management.Subscription, name string) {
	g, err := q.s.Management.ResourceGroup(q.ctx(), sub.ID, name)
	if err != nil {
		q.fail(err)
		return
	}
	vs, err := q.s.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	for _, v := range vs {
		if eq(v.Subscription, sub.ID) && eq(v.ResourceGroup, g.Name) {
			if err := q.s.Vaults.DeleteVault(q.ctx(), v.Name); err != nil && arca.KindOf(err) != arca.KindNotFound {
				q.fail(err)
				return
			}
		}
	}
	if err := q.s.Management.DeleteResourceGroup(q.ctx(), sub.ID, g.Name); err != nil {
		q.fail(err)
		return
	}
	op := requestID()
	q.w.Header().Set("Location", origin(q.r)+"/subscriptions/"+sub.ID+"/operationresults/"+op+"?api-version="+url.QueryEscape(q.query.Get("api-version")))
	q.w.Header().Set("Retry-After", "1")
	q.w.WriteHeader(http.StatusAccepted)
}

// ---- generic resources ----

var filterAndRE = regexp.MustCompile(`(?i)\s+and\s+`)

var filterClauseRE = regexp.MustCompile(`(?i)^\s*(\w+)\s+eq\s+'([^']*)'\s*$`)

// parseFilter parses an ARM $filter of "field eq 'value'" clauses joined by
// "and" into lower-cased field names.
func parseFilter(filter string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(filter) == "" {
		return out, nil
	}
	for _, c := range filterAndRE.Split(filter, -1) {
		m := filterClauseRE.FindStringSubmatch(c)
		if m == nil {
			return nil, arca.Errorf(arca.KindInvalid, "InvalidFilterInQueryString", "The $filter '%s' is not supported.", filter)
		}
		f := strings.ToLower(m[1])
		switch f {
		case "resourcetype", "name", "resourcegroup", "location", "tagname", "tagvalue":
		default:
			return nil, arca.Errorf(arca.KindInvalid, "InvalidFilterInQueryString", "The $filter field '%s' is not supported.", m[1])
		}
		out[f] = m[2]
	}
	return out, nil
}

func (q *armRequest) listResources(sub *management.Subscription, group string) {
	f, err := parseFilter(q.query.Get("$filter"))
	if err != nil {
		q.fail(err)
		return
	}
	if t, ok := f["resourcetype"]; ok && !eq(t, vaultType) {
		writeJSON(q.w, http.StatusOK, map[string]any{"value": []any{}})
		return
	}
	vs, err := q.s.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, v := range vs {
		if !eq(v.Subscription, sub.ID) || (group != "" && !eq(v.ResourceGroup, group)) {
			continue
		}
		if n, ok := f["name"]; ok && !eq(n, v.Name) {
			continue
		}
		if g, ok := f["resourcegroup"]; ok && !eq(g, v.ResourceGroup) {
			continue
		}
		if l, ok := f["location"]; ok && !eq(l, v.Location) {
			continue
		}
		if tn, ok := f["tagname"]; ok {
			tv, has := v.Tags[tn]
			if !has {
				continue
			}
			if want, ok := f["tagvalue"]; ok && tv != want {
				continue
			}
		}
		out = append(out, map[string]any{"id": vaultID(v), "name": v.Name, "type": vaultType, "location": v.Location, "tags": tagsOf(v)})
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

// ---- vaults ----

func vaultID(v *arca.Vault) string {
	return "/subscriptions/" + v.Subscription + "/resourceGroups/" + v.ResourceGroup + "/providers/" + vaultType + "/" + v.Name
}

func tagsOf(v *arca.Vault) map[string]string {
	if v.Tags == nil {
		return map[string]string{}
	}
	return v.Tags
}

type armSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type armVaultProps struct {
	TenantID                     *string              `json:"tenantId,omitempty"`
	SKU                          *armSKU              `json:"sku,omitempty"`
	AccessPolicies               *[]arca.AccessPolicy `json:"accessPolicies,omitempty"`
	VaultURI                     *string              `json:"vaultUri,omitempty"`
	EnabledForDeployment         *bool                `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     *bool                `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment *bool                `json:"enabledForTemplateDeployment,omitempty"`
	EnableSoftDelete             *bool                `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays    *int                 `json:"softDeleteRetentionInDays,omitempty"`
	EnableRbacAuthorization      *bool                `json:"enableRbacAuthorization,omitempty"`
	CreateMode                   *string              `json:"createMode,omitempty"`
	EnablePurgeProtection        *bool                `json:"enablePurgeProtection,omitempty"`
	NetworkAcls                  json.RawMessage      `json:"networkAcls,omitempty"`
	PublicNetworkAccess          *string              `json:"publicNetworkAccess,omitempty"`
	ProvisioningState            string               `json:"provisioningState,omitempty"`
}

type armVaultBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *armVaultProps    `json:"properties"`
}

func (q *armRequest) vaultJSON(v *arca.Vault) map[string]any {
	pols := v.AccessPolicies
	if pols == nil {
		pols = []arca.AccessPolicy{}
	}
	pna := v.PublicNetworkAccess
	if pna == "" {
		pna = "Enabled"
	}
	props := map[string]any{
		"sku":                          armSKU{Family: "A", Name: v.SKU},
		"tenantId":                     v.TenantID,
		"accessPolicies":               pols,
		"enabledForDeployment":         v.EnabledForDeployment,
		"enabledForDiskEncryption":     v.EnabledForDiskEncryption,
		"enabledForTemplateDeployment": v.EnabledForTemplateDeployment,
		"enableSoftDelete":             v.SoftDeleteEnabled(),
		"softDeleteRetentionInDays":    v.RetentionDays,
		"enableRbacAuthorization":      v.EnableRBAC,
		"vaultUri":                     q.s.Config.VaultURL(v.Name) + "/",
		"provisioningState":            "Succeeded",
		"publicNetworkAccess":          pna,
	}
	if v.PurgeProtection {
		props["enablePurgeProtection"] = true
	}
	if len(v.NetworkACLs) > 0 {
		props["networkAcls"] = v.NetworkACLs
	}
	updated := v.Updated
	if updated.IsZero() {
		updated = v.Created
	}
	return map[string]any{
		"id": vaultID(v), "name": v.Name, "type": vaultType, "location": v.Location, "tags": tagsOf(v),
		"systemData": map[string]any{"createdAt": v.Created.UTC().Format(time.RFC3339Nano), "lastModifiedAt": updated.UTC().Format(time.RFC3339Nano)},
		"properties": props,
	}
}

// vaultIn returns the named vault if it lives in sub/group, else a 404.
func (q *armRequest) vaultIn(sub *management.Subscription, g *management.ResourceGroup, name string) (*arca.Vault, error) {
	v, err := q.s.Vaults.Vault(q.ctx(), name)
	if err != nil || !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
		return nil, vaultNotFound(g, name)
	}
	return v, nil
}

// vaultNotFound is ARM's 404 for a vault that is not in resource group g.
func vaultNotFound(g *management.ResourceGroup, name string) error {
	return arca.Errorf(arca.KindNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", vaultType, name, g.Name)
}

// updateVaultIn changes the named vault of sub/group with fn through the
// vault service's Update: fn sees the vault as stored, inside the service's
// transaction, so a change made meanwhile by another request is never
// overwritten with an older state (a revoked access policy brought back,
// purge protection switched off again). fn may run more than once and must
// only change the vault it is given. A vault that does not exist or lives in
// another subscription or resource group is ARM's 404 ResourceNotFound;
// fn's errors and the service's (KindInvalid for a forbidden change) are
// returned as they are.
func (q *armRequest) updateVaultIn(sub *management.Subscription, g *management.ResourceGroup, name string, fn func(*arca.Vault) error) (*arca.Vault, error) {
	v, err := q.s.Vaults.Update(q.ctx(), name, func(v *arca.Vault) error {
		if !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
			return vaultNotFound(g, name)
		}
		return fn(v)
	})
	if arca.KindOf(err) == arca.KindNotFound {
		return nil, vaultNotFound(g, name)
	}
	return v, err
}

func (q *armRequest) vaultScope(sub *management.Subscription, g *management.ResourceGroup, name string, rest []string) {
	scope := "/subscriptions/" + sub.ID + "/resourceGroups/" + g.Name + "/providers/" + vaultType + "/" + name
	if len(rest) == 2 && eq(rest[0], "accessPolicies") {
		if q.method(http.MethodPut) && q.authorize(scope, "Microsoft.KeyVault/vaults/accessPolicies/write") {
			q.accessPolicies(sub, g, name, strings.ToLower(rest[1]))
		}
		return
	}
	if len(rest) != 0 {
		q.notFoundPath()
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		if !q.authorize(scope, "Microsoft.KeyVault/vaults/read") {
			return
		}
		v, err := q.vaultIn(sub, g, name)
		if err != nil {
			q.fail(err)
			return
		}
		writeJSON(q.w, http.StatusOK, q.vaultJSON(v))
	case http.MethodPut:
		if q.authorize(scope, "Microsoft.KeyVault/vaults/write") {
			q.putVault(sub, g, name)
		}
	case http.MethodPatch:
		if q.authorize(scope, "Microsoft.KeyVault/vaults/write") {
			q.patchVault(sub, g, name)
		}
	case http.MethodDelete:
		if !q.authorize(scope, "Microsoft.KeyVault/vaults/delete") {
			return
		}
		v, err := q.vaultIn(sub, g, name)
		if err != nil {
			q.w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := q.s.Vaults.DeleteVault(q.ctx(), v.Name); err != nil {
			q.fail(err)
			return
		}
		q.w.WriteHeader(http.StatusOK)
	default:
		q.method()
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// normTenant maps a tenant id of a request onto the deployment's tenant:
// "adfs" (the pseudo-tenant of `arca env`) is this tenant.
func (q *armRequest) normTenant(t, field string) (string, error) {
	if eq(t, "adfs") || eq(t, q.tenant) {
		return q.tenant, nil
	}
	if !guidRE.MatchString(t) {
		return "", arca.Errorf(arca.KindInvalid, "BadRequest", "Invalid value for %s: '%s' is not a valid tenant id.", field, t)
	}
	return "", arca.Errorf(arca.KindInvalid, "BadRequest", "The tenant '%s' given in %s is not the tenant of this deployment (%s).", t, field, q.tenant)
}

func (q *armRequest) normPolicies(in []arca.AccessPolicy) ([]arca.AccessPolicy, error) {
	if len(in) > 1024 {
		return nil, arca.Errorf(arca.KindInvalid, "BadRequest", "A vault can have at most 1024 access policies.")
	}
	out := make([]arca.AccessPolicy, 0, len(in))
	for i, p := range in {
		t, err := q.normTenant(p.TenantID, "accessPolicies.tenantId")
		if err != nil {
			return nil, err
		}
		if p.ObjectID == "" {
			return nil, arca.Errorf(arca.KindInvalid, "BadRequest", "Access policy %d: objectId is required.", i)
		}
		p.TenantID = t
		out = append(out, p)
	}
	return out, nil
}

// apply sets the properties present in p onto v.
func (q *armRequest) apply(v *arca.Vault, p *armVaultProps, creating bool) error {
	if p.TenantID != nil {
		t, err := q.normTenant(*p.TenantID, "properties.tenantId")
		if err != nil {
			return err
		}
		v.TenantID = t
	}
	if p.SKU != nil {
		name := strings.ToLower(p.SKU.Name)
		if name != "standard" && name != "premium" {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The SKU name '%s' is invalid: use 'standard' or 'premium'.", p.SKU.Name)
		}
		if p.SKU.Family != "" && !eq(p.SKU.Family, "A") {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The SKU family '%s' is invalid: use 'A'.", p.SKU.Family)
		}
		v.SKU = name
	}
	if p.AccessPolicies != nil {
		pols, err := q.normPolicies(*p.AccessPolicies)
		if err != nil {
			return err
		}
		v.AccessPolicies = pols
	}
	if p.EnabledForDeployment != nil {
		v.EnabledForDeployment = *p.EnabledForDeployment
	}
	if p.EnabledForDiskEncryption != nil {
		v.EnabledForDiskEncryption = *p.EnabledForDiskEncryption
	}
	if p.EnabledForTemplateDeployment != nil {
		v.EnabledForTemplateDeployment = *p.EnabledForTemplateDeployment
	}
	if p.EnableSoftDelete != nil {
		if !creating && v.SoftDeleteEnabled() && !*p.EnableSoftDelete {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enableSoftDelete\" cannot be set to false once it has been enabled.")
		}
		b := *p.EnableSoftDelete
		v.EnableSoftDelete = &b
	}
	if p.SoftDeleteRetentionInDays != nil {
		d := *p.SoftDeleteRetentionInDays
		if d < 7 || d > 90 {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The soft delete retention period must be between 7 and 90 days.")
		}
		// Once set, the retention cannot change (Azure's error text); the
		// same value again is accepted.
		if !creating && v.RetentionDays != 0 && d != v.RetentionDays {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"softDeleteRetentionInDays\" has been set already and it can't be modified.")
		}
		v.RetentionDays = d
	}
	if p.EnableRbacAuthorization != nil {
		v.EnableRBAC = *p.EnableRbacAuthorization
	}
	if p.EnablePurgeProtection != nil {
		if v.PurgeProtection && !*p.EnablePurgeProtection {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
		}
		if *p.EnablePurgeProtection {
			if !v.SoftDeleteEnabled() {
				return arca.Errorf(arca.KindInvalid, "BadRequest", "Purge protection requires soft delete to be enabled.")
			}
			v.PurgeProtection = true
		}
	}
	if len(p.NetworkAcls) > 0 && string(p.NetworkAcls) != "null" {
		v.NetworkACLs = append(json.RawMessage(nil), p.NetworkAcls...)
	}
	if p.PublicNetworkAccess != nil {
		v.PublicNetworkAccess = *p.PublicNetworkAccess
	}
	return nil
}

// decodeARMBody decodes a JSON body, accepting snake_case member names
// (tenant_id, access_policies, …) besides ARM's camelCase: today's
// azure-mgmt-keyvault sends a plain dict as it is, and the documented
// examples write the model attribute names. Tags are left untouched.
func decodeARMBody(r *http.Request, v any) error {
	var raw map[string]any
	if err := decodeBody(r, maxARMBody, &raw); err != nil {
		return err
	}
	b, err := json.Marshal(camelKeys(raw, ""))
	if err != nil {
		return arca.Internal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The request body is not a valid %T: %v", v, err)
	}
	return nil
}

func camelKeys(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		if parent == "tags" {
			return x
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			ck := k
			if strings.Contains(k, "_") {
				parts := strings.Split(k, "_")
				for i := 1; i < len(parts); i++ {
					if parts[i] != "" {
						parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
					}
				}
				ck = strings.Join(parts, "")
				if _, dup := x[ck]; dup {
					continue // the camelCase member wins
				}
			}
			out[ck] = camelKeys(val, ck)
		}
		return out
	case []any:
		for i := range x {
			x[i] = camelKeys(x[i], parent)
		}
		return x
	}
	return v
}

func (q *armRequest) putVault(sub *management.Subscription, g *management.ResourceGroup, name string) {
	var body armVaultBody
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	if body.Properties == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The 'properties' member of the request body is required."))
		return
	}
	if body.Location == "" {
		q.fail(arca.Errorf(arca.KindInvalid, "LocationRequired", "The location property is required for this definition."))
		return
	}
	location := strings.ToLower(strings.ReplaceAll(body.Location, " ", ""))
	ctx := q.ctx()
	p := body.Properties
	recover := p.CreateMode != nil && eq(*p.CreateMode, "recover")
	// An existing vault is changed inside the vault service's transaction,
	// on its stored state (see updateVaultIn). Neither fn nor the service's
	// checks answer KindNotFound: that is the service's "no such vault".
	v, err := q.s.Vaults.Update(ctx, name, func(v *arca.Vault) error {
		if !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
			return arca.Errorf(arca.KindConflict, "VaultAlreadyExists", "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name)
		}
		if !eq(v.Location, location) {
			return arca.Errorf(arca.KindInvalid, "LocationNotAvailableForResourceType", "The vault '%s' exists in location '%s'; its location cannot be changed to '%s'.", name, v.Location, location)
		}
		if err := q.apply(v, p, false); err != nil {
			return err
		}
		if p.AccessPolicies == nil {
			v.AccessPolicies = nil // PUT replaces the resource
		}
		v.Tags = body.Tags
		return nil
	})
	switch {
	case err == nil:
		writeJSON(q.w, http.StatusOK, q.vaultJSON(v))
		return
	case arca.KindOf(err) != arca.KindNotFound:
		q.fail(err)
		return
	}
	if recover {
		d, err := q.s.Vaults.DeletedVault(ctx, name)
		if err != nil || !eq(d.Vault.Subscription, sub.ID) {
			q.fail(arca.Errorf(arca.KindNotFound, "DeletedVaultNotFound", "The vault '%s' was not found in the deleted state of subscription '%s'.", name, sub.ID))
			return
		}
		if _, err := q.s.Vaults.RecoverDeletedVault(ctx, name); err != nil {
			q.fail(err)
			return
		}
		p.CreateMode = nil
		v, err := q.s.Vaults.Update(ctx, name, func(v *arca.Vault) error {
			v.ResourceGroup, v.Location = g.Name, location
			if body.Tags != nil {
				v.Tags = body.Tags
			}
			return q.apply(v, p, false)
		})
		if err != nil {
			q.fail(err)
			return
		}
		writeJSON(q.w, http.StatusOK, q.vaultJSON(v))
		return
	}
	if p.TenantID == nil || p.SKU == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The properties 'tenantId' and 'sku' are required to create a vault."))
		return
	}
	v = &arca.Vault{Name: name, Subscription: sub.ID, ResourceGroup: g.Name, Location: location, Tags: body.Tags,
		RetentionDays: arca.DefaultRetentionDays}
	if err := q.apply(v, p, true); err != nil {
		q.fail(err)
		return
	}
	if err := q.s.Vaults.CreateVault(ctx, v); err != nil {
		q.fail(err)
		return
	}
	writeJSON(q.w, http.StatusOK, q.vaultJSON(v))
}

func (q *armRequest) patchVault(sub *management.Subscription, g *management.ResourceGroup, name string) {
	var body armVaultBody
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	v, err := q.updateVaultIn(sub, g, name, func(v *arca.Vault) error {
		if body.Properties != nil {
			if err := q.apply(v, body.Properties, false); err != nil {
				return err
			}
		}
		if body.Tags != nil {
			v.Tags = body.Tags
		}
		return nil
	})
	if err != nil {
		q.fail(err)
		return
	}
	writeJSON(q.w, http.StatusOK, q.vaultJSON(v))
}

func samePolicyTarget(a, b arca.AccessPolicy) bool {
	return eq(a.TenantID, b.TenantID) && eq(a.ObjectID, b.ObjectID) && eq(a.ApplicationID, b.ApplicationID)
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			if eq(x, y) {
				found = true
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		keep := true
		for _, y := range b {
			if eq(x, y) {
				keep = false
			}
		}
		if keep {
			out = append(out, x)
		}
	}
	return out
}

// accessPolicies serves PUT …/vaults/{name}/accessPolicies/{add|replace|remove}.
func (q *armRequest) accessPolicies(sub *management.Subscription, g *management.ResourceGroup, name, kind string) {
	if kind != "add" && kind != "replace" && kind != "remove" {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The access policy operation '%s' is invalid: use add, replace or remove.", kind))
		return
	}
	var body struct {
		Properties *struct {
			AccessPolicies []arca.AccessPolicy `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	if body.Properties == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The 'properties.accessPolicies' member is required."))
		return
	}
	in, err := q.normPolicies(body.Properties.AccessPolicies)
	if err != nil {
		q.fail(err)
		return
	}
	v, err := q.updateVaultIn(sub, g, name, func(v *arca.Vault) error {
		pols := append([]arca.AccessPolicy(nil), v.AccessPolicies...)
		for _, p := range in {
			idx := -1
			for i := range pols {
				if samePolicyTarget(pols[i], p) {
					idx = i
				}
			}
			switch {
			case kind == "remove" && idx >= 0:
				e := &pols[idx]
				e.Permissions.Keys = minus(e.Permissions.Keys, p.Permissions.Keys)
				e.Permissions.Secrets = minus(e.Permissions.Secrets, p.Permissions.Secrets)
				e.Permissions.Certificates = minus(e.Permissions.Certificates, p.Permissions.Certificates)
				e.Permissions.Storage = minus(e.Permissions.Storage, p.Permissions.Storage)
				if len(e.Permissions.Keys)+len(e.Permissions.Secrets)+len(e.Permissions.Certificates)+len(e.Permissions.Storage) == 0 {
					pols = append(pols[:idx], pols[idx+1:]...)
				}
			case kind == "remove":
			case idx < 0:
				pols = append(pols, p)
			case kind == "replace":
				pols[idx] = p
			default:
				e := &pols[idx]
				e.Permissions.Keys = union(e.Permissions.Keys, p.Permissions.Keys)
				e.Permissions.Secrets = union(e.Permissions.Secrets, p.Permissions.Secrets)
				e.Permissions.Certificates = union(e.Permissions.Certificates, p.Permissions.Certificates)
				e.Permissions.Storage = union(e.Permissions.Storage, p.Permissions.Storage)
			}
		}
		if len(pols) > 1024 {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "A vault can have at most 1024 access policies.")
		}
		v.AccessPolicies = pols
		return nil
	})
	if err != nil {
		q.fail(err)
		return
	}
	if in == nil {
		in = []arca.AccessPolicy{}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"id": vaultID(v) + "/accessPolicies/" + kind, "name": kind,
		"type": "Microsoft.KeyVault/vaults/accessPolicies", "location": v.Location,
		"properties": map[string]any{"accessPolicies": in}})
}

func (q *armRequest) listVaults(sub, group string) {
	vs, err := q.s.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, v := range vs {
		if eq(v.Subscription, sub) && (group == "" || eq(v.ResourceGroup, group)) {
			out = append(out, q.vaultJSON(v))
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

func deletedVaultJSON(d *arca.DeletedVault) map[string]any {
	v := &d.Vault
	return map[string]any{
		"id":   "/subscriptions/" + v.Subscription + "/providers/" + kvNamespace + "/locations/" + v.Location + "/deletedVaults/" + v.Name,
		"name": v.Name, "type": "Microsoft.KeyVault/deletedVaults",
		"properties": map[string]any{"vaultId": vaultID(v), "location": v.Location,
			"deletionDate": d.DeletionDate.UTC().Format(time.RFC3339), "scheduledPurgeDate": d.ScheduledPurgeDate.UTC().Format(time.RFC3339),
			"tags": tagsOf(v), "purgeProtectionEnabled": v.PurgeProtection},
	}
}

func (q *armRequest) listDeletedVaults(sub string) {
	ds, err := q.s.Vaults.ListDeletedVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Vault.Name < ds[j].Vault.Name })
	out := []any{}
	for _, d := range ds {
		if eq(d.Vault.Subscription, sub) {
			out = append(out, deletedVaultJSON(d))
		}
	}
	writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

func (q *armRequest) deletedVault(sub *management.Subscription, location, name string, rest []string) {
	scope := "/subscriptions/" + sub.ID
	d, err := q.s.Vaults.DeletedVault(q.ctx(), name)
	if err == nil && (!eq(d.Vault.Subscription, sub.ID) || !eq(d.Vault.Location, location)) {
		err = arca.Errorf(arca.KindNotFound, "ResourceNotFound", "The deleted vault '%s' was not found in location '%s'.", name, location)
	}
	switch {
	case len(rest) == 0:
		if !q.method(http.MethodGet) || !q.authorize(scope, "Microsoft.KeyVault/deletedVaults/read") {
			return
		}
		if err != nil {
			q.fail(err)
			return
		}
		writeJSON(q.w, http.StatusOK, deletedVaultJSON(d))
	case len(rest) == 1 && eq(rest[0], "purge"):
		if !q.method(http.MethodPost) || !q.authorize(scope, "Microsoft.KeyVault/locations/deletedVaults/purge/action") {
			return
		}
		if err != nil {
			q.fail(err)
			return
		}
		if err := q.s.Vaults.PurgeDeletedVault(q.ctx(), d.Vault.Name); err != nil {
			q.fail(err)
			return
		}
		q.w.WriteHeader(http.StatusOK)
	default:
		q.notFoundPath()
	}
}

// nameCheckBody is the body of a name availability check: Key Vault's
// VaultCheckNameAvailabilityParameters {name, type} or
// CheckMhsmNameAvailabilityParameters {name}.
type nameCheckBody struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// nameAvailable is a CheckNameAvailabilityResult (or
// CheckMhsmNameAvailabilityResult, the same shape): {"nameAvailable":true},
// or false with a reason (AccountNameInvalid, AlreadyExists) and a message.
func nameAvailable(ok bool, reason, message string) map[string]any {
	if ok {
		return map[string]any{"nameAvailable": true}
	}
	return map[string]any{"nameAvailable": false, "reason": reason, "message": message}
}

// checkName serves POST /subscriptions/{sub}/providers/Microsoft.KeyVault/
// checkNameAvailability: a vault name is free unless it breaks the naming
// rules or a vault, live or soft-deleted, holds it.
func (q *armRequest) checkName() {
	var body nameCheckBody
	if err := decodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if !eq(body.Type, vaultType) {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The type '%s' is invalid: use '%s'.", body.Type, vaultType))
		return
	}
	writeJSON(q.w, http.StatusOK, q.vaultNameAvailability(body.Name))
}

// vaultNameAvailability is the checkNameAvailability result for a vault name.
func (q *armRequest) vaultNameAvailability(name string) map[string]any {
	if !arca.ValidVaultName(name) {
		return nameAvailable(false, "AccountNameInvalid", "Vault name must only contain alphanumeric characters and dashes and cannot start with a number.")
	}
	if _, err := q.s.Vaults.Vault(q.ctx(), name); err == nil {
		return nameAvailable(false, "AlreadyExists",
			"The vault name '"+name+"' is already in use. Vault names are globally unique so it is possible that the name is already taken.")
	}
	if _, err := q.s.Vaults.DeletedVault(q.ctx(), name); err == nil {
		return nameAvailable(false, "AlreadyExists", "The vault name '"+name+"' is in use by a soft-deleted vault; recover or purge it first.")
	}
	return nameAvailable(true, "", "")
}

// checkMhsmName serves POST /subscriptions/{sub}/providers/Microsoft.KeyVault/
// checkMhsmNameAvailability (`az keyvault check-name --resource-type hsm`):
// Managed HSM names follow the vault naming rules (3-24 characters, letters,
// digits and hyphens, a letter first, a letter or digit last, no "--"), and
// Arca has no Managed HSM to hold one, so every valid name is available.
// Vault names are a separate namespace (a vault does not take an HSM name).
func (q *armRequest) checkMhsmName() {
	var body nameCheckBody
	if err := decodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if !arca.ValidVaultName(body.Name) {
		writeJSON(q.w, http.StatusOK, nameAvailable(false, "AccountNameInvalid",
			"Managed HSM name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."))
		return
	}
	writeJSON(q.w, http.StatusOK, nameAvailable(true, "", ""))
}

// ---- role assignments and definitions ----

var (
	roleNameFilterRE  = regexp.MustCompile(`(?i)roleName\s+eq\s+'([^']*)'`)
	roleTypeFilterRE  = regexp.MustCompile(`(?i)(?:^|[\s(])type\s+eq\s+'([^']*)'`)
	principalFilterRE = regexp.MustCompile(`(?i)principalId\s+eq\s+'([^']*)'`)
)

// roleDefJSON renders r as ARM's RoleDefinition resource read at scope
// (the {scope} of the request). The id is subscription-level whatever the
// scope below the subscription (resource group, resource), as Azure's, so
// it is the roleDefinitionId of the role assignments there
// (roleAssignmentJSON): /subscriptions/{sub}/providers/
// Microsoft.Authorization/roleDefinitions/{guid}. At the tenant scope a
// built-in role's id has no subscription; a custom role's names its first
// assignable scope's.
func roleDefJSON(scope string, r *management.RoleDefinition) map[string]any {
	props := map[string]any{"roleName": r.Name, "type": r.Type(), "description": r.Description,
		"assignableScopes": []string{"/"}, "permissions": []any{map[string]any{"actions": nonNil(r.Actions), "notActions": nonNil(r.NotActions),
			"dataActions": nonNil(r.DataActions), "notDataActions": nonNil(r.NotDataActions)}}}
	idScope := subscriptionOf(scope)
	if r.IsCustom() {
		props["assignableScopes"] = r.AssignableScopes
		props["createdOn"], props["updatedOn"] = r.Created.Format(time.RFC3339Nano), r.Updated.Format(time.RFC3339Nano)
		props["createdBy"], props["updatedBy"] = r.CreatedBy, r.UpdatedBy
		if idScope == "" && len(r.AssignableScopes) > 0 {
			idScope = subscriptionOf(r.AssignableScopes[0])
		}
	}
	return map[string]any{
		"id": idScope + "/providers/" + authzNS + "/roleDefinitions/" + r.ID, "name": r.ID,
		"type": authzNS + "/roleDefinitions", "properties": props,
	}
}

// subscriptionOf returns the /subscriptions/{id} prefix of scope, or "".
func subscriptionOf(scope string) string {
	if parts := strings.Split(strings.Trim(scope, "/"), "/"); len(parts) >= 2 && eq(parts[0], "subscriptions") {
		return "/subscriptions/" + parts[1]
	}
	return ""
}

// principalTypes are ARM's principalType values of the directory's object
// kinds (identity.Directory.ObjectKind).
var principalTypes = map[string]string{"user": "User", "servicePrincipal": "ServicePrincipal", "group": "Group"}

// principalType returns ARM's principalType of the directory object id
// (User, ServicePrincipal or Group), or "" when the directory has no such
// object. Answers are kept for the rest of the request.
func (q *armRequest) principalType(id string) (string, error) {
	key := strings.ToLower(id)
	if t, ok := q.ptypes[key]; ok {
		return t, nil
	}
	kind, err := q.s.Identity.Dir.ObjectKind(q.ctx(), id)
	if err != nil && !errors.Is(err, identity.ErrObjectNotFound) {
		return "", arca.Internal(err)
	}
	if q.ptypes == nil {
		q.ptypes = map[string]string{}
	}
	q.ptypes[key] = principalTypes[kind]
	return q.ptypes[key], nil
}

// errConditionUnsupported refuses a role assignment with an ABAC condition.
// Arca does not evaluate conditions, and storing the assignment without its
// condition would grant the role unrestricted. The first sentence is the
// message Azure documents for a condition it rejects (learn.microsoft.com,
// "Troubleshoot Azure role assignment conditions"); no recorded response
// showing ARM's code was found, so the code is the descriptive
// InvalidCondition.
var errConditionUnsupported = arca.Errorf(arca.KindInvalid, "InvalidCondition",
	"The given role assignment condition is invalid. Arca does not evaluate role assignment conditions (Azure ABAC): create the assignment without a condition, at a narrower scope or with a narrower role.")

// roleAssignmentJSON renders ra as ARM's RoleAssignment resource, with the
// properties Azure answers: principalType (from the directory when ra has
// none), createdOn/updatedOn, createdBy/updatedBy, description (null when
// none), and null condition, conditionVersion and
// delegatedManagedIdentityResourceId. created marks the answer to the PUT
// that created ra: ARM's has createdBy null (updatedBy names the caller);
// reads name the creator in both. updatedOn/updatedBy are the creation's
// until the description is changed.
func (q *armRequest) roleAssignmentJSON(ra *management.RoleAssignment, created bool) (map[string]any, error) {
	ptype := ra.PrincipalType
	if ptype == "" {
		var err error
		if ptype, err = q.principalType(ra.PrincipalID); err != nil {
			return nil, err
		}
	}
	var by any
	if ra.CreatedBy != "" {
		by = ra.CreatedBy
	}
	createdBy := by
	if created {
		createdBy = nil
	}
	on := ra.Created.UTC().Format(time.RFC3339Nano)
	updatedOn, updatedBy := on, by
	if !ra.Updated.IsZero() {
		updatedOn = ra.Updated.UTC().Format(time.RFC3339Nano)
		if ra.UpdatedBy != "" {
			updatedBy = ra.UpdatedBy
		}
	}
	var desc any
	if ra.Description != "" {
		desc = ra.Description
	}
	return map[string]any{
		"id": strings.TrimSuffix(ra.Scope, "/") + "/providers/" + authzNS + "/roleAssignments/" + ra.Name, "name": ra.Name,
		"type": authzNS + "/roleAssignments",
		"properties": map[string]any{"scope": ra.Scope, "principalId": ra.PrincipalID, "principalType": ptype,
			"roleDefinitionId": subscriptionOf(ra.Scope) + "/providers/" + authzNS + "/roleDefinitions/" + ra.RoleDefinitionID,
			"createdOn":        on, "updatedOn": updatedOn, "createdBy": createdBy, "updatedBy": updatedBy,
			"condition": nil, "conditionVersion": nil, "description": desc, "delegatedManagedIdentityResourceId": nil},
	}, nil
}

// authorization serves {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}].
func (q *armRequest) authorization(scope string, rest []string) {
	if len(rest) == 0 || len(rest) > 2 {
		q.notFoundPath()
		return
	}
	if scope == "/" {
		scope = ""
	}
	if parts := strings.Split(strings.Trim(scope, "/"), "/"); scope != "" && (len(parts) < 2 || !eq(parts[0], "subscriptions")) {
		q.notFoundPath()
		return
	} else if scope != "" {
		if _, err := q.s.Management.Subscription(q.ctx(), parts[1]); err != nil {
			q.fail(err)
			return
		}
	}
	switch {
	case eq(rest[0], "roleDefinitions"):
		q.roleDefinitions(scope, rest[1:])
	case eq(rest[0], "roleAssignments"):
		q.roleAssignments(scope, rest[1:])
	default:
		q.invalidResourceType(authzNS, rest)
	}
}

func (q *armRequest) roleAssignments(scope string, rest []string) {
	ctx := q.ctx()
	if len(rest) == 0 {
		if !q.method(http.MethodGet) || !q.authorize(scope, "Microsoft.Authorization/roleAssignments/read") {
			return
		}
		ras, err := q.s.Management.RoleAssignments(ctx)
		if err != nil {
			q.fail(err)
			return
		}
		filter := q.query.Get("$filter")
		pm := principalFilterRE.FindStringSubmatch(filter)
		atScope := strings.Contains(strings.ToLower(filter), "atscope()")
		out := []any{}
		for _, ra := range ras {
			// assignments at, above (inherited) and below the scope
			if !(management.InScope(ra.Scope, scope) || (!atScope && management.InScope(scope, ra.Scope))) {
				continue
			}
			if pm != nil && !eq(pm[1], ra.PrincipalID) {
				continue
			}
			j, err := q.roleAssignmentJSON(ra, false)
			if err != nil {
				q.fail(err)
				return
			}
			out = append(out, j)
		}
		writeJSON(q.w, http.StatusOK, map[string]any{"value": out})
		return
	}
	name := rest[0]
	switch q.r.Method {
	case http.MethodGet:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/read") {
			return
		}
		ras, err := q.s.Management.RoleAssignments(ctx)
		if err != nil {
			q.fail(err)
			return
		}
		for _, ra := range ras {
			if eq(ra.Name, name) && eq(strings.TrimSuffix(ra.Scope, "/"), strings.TrimSuffix(scope, "/")) {
				q.writeRoleAssignment(http.StatusOK, ra, false)
				return
			}
		}
		q.fail(arca.Errorf(arca.KindNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name))
	case http.MethodPut:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/write") {
			return
		}
		var body struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
				PrincipalID      string `json:"principalId"`
				PrincipalType    string `json:"principalType"`
				Description      string `json:"description"`
				Condition        string `json:"condition"`
			} `json:"properties"`
		}
		if err := decodeBody(q.r, maxARMBody, &body); err != nil {
			q.fail(err)
			return
		}
		if !guidRE.MatchString(name) {
			q.fail(arca.Errorf(arca.KindInvalid, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
			return
		}
		if body.Properties.Condition != "" {
			q.fail(errConditionUnsupported)
			return
		}
		ptype, err := q.assignedPrincipalType(body.Properties.PrincipalID, body.Properties.PrincipalType)
		if err != nil {
			q.fail(err)
			return
		}
		ra, created, err := q.s.Management.PutRoleAssignment(ctx, &management.RoleAssignment{Name: name, Scope: scope,
			RoleDefinitionID: body.Properties.RoleDefinitionID, PrincipalID: body.Properties.PrincipalID,
			PrincipalType: ptype, CreatedBy: q.principal.ObjectID, Description: body.Properties.Description})
		if err != nil {
			q.fail(err)
			return
		}
		q.writeRoleAssignment(http.StatusCreated, ra, created)
	case http.MethodDelete:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/delete") {
			return
		}
		switch ra, err := q.s.Management.DeleteRoleAssignment(ctx, scope, name); {
		case err != nil:
			q.deleted(err, nil) // 204 when there was none
		default:
			q.writeRoleAssignment(http.StatusOK, ra, false)
		}
	default:
		q.method()
	}
}

// writeRoleAssignment answers ra with status (roleAssignmentJSON).
func (q *armRequest) writeRoleAssignment(status int, ra *management.RoleAssignment, created bool) {
	j, err := q.roleAssignmentJSON(ra, created)
	if err != nil {
		q.fail(err)
		return
	}
	writeJSON(q.w, status, j)
}

// assignedPrincipalType is the principalType a new role assignment to
// principal records: the directory's type of the object, which a type given
// in the request (given, matched case-insensitively) must equal (400
// UnmatchedPrincipalType, Azure's text with its typos); given as it is for
// an object the directory does not know.
func (q *armRequest) assignedPrincipalType(principal, given string) (string, error) {
	if principal == "" {
		return given, nil // CreateRoleAssignment refuses it
	}
	ptype, err := q.principalType(principal)
	switch {
	case err != nil:
		return "", err
	case ptype == "":
		return given, nil
	case given != "" && !eq(given, ptype):
		return "", arca.Errorf(arca.KindInvalid, "UnmatchedPrincipalType",
			"The PrincipalId '%s' has type '%s' , which is different from specified PrinciaplType '%s'.", principal, ptype, given)
	}
	return ptype, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
