package keystoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// The reference side of the suite: it parses keys and verifies signatures
// with the standard library and the decred secp256k1 library directly,
// without the keystore package's helpers.

// algCase is a signature algorithm as the reference side understands it.
type algCase struct {
	alg   string
	hash  crypto.Hash // 0 for RSNULL
	pss   bool
	curve string // EC only
}

var rsaAlgs = []algCase{
	{alg: keystore.AlgRS256, hash: crypto.SHA256},
	{alg: keystore.AlgRS384, hash: crypto.SHA384},
	{alg: keystore.AlgRS512, hash: crypto.SHA512},
	{alg: keystore.AlgPS256, hash: crypto.SHA256, pss: true},
	{alg: keystore.AlgPS384, hash: crypto.SHA384, pss: true},
	{alg: keystore.AlgPS512, hash: crypto.SHA512, pss: true},
	{alg: keystore.AlgRSNULL},
}

var ecAlgs = []algCase{
	{alg: keystore.AlgES256, hash: crypto.SHA256, curve: keystore.CurveP256},
	{alg: keystore.AlgES256K, hash: crypto.SHA256, curve: keystore.CurveP256K},
	{alg: keystore.AlgES384, hash: crypto.SHA384, curve: keystore.CurveP384},
	{alg: keystore.AlgES512, hash: crypto.SHA512, curve: keystore.CurveP521},
}

// algsFor returns the algorithms that sign with a key of spec ks.
func algsFor(ks keySpec) []algCase {
	if ks.spec.Kty == keystore.KtyRSA {
		return rsaAlgs
	}
	for _, a := range ecAlgs {
		if a.curve == ks.spec.Curve {
			return []algCase{a}
		}
	}
	return nil
}

// lookupAlg returns the reference description of alg.
func lookupAlg(alg string) (algCase, bool) {
	for _, a := range append(append([]algCase{}, rsaAlgs...), ecAlgs...) {
		if a.alg == alg {
			return a, true
		}
	}
	return algCase{}, false
}

func stdCurve(crv string) elliptic.Curve {
	switch crv {
	case keystore.CurveP256:
		return elliptic.P256()
	case keystore.CurveP384:
		return elliptic.P384()
	case keystore.CurveP521:
		return elliptic.P521()
	}
	return nil
}

// stdPublicKey parses a public JWK strictly: EC coordinates must already be
// the full curve length.
func stdPublicKey(pub keystore.PublicJWK) (crypto.PublicKey, error) {
	switch pub.Kty {
	case keystore.KtyRSA:
		e := new(big.Int).SetBytes(pub.E)
		if !e.IsInt64() || e.Int64() > 1<<31-1 {
			return nil, errors.New("bad e")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(pub.N), E: int(e.Int64())}, nil
	case keystore.KtyEC:
		point := append(append([]byte{4}, pub.X...), pub.Y...)
		if pub.Crv == keystore.CurveP256K {
			if len(pub.X) != 32 || len(pub.Y) != 32 {
				return nil, errors.New("secp256k1 coordinates are not 32 bytes")
			}
			return secp256k1.ParsePubKey(point)
		}
		c := stdCurve(pub.Crv)
		if c == nil {
			return nil, fmt.Errorf("unknown curve %q", pub.Crv)
		}
		return ecdsa.ParseUncompressedPublicKey(c, point)
	}
	return nil, fmt.Errorf("unknown kty %q", pub.Kty)
}

// ecdsaDER converts a raw r||s signature to the ASN.1 DER form that the
// standard library and OpenSSL verify.
func ecdsaDER(sig []byte) []byte {
	half := len(sig) / 2
	der, err := asn1.Marshal(struct{ R, S *big.Int }{
		new(big.Int).SetBytes(sig[:half]), new(big.Int).SetBytes(sig[half:]),
	})
	if err != nil {
		panic(err)
	}
	return der
}

// stdVerify verifies a signature with the reference libraries.
func stdVerify(pub keystore.PublicJWK, alg string, digest, sig []byte) (bool, error) {
	a, ok := lookupAlg(alg)
	if !ok {
		return false, fmt.Errorf("unknown algorithm %q", alg)
	}
	key, err := stdPublicKey(pub)
	if err != nil {
		return false, err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if a.pss {
			return rsa.VerifyPSS(k, a.hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil, nil
		}
		return rsa.VerifyPKCS1v15(k, a.hash, digest, sig) == nil, nil
	case *ecdsa.PublicKey:
		if len(sig) != 2*len(pub.X) {
			return false, nil
		}
		return ecdsa.VerifyASN1(k, digest, ecdsaDER(sig)), nil
	case *secp256k1.PublicKey:
		if len(sig) != 64 {
			return false, nil
		}
		parsed, err := secpecdsa.ParseDERSignature(ecdsaDER(sig))
		if err != nil {
			return false, nil
		}
		return parsed.Verify(digest, k), nil
	}
	return false, fmt.Errorf("unexpected key %T", key)
}

// Hand-built private JWKs of reference keys, independent of
// keystore.PrivateJWKFromKey.

func rsaJWK(k *rsa.PrivateKey) keystore.PrivateJWK {
	k.Precompute()
	return keystore.PrivateJWK{
		PublicJWK: keystore.PublicJWK{Kty: keystore.KtyRSA, N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes()},
		D:         k.D.Bytes(),
		P:         k.Primes[0].Bytes(),
		Q:         k.Primes[1].Bytes(),
		DP:        k.Precomputed.Dp.Bytes(),
		DQ:        k.Precomputed.Dq.Bytes(),
		QI:        k.Precomputed.Qinv.Bytes(),
	}
}

func ecdsaJWK(crv string, k *ecdsa.PrivateKey) keystore.PrivateJWK {
	point, err := k.PublicKey.Bytes()
	if err != nil {
		panic(err)
	}
	d, err := k.Bytes()
	if err != nil {
		panic(err)
	}
	size := len(d)
	return keystore.PrivateJWK{
		PublicJWK: keystore.PublicJWK{Kty: keystore.KtyEC, Crv: crv, X: point[1 : 1+size], Y: point[1+size:]},
		D:         d,
	}
}

func secp256k1JWK(k *secp256k1.PrivateKey) keystore.PrivateJWK {
	point := k.PubKey().SerializeUncompressed()
	return keystore.PrivateJWK{
		PublicJWK: keystore.PublicJWK{Kty: keystore.KtyEC, Crv: keystore.CurveP256K, X: point[1:33], Y: point[33:]},
		D:         k.Serialize(),
	}
}
