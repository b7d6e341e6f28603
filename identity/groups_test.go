package identity_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/arcakv/arca/identity"
)

// TestGroupsTransitiveMembership: membership is transitive through nested
// groups, cycles are refused, removal and deletion take effect at once and
// every change moves the generation (so authorisation caches drop).
func TestGroupsTransitiveMembership(t *testing.T) {
	ctx := context.Background()
	svc, _, sp, _, _ := newService(t)
	dir := svc.Dir
	outer, err := dir.CreateGroup(ctx, "Outer", "outer", "", sp.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := dir.CreateGroup(ctx, "Inner", "inner", "nested", "")
	if _, err := dir.CreateGroup(ctx, " ", "x", "", ""); !errors.Is(err, identity.ErrInvalidGroupArg) {
		t.Fatalf("blank name: %v", err)
	}
	gen := dir.Generation()
	if err := dir.AddMember(ctx, inner.ObjectID, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	if err := dir.AddMember(ctx, outer.ObjectID, inner.ObjectID); err != nil {
		t.Fatal(err)
	}
	if dir.Generation() == gen {
		t.Fatal("membership changes must move the generation")
	}
	got, _ := dir.MemberOf(ctx, sp.ObjectID)
	slices.Sort(got)
	want := []string{inner.ObjectID, outer.ObjectID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("memberOf = %v, want %v", got, want)
	}
	for name, err := range map[string]error{
		"duplicate":      dir.AddMember(ctx, inner.ObjectID, sp.ObjectID),
		"self":           dir.AddMember(ctx, inner.ObjectID, inner.ObjectID),
		"cycle":          dir.AddMember(ctx, inner.ObjectID, outer.ObjectID),
		"unknown member": dir.AddMember(ctx, inner.ObjectID, "00000000-0000-0000-0000-000000000001"),
		"unknown group":  dir.AddMember(ctx, "00000000-0000-0000-0000-000000000002", sp.ObjectID),
		"not a member":   dir.RemoveMember(ctx, outer.ObjectID, sp.ObjectID),
	} {
		want := map[string]error{"duplicate": identity.ErrMemberExists, "self": identity.ErrGroupCycle, "cycle": identity.ErrGroupCycle,
			"unknown member": identity.ErrObjectNotFound, "unknown group": identity.ErrGroupNotFound, "not a member": identity.ErrMemberNotFound}[name]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	// Deleting the inner group cuts the path to the outer one.
	if err := dir.DeleteGroup(ctx, inner.ObjectID); err != nil {
		t.Fatal(err)
	}
	if got, _ := dir.MemberOf(ctx, sp.ObjectID); len(got) != 0 {
		t.Fatalf("after deleting the inner group: %v", got)
	}
	if g, _ := dir.Group(ctx, outer.ObjectID); len(g.Members) != 0 || !slices.Equal(g.Owners, []string{sp.ObjectID}) {
		t.Fatalf("outer group: %+v", g)
	}
	if err := dir.AddMember(ctx, outer.ObjectID, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	if err := dir.RemoveMember(ctx, outer.ObjectID, sp.ObjectID); err != nil {
		t.Fatal(err)
	}
	if got, _ := dir.MemberOf(ctx, sp.ObjectID); len(got) != 0 {
		t.Fatalf("after removal: %v", got)
	}
}
