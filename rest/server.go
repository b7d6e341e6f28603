// Package rest is Arca's HTTP edge, the core that every plane runs under:
// host-based dispatch between the vaults (NAME.<dns-suffix>) and the token
// service host (localhost or an IP address), and the middleware of every
// request: the request id and security headers, recovery from a panic (with
// its stack in the log), the audit record (fail closed) and what is left of
// the request body. The planes are packages of their own, built by Server
// from its fields: keyvault (the data plane), arm (Resource Manager), graph
// (Microsoft Graph) and entra (the token service and its sign-in pages).
// What they share (the one error table, bodies, paging, bearer tokens, the
// audit record's request info) is package httpx.
package rest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/attestation"
	"github.com/arcakv/arca/audit"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/arm"
	"github.com/arcakv/arca/rest/entra"
	"github.com/arcakv/arca/rest/graph"
	"github.com/arcakv/arca/rest/httpx"
	"github.com/arcakv/arca/rest/keyvault"
)

// ServiceVersion is sent in x-ms-keyvault-service-version.
const ServiceVersion = keyvault.ServiceVersion

// LatestAPIVersion is the newest data-plane api-version Arca implements.
const LatestAPIVersion = keyvault.LatestAPIVersion

// Config describes how the deployment is addressed: its DNS suffix, public
// port, token service origin and whether the instance metadata endpoint is
// on. It is defined in package httpx, which every plane reads.
type Config = httpx.Config

// Server is the HTTP handler of a deployment. Set its fields before it
// serves: the planes are built from them on the first request (the
// services, Identity and its Tokens, are kept by reference, so changes made
// to them through their pointers are seen).
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
	// Authorizer is the one decision point: it decides every data-plane
	// operation, Resource Manager action and directory write.
	Authorizer arca.Authorizer
	Clock      arca.Clock
	Log        *slog.Logger
	// StoreHealth, when set, is asked by /healthz whether the store
	// answers (within two seconds), so that a balancer takes a node whose
	// store is unreachable out of rotation.
	StoreHealth func(context.Context) error

	once   sync.Once
	planes *planes
}

// planes are the handlers of the planes, each holding only what it uses.
type planes struct {
	vault *keyvault.Handler
	arm   *arm.Handler
	graph *graph.Handler
	entra *entra.Handler
}

// handlers returns the planes, building them on first use.
func (s *Server) handlers() *planes {
	s.once.Do(func() {
		var dir *identity.Directory
		var tokens *identity.Tokens
		if s.Identity != nil {
			dir, tokens = s.Identity.Dir, s.Identity.Tokens
		}
		s.planes = &planes{
			vault: &keyvault.Handler{Config: s.Config, Vaults: s.Vaults, Secrets: s.Secrets, Keys: s.Keys, Certificates: s.Certificates,
				Tokens: tokens, Authorizer: s.Authorizer, Log: s.Log},
			arm: &arm.Handler{Config: s.Config, Vaults: s.Vaults, Management: s.Management, Authorizer: s.Authorizer,
				Directory: dir, Tokens: tokens, Log: s.Log},
			graph: &graph.Handler{Config: s.Config, Directory: dir, Tokens: tokens, Management: s.Management,
				Authorizer: s.Authorizer, Log: s.Log},
			entra: &entra.Handler{Identity: s.Identity, IMDS: s.Config.IMDS},
		}
	})
	return s.planes
}

// ServeHTTP dispatches on the Host header. Every answer is held until the
// request's audit record is written; when it cannot be, the caller gets 503
// instead (fail closed), and while the audit log is failing no request runs.
// /healthz is the one exception: it holds no data and reports the failure.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	h := w.Header()
	reqID := httpx.NewRequestID()
	h.Set("x-ms-request-id", reqID)
	ri := &httpx.RequestInfo{}
	r = r.WithContext(httpx.WithRequestInfo(r.Context(), ri))
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
		finishBody(w, r, body, ri.Principal != nil)
		rec.flush()
		return
	}
	if err := s.Audit.Err(); err != nil {
		// Refuse without running anything; this refusal's own record is
		// the probe that finds the log writable again.
		httpx.WriteError(rec, r, s.Log, errAuditUnavailable())
		h.Set("Retry-After", "5")
	} else {
		s.dispatch(rec, r, start)
	}
	finishBody(w, r, body, ri.Principal != nil)
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
			httpx.WriteError(rec, r, s.Log, arca.Errorf(arca.KindInternal, "InternalError", "An internal error occurred."))
		}
		if s.Log.Enabled(r.Context(), slog.LevelDebug) { // the arguments cost allocations on every request otherwise
			s.Log.Debug("request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
				"status", rec.status, "ms", time.Since(start).Milliseconds())
		}
	}()
	host := hostOnly(r.Host)
	if name, ok := s.vaultName(host); ok {
		// The vault's ARM id replaces this once the vault is found.
		httpx.RequestInfoFrom(r.Context()).SetResource("https://" + host)
		s.handlers().vault.ServeVault(rec, r, name)
		return
	}
	if host == "localhost" || net.ParseIP(host) != nil || strings.HasPrefix(host, "[") {
		s.serveTokenHost(rec, r)
		return
	}
	httpx.WriteError(rec, r, s.Log, arca.Errorf(arca.KindNotFound, "NotFound", "The host %s is not served by this deployment.", host))
}

// serveTokenHost dispatches the token service host by path: /healthz, the
// Resource Manager and Graph, the test attestation authority, and the token
// service itself (which answers every other path).
func (s *Server) serveTokenHost(w http.ResponseWriter, r *http.Request) {
	lower := strings.ToLower(strings.Trim(r.URL.Path, "/"))
	p := s.handlers()
	switch {
	case lower == "healthz":
		if err := s.Audit.Err(); err != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "the audit log cannot be written"})
			return
		}
		if s.StoreHealth != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			err := s.StoreHealth(ctx)
			cancel()
			if err != nil {
				s.Log.Warn("healthz: the store does not answer", "err", err)
				httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "the store cannot be reached"})
				return
			}
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case graph.IsPath(lower):
		p.graph.ServeHTTP(w, r)
	case arm.IsPath(lower):
		p.arm.ServeHTTP(w, r)
	case s.TestAttestation != nil && lower == "attestation/generate-test-token":
		tok, err := s.TestAttestation.Token()
		if err != nil {
			httpx.WriteError(w, r, s.Log, err)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"token": tok})
	case s.TestAttestation != nil && lower == "attestation/certs":
		httpx.WriteJSON(w, http.StatusOK, s.TestAttestation.Authority().Keys)
	default:
		p.entra.ServeHTTP(w, r)
	}
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
