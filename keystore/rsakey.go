package keystore

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
)

func rsaPrivateKey(jwk PrivateJWK) (*rsa.PrivateKey, error) {
	pub, err := rsaPublicKey(jwk.N, jwk.E)
	if err != nil {
		return nil, err
	}
	n := pub.N
	d := new(big.Int).SetBytes(jwk.D)
	if d.Sign() == 0 || d.Cmp(n) >= 0 {
		return nil, fmt.Errorf("%w: RSA d missing or out of range", ErrInvalidKey)
	}
	var p, q *big.Int
	switch {
	case len(jwk.P) == 0 && len(jwk.Q) == 0:
		if p, q, err = recoverPrimes(n, pub.E, d); err != nil {
			return nil, err
		}
	case len(jwk.P) == 0 || len(jwk.Q) == 0:
		return nil, fmt.Errorf("%w: RSA p and q must be given together", ErrInvalidKey)
	default:
		p, q = new(big.Int).SetBytes(jwk.P), new(big.Int).SetBytes(jwk.Q)
		one := big.NewInt(1)
		if p.Cmp(one) <= 0 || q.Cmp(one) <= 0 || new(big.Int).Mul(p, q).Cmp(n) != 0 {
			return nil, fmt.Errorf("%w: RSA p * q != n", ErrInvalidKey)
		}
	}
	k := &rsa.PrivateKey{PublicKey: *pub, D: d, Primes: []*big.Int{p, q}}
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	k.Precompute()
	for _, c := range []struct {
		name string
		got  []byte
		want *big.Int
	}{{"dp", jwk.DP, k.Precomputed.Dp}, {"dq", jwk.DQ, k.Precomputed.Dq}, {"qi", jwk.QI, k.Precomputed.Qinv}} {
		if len(c.got) > 0 && !bytes.Equal(bytes.TrimLeft(c.got, "\x00"), c.want.Bytes()) {
			return nil, fmt.Errorf("%w: RSA %s does not match p, q and d", ErrInvalidKey, c.name)
		}
	}
	if err := pairwiseTest(k); err != nil {
		return nil, err
	}
	return k, nil
}

// pairwiseTest signs a fixed payload with the private key and verifies it
// with the public key, catching composite "primes" that pass the algebraic
// checks of rsa.PrivateKey.Validate.
func pairwiseTest(k *rsa.PrivateKey) error {
	msg := []byte("arca keystore pairwise consistency test")
	sig, err := rsa.SignPKCS1v15(nil, k, crypto.Hash(0), msg)
	if err == nil {
		err = rsa.VerifyPKCS1v15(&k.PublicKey, crypto.Hash(0), msg, sig)
	}
	if err != nil {
		return fmt.Errorf("%w: RSA pairwise consistency test failed: %v", ErrInvalidKey, err)
	}
	return nil
}

// maxRecoveryTries bounds the attempts of recoverPrimes. Each attempt
// succeeds with probability at least 1/2 for a valid key.
const maxRecoveryTries = 64

// recoverPrimes factors n given e and d (NIST SP 800-56B Rev. 2, Appendix
// C.2): with k = de - 1 = 2^s * t, t odd, for a random g some g^(2^i * t) is
// a non-trivial square root of 1 mod n, and gcd(that - 1, n) is a factor.
func recoverPrimes(n *big.Int, e int, d *big.Int) (p, q *big.Int, err error) {
	one := big.NewInt(1)
	k := new(big.Int).Mul(d, big.NewInt(int64(e)))
	k.Sub(k, one)
	if k.Bit(0) != 0 {
		return nil, nil, fmt.Errorf("%w: RSA d is inconsistent with e", ErrInvalidKey)
	}
	s := k.TrailingZeroBits()
	t := new(big.Int).Rsh(k, s)
	nMinus1 := new(big.Int).Sub(n, one)
	g, x, y := new(big.Int), new(big.Int), new(big.Int)
	buf := make([]byte, (n.BitLen()+7)/8)
	for range maxRecoveryTries {
		if _, err := io.ReadFull(rand.Reader, buf); err != nil {
			return nil, nil, err
		}
		g.SetBytes(buf).Mod(g, n)
		if g.Cmp(one) <= 0 {
			continue
		}
		if f := new(big.Int).GCD(nil, nil, g, n); f.Cmp(one) != 0 {
			continue // a lucky factor: only possible for a bogus n; let Validate judge
		}
		x.Exp(g, t, n)
		if x.Cmp(one) == 0 || x.Cmp(nMinus1) == 0 {
			continue
		}
		for range s {
			y.Mul(x, x).Mod(y, n)
			if y.Cmp(one) == 0 {
				p = new(big.Int).GCD(nil, nil, x.Sub(x, one), n)
				q = new(big.Int).Div(n, p)
				if p.Cmp(one) <= 0 || q.Cmp(one) <= 0 {
					return nil, nil, fmt.Errorf("%w: cannot factor RSA n", ErrInvalidKey)
				}
				if p.Cmp(q) < 0 {
					p, q = q, p // p > q, as OpenSSL orders them
				}
				return p, q, nil
			}
			if y.Cmp(nMinus1) == 0 {
				break
			}
			x.Set(y)
		}
		if y.Cmp(one) != 0 && y.Cmp(nMinus1) != 0 {
			// g^(de-1) != 1: d is not an inverse of e.
			return nil, nil, fmt.Errorf("%w: RSA d is inconsistent with e and n", ErrInvalidKey)
		}
	}
	return nil, nil, fmt.Errorf("%w: cannot factor RSA n from e and d", ErrInvalidKey)
}
