package management

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"sort"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/storage"
)

// Role types, as ARM's properties.type (roleType) of a role definition.
const (
	BuiltInRole = "BuiltInRole"
	CustomRole  = "CustomRole"
)

// Limits of a custom role, as Azure documents them.
const (
	maxRoleNameLen         = 512
	maxRoleDescriptionLen  = 2048
	maxRoleAssignableScope = 2000
)

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// IsCustom reports whether r is a custom role (one PutRoleDefinition stored).
func (r RoleDefinition) IsCustom() bool { return r.RoleType == CustomRole }

// Type is ARM's properties.type of r: BuiltInRole or CustomRole.
func (r RoleDefinition) Type() string {
	if r.IsCustom() {
		return CustomRole
	}
	return BuiltInRole
}

// AssignableAt reports whether r may be assigned at scope: a built-in role
// anywhere, a custom role at or below one of its assignable scopes.
func (r RoleDefinition) AssignableAt(scope string) bool {
	if !r.IsCustom() {
		return true
	}
	for _, a := range r.AssignableScopes {
		if InScope(a, scope) {
			return true
		}
	}
	return false
}

// VisibleAt reports whether ARM shows r at scope (a GET or a list of
// {scope}/providers/Microsoft.Authorization/roleDefinitions): where it is
// assignable, and also at a scope above one of its assignable scopes (a
// subscription shows the custom roles of its resource groups). The tenant
// scope "" shows every role.
func (r RoleDefinition) VisibleAt(scope string) bool {
	if r.AssignableAt(scope) {
		return true
	}
	for _, a := range r.AssignableScopes {
		if InScope(scope, a) {
			return true
		}
	}
	return false
}

// RoleDefinitionNotFound is ARM's 404 for an unknown role definition.
func RoleDefinitionNotFound(id string) error {
	return arca.Errorf(arca.KindNotFound, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", authz.RoleGUID(id))
}

// builtinNotModifiable refuses a write of a built-in role's GUID.
func builtinNotModifiable(r RoleDefinition) error {
	return arca.Errorf(arca.KindForbidden, "RoleDefinitionUpdateNotAllowed",
		"The role definition '%s' (%s) is a built-in role; built-in roles cannot be created, updated or deleted.", r.Name, r.ID)
}

// roleIn returns the built-in or custom role id (GUID or full id) as r sees
// the store; KindNotFound when there is none.
func roleIn(r storage.Reader, id string) (RoleDefinition, error) {
	if b, ok := RoleByID(id); ok {
		return b, nil
	}
	g := strings.ToLower(authz.RoleGUID(id))
	if !guidRE.MatchString(g) {
		return RoleDefinition{}, RoleDefinitionNotFound(id)
	}
	var rd RoleDefinition
	if err := storage.GetJSON(r, rdPrefix+g, &rd); errors.Is(err, storage.ErrNotFound) {
		return RoleDefinition{}, RoleDefinitionNotFound(id)
	} else if err != nil {
		return RoleDefinition{}, err
	}
	return rd, nil
}

// RoleDefinition returns the built-in or custom role with the GUID id (or a
// full …/roleDefinitions/<GUID> id); 404 RoleDefinitionDoesNotExist when
// there is none.
func (s *Service) RoleDefinition(ctx context.Context, id string) (*RoleDefinition, error) {
	var rd RoleDefinition
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var err error
		rd, err = roleIn(r, id)
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &rd, nil
}

// RoleDefinitions lists the built-in roles, then the custom roles by name.
func (s *Service) RoleDefinitions(ctx context.Context) ([]*RoleDefinition, error) {
	out := make([]*RoleDefinition, 0, len(BuiltinRoles))
	for i := range BuiltinRoles {
		r := BuiltinRoles[i]
		out = append(out, &r)
	}
	var custom []*RoleDefinition
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(rdPrefix, "", func(_ string, b []byte) bool {
			var rd RoleDefinition
			if json.Unmarshal(b, &rd) == nil {
				custom = append(custom, &rd)
			}
			return true
		})
	})
	if err != nil {
		return nil, wrap(err)
	}
	sort.Slice(custom, func(i, j int) bool { return strings.ToLower(custom[i].Name) < strings.ToLower(custom[j].Name) })
	return append(out, custom...), nil
}

func invalidRole(format string, args ...any) error {
	return arca.Errorf(arca.KindInvalid, "InvalidRoleDefinition", format, args...)
}

func invalidScope(format string, args ...any) error {
	return arca.Errorf(arca.KindInvalid, "InvalidAssignableScope", format, args...)
}

// splitScope parses /subscriptions/S[/resourceGroups/G[/providers/NS/type/
// name[/type/name]…]] into the subscription, the group and the resource
// path below the group; ok is false for anything else.
func splitScope(scope string) (sub, group string, resource []string, ok bool) {
	if !strings.HasPrefix(scope, "/") {
		return "", "", nil, false
	}
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	for _, p := range parts {
		if p == "" {
			return "", "", nil, false
		}
	}
	if len(parts) < 2 || !strings.EqualFold(parts[0], "subscriptions") {
		return "", "", nil, false
	}
	if len(parts) == 2 {
		return parts[1], "", nil, true
	}
	if len(parts) < 4 || !strings.EqualFold(parts[2], "resourceGroups") {
		return "", "", nil, false
	}
	resource = parts[4:]
	if len(resource) > 0 && (len(resource) < 4 || len(resource)%2 != 0 || !strings.EqualFold(resource[0], "providers")) {
		return "", "", nil, false
	}
	return parts[1], parts[3], resource, true
}

// ValidateRoleDefinition checks rd as a custom role written through ARM at
// scope (the {scope} of the PUT) and normalises it in place: lower-case ID,
// RoleType CustomRole, trimmed name and scopes. It returns
//   - 400 InvalidRoleDefinitionId for an ID that is not a GUID;
//   - 403 RoleDefinitionUpdateNotAllowed for a built-in role's GUID;
//   - 400 InvalidRoleDefinition for a type other than CustomRole, a missing
//     or too long roleName or description, or an empty action string;
//   - 400 InvalidAssignableScope when assignableScopes is empty or too long,
//     or one of them is "/", has a wildcard, or is not an existing
//     subscription, resource group or resource; or when scope is neither
//     at, below nor above one of them.
//
// Name uniqueness is left to PutRoleDefinition, which checks it in the same
// transaction as the write.
func (s *Service) ValidateRoleDefinition(ctx context.Context, scope string, rd *RoleDefinition) error {
	if !guidRE.MatchString(rd.ID) {
		return arca.Errorf(arca.KindInvalid, "InvalidRoleDefinitionId", "The role definition ID '%s' is not valid. The role definition ID must be a GUID.", rd.ID)
	}
	rd.ID = strings.ToLower(rd.ID)
	if b, ok := RoleByID(rd.ID); ok {
		return builtinNotModifiable(b)
	}
	switch {
	case rd.RoleType == "" || strings.EqualFold(rd.RoleType, CustomRole):
		rd.RoleType = CustomRole
	default:
		return invalidRole("The role definition type '%s' is not valid: only roles of type 'CustomRole' can be created or updated.", rd.RoleType)
	}
	rd.Name = strings.TrimSpace(rd.Name)
	if rd.Name == "" {
		return invalidRole("The role definition must have a roleName.")
	}
	if len(rd.Name) > maxRoleNameLen {
		return invalidRole("The roleName must be at most %d characters long.", maxRoleNameLen)
	}
	if len(rd.Description) > maxRoleDescriptionLen {
		return invalidRole("The description must be at most %d characters long.", maxRoleDescriptionLen)
	}
	for _, list := range [][]string{rd.Actions, rd.NotActions, rd.DataActions, rd.NotDataActions} {
		for _, a := range list {
			if strings.TrimSpace(a) == "" {
				return invalidRole("The permissions of a role definition cannot contain empty actions.")
			}
		}
	}
	if len(rd.AssignableScopes) == 0 {
		return invalidScope("The role definition must have at least one assignable scope.")
	}
	if len(rd.AssignableScopes) > maxRoleAssignableScope {
		return invalidScope("A role definition can have at most %d assignable scopes.", maxRoleAssignableScope)
	}
	related := false
	for i, a := range rd.AssignableScopes {
		a = strings.TrimSpace(a)
		if a != "/" {
			a = strings.TrimSuffix(a, "/")
		}
		rd.AssignableScopes[i] = a
		if err := s.checkAssignableScope(ctx, a); err != nil {
			return err
		}
		if scope != "" && (InScope(a, scope) || InScope(scope, a)) {
			related = true
		}
	}
	if !related {
		return invalidScope("The scope '%s' of the request is not one of the role's assignable scopes, nor inside or above one of them.", scope)
	}
	return nil
}

// checkAssignableScope checks one assignable scope of a custom role.
func (s *Service) checkAssignableScope(ctx context.Context, a string) error {
	if a == "/" || a == "" {
		return invalidScope("The assignable scope '%s' is not valid: custom roles cannot be assignable at the root scope.", a)
	}
	if strings.Contains(a, "*") {
		return invalidScope("The assignable scope '%s' is not valid: assignable scopes cannot contain wildcards.", a)
	}
	sub, group, resource, ok := splitScope(a)
	if !ok {
		return invalidScope("The assignable scope '%s' is not valid: it must be a subscription, resource group or resource.", a)
	}
	err := s.Store.View(ctx, func(r storage.Reader) error {
		if _, err := r.Get(subPrefix + strings.ToLower(sub)); err != nil {
			return err
		}
		if group == "" {
			return nil
		}
		_, err := r.Get(rgKey(sub, group))
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		return invalidScope("The assignable scope '%s' is not valid: the subscription or resource group does not exist.", a)
	} else if err != nil {
		return arca.Internal(err)
	}
	if len(resource) == 0 {
		return nil
	}
	exists := false
	if s.ResourceExists != nil {
		if exists, err = s.ResourceExists(ctx, a); err != nil {
			return wrap(err)
		}
	}
	if !exists {
		return invalidScope("The assignable scope '%s' is not valid: the resource does not exist.", a)
	}
	return nil
}

// PutRoleDefinition creates or replaces the custom role rd.ID, as ARM's PUT
// {scope}/providers/Microsoft.Authorization/roleDefinitions/{rd.ID} does;
// by is the caller's object id. It validates rd with
// ValidateRoleDefinition, then refuses a roleName that another role, built
// in or custom, already has (case-insensitive; 409
// RoleDefinitionWithSameNameExists). An update keeps the creation time and
// creator. created reports a creation. Every write changes Generation.
func (s *Service) PutRoleDefinition(ctx context.Context, scope string, rd *RoleDefinition, by string) (out *RoleDefinition, created bool, err error) {
	if err := s.ValidateRoleDefinition(ctx, scope, rd); err != nil {
		return nil, false, err
	}
	sameName := arca.Errorf(arca.KindConflict, "RoleDefinitionWithSameNameExists", "A role definition cannot be updated with a name that already exists.")
	for _, b := range BuiltinRoles {
		if strings.EqualFold(b.Name, rd.Name) {
			return nil, false, sameName
		}
	}
	cur := *rd
	now := s.Clock.Now().UTC()
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		var clash bool
		if err := tx.Scan(rdPrefix, "", func(_ string, b []byte) bool {
			var o RoleDefinition
			if json.Unmarshal(b, &o) == nil && o.ID != cur.ID && strings.EqualFold(o.Name, cur.Name) {
				clash = true
				return false
			}
			return true
		}); err != nil {
			return err
		}
		if clash {
			return sameName
		}
		var old RoleDefinition
		switch err := storage.GetJSON(tx, rdPrefix+cur.ID, &old); {
		case errors.Is(err, storage.ErrNotFound):
			created = true
			cur.Created, cur.CreatedBy = now, by
		case err != nil:
			return err
		default:
			created = false
			cur.Created, cur.CreatedBy = old.Created, old.CreatedBy
			// Narrowing the assignable scopes must not strand assignments
			// outside them: whoever may update the role could otherwise
			// widen what those assignments grant without any right there.
			var stranded string
			if err := tx.Scan(raPrefix, "", func(_ string, b []byte) bool {
				var ra RoleAssignment
				if json.Unmarshal(b, &ra) == nil && strings.EqualFold(authz.RoleGUID(ra.RoleDefinitionID), cur.ID) && !cur.AssignableAt(ra.Scope) {
					stranded = ra.Scope
					return false
				}
				return true
			}); err != nil {
				return err
			}
			if stranded != "" {
				return arca.Errorf(arca.KindInvalid, "RoleDefinitionHasAssignments",
					"The role definition is assigned at scope '%s', which its new assignable scopes do not cover. Delete those role assignments first.", stranded)
			}
		}
		cur.Updated, cur.UpdatedBy = now, by
		return storage.PutJSON(tx, rdPrefix+cur.ID, &cur)
	})
	if err != nil {
		return nil, false, wrap(err)
	}
	s.gen.Add(1)
	return &cur, created, nil
}

// DeleteRoleDefinition removes the custom role id (GUID or full id) and
// returns it. A built-in role is refused (403
// RoleDefinitionUpdateNotAllowed), an unknown one is 404
// RoleDefinitionDoesNotExist (ARM answers 204), and a role that role
// assignments still use is 400 RoleDefinitionHasAssignments. Deleting
// changes Generation.
func (s *Service) DeleteRoleDefinition(ctx context.Context, id string) (*RoleDefinition, error) {
	if b, ok := RoleByID(id); ok {
		return nil, builtinNotModifiable(b)
	}
	var rd RoleDefinition
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		if rd, err = roleIn(tx, id); err != nil {
			return err
		}
		used := false
		if err := tx.Scan(raPrefix, "", func(_ string, b []byte) bool {
			var ra RoleAssignment
			if json.Unmarshal(b, &ra) == nil && strings.EqualFold(authz.RoleGUID(ra.RoleDefinitionID), rd.ID) {
				used = true
				return false
			}
			return true
		}); err != nil {
			return err
		}
		if used {
			return arca.Errorf(arca.KindInvalid, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role '%s' (%s). Remove them before deleting the role.", rd.Name, rd.ID)
		}
		return tx.Delete(rdPrefix + rd.ID)
	})
	if err != nil {
		return nil, wrap(err)
	}
	s.gen.Add(1)
	return &rd, nil
}
