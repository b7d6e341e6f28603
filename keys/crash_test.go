package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/objects/objectstest"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

type crashEnv struct {
	s     *Service
	v     *arca.Vault
	store storage.Backend
	cr    *objectstest.Crasher
	clock *arca.ManualClock
	ctx   context.Context
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	ctx := context.Background()
	store, err := barrier.Open(ctx, memory.New(), bytes.Repeat([]byte{3}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cr := objectstest.NewCrasher(store, 0)
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	return &crashEnv{s: New(cr, soft.New(rand.Reader), store, clock, rand.Reader), v: &arca.Vault{Name: "v", TenantID: "t", RetentionDays: 7},
		store: store, cr: cr, clock: clock, ctx: ctx}
}

// keySnapshot is the state of key "k", comparable across environments.
type keySnapshot struct {
	State    string
	Versions int
	Tags     map[string]string
	Purges   int
	Policy   string // the rotation policy's actions and expiry, "" without one
}

func (e *crashEnv) snapshot(t *testing.T) keySnapshot {
	t.Helper()
	var s keySnapshot
	err := e.store.View(e.ctx, func(r storage.Reader) error {
		for _, st := range []string{"h", "d"} {
			b, err := r.Get("k/v/" + st + "/k")
			if err == storage.ErrNotFound {
				continue
			} else if err != nil {
				return err
			}
			var h struct {
				Item struct {
					Tags map[string]string `json:"tags"`
				} `json:"item"`
			}
			if err := json.Unmarshal(b, &h); err != nil {
				return err
			}
			s.State, s.Tags = st, h.Item.Tags
		}
		if err := r.Scan("k/v/v/k/", "", func(string, []byte) bool { s.Versions++; return true }); err != nil {
			return err
		}
		if err := r.Scan("pd/", "", func(k string, _ []byte) bool {
			if strings.HasSuffix(k, "/k/v/k") {
				s.Purges++
			}
			return true
		}); err != nil {
			return err
		}
		b, err := r.Get("kp/v/k")
		if err == storage.ErrNotFound {
			return nil
		} else if err != nil {
			return err
		}
		var p arca.RotationPolicy
		if err := json.Unmarshal(b, &p); err != nil {
			return err
		}
		pb, _ := json.Marshal(struct {
			A []arca.LifetimeAction
			E string
		}{p.LifetimeActions, p.ExpiryTime})
		s.Policy = string(pb)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var rotate30 = arca.RotationPolicy{ExpiryTime: "P90D", LifetimeActions: []arca.LifetimeAction{{TimeAfterCreate: "P30D", Action: "Rotate"}}}

func keyWithPolicy(t *testing.T, e *crashEnv) any {
	t.Helper()
	if _, err := e.s.CreateKey(e.ctx, e.v, "k", arca.KeyCreate{Kty: "EC", Tags: map[string]string{"a": "1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SetRotationPolicy(e.ctx, e.v, "k", rotate30); err != nil {
		t.Fatal(err)
	}
	return nil
}

func deletedKey(t *testing.T, e *crashEnv) any {
	keyWithPolicy(t, e)
	if _, err := e.s.DeleteKey(e.ctx, e.v, "k"); err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestCrashLeavesWholeKey: a crash at any write of a key's domain change
// leaves it fully before or fully after (a purged key never keeps its
// rotation policy, a restored key never lacks it), in one transaction.
func TestCrashLeavesWholeKey(t *testing.T) {
	cases := []struct {
		name  string
		setup func(*testing.T, *crashEnv) any
		op    func(*crashEnv, any) error
	}{
		{"purge", deletedKey, func(e *crashEnv, _ any) error { return e.s.PurgeKey(e.ctx, e.v, "k") }},
		{"restore", func(t *testing.T, e *crashEnv) any {
			keyWithPolicy(t, e)
			blob, err := e.s.BackupKey(e.ctx, e.v, "k")
			if err != nil {
				t.Fatal(err)
			}
			deletedKey(t, e)
			if err := e.s.PurgeKey(e.ctx, e.v, "k"); err != nil {
				t.Fatal(err)
			}
			return blob
		}, func(e *crashEnv, blob any) error { _, err := e.s.RestoreKey(e.ctx, e.v, blob.([]byte)); return err }},
		{"delete", keyWithPolicy, func(e *crashEnv, _ any) error { _, err := e.s.DeleteKey(e.ctx, e.v, "k"); return err }},
		{"recover", deletedKey, func(e *crashEnv, _ any) error { _, err := e.s.RecoverKey(e.ctx, e.v, "k"); return err }},
		{"rotate", keyWithPolicy, func(e *crashEnv, _ any) error { _, err := e.s.RotateKey(e.ctx, e.v, "k"); return err }},
		{"set rotation policy", func(t *testing.T, e *crashEnv) any {
			if _, err := e.s.CreateKey(e.ctx, e.v, "k", arca.KeyCreate{Kty: "EC"}); err != nil {
				t.Fatal(err)
			}
			return nil
		}, func(e *crashEnv, _ any) error { _, err := e.s.SetRotationPolicy(e.ctx, e.v, "k", rotate30); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := newCrashEnv(t)
			st := tc.setup(t, ref)
			before := ref.snapshot(t)
			ref.cr.Reset(0)
			if err := tc.op(ref, st); err != nil {
				t.Fatalf("without a crash: %v", err)
			}
			after := ref.snapshot(t)
			if reflect.DeepEqual(before, after) {
				t.Fatalf("the change changed nothing: %+v", after)
			}
			if n := ref.cr.Updates(); n != 1 {
				t.Errorf("the change ran %d transactions, want 1", n)
			}
			writes := ref.cr.Writes()
			for n := 1; n <= writes; n++ {
				e := newCrashEnv(t)
				st := tc.setup(t, e)
				e.cr.Reset(n)
				if err := tc.op(e, st); err == nil {
					t.Fatalf("crash at write %d/%d: the change reported success", n, writes)
				}
				if got := e.snapshot(t); !reflect.DeepEqual(got, before) && !reflect.DeepEqual(got, after) {
					t.Errorf("crash at write %d/%d left a partial state:\n got    %+v\n before %+v\n after  %+v", n, writes, got, before, after)
				}
			}
			e := newCrashEnv(t)
			st = tc.setup(t, e)
			e.cr.Reset(0)
			e.cr.Replay = true
			if err := tc.op(e, st); err != nil {
				t.Fatalf("with replayed transactions: %v", err)
			}
			if got := e.snapshot(t); !reflect.DeepEqual(got, after) {
				t.Errorf("with replayed transactions:\n got  %+v\n want %+v", got, after)
			}
		})
	}
}
