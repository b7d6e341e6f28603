package keystore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

func TestVerifyES256K(t *testing.T) {
	k, err := secp256k1.GeneratePrivateKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keystore.PublicJWKFromKey(k.PubKey())
	digest := sha256.Sum256([]byte("hello"))
	sig := secpecdsa.Sign(k, digest[:])
	r, s := sig.R(), sig.S()
	raw := make([]byte, 64)
	r.PutBytesUnchecked(raw[:32])
	s.PutBytesUnchecked(raw[32:])
	if ok, err := keystore.Verify(pub, keystore.AlgES256K, digest[:], raw); !ok || err != nil {
		t.Errorf("Verify(decred signature) = %v, %v", ok, err)
	}
	// The high-S twin (n - s) is mathematically valid too.
	var negS secp256k1.ModNScalar
	negS.NegateVal(&s)
	negBytes := negS.Bytes()
	high := append(raw[:32:32], negBytes[:]...)
	if ok, err := keystore.Verify(pub, keystore.AlgES256K, digest[:], high); !ok || err != nil {
		t.Errorf("Verify(high-S) = %v, %v", ok, err)
	}
	// r = 0, and s >= n.
	zeroR := append(make([]byte, 32), raw[32:]...)
	bigS := append(raw[:32:32], secp256k1.Params().N.Bytes()...)
	for _, bad := range [][]byte{zeroR, bigS} {
		if ok, err := keystore.Verify(pub, keystore.AlgES256K, digest[:], bad); ok || err != nil {
			t.Errorf("Verify(%x) = %v, %v; want false, nil", bad, ok, err)
		}
	}
	// ES256 with a P-256K key is a mismatch.
	if _, err := keystore.Verify(pub, keystore.AlgES256, digest[:], raw); !errors.Is(err, keystore.ErrUnsupported) {
		t.Errorf("Verify(ES256, P-256K key) = %v", err)
	}
}

func TestVerifyStdlibSignatures(t *testing.T) {
	r := testRSAKey(t)
	pub, _ := keystore.PublicJWKFromKey(&r.PublicKey)
	digest := sha256.Sum256([]byte("hello"))
	sig, _ := rsa.SignPKCS1v15(rand.Reader, r, crypto.SHA256, digest[:])
	if ok, err := keystore.Verify(pub, keystore.AlgRS256, digest[:], sig); !ok || err != nil {
		t.Errorf("Verify(RS256) = %v, %v", ok, err)
	}
	// PS256 needs salt = hash length; a maximum-length salt is refused,
	// as by Key Vault.
	sig, _ = rsa.SignPSS(rand.Reader, r, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	if ok, err := keystore.Verify(pub, keystore.AlgPS256, digest[:], sig); !ok || err != nil {
		t.Errorf("Verify(PS256) = %v, %v", ok, err)
	}
	sig, _ = rsa.SignPSS(rand.Reader, r, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	if ok, err := keystore.Verify(pub, keystore.AlgPS256, digest[:], sig); ok || err != nil {
		t.Errorf("Verify(PS256, max salt) = %v, %v; want false", ok, err)
	}
	// The RS256 signature does not pass as RSNULL of the same bytes.
	sig, _ = rsa.SignPKCS1v15(rand.Reader, r, crypto.SHA256, digest[:])
	if ok, err := keystore.Verify(pub, keystore.AlgRSNULL, digest[:], sig); ok || err != nil {
		t.Errorf("Verify(RSNULL, RS256 signature) = %v, %v; want false", ok, err)
	}
	e, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	epub, _ := keystore.PublicJWKFromKey(&e.PublicKey)
	d384 := make([]byte, 48)
	er, es, _ := ecdsa.Sign(rand.Reader, e, d384)
	raw := make([]byte, 96)
	er.FillBytes(raw[:48])
	es.FillBytes(raw[48:])
	if ok, err := keystore.Verify(epub, keystore.AlgES384, d384, raw); !ok || err != nil {
		t.Errorf("Verify(ES384) = %v, %v", ok, err)
	}
}

func TestEncryptErrors(t *testing.T) {
	r := testRSAKey(t)
	pub, _ := keystore.PublicJWKFromKey(&r.PublicKey)
	hsm := pub
	hsm.Kty = "RSA-HSM"
	ct, err := keystore.Encrypt(hsm, keystore.AlgRSAOAEP256, []byte("secret"))
	if err != nil {
		t.Fatalf("Encrypt(RSA-HSM key): %v", err)
	}
	got, err := rsa.DecryptOAEP(sha256.New(), nil, r, ct, nil)
	if err != nil || string(got) != "secret" {
		t.Errorf("DecryptOAEP = %q, %v", got, err)
	}
	bad := pub
	bad.N = nil
	if _, err := keystore.Encrypt(bad, keystore.AlgRSA15, []byte("x")); !errors.Is(err, keystore.ErrInvalidKey) {
		t.Errorf("Encrypt(no n) = %v", err)
	}
	if n := keystore.MaxPlaintext(256, "nope"); n != -1 {
		t.Errorf("MaxPlaintext(unknown) = %d", n)
	}
}

// FuzzVerify feeds random keys, algorithms, digests and signatures to
// Verify: it must never panic, and must never accept a signature for a
// digest of the wrong length.
func FuzzVerify(f *testing.F) {
	r := testRSAKey(f)
	rsaPub, _ := keystore.PublicJWKFromKey(&r.PublicKey)
	digest := sha256.Sum256([]byte("seed"))
	rsaSig, _ := rsa.SignPKCS1v15(rand.Reader, r, crypto.SHA256, digest[:])
	f.Add("RSA", "", rsaPub.N, rsaPub.E, []byte(nil), []byte(nil), "RS256", digest[:], rsaSig)
	f.Add("RSA", "", rsaPub.N, rsaPub.E, []byte(nil), []byte(nil), "PS256", digest[:], rsaSig)
	f.Add("RSA", "", rsaPub.N, rsaPub.E, []byte(nil), []byte(nil), "RSNULL", digest[:], rsaSig)
	for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		k, _ := ecdsa.GenerateKey(c, rand.Reader)
		pub, _ := keystore.PublicJWKFromKey(&k.PublicKey)
		alg := map[string]string{"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[pub.Crv]
		d := make([]byte, map[string]int{"P-256": 32, "P-384": 48, "P-521": 64}[pub.Crv])
		er, es, _ := ecdsa.Sign(rand.Reader, k, d)
		sig := make([]byte, 2*len(pub.X))
		er.FillBytes(sig[:len(pub.X)])
		es.FillBytes(sig[len(pub.X):])
		f.Add("EC", pub.Crv, []byte(nil), []byte(nil), pub.X, pub.Y, alg, d, sig)
	}
	k, _ := secp256k1.GeneratePrivateKey()
	kpub, _ := keystore.PublicJWKFromKey(k.PubKey())
	f.Add("EC", "P-256K", []byte(nil), []byte(nil), kpub.X, kpub.Y, "ES256K", digest[:], make([]byte, 64))
	f.Add("EC", "P-256K", []byte(nil), []byte(nil), kpub.X, kpub.Y, "ES256K", []byte{1}, []byte{2})

	f.Fuzz(func(t *testing.T, kty, crv string, n, e, x, y []byte, alg string, digest, sig []byte) {
		pub := keystore.PublicJWK{Kty: kty, Crv: crv, N: n, E: e, X: x, Y: y}
		ok, err := keystore.Verify(pub, alg, digest, sig)
		if ok && err != nil {
			t.Fatalf("Verify = true, %v", err)
		}
		if size, derr := keystore.DigestSize(alg); ok && (derr != nil || (size != 0 && size != len(digest))) {
			t.Fatalf("Verify accepted a %d-byte digest for %s", len(digest), alg)
		}
		if ok {
			// Accepting means the signature verifies under the reference
			// parse of the key, so the key must parse.
			if _, err := keystore.PublicKey(pub); err != nil {
				t.Fatalf("Verify accepted with an unparsable key: %v", err)
			}
		}
	})
}
