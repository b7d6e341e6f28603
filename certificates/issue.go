package certificates

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
	"software.sslmate.com/src/go-pkcs12"
)

// keystoreSigner is a crypto.Signer whose private key stays in a keystore:
// x509 hands it a digest, the keystore signs it (Key Vault algorithms), and
// ECDSA's raw r||s is re-encoded as the ASN.1 DER X.509 expects.
type keystoreSigner struct {
	ctx context.Context
	ks  keystore.Keystore
	key *keystore.Key
	pub crypto.PublicKey
}

func newSigner(ctx context.Context, ks keystore.Keystore, key *keystore.Key) (*keystoreSigner, error) {
	pub, err := keystore.PublicKey(key.Public)
	if err != nil {
		return nil, err
	}
	switch pub.(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return nil, badParam("The key type or curve is not supported for X.509 certificates.")
	}
	return &keystoreSigner{ctx: ctx, ks: ks, key: key, pub: pub}, nil
}

func (s *keystoreSigner) Public() crypto.PublicKey { return s.pub }

func (s *keystoreSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	bits := map[crypto.Hash]string{crypto.SHA256: "256", crypto.SHA384: "384", crypto.SHA512: "512"}[opts.HashFunc()]
	if bits == "" {
		return nil, errors.New("certificates: unsupported signature hash")
	}
	switch s.pub.(type) {
	case *rsa.PublicKey:
		alg := "RS" + bits
		if _, pss := opts.(*rsa.PSSOptions); pss {
			alg = "PS" + bits
		}
		return s.ks.Sign(s.ctx, s.key, alg, digest)
	case *ecdsa.PublicKey:
		raw, err := s.ks.Sign(s.ctx, s.key, "ES"+bits, digest)
		if err != nil {
			return nil, err
		}
		if len(raw) == 0 || len(raw)%2 != 0 {
			return nil, errors.New("certificates: malformed ECDSA signature from keystore")
		}
		n := len(raw) / 2
		return asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:n]), new(big.Int).SetBytes(raw[n:])})
	}
	return nil, errors.New("certificates: unsupported key type")
}

// sigAlg picks a signature algorithm whose hash the keystore can sign
// for an EC key (x509 would otherwise pick by curve anyway).
func sigAlg(pub crypto.PublicKey) x509.SignatureAlgorithm {
	if k, ok := pub.(*ecdsa.PublicKey); ok {
		switch k.Curve.Params().BitSize {
		case 384:
			return x509.ECDSAWithSHA384
		case 521:
			return x509.ECDSAWithSHA512
		}
		return x509.ECDSAWithSHA256
	}
	return x509.SHA256WithRSA
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// template builds the certificate a policy describes for pub.
func template(p *arca.CertificatePolicy, now time.Time) (*x509.Certificate, error) {
	x := p.X509Props
	sn, err := serial()
	if err != nil {
		return nil, arca.Internal(err)
	}
	months := 12
	if x.ValidityMonths != nil {
		months = *x.ValidityMonths
	}
	t := &x509.Certificate{SerialNumber: sn, NotBefore: now.UTC(), NotAfter: now.UTC().AddDate(0, months, 0)}
	if x.Subject != "" {
		if t.RawSubject, err = parseSubject(x.Subject); err != nil {
			return nil, err
		}
	}
	if t.KeyUsage, err = keyUsage(x.KeyUsage); err != nil {
		return nil, err
	}
	for _, e := range x.EKUs {
		oid, err := parseOID(e)
		if err != nil {
			return nil, err
		}
		t.UnknownExtKeyUsage = append(t.UnknownExtKeyUsage, oid)
	}
	san, err := buildSANs(x.SANs)
	if err != nil {
		return nil, err
	}
	if san != nil {
		san.Critical = x.Subject == ""
		t.ExtraExtensions = append(t.ExtraExtensions, *san)
	}
	if bc := x.BasicConstraints; bc != nil {
		t.BasicConstraintsValid, t.IsCA = true, bc.CA
	}
	return t, nil
}

// csr builds a PKCS#10 request for the policy, signed through the keystore.
func csr(p *arca.CertificatePolicy, signer crypto.Signer) ([]byte, error) {
	x := p.X509Props
	req := &x509.CertificateRequest{SignatureAlgorithm: sigAlg(signer.Public())}
	var err error
	if x.Subject != "" {
		if req.RawSubject, err = parseSubject(x.Subject); err != nil {
			return nil, err
		}
	} else {
		req.RawSubject, _ = asn1.Marshal(pkix.RDNSequence{})
	}
	san, err := buildSANs(x.SANs)
	if err != nil {
		return nil, err
	}
	if san != nil {
		req.ExtraExtensions = append(req.ExtraExtensions, *san)
	}
	ku, err := keyUsage(x.KeyUsage)
	if err != nil {
		return nil, err
	}
	if ku != 0 {
		ext, err := keyUsageExt(ku)
		if err != nil {
			return nil, arca.Internal(err)
		}
		req.ExtraExtensions = append(req.ExtraExtensions, ext)
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, signer)
	if err != nil {
		return nil, mapSignErr(err)
	}
	return der, nil
}

func keyUsageExt(ku x509.KeyUsage) (pkix.Extension, error) {
	var a [2]byte
	a[0] = reverseBits(byte(ku))
	a[1] = reverseBits(byte(ku >> 8))
	l := 1
	if a[1] != 0 {
		l = 2
	}
	bs := a[:l]
	b, err := asn1.Marshal(asn1.BitString{Bytes: bs, BitLength: bitLength(bs)})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 15}, Critical: true, Value: b}, err
}

func reverseBits(b byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		r = r<<1 | b&1
		b >>= 1
	}
	return r
}

func bitLength(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		for j := 0; j < 8; j++ {
			if b[i]>>uint(j)&1 != 0 {
				return i*8 + 8 - j
			}
		}
	}
	return 0
}

func mapSignErr(err error) error {
	var ae *arca.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, keystore.ErrUnsupported) || errors.Is(err, keystore.ErrInvalidKey) || errors.Is(err, keystore.ErrInvalidInput) {
		return badParam("The key cannot sign this certificate: %v", err)
	}
	return arca.Internal(err)
}

// encodeSecret renders the certificate-backed secret value: PKCS#12 with a
// blank password (base64 std), or PEM (PKCS#8 key then the certificates).
// priv is nil for non-exportable keys: the secret then holds certificates
// only.
func encodeSecret(contentType string, priv crypto.PrivateKey, certs []*x509.Certificate) (string, error) {
	if contentType == arca.ContentTypePEM {
		var b strings.Builder
		if priv != nil {
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				return "", badParam("The private key cannot be encoded as PKCS#8: %v", err)
			}
			b.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
		}
		for _, c := range certs {
			b.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
		}
		return b.String(), nil
	}
	var der []byte
	var err error
	if priv != nil {
		der, err = pkcs12.LegacyDES.Encode(priv, certs[0], certs[1:], "")
	} else {
		der, err = pkcs12.LegacyDES.EncodeTrustStore(certs, "")
	}
	if err != nil {
		return "", badParam("The certificate cannot be encoded as PKCS#12: %v", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}
