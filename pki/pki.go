// Package pki is Arca's TLS certificate authority: it creates the
// deployment's CA on first start, keeps its key in the (encrypted) store,
// and issues the server certificate for the names Arca serves.
package pki

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"time"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
)

const caKey = "sys/tls/ca"

// CA is the deployment's certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

type stored struct {
	CertDER []byte `json:"cert"`
	KeyDER  []byte `json:"key"`
}

// LoadOrCreate returns the CA kept in store, creating it (ECDSA P-256, ten
// years) on first use. The store must be the encrypted barrier.
func LoadOrCreate(ctx context.Context, store barrier.Sealed, now time.Time) (*CA, error) {
	var s stored
	err := store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(caKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &s)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return create(ctx, store, now)
	}
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(s.CertDER)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(s.KeyDER)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: k.(crypto.Signer)}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func create(ctx context.Context, store barrier.Sealed, now time.Time) (*CA, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "Arca Local CA", Organization: []string{"Arca"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(&stored{CertDER: der, KeyDER: kd})
	err = store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(caKey); err == nil {
			return errors.New("pki: CA created concurrently")
		}
		return tx.Put(caKey, b)
	})
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, Key: k}, nil
}

// PEM returns the CA certificate in PEM form.
func (ca *CA) PEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// ServerCertificate issues a TLS server certificate for names (DNS names or
// IP addresses), valid for one year from now.
func (ca *CA) ServerCertificate(names []string, now time.Time) (*tls.Certificate, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "Arca", Organization: []string{"Arca"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &k.PublicKey, ca.Key)
	if err != nil {
		return nil, err
	}
	leaf, _ := x509.ParseCertificate(der)
	return &tls.Certificate{Certificate: [][]byte{der, ca.Cert.Raw}, PrivateKey: k, Leaf: leaf}, nil
}
