package keystore_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"math/big"
	"reflect"
	"sync"
	"testing"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

var (
	rsaOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testRSAKey returns a shared 2048-bit key.
func testRSAKey(t testing.TB) *rsa.PrivateKey {
	rsaOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

func TestPublicJWKFromKey(t *testing.T) {
	r := testRSAKey(t)
	jwk, err := keystore.PublicJWKFromKey(&r.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if jwk.Kty != "RSA" || !bytes.Equal(jwk.N, r.N.Bytes()) || !bytes.Equal(jwk.E, []byte{1, 0, 1}) {
		t.Errorf("RSA JWK = %+v", jwk)
	}
	for _, c := range []struct {
		curve elliptic.Curve
		crv   string
		size  int
	}{{elliptic.P256(), "P-256", 32}, {elliptic.P384(), "P-384", 48}, {elliptic.P521(), "P-521", 66}} {
		k, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		jwk, err := keystore.PublicJWKFromKey(&k.PublicKey)
		if err != nil || jwk.Crv != c.crv || len(jwk.X) != c.size || len(jwk.Y) != c.size {
			t.Errorf("%s JWK = %+v, %v", c.crv, jwk, err)
		}
		back, err := keystore.PublicKey(jwk)
		if err != nil || !k.PublicKey.Equal(back) {
			t.Errorf("%s PublicKey(JWK) = %v, %v", c.crv, back, err)
		}
	}
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	a, err := keystore.PublicJWKFromKey(k.PubKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := keystore.PublicJWKFromKey(k.PubKey().ToECDSA())
	if err != nil || !reflect.DeepEqual(a, b) || a.Crv != "P-256K" || len(a.X) != 32 {
		t.Errorf("secp256k1 JWKs %+v and %+v (%v)", a, b, err)
	}
	back, err := keystore.PublicKey(a)
	if err != nil || !back.(*secp256k1.PublicKey).IsEqual(k.PubKey()) {
		t.Errorf("PublicKey(P-256K JWK) = %v, %v", back, err)
	}
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := keystore.PublicJWKFromKey(priv.Public()); !errors.Is(err, keystore.ErrUnsupported) {
		t.Errorf("PublicJWKFromKey(ed25519) = %v", err)
	}
	if _, err := keystore.PrivateJWKFromKey(priv); !errors.Is(err, keystore.ErrUnsupported) {
		t.Errorf("PrivateJWKFromKey(ed25519) = %v", err)
	}
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if _, err := keystore.PublicJWKFromKey(&p224.PublicKey); !errors.Is(err, keystore.ErrUnsupported) {
		t.Errorf("PublicJWKFromKey(P-224) = %v", err)
	}
}

func TestPublicKeyLenient(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, _ := keystore.PublicJWKFromKey(&k.PublicKey)
	// Leading zero bytes (a 33-byte big-integer encoding) and trimmed
	// coordinates are accepted, and the HSM key type too.
	for _, j := range []keystore.PublicJWK{
		{Kty: "EC", Crv: "P-256", X: append([]byte{0}, jwk.X...), Y: append([]byte{0}, jwk.Y...)},
		{Kty: "EC-HSM", Crv: "P-256", X: jwk.X, Y: jwk.Y},
		{Kty: "EC", Crv: "P-256", X: new(big.Int).SetBytes(jwk.X).Bytes(), Y: new(big.Int).SetBytes(jwk.Y).Bytes()},
	} {
		pub, err := keystore.PublicKey(j)
		if err != nil || !k.PublicKey.Equal(pub) {
			t.Errorf("PublicKey(%+v) = %v, %v", j, pub, err)
		}
	}
	r := testRSAKey(t)
	for _, tc := range []struct {
		name    string
		jwk     keystore.PublicJWK
		wantErr error
	}{
		{"oct", keystore.PublicJWK{Kty: "oct"}, keystore.ErrUnsupported},
		{"no crv", keystore.PublicJWK{Kty: "EC", X: jwk.X, Y: jwk.Y}, keystore.ErrInvalidKey},
		{"P-224", keystore.PublicJWK{Kty: "EC", Crv: "P-224", X: jwk.X, Y: jwk.Y}, keystore.ErrUnsupported},
		{"off curve", keystore.PublicJWK{Kty: "EC", Crv: "P-256", X: jwk.X, Y: jwk.X}, keystore.ErrInvalidKey},
		{"P-256K off curve", keystore.PublicJWK{Kty: "EC", Crv: "P-256K", X: jwk.X, Y: jwk.Y}, keystore.ErrInvalidKey},
		{"RSA no n", keystore.PublicJWK{Kty: "RSA", E: []byte{1, 0, 1}}, keystore.ErrInvalidKey},
		{"RSA even n", keystore.PublicJWK{Kty: "RSA", N: new(big.Int).Add(r.N, big.NewInt(1)).Bytes(), E: []byte{1, 0, 1}}, keystore.ErrInvalidKey},
		{"RSA 512", keystore.PublicJWK{Kty: "RSA", N: r.N.Bytes()[:64], E: []byte{1, 0, 1}}, keystore.ErrInvalidKey},
		{"RSA e=1", keystore.PublicJWK{Kty: "RSA", N: r.N.Bytes(), E: []byte{1}}, keystore.ErrInvalidKey},
		{"RSA e huge", keystore.PublicJWK{Kty: "RSA", N: r.N.Bytes(), E: []byte{1, 0, 0, 0, 1}}, keystore.ErrInvalidKey},
	} {
		if _, err := keystore.PublicKey(tc.jwk); !errors.Is(err, tc.wantErr) {
			t.Errorf("%s: PublicKey = %v, want %v", tc.name, err, tc.wantErr)
		}
	}
}

func TestPrivateKeyRSARecovery(t *testing.T) {
	r := testRSAKey(t)
	full, err := keystore.PrivateJWKFromKey(r)
	if err != nil {
		t.Fatal(err)
	}
	// Leading zeros anywhere are tolerated.
	padded := *full
	padded.D = append([]byte{0, 0}, full.D...)
	padded.DP = append([]byte{0}, full.DP...)
	if _, err := keystore.PrivateKey(padded); err != nil {
		t.Errorf("PrivateKey(padded): %v", err)
	}
	bare := keystore.PrivateJWK{PublicJWK: full.PublicJWK, D: full.D}
	for range 20 {
		got, err := keystore.PrivateKey(bare)
		if err != nil {
			t.Fatalf("PrivateKey(n, e, d): %v", err)
		}
		k := got.(*rsa.PrivateKey)
		p, q := k.Primes[0], k.Primes[1]
		want0, want1 := r.Primes[0], r.Primes[1]
		if want0.Cmp(want1) < 0 {
			want0, want1 = want1, want0
		}
		if p.Cmp(want0) != 0 || q.Cmp(want1) != 0 {
			t.Fatal("recovered primes differ")
		}
	}
	// d computed modulo phi instead of lambda: still valid.
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(r.Primes[0], one), new(big.Int).Sub(r.Primes[1], one))
	dPhi := new(big.Int).ModInverse(big.NewInt(int64(r.E)), phi)
	if _, err := keystore.PrivateKey(keystore.PrivateJWK{PublicJWK: full.PublicJWK, D: dPhi.Bytes()}); err != nil {
		t.Errorf("PrivateKey(d mod phi): %v", err)
	}
	// A composite "prime": p*q = n with the right algebra fails.
	if _, err := keystore.PrivateKey(keystore.PrivateJWK{PublicJWK: full.PublicJWK, D: full.D, P: r.N.Bytes(), Q: []byte{1}}); !errors.Is(err, keystore.ErrInvalidKey) {
		t.Errorf("PrivateKey(p=n, q=1) = %v", err)
	}
}

func TestPrivateJWKFromKey(t *testing.T) {
	r := testRSAKey(t)
	// A real three-prime key, to check that PrivateJWKFromKey refuses it.
	//lint:ignore SA1019 the multi-prime key is the input whose refusal is tested
	three, err := rsa.GenerateMultiPrimeKey(rand.Reader, 3, 2048)
	if err == nil {
		if _, err := keystore.PrivateJWKFromKey(three); !errors.Is(err, keystore.ErrUnsupported) {
			t.Errorf("PrivateJWKFromKey(3 primes) = %v", err)
		}
	}
	jwk, err := keystore.PrivateJWKFromKey(r)
	if err != nil {
		t.Fatal(err)
	}
	back, err := keystore.PrivateKey(*jwk)
	if err != nil || !r.Equal(back) {
		t.Errorf("PrivateKey(PrivateJWKFromKey(rsa)) = %v", err)
	}
	k, _ := secp256k1.GeneratePrivateKey()
	jwk, err = keystore.PrivateJWKFromKey(k)
	if err != nil || len(jwk.D) != 32 {
		t.Fatalf("PrivateJWKFromKey(secp256k1) = %+v, %v", jwk, err)
	}
	back, err = keystore.PrivateKey(*jwk)
	if err != nil || !bytes.Equal(back.(*secp256k1.PrivateKey).Serialize(), k.Serialize()) {
		t.Errorf("secp256k1 round trip: %v", err)
	}
	e, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	jwk, err = keystore.PrivateJWKFromKey(e)
	if err != nil || len(jwk.D) != 66 || len(jwk.X) != 66 {
		t.Fatalf("PrivateJWKFromKey(P-521) = %+v, %v", jwk, err)
	}
	back, err = keystore.PrivateKey(*jwk)
	if err != nil || !e.Equal(back) {
		t.Errorf("P-521 round trip: %v", err)
	}
}
