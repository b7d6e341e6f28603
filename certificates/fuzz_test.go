package certificates

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/storage/memory"
	"software.sslmate.com/src/go-pkcs12"
)

type plainSealer struct{}

func (plainSealer) Seal(_, p []byte) ([]byte, error)   { return append([]byte(nil), p...), nil }
func (plainSealer) Unseal(_, b []byte) ([]byte, error) { return append([]byte(nil), b...), nil }

func newTestService(t testing.TB) (*Service, *arca.Vault) {
	store, err := barrier.Open(context.Background(), memory.New(), make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clock := arca.NewManualClock(time.Now().Truncate(time.Second))
	ks := keys.New(store, soft.New(rand.Reader), plainSealer{}, clock, rand.Reader)
	ss := secrets.New(store, plainSealer{}, clock, rand.Reader)
	return New(store, ks.Keystore, ks, ss, plainSealer{}, clock, rand.Reader), &arca.Vault{Name: "v", TenantID: "t", SKU: "premium", RetentionDays: 90}
}

// mustBe4xx fails on errors that would not be an Azure-shaped 4xx.
func mustBe4xx(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	switch arca.KindOf(err) {
	case arca.KindInvalid, arca.KindNotFound, arca.KindForbidden, arca.KindConflict, arca.KindTooLarge:
	default:
		t.Fatalf("not a 4xx: %v", err)
	}
}

func testPair(t testing.TB) (*ecdsa.PrivateKey, *x509.Certificate) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return k, c
}

func FuzzImportCertificate(f *testing.F) {
	k, c := testPair(f)
	pfx, _ := pkcs12.LegacyDES.Encode(k, c, nil, "pw")
	k8, _ := x509.MarshalPKCS8PrivateKey(k)
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	f.Add(pfx, "pw", false)
	f.Add(pfx, "", true)
	f.Add(pemData, "", false)
	f.Add(pemData[:len(pemData)/2], "", true)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "", false)
	f.Add([]byte{0x30, 0x82, 0xff, 0xff}, "", false)
	s, v := newTestService(f)
	f.Fuzz(func(t *testing.T, data []byte, pwd string, raw bool) {
		value := base64.StdEncoding.EncodeToString(data)
		if raw {
			value = string(data)
		}
		b, err := s.ImportCertificate(context.Background(), v, "fuzz", arca.CertificateImport{Value: value, Password: pwd})
		mustBe4xx(t, err)
		if err == nil {
			if b.CER == nil {
				t.Fatal("import without a certificate")
			}
			s.DeleteCertificate(context.Background(), v, "fuzz")
			s.PurgeCertificate(context.Background(), v, "fuzz")
		}
	})
}

func FuzzMerge(f *testing.F) {
	s, v := newTestService(f)
	ctx := context.Background()
	pol := &arca.CertificatePolicy{Issuer: &arca.IssuerParameters{Name: "Unknown"}, X509Props: &arca.X509Properties{Subject: "CN=merge"}}
	if _, err := s.CreateCertificate(ctx, v, "m", arca.CertificateCreate{Policy: pol}); err != nil {
		f.Fatal(err)
	}
	_, c := testPair(f)
	f.Add(c.Raw)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, x5c []byte) {
		_, err := s.MergeCertificate(ctx, v, "m", arca.CertificateMerge{X5C: [][]byte{x5c}})
		if err == nil {
			t.Fatal("merge accepted a certificate for another key")
		}
		mustBe4xx(t, err)
	})
}

// TestCertificatePolicySubject checks the DN parser and SAN encoder.
func TestCertificatePolicySubject(t *testing.T) {
	for _, ok := range []string{"CN=a", "CN=a, O=b, OU=c, C=US, E=x@y.z, DC=example", `CN="a, b", O=c`, "2.5.4.3=x"} {
		if _, err := parseSubject(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "CN", "XX=a", `CN="a`, "=a"} {
		if _, err := parseSubject(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	ext, err := buildSANs(&arca.SubjectAlternativeNames{UPNs: []string{"u@d"}, DNSNames: []string{"a.b"}, IPAddresses: []string{"::1"}})
	if err != nil || ext == nil {
		t.Fatal(err)
	}
	if _, err := buildSANs(&arca.SubjectAlternativeNames{IPAddresses: []string{"999.1.1.1"}}); err == nil {
		t.Fatal("bad IP accepted")
	}
}
