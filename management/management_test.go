package management

import (
	"reflect"
	"testing"

	"github.com/arcakv/arca/authz"
)

// TestBuiltinRolesAreAuthz: the built-in roles ARM serves carry exactly
// the permissions package authz decides with.
func TestBuiltinRolesAreAuthz(t *testing.T) {
	byID := authz.BuiltinByID()
	if len(BuiltinRoles) != len(byID) {
		t.Fatalf("%d built-in roles, authz has %d", len(BuiltinRoles), len(byID))
	}
	for _, r := range BuiltinRoles {
		a := byID[r.ID]
		if a == nil || a.Name != r.Name || r.Description == "" || !reflect.DeepEqual(r.authz(), a) {
			t.Errorf("%s: %+v, authz %+v", r.Name, r, a)
		}
	}
}

func TestInScope(t *testing.T) {
	sub := "/subscriptions/S"
	for _, c := range []struct {
		outer, scope string
		want         bool
	}{
		{sub, sub, true},
		{sub, sub + "/resourceGroups/rg", true},
		{"/subscriptions/s/resourcegroups/RG", sub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v", true},
		{sub + "/resourceGroups/rg", sub + "/resourceGroups/rg2", false},
		{sub + "/resourceGroups/rg", sub, false},
		{"/subscriptions/S2", sub, false},
	} {
		if got := InScope(c.outer, c.scope); got != c.want {
			t.Errorf("InScope(%s, %s) = %v", c.outer, c.scope, got)
		}
	}
}
