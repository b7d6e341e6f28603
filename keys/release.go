package keys

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
)

// AttestationVerifier verifies a release target's attestation token and
// returns its authority and claims.
type AttestationVerifier interface {
	Verify(ctx context.Context, raw string) (authority string, claims map[string]any, err error)
}

// RuntimeKeyFunc extracts the public key a released key is wrapped for.
type RuntimeKeyFunc func(claims map[string]any) (*rsa.PublicKey, error)

// JWSSigner signs the release result as the vault service.
type JWSSigner interface {
	SignJWS(payload []byte) (string, error)
}

// Release is the optional secure-key-release wiring of a Service.
type Release struct {
	Verifier   AttestationVerifier
	RuntimeKey RuntimeKeyFunc
	Signer     JWSSigner
}

// checkReleasePolicy validates a release policy: its data must be a JSON
// policy document with a version and an anyOf or allOf rule list.
func checkReleasePolicy(rp *arca.ReleasePolicy) error {
	if rp.ContentType == "" {
		rp.ContentType = "application/json; charset=utf-8"
	}
	var doc map[string]any
	if err := json.Unmarshal(rp.Data, &doc); err != nil {
		return badParam("Property release_policy.data has invalid value: it must be a base64url-encoded JSON policy document.")
	}
	if doc["anyOf"] == nil && doc["allOf"] == nil {
		return badParam("Property release_policy.data has invalid value: the policy needs an anyOf or allOf rule list.")
	}
	return nil
}

// evalPolicy evaluates a release policy node (Key Vault's grammar 1.0.0:
// anyOf/allOf lists, authority blocks, and claim conditions with equals or
// exists) against the verified token's authority and claims.
func evalPolicy(node map[string]any, authority string, claims map[string]any) bool {
	if a, ok := node["authority"].(string); ok && !strings.EqualFold(strings.TrimRight(a, "/"), strings.TrimRight(authority, "/")) {
		return false
	}
	if c, ok := node["claim"].(string); ok {
		v, present := lookupClaim(claims, c)
		if eq, ok := node["equals"]; ok {
			return present && fmt.Sprint(v) == fmt.Sprint(eq)
		}
		if ex, ok := node["exists"].(bool); ok {
			return present == ex
		}
		return false
	}
	if list, ok := node["anyOf"].([]any); ok {
		for _, it := range list {
			if m, ok := it.(map[string]any); ok && evalPolicy(m, authority, claims) {
				return true
			}
		}
		return false
	}
	if list, ok := node["allOf"].([]any); ok {
		for _, it := range list {
			if m, ok := it.(map[string]any); !ok || !evalPolicy(m, authority, claims) {
				return false
			}
		}
		return len(list) > 0
	}
	_, isAuthority := node["authority"]
	return isAuthority
}

func lookupClaim(claims map[string]any, path string) (any, bool) {
	var cur any = claims
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

var releaseEnc = map[string]func() hash.Hash{
	"CKM_RSA_AES_KEY_WRAP": sha1.New, "RSA_AES_KEY_WRAP_256": sha256.New, "RSA_AES_KEY_WRAP_384": sha512.New384,
}

// Release implements arca.KeyService: secure key release of an exportable
// key to an environment whose attestation token satisfies the key's
// release policy. The private key travels wrapped for the environment's
// runtime key (CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256/384) inside a
// result signed by Arca.
func (s *Service) Release(ctx context.Context, vault *arca.Vault, name, version, target, nonce, enc string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if target == "" {
		return "", badParam("Property target is required.")
	}
	if enc == "" {
		enc = "CKM_RSA_AES_KEY_WRAP"
	}
	newHash, ok := releaseEnc[enc]
	if !ok {
		return "", badParam("Property enc has invalid value: %s is not a supported key wrapping algorithm.", enc)
	}
	kv, err := s.c.Get(ctx, vault, name, version)
	if err != nil {
		return "", err
	}
	if !kv.Exportable || kv.ReleasePolicy == nil {
		return "", badParam("Key %s is not exportable: release requires an exportable key with a release policy.", name)
	}
	if !kv.Attributes.IsEnabled() {
		return "", forbidden("KeyDisabled", "Operation release is not allowed on a disabled key.")
	}
	denied := func(msg string) error {
		return arca.Errorf(arca.KindForbidden, "Forbidden", "Target environment attestation statement cannot be verified. %s", msg).WithInner("AccessDenied")
	}
	if s.SKR == nil || s.SKR.Verifier == nil {
		return "", denied("No attestation authority is trusted by this deployment.")
	}
	authority, claims, err := s.SKR.Verifier.Verify(ctx, target)
	if err != nil {
		return "", denied(err.Error())
	}
	var policy map[string]any
	if err := json.Unmarshal(kv.ReleasePolicy.Data, &policy); err != nil || !evalPolicy(policy, authority, claims) {
		return "", denied("The attestation claims do not satisfy the key's release policy.")
	}
	runtime, err := s.SKR.RuntimeKey(claims)
	if err != nil {
		return "", denied(err.Error())
	}
	priv, err := s.Keystore.Export(ctx, s.custody(kv))
	if err != nil {
		return "", mapKeystoreErr(err)
	}
	plain, err := json.Marshal(privateJWKJSON(priv))
	if err != nil {
		return "", arca.Internal(err)
	}
	cek := make([]byte, 32)
	if _, err := io.ReadFull(s.Rand, cek); err != nil {
		return "", arca.Internal(err)
	}
	wrappedCEK, err := rsa.EncryptOAEP(newHash(), s.Rand, runtime, cek, nil)
	if err != nil {
		return "", badParam("The target's runtime key cannot wrap the release key: %v", err)
	}
	wrappedKey, err := kwpWrap(cek, plain)
	if err != nil {
		return "", arca.Internal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	keyHSM, _ := json.Marshal(map[string]any{"schema_version": "1.0",
		"header":     map[string]string{"kid": "TpmEphemeralEncryptionKey", "alg": "dir", "enc": enc},
		"ciphertext": b64(append(wrappedCEK, wrappedKey...))})
	kid := s.VaultURL(vault.Name) + "/keys/" + kv.Name + "/" + kv.Version
	pub := map[string]any{"kid": kid, "kty": kv.Key.Kty, "key_ops": kv.Key.KeyOps, "key_hsm": b64(keyHSM)}
	if family(kv) == "RSA" {
		pub["n"], pub["e"] = b64(kv.Key.N), b64(kv.Key.E)
	} else {
		pub["crv"], pub["x"], pub["y"] = kv.Key.Crv, b64(kv.Key.X), b64(kv.Key.Y)
	}
	payload, _ := json.Marshal(map[string]any{
		"request": map[string]any{"api-version": "7.4", "enc": enc, "kid": kid, "nonce": nonce},
		"response": map[string]any{"key": map[string]any{"key": pub,
			"attributes":     map[string]any{"enabled": true, "exportable": true, "created": kv.Attributes.Created, "updated": kv.Attributes.Updated},
			"release_policy": map[string]any{"contentType": kv.ReleasePolicy.ContentType, "data": b64(kv.ReleasePolicy.Data)}}},
	})
	out, err := s.SKR.Signer.SignJWS(payload)
	if err != nil {
		return "", arca.Internal(err)
	}
	return out, nil
}

// privateJWKJSON renders a private JWK in RFC 7517 form.
func privateJWKJSON(p *keystore.PrivateJWK) map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kty": p.Kty}
	add := func(k string, v []byte) {
		if len(v) > 0 {
			m[k] = b64(v)
		}
	}
	if p.Crv != "" {
		m["crv"] = p.Crv
	}
	add("n", p.N)
	add("e", p.E)
	add("x", p.X)
	add("y", p.Y)
	add("d", p.D)
	add("p", p.P)
	add("q", p.Q)
	add("dp", p.DP)
	add("dq", p.DQ)
	add("qi", p.QI)
	return m
}
