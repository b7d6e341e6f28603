package rest

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arcakv/arca/audit"
	"github.com/arcakv/arca/rest/arm"
	"github.com/arcakv/arca/rest/httpx"
)

// auditRequest writes the request's audit record and returns once it is
// written, or the error that kept it from being written. It never logs
// bodies, headers other than the user agent, or credential query parameters.
func (s *Server) auditRequest(r *http.Request, status int, start time.Time, requestID string, ri *httpx.RequestInfo) error {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	op, resource := string(ri.Operation), ri.Resource
	if op == "" {
		op, resource = unhandledOp(r, resource)
	}
	corr := r.Header.Get("x-ms-client-request-id")
	if corr == "" || len(corr) > 128 {
		corr = requestID
	}
	props := map[string]any{
		"id":             clip("https://"+r.Host+r.URL.Path, maxAuditURI),
		"requestUri":     clip(requestURI(r), maxAuditURI),
		"httpStatusCode": status,
		"clientInfo":     trimUA(r.UserAgent()),
	}
	if ri.PolicyHit != nil {
		props["isAccessPolicyMatch"] = *ri.PolicyHit
	}
	e := &audit.Event{
		Time: start.UTC(), OperationName: op, OperationVersion: apiVersionOf(r.URL.RawQuery), ResourceID: resource,
		ResultType: audit.ResultType(status), ResultSignature: http.StatusText(status),
		DurationMs: time.Since(start).Milliseconds(), CallerIPAddress: host, CorrelationID: corr, Properties: props,
	}
	if p := ri.Principal; p != nil {
		e.Identity = &audit.Identity{Claim: map[string]string{"oid": p.ObjectID, "appid": p.AppID, "tid": p.TenantID}}
	}
	return s.Audit.Record(e) // a failure is logged once by the logger, not per request
}

// unhandledOp names a request no data-plane handler declared an operation
// for, by where it was answered; a management-plane call's resource is the
// ARM resource or scope in its path.
func unhandledOp(r *http.Request, resource string) (string, string) {
	if resource != "" {
		return "VaultRequest", resource // answered before any handler (challenge, bad api-version, unknown path)
	}
	switch lower := strings.ToLower(strings.TrimPrefix(r.URL.Path, "/")); {
	case strings.HasPrefix(lower, "v1.0"):
		return "GraphRequest", ""
	case arm.IsPath(lower):
		if strings.HasPrefix(lower, "subscriptions/") {
			return "ManagementRequest", clip(r.URL.Path, maxAuditURI)
		}
		return "ManagementRequest", ""
	}
	return "TokenServiceRequest", ""
}

// maxAuditURI bounds the URIs an audit record repeats from the request.
const maxAuditURI = 8 << 10

// clip shortens s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(truncated)"
}

func requestURI(r *http.Request) string {
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	return audit.RedactURI(&u)
}

func trimUA(ua string) string {
	if len(ua) > 256 {
		return ua[:256]
	}
	return ua
}

// apiVersionOf finds the api-version in a raw query without parsing it all.
func apiVersionOf(raw string) string {
	for _, kv := range strings.Split(raw, "&") {
		k, v, _ := strings.Cut(kv, "=")
		if k == "api-version" || k == "api%2Dversion" || k == "api%2dversion" {
			if u, err := url.QueryUnescape(v); err == nil {
				return u
			}
		}
	}
	return ""
}
