package deployment

import (
	"context"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/vaults"
)

// authzSource feeds the authorisation engine from the vaults (access
// policies, RBAC mode), the management plane (role assignments) and the
// directory (group membership).
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
// the built-in roles and the custom ones, keyed by lower-case GUID.
func (s *authzSource) Assignments(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	ras, err := s.mgmt.RoleAssignments(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := make([]authz.RoleAssignment, 0, len(ras))
	for _, ra := range ras {
		out = append(out, authz.RoleAssignment{Scope: ra.Scope, PrincipalID: ra.PrincipalID, RoleDefinitionID: ra.RoleDefinitionID})
	}
	defs, err := s.mgmt.RoleDefinitions(ctx)
	if err != nil {
		return nil, nil, err
	}
	roles := make(map[string]*authz.RoleDefinition, len(defs))
	for _, r := range defs {
		id := strings.ToLower(r.ID)
		roles[id] = &authz.RoleDefinition{ID: id, Name: r.Name, DataActions: r.DataActions, NotDataActions: r.NotDataActions}
	}
	return out, roles, nil
}

// Groups returns the groups objectID belongs to, transitively. The
// directory holds one tenant; a principal of another tenant has none.
func (s *authzSource) Groups(ctx context.Context, _ string, objectID string) ([]string, error) {
	return s.dir.MemberOf(ctx, objectID)
}

func (s *authzSource) Generation() uint64 {
	return s.vaults.Generation() + s.mgmt.Generation() + s.dir.Generation()
}
