package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"github.com/arcakv/arca/vaults"
)

// TestNotifyFiresOnceBeforeExpiry: a Notify action fires once per version
// when the injected clock reaches expiry minus timeBeforeExpiry.
func TestNotifyFiresOnceBeforeExpiry(t *testing.T) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	store, _ := barrier.Open(ctx, memory.New(), make([]byte, 32), rand.Reader)
	vs := vaults.New(store, clock, nil)
	if err := vs.CreateVault(ctx, &arca.Vault{Name: "vvv", TenantID: "t"}); err != nil {
		t.Fatal(err)
	}
	v, _ := vs.Vault(ctx, "vvv")
	s := New(store, soft.New(rand.Reader), store, clock, rand.Reader)
	var events []string
	s.Notify = func(vault, name, version string, _ time.Time) { events = append(events, vault+"/"+name+"/"+version) }
	exp := clock.Now().AddDate(0, 0, 60).Unix()
	k, err := s.CreateKey(ctx, v, "n", arca.KeyCreate{Kty: "EC", Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRotationPolicy(ctx, v, "n", arca.RotationPolicy{LifetimeActions: []arca.LifetimeAction{{TimeBeforeExpiry: "P30D", Action: "Notify"}}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(30*24*time.Hour - time.Second)
	if _, err := s.RotateDue(ctx, vs); err != nil || len(events) != 0 {
		t.Fatalf("early: %v %v", events, err)
	}
	clock.Advance(time.Second)
	s.RotateDue(ctx, vs)
	s.RotateDue(ctx, vs)
	if len(events) != 1 || events[0] != "vvv/n/"+k.Version {
		t.Fatalf("events = %v", events)
	}
}

// TestScheduledPurgeRemovesRotationPolicy: the purge scheduler takes a
// key's rotation policy with it.
func TestScheduledPurgeRemovesRotationPolicy(t *testing.T) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	store, _ := barrier.Open(ctx, memory.New(), make([]byte, 32), rand.Reader)
	v := &arca.Vault{Name: "vvv", TenantID: "t", RetentionDays: 7}
	s := New(store, soft.New(rand.Reader), store, clock, rand.Reader)
	if _, err := s.CreateKey(ctx, v, "p", arca.KeyCreate{Kty: "EC"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetRotationPolicy(ctx, v, "p", arca.RotationPolicy{LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Rotate"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteKey(ctx, v, "p"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(7 * 24 * time.Hour)
	n, err := objects.PurgeExpired(ctx, store, clock.Now(), map[string]objects.SideRecords{"k": PurgeSideRecords})
	if err != nil || n != 1 {
		t.Fatalf("purged %d: %v", n, err)
	}
	if err := store.View(ctx, func(r storage.Reader) error { _, err := r.Get(policyKey(v, "p")); return err }); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("rotation policy survived the purge: %v", err)
	}
}
