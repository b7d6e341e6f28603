package certificates

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/secrets"
)

func wantKind(t *testing.T, err error, k arca.Kind) {
	t.Helper()
	if err == nil || arca.KindOf(err) != k {
		t.Fatalf("error %v, want kind %v", err, k)
	}
}

// TestIssuersAndContacts: issuer and contact records, each change one
// read-modify-write transaction.
func TestIssuersAndContacts(t *testing.T) {
	e := newCrashEnv(t)
	s, v, ctx, clock := e.s, e.v, e.ctx, e.s.Clock.(*arca.ManualClock)
	_, err := s.SetIssuer(ctx, v, arca.Issuer{Name: "Self", Provider: "x"})
	wantKind(t, err, arca.KindInvalid)
	_, err = s.SetIssuer(ctx, v, arca.Issuer{Name: "i"})
	wantKind(t, err, arca.KindInvalid)
	_, err = s.SetIssuer(ctx, v, arca.Issuer{Name: "a b", Provider: "x"})
	wantKind(t, err, arca.KindInvalid)
	is, err := s.SetIssuer(ctx, v, arca.Issuer{Name: "i", Provider: "DigiCert"})
	if err != nil || !*is.Attributes.Enabled || is.Attributes.Created != clock.Now().Unix() {
		t.Fatalf("set issuer = %+v, %v", is, err)
	}
	created := is.Attributes.Created
	clock.Advance(time.Minute)
	if is, err = s.SetIssuer(ctx, v, arca.Issuer{Name: "I", Provider: "OneCert"}); err != nil || is.Attributes.Created != created {
		t.Fatalf("replace issuer = %+v, %v; want the creation date kept", is, err)
	}
	empty := ""
	_, err = s.UpdateIssuer(ctx, v, "i", arca.IssuerUpdate{Provider: &empty})
	wantKind(t, err, arca.KindInvalid)
	_, err = s.UpdateIssuer(ctx, v, "none", arca.IssuerUpdate{Provider: &empty})
	wantKind(t, err, arca.KindNotFound)
	p, off := "Arca", false
	if is, err = s.UpdateIssuer(ctx, v, "i", arca.IssuerUpdate{Provider: &p, Enabled: &off, Credentials: &arca.IssuerCredentials{}, OrgDetails: &arca.OrganizationDetails{}}); err != nil || is.Provider != "Arca" || *is.Attributes.Enabled {
		t.Fatalf("update issuer = %+v, %v", is, err)
	}
	if _, err := s.SetIssuer(ctx, v, arca.Issuer{Name: "j", Provider: "x"}); err != nil {
		t.Fatal(err)
	}
	page, err := s.ListIssuers(ctx, v, 1, "")
	if err != nil || len(page.Items) != 1 || page.Next == "" {
		t.Fatalf("issuers page 1 = %+v, %v", page, err)
	}
	if page, err = s.ListIssuers(ctx, v, 1, page.Next); err != nil || len(page.Items) != 1 || page.Items[0].Name != "j" {
		t.Fatalf("issuers page 2 = %+v, %v", page, err)
	}
	if is, err := s.DeleteIssuer(ctx, v, "j"); err != nil || is.Name != "j" {
		t.Fatalf("delete issuer = %+v, %v", is, err)
	}
	_, err = s.DeleteIssuer(ctx, v, "j")
	wantKind(t, err, arca.KindNotFound)
	_, err = s.GetIssuer(ctx, v, "a b")
	wantKind(t, err, arca.KindInvalid)

	_, err = s.GetContacts(ctx, v)
	wantKind(t, err, arca.KindNotFound)
	_, err = s.DeleteContacts(ctx, v)
	wantKind(t, err, arca.KindNotFound)
	_, err = s.SetContacts(ctx, v, arca.Contacts{})
	wantKind(t, err, arca.KindInvalid)
	_, err = s.SetContacts(ctx, v, arca.Contacts{Contacts: []arca.Contact{{Name: "no mail"}}})
	wantKind(t, err, arca.KindInvalid)
	if _, err := s.SetContacts(ctx, v, arca.Contacts{Contacts: []arca.Contact{{Email: "a@b.c"}}}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.DeleteContacts(ctx, v); err != nil || c.Contacts[0].Email != "a@b.c" {
		t.Fatalf("delete contacts = %+v, %v", c, err)
	}
}

// TestCertificateLifecycle: a certificate's key and secret are the keys and
// secrets services' objects, created, deleted (with the same dates),
// recovered and purged with it; lists, pending versions and restore
// conflicts.
func TestCertificateLifecycle(t *testing.T) {
	e := newCrashEnv(t)
	s, v, ctx := e.s, e.v, e.ctx
	ks := s.Keys.(*keys.Service)
	ss := s.Secrets.(*secrets.Service)

	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Unix(1_700_000_000, 0), NotAfter: time.Unix(1_900_000_000, 0), KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	caCert, _ := x509.ParseCertificate(der)
	p := selfPolicy("CN=ca-issued")
	p.Issuer.Name = arca.IssuerArca
	_, err := s.CreateCertificate(ctx, v, "byca", arca.CertificateCreate{Policy: p})
	wantKind(t, err, arca.KindInvalid) // no CA in this deployment
	s.CA = StaticCA{Cert: caCert, Key: caKey}
	if _, err := s.CreateCertificate(ctx, v, "byca", arca.CertificateCreate{Policy: p}); err != nil {
		t.Fatal(err)
	}
	b, err := s.GetCertificate(ctx, v, "byca", "")
	if err != nil || len(b.Chain) != 1 {
		t.Fatalf("CA-issued = %+v, %v", b, err)
	}

	// A pending first issuance is listed and readable, disabled.
	pp := selfPolicy("CN=pending")
	pp.Issuer.Name = arca.IssuerUnknown
	op, err := s.CreateCertificate(ctx, v, "pending", arca.CertificateCreate{Policy: pp})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateCertificate(ctx, v, "pending", arca.CertificateCreate{Policy: pp})
	wantKind(t, err, arca.KindConflict)
	if pb, err := s.GetCertificate(ctx, v, "pending", ""); err != nil || pb.Version != op.Version || pb.Attributes.IsEnabled() {
		t.Fatalf("pending = %+v, %v", pb, err)
	}
	page, err := s.ListCertificates(ctx, v, 0, "", true)
	if err != nil || len(page.Items) != 2 || page.Items[1].Name != "pending" {
		t.Fatalf("list with pending = %+v, %v", page, err)
	}
	if page, err := s.ListCertificates(ctx, v, 0, "", false); err != nil || len(page.Items) != 1 {
		t.Fatalf("list = %+v, %v", page, err)
	}
	if pol, err := s.UpdateCertificatePolicy(ctx, v, "pending", arca.CertificatePolicy{X509Props: &arca.X509Properties{Subject: "CN=changed"}}); err != nil || pol.X509Props.Subject != "CN=changed" {
		t.Fatalf("update pending policy = %+v, %v", pol, err)
	}
	if dop, err := s.DeleteCertificateOperation(ctx, v, "pending"); err != nil || dop.Version != op.Version {
		t.Fatalf("delete operation = %+v, %v", dop, err)
	}
	_, err = s.GetCertificatePolicy(ctx, v, "pending")
	wantKind(t, err, arca.KindNotFound)
	_, err = s.DeleteCertificateOperation(ctx, v, "pending")
	wantKind(t, err, arca.KindNotFound)
	_, err = s.UpdateCertificatePolicy(ctx, v, "pending", arca.CertificatePolicy{})
	wantKind(t, err, arca.KindNotFound)

	// The key and secret are the services' managed objects.
	if _, err := s.CreateCertificate(ctx, v, "c", arca.CertificateCreate{Policy: selfPolicy("CN=c")}); err != nil {
		t.Fatal(err)
	}
	kv, err := ks.GetKey(ctx, v, "c", "")
	if err != nil || !kv.Managed {
		t.Fatalf("key = %+v, %v", kv, err)
	}
	if _, err := ks.DeleteKey(ctx, v, "c"); arca.KindOf(err) != arca.KindForbidden {
		t.Fatalf("deleting a certificate's key through the keys API = %v, want 403", err)
	}
	if sv, err := ss.GetSecret(ctx, v, "c", ""); err != nil || !sv.Managed || sv.Version != kv.Version {
		t.Fatalf("secret = %+v, %v", sv, err)
	}
	if vs, err := s.ListCertificateVersions(ctx, v, "c", 0, ""); err != nil || len(vs.Items) != 1 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	d, err := s.DeleteCertificate(ctx, v, "c")
	if err != nil || d.Policy == nil {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	dk, err := ks.GetDeletedKey(ctx, v, "c")
	if err != nil || dk.Deletion != d.Deletion {
		t.Fatalf("deleted key = %+v, %v; want the certificate's dates %+v", dk, err, d.Deletion)
	}
	if ds, err := ss.GetDeletedSecret(ctx, v, "c"); err != nil || ds.Deletion != d.Deletion {
		t.Fatalf("deleted secret = %+v, %v", ds, err)
	}
	if gd, err := s.GetDeletedCertificate(ctx, v, "c"); err != nil || gd.Deletion != d.Deletion || gd.Policy == nil {
		t.Fatalf("get deleted = %+v, %v", gd, err)
	}
	if ld, err := s.ListDeletedCertificates(ctx, v, 0, ""); err != nil || len(ld.Items) != 1 {
		t.Fatalf("list deleted = %+v, %v", ld, err)
	}
	_, err = s.CreateCertificate(ctx, v, "c", arca.CertificateCreate{Policy: selfPolicy("CN=c")})
	wantKind(t, err, arca.KindConflict)
	_, err = s.DeleteCertificate(ctx, v, "c")
	wantKind(t, err, arca.KindNotFound)
	pv := *v
	pv.PurgeProtection = true
	wantKind(t, s.PurgeCertificate(ctx, &pv, "c"), arca.KindForbidden)
	if _, err := ks.GetDeletedKey(ctx, v, "c"); err != nil {
		t.Fatalf("a refused purge took the key: %v", err)
	}
	if _, err := s.RecoverCertificate(ctx, v, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := ks.GetKey(ctx, v, "c", ""); err != nil {
		t.Fatalf("recovered key: %v", err)
	}
	_, err = s.RecoverCertificate(ctx, v, "c")
	wantKind(t, err, arca.KindNotFound)

	// Restore refuses a name in use and malformed blobs.
	blob, err := s.BackupCertificate(ctx, v, "c")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.RestoreCertificate(ctx, v, blob)
	wantKind(t, err, arca.KindConflict)
	_, err = s.RestoreCertificate(ctx, v, []byte("{"))
	wantKind(t, err, arca.KindInvalid)
	_, err = s.BackupCertificate(ctx, v, "none")
	wantKind(t, err, arca.KindNotFound)
	wantKind(t, s.PurgeCertificate(ctx, v, "c"), arca.KindNotFound)
}

// TestEmailContactsOnce: an EmailContacts action is reported once per
// version, with the vault's contacts.
func TestEmailContactsOnce(t *testing.T) {
	e := newCrashEnv(t)
	s, v, ctx := e.s, e.v, e.ctx
	var events []Event
	s.Notify = func(ev Event) { events = append(events, ev) }
	if _, err := s.SetContacts(ctx, v, arca.Contacts{Contacts: []arca.Contact{{Email: "ops@example.com"}}}); err != nil {
		t.Fatal(err)
	}
	p := selfPolicy("CN=mail")
	p.LifetimeActions = []arca.CertLifetimeAction{{Trigger: arca.LifetimeTrigger{DaysBeforeExpiry: ptr(30)},
		Action: arca.LifetimeActionType{ActionType: arca.ActionEmailContacts}}}
	if _, err := s.CreateCertificate(ctx, v, "mail", arca.CertificateCreate{Policy: p}); err != nil {
		t.Fatal(err)
	}
	s.Clock.(*arca.ManualClock).Advance(340 * 24 * time.Hour)
	for i := 0; i < 2; i++ {
		if n, err := s.RenewDue(ctx, oneVault{v: v}); err != nil || n != 0 {
			t.Fatalf("renew = %d, %v", n, err)
		}
	}
	if len(events) != 1 || events[0].Action != arca.ActionEmailContacts || len(events[0].Contacts) != 1 {
		t.Fatalf("events = %+v", events)
	}
}
