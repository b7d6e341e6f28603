// Package arm is a small Azure Resource Manager on the token service host:
// subscriptions, tenants, provider registration, resource groups,
// Microsoft.KeyVault/vaults (and deleted vaults), role assignments, role
// definitions (built-in and custom) and the cloud metadata document, one
// file per resource. Vaults created here are the vaults the data plane
// serves. Every call but /metadata/endpoints needs a bearer token for the
// management audience; writes and reads are authorised with ARM role
// assignments (stored by package management, decided by the Handler's
// Authorizer, package authz).
package arm

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

const (
	kvNamespace  = "Microsoft.KeyVault"
	vaultType    = "Microsoft.KeyVault/vaults"
	rgType       = "Microsoft.Resources/resourceGroups"
	authzNS      = "Microsoft.Authorization"
	maxARMBody   = 1 << 20
	armLocations = "westus,eastus,westeurope,northeurope,local"
)

// Directory is what the management plane reads of the directory: the
// deployment's tenant, the kind of an object a role assignment names and
// the groups of the caller (identity.Directory).
type Directory interface {
	Tenant(ctx context.Context) (*identity.Tenant, error)
	ObjectKind(ctx context.Context, id string) (string, error)
	MemberOf(ctx context.Context, objectID string) ([]string, error)
}

// Handler serves the Resource Manager.
type Handler struct {
	Config     httpx.Config
	Vaults     arca.VaultService
	Management *management.Service // nil: only /metadata/endpoints is served, the rest is 404
	// Authorizer decides every call's action (the deployment's one decision
	// point, authz.Engine); required with Management.
	Authorizer arca.ActionAuthorizer
	Directory  Directory
	Tokens     httpx.TokenVerifier
	Log        *slog.Logger
}

// IsPath reports whether a token-service host path (lower case, without
// the surrounding slashes) belongs to the Resource Manager.
func IsPath(lower string) bool {
	first, _, _ := strings.Cut(lower, "/")
	switch first {
	case "subscriptions", "tenants", "providers":
		return true
	}
	return lower == "metadata/endpoints"
}

// armRequest is one authenticated ARM call.
type armRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	h         *Handler
	segs      []string // path segments, unescaped
	query     url.Values
	principal *arca.Principal
	tenant    string
	ptypes    map[string]string // principalType answers, by lower-case object id
}

func (q *armRequest) fail(err error) { httpx.WriteError(q.w, q.r, q.h.Log, err) }

// deleted answers an ARM DELETE: 200 with the deleted resource, 204 when
// there was nothing to delete, the error otherwise.
func (q *armRequest) deleted(err error, body func() any) {
	switch {
	case arca.KindOf(err) == arca.KindNotFound:
		q.w.WriteHeader(http.StatusNoContent)
	case err != nil:
		q.fail(err)
	default:
		httpx.WriteJSON(q.w, http.StatusOK, body())
	}
}

func (q *armRequest) ctx() context.Context { return q.r.Context() }

// authorize decides action at scope for the caller, answering the denial
// (403 AuthorizationFailed) or the failure itself.
func (q *armRequest) authorize(scope, action string) bool {
	if err := q.may(scope, action); err != nil {
		q.fail(err)
		return false
	}
	return true
}

// may decides action at scope for the caller: nil when allowed.
func (q *armRequest) may(scope, action string) error {
	return q.h.Authorizer.AuthorizeAction(q.ctx(), q.principal, scope, action)
}

// managementAudience reports whether aud names the management endpoint.
func (h *Handler) managementAudience(aud string) bool {
	aud = strings.ToLower(strings.TrimSuffix(aud, "/"))
	return aud == "https://management.localhost"+h.Config.PortSuffix() || aud == "https://management.azure.com" ||
		aud == "https://management.core.windows.net"
}

// authenticate verifies the bearer token of a call for the deployment's
// tenant, answering 401 (500 when the directory cannot be read) itself.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*arca.Principal, string, bool) {
	t, err := h.Directory.Tenant(r.Context())
	if err != nil {
		httpx.WriteError(w, r, h.Log, arca.Internal(err))
		return nil, "", false
	}
	p, err := httpx.Authenticate(r, h.Tokens, t.ID, h.managementAudience, "https://management.localhost"+h.Config.PortSuffix()+"/")
	if err != nil {
		httpx.WriteARMUnauthorized(w, r, h.Log, h.Config.AuthorityURL, t.ID, err)
		return nil, "", false
	}
	return p, t.ID, true
}

// ServeHTTP serves the management plane.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("x-ms-correlation-request-id", w.Header().Get("x-ms-request-id"))
	if strings.ToLower(strings.Trim(r.URL.Path, "/")) == "metadata/endpoints" {
		h.metadataEndpoints(w, r)
		return
	}
	if h.Management == nil {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The management plane is not enabled."))
		return
	}
	p, tenant, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindInvalid, "InvalidQueryParameterValue", "The query string is not valid."))
		return
	}
	if query.Get("api-version") == "" {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindInvalid, "MissingApiVersionParameter",
			"The api-version query parameter (?api-version=) is required for all requests."))
		return
	}
	segs, ok := httpx.SplitPath(r)
	if !ok {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindInvalid, "InvalidRequestUri", "The request URI is not valid."))
		return
	}
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	q := &armRequest{w: w, r: r, h: h, segs: segs, query: query, principal: p, tenant: tenant}
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
	sub, err := q.h.Management.Subscription(q.ctx(), subID)
	if err != nil {
		q.fail(err)
		return
	}
	scope := "/subscriptions/" + sub.ID
	n := len(rest)
	switch {
	case n == 0:
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/read") {
			httpx.WriteJSON(q.w, http.StatusOK, q.subscriptionJSON(sub))
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
			httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
		}
	case eq(rest[0], "resourcegroups") && n == 1:
		if q.method(http.MethodGet) && q.authorize(scope, "Microsoft.Resources/subscriptions/resourceGroups/read") {
			q.listGroups(sub)
		}
	case eq(rest[0], "resourcegroups"):
		q.groupScope(sub, rest[1], rest[2:])
	case eq(rest[0], "providers") && n == 1:
		if q.method(http.MethodGet) {
			httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": []any{q.providerJSON(sub, kvNamespace), q.providerJSON(sub, "Microsoft.Resources"), q.providerJSON(sub, authzNS)}})
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
			httpx.WriteJSON(q.w, http.StatusOK, q.providerJSON(sub, ns))
		}
	case len(rest) == 1 && isRegistration(rest[0]):
		if q.method(http.MethodPost) {
			httpx.WriteJSON(q.w, http.StatusOK, q.providerJSON(sub, ns))
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
			httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": []any{}}) // Managed HSM is not offered
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
				g, err := q.h.Management.ResourceGroup(q.ctx(), sub.ID, name)
				if err != nil {
					q.fail(err)
					return
				}
				httpx.WriteJSON(q.w, http.StatusOK, groupJSON(g))
			}
		case http.MethodHead:
			if q.may(scope, "Microsoft.Resources/subscriptions/resourceGroups/read") != nil {
				q.w.WriteHeader(http.StatusForbidden)
				return
			}
			if _, err := q.h.Management.ResourceGroup(q.ctx(), sub.ID, name); err != nil {
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
	g, err := q.h.Management.ResourceGroup(q.ctx(), sub.ID, name)
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
			httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": []any{}})
		}
	case n == 4 && eq(rest[0], "providers") && eq(rest[1], kvNamespace) && eq(rest[2], "managedHSMs"):
		q.fail(arca.Errorf(arca.KindNotFound, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/managedHSMs/%s' under resource group '%s' was not found.", rest[3], g.Name))
	case n >= 2 && eq(rest[0], "providers"):
		q.fail(arca.Errorf(arca.KindNotFound, "NoRegisteredProviderFound", "No registered resource provider found for the namespace '%s'.", rest[1]))
	default:
		q.notFoundPath()
	}
}
