package soft

import (
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
)

// Sign signs a digest; see keystore.Keystore.Sign. A key that does not fit
// the algorithm yields keystore.ErrUnsupported; a digest of the wrong length,
// keystore.ErrInvalidInput.
func (ks *Keystore) Sign(ctx context.Context, key *keystore.Key, alg string, digest []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a, err := keystore.LookupSigAlg(alg)
	if err != nil {
		return nil, err
	}
	priv, err := ks.keys.get(key.Material)
	if err != nil {
		return nil, err
	}
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		if a.Kty != keystore.KtyRSA {
			return nil, fmt.Errorf("%w: %s cannot be used with an RSA key", keystore.ErrUnsupported, alg)
		}
		if err := keystore.CheckDigest(alg, digest, k.Size()); err != nil {
			return nil, err
		}
		var sig []byte
		if a.PSS {
			sig, err = rsa.SignPSS(ks.rand, k, a.Hash, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: a.Hash})
		} else {
			sig, err = rsa.SignPKCS1v15(ks.rand, k, a.Hash, digest)
		}
		if err != nil {
			if errors.Is(err, rsa.ErrMessageTooLong) {
				return nil, fmt.Errorf("%w: %v", keystore.ErrInvalidInput, err)
			}
			return nil, fmt.Errorf("keystore/soft: %s: %w", alg, err)
		}
		return sig, nil
	case *ecdsa.PrivateKey:
		pub, err := keystore.PublicJWKFromKey(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		if _, err := keystore.CheckSigAlg(alg, pub); err != nil {
			return nil, err
		}
		if err := keystore.CheckDigest(alg, digest, 0); err != nil {
			return nil, err
		}
		r, s, err := ecdsa.Sign(ks.rand, k, digest)
		if err != nil {
			return nil, fmt.Errorf("keystore/soft: %s: %w", alg, err)
		}
		size := len(pub.X)
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case *secp256k1.PrivateKey:
		if alg != keystore.AlgES256K {
			return nil, fmt.Errorf("%w: %s cannot be used with curve %s", keystore.ErrUnsupported, alg, keystore.CurveP256K)
		}
		if err := keystore.CheckDigest(alg, digest, 0); err != nil {
			return nil, err
		}
		// RFC 6979 deterministic nonce; s is normalised to the lower half.
		sig := secpecdsa.Sign(k, digest)
		r, s := sig.R(), sig.S()
		out := make([]byte, 64)
		r.PutBytesUnchecked(out[:32])
		s.PutBytesUnchecked(out[32:])
		return out, nil
	}
	return nil, fmt.Errorf("%w: key of type %T", keystore.ErrUnsupported, priv)
}

// Decrypt decrypts or unwraps; see keystore.Keystore.Decrypt. A ciphertext
// longer than the modulus yields keystore.ErrInvalidInput; any other failure,
// keystore.ErrDecryption.
func (ks *Keystore) Decrypt(ctx context.Context, key *keystore.Key, alg string, ciphertext []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := keystore.CheckEncAlg(alg); err != nil {
		return nil, err
	}
	priv, err := ks.keys.get(key.Material)
	if err != nil {
		return nil, err
	}
	k, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s needs an RSA key", keystore.ErrUnsupported, alg)
	}
	if len(ciphertext) > k.Size() {
		return nil, fmt.Errorf("%w: %s ciphertext of %d bytes exceeds the %d-byte modulus", keystore.ErrInvalidInput, alg, len(ciphertext), k.Size())
	}
	var pt []byte
	if h := keystore.OAEPHash(alg); h != nil {
		pt, err = rsa.DecryptOAEP(h, nil, k, ciphertext, nil)
	} else {
		// RSA1_5 is part of Azure Key Vault's API and stays. Against a
		// padding oracle, every failure (bad padding or OAEP check alike) is
		// the one generic ErrDecryption, which the service answers with a
		// fixed message; the stdlib's padding check is constant-time.
		//lint:ignore SA1019 Azure Key Vault's alg "RSA1_5"; failures collapse into one generic error
		pt, err = rsa.DecryptPKCS1v15(nil, k, ciphertext)
	}
	if err != nil {
		// Never wrap err: its text would tell padding failures apart.
		return nil, keystore.ErrDecryption
	}
	return pt, nil
}
