package keys

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/keystore/keystoretest"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/storage/memory"
)

// TestDueRotationHappensOnce: three nodes share a store; a rotation falls
// due on the injected clock. Node A judges it due, and before A writes its
// new version the leadership moves: node B runs the job and rotates. A must
// not add a second version, and node C, running the job afterwards, finds
// nothing due. One rotation in all.
func TestDueRotationHappensOnce(t *testing.T) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	mem := memory.New()
	root := make([]byte, 32)
	node := func(ks keystore.Keystore) *Service {
		store, err := barrier.Open(ctx, mem, root, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return New(store, ks, store, clock, rand.Reader)
	}
	hook := &keystoretest.BeforeCreate{Keystore: soft.New(rand.Reader)}
	a, b, c := node(hook), node(soft.New(rand.Reader)), node(soft.New(rand.Reader))
	v := &arca.Vault{Name: "vvv", TenantID: "t", RetentionDays: 7}
	vs := oneVault{v: v}
	k, err := a.CreateKey(ctx, v, "rot", arca.KeyCreate{Kty: "EC"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetRotationPolicy(ctx, v, "rot", arca.RotationPolicy{
		LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Rotate"}}}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * 24 * time.Hour)
	var nb int
	hook.Before = func() {
		var err error
		if nb, err = b.RotateDue(ctx, vs); err != nil {
			t.Error(err)
		}
	}
	na, err := a.RotateDue(ctx, vs)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := c.RotateDue(ctx, vs)
	if err != nil {
		t.Fatal(err)
	}
	if na+nb+nc != 1 || nb != 1 {
		t.Fatalf("rotations: A %d, B %d, C %d; want B alone to rotate once", na, nb, nc)
	}
	versions, err := a.ListKeyVersions(ctx, v, "rot", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions.Items) != 2 {
		t.Fatalf("%d versions after one due rotation (first %s)", len(versions.Items), k.Version)
	}
}
