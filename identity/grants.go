package identity

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// OAuthError is an Entra-shaped OAuth2 error response.
type OAuthError struct {
	Status      int    `json:"-"`
	RetryAfter  int    `json:"-"` // seconds, sent as Retry-After when set
	Code        string `json:"error"`
	Description string `json:"error_description"`
	ErrorCodes  []int  `json:"error_codes"`
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(status int, code string, aadsts int, format string, args ...any) *OAuthError {
	return &OAuthError{Status: status, Code: code, ErrorCodes: []int{aadsts},
		Description: fmt.Sprintf("AADSTS%d: ", aadsts) + fmt.Sprintf(format, args...)}
}

// TokenResponse is the body of a successful token request.
type TokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	// v1 endpoints also carry these, as strings, like Entra.
	ExpiresOn string `json:"expires_on,omitempty"`
	NotBefore string `json:"not_before,omitempty"`
	Resource  string `json:"resource,omitempty"`
	// user flows
	Scope        string `json:"scope,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	ClientInfo   string `json:"client_info,omitempty"`
}

// Service is the token service: directory, tokens, and the set of
// resources it issues tokens for.
type Service struct {
	Dir    *Directory
	Tokens *Tokens
	Clock  arca.Clock
	// ResourceOK reports whether a resource (audience) may be requested.
	ResourceOK func(resource string) bool

	interactiveOnce sync.Once
	ia              *interactive
	throttleOnce    sync.Once
	th              *throttles
}

// TokenRequest is a parsed token endpoint call.
type TokenRequest struct {
	Tenant   string     // tenant path segment: a GUID or "adfs"
	V2       bool       // the v2.0 endpoint (scope=) rather than v1/adfs
	Form     url.Values // the form body
	Endpoint string     // absolute URL of the endpoint called (client assertion audience)
}

// ResolveTenant maps a tenant path segment to the deployment's tenant.
func (s *Service) ResolveTenant(ctx context.Context, seg string) (*Tenant, *OAuthError) {
	t, err := s.Dir.Tenant(ctx)
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The tenant could not be read.")
	}
	switch strings.ToLower(seg) {
	case "adfs", strings.ToLower(t.ID), "organizations":
		return t, nil
	}
	return nil, oauthErr(400, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg)
}

// resource extracts the audience from scope (v2) or resource (v1). A v2
// scope list may carry OIDC scopes besides exactly one <resource>/.default.
func resource(req TokenRequest) (string, *OAuthError) {
	if res := req.Form.Get("resource"); res != "" && (!req.V2 || req.Form.Get("scope") == "") {
		return res, nil
	}
	scope := req.Form.Get("scope")
	var res string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		if !strings.HasSuffix(sc, "/.default") || res != "" {
			return "", oauthErr(400, "invalid_scope", 1002012,
				"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope)
		}
		res = strings.TrimSuffix(sc, "/.default")
	}
	if res == "" {
		return "", oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	return res, nil
}

// ClientCredentials runs the client-credentials grant with a client secret
// or an RFC 7523 client assertion.
func (s *Service) ClientCredentials(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	if gt := req.Form.Get("grant_type"); gt != "client_credentials" {
		if gt == "" {
			return nil, oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		}
		return nil, oauthErr(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", gt)
	}
	res, oerr := resource(req)
	if oerr != nil {
		return nil, oerr
	}
	clientID := req.Form.Get("client_id")
	assertion := req.Form.Get("client_assertion")
	if clientID == "" && assertion == "" {
		return nil, oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	var sp *ServicePrincipal
	var acr string
	if assertion != "" {
		if at := req.Form.Get("client_assertion_type"); at != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
			return nil, oauthErr(400, "invalid_request", 50027, "Invalid client_assertion_type '%s'.", at)
		}
		var err *OAuthError
		if sp, err = s.verifyAssertion(ctx, t, clientID, assertion, req.Endpoint); err != nil {
			return nil, err
		}
		acr = "2"
	} else {
		secret := req.Form.Get("client_secret")
		var err error
		sp, err = s.Dir.ServicePrincipal(ctx, clientID)
		if err == nil && !sp.Managed && secret != "" && sp.CheckSecret(secret, false) {
			// A generated secret that matches passes before the throttle: a
			// client id is no secret, so whoever knows one must not be able to
			// lock its owner out by guessing (a 240-bit secret cannot be guessed).
		} else {
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, oauthErr(500, "temporarily_unavailable", 50000, "The directory could not be read.")
			}
			if sp == nil || sp.Managed {
				return nil, oauthErr(400, "unauthorized_client", 700016,
					"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, t.ID)
			}
			if secret == "" {
				return nil, oauthErr(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
			}
			at, wait, _ := s.begin(ctx, bucketKey{s.throttle().key, "client:" + sp.AppID})
			if at == nil {
				return nil, errThrottled(wait)
			}
			ok := false
			if sp.hasSlowSecrets() {
				if ok, err = s.slowCheck(ctx, func() bool { return sp.CheckSecret(secret, true) }); errors.Is(err, errBusy) {
					at.succeeded() // not checked: not a failure
					return nil, errThrottled(time.Second)
				} else if err != nil {
					return nil, oauthErr(500, "temporarily_unavailable", 50000, "The request was cancelled.")
				}
			}
			if !ok {
				return nil, oauthErr(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
			}
			at.succeeded()
		}
		acr = "1"
	}
	return s.issue(t, sp, res, req.V2, acr)
}

func (s *Service) issue(t *Tenant, sp *ServicePrincipal, res string, v2 bool, acr string) (*TokenResponse, *OAuthError) {
	if s.ResourceOK != nil && !s.ResourceOK(res) {
		return nil, oauthErr(400, "invalid_resource", 500011,
			"The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", res, t.ID)
	}
	raw, exp, err := s.Tokens.Issue(t.ID, sp, res, v2, acr)
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The token could not be issued.")
	}
	now := s.Clock.Now()
	in := int(exp.Unix()-now.Unix()) - 1
	out := &TokenResponse{TokenType: "Bearer", ExpiresIn: in, ExtExpiresIn: in, AccessToken: raw}
	if !v2 {
		out.ExpiresOn, out.NotBefore, out.Resource = fmt.Sprint(exp.Unix()), fmt.Sprint(now.Unix()), res
	}
	return out, nil
}

// verifyAssertion checks a client assertion JWT signed by one of the
// principal's registered certificates (matched by x5t or x5t#S256).
func (s *Service) verifyAssertion(ctx context.Context, t *Tenant, clientID, assertion, endpoint string) (*ServicePrincipal, *OAuthError) {
	bad := func(format string, args ...any) *OAuthError {
		return oauthErr(401, "invalid_client", 700027, "Client assertion failed signature validation. "+format, args...)
	}
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.ES384, jose.RS384, jose.RS512, jose.PS384, jose.PS512})
	if err != nil || len(tok.Headers) != 1 {
		return nil, oauthErr(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, oauthErr(400, "invalid_request", 50027, "JWT token is invalid or malformed.")
	}
	if clientID == "" {
		clientID = unverified.Subject
	}
	if unverified.Issuer != clientID || unverified.Subject != clientID {
		return nil, oauthErr(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
	}
	sp, err := s.Dir.ServicePrincipal(ctx, clientID)
	if err != nil || sp.Managed {
		return nil, oauthErr(400, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'.", clientID, t.ID)
	}
	thumbs := assertionThumbprints(assertion)
	var cert *x509.Certificate
	for _, c := range sp.Certs {
		for _, th := range thumbs {
			if strings.EqualFold(th, c.SHA1) || strings.EqualFold(th, c.SHA256) {
				cert, _ = x509.ParseCertificate(c.DER)
			}
		}
	}
	if cert == nil {
		return nil, oauthErr(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s']", strings.Join(thumbs, ","))
	}
	var c jwt.Claims
	if err := tok.Claims(cert.PublicKey, &c); err != nil {
		return nil, bad("The signature does not match the registered certificate.")
	}
	audOK := false
	for _, a := range c.Audience {
		if sameEndpoint(a, endpoint) {
			audOK = true
		}
	}
	if !audOK {
		return nil, oauthErr(401, "invalid_client", 700016, "The audience claim of the client assertion does not match the token endpoint %s.", endpoint)
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Time: s.Clock.Now()}, ClockSkew); err != nil || c.Expiry == nil {
		return nil, oauthErr(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
	}
	return sp, nil
}

// sameEndpoint compares URLs ignoring a query string and a trailing slash.
func sameEndpoint(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return strings.EqualFold(ua.Host, ub.Host) && strings.TrimSuffix(ua.Path, "/") == strings.TrimSuffix(ub.Path, "/")
}

// ManagedIdentityToken issues a token for the deployment's managed identity.
// clientID, when set, must name it (user-assigned identities do not exist).
func (s *Service) ManagedIdentityToken(ctx context.Context, res, clientID string) (*TokenResponse, *ServicePrincipal, *OAuthError) {
	t, err := s.Dir.Tenant(ctx)
	if err != nil {
		return nil, nil, oauthErr(500, "temporarily_unavailable", 50000, "The tenant could not be read.")
	}
	mi, err := s.Dir.ManagedIdentity(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, oauthErr(400, "invalid_request", 700016, "No managed identity is configured.")
	}
	if err != nil {
		return nil, nil, oauthErr(500, "temporarily_unavailable", 50000, "The directory could not be read.")
	}
	if clientID != "" && !strings.EqualFold(clientID, mi.AppID) {
		return nil, nil, oauthErr(400, "invalid_request", 700016, "Identity not found: no managed identity with client id '%s'.", clientID)
	}
	res = strings.TrimSuffix(res, "/.default")
	if res == "" {
		return nil, nil, oauthErr(400, "invalid_request", 900144, "The request must contain the parameter 'resource'.")
	}
	out, oerr := s.issue(t, mi, res, false, "2")
	return out, mi, oerr
}

// thumbprints returns the hex SHA-1 and SHA-256 thumbprints of a DER certificate.
func thumbprints(der []byte) (string, string) {
	a, b := sha1.Sum(der), sha256.Sum256(der)
	return hex.EncodeToString(a[:]), hex.EncodeToString(b[:])
}

// assertionThumbprints reads x5t and x5t#S256 from the JWS protected
// header (hex-encoded).
func assertionThumbprints(assertion string) []string {
	i := strings.IndexByte(assertion, '.')
	if i < 0 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(assertion[:i])
	if err != nil {
		return nil
	}
	var h map[string]any
	if json.Unmarshal(b, &h) != nil {
		return nil
	}
	var out []string
	for _, name := range []string{"x5t", "x5t#S256"} {
		if v, ok := h[name].(string); ok {
			if raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v, "=")); err == nil {
				out = append(out, hex.EncodeToString(raw))
			} else if raw, err := base64.StdEncoding.DecodeString(v); err == nil {
				out = append(out, hex.EncodeToString(raw))
			}
		}
	}
	return out
}
