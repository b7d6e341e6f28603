package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func respErr(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want HTTP %d %s", err, status, code)
	}
	if re.StatusCode != status || (code != "" && re.ErrorCode != code) {
		t.Fatalf("got HTTP %d %s, want %d %s", re.StatusCode, re.ErrorCode, status, code)
	}
}

// TestSecretsLifecycleGoSDK drives every secrets operation with the official
// Go SDK over verified TLS, challenge verification on.
func TestSecretsLifecycleGoSDK(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.secretsClient(f.credential(), "arca")

	set, err := c.SetSecret(ctx, "Db-Password", azsecrets.SetSecretParameters{
		Value: to.Ptr("hunter2"), ContentType: to.Ptr("text/plain"), Tags: map[string]*string{"env": to.Ptr("dev")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *set.Value != "hunter2" || set.ID.Name() != "Db-Password" || len(set.ID.Version()) != 32 {
		t.Fatalf("set: %+v id=%s", set.Secret, *set.ID)
	}
	if !strings.HasPrefix(string(*set.ID), f.vaultURL("arca")+"/secrets/Db-Password/") {
		t.Fatalf("id %s not rooted at the canonical vault URL", *set.ID)
	}
	if *set.Attributes.RecoveryLevel != "Recoverable+Purgeable" || *set.Attributes.RecoverableDays != 90 {
		t.Fatalf("recovery attributes: %s %d", *set.Attributes.RecoveryLevel, *set.Attributes.RecoverableDays)
	}
	v1 := set.ID.Version()

	f.clock.Advance(time.Second)
	set2, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("hunter3")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := c.GetSecret(ctx, "DB-PASSWORD", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *latest.Value != "hunter3" || latest.ID.Version() != set2.ID.Version() {
		t.Fatalf("latest = %s %s", *latest.Value, *latest.ID)
	}
	old, err := c.GetSecret(ctx, "db-password", v1, nil)
	if err != nil || *old.Value != "hunter2" || *old.ContentType != "text/plain" || *old.Tags["env"] != "dev" {
		t.Fatalf("old version: %+v %v", old, err)
	}
	_, err = c.GetSecret(ctx, "db-password", strings.Repeat("0", 32), nil)
	respErr(t, err, 404, "SecretNotFound")
	_, err = c.GetSecret(ctx, "missing", "", nil)
	respErr(t, err, 404, "SecretNotFound")

	// Versions.
	var versions []string
	for p := c.NewListSecretPropertiesVersionsPager("db-password", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Value {
			versions = append(versions, it.ID.Version())
		}
	}
	if len(versions) != 2 {
		t.Fatalf("versions = %v", versions)
	}

	// Update, disable, and the 403 on get.
	upd, err := c.UpdateSecretProperties(ctx, "db-password", v1, azsecrets.UpdateSecretPropertiesParameters{
		ContentType:      to.Ptr("application/json"),
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false), Expires: to.Ptr(time.Unix(4102444800, 0))},
		Tags:             map[string]*string{"owner": to.Ptr("me")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Value != nil || *upd.ContentType != "application/json" || *upd.Attributes.Enabled || upd.Attributes.Expires.Unix() != 4102444800 {
		t.Fatalf("update: %+v", upd.Secret)
	}
	_, err = c.GetSecret(ctx, "db-password", v1, nil)
	respErr(t, err, 403, "Forbidden")

	// Listing pages through nextLink (default page size 25).
	for i := 0; i < 30; i++ {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("bulk-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	names, pages := map[string]bool{}, 0
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.Value {
			if it.ID.Version() != "" {
				t.Fatalf("list item id has a version: %s", *it.ID)
			}
			names[it.ID.Name()] = true
		}
	}
	if len(names) != 31 || pages != 2 {
		t.Fatalf("listed %d names in %d pages, want 31 in 2", len(names), pages)
	}

	// Backup, delete, deleted get/list, conflict, recover, purge, restore.
	bk, err := c.BackupSecret(ctx, "db-password", nil)
	if err != nil || len(bk.Value) == 0 {
		t.Fatal(err)
	}
	if strings.Contains(string(bk.Value), "hunter") {
		t.Fatal("backup blob holds the secret in plaintext")
	}
	del, err := c.DeleteSecret(ctx, "db-password", nil)
	if err != nil {
		t.Fatal(err)
	}
	wantPurge := f.clock.Now().Add(90 * 24 * time.Hour).Unix()
	if del.ScheduledPurgeDate.Unix() != wantPurge || del.DeletedDate.Unix() != f.clock.Now().Unix() || del.Value != nil {
		t.Fatalf("deleted: purge=%v deleted=%v", del.ScheduledPurgeDate, del.DeletedDate)
	}
	if *del.RecoveryID != f.vaultURL("arca")+"/deletedsecrets/db-password" {
		t.Fatalf("recoveryId = %s", *del.RecoveryID)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	respErr(t, err, 404, "SecretNotFound")
	_, err = c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("again")}, nil)
	respErr(t, err, 409, "Conflict")
	if !strings.Contains(err.Error(), "is currently in a deleted but recoverable state") {
		t.Fatalf("conflict message: %v", err)
	}
	gd, err := c.GetDeletedSecret(ctx, "db-password", nil)
	if err != nil || gd.ID.Version() != set2.ID.Version() || gd.Attributes.Created.Unix() != set2.Attributes.Created.Unix() {
		t.Fatalf("get deleted: %+v %v", gd, err)
	}
	n := 0
	for p := c.NewListDeletedSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 1 {
		t.Fatalf("deleted list = %d", n)
	}
	rec, err := c.RecoverDeletedSecret(ctx, "db-password", nil)
	if err != nil || rec.ID.Version() != set2.ID.Version() {
		t.Fatalf("recover: %v", err)
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil)
	respErr(t, err, 409, "Conflict")
	if _, err := c.DeleteSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "db-password", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDeletedSecret(ctx, "db-password", nil)
	respErr(t, err, 404, "SecretNotFound")
	res, err := c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: bk.Value}, nil)
	if err != nil || res.ID.Version() != set2.ID.Version() {
		t.Fatalf("restore: %v", err)
	}
	got, err := c.GetSecret(ctx, "db-password", v1, nil)
	respErr(t, err, 403, "Forbidden") // v1 was disabled before the backup
	_ = got
	got, err = c.GetSecret(ctx, "db-password", "", nil)
	if err != nil || *got.Value != "hunter3" {
		t.Fatalf("restored latest: %v", err)
	}
	_, err = c.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: []byte("garbage")}, nil)
	respErr(t, err, 400, "Malformed backup blob")
}

// TestPurgeSchedulerOnInjectedClock: a soft-deleted secret is purged once
// the vault's retention has passed on the injected clock, not before.
func TestPurgeSchedulerOnInjectedClock(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.secretsClient(f.credential(), "arca")
	if _, err := c.SetSecret(ctx, "temp", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, "temp", nil); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(90*24*time.Hour - time.Second)
	if n, err := f.r.App.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("purged %d before retention ended (%v)", n, err)
	}
	c = f.secretsClient(f.credential(), "arca") // the old token expired on the server's clock
	if _, err := c.GetDeletedSecret(ctx, "temp", nil); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	if n, err := f.r.App.PurgeExpired(ctx); err != nil || n != 1 {
		t.Fatalf("purged %d at retention end (%v)", n, err)
	}
	c = f.secretsClient(f.credential(), "arca")
	_, err := c.GetDeletedSecret(ctx, "temp", nil)
	respErr(t, err, 404, "SecretNotFound")
	if _, err := c.SetSecret(ctx, "temp", azsecrets.SetSecretParameters{Value: to.Ptr("new")}, nil); err != nil {
		t.Fatalf("name not reusable after purge: %v", err)
	}
}

// TestPurgeProtection: purge is refused while the vault is protected.
func TestPurgeProtectionAndRetention(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	f.createVault(vaultWith("guarded", f.r.App.Facts.TenantID, 7, true))
	c := f.secretsClient(f.credential(), "guarded")
	s, err := c.SetSecret(ctx, "s", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *s.Attributes.RecoveryLevel != "CustomizedRecoverable" || *s.Attributes.RecoverableDays != 7 {
		t.Fatalf("recovery: %s %d", *s.Attributes.RecoveryLevel, *s.Attributes.RecoverableDays)
	}
	d, err := c.DeleteSecret(ctx, "s", nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.ScheduledPurgeDate.Sub(*d.DeletedDate) != 7*24*time.Hour {
		t.Fatalf("retention: %v", d.ScheduledPurgeDate.Sub(*d.DeletedDate))
	}
	_, err = c.PurgeDeletedSecret(ctx, "s", nil)
	respErr(t, err, 403, "Forbidden")
}

func TestUnknownVaultIs404(t *testing.T) {
	f := startArca(t)
	resp, body := f.do(http.MethodGet, f.vaultURL("nosuchvault")+"/secrets?api-version=7.4", "", "")
	if resp.StatusCode != 404 || !strings.Contains(body, `"code":"VaultNotFound"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}
