package soft

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// Material encoding.
//
// Every software key's Material is a DER-encoded PKCS #8 PrivateKeyInfo
// (RFC 5208), as OpenSSL writes it:
//
//   - RSA: rsaEncryption with an RSAPrivateKey (RFC 8017), as
//     x509.MarshalPKCS8PrivateKey writes it;
//   - P-256, P-384, P-521: id-ecPublicKey with the named curve, and an
//     ECPrivateKey (RFC 5915), as x509.MarshalPKCS8PrivateKey writes it;
//   - P-256K: the same, with the named curve secp256k1 (OID 1.3.132.0.10),
//     which crypto/x509 does not know, so this file encodes and parses it.
//
// The encoding is thus self-describing and standard: `openssl pkey -inform
// DER` reads all of them.

var (
	oidPublicKeyECDSA = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidSecp256k1      = asn1.ObjectIdentifier{1, 3, 132, 0, 10}
)

// pkcs8 is a PKCS #8 PrivateKeyInfo without attributes.
type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// ecPrivateKey is an RFC 5915 ECPrivateKey.
type ecPrivateKey struct {
	Version       int
	PrivateKey    []byte
	NamedCurveOID asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey     asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// marshalMaterial encodes a private key as PKCS #8 DER.
func marshalMaterial(priv crypto.PrivateKey) ([]byte, error) {
	k, ok := priv.(*secp256k1.PrivateKey)
	if !ok {
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", keystore.ErrInvalidKey, err)
		}
		return der, nil
	}
	pub := k.PubKey().SerializeUncompressed()
	inner, err := asn1.Marshal(ecPrivateKey{
		Version:    1,
		PrivateKey: k.Serialize(),
		PublicKey:  asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)},
	})
	if err != nil {
		return nil, err
	}
	params, err := asn1.Marshal(oidSecp256k1)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(pkcs8{
		Algo: pkix.AlgorithmIdentifier{
			Algorithm:  oidPublicKeyECDSA,
			Parameters: asn1.RawValue{FullBytes: params},
		},
		PrivateKey: inner,
	})
}

// parseMaterial decodes Material into a *rsa.PrivateKey, an
// *ecdsa.PrivateKey or a *secp256k1.PrivateKey. Anything else yields
// keystore.ErrInvalidKey.
func parseMaterial(der []byte) (crypto.PrivateKey, error) {
	if k, ok, err := parseSecp256k1(der); ok {
		return k, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", keystore.ErrInvalidKey, err)
	}
	return k, nil
}

// parseSecp256k1 parses a secp256k1 PKCS #8 key. ok is false when der is not
// one (it may still be another PKCS #8 key).
func parseSecp256k1(der []byte) (k *secp256k1.PrivateKey, ok bool, err error) {
	var info pkcs8
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, false, nil
	}
	if !info.Algo.Algorithm.Equal(oidPublicKeyECDSA) {
		return nil, false, nil
	}
	var curve asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(info.Algo.Parameters.FullBytes, &curve); err != nil || len(rest) != 0 || !curve.Equal(oidSecp256k1) {
		return nil, false, nil
	}
	bad := func(why string) (*secp256k1.PrivateKey, bool, error) {
		return nil, true, fmt.Errorf("%w: secp256k1 material: %s", keystore.ErrInvalidKey, why)
	}
	var ec ecPrivateKey
	if rest, err := asn1.Unmarshal(info.PrivateKey, &ec); err != nil || len(rest) != 0 {
		return bad("malformed ECPrivateKey")
	}
	if ec.Version != 1 || len(ec.PrivateKey) != 32 {
		return bad("unexpected ECPrivateKey version or length")
	}
	if ec.NamedCurveOID != nil && !ec.NamedCurveOID.Equal(oidSecp256k1) {
		return bad("conflicting curve")
	}
	var s secp256k1.ModNScalar
	if overflow := s.SetByteSlice(ec.PrivateKey); overflow || s.IsZero() {
		return bad("scalar out of range")
	}
	return secp256k1.NewPrivateKey(&s), true, nil
}
