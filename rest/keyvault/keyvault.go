// Package keyvault is the Key Vault data plane of the vault hosts
// (NAME.<dns-suffix>): secrets, keys, certificates and random bytes, with
// Key Vault's 401 challenge, api-version checks and wire shapes. The core
// (package rest) finds the vault name in the host and hands the request to
// Handler.ServeVault.
package keyvault

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// ServiceVersion is sent in x-ms-keyvault-service-version.
const ServiceVersion = "1.9.2421.1"

// Body size limits.
const (
	maxBody        = 1 << 20  // ordinary requests
	maxRestoreBody = 24 << 20 // restore: 500 versions of 25 KB, base64url
)

// Handler serves the data plane of every vault.
type Handler struct {
	Config       httpx.Config
	Vaults       arca.VaultService
	Secrets      arca.SecretService
	Keys         arca.KeyService
	Certificates arca.CertificateService // nil: the certificates API answers 404
	Tokens       httpx.TokenVerifier
	Authorizer   arca.Authorizer
	Log          *slog.Logger
}

// challengeResource is the vault host minus its first label, port as sent.
func challengeResource(hostport string) string {
	if i := strings.IndexByte(hostport, '.'); i >= 0 {
		return "https://" + strings.ToLower(hostport[i+1:])
	}
	return "https://" + hostport
}

func (h *Handler) challenge(w http.ResponseWriter, r *http.Request, tenant string) {
	w.Header().Set("WWW-Authenticate",
		`Bearer authorization="`+h.Config.AuthorityURL+"/"+tenant+`", resource="`+challengeResource(r.Host)+`"`)
}

// audienceOK reports whether a token audience names this vault service.
func (h *Handler) audienceOK(r *http.Request) func(string) bool {
	want := []string{h.Config.VaultResource(), challengeResource(r.Host)}
	return func(aud string) bool {
		aud = strings.TrimSuffix(aud, "/")
		for _, w := range want {
			if strings.EqualFold(aud, w) {
				return true
			}
		}
		return false
	}
}

// ServeVault serves a request to the vault called name (the first label of
// its host): the vault's headers, then authentication before anything else,
// the api-version, and the route.
func (h *Handler) ServeVault(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	v, err := h.Vaults.Vault(ctx, name)
	if err != nil {
		httpx.WriteError(w, r, h.Log, err)
		return
	}
	httpx.RequestInfoFrom(ctx).SetResource(h.vaultResourceID(v))
	hd := w.Header()
	hd.Set("Cache-Control", "no-cache")
	hd.Set("Pragma", "no-cache")
	hd.Set("Expires", "-1")
	hd.Set("x-ms-keyvault-service-version", ServiceVersion)
	hd.Set("x-ms-keyvault-region", "local")
	hd.Set("x-ms-keyvault-network-info", networkInfo(r))

	// Authenticate before anything else: clients probe without a body.
	p, err := httpx.Authenticate(r, h.Tokens, v.TenantID, h.audienceOK(r), h.Config.VaultResource())
	if err != nil {
		h.challenge(w, r, v.TenantID)
		if errors.Is(err, httpx.ErrNoBearer) {
			err = arca.Errorf(arca.KindUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
		}
		httpx.WriteError(w, r, h.Log, err)
		return
	}
	r = r.WithContext(arca.WithPrincipal(ctx, p))

	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindInvalid, "BadParameter", "The request URI contains an invalid query string."))
		return
	}
	level, err := parseAPIVersion(query.Get("api-version"))
	if err != nil {
		httpx.WriteError(w, r, h.Log, err)
		return
	}
	segs, ok := httpx.SplitPath(r)
	if !ok {
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindInvalid, "BadParameter", "The request URI is not valid."))
		return
	}
	q := &vaultRequest{w: w, r: r, h: h, vault: v, level: level, segs: segs, principal: p, query: query}
	switch strings.ToLower(segs[0]) {
	case "secrets", "deletedsecrets":
		q.routeSecrets()
	case "keys", "deletedkeys":
		q.routeKeys()
	case "certificates", "deletedcertificates":
		q.routeCertificates()
	case "rng":
		if len(segs) != 1 || r.Method != http.MethodPost {
			q.fail(methodNotAllowed(r.Method))
			return
		}
		q.randomBytes()
	default:
		httpx.WriteError(w, r, h.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The requested resource was not found."))
	}
}

func networkInfo(r *http.Request) string {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	fam, ct := "InterNetwork", "Ipv4"
	if strings.Contains(host, ":") {
		fam, ct = "InterNetworkV6", "Ipv6"
	}
	return "conn_type=" + ct + ";addr=" + host + ";act_addr_fam=" + fam + ";"
}

// vaultRequest carries one authenticated data-plane request.
type vaultRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	h         *Handler
	vault     *arca.Vault
	level     apiLevel
	segs      []string
	principal *arca.Principal
	query     url.Values
}

func (q *vaultRequest) fail(err error) { httpx.WriteError(q.w, q.r, q.h.Log, err) }

func (q *vaultRequest) ok(v any) { httpx.WriteJSON(q.w, http.StatusOK, v) }

// authorize runs the single authorisation decision for op.
func (q *vaultRequest) authorize(op arca.Operation, object string) bool {
	httpx.RequestInfoFrom(q.r.Context()).SetOperation(op)
	if err := q.h.Authorizer.Authorize(q.r.Context(), q.vault, q.principal, op, object); err != nil {
		q.fail(err)
		return false
	}
	return true
}

// checkName validates a name from the URL before any authorisation.
func (q *vaultRequest) checkName(name string) bool {
	if !arca.ValidObjectName(name) {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "The request URI contains an invalid name: %s", name))
		return false
	}
	return true
}

// baseURL is the vault's canonical origin, the root of every object id.
func (q *vaultRequest) baseURL() string { return q.h.Config.VaultURL(q.vault.Name) }

func methodNotAllowed(method string) error {
	return arca.Errorf(arca.KindMethod, "MethodNotAllowed", "HTTP %s not allowed", method)
}

// vaultResourceID is the vault's ARM id when it has one, else its URL.
func (h *Handler) vaultResourceID(v *arca.Vault) string {
	if id := v.ResourceID(); id != "" {
		return id
	}
	return h.Config.VaultURL(v.Name)
}
