package deployment

import (
	"context"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/vaults"
)

// authzSource feeds the authorisation engine, the one decision point of the
// data plane and the Resource Manager, from the vaults (access policies,
// RBAC mode), the management plane (role assignments, built-in and custom
// role definitions) and the directory (group membership). Its generation
// moves with every write through this process and, while their Follow runs,
// with the store's reports of everyone else's.
type authzSource struct {
	vaults *vaults.Service
	mgmt   *management.Service
	dir    *identity.Directory
}

var _ authz.Source = (*authzSource)(nil)

// Access reads the vault's current access settings. The engine calls it
// after reading Generation, so a decision is never taken on a vault the
// request fetched before a concurrent change (and then cached under the
// generation that change produced).
func (s *authzSource) Access(ctx context.Context, v *arca.Vault) (authz.VaultAccess, error) {
	cur, err := s.vaults.Vault(ctx, v.Name)
	if err != nil {
		return authz.VaultAccess{}, err
	}
	v = cur
	a := authz.VaultAccess{RBAC: v.EnableRBAC, Scope: v.ResourceID(), Location: v.Location}
	for _, p := range v.AccessPolicies {
		a.Policies = append(a.Policies, authz.AccessPolicy{TenantID: p.TenantID, ObjectID: p.ObjectID, ApplicationID: p.ApplicationID,
			Keys: p.Permissions.Keys, Secrets: p.Permissions.Secrets, Certificates: p.Permissions.Certificates})
	}
	return a, nil
}

// Assignments returns every role assignment with the roles they may name:
// the built-in roles and the custom ones, keyed by lower-case GUID, read in
// one snapshot, with the records that do not decode marked Unreadable
// (management.Service.Grants).
func (s *authzSource) Assignments(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return s.mgmt.Grants(ctx)
}

// Groups returns the groups objectID belongs to, transitively. The
// directory holds one tenant; a principal of another tenant has none.
func (s *authzSource) Groups(ctx context.Context, _ string, objectID string) ([]string, error) {
	return s.dir.MemberOf(ctx, objectID)
}

func (s *authzSource) Generation() uint64 {
	return s.vaults.Generation() + s.mgmt.Generation() + s.dir.Generation()
}
