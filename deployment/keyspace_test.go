package deployment

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

// TestKeyspaceOwnsEveryRecord: after a deployment has written through every
// service (secrets, keys with a rotation policy, a certificate with
// contacts and an issuer, soft deletes with their purge schedule, the
// directory, the Resource Manager), every key in the store belongs to a
// registered owner, and purging a vault leaves no record of it.
func TestKeyspaceOwnsEveryRecord(t *testing.T) {
	ctx := context.Background()
	app, err := Open(ctx, t.TempDir(), Options{Clock: arca.NewManualClock(time.Unix(1_800_000_000, 0)), DefaultVault: "arca"})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	v := &arca.Vault{Name: "Doomed", TenantID: app.Facts.TenantID, SKU: "premium", RetentionDays: 7}
	if err := app.Vaults.CreateVault(ctx, v); err != nil {
		t.Fatal(err)
	}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	for _, n := range []string{"s1", "s2"} {
		_, err := app.Secrets.SetSecret(ctx, v, n, arca.SecretSet{Value: "arca-canary-keyspace"})
		must("set secret", err)
	}
	_, err = app.Secrets.DeleteSecret(ctx, v, "s2")
	must("delete secret", err)
	_, err = app.Keys.CreateKey(ctx, v, "k1", arca.KeyCreate{Kty: "EC", Curve: "P-256"})
	must("create key", err)
	_, err = app.Keys.SetRotationPolicy(ctx, v, "k1", arca.RotationPolicy{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Rotate"}}})
	must("rotation policy", err)
	_, err = app.Certs.SetContacts(ctx, v, arca.Contacts{Contacts: []arca.Contact{{Email: "ops@example.com"}}})
	must("contacts", err)
	_, err = app.Certs.SetIssuer(ctx, v, arca.Issuer{Name: "mine", Provider: "Test"})
	must("issuer", err)
	_, err = app.Certs.CreateCertificate(ctx, v, "c1", arca.CertificateCreate{Policy: &arca.CertificatePolicy{
		X509Props: &arca.X509Properties{Subject: "CN=c1"}, Issuer: &arca.IssuerParameters{Name: "Self"}}})
	must("create certificate", err)
	_, err = app.Certs.CreateCertificate(ctx, v, "pending", arca.CertificateCreate{Policy: &arca.CertificatePolicy{
		X509Props: &arca.X509Properties{Subject: "CN=p"}, Issuer: &arca.IssuerParameters{Name: "Unknown"}}})
	must("create pending certificate", err)

	var all []string
	must("scan", app.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, _ []byte) bool { all = append(all, k); return true })
	}))
	vaultKeys := 0
	for _, k := range all {
		if app.Keyspace.Owner(k) == "" {
			t.Errorf("no owner claims %q", k)
		}
		if strings.Contains(k, "/doomed/") || strings.HasSuffix(k, "/doomed") {
			vaultKeys++
		}
	}
	if vaultKeys < 10 {
		t.Fatalf("only %d records of the vault: the test wrote less than it meant to", vaultKeys)
	}

	must("delete vault", app.Vaults.DeleteVault(ctx, "Doomed"))
	must("purge vault", app.Vaults.PurgeDeletedVault(ctx, "Doomed"))
	must("scan after purge", app.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, _ []byte) bool {
			if strings.Contains(k, "/doomed/") || strings.HasSuffix(k, "/doomed") {
				t.Errorf("%q outlived its vault (owner %s)", k, app.Keyspace.Owner(k))
			}
			return true
		})
	}))
}

// TestKeyspaceHasEveryOwner: the wiring registers every service's claim
// without overlaps.
func TestKeyspaceHasEveryOwner(t *testing.T) {
	r, err := Keyspace()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Owners()) != 9 {
		t.Fatalf("owners: %v", r.Owners())
	}
}
