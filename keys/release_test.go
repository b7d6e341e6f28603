package keys

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/attestation"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/storage/memory"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

type stubSigner struct{ key *rsa.PrivateKey }

func (s stubSigner) SignJWS(p []byte) (string, error) {
	sg, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.key}, nil)
	o, err := sg.Sign(p)
	if err != nil {
		return "", err
	}
	return o.CompactSerialize()
}

// TestSecureKeyRelease: the released key unwraps with the target's runtime
// key and is the vault's key; every refusal path refuses.
func TestSecureKeyRelease(t *testing.T) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	store, _ := barrier.Open(ctx, memory.New(), make([]byte, 32), rand.Reader)
	s := New(store, soft.New(rand.Reader), store, clock, rand.Reader)
	s.VaultURL = func(v string) string { return "https://" + v + ".vault.localhost:8443" }
	authKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	signKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	const authURL = "https://attest.example"
	v := &attestation.Verifier{Clock: clock}
	v.Trust(&attestation.Authority{URL: authURL, Keys: jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &authKey.PublicKey, KeyID: "a"}}}})
	s.SKR = &Release{Verifier: v, RuntimeKey: attestation.RuntimeKey, Signer: stubSigner{signKey}}
	vault := &arca.Vault{Name: "v", TenantID: "t", SKU: "premium", RetentionDays: 90}

	runtime, _ := rsa.GenerateKey(rand.Reader, 2048)
	b64 := base64.RawURLEncoding.EncodeToString
	token := func(issuerKey *rsa.PrivateKey, iss string, claims map[string]any) string {
		now := clock.Now()
		c := map[string]any{"iss": iss, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
			"x-ms-runtime": map[string]any{"keys": []any{map[string]any{"kty": "RSA", "n": b64(runtime.N.Bytes()), "e": "AQAB"}}}}
		for k, val := range claims {
			c[k] = val
		}
		sg, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: issuerKey, KeyID: "a"}}, nil)
		raw, _ := jwt.Signed(sg).Claims(c).Serialize()
		return raw
	}
	policy, _ := json.Marshal(map[string]any{"version": "1.0.0", "anyOf": []any{map[string]any{
		"authority": authURL, "allOf": []any{map[string]any{"claim": "tee.type", "equals": "sevsnp"}, map[string]any{"claim": "debug", "equals": false}}}}})
	exportable := true
	if _, err := s.CreateKey(ctx, vault, "skr", arca.KeyCreate{Kty: "EC-HSM", Curve: "P-256", Exportable: &exportable,
		ReleasePolicy: &arca.ReleasePolicy{Data: policy}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateKey(ctx, vault, "plain", arca.KeyCreate{Kty: "EC"}); err != nil {
		t.Fatal(err)
	}
	_, err := s.CreateKey(ctx, vault, "nopolicy", arca.KeyCreate{Kty: "EC", Exportable: &exportable})
	if arca.KindOf(err) != arca.KindInvalid {
		t.Fatalf("exportable without policy: %v", err)
	}
	good := map[string]any{"tee": map[string]any{"type": "sevsnp"}, "debug": false}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tc := range map[string]struct {
		key, tok string
		kind     arca.Kind
	}{
		"not exportable":     {"plain", token(authKey, authURL, good), arca.KindInvalid},
		"claims unsatisfied": {"skr", token(authKey, authURL, map[string]any{"tee": map[string]any{"type": "sgx"}, "debug": false}), arca.KindForbidden},
		"untrusted issuer":   {"skr", token(authKey, "https://evil.example", good), arca.KindForbidden},
		"forged signature":   {"skr", token(other, authURL, good), arca.KindForbidden},
		"garbage target":     {"skr", "not-a-token", arca.KindForbidden},
	} {
		if _, err := s.Release(ctx, vault, tc.key, "", tc.tok, "", ""); arca.KindOf(err) != tc.kind {
			t.Fatalf("%s: %v", name, err)
		}
	}

	for _, enc := range []string{"", "RSA_AES_KEY_WRAP_256"} {
		out, err := s.Release(ctx, vault, "skr", "", token(authKey, authURL, good), "n0nce", enc)
		if err != nil {
			t.Fatal(err)
		}
		obj, err := jose.ParseSignedCompact(out, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		payload, err := obj.Verify(&signKey.PublicKey)
		if err != nil {
			t.Fatalf("release result signature: %v", err)
		}
		var res struct {
			Request  map[string]any `json:"request"`
			Response struct {
				Key struct {
					Key map[string]string `json:"key"`
				} `json:"key"`
			} `json:"response"`
		}
		json.Unmarshal(payload, &res)
		if res.Request["nonce"] != "n0nce" || !strings.HasPrefix(res.Response.Key.Key["kid"], "https://v.vault.localhost:8443/keys/skr/") {
			t.Fatalf("result: %s", payload)
		}
		var hsm struct {
			Ciphertext string `json:"ciphertext"`
		}
		raw, _ := base64.RawURLEncoding.DecodeString(res.Response.Key.Key["key_hsm"])
		json.Unmarshal(raw, &hsm)
		ct, _ := base64.RawURLEncoding.DecodeString(hsm.Ciphertext)
		h := sha1.New()
		if enc != "" {
			h = sha256.New()
		}
		cek, err := rsa.DecryptOAEP(h, nil, runtime, ct[:256], nil)
		if err != nil {
			t.Fatalf("unwrap CEK: %v", err)
		}
		plain, err := kwpUnwrap(cek, ct[256:])
		if err != nil {
			t.Fatal(err)
		}
		var jwk map[string]string
		json.Unmarshal(plain, &jwk)
		d, _ := base64.RawURLEncoding.DecodeString(jwk["d"])
		// The released private key signs; the vault's public key verifies.
		kv, _ := s.GetKey(ctx, vault, "skr", "")
		pubAny, err := keystore.PublicKey(toPublic(kv.Key))
		if err != nil {
			t.Fatal(err)
		}
		pub := pubAny.(*ecdsa.PublicKey)
		priv, err := ecdsa.ParseRawPrivateKey(pub.Curve, d)
		if err != nil {
			t.Fatal(err)
		}
		dg := sha256.Sum256([]byte("x"))
		sig, _ := ecdsa.SignASN1(rand.Reader, priv, dg[:])
		if !ecdsa.VerifyASN1(pub, dg[:], sig) {
			t.Fatal("released private key does not match the vault key")
		}
	}
}
