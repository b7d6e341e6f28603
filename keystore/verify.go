package keystore

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"hash"
	"math/big"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Verify reports whether sig is a valid alg signature of digest by the key
// pub. Like Sign, it takes the digest, not the message; ECDSA signatures are
// raw r||s, each half the curve's byte length, and PS* signatures use a salt
// as long as the hash.
//
// A signature that does not verify (including one of the wrong length) gives
// false and no error. An unknown algorithm, or one that does not fit the key
// (an RSA algorithm with an EC key, ES384 with a P-256 key, …), yields
// ErrUnsupported; a malformed key, ErrInvalidKey; a digest of the wrong
// length, ErrInvalidInput.
func Verify(pub PublicJWK, alg string, digest, sig []byte) (bool, error) {
	a, err := CheckSigAlg(alg, pub)
	if err != nil {
		return false, err
	}
	key, err := PublicKey(pub)
	if err != nil {
		return false, err
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if err := CheckDigest(alg, digest, k.Size()); err != nil {
			return false, err
		}
		if len(sig) != k.Size() {
			return false, nil
		}
		if a.PSS {
			err = rsa.VerifyPSS(k, a.Hash, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.Hash})
		} else {
			err = rsa.VerifyPKCS1v15(k, a.Hash, digest, sig)
		}
		return err == nil, nil
	case *ecdsa.PublicKey:
		if err := CheckDigest(alg, digest, 0); err != nil {
			return false, err
		}
		size, _ := CurveSize(pub.Crv)
		if len(sig) != 2*size {
			return false, nil
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s), nil
	case *secp256k1.PublicKey:
		if err := CheckDigest(alg, digest, 0); err != nil {
			return false, err
		}
		if len(sig) != 64 {
			return false, nil
		}
		var r, s secp256k1.ModNScalar
		if r.SetByteSlice(sig[:32]) || s.SetByteSlice(sig[32:]) {
			return false, nil // r or s >= the group order
		}
		return secpecdsa.NewSignature(&r, &s).Verify(digest, k), nil
	}
	return false, fmt.Errorf("%w: public key of type %T", ErrUnsupported, key)
}

// Encrypt encrypts (or wraps) plaintext for the RSA key pub with RSA1_5,
// RSA-OAEP (SHA-1) or RSA-OAEP-256 (SHA-256, MGF1 with SHA-256), using
// crypto/rand. An unknown algorithm or a non-RSA key yields ErrUnsupported;
// a malformed key, ErrInvalidKey; a plaintext too long for the key and
// algorithm, ErrInvalidInput.
func Encrypt(pub PublicJWK, alg string, plaintext []byte) ([]byte, error) {
	if err := CheckEncAlg(alg); err != nil {
		return nil, err
	}
	if baseKty(pub.Kty) != KtyRSA {
		return nil, fmt.Errorf("%w: %s cannot be used with a %s key", ErrUnsupported, alg, pub.Kty)
	}
	k, err := rsaPublicKey(pub.N, pub.E)
	if err != nil {
		return nil, err
	}
	if max := MaxPlaintext(k.Size(), alg); len(plaintext) > max {
		return nil, fmt.Errorf("%w: %s plaintext of %d bytes exceeds %d bytes", ErrInvalidInput, alg, len(plaintext), max)
	}
	var out []byte
	if h := OAEPHash(alg); h != nil {
		out, err = rsa.EncryptOAEP(h, rand.Reader, k, plaintext, nil)
	} else {
		//lint:ignore SA1019 RSA1_5 is part of Azure Key Vault's API (alg "RSA1_5") and must stay
		out, err = rsa.EncryptPKCS1v15(rand.Reader, k, plaintext)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	return out, nil
}

// OAEPHash returns a new hash for the OAEP algorithm alg (SHA-1 for RSA-OAEP,
// SHA-256 for RSA-OAEP-256), or nil for any other algorithm.
func OAEPHash(alg string) hash.Hash {
	switch alg {
	case AlgRSAOAEP:
		return sha1.New()
	case AlgRSAOAEP256:
		return sha256.New()
	}
	return nil
}

// MaxPlaintext returns the longest plaintext that alg can encrypt with an
// RSA modulus of modulusBytes bytes (k-11 for RSA1_5, k-2h-2 for OAEP with
// an h-byte hash), or -1 for an unknown algorithm.
func MaxPlaintext(modulusBytes int, alg string) int {
	switch alg {
	case AlgRSA15:
		return modulusBytes - 11
	case AlgRSAOAEP:
		return modulusBytes - 2*sha1.Size - 2
	case AlgRSAOAEP256:
		return modulusBytes - 2*sha256.Size - 2
	}
	return -1
}
