package keyspace

import (
	"context"
	"strings"
	"testing"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

func TestOverlappingClaimsAreRefused(t *testing.T) {
	r := &Registry{}
	if err := r.Add(Claim{Owner: "secrets", Prefixes: []string{"s/"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Claim{
		{Owner: "dup", Prefixes: []string{"s/"}},
		{Owner: "inside", Prefixes: []string{"s/x/"}},
		{Owner: "around", Prefixes: []string{"s"}},
		{Owner: "empty", Prefixes: []string{""}},
	} {
		err := r.Add(c)
		if err == nil || !strings.Contains(err.Error(), c.Owner) {
			t.Errorf("%s: %v", c.Owner, err)
		}
	}
	if err := r.Add(Claim{Owner: "sys", Prefixes: []string{"sys/"}}); err != nil {
		t.Fatalf("a distinct prefix sharing a first letter: %v", err)
	}
	if r.Owner("s/v/x") != "secrets" || r.Owner("sys/keyring") != "sys" || r.Owner("zz/") != "" {
		t.Fatal("Owner")
	}
}

func TestPurgeVaultRunsEveryOwnersPurge(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	r := &Registry{}
	for _, c := range []Claim{
		{Owner: "a", Prefixes: []string{"a/"}, Purge: UnderVault([]string{"a/"})},
		{Owner: "b", Prefixes: []string{"b/", "bc/"}, Purge: UnderVault([]string{"b/"}, "bc/")},
		{Owner: "global", Prefixes: []string{"g/"}},
	} {
		if err := r.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	keys := []string{"a/v/1", "a/v/2", "a/vv/1", "b/v/x/y", "bc/v", "bc/vv", "g/v/1"}
	if err := store.Update(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Put(k, []byte("x")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := store.Update(ctx, func(tx storage.Tx) error { return r.PurgeVault(tx, "V") }); err != nil {
		t.Fatal(err)
	}
	var left []string
	store.View(ctx, func(rd storage.Reader) error {
		return rd.Scan("", "", func(k string, _ []byte) bool { left = append(left, k); return true })
	})
	if strings.Join(left, ",") != "a/vv/1,bc/vv,g/v/1" {
		t.Fatalf("left after purging v: %v", left)
	}
}
