package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azcertificates"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/arcakv/arca/deployment"
	"software.sslmate.com/src/go-pkcs12"
)

func (f *fixture) certsClient(vault string) *azcertificates.Client {
	c, err := azcertificates.NewClient(f.vaultURL(vault), f.credential(), &azcertificates.ClientOptions{ClientOptions: f.clientOptions()})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// opensslVerify runs `openssl verify -CAfile ca leaf` (skipped without openssl).
func opensslVerify(t *testing.T, caPEM, leafPEM []byte, untrusted []byte) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Log("openssl not installed; skipping openssl verify")
		return
	}
	dir := t.TempDir()
	ca, leaf := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "leaf.pem")
	os.WriteFile(ca, caPEM, 0o600)
	os.WriteFile(leaf, leafPEM, 0o600)
	args := []string{"verify", "-CAfile", ca}
	if untrusted != nil {
		u := filepath.Join(dir, "chain.pem")
		os.WriteFile(u, untrusted, 0o600)
		args = append(args, "-untrusted", u)
	}
	out, err := exec.Command("openssl", append(args, leaf)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), ": OK") {
		t.Fatalf("openssl verify: %v\n%s", err, out)
	}
}

// secretKeyPair downloads the certificate's secret and loads it as a TLS key pair.
func secretKeyPair(t *testing.T, sc *azsecrets.Client, name string) (tls.Certificate, string) {
	t.Helper()
	s, err := sc.GetSecret(context.Background(), name, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Managed == nil || !*s.Managed || s.KID == nil || s.ContentType == nil {
		t.Fatalf("backing secret: managed=%v kid=%v ct=%v", s.Managed, s.KID, s.ContentType)
	}
	var certPEM, keyPEM []byte
	switch *s.ContentType {
	case "application/x-pkcs12":
		der, err := base64.StdEncoding.DecodeString(*s.Value)
		if err != nil {
			t.Fatalf("pkcs12 secret is not standard base64: %v", err)
		}
		key, leaf, chain, err := pkcs12.DecodeChain(der, "")
		if err != nil {
			t.Fatalf("pkcs12 secret with a blank password: %v", err)
		}
		k8, _ := x509.MarshalPKCS8PrivateKey(key)
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})
		certPEM = pemCert(leaf.Raw)
		for _, c := range chain {
			certPEM = append(certPEM, pemCert(c.Raw)...)
		}
	case "application/x-pem-file":
		certPEM, keyPEM = []byte(*s.Value), []byte(*s.Value)
		if !strings.Contains(*s.Value, "BEGIN PRIVATE KEY") {
			t.Fatal("PEM secret lacks a PKCS#8 key")
		}
	default:
		t.Fatalf("content type %s", *s.ContentType)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("secret does not load as a TLS key pair: %v", err)
	}
	return kp, *s.ContentType
}

func pollOp(t *testing.T, c *azcertificates.Client, name string) azcertificates.CertificateOperation {
	t.Helper()
	// Issuers that complete at once (Self, Arca, a merge) have finished by
	// the time the create or merge returns: no polling loop is needed.
	op, err := c.GetCertificateOperation(context.Background(), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return op.CertificateOperation
}

// TestCertificatesArcaIssuerE2E: the Arca issuer signs with the deployment
// CA (openssl and Go verify the chain), the PKCS#12 and PEM secrets load as
// TLS key pairs, the linked key signs, and delete/recover/purge cascade.
func TestCertificatesArcaIssuerE2E(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c, sc, kc := f.certsClient("arca"), f.secretsClient(f.credential(), "arca"), f.keysClient("arca")
	caPEM, err := os.ReadFile(filepath.Join(f.dir, deployment.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, ct := range []string{"application/x-pkcs12", "application/x-pem-file"} {
		name := "arca-" + strings.TrimPrefix(ct, "application/x-")
		pol := azcertificates.CertificatePolicy{
			IssuerParameters: &azcertificates.IssuerParameters{Name: to.Ptr("Arca")},
			SecretProperties: &azcertificates.SecretProperties{ContentType: to.Ptr(ct)},
			X509CertificateProperties: &azcertificates.X509CertificateProperties{
				Subject: to.Ptr("CN=svc.example, O=Arca Test"),
				SubjectAlternativeNames: &azcertificates.SubjectAlternativeNames{
					DNSNames: []*string{to.Ptr("svc.example")}, IPAddresses: []*string{to.Ptr("10.0.0.1")},
					UserPrincipalNames: []*string{to.Ptr("svc@example.com")}, Emails: []*string{to.Ptr("ops@example.com")},
					URIs: []*string{to.Ptr("spiffe://example/svc")},
				},
			},
		}
		op, err := c.CreateCertificate(ctx, name, azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil)
		if err != nil {
			t.Fatal(err)
		}
		// Like Key Vault, the 202 reports the operation in progress; it has
		// completed by the time the client polls.
		if *op.Status != "inProgress" || len(op.CSR) == 0 {
			t.Fatalf("create: status %s", *op.Status)
		}
		if done := pollOp(t, c, name); *done.Status != "completed" {
			t.Fatalf("operation after create: %s", *done.Status)
		}
		got, err := c.GetCertificate(ctx, name, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := x509.ParseCertificate(got.CER)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha1Sum(got.CER); string(sum) != string(got.X509Thumbprint) {
			t.Fatal("x5t is not the SHA-1 thumbprint")
		}
		if leaf.Subject.CommonName != "svc.example" || len(leaf.DNSNames) != 1 || len(leaf.IPAddresses) != 1 || len(leaf.URIs) != 1 || len(leaf.EmailAddresses) != 1 {
			t.Fatalf("leaf: %v %v %v %v", leaf.Subject, leaf.DNSNames, leaf.IPAddresses, leaf.URIs)
		}
		if got.KID.Version() != got.ID.Version() || got.SID.Version() != got.ID.Version() {
			t.Fatalf("kid/sid versions: %s %s %s", *got.ID, *got.KID, *got.SID)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(caPEM)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: f.clock.Now().Add(time.Minute), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Fatalf("Go verify against the deployment CA: %v", err)
		}
		opensslVerify(t, caPEM, pemCert(got.CER), nil)

		kp, gotCT := secretKeyPair(t, sc, name)
		if gotCT != ct || len(kp.Certificate) != 2 {
			t.Fatalf("secret: ct %s, %d certs (want leaf + CA)", gotCT, len(kp.Certificate))
		}

		// The linked key signs; the certificate's public key verifies.
		digest := sha256.Sum256([]byte("hello"))
		sig, err := kc.Sign(ctx, name, got.KID.Version(), azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig.Result); err != nil {
			t.Fatalf("signature by the linked key does not verify with the certificate: %v", err)
		}
		// The key and secret are certificate-managed.
		if _, err := kc.DeleteKey(ctx, name, nil); statusOf(err) != http.StatusForbidden {
			t.Fatalf("deleting a managed key through the keys API: %v", err)
		}
	}

	// Delete cascades; recover cascades; purge cascades.
	name := "arca-pkcs12"
	if _, err := c.DeleteCertificate(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.GetDeletedKey(ctx, name, nil); err != nil {
		t.Fatalf("key not soft-deleted with its certificate: %v", err)
	}
	if _, err := sc.GetDeletedSecret(ctx, name, nil); err != nil {
		t.Fatalf("secret not soft-deleted with its certificate: %v", err)
	}
	if _, err := c.RecoverDeletedCertificate(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.GetKey(ctx, name, "", nil); err != nil {
		t.Fatalf("key not recovered: %v", err)
	}
	if _, err := sc.GetSecret(ctx, name, "", nil); err != nil {
		t.Fatalf("secret not recovered: %v", err)
	}
	if _, err := c.DeleteCertificate(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedCertificate(ctx, name, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.GetDeletedKey(ctx, name, nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("key not purged: %v", err)
	}
	if _, err := sc.GetDeletedSecret(ctx, name, nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("secret not purged: %v", err)
	}
	if _, err := c.GetCertificate(ctx, name, "", nil); statusOf(err) != http.StatusNotFound {
		t.Fatalf("get after purge: %v", err)
	}
}

func sha1Sum(b []byte) []byte {
	h := crypto.SHA1.New()
	h.Write(b)
	return h.Sum(nil)
}

// TestCertificatesSelfSignedE2E: Self issuance with an EC key, openssl
// verification, defaults, policy PATCH, versions, backup/restore and renewal.
func TestCertificatesSelfSignedE2E(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.certsClient("arca")
	pol := azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Self")},
		KeyProperties:             &azcertificates.KeyProperties{KeyType: to.Ptr(azcertificates.KeyTypeEC), Curve: to.Ptr(azcertificates.CurveNameP384)},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=self.example"), ValidityInMonths: to.Ptr[int32](1)},
	}
	if _, err := c.CreateCertificate(ctx, "self", azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetCertificate(ctx, "self", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(got.CER)
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("self-signed signature (made through the keystore): %v", err)
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Fatal("not an EC certificate")
	}
	if p := got.Policy; *p.SecretProperties.ContentType != "application/x-pkcs12" || *p.KeyProperties.Exportable != true ||
		len(p.X509CertificateProperties.EnhancedKeyUsage) != 2 || len(p.LifetimeActions) != 1 || *p.LifetimeActions[0].Action.ActionType != "AutoRenew" {
		t.Fatalf("defaults not applied: %+v", p)
	}
	opensslVerify(t, pemCert(got.CER), pemCert(got.CER), nil)

	// Policy PATCH merges.
	up, err := c.UpdateCertificatePolicy(ctx, "self", azcertificates.CertificatePolicy{KeyProperties: &azcertificates.KeyProperties{ReuseKey: to.Ptr(true)}}, nil)
	if err != nil || !*up.KeyProperties.ReuseKey || *up.KeyProperties.Curve != "P-384" || *up.X509CertificateProperties.Subject != "CN=self.example" {
		t.Fatalf("policy patch: %+v %v", up, err)
	}

	// Renewal at 80% of the lifetime, reusing the key.
	if n, err := f.r.App.RenewDue(ctx); err != nil || n != 0 {
		t.Fatalf("renew before due: %d %v", n, err)
	}
	f.clock.Advance(27 * 24 * time.Hour)
	if n, err := f.r.App.RenewDue(ctx); err != nil || n != 1 {
		t.Fatalf("renew when due: %d %v", n, err)
	}
	c = f.certsClient("arca") // tokens issued before the clock moved have expired
	renewed, err := c.GetCertificate(ctx, "self", "", nil)
	if err != nil || renewed.ID.Version() == got.ID.Version() {
		t.Fatalf("renewal did not add a version: %v", err)
	}
	rl, _ := x509.ParseCertificate(renewed.CER)
	if !rl.PublicKey.(*ecdsa.PublicKey).Equal(leaf.PublicKey) {
		t.Fatal("reuse_key: the renewed certificate has a new key")
	}
	n := 0
	for p := c.NewListCertificatePropertiesVersionsPager("self", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Fatalf("%d versions", n)
	}

	// Backup, restore (409 while the name exists).
	bk, err := c.BackupCertificate(ctx, "self", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: bk.Value}, nil); statusOf(err) != http.StatusConflict {
		t.Fatalf("restore over an existing name: %v", err)
	}
	c.DeleteCertificate(ctx, "self", nil)
	if _, err := c.PurgeDeletedCertificate(ctx, "self", nil); err != nil {
		t.Fatal(err)
	}
	rs, err := c.RestoreCertificate(ctx, azcertificates.RestoreCertificateParameters{CertificateBackup: bk.Value}, nil)
	if err != nil || rs.ID.Version() != renewed.ID.Version() || rs.Policy == nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := f.keysClient("arca").GetKey(ctx, "self", got.ID.Version(), nil); err != nil {
		t.Fatalf("restored key version: %v", err)
	}
}

func testCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	return ca, k
}

// TestCertificatesMergeAndImportE2E: the CSR flow with a test CA, a wrong
// merge, and a password-protected PFX import.
func TestCertificatesMergeAndImportE2E(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c, sc := f.certsClient("arca"), f.secretsClient(f.credential(), "arca")
	ca, caKey := testCA(t)

	pol := azcertificates.CertificatePolicy{
		IssuerParameters:          &azcertificates.IssuerParameters{Name: to.Ptr("Unknown")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=merge.example")},
	}
	op, err := c.CreateCertificate(ctx, "merged", azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil)
	if err != nil || *op.Status != "inProgress" {
		t.Fatalf("create: %v", err)
	}
	req, err := x509.ParseCertificateRequest(op.CSR)
	if err != nil || req.CheckSignature() != nil || req.Subject.CommonName != "merge.example" {
		t.Fatalf("csr: %v", err)
	}
	// A certificate for another key is refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	sign := func(pub crypto.PublicKey) []byte {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(9), Subject: req.Subject, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	if _, err := c.MergeCertificate(ctx, "merged", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{sign(&other.PublicKey)}}, nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("merge with a foreign key: %v", err)
	}
	leafDER := sign(req.PublicKey)
	m, err := c.MergeCertificate(ctx, "merged", azcertificates.MergeCertificateParameters{X509Certificates: [][]byte{leafDER, ca.Raw}}, nil)
	if err != nil || m.Policy == nil || string(m.CER) != string(leafDER) {
		t.Fatalf("merge: %v", err)
	}
	if op := pollOp(t, c, "merged"); *op.Status != "completed" || op.Target == nil {
		t.Fatalf("operation after merge: %+v", op)
	}
	opensslVerify(t, pemCert(ca.Raw), pemCert(leafDER), nil)
	if kp, _ := secretKeyPair(t, sc, "merged"); len(kp.Certificate) != 2 {
		t.Fatalf("merged secret holds %d certificates", len(kp.Certificate))
	}

	// Password-protected PFX: the stored secret has a blank password.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(11), Subject: pkix.Name{CommonName: "imported"}, NotBefore: time.Now().Add(-time.Minute),
		NotAfter: time.Now().Add(48 * time.Hour), DNSNames: []string{"imported.example"}}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	leaf, _ := x509.ParseCertificate(der)
	pfx, err := pkcs12.Modern.Encode(k, leaf, []*x509.Certificate{ca}, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	imp, err := c.ImportCertificate(ctx, "imported", azcertificates.ImportCertificateParameters{
		Base64EncodedCertificate: to.Ptr(base64.StdEncoding.EncodeToString(pfx)), Password: to.Ptr("s3cret")}, nil)
	if err != nil || string(imp.CER) != string(der) || *imp.Policy.X509CertificateProperties.Subject != "CN=imported" {
		t.Fatalf("import: %v", err)
	}
	s, err := sc.GetSecret(ctx, "imported", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*s.Value)
	if _, _, err := pkcs12.Decode(raw, "s3cret"); err == nil {
		t.Fatal("the stored secret still uses the import password")
	}
	if kp, _ := secretKeyPair(t, sc, "imported"); len(kp.Certificate) != 2 {
		t.Fatalf("imported secret holds %d certificates", len(kp.Certificate))
	}
	// Wrong password, garbage: Azure-shaped 400s.
	if _, err := c.ImportCertificate(ctx, "bad", azcertificates.ImportCertificateParameters{
		Base64EncodedCertificate: to.Ptr(base64.StdEncoding.EncodeToString(pfx)), Password: to.Ptr("nope")}, nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("wrong password: %v", err)
	}
	// PEM import with PKCS#8 key, chain order preserved.
	k8, _ := x509.MarshalPKCS8PrivateKey(k)
	pemIn := string(pemCert(ca.Raw)) + string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})) + string(pemCert(der))
	pi, err := c.ImportCertificate(ctx, "pemimport", azcertificates.ImportCertificateParameters{Base64EncodedCertificate: to.Ptr(pemIn), PreserveCertOrder: to.Ptr(true)}, nil)
	if err != nil || string(pi.CER) != string(der) || *pi.ContentType != "application/x-pem-file" {
		t.Fatalf("pem import: %v", err)
	}
	if _, ct := secretKeyPair(t, sc, "pemimport"); ct != "application/x-pem-file" {
		t.Fatal(ct)
	}
}

// TestCertificatesIssuersContactsRoutes: issuers and contacts, and the
// literal segments that win over certificate names.
func TestCertificatesIssuersContactsRoutes(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.certsClient("arca")
	if _, err := c.SetIssuer(ctx, "ca1", azcertificates.SetIssuerParameters{}, nil); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("issuer without provider: %v", err)
	}
	is, err := c.SetIssuer(ctx, "ca1", azcertificates.SetIssuerParameters{Provider: to.Ptr("Arca"),
		Credentials: &azcertificates.IssuerCredentials{AccountID: to.Ptr("a"), Password: to.Ptr("p")}}, nil)
	if err != nil || is.Credentials.Password != nil {
		t.Fatalf("set issuer: %v (password must not be returned)", err)
	}
	pol := azcertificates.CertificatePolicy{IssuerParameters: &azcertificates.IssuerParameters{Name: to.Ptr("ca1")},
		X509CertificateProperties: &azcertificates.X509CertificateProperties{Subject: to.Ptr("CN=via-issuer")}}
	if _, err := c.CreateCertificate(ctx, "viaissuer", azcertificates.CreateCertificateParameters{CertificatePolicy: &pol}, nil); err != nil {
		t.Fatalf("create through an Arca-provider issuer: %v", err)
	}
	if op := pollOp(t, c, "viaissuer"); *op.Status != "completed" {
		t.Fatalf("operation through an Arca-provider issuer: %s", *op.Status)
	}
	tok := f.token("https://vault.localhost:" + f.port() + "/.default")
	for _, p := range []string{"/certificates/ISSUERS", "/certificates/Contacts"} {
		resp, body := f.do("GET", f.vaultURL("arca")+p+"?api-version=7.4", tok, "")
		if p == "/certificates/ISSUERS" && (resp.StatusCode != 200 || !strings.Contains(body, "/certificates/issuers/ca1")) {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
		if p == "/certificates/Contacts" && (resp.StatusCode != 404 || !strings.Contains(body, "ContactsNotFound")) {
			t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
		}
	}
	resp, body := f.do("GET", f.vaultURL("arca")+"/certificates/nope?api-version=7.4", tok, "")
	if resp.StatusCode != 404 || !strings.Contains(body, `"CertificateNotFound"`) {
		t.Fatalf("missing certificate: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("POST", f.vaultURL("arca")+"/certificates/raw/create?api-version=7.4", tok,
		`{"policy":{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=raw"}}}`)
	if resp.StatusCode != 202 || resp.Header.Get("Location") == "" || !strings.Contains(body, `"status":"inProgress"`) {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	if _, err := c.SetContacts(ctx, azcertificates.Contacts{ContactList: []*azcertificates.Contact{{Email: to.Ptr("a@b.c")}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteContacts(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
