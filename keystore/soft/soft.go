// Package soft is the software keystore: keys are generated and used in
// process memory, and their Material is the PKCS #8 private key (see
// material.go), which the caller must store only through the encryption
// barrier.
package soft

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"math/big"
	"sync"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Keystore is a software keystore. It keeps no state besides its random
// source, so keys live entirely in their Material. It is safe for concurrent
// use.
type Keystore struct {
	keys keyCache
	rand io.Reader
}

var _ keystore.Keystore = (*Keystore)(nil)

// New returns a software keystore that draws randomness from rand (nil means
// crypto/rand.Reader). rand is used under a lock, so it need not be safe for
// concurrent use.
//
// Since Go 1.26 the standard library ignores caller-supplied randomness for
// RSA and NIST-curve key generation and signing (unless
// GODEBUG=cryptocustomrand=1), so rand then only drives secp256k1 key
// generation (secp256k1 signatures use RFC 6979 deterministic nonces).
// Tests that need determinism should use testing/cryptotest.SetGlobalRandom.
func New(rand io.Reader) *Keystore {
	if rand == nil {
		return &Keystore{rand: cryptoRand{}}
	}
	return &Keystore{rand: &lockedReader{r: rand}}
}

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }

type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// Create generates a key. RSA sizes are 2048, 3072 or 4096 bits (0 means
// 2048) with an odd public exponent of at least 3 (0 means 65537); curves are
// P-256 (the default), P-256K, P-384 and P-521. Anything else yields
// keystore.ErrUnsupported.
func (ks *Keystore) Create(ctx context.Context, spec keystore.Spec) (*keystore.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var priv crypto.PrivateKey
	var err error
	switch spec.Kty {
	case keystore.KtyRSA:
		priv, err = ks.generateRSA(spec.Size, spec.PublicExponent)
	case keystore.KtyEC:
		priv, err = ks.generateEC(spec.Curve)
	default:
		return nil, fmt.Errorf("%w: key type %q", keystore.ErrUnsupported, spec.Kty)
	}
	if err != nil {
		return nil, err
	}
	return newKey(priv)
}

func (ks *Keystore) generateRSA(bits, e int) (*rsa.PrivateKey, error) {
	if bits == 0 {
		bits = 2048
	}
	if e == 0 {
		e = 65537
	}
	if !keystore.SupportedRSASize(bits) {
		return nil, fmt.Errorf("%w: RSA size %d", keystore.ErrUnsupported, bits)
	}
	if err := keystore.CheckPublicExponent(e); err != nil {
		return nil, err
	}
	if e == 65537 {
		k, err := rsa.GenerateKey(ks.rand, bits)
		if err != nil {
			return nil, fmt.Errorf("keystore/soft: generating RSA key: %w", err)
		}
		return k, nil
	}
	return generateRSAExponent(ks.rand, bits, e)
}

// generateRSAExponent generates a two-prime RSA key with public exponent e,
// which rsa.GenerateKey cannot do (it always uses 65537).
func generateRSAExponent(random io.Reader, bits, e int) (*rsa.PrivateKey, error) {
	one := big.NewInt(1)
	bigE := big.NewInt(int64(e))
	prime := func() (*big.Int, error) {
		for {
			p, err := rand.Prime(random, bits/2)
			if err != nil {
				return nil, err
			}
			pm1 := new(big.Int).Sub(p, one)
			if new(big.Int).GCD(nil, nil, bigE, pm1).Cmp(one) == 0 {
				return p, nil
			}
		}
	}
	for {
		p, err := prime()
		if err != nil {
			return nil, fmt.Errorf("keystore/soft: generating RSA key: %w", err)
		}
		q, err := prime()
		if err != nil {
			return nil, fmt.Errorf("keystore/soft: generating RSA key: %w", err)
		}
		n := new(big.Int).Mul(p, q)
		if n.BitLen() != bits || p.Cmp(q) == 0 {
			continue
		}
		pm1, qm1 := new(big.Int).Sub(p, one), new(big.Int).Sub(q, one)
		gcd := new(big.Int).GCD(nil, nil, pm1, qm1)
		lambda := new(big.Int).Div(new(big.Int).Mul(pm1, qm1), gcd)
		d := new(big.Int).ModInverse(bigE, lambda)
		if d == nil {
			continue
		}
		if p.Cmp(q) < 0 {
			p, q = q, p
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: e}, D: d, Primes: []*big.Int{p, q}}
		if err := k.Validate(); err != nil {
			continue // e.g. p and q too close
		}
		k.Precompute()
		return k, nil
	}
}

func (ks *Keystore) generateEC(crv string) (crypto.PrivateKey, error) {
	var curve elliptic.Curve
	switch crv {
	case "", keystore.CurveP256:
		curve = elliptic.P256()
	case keystore.CurveP384:
		curve = elliptic.P384()
	case keystore.CurveP521:
		curve = elliptic.P521()
	case keystore.CurveP256K:
		k, err := secp256k1.GeneratePrivateKeyFromRand(ks.rand)
		if err != nil {
			return nil, fmt.Errorf("keystore/soft: generating secp256k1 key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("%w: curve %q", keystore.ErrUnsupported, crv)
	}
	k, err := ecdsa.GenerateKey(curve, ks.rand)
	if err != nil {
		return nil, fmt.Errorf("keystore/soft: generating EC key: %w", err)
	}
	return k, nil
}

func newKey(priv crypto.PrivateKey) (*keystore.Key, error) {
	jwk, err := keystore.PrivateJWKFromKey(priv)
	if err != nil {
		return nil, err
	}
	material, err := marshalMaterial(priv)
	if err != nil {
		return nil, err
	}
	return &keystore.Key{Material: material, Public: jwk.PublicJWK}, nil
}

// Import validates a private JWK (see keystore.PrivateKey) and takes custody
// of it. RSA keys must be 2048, 3072 or 4096 bits (else
// keystore.ErrUnsupported).
func (ks *Keystore) Import(ctx context.Context, jwk keystore.PrivateJWK) (*keystore.Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if jwk.Kty == keystore.KtyRSA {
		// Apply the size policy before the (costlier) validation; a missing
		// n is left to keystore.PrivateKey (ErrInvalidKey).
		if bits := new(big.Int).SetBytes(jwk.N).BitLen(); bits > 0 && !keystore.SupportedRSASize(bits) {
			return nil, fmt.Errorf("%w: RSA size %d", keystore.ErrUnsupported, bits)
		}
	}
	priv, err := keystore.PrivateKey(jwk)
	if err != nil {
		return nil, err
	}
	return newKey(priv)
}

// Export returns the private JWK of a key. Software keys can always be
// exported; the keys service enforces Key Vault's exportable flag.
func (ks *Keystore) Export(ctx context.Context, key *keystore.Key) (*keystore.PrivateJWK, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	priv, err := ks.keys.get(key.Material)
	if err != nil {
		return nil, err
	}
	return keystore.PrivateJWKFromKey(priv)
}
