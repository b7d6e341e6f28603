package certificates

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/keystore/keystoretest"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/storage/memory"
)

// TestDueRenewalHappensOnce: two nodes share a store; node A judges an
// AutoRenew due and, before it writes, node B (the new leader) renews. A
// must not add a second version.
func TestDueRenewalHappensOnce(t *testing.T) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	mem := memory.New()
	node := func(wrap func(keystore.Keystore) keystore.Keystore) *Service {
		store, err := barrier.Open(ctx, mem, bytes.Repeat([]byte{7}, 32), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		ks := keys.New(store, soft.New(rand.Reader), store, clock, rand.Reader)
		return New(store, wrap(ks.Keystore), ks, secrets.New(store, store, clock, rand.Reader), store, clock, rand.Reader)
	}
	hook := &keystoretest.BeforeCreate{}
	a := node(func(k keystore.Keystore) keystore.Keystore { hook.Keystore = k; return hook })
	b := node(func(k keystore.Keystore) keystore.Keystore { return k })
	v := &arca.Vault{Name: "v", TenantID: "t", SKU: "standard", RetentionDays: 7}
	p := selfPolicy("CN=renew")
	p.LifetimeActions = []arca.CertLifetimeAction{{Trigger: arca.LifetimeTrigger{DaysBeforeExpiry: ptr(30)},
		Action: arca.LifetimeActionType{ActionType: arca.ActionAutoRenew}}}
	if _, err := a.CreateCertificate(ctx, v, "renew", arca.CertificateCreate{Policy: p}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(340 * 24 * time.Hour)
	var nb int
	hook.Before = func() {
		var err error
		if nb, err = b.RenewDue(ctx, oneVault{v: v}); err != nil {
			t.Error(err)
		}
	}
	na, err := a.RenewDue(ctx, oneVault{v: v})
	if err != nil {
		t.Fatal(err)
	}
	if na != 0 || nb != 1 {
		t.Fatalf("renewals: A %d, B %d; want B alone to renew", na, nb)
	}
	page, err := a.ListCertificateVersions(ctx, v, "renew", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 {
		t.Fatalf("%d versions after one due renewal", len(page.Items))
	}
}
