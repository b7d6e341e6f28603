// Package keystore is the key-custody seam of Arca. A Keystore generates and
// imports asymmetric keys and performs every private-key operation; callers
// never see private key material except through Export, which the keys
// service uses only for secure key release and (sealed) backups.
//
// A key is referenced by its Material: opaque bytes the keystore produced
// (for the software keystore, the PKCS#8 private key, P-256K included under
// the secp256k1 curve OID, which the caller stores only through the
// encryption barrier; for an HSM, a handle). Public holds the public JSON Web
// Key parameters.
//
// The package also holds what needs no custody: Verify and Encrypt work from
// a PublicJWK, and PublicKey, PrivateKey, PublicJWKFromKey and
// PrivateJWKFromKey convert between JWKs and Go keys (*rsa, *ecdsa, and
// *secp256k1 from github.com/decred/dcrd/dcrec/secp256k1/v4 for P-256K).
// keystoretest holds the conformance suite every Keystore passes.
package keystore

import (
	"context"
	"errors"
)

// Key types, curves and algorithms use Azure Key Vault's names
// (JsonWebKeyType, JsonWebKeyCurveName, JsonWebKeySignatureAlgorithm,
// JsonWebKeyEncryptionAlgorithm).
const (
	KtyRSA = "RSA"
	KtyEC  = "EC"

	CurveP256  = "P-256"
	CurveP256K = "P-256K"
	CurveP384  = "P-384"
	CurveP521  = "P-521"
)

// Errors. Callers map them to Azure errors.
var (
	ErrUnsupported   = errors.New("keystore: unsupported key type, size, curve or algorithm")
	ErrInvalidKey    = errors.New("keystore: invalid key material")
	ErrInvalidInput  = errors.New("keystore: invalid input for the algorithm") // e.g. wrong digest length, ciphertext too long
	ErrDecryption    = errors.New("keystore: decryption failed")
	ErrNotExportable = errors.New("keystore: key material cannot leave this keystore")
)

// Spec describes a key to generate.
type Spec struct {
	Kty            string // KtyRSA or KtyEC
	Size           int    // RSA modulus bits: 2048, 3072 or 4096 (0 = 2048)
	PublicExponent int    // RSA public exponent (0 = 65537)
	Curve          string // EC curve (empty = P-256)
}

// PublicJWK holds the public JSON Web Key parameters, as raw big-endian
// bytes (the rest package base64url-encodes them). EC coordinates are the
// full, fixed length of the curve.
type PublicJWK struct {
	Kty  string
	N, E []byte // RSA
	Crv  string // EC
	X, Y []byte // EC
}

// PrivateJWK is a JWK with private parameters, as raw big-endian bytes.
type PrivateJWK struct {
	PublicJWK
	D, P, Q, DP, DQ, QI []byte
}

// Key is a key held by a keystore.
type Key struct {
	Material []byte // opaque to the caller; secret for software keys
	Public   PublicJWK
}

// Keystore holds keys and performs private-key operations. Digests are
// computed by the caller (Key Vault signs digests). Implementations are safe
// for concurrent use.
type Keystore interface {
	// Create generates a key.
	Create(ctx context.Context, spec Spec) (*Key, error)
	// Import takes custody of a private key given as a JWK.
	Import(ctx context.Context, jwk PrivateJWK) (*Key, error)
	// Sign signs a digest with alg (RS256/384/512, PS256/384/512, RSNULL,
	// ES256, ES256K, ES384, ES512). ECDSA signatures are raw r||s, each the
	// curve's byte length. The digest length must match alg (RSNULL: any
	// DigestInfo-free payload up to the modulus size minus 11 bytes).
	Sign(ctx context.Context, key *Key, alg string, digest []byte) ([]byte, error)
	// Decrypt decrypts (or unwraps) with RSA1_5, RSA-OAEP or RSA-OAEP-256.
	Decrypt(ctx context.Context, key *Key, alg string, ciphertext []byte) ([]byte, error)
	// Export returns the private JWK, or ErrNotExportable.
	Export(ctx context.Context, key *Key) (*PrivateJWK, error)
}

// Public-key operations need no custody; see Verify and Encrypt in this
// package (they work from PublicJWK, as the SDKs' local CryptographyClient does).
