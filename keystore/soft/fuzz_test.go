package soft_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// FuzzImportJWK decodes random bytes into a private JWK and imports it.
// Import must never panic, must fail only with ErrInvalidKey or
// ErrUnsupported, and a key it accepts must sign verifiably with its public
// JWK and export back to the same public key.
func FuzzImportJWK(f *testing.F) {
	seed := func(j *keystore.PrivateJWK) {
		f.Add(j.Kty, j.Crv, j.N, j.E, j.X, j.Y, j.D, j.P, j.Q, j.DP, j.DQ, j.QI)
	}
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	rj, _ := keystore.PrivateJWKFromKey(r)
	seed(rj)
	bare := &keystore.PrivateJWK{PublicJWK: rj.PublicJWK, D: rj.D}
	seed(bare)
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, _ := ecdsa.GenerateKey(c, rand.Reader)
		j, _ := keystore.PrivateJWKFromKey(k)
		seed(j)
	}
	k, _ := secp256k1.GeneratePrivateKey()
	kj, _ := keystore.PrivateJWKFromKey(k)
	seed(kj)
	seed(&keystore.PrivateJWK{PublicJWK: keystore.PublicJWK{Kty: "RSA", N: []byte{0xff}, E: []byte{3}}, D: []byte{1}})
	seed(&keystore.PrivateJWK{PublicJWK: keystore.PublicJWK{Kty: "EC", Crv: "P-256K"}, D: []byte{1}})

	ks := soft.New(nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, kty, crv string, n, e, x, y, d, p, q, dp, dq, qi []byte) {
		jwk := keystore.PrivateJWK{
			PublicJWK: keystore.PublicJWK{Kty: kty, Crv: crv, N: n, E: e, X: x, Y: y},
			D:         d, P: p, Q: q, DP: dp, DQ: dq, QI: qi,
		}
		key, err := ks.Import(ctx, jwk)
		if err != nil {
			if !errors.Is(err, keystore.ErrInvalidKey) && !errors.Is(err, keystore.ErrUnsupported) {
				t.Fatalf("Import error %v is neither ErrInvalidKey nor ErrUnsupported", err)
			}
			return
		}
		alg := map[string]string{"P-256": "ES256", "P-256K": "ES256K", "P-384": "ES384", "P-521": "ES512"}[key.Public.Crv]
		if key.Public.Kty == keystore.KtyRSA {
			alg = keystore.AlgPS256
		}
		size, _ := keystore.DigestSize(alg)
		digest := make([]byte, size)
		sig, err := ks.Sign(ctx, key, alg, digest)
		if err != nil {
			t.Fatalf("imported key cannot sign: %v", err)
		}
		if ok, err := keystore.Verify(key.Public, alg, digest, sig); !ok || err != nil {
			t.Fatalf("imported key's signature does not verify: %v, %v", ok, err)
		}
		// The public JWK is the one given (up to leading zeros).
		given, err := keystore.PublicKey(jwk.PublicJWK)
		if err != nil {
			t.Fatalf("accepted key has an invalid public part: %v", err)
		}
		if ok, err := keystore.Verify(mustJWK(t, given), alg, digest, sig); !ok || err != nil {
			t.Fatalf("signature does not verify with the given public key: %v, %v", ok, err)
		}
	})
}

func mustJWK(t *testing.T, pub any) keystore.PublicJWK {
	j, err := keystore.PublicJWKFromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
