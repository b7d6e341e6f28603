// Package rest is Arca's HTTP edge: host-based dispatch between the token
// service (host localhost or an IP) and vaults (NAME.<dns-suffix>), the 401
// challenge, api-version checks, Azure's wire shapes and the one error table.
package rest

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/attestation"
	"github.com/arcakv/arca/audit"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/google/uuid"
)

// ServiceVersion is sent in x-ms-keyvault-service-version.
const ServiceVersion = "1.9.2421.1"

// Config describes how the deployment is addressed.
type Config struct {
	// DNSSuffix is the vault DNS suffix, e.g. "vault.localhost".
	DNSSuffix string
	// Port is the public port; 443 means URLs are written without a port.
	Port int
	// AuthorityURL is the canonical token service origin, e.g. https://localhost:8443.
	AuthorityURL string
	// IMDS enables the instance metadata endpoint for loopback callers.
	IMDS bool
}

// PortSuffix returns ":PORT", or "" for 443.
func (c Config) PortSuffix() string {
	if c.Port == 443 || c.Port == 0 {
		return ""
	}
	return ":" + strconv.Itoa(c.Port)
}

// VaultResource is the canonical vault audience, e.g. https://vault.localhost:8443.
func (c Config) VaultResource() string { return "https://" + c.DNSSuffix + c.PortSuffix() }

// VaultURL returns the canonical URL of a vault.
func (c Config) VaultURL(name string) string {
	return "https://" + strings.ToLower(name) + "." + c.DNSSuffix + c.PortSuffix()
}

// Server is the HTTP handler of a deployment.
type Server struct {
	Config       Config
	Vaults       arca.VaultService
	Secrets      arca.SecretService
	Keys         arca.KeyService
	Certificates arca.CertificateService
	Identity     *identity.Service
	// Audit receives one record per request; nil disables auditing.
	Audit *audit.Logger
	// Management holds subscriptions, resource groups and role
	// assignments; nil disables the management plane.
	Management *management.Service
	// TestAttestation, when set, serves the built-in test attestation
	// authority under /attestation on the token service host.
	TestAttestation *attestation.TestAuthority
	Authorizer      arca.Authorizer
	Clock           arca.Clock
	Log             *slog.Logger
}

// requestID returns a fresh x-ms-request-id (and ARM operation id): a
// random version 4 UUID from crypto/rand, as Azure sends.
func requestID() string { return uuid.NewString() }

// ServeHTTP dispatches on the Host header. Every answer is held until the
// request's audit record is written; when it cannot be, the caller gets 503
// instead (fail closed), and while the audit log is failing no request runs.
// /healthz is the one exception: it holds no data and reports the failure.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	reqID := requestID()
	h.Set("x-ms-request-id", reqID)
	ri := &reqInfo{}
	r = r.WithContext(withReqInfo(r.Context(), ri))
	if id := r.Header.Get("x-ms-client-request-id"); id != "" && len(id) <= 128 {
		h.Set("x-ms-client-request-id", id)
	}
	h.Set("Strict-Transport-Security", "max-age=31536000;includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	var body *trackedBody
	if hasBody(r) {
		body = &trackedBody{ReadCloser: r.Body}
		r.Body = body
	}
	rec := &bufferedResponse{w: w}
	if s.Audit == nil || isHealthz(r) {
		s.dispatch(rec, r, start)
		finishBody(w, r, body, ri.principal != nil)
		rec.flush()
		return
	}
	if err := s.Audit.Err(); err != nil {
		// Refuse without running anything; this refusal's own record is
		// the probe that finds the log writable again.
		writeError(rec, r, s.Log, errAuditUnavailable())
		h.Set("Retry-After", "5")
	} else {
		s.dispatch(rec, r, start)
	}
	finishBody(w, r, body, ri.principal != nil)
	if err := s.auditRequest(r, rec.status, start, reqID, ri); err != nil {
		s.refuseUnaudited(w, r)
		return
	}
	rec.flush()
}

func isHealthz(r *http.Request) bool {
	return strings.EqualFold(strings.Trim(r.URL.Path, "/"), "healthz") && !strings.Contains(hostOnly(r.Host), ".")
}

// dispatch runs the handler for r's host, turning a panic into a 500.
func (s *Server) dispatch(rec *bufferedResponse, r *http.Request, start time.Time) {
	defer func() {
		if v := recover(); v != nil {
			s.Log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			rec.status = 0 // nothing has left the server: the whole answer becomes the 500
			rec.body.Reset()
			resetHeaders(rec.Header())
			writeError(rec, r, s.Log, arca.Errorf(arca.KindInternal, "InternalError", "An internal error occurred."))
		}
		s.Log.Debug("request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
			"status", rec.status, "ms", time.Since(start).Milliseconds())
	}()
	host := hostOnly(r.Host)
	if name, ok := s.vaultName(host); ok {
		if ri := reqInfoFrom(r.Context()); ri != nil {
			ri.resource = "https://" + host // replaced by the vault's ARM id once it is found
		}
		s.serveVault(rec, r, name)
		return
	}
	if host == "localhost" || net.ParseIP(host) != nil || strings.HasPrefix(host, "[") {
		s.serveIdentity(rec, r)
		return
	}
	writeError(rec, r, s.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The host %s is not served by this deployment.", host))
}

func hostOnly(hostport string) string {
	h := strings.ToLower(hostport)
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// vaultName returns the vault label of host when host is NAME.<suffix>.
func (s *Server) vaultName(host string) (string, bool) {
	suffix := "." + strings.ToLower(s.Config.DNSSuffix)
	if !strings.HasSuffix(host, suffix) {
		return "", false
	}
	name := strings.TrimSuffix(host, suffix)
	return name, name != "" && !strings.Contains(name, ".")
}

// challengeResource is the vault host minus its first label, port as sent.
func challengeResource(hostport string) string {
	if i := strings.IndexByte(hostport, '.'); i >= 0 {
		return "https://" + strings.ToLower(hostport[i+1:])
	}
	return "https://" + hostport
}

func (s *Server) challenge(w http.ResponseWriter, r *http.Request, tenant string) {
	w.Header().Set("WWW-Authenticate",
		`Bearer authorization="`+s.Config.AuthorityURL+"/"+tenant+`", resource="`+challengeResource(r.Host)+`"`)
}

// audienceOK reports whether a token audience names this vault service.
func (s *Server) audienceOK(r *http.Request) func(string) bool {
	want := []string{s.Config.VaultResource(), challengeResource(r.Host)}
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

// splitPath splits the escaped path into unescaped segments, so an encoded
// slash stays inside its segment (and then fails name validation).
func splitPath(r *http.Request) ([]string, bool) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	parts := strings.Split(raw, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = u
	}
	return parts, true
}

func (s *Server) serveVault(w http.ResponseWriter, r *http.Request, name string) {
	ctx := r.Context()
	v, err := s.Vaults.Vault(ctx, name)
	if err != nil {
		writeError(w, r, s.Log, err)
		return
	}
	if ri := reqInfoFrom(ctx); ri != nil {
		ri.resource = s.vaultResourceID(v)
	}
	h := w.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("x-ms-keyvault-service-version", ServiceVersion)
	h.Set("x-ms-keyvault-region", "local")
	h.Set("x-ms-keyvault-network-info", networkInfo(r))

	// Authenticate before anything else: clients probe without a body.
	authz := r.Header.Get("Authorization")
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "Bearer ") {
		s.challenge(w, r, v.TenantID)
		writeError(w, r, s.Log, arca.Errorf(arca.KindUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token."))
		return
	}
	p, err := s.Identity.Tokens.Verify(strings.TrimSpace(authz[7:]), v.TenantID, s.audienceOK(r), s.Config.VaultResource())
	if err != nil {
		s.challenge(w, r, v.TenantID)
		writeError(w, r, s.Log, err)
		return
	}
	ctx = arca.WithPrincipal(ctx, p)
	r = r.WithContext(ctx)
	if ri := reqInfoFrom(ctx); ri != nil {
		ri.principal = p
	}

	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, r, s.Log, arca.Errorf(arca.KindInvalid, "BadParameter", "The request URI contains an invalid query string."))
		return
	}
	level, err := parseAPIVersion(query.Get("api-version"))
	if err != nil {
		writeError(w, r, s.Log, err)
		return
	}
	segs, ok := splitPath(r)
	if !ok {
		writeError(w, r, s.Log, arca.Errorf(arca.KindInvalid, "BadParameter", "The request URI is not valid."))
		return
	}
	rq := &vaultRequest{w: w, r: r, s: s, vault: v, level: level, segs: segs, principal: p, query: query}
	switch strings.ToLower(segs[0]) {
	case "secrets", "deletedsecrets":
		s.routeSecrets(rq)
	case "keys", "deletedkeys":
		s.routeKeys(rq)
	case "certificates", "deletedcertificates":
		s.routeCertificates(rq)
	case "rng":
		if len(segs) != 1 || r.Method != http.MethodPost {
			rq.fail(methodNotAllowed(r.Method))
			return
		}
		rq.randomBytes()
	default:
		writeError(w, r, s.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The requested resource was not found."))
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
	s         *Server
	vault     *arca.Vault
	level     apiLevel
	segs      []string
	principal *arca.Principal
	query     url.Values
}

func (q *vaultRequest) fail(err error) { writeError(q.w, q.r, q.s.Log, err) }

// authorize runs the single authorisation decision for op.
func (q *vaultRequest) authorize(op arca.Operation, object string) bool {
	if ri := reqInfoFrom(q.r.Context()); ri != nil {
		ri.op = op
	}
	if err := q.s.Authorizer.Authorize(q.r.Context(), q.vault, q.principal, op, object); err != nil {
		q.fail(err)
		return false
	}
	return true
}

// baseURL is the vault's canonical origin, the root of every object id.
func (q *vaultRequest) baseURL() string { return q.s.Config.VaultURL(q.vault.Name) }

func methodNotAllowed(method string) error {
	return arca.Errorf(arca.KindMethod, "MethodNotAllowed", "HTTP %s not allowed", method)
}

// vaultResourceID is the vault's ARM id when it has one, else its URL.
func (s *Server) vaultResourceID(v *arca.Vault) string {
	if id := v.ResourceID(); id != "" {
		return id
	}
	return s.Config.VaultURL(v.Name)
}
