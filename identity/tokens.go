package identity

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TokenLifetime is the lifetime of issued access tokens.
const TokenLifetime = time.Hour

// ClockSkew is the leeway applied to nbf and exp, as Entra does.
const ClockSkew = 5 * time.Minute

// Claims are the claims of an Arca access token (a subset of Entra's).
type Claims struct {
	Audience  string `json:"aud"`
	Issuer    string `json:"iss"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
	AppID     string `json:"appid,omitempty"`
	AzP       string `json:"azp,omitempty"`
	AppIDACR  string `json:"appidacr,omitempty"`
	IdType    string `json:"idtyp,omitempty"`
	ObjectID  string `json:"oid"`
	Subject   string `json:"sub"`
	TenantID  string `json:"tid"`
	UTI       string `json:"uti,omitempty"`
	Version   string `json:"ver"`
	// user tokens
	Scope      string `json:"scp,omitempty"`
	Name       string `json:"name,omitempty"`
	UPN        string `json:"upn,omitempty"`
	UniqueName string `json:"unique_name,omitempty"`
}

type signingKey struct {
	KID     string    `json:"kid"`
	PKCS8   []byte    `json:"pkcs8"`
	Created time.Time `json:"created"`
}

// Tokens issues and verifies access tokens. Authority is the canonical
// authority origin (for example https://localhost:8443); it is the origin of
// every issued token's issuer.
type Tokens struct {
	Store     barrier.Sealed
	Clock     arca.Clock
	Authority string

	mu      sync.RWMutex
	keys    map[string]*rsa.PrivateKey // replaced or added to, under mu
	current string
	loads   uint64 // moves on, under mu, whenever keys or current change

	cacheMu sync.RWMutex
	cache   map[[32]byte]*arca.Principal
}

// MaxCachedTokens bounds the verification cache.
const MaxCachedTokens = 100000

// Load loads the signing keys, creating the first one if none exists.
func (t *Tokens) Load(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, keys, err := t.readKeys(ctx, nil)
	if err != nil {
		return err
	}
	t.keys = keys
	t.loads++
	t.cacheMu.Lock()
	t.cache = map[[32]byte]*arca.Principal{}
	t.cacheMu.Unlock()
	if t.keys[cur] != nil {
		t.current = cur
		return nil
	}
	return t.rotateLocked(ctx)
}

// signingKeys is the prefix of every signing key record and of the record
// naming the current one (signPrefix, signCurrent).
const signingKeys = "id/signing"

// Follow keeps the signing keys in step with the store while other
// processes (the other Arca nodes of a shared store) write to it: whenever
// a signing key or the choice of the current one changes, wherever the
// change was made, it reloads them (it never creates one, as Load does when
// there is none), so that a token signed with a key rotated through another
// node verifies here, and this node signs with that key, as soon as the
// store reports the rotation. It also reloads them when it starts and
// whenever the store lost track of the changes (storage.ErrCompacted). A
// key no longer stored is dropped, and every cached verification with it.
// Call Load first, to have a key.
//
// Rotate updates this node's keys itself, at once, whether or not Follow
// runs; its events reload them again, harmlessly. Follow runs until ctx
// ends; it returns as storage.Follow does: ctx's error, an error wrapping
// errors.ErrUnsupported at once when the store cannot watch, or the error
// that stopped it (such as a signing key record that does not decode; the
// keys loaded before stay in use), after which it may be called again.
func (t *Tokens) Follow(ctx context.Context) error {
	return storage.Follow(ctx, t.Store, signingKeys, t.reload,
		func(e storage.Event) error { return t.reload(ctx) })
}

// reload replaces the keys and the current key with those stored. The
// store is read without holding mu, so that signing and verification go on
// meanwhile, and keys parsed before are not parsed again; if Load or
// Rotate changed the keys during the read, it reads again.
func (t *Tokens) reload(ctx context.Context) error {
	for {
		t.mu.RLock()
		loads, known := t.loads, maps.Clone(t.keys)
		t.mu.RUnlock()
		cur, keys, err := t.readKeys(ctx, known)
		if err != nil {
			return err
		}
		t.mu.Lock()
		if t.loads != loads {
			t.mu.Unlock()
			continue
		}
		dropped := false
		for kid := range t.keys {
			dropped = dropped || keys[kid] == nil
		}
		t.keys = keys
		if keys[cur] != nil {
			t.current = cur
		}
		t.loads++
		t.mu.Unlock()
		if dropped {
			t.cacheMu.Lock()
			t.cache = map[[32]byte]*arca.Principal{}
			t.cacheMu.Unlock()
		}
		return nil
	}
}

// readKeys reads the stored signing keys and the id of the current one
// ("" when none is recorded). A key whose id is in known is taken from
// there rather than parsed again: a key id is a digest of the public key.
func (t *Tokens) readKeys(ctx context.Context, known map[string]*rsa.PrivateKey) (string, map[string]*rsa.PrivateKey, error) {
	keys := map[string]*rsa.PrivateKey{}
	var cur []byte
	err := t.Store.View(ctx, func(r storage.Reader) error {
		clear(keys)
		var err error
		if cur, err = r.Get(signCurrent); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var derr error
		err = r.Scan(signPrefix, "", func(_ string, b []byte) bool {
			var sk signingKey
			if derr = json.Unmarshal(b, &sk); derr != nil {
				return false
			}
			if k := known[sk.KID]; k != nil {
				keys[sk.KID] = k
				return true
			}
			k, err := x509.ParsePKCS8PrivateKey(sk.PKCS8)
			if err != nil {
				derr = err
				return false
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				derr = errors.New("identity: signing key is not RSA")
				return false
			}
			keys[sk.KID] = rk
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	if err != nil {
		return "", nil, err
	}
	return string(cur), keys, nil
}

// Rotate creates a new signing key and makes it current. Tokens signed by
// older keys stay valid until they expire; the JWKS lists every key.
func (t *Tokens) Rotate(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rotateLocked(ctx)
}

func (t *Tokens) rotateLocked(ctx context.Context) error {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(pub)
	kid := base64.RawURLEncoding.EncodeToString(sum[:20])
	b, _ := json.Marshal(&signingKey{KID: kid, PKCS8: der, Created: t.Clock.Now().UTC()})
	if err := t.Store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(signPrefix+kid, b); err != nil {
			return err
		}
		return tx.Put(signCurrent, []byte(kid))
	}); err != nil {
		return err
	}
	t.keys[kid] = k
	t.current = kid
	t.loads++
	return nil
}

// JWKS returns the public signing keys.
func (t *Tokens) JWKS() jose.JSONWebKeySet {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var set jose.JSONWebKeySet
	for kid, k := range t.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
	}
	return set
}

// IssuerV2 and IssuerV1 are the issuers of v2.0 and v1.0 tokens of tenant.
func (t *Tokens) IssuerV2(tenant string) string { return t.Authority + "/" + tenant + "/v2.0" }
func (t *Tokens) IssuerV1(tenant string) string { return t.Authority + "/" + tenant + "/" }

// Issue signs an access token for sp in tenant with audience aud. v2 picks
// the v2.0 token format; appidacr is "1" (secret), "2" (certificate) or "0".
func (t *Tokens) Issue(tenant string, sp *ServicePrincipal, aud string, v2 bool, appidacr string) (string, time.Time, error) {
	t.mu.RLock()
	k, kid := t.keys[t.current], t.current
	t.mu.RUnlock()
	if k == nil {
		return "", time.Time{}, errors.New("identity: no signing key loaded")
	}
	now := t.Clock.Now()
	exp := now.Add(TokenLifetime)
	uti := make([]byte, 16)
	_, _ = rand.Read(uti)
	c := Claims{
		Audience: aud, IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: exp.Unix(),
		ObjectID: sp.ObjectID, Subject: sp.ObjectID, TenantID: tenant, IdType: "app",
		UTI: base64.RawURLEncoding.EncodeToString(uti),
	}
	if v2 {
		c.Issuer, c.Version, c.AzP = t.IssuerV2(tenant), "2.0", sp.AppID
	} else {
		c.Issuer, c.Version, c.AppID, c.AppIDACR = t.IssuerV1(tenant), "1.0", sp.AppID, appidacr
	}
	raw, err := t.sign(k, kid, c)
	return raw, exp, err
}

func (t *Tokens) sign(k *rsa.PrivateKey, kid string, claims any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

func (t *Tokens) currentKey() (*rsa.PrivateKey, string, error) {
	t.mu.RLock()
	k, kid := t.keys[t.current], t.current
	t.mu.RUnlock()
	if k == nil {
		return nil, "", errors.New("identity: no signing key loaded")
	}
	return k, kid, nil
}

// IssueUser signs a delegated access token for user u, obtained through
// the public client clientID, with audience aud.
func (t *Tokens) IssueUser(tenant string, u *User, clientID, aud string, v2 bool) (string, time.Time, error) {
	k, kid, err := t.currentKey()
	if err != nil {
		return "", time.Time{}, err
	}
	now := t.Clock.Now()
	exp := now.Add(TokenLifetime)
	uti := make([]byte, 16)
	_, _ = rand.Read(uti)
	c := Claims{
		Audience: aud, IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: exp.Unix(),
		ObjectID: u.ObjectID, Subject: u.ObjectID, TenantID: tenant, IdType: "user",
		UTI: base64.RawURLEncoding.EncodeToString(uti), Scope: "user_impersonation",
		Name: u.DisplayName, UPN: u.UPN, UniqueName: u.UPN,
	}
	if v2 {
		c.Issuer, c.Version, c.AzP = t.IssuerV2(tenant), "2.0", clientID
	} else {
		c.Issuer, c.Version, c.AppID, c.AppIDACR = t.IssuerV1(tenant), "1.0", clientID, "0"
	}
	raw, err := t.sign(k, kid, c)
	return raw, exp, err
}

// IDToken signs an OpenID Connect id_token for user u and client clientID.
func (t *Tokens) IDToken(tenant string, u *User, clientID, nonce string) (string, error) {
	k, kid, err := t.currentKey()
	if err != nil {
		return "", err
	}
	now := t.Clock.Now()
	c := map[string]any{
		"aud": clientID, "iss": t.IssuerV2(tenant), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(TokenLifetime).Unix(), "oid": u.ObjectID, "sub": u.ObjectID, "tid": tenant,
		"preferred_username": u.UPN, "name": u.DisplayName, "ver": "2.0",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	return t.sign(k, kid, c)
}

func unauthorized(format string, args ...any) error {
	return arca.Errorf(arca.KindUnauthorized, "Unauthorized", format, args...)
}

// Verify checks an access token: signature by one of Arca's keys (RS256
// only), issuer of tenant, audience accepted by audOK, and nbf/exp with
// ClockSkew. It returns KindUnauthorized errors with Key Vault's messages.
// Successful verifications are cached until the token expires.
func (t *Tokens) Verify(raw, tenant string, audOK func(string) bool, audHint string) (*arca.Principal, error) {
	sum := sha256.Sum256([]byte(raw))
	now := t.Clock.Now()
	t.cacheMu.RLock()
	p := t.cache[sum]
	t.cacheMu.RUnlock()
	if p != nil {
		if now.Unix() > p.Expires+int64(ClockSkew/time.Second) {
			return nil, unauthorized("[TokenExpired] Error validating token: 'S2S12086'.")
		}
		if p.TenantID != tenant {
			return nil, unauthorized("AKV10032: Invalid issuer. Expected one of %s, %s, found %s.", t.IssuerV1(tenant), t.IssuerV2(tenant), t.IssuerV2(p.TenantID))
		}
		if !audOK(p.Audience) {
			return nil, unauthorized("AKV10022: Invalid audience. Expected %s, found: %s.", audHint, p.Audience)
		}
		return p, nil
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(tok.Headers) != 1 {
		return nil, unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
	}
	kid := tok.Headers[0].KeyID
	t.mu.RLock()
	k := t.keys[kid]
	t.mu.RUnlock()
	if k == nil {
		return nil, unauthorized("AKV10046: Unable to resolve the key used for signature validation.")
	}
	var c Claims
	if err := tok.Claims(&k.PublicKey, &c); err != nil {
		return nil, unauthorized("AKV10046: Unable to validate the token signature.")
	}
	if c.Issuer != t.IssuerV1(c.TenantID) && c.Issuer != t.IssuerV2(c.TenantID) || c.TenantID != tenant {
		return nil, unauthorized("AKV10032: Invalid issuer. Expected one of %s, %s, found %s.", t.IssuerV1(tenant), t.IssuerV2(tenant), c.Issuer)
	}
	if !audOK(c.Audience) {
		return nil, unauthorized("AKV10022: Invalid audience. Expected %s, found: %s.", audHint, c.Audience)
	}
	skew := int64(ClockSkew / time.Second)
	if now.Unix() > c.Expiry+skew {
		return nil, unauthorized("[TokenExpired] Error validating token: 'S2S12086'.")
	}
	if c.NotBefore > now.Unix()+skew || c.ObjectID == "" {
		return nil, unauthorized("Token not yet valid.")
	}
	appID := c.AppID
	if appID == "" {
		appID = c.AzP
	}
	p = &arca.Principal{TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: appID, Audience: c.Audience, Expires: c.Expiry,
		IdType: c.IdType, UPN: c.UPN}
	t.cacheMu.Lock()
	if len(t.cache) >= MaxCachedTokens {
		t.cache = map[[32]byte]*arca.Principal{}
	}
	t.cache[sum] = p
	t.cacheMu.Unlock()
	return p, nil
}

// String describes the key set (never key material).
func (t *Tokens) String() string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return fmt.Sprintf("identity.Tokens{keys:%d current:%s}", len(t.keys), t.current)
}

// SignJWS signs payload with the current signing key (RS256, with kid) as
// a compact JWS: Arca's signature on results such as released keys.
func (t *Tokens) SignJWS(payload []byte) (string, error) {
	t.mu.RLock()
	k, kid := t.keys[t.current], t.current
	t.mu.RUnlock()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
