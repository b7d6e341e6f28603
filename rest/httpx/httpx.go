// Package httpx holds what every plane of Arca's HTTP edge shares: the
// deployment's addressing (Config), the one table from domain error kinds to
// HTTP status codes and Azure error codes, JSON bodies (with the UTF-8
// check), the base64url and optional-integer wire types, Key Vault paging,
// the per-request record the audit log needs, and bearer-token
// authentication. It knows no plane: package rest (the core) and the planes
// (keyvault, arm, graph, entra) import it, never the other way round.
package httpx

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Config describes how the deployment is addressed. It lives here rather
// than in package rest because every plane reads it and the planes cannot
// import rest (rest builds them); rest.Config is this type.
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

// NewRequestID returns a fresh x-ms-request-id (and ARM operation id): a
// random version 4 UUID from crypto/rand, as Azure sends.
func NewRequestID() string { return uuid.NewString() }

// Origin is the origin the client addressed, https://HOST[:PORT]: MSAL
// requires the OIDC issuer to share the authority's scheme, host and port,
// and the management plane's links point back where the client called.
func Origin(r *http.Request) string { return "https://" + r.Host }

// SplitPath splits the escaped path into unescaped segments, so an encoded
// slash stays inside its segment (and then fails name validation).
func SplitPath(r *http.Request) ([]string, bool) {
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
