// Package attestation verifies attestation tokens for secure key release,
// and runs Arca's built-in test attestation authority (a stand-in for a
// confidential-computing attestation service, for development and for the
// Azure SDK suites' release tests).
package attestation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// ErrUntrusted means the token is not from a trusted authority or fails
// verification.
var ErrUntrusted = errors.New("attestation: token cannot be verified")

// Authority is a trusted attestation authority: tokens it issues carry
// iss = URL and are signed by one of Keys.
type Authority struct {
	URL  string
	Keys jose.JSONWebKeySet
}

// Verifier verifies attestation tokens against trusted authorities.
type Verifier struct {
	Clock arca.Clock

	mu          sync.RWMutex
	authorities map[string]*Authority
}

func normalize(u string) string { return strings.TrimRight(strings.ToLower(u), "/") }

// Trust adds an authority.
func (v *Verifier) Trust(a *Authority) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.authorities == nil {
		v.authorities = map[string]*Authority{}
	}
	v.authorities[normalize(a.URL)] = a
}

// Verify checks a token's signature, issuer and lifetime and returns the
// authority URL and the claims.
func (v *Verifier) Verify(_ context.Context, raw string) (string, map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384})
	if err != nil || len(tok.Headers) != 1 {
		return "", nil, fmt.Errorf("%w: malformed token", ErrUntrusted)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return "", nil, fmt.Errorf("%w: malformed claims", ErrUntrusted)
	}
	v.mu.RLock()
	a := v.authorities[normalize(unverified.Issuer)]
	v.mu.RUnlock()
	if a == nil {
		return "", nil, fmt.Errorf("%w: issuer %q is not a trusted attestation authority", ErrUntrusted, unverified.Issuer)
	}
	keys := a.Keys.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		keys = a.Keys.Keys
	}
	for _, k := range keys {
		var std jwt.Claims
		claims := map[string]any{}
		if tok.Claims(k.Key, &std, &claims) != nil {
			continue
		}
		if err := std.ValidateWithLeeway(jwt.Expected{Time: v.Clock.Now()}, 5*time.Minute); err != nil {
			return "", nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
		}
		return a.URL, claims, nil
	}
	return "", nil, fmt.Errorf("%w: bad signature", ErrUntrusted)
}

// TestAuthority is the built-in test attestation authority. Its tokens
// carry the claim "sdk-test": true and an ephemeral RSA runtime key
// (x-ms-runtime.keys), like the fake service the Azure SDK tests use.
type TestAuthority struct {
	URL   string
	Clock arca.Clock
	key   *rsa.PrivateKey
	kid   string
}

// NewTestAuthority creates a test authority at url.
func NewTestAuthority(url string, clock arca.Clock) (*TestAuthority, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &TestAuthority{URL: url, Clock: clock, key: k, kid: "arca-test-attestation"}, nil
}

// Authority returns the authority to trust.
func (t *TestAuthority) Authority() *Authority {
	return &Authority{URL: t.URL, Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &t.key.PublicKey, KeyID: t.kid, Algorithm: "RS256", Use: "sig"}}}}
}

// Token issues a test attestation token valid for one hour.
func (t *TestAuthority) Token() (string, error) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	now := t.Clock.Now()
	b64 := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	claims := map[string]any{
		"iss": t.URL, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"sdk-test": true, "x-ms-attestation-type": "arca-test",
		"x-ms-runtime": map[string]any{"keys": []map[string]any{{
			"kid": "TpmEphemeralEncryptionKey", "kty": "RSA", "key_ops": []string{"encrypt"},
			"n": b64(rk.N.Bytes()), "e": b64(big.NewInt(int64(rk.E)).Bytes()),
		}}},
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: t.key, KeyID: t.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(claims).Serialize()
}

// RuntimeKey returns the RSA public key a token's environment published
// in x-ms-runtime.keys (or keys), the key a released key is wrapped for.
func RuntimeKey(claims map[string]any) (*rsa.PublicKey, error) {
	var keys any
	if rt, ok := claims["x-ms-runtime"].(map[string]any); ok {
		keys = rt["keys"]
	}
	if keys == nil {
		keys = claims["keys"]
	}
	list, _ := keys.([]any)
	for _, k := range list {
		b, _ := json.Marshal(k)
		var jwk jose.JSONWebKey
		if jwk.UnmarshalJSON(b) == nil {
			if pub, ok := jwk.Key.(*rsa.PublicKey); ok {
				return pub, nil
			}
		}
	}
	return nil, errors.New("attestation: the token publishes no RSA runtime key")
}
