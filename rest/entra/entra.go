// Package entra is the Entra ID-compatible token service on the token
// service host (localhost or an IP address): OIDC discovery, JWKS, the
// token, device-code and authorization endpoints with their sign-in pages
// for people, home realm discovery, and managed identity (App Service and
// the instance metadata endpoint).
package entra

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/rest/httpx"
	"github.com/arcakv/arca/storage"
)

// Handler serves the token service.
type Handler struct {
	Identity *identity.Service
	// IMDS enables the instance metadata endpoint for loopback callers.
	IMDS bool
}

// ServeHTTP serves the token service endpoints; any other path is Entra's
// 404 not_found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		r = r.WithContext(identity.WithSourceAddr(r.Context(), host)) // failed sign-ins are throttled per address
	}
	path := r.URL.Path
	segs := strings.Split(strings.Trim(path, "/"), "/")
	lower := strings.ToLower(strings.Trim(path, "/"))
	switch {
	case len(segs) == 3 && strings.EqualFold(segs[0], "common") && strings.EqualFold(segs[1], "userrealm"):
		h.userRealm(w, r, segs[2])
	case len(segs) == 3 && r.Method == http.MethodGet && strings.EqualFold(segs[0], "common") &&
		strings.EqualFold(segs[1], "discovery") && strings.EqualFold(segs[2], "instance"):
		h.instanceDiscovery(w, r)
	case lower == "msi/token":
		h.appServiceMI(w, r)
	case lower == "metadata/identity/oauth2/token":
		h.imds(w, r)
	case len(segs) >= 2 && r.Method == http.MethodGet && strings.HasSuffix(lower, "/.well-known/openid-configuration"):
		h.openIDConfig(w, r, segs[0], strings.EqualFold(segs[1], "v2.0"))
	case len(segs) >= 3 && r.Method == http.MethodGet && strings.EqualFold(segs[1], "discovery"):
		h.jwks(w, r, segs[0])
	case len(segs) >= 3 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[len(segs)-1], "token"):
		h.token(w, r, segs[0], strings.EqualFold(segs[2], "v2.0"))
	case len(segs) >= 3 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[len(segs)-1], "authorize"):
		h.authorize(w, r, segs[0])
	case len(segs) >= 3 && strings.EqualFold(segs[1], "oauth2") && strings.EqualFold(segs[len(segs)-1], "devicecode"):
		h.deviceCode(w, r, segs[0])
	case lower == "devicelogin":
		h.deviceLogin(w, r)
	default:
		oauthError(w, &identity.OAuthError{Status: 404, Code: "not_found", ErrorCodes: []int{900561},
			Description: "AADSTS900561: The endpoint " + path + " does not exist."})
	}
}

func oauthError(w http.ResponseWriter, e *identity.OAuthError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, e.Status, e)
}

func (h *Handler) openIDConfig(w http.ResponseWriter, r *http.Request, tenantSeg string, v2 bool) {
	t, oerr := h.Identity.ResolveTenant(r.Context(), discoveryTenant(tenantSeg))
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	o := httpx.Origin(r)
	var base, issuer, ver string
	if strings.EqualFold(tenantSeg, "adfs") {
		base, issuer = o+"/adfs", o+"/adfs"
		ver = ""
	} else {
		base = o + "/" + t.ID
		if v2 {
			issuer, ver = base+"/v2.0", "/v2.0"
		} else {
			issuer = base + "/"
		}
	}
	tokenPath := "/oauth2" + ver + "/token"
	if strings.EqualFold(tenantSeg, "adfs") {
		tokenPath = "/oauth2/token"
	}
	doc := map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                base + "/oauth2" + ver + "/authorize",
		"token_endpoint":                        base + tokenPath,
		"device_authorization_endpoint":         base + "/oauth2" + ver + "/devicecode",
		"jwks_uri":                              base + "/discovery" + ver + "/keys",
		"response_types_supported":              []string{"code"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"grant_types_supported":                 []string{"client_credentials", "password", "refresh_token", "authorization_code", identity.GrantDeviceCode},
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "arca.local",
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	httpx.WriteJSON(w, http.StatusOK, doc)
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	if _, oerr := h.Identity.ResolveTenant(r.Context(), tenantSeg); oerr != nil {
		oauthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	httpx.WriteJSON(w, http.StatusOK, h.Identity.Tokens.JWKS())
}

const maxFormBody = 64 << 10

func parseForm(r *http.Request) (url.Values, *identity.OAuthError) {
	b, err := httpx.ReadBody(r, maxFormBody)
	if err != nil {
		return nil, &identity.OAuthError{Status: 400, Code: "invalid_request", ErrorCodes: []int{900144}, Description: "AADSTS900144: The request body could not be read or is too large."}
	}
	form, err := url.ParseQuery(string(b))
	if err != nil {
		return nil, &identity.OAuthError{Status: 400, Code: "invalid_request", ErrorCodes: []int{900144}, Description: "AADSTS900144: The request body must be application/x-www-form-urlencoded."}
	}
	return form, nil
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request, tenantSeg string, v2 bool) {
	if r.Method != http.MethodPost {
		oauthError(w, &identity.OAuthError{Status: 405, Code: "invalid_request", ErrorCodes: []int{900561},
			Description: "AADSTS900561: The endpoint only accepts POST requests. Received a " + r.Method + " request."})
		return
	}
	form, oerr := parseForm(r)
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	if id, secret, ok := r.BasicAuth(); ok && form.Get("client_secret") == "" {
		if u, err := url.QueryUnescape(id); err == nil {
			id = u
		}
		if u, err := url.QueryUnescape(secret); err == nil {
			secret = u
		}
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	endpoint := httpx.Origin(r) + r.URL.Path
	resp, oerr := h.Identity.Token(r.Context(), identity.TokenRequest{Tenant: tenantSeg, V2: v2, Form: form, Endpoint: endpoint})
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// appServiceMI serves the App Service managed identity protocol
// (IDENTITY_ENDPOINT + X-IDENTITY-HEADER), GET with query parameters.
func (h *Handler) appServiceMI(w http.ResponseWriter, r *http.Request) {
	mi, err := h.Identity.Dir.ManagedIdentity(r.Context())
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		oauthError(w, &identity.OAuthError{Status: 500, Code: "temporarily_unavailable", ErrorCodes: []int{50000},
			Description: "AADSTS50000: The directory could not be read."})
		return
	}
	if err != nil || !mi.CheckIdentityHeader(r.Header.Get("X-IDENTITY-HEADER")) {
		oauthError(w, &identity.OAuthError{Status: 401, Code: "invalid_request", ErrorCodes: []int{0},
			Description: "The X-IDENTITY-HEADER header is missing or does not match."})
		return
	}
	q := r.URL.Query()
	res := q.Get("resource")
	if res == "" && r.Method == http.MethodPost {
		if form, oerr := parseForm(r); oerr == nil {
			res = form.Get("resource")
		}
	}
	cid := q.Get("client_id")
	if cid == "" {
		cid = q.Get("clientid")
	}
	resp, sp, oerr := h.Identity.ManagedIdentityToken(r.Context(), res, cid)
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	httpx.WriteJSON(w, http.StatusOK, map[string]string{
		"access_token": resp.AccessToken, "expires_on": resp.ExpiresOn, "resource": resp.Resource,
		"token_type": "Bearer", "client_id": sp.AppID,
	})
}

// imds serves the instance metadata token endpoint. Like Azure's link-local
// IMDS it is reachable only from the machine itself (loopback callers), and
// requires the Metadata: true header.
func (h *Handler) imds(w http.ResponseWriter, r *http.Request) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	ip := net.ParseIP(host)
	if !h.IMDS || ip == nil || !ip.IsLoopback() {
		oauthError(w, &identity.OAuthError{Status: 403, Code: "forbidden", ErrorCodes: []int{0},
			Description: "The instance metadata endpoint is only available to local callers."})
		return
	}
	if !strings.EqualFold(r.Header.Get("Metadata"), "true") {
		oauthError(w, &identity.OAuthError{Status: 400, Code: "invalid_request", ErrorCodes: []int{0},
			Description: "Required metadata header not specified"})
		return
	}
	q := r.URL.Query()
	resp, sp, oerr := h.Identity.ManagedIdentityToken(r.Context(), q.Get("resource"), q.Get("client_id"))
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	in := strconv.Itoa(resp.ExpiresIn)
	w.Header().Set("Cache-Control", "no-store, no-cache")
	httpx.WriteJSON(w, http.StatusOK, map[string]string{
		"access_token": resp.AccessToken, "client_id": sp.AppID, "expires_in": in, "expires_on": resp.ExpiresOn,
		"ext_expires_in": in, "not_before": resp.NotBefore, "resource": resp.Resource, "token_type": "Bearer",
	})
}

// userRealm answers MSAL's home realm discovery for the password grant:
// every account of this deployment is a managed (not federated) account.
func (h *Handler) userRealm(w http.ResponseWriter, r *http.Request, user string) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"ver": "1.0", "account_type": "Managed", "domain_name": "arca.local",
		"cloud_instance_name": "arca.local", "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
}

// instanceDiscovery answers MSAL's instance discovery
// (GET /common/discovery/instance?api-version=1.1&authorization_endpoint=…),
// which MSAL for Go, Java, .NET and JavaScript call before their first
// token request (and MSAL for Python for hosts it does not know): the
// authorization endpoint's host is this service, its only alias, and the
// tenant discovery document is this service's. An authorization endpoint
// that is not a URL of this host is Entra's invalid_instance.
func (h *Handler) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	o := httpx.Origin(r)
	host := strings.TrimPrefix(o, "https://")
	tenant := "common"
	if ep := r.URL.Query().Get("authorization_endpoint"); ep != "" {
		u, err := url.Parse(ep)
		if err != nil || !strings.EqualFold(u.Scheme, "https") || !strings.EqualFold(u.Host, host) {
			oauthError(w, &identity.OAuthError{Status: 400, Code: "invalid_instance", ErrorCodes: []int{50049},
				Description: "AADSTS50049: Unknown or invalid instance."})
			return
		}
		if seg, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); seg != "" {
			tenant = seg
		}
	}
	if _, oerr := h.Identity.ResolveTenant(r.Context(), discoveryTenant(tenant)); oerr != nil {
		oauthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "max-age=86400, private")
	httpx.WriteJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": o + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

// discoveryTenant is the tenant segment whose discovery documents a
// segment gets: "common" (which MSAL names in instance discovery and in
// the authority it discovers from) has those of "organizations", the
// deployment's one tenant; its token endpoint refuses client credentials,
// as Entra's does.
func discoveryTenant(seg string) string {
	if strings.EqualFold(seg, "common") {
		return "organizations"
	}
	return seg
}
