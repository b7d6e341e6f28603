package keystore

import (
	"crypto"
	"fmt"
)

// Signature algorithms (Azure's JsonWebKeySignatureAlgorithm).
const (
	AlgRS256  = "RS256"
	AlgRS384  = "RS384"
	AlgRS512  = "RS512"
	AlgPS256  = "PS256"
	AlgPS384  = "PS384"
	AlgPS512  = "PS512"
	AlgRSNULL = "RSNULL"
	AlgES256  = "ES256"
	AlgES256K = "ES256K"
	AlgES384  = "ES384"
	AlgES512  = "ES512"
)

// Encryption and key-wrapping algorithms (Azure's
// JsonWebKeyEncryptionAlgorithm, RSA only).
const (
	AlgRSA15      = "RSA1_5"
	AlgRSAOAEP    = "RSA-OAEP"     // OAEP with SHA-1 and MGF1-SHA-1
	AlgRSAOAEP256 = "RSA-OAEP-256" // OAEP with SHA-256 and MGF1-SHA-256
)

// SignatureAlgorithms lists every signature algorithm the keystores support,
// in a stable order.
var SignatureAlgorithms = []string{
	AlgRS256, AlgRS384, AlgRS512, AlgPS256, AlgPS384, AlgPS512, AlgRSNULL,
	AlgES256, AlgES256K, AlgES384, AlgES512,
}

// EncryptionAlgorithms lists every encryption algorithm the keystores
// support, in a stable order.
var EncryptionAlgorithms = []string{AlgRSA15, AlgRSAOAEP, AlgRSAOAEP256}

// RSASizes lists the RSA modulus sizes, in bits, that Key Vault supports
// for generated and imported keys.
var RSASizes = []int{2048, 3072, 4096}

// SupportedRSASize reports whether bits is one of RSASizes.
func SupportedRSASize(bits int) bool {
	for _, s := range RSASizes {
		if s == bits {
			return true
		}
	}
	return false
}

// SigAlg describes a signature algorithm.
type SigAlg struct {
	Name  string
	Kty   string      // KtyRSA or KtyEC
	Hash  crypto.Hash // the digest's hash; 0 for RSNULL
	PSS   bool        // RSASSA-PSS with salt length = hash length
	Curve string      // EC: the only curve the algorithm signs with
}

var sigAlgs = map[string]SigAlg{
	AlgRS256:  {Name: AlgRS256, Kty: KtyRSA, Hash: crypto.SHA256},
	AlgRS384:  {Name: AlgRS384, Kty: KtyRSA, Hash: crypto.SHA384},
	AlgRS512:  {Name: AlgRS512, Kty: KtyRSA, Hash: crypto.SHA512},
	AlgPS256:  {Name: AlgPS256, Kty: KtyRSA, Hash: crypto.SHA256, PSS: true},
	AlgPS384:  {Name: AlgPS384, Kty: KtyRSA, Hash: crypto.SHA384, PSS: true},
	AlgPS512:  {Name: AlgPS512, Kty: KtyRSA, Hash: crypto.SHA512, PSS: true},
	AlgRSNULL: {Name: AlgRSNULL, Kty: KtyRSA},
	AlgES256:  {Name: AlgES256, Kty: KtyEC, Hash: crypto.SHA256, Curve: CurveP256},
	AlgES256K: {Name: AlgES256K, Kty: KtyEC, Hash: crypto.SHA256, Curve: CurveP256K},
	AlgES384:  {Name: AlgES384, Kty: KtyEC, Hash: crypto.SHA384, Curve: CurveP384},
	AlgES512:  {Name: AlgES512, Kty: KtyEC, Hash: crypto.SHA512, Curve: CurveP521},
}

// LookupSigAlg returns the description of the signature algorithm alg, or
// ErrUnsupported.
func LookupSigAlg(alg string) (SigAlg, error) {
	a, ok := sigAlgs[alg]
	if !ok {
		return SigAlg{}, fmt.Errorf("%w: signature algorithm %q", ErrUnsupported, alg)
	}
	return a, nil
}

// DigestSize returns the digest length in bytes that alg signs: 32 for
// RS256, PS256, ES256 and ES256K, 48 for the *384 algorithms and 64 for the
// *512 ones. RSNULL signs a payload of any length and returns 0. An unknown
// algorithm yields ErrUnsupported.
func DigestSize(alg string) (int, error) {
	a, err := LookupSigAlg(alg)
	if err != nil {
		return 0, err
	}
	if a.Hash == 0 {
		return 0, nil
	}
	return a.Hash.Size(), nil
}

// CheckDigest checks that digest has the length alg signs, and for RSNULL
// that it fits a PKCS #1 v1.5 block of a modulus of modulusBytes bytes
// (pass 0 to skip that check). It returns ErrUnsupported for an unknown
// algorithm and ErrInvalidInput for a wrong length.
func CheckDigest(alg string, digest []byte, modulusBytes int) error {
	a, err := LookupSigAlg(alg)
	if err != nil {
		return err
	}
	if a.Hash == 0 {
		if modulusBytes > 0 && len(digest) > modulusBytes-11 {
			return fmt.Errorf("%w: %s payload of %d bytes is too long for a %d-bit key", ErrInvalidInput, alg, len(digest), modulusBytes*8)
		}
		return nil
	}
	if len(digest) != a.Hash.Size() {
		return fmt.Errorf("%w: %s needs a %d-byte digest, got %d bytes", ErrInvalidInput, alg, a.Hash.Size(), len(digest))
	}
	return nil
}

// CheckSigAlg checks that alg can sign with a key whose public JWK is pub:
// RSA algorithms need an RSA key, and each ECDSA algorithm its own curve.
// It returns ErrUnsupported otherwise.
func CheckSigAlg(alg string, pub PublicJWK) (SigAlg, error) {
	a, err := LookupSigAlg(alg)
	if err != nil {
		return SigAlg{}, err
	}
	kty := baseKty(pub.Kty)
	if a.Kty != kty {
		return SigAlg{}, fmt.Errorf("%w: %s cannot be used with a %s key", ErrUnsupported, alg, pub.Kty)
	}
	if a.Kty == KtyEC && a.Curve != pub.Crv {
		return SigAlg{}, fmt.Errorf("%w: %s cannot be used with curve %s", ErrUnsupported, alg, pub.Crv)
	}
	return a, nil
}

// CheckEncAlg returns ErrUnsupported unless alg is one of
// EncryptionAlgorithms.
func CheckEncAlg(alg string) error {
	switch alg {
	case AlgRSA15, AlgRSAOAEP, AlgRSAOAEP256:
		return nil
	}
	return fmt.Errorf("%w: encryption algorithm %q", ErrUnsupported, alg)
}
