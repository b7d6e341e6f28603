package httpx

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/arcakv/arca"
)

// TokenVerifier checks an access token: identity.Tokens.
type TokenVerifier interface {
	// Verify checks raw for tenant, with an audience audOK accepts; hint
	// names the expected audience in the error.
	Verify(raw, tenant string, audOK func(string) bool, hint string) (*arca.Principal, error)
}

// ErrNoBearer is Authenticate's error for a request without an
// "Authorization: Bearer …" header.
var ErrNoBearer = errors.New("no bearer token")

// Authenticate verifies the bearer token of r for tenant: the one place a
// request's Authorization header is parsed. audOK accepts the plane's
// audiences and hint names the expected one in the error. On success the
// principal is recorded in the request's RequestInfo (its audit record names
// the caller, and the edge counts the request as authenticated) and
// returned. Without a bearer token the error is ErrNoBearer, otherwise it is
// the verifier's (KindUnauthorized). Each plane answers a failure its own
// way: Key Vault with its challenge, Resource Manager and Graph with
// WriteARMUnauthorized.
func Authenticate(r *http.Request, tokens TokenVerifier, tenant string, audOK func(string) bool, hint string) (*arca.Principal, error) {
	authz := r.Header.Get("Authorization")
	if len(authz) < 7 || !strings.EqualFold(authz[:7], "Bearer ") {
		return nil, ErrNoBearer
	}
	p, err := tokens.Verify(strings.TrimSpace(authz[7:]), tenant, audOK, hint)
	if err != nil {
		return nil, err
	}
	RequestInfoFrom(r.Context()).SetPrincipal(p)
	return p, nil
}

// WriteARMUnauthorized answers a failed Authenticate of a Resource Manager
// or Graph call as ARM does: 401 with a WWW-Authenticate challenge naming
// the tenant's authority, AuthenticationFailed without a token, else
// InvalidAuthenticationToken with the verifier's message.
func WriteARMUnauthorized(w http.ResponseWriter, r *http.Request, log *slog.Logger, authority, tenant string, err error) {
	w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+authority+"/"+tenant+`", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`)
	if errors.Is(err, ErrNoBearer) {
		WriteError(w, r, log, arca.Errorf(arca.KindUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."))
		return
	}
	msg := "The access token is invalid."
	if e, ok := err.(*arca.Error); ok {
		msg = e.Message
	}
	WriteError(w, r, log, arca.Errorf(arca.KindUnauthorized, "InvalidAuthenticationToken", "%s", msg))
}
