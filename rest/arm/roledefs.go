package arm

import (
	"net/http"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

// armRoleDefBody is the body of a PUT of a role definition, as the az CLI
// and the SDKs send it (RoleDefinition of the Microsoft.Authorization API).
type armRoleDefBody struct {
	Properties *struct {
		RoleName    string `json:"roleName"`
		Description string `json:"description"`
		Type        string `json:"type"`
		Permissions []struct {
			Actions        []string `json:"actions"`
			NotActions     []string `json:"notActions"`
			DataActions    []string `json:"dataActions"`
			NotDataActions []string `json:"notDataActions"`
		} `json:"permissions"`
		AssignableScopes []string `json:"assignableScopes"`
	} `json:"properties"`
}

// roleDefinitions serves {scope}/providers/Microsoft.Authorization/
// roleDefinitions[/{id}]: the list (GET, with $filter roleName eq '…' and
// type eq '…'), and GET, PUT and DELETE of one role. Built-in roles show at
// every scope; a custom role where it is assignable and above its
// assignable scopes (management.RoleDefinition.VisibleAt).
func (q *armRequest) roleDefinitions(scope string, rest []string) {
	if len(rest) == 0 {
		if q.method(http.MethodGet) {
			q.listRoleDefinitions(scope)
		}
		return
	}
	id := rest[0]
	switch q.r.Method {
	case http.MethodGet:
		r, err := q.h.Management.RoleDefinition(q.ctx(), id)
		if err == nil && !r.VisibleAt(scope) {
			err = management.RoleDefinitionNotFound(id)
		}
		if err != nil {
			q.fail(err)
			return
		}
		httpx.WriteJSON(q.w, http.StatusOK, roleDefJSON(scope, r))
	case http.MethodPut:
		q.putRoleDefinition(scope, id)
	case http.MethodDelete:
		q.deleteRoleDefinition(scope, id)
	default:
		q.method()
	}
}

func (q *armRequest) listRoleDefinitions(scope string) {
	filter := q.query.Get("$filter")
	name, typ := roleNameFilterRE.FindStringSubmatch(filter), roleTypeFilterRE.FindStringSubmatch(filter)
	roles, err := q.h.Management.RoleDefinitions(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, r := range roles {
		if !r.VisibleAt(scope) || (name != nil && !eq(name[1], r.Name)) || (typ != nil && !eq(typ[1], r.Type())) {
			continue
		}
		out = append(out, roleDefJSON(scope, r))
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

func invalidRoleDefinitionID(id string) error {
	return arca.Errorf(arca.KindInvalid, "InvalidRoleDefinitionId", "The role definition ID '%s' is not valid. The role definition ID must be a GUID.", id)
}

// putRoleDefinition creates or updates a custom role: 201 with the role
// either way, as ARM answers. The caller needs
// Microsoft.Authorization/roleDefinitions/write at the request's scope and
// at every assignable scope, the role's current ones too on an update.
func (q *armRequest) putRoleDefinition(scope, id string) {
	const action = "Microsoft.Authorization/roleDefinitions/write"
	if !guidRE.MatchString(id) {
		q.fail(invalidRoleDefinitionID(id))
		return
	}
	if !q.authorize(scope, action) {
		return
	}
	var body armRoleDefBody
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	p := body.Properties
	if p == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "InvalidRoleDefinition", "The role definition must have properties."))
		return
	}
	if len(p.Permissions) > 1 {
		q.fail(arca.Errorf(arca.KindInvalid, "InvalidRoleDefinition", "A role definition can have only one permissions entry."))
		return
	}
	rd := &management.RoleDefinition{ID: id, Name: p.RoleName, Description: p.Description, RoleType: p.Type,
		AssignableScopes: p.AssignableScopes}
	if len(p.Permissions) == 1 {
		perm := p.Permissions[0]
		rd.Actions, rd.NotActions, rd.DataActions, rd.NotDataActions = perm.Actions, perm.NotActions, perm.DataActions, perm.NotDataActions
	}
	ctx := q.ctx()
	if err := q.h.Management.ValidateRoleDefinition(ctx, scope, rd); err != nil {
		q.fail(err)
		return
	}
	linked := append([]string(nil), rd.AssignableScopes...)
	switch old, err := q.h.Management.RoleDefinition(ctx, rd.ID); {
	case err == nil:
		linked = append(linked, old.AssignableScopes...)
	case arca.KindOf(err) != arca.KindNotFound:
		q.fail(err)
		return
	}
	if !q.authorizeLinked(scope, action, linked) {
		return
	}
	out, _, err := q.h.Management.PutRoleDefinition(ctx, scope, rd, q.principal.ObjectID)
	if err != nil {
		q.fail(err)
		return
	}
	httpx.WriteJSON(q.w, http.StatusCreated, roleDefJSON(scope, out))
}

// deleteRoleDefinition deletes a custom role: 200 with the deleted role, 204
// when there is none at the scope. The caller needs
// Microsoft.Authorization/roleDefinitions/delete at the request's scope and
// at every assignable scope of the role.
func (q *armRequest) deleteRoleDefinition(scope, id string) {
	const action = "Microsoft.Authorization/roleDefinitions/delete"
	if !guidRE.MatchString(id) {
		q.fail(invalidRoleDefinitionID(id))
		return
	}
	if !q.authorize(scope, action) {
		return
	}
	ctx := q.ctx()
	rd, err := q.h.Management.RoleDefinition(ctx, id)
	if arca.KindOf(err) == arca.KindNotFound || (err == nil && !rd.VisibleAt(scope)) {
		q.w.WriteHeader(http.StatusNoContent)
		return
	}
	if err != nil {
		q.fail(err)
		return
	}
	if !q.authorizeLinked(scope, action, rd.AssignableScopes) {
		return
	}
	out, err := q.h.Management.DeleteRoleDefinition(ctx, id)
	q.deleted(err, func() any { return roleDefJSON(scope, out) })
}

// authorizeLinked checks action at each linked scope (a role definition's
// assignable scopes): 403 LinkedAuthorizationFailed naming those the caller
// lacks, as ARM answers.
func (q *armRequest) authorizeLinked(scope, action string, linked []string) bool {
	var denied []string
	seen := map[string]bool{}
	for _, l := range linked {
		if seen[strings.ToLower(l)] {
			continue
		}
		seen[strings.ToLower(l)] = true
		err := q.may(l, action)
		switch {
		case err == nil:
		case arca.KindOf(err) == arca.KindForbidden:
			denied = append(denied, l)
		default:
			q.fail(err)
			return false
		}
	}
	if len(denied) == 0 {
		return true
	}
	client := q.principal.UPN
	if client == "" {
		client = q.principal.AppID
	}
	q.fail(arca.Errorf(arca.KindForbidden, "LinkedAuthorizationFailed",
		"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action '%s' on the linked scope(s) '%s' or the linked scope(s) are invalid.",
		client, q.principal.ObjectID, action, scope, action, strings.Join(denied, ",")))
	return false
}
