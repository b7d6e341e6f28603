package keystore

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"fmt"
	"math/big"
	"strings"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Conversions between stdlib (and secp256k1) keys and JWKs.
//
// Keys for the curves of the Go standard library are *ecdsa.PublicKey and
// *ecdsa.PrivateKey. P-256K (secp256k1), which the standard library lacks,
// uses *secp256k1.PublicKey and *secp256k1.PrivateKey from
// github.com/decred/dcrd/dcrec/secp256k1/v4. RSA keys are *rsa.PublicKey and
// *rsa.PrivateKey with exactly two primes.

// CurveSize returns the byte length of a coordinate, and of a private
// scalar, of the curve crv: 32 for P-256 and P-256K, 48 for P-384 and 66 for
// P-521. An unknown curve yields ErrUnsupported.
func CurveSize(crv string) (int, error) {
	switch crv {
	case CurveP256, CurveP256K:
		return 32, nil
	case CurveP384:
		return 48, nil
	case CurveP521:
		return 66, nil
	}
	return 0, fmt.Errorf("%w: curve %q", ErrUnsupported, crv)
}

// stdCurve returns the standard library curve named crv, or nil (for
// P-256K and unknown curves).
func stdCurve(crv string) elliptic.Curve {
	switch crv {
	case CurveP256:
		return elliptic.P256()
	case CurveP384:
		return elliptic.P384()
	case CurveP521:
		return elliptic.P521()
	}
	return nil
}

// curveName returns the JWK name of a standard library (or secp256k1) curve.
func curveName(c elliptic.Curve) (string, error) {
	switch c {
	case elliptic.P256():
		return CurveP256, nil
	case elliptic.P384():
		return CurveP384, nil
	case elliptic.P521():
		return CurveP521, nil
	}
	// Azure Key Vault's P-256K keys; the standard library has no secp256k1,
	// so an *ecdsa key on it can only be recognised by its elliptic.Curve.
	//lint:ignore SA1019 P-256K (secp256k1) has no stdlib curve; S256 is the only elliptic.Curve for it
	if c == elliptic.Curve(secp256k1.S256()) {
		return CurveP256K, nil
	}
	return "", fmt.Errorf("%w: curve %s", ErrUnsupported, c.Params().Name)
}

// baseKty maps the Azure HSM key types (RSA-HSM, EC-HSM) to their base type.
func baseKty(kty string) string {
	return strings.TrimSuffix(kty, "-HSM")
}

// fixedLength returns b, without leading zero bytes, left-padded to size
// bytes. ok is false when b is empty or longer than size significant bytes.
func fixedLength(b []byte, size int) (out []byte, ok bool) {
	if len(b) == 0 {
		return nil, false
	}
	b = bytes.TrimLeft(b, "\x00")
	if len(b) > size {
		return nil, false
	}
	out = make([]byte, size)
	copy(out[size-len(b):], b)
	return out, true
}

// PublicKey parses a public JWK into a *rsa.PublicKey, an *ecdsa.PublicKey
// (P-256, P-384, P-521) or a *secp256k1.PublicKey (P-256K). The Azure HSM key
// types (RSA-HSM, EC-HSM) are accepted as their base type. EC coordinates may
// be shorter than the curve size (they are left-padded) but must name a point
// on the curve. An unknown key type or curve yields ErrUnsupported, a
// malformed key ErrInvalidKey.
func PublicKey(pub PublicJWK) (crypto.PublicKey, error) {
	switch baseKty(pub.Kty) {
	case KtyRSA:
		return rsaPublicKey(pub.N, pub.E)
	case KtyEC:
		return ecPublicKey(pub.Crv, pub.X, pub.Y)
	}
	return nil, fmt.Errorf("%w: key type %q", ErrUnsupported, pub.Kty)
}

const (
	minRSABits = 1024 // the Go standard library refuses smaller keys
	maxRSABits = 16384
)

func rsaPublicKey(nb, eb []byte) (*rsa.PublicKey, error) {
	e, err := parseExponent(eb)
	if err != nil {
		return nil, err
	}
	n := new(big.Int).SetBytes(nb)
	if n.BitLen() < minRSABits || n.BitLen() > maxRSABits {
		return nil, fmt.Errorf("%w: RSA modulus of %d bits", ErrInvalidKey, n.BitLen())
	}
	if n.Bit(0) == 0 {
		return nil, fmt.Errorf("%w: even RSA modulus", ErrInvalidKey)
	}
	return &rsa.PublicKey{N: n, E: e}, nil
}

// parseExponent parses an RSA public exponent: odd, at least 3 and at most
// 2^31-1 (the Go standard library's limit).
func parseExponent(eb []byte) (int, error) {
	eb = bytes.TrimLeft(eb, "\x00")
	if len(eb) == 0 || len(eb) > 4 {
		return 0, fmt.Errorf("%w: RSA public exponent missing or too large", ErrInvalidKey)
	}
	var e int64
	for _, b := range eb {
		e = e<<8 | int64(b)
	}
	if CheckPublicExponent(int(e)) != nil {
		return 0, fmt.Errorf("%w: RSA public exponent %d", ErrInvalidKey, e)
	}
	return int(e), nil
}

// CheckPublicExponent returns ErrUnsupported unless e is an odd RSA public
// exponent between 3 and 2^31-1 (3 and 65537 being the usual ones).
func CheckPublicExponent(e int) error {
	if e < 3 || e > 1<<31-1 || e%2 == 0 {
		return fmt.Errorf("%w: RSA public exponent %d", ErrUnsupported, e)
	}
	return nil
}

func ecPublicKey(crv string, x, y []byte) (crypto.PublicKey, error) {
	if crv == "" {
		return nil, fmt.Errorf("%w: EC key without crv", ErrInvalidKey)
	}
	size, err := CurveSize(crv)
	if err != nil {
		return nil, err
	}
	point, err := uncompressedPoint(x, y, size)
	if err != nil {
		return nil, err
	}
	if crv == CurveP256K {
		k, err := secp256k1.ParsePubKey(point)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		return k, nil
	}
	k, err := ecdsa.ParseUncompressedPublicKey(stdCurve(crv), point)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return k, nil
}

// uncompressedPoint returns 0x04 || x || y with both coordinates padded to
// size bytes.
func uncompressedPoint(x, y []byte, size int) ([]byte, error) {
	xf, okx := fixedLength(x, size)
	yf, oky := fixedLength(y, size)
	if !okx || !oky {
		return nil, fmt.Errorf("%w: EC coordinates missing or longer than %d bytes", ErrInvalidKey, size)
	}
	point := make([]byte, 0, 1+2*size)
	point = append(point, 4)
	point = append(point, xf...)
	return append(point, yf...), nil
}

// PublicJWKFromKey returns the JWK of a *rsa.PublicKey, an *ecdsa.PublicKey
// (P-256, P-384, P-521, or secp256k1 as returned by
// secp256k1.PublicKey.ToECDSA) or a *secp256k1.PublicKey. EC coordinates are
// the full length of the curve; RSA n and e are minimal big-endian.
func PublicJWKFromKey(pub crypto.PublicKey) (PublicJWK, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N == nil || k.E <= 0 {
			return PublicJWK{}, fmt.Errorf("%w: incomplete RSA public key", ErrInvalidKey)
		}
		return PublicJWK{Kty: KtyRSA, N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes()}, nil
	case *ecdsa.PublicKey:
		crv, err := curveName(k.Curve)
		if err != nil {
			return PublicJWK{}, err
		}
		if crv == CurveP256K {
			// Azure Key Vault's P-256K: PublicKey.Bytes supports only the
			// stdlib (NIST) curves, so secp256k1 goes through the coordinates.
			//lint:ignore SA1019 P-256K (secp256k1) has no stdlib support; X and Y are its only encoding here
			return secp256k1JWK(k.X, k.Y)
		}
		point, err := k.Bytes()
		if err != nil {
			return PublicJWK{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		return pointJWK(crv, point), nil
	case *secp256k1.PublicKey:
		return pointJWK(CurveP256K, k.SerializeUncompressed()), nil
	}
	return PublicJWK{}, fmt.Errorf("%w: public key of type %T", ErrUnsupported, pub)
}

func secp256k1JWK(x, y *big.Int) (PublicJWK, error) {
	if x == nil || y == nil || x.BitLen() > 256 || y.BitLen() > 256 {
		return PublicJWK{}, fmt.Errorf("%w: bad secp256k1 point", ErrInvalidKey)
	}
	point := make([]byte, 65)
	point[0] = 4
	x.FillBytes(point[1:33])
	y.FillBytes(point[33:])
	if _, err := secp256k1.ParsePubKey(point); err != nil {
		return PublicJWK{}, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pointJWK(CurveP256K, point), nil
}

// pointJWK splits an uncompressed point 0x04 || x || y into a JWK.
func pointJWK(crv string, point []byte) PublicJWK {
	size := (len(point) - 1) / 2
	return PublicJWK{
		Kty: KtyEC,
		Crv: crv,
		X:   bytes.Clone(point[1 : 1+size]),
		Y:   bytes.Clone(point[1+size:]),
	}
}

// PrivateJWKFromKey returns the JWK of a *rsa.PrivateKey (two primes; all
// CRT parameters are filled in), an *ecdsa.PrivateKey (P-256, P-384, P-521)
// or a *secp256k1.PrivateKey. EC d is the full length of the curve.
func PrivateJWKFromKey(priv crypto.PrivateKey) (*PrivateJWK, error) {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if len(k.Primes) != 2 || k.D == nil {
			return nil, fmt.Errorf("%w: RSA private key must have two primes", ErrUnsupported)
		}
		k.Precompute()
		if k.Precomputed.Dp == nil {
			if err := k.Validate(); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
			}
		}
		pub, err := PublicJWKFromKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		return &PrivateJWK{
			PublicJWK: pub,
			D:         k.D.Bytes(),
			P:         k.Primes[0].Bytes(),
			Q:         k.Primes[1].Bytes(),
			DP:        k.Precomputed.Dp.Bytes(),
			DQ:        k.Precomputed.Dq.Bytes(),
			QI:        k.Precomputed.Qinv.Bytes(),
		}, nil
	case *ecdsa.PrivateKey:
		crv, err := curveName(k.Curve)
		if err != nil {
			return nil, err
		}
		if crv == CurveP256K {
			// Azure Key Vault's P-256K: PrivateKey.Bytes supports only the
			// stdlib (NIST) curves, so secp256k1 goes through the scalar.
			//lint:ignore SA1019 P-256K (secp256k1) has no stdlib support; D is its only encoding here
			if k.D == nil || k.D.BitLen() > 256 {
				return nil, fmt.Errorf("%w: bad secp256k1 scalar", ErrInvalidKey)
			}
			//lint:ignore SA1019 P-256K (secp256k1) has no stdlib support; D is its only encoding here
			return secp256k1PrivateJWK(secp256k1.PrivKeyFromBytes(k.D.FillBytes(make([]byte, 32))))
		}
		d, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		pub, err := PublicJWKFromKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		return &PrivateJWK{PublicJWK: pub, D: d}, nil
	case *secp256k1.PrivateKey:
		return secp256k1PrivateJWK(k)
	}
	return nil, fmt.Errorf("%w: private key of type %T", ErrUnsupported, priv)
}

func secp256k1PrivateJWK(k *secp256k1.PrivateKey) (*PrivateJWK, error) {
	if k.Key.IsZero() {
		return nil, fmt.Errorf("%w: zero secp256k1 scalar", ErrInvalidKey)
	}
	return &PrivateJWK{
		PublicJWK: pointJWK(CurveP256K, k.PubKey().SerializeUncompressed()),
		D:         k.Serialize(),
	}, nil
}

// PrivateKey validates a private JWK and returns it as a *rsa.PrivateKey, an
// *ecdsa.PrivateKey (P-256, P-384, P-521) or a *secp256k1.PrivateKey
// (P-256K).
//
// RSA keys need n, e and d. p and q are optional, but must come together and
// multiply to n; without them they are recovered from n, e and d. dp, dq and
// qi, when present, must match. The key must pass a sign/verify pairwise
// consistency test. EC keys need crv, x, y and d; d must be in [1, order-1]
// and its public point must be (x, y). Values may carry leading zero bytes.
//
// A missing or inconsistent parameter yields ErrInvalidKey; an unknown key
// type or curve, ErrUnsupported. PrivateKey does not apply Key Vault's RSA
// size policy (see SupportedRSASize).
func PrivateKey(jwk PrivateJWK) (crypto.PrivateKey, error) {
	switch jwk.Kty {
	case KtyRSA:
		return rsaPrivateKey(jwk)
	case KtyEC:
		return ecPrivateKey(jwk)
	}
	return nil, fmt.Errorf("%w: key type %q", ErrUnsupported, jwk.Kty)
}

func ecPrivateKey(jwk PrivateJWK) (crypto.PrivateKey, error) {
	if jwk.Crv == "" {
		return nil, fmt.Errorf("%w: EC key without crv", ErrInvalidKey)
	}
	size, err := CurveSize(jwk.Crv)
	if err != nil {
		return nil, err
	}
	point, err := uncompressedPoint(jwk.X, jwk.Y, size)
	if err != nil {
		return nil, err
	}
	d, ok := fixedLength(jwk.D, size)
	if !ok {
		return nil, fmt.Errorf("%w: EC d missing or longer than %d bytes", ErrInvalidKey, size)
	}
	if jwk.Crv == CurveP256K {
		var s secp256k1.ModNScalar
		if overflow := s.SetByteSlice(d); overflow || s.IsZero() {
			return nil, fmt.Errorf("%w: secp256k1 d out of range", ErrInvalidKey)
		}
		k := secp256k1.NewPrivateKey(&s)
		if !bytes.Equal(k.PubKey().SerializeUncompressed(), point) {
			return nil, fmt.Errorf("%w: EC d does not match x and y", ErrInvalidKey)
		}
		return k, nil
	}
	k, err := ecdsa.ParseRawPrivateKey(stdCurve(jwk.Crv), d)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	got, err := k.PublicKey.Bytes()
	if err != nil || !bytes.Equal(got, point) {
		return nil, fmt.Errorf("%w: EC d does not match x and y", ErrInvalidKey)
	}
	return k, nil
}
