package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
	"software.sslmate.com/src/go-pkcs12"
)

// MaxImportBytes bounds the decoded certificate content of an import.
const MaxImportBytes = 256 << 10

func badPEM() error {
	return badParam("The specified PEM X.509 certificate content is in an unexpected format. Please check if certificate is in valid PEM format.")
}

func badPFX() error {
	return badParam("The specified PKCS#12 X.509 certificate content can not be read. Please check if certificate is in valid PKCS#12 format, and that the password is correct.")
}

// parsePEM reads CERTIFICATE blocks and at most one PKCS#8 PRIVATE KEY.
func parsePEM(b []byte) ([]*x509.Certificate, crypto.PrivateKey, error) {
	var certs []*x509.Certificate
	var key crypto.PrivateKey
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, badPEM()
			}
			certs = append(certs, c)
		case "PRIVATE KEY":
			if key != nil {
				return nil, nil, badParam("The specified PEM content holds more than one private key.")
			}
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, nil, badParam("The private key in the PEM content is not a valid PKCS#8 key.")
			}
			key = k
		case "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
			return nil, nil, badParam("Key Vault only accepts a private key in unencrypted PKCS#8 format (BEGIN PRIVATE KEY).")
		}
	}
	if len(certs) == 0 {
		return nil, nil, badPEM()
	}
	return certs, key, nil
}

func publicEqual(priv crypto.PrivateKey, pub crypto.PublicKey) bool {
	s, ok := priv.(crypto.Signer)
	if !ok {
		return false
	}
	eq, ok := s.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(pub)
}

// parseImport decodes import content into the private key, the leaf and
// the other certificates (in the given order when preserve is set, else
// leaf-first order as found), and the detected content type.
func parseImport(value, password string, preserve bool) (crypto.PrivateKey, *x509.Certificate, []*x509.Certificate, string, error) {
	raw := []byte(value)
	if !bytes.Contains(raw, []byte("-----BEGIN")) {
		t := strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
				return -1
			}
			return r
		}, value)
		t = strings.TrimRight(t, "=")
		d, err := base64.RawStdEncoding.DecodeString(t)
		if err != nil {
			if d, err = base64.RawURLEncoding.DecodeString(t); err != nil {
				return nil, nil, nil, "", badParam("Property value has invalid value: the certificate content must be base64 PKCS#12 or PEM.")
			}
		}
		raw = d
	}
	if len(raw) > MaxImportBytes {
		return nil, nil, nil, "", badParam("The certificate content exceeds %d bytes.", MaxImportBytes)
	}
	if bytes.Contains(raw, []byte("-----BEGIN")) {
		certs, key, err := parsePEM(raw)
		if err != nil {
			return nil, nil, nil, "", err
		}
		if key == nil {
			return nil, nil, nil, "", badParam("Private key is not specified in the specified X.509 PEM certificate content. Please specify private key in the X.509 PEM certificate content.")
		}
		li := -1
		for i, c := range certs {
			if publicEqual(key, c.PublicKey) {
				li = i
				break
			}
		}
		if li < 0 {
			return nil, nil, nil, "", badParam("The private key does not match any certificate in the PEM content.")
		}
		var rest []*x509.Certificate
		rest = append(rest, certs[:li]...)
		rest = append(rest, certs[li+1:]...)
		return key, certs[li], rest, arca.ContentTypePEM, nil
	}
	key, leaf, chain, err := decodePFX(raw, password)
	if err != nil {
		return nil, nil, nil, "", err
	}
	if !publicEqual(key, leaf.PublicKey) {
		return nil, nil, nil, "", badParam("The private key in the PKCS#12 content does not match its certificate.")
	}
	return key, leaf, chain, arca.ContentTypePKCS12, nil
}

func decodePFX(raw []byte, password string) (key crypto.PrivateKey, leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	defer func() {
		if recover() != nil {
			err = badPFX()
		}
	}()
	key, leaf, chain, err = pkcs12.DecodeChain(raw, password)
	if err != nil || key == nil || leaf == nil {
		return nil, nil, nil, badPFX()
	}
	return key, leaf, chain, nil
}

// policyFromCert describes an imported certificate as a policy.
func policyFromCert(key crypto.PrivateKey, leaf *x509.Certificate, ct string) *arca.CertificatePolicy {
	p := &arca.CertificatePolicy{
		KeyProps:    &arca.CertKeyProperties{Exportable: ptr(true), ReuseKey: ptr(false)},
		SecretProps: &arca.CertSecretProperties{ContentType: ct},
		X509Props:   &arca.X509Properties{Subject: leaf.Subject.String(), KeyUsage: keyUsageNames(leaf.KeyUsage)},
		Issuer:      &arca.IssuerParameters{Name: arca.IssuerUnknown},
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		p.KeyProps.Kty, p.KeyProps.KeySize = "RSA", ptr(k.N.BitLen())
	case *ecdsa.PrivateKey:
		p.KeyProps.Kty, p.KeyProps.Curve, p.KeyProps.KeySize = "EC", k.Curve.Params().Name, ptr(k.Curve.Params().BitSize)
	}
	if bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
		p.Issuer.Name = arca.IssuerSelf
	}
	for _, e := range leaf.ExtKeyUsage {
		if oid, ok := extKeyUsageOID[e]; ok {
			p.X509Props.EKUs = append(p.X509Props.EKUs, oid)
		}
	}
	for _, o := range leaf.UnknownExtKeyUsage {
		p.X509Props.EKUs = append(p.X509Props.EKUs, o.String())
	}
	sans := &arca.SubjectAlternativeNames{DNSNames: leaf.DNSNames, Emails: leaf.EmailAddresses}
	for _, ip := range leaf.IPAddresses {
		sans.IPAddresses = append(sans.IPAddresses, net.IP(ip).String())
	}
	for _, u := range leaf.URIs {
		sans.URIs = append(sans.URIs, u.String())
	}
	if !sans.Empty() {
		p.X509Props.SANs = sans
	}
	months := int(leaf.NotAfter.Sub(leaf.NotBefore).Hours()/(24*30) + 0.5)
	if months < 1 {
		months = 1
	}
	p.X509Props.ValidityMonths = &months
	return p
}

var extKeyUsageOID = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageServerAuth: "1.3.6.1.5.5.7.3.1", x509.ExtKeyUsageClientAuth: "1.3.6.1.5.5.7.3.2",
	x509.ExtKeyUsageCodeSigning: "1.3.6.1.5.5.7.3.3", x509.ExtKeyUsageEmailProtection: "1.3.6.1.5.5.7.3.4",
	x509.ExtKeyUsageTimeStamping: "1.3.6.1.5.5.7.3.8", x509.ExtKeyUsageOCSPSigning: "1.3.6.1.5.5.7.3.9",
	x509.ExtKeyUsageAny: "2.5.29.37.0",
}

// ImportCertificate implements arca.CertificateService. The backing secret
// is re-encoded: PKCS#12 with a blank password (never the import password),
// or PEM.
func (s *Service) ImportCertificate(ctx context.Context, vault *arca.Vault, name string, in arca.CertificateImport) (*arca.CertificateBundle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := objects.CheckTags(in.Tags); err != nil {
		return nil, err
	}
	if err := s.deletedConflict(ctx, vault, name); err != nil {
		return nil, err
	}
	if in.Policy != nil {
		if err := checkPolicy(in.Policy, false); err != nil {
			return nil, err
		}
	}
	priv, leaf, rest, ct, err := parseImport(in.Value, in.Password, in.PreserveCertOrder)
	if err != nil {
		return nil, err
	}
	switch priv.(type) {
	case *rsa.PrivateKey, *ecdsa.PrivateKey:
	default:
		return nil, badParam("The private key type is not supported: use an RSA or EC (P-256, P-384, P-521) key.")
	}
	p := policyFromCert(priv, leaf, ct)
	if in.Policy != nil {
		mergePolicy(p, in.Policy)
		if in.Policy.KeyProps != nil && in.Policy.KeyProps.Kty != "" {
			p.KeyProps.Kty = in.Policy.KeyProps.Kty // -HSM spelling; the key itself decides the rest
		}
	}
	withDefaults(p, kindManual, s.Clock.Now().Unix())
	if err := checkPolicy(p, false); err != nil {
		return nil, err
	}
	jwk, err := keystore.PrivateJWKFromKey(priv)
	if err != nil {
		return nil, badParam("The private key is not supported: %v", err)
	}
	key, err := s.ks().Import(ctx, *jwk)
	if err != nil {
		return nil, mapSignErr(err)
	}
	var chain [][]byte
	for _, c := range rest {
		chain = append(chain, c.Raw)
	}
	enabled := in.Enabled
	if enabled == nil && p.Attributes != nil {
		enabled = p.Attributes.Enabled
	}
	ver, err := newVersion(s.Rand)
	if err != nil {
		return nil, err
	}
	n, err := s.prepare(ctx, vault, name, ver, key, p, leaf.Raw, chain, enabled, in.Tags, in.PreserveCertOrder)
	if err != nil {
		return nil, err
	}
	// The policy and the key, secret and certificate versions, in one
	// transaction.
	err = s.update(ctx, func(tx storage.Tx) error {
		if err := storage.PutJSON(tx, policyKey(vault, name), p); err != nil {
			return err
		}
		return s.putTx(tx, vault, n)
	})
	if err != nil {
		return nil, err
	}
	return &arca.CertificateBundle{CertificateVersion: *n.cv, Policy: p}, nil
}
