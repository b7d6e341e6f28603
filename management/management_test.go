package management

import "testing"

func TestRoleActions(t *testing.T) {
	cases := []struct {
		role   RoleDefinition
		action string
		want   bool
	}{
		{Owner, "Microsoft.Authorization/roleAssignments/write", true},
		{Contributor, "Microsoft.Resources/subscriptions/resourceGroups/write", true},
		{Contributor, "Microsoft.Authorization/roleAssignments/write", false},
		{Contributor, "Microsoft.Authorization/roleAssignments/read", true},
		{Reader, "Microsoft.KeyVault/vaults/read", true},
		{Reader, "Microsoft.KeyVault/vaults/write", false},
		{KeyVaultContributor, "Microsoft.KeyVault/vaults/write", true},
		{KeyVaultContributor, "microsoft.keyvault/locations/deletedVaults/purge/action", true},
		{KeyVaultContributor, "Microsoft.Resources/subscriptions/resourceGroups/write", false},
		{KeyVaultContributor, "Microsoft.Resources/subscriptions/resourceGroups/read", true},
	}
	for _, c := range cases {
		if got := c.role.Allows(c.action); got != c.want {
			t.Errorf("%s %s: %v", c.role.Name, c.action, got)
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
