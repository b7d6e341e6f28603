package arm

// The Resource Manager: Microsoft.Authorization role assignments.

import (
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

var (
	roleNameFilterRE  = regexp.MustCompile(`(?i)roleName\s+eq\s+'([^']*)'`)
	roleTypeFilterRE  = regexp.MustCompile(`(?i)(?:^|[\s(])type\s+eq\s+'([^']*)'`)
	principalFilterRE = regexp.MustCompile(`(?i)principalId\s+eq\s+'([^']*)'`)
)

// roleDefJSON renders r as ARM's RoleDefinition resource read at scope
// (the {scope} of the request). The id is subscription-level whatever the
// scope below the subscription (resource group, resource), as Azure's, so
// it is the roleDefinitionId of the role assignments there
// (roleAssignmentJSON): /subscriptions/{sub}/providers/
// Microsoft.Authorization/roleDefinitions/{guid}. At the tenant scope a
// built-in role's id has no subscription; a custom role's names its first
// assignable scope's.
func roleDefJSON(scope string, r *management.RoleDefinition) map[string]any {
	props := map[string]any{"roleName": r.Name, "type": r.Type(), "description": r.Description,
		"assignableScopes": []string{"/"}, "permissions": []any{map[string]any{"actions": nonNil(r.Actions), "notActions": nonNil(r.NotActions),
			"dataActions": nonNil(r.DataActions), "notDataActions": nonNil(r.NotDataActions)}}}
	idScope := subscriptionOf(scope)
	if r.IsCustom() {
		props["assignableScopes"] = r.AssignableScopes
		props["createdOn"], props["updatedOn"] = r.Created.Format(time.RFC3339Nano), r.Updated.Format(time.RFC3339Nano)
		props["createdBy"], props["updatedBy"] = r.CreatedBy, r.UpdatedBy
		if idScope == "" && len(r.AssignableScopes) > 0 {
			idScope = subscriptionOf(r.AssignableScopes[0])
		}
	}
	return map[string]any{
		"id": idScope + "/providers/" + authzNS + "/roleDefinitions/" + r.ID, "name": r.ID,
		"type": authzNS + "/roleDefinitions", "properties": props,
	}
}

// subscriptionOf returns the /subscriptions/{id} prefix of scope, or "".
func subscriptionOf(scope string) string {
	if parts := strings.Split(strings.Trim(scope, "/"), "/"); len(parts) >= 2 && eq(parts[0], "subscriptions") {
		return "/subscriptions/" + parts[1]
	}
	return ""
}

// principalTypes are ARM's principalType values of the directory's object
// kinds (identity.Directory.ObjectKind).
var principalTypes = map[string]string{"user": "User", "servicePrincipal": "ServicePrincipal", "group": "Group"}

// principalType returns ARM's principalType of the directory object id
// (User, ServicePrincipal or Group), or "" when the directory has no such
// object. Answers are kept for the rest of the request.
func (q *armRequest) principalType(id string) (string, error) {
	key := strings.ToLower(id)
	if t, ok := q.ptypes[key]; ok {
		return t, nil
	}
	kind, err := q.h.Directory.ObjectKind(q.ctx(), id)
	if err != nil && !errors.Is(err, identity.ErrObjectNotFound) {
		return "", arca.Internal(err)
	}
	if q.ptypes == nil {
		q.ptypes = map[string]string{}
	}
	q.ptypes[key] = principalTypes[kind]
	return q.ptypes[key], nil
}

// errConditionUnsupported refuses a role assignment with an ABAC condition.
// Arca does not evaluate conditions, and storing the assignment without its
// condition would grant the role unrestricted. The first sentence is the
// message Azure documents for a condition it rejects (learn.microsoft.com,
// "Troubleshoot Azure role assignment conditions"); no recorded response
// showing ARM's code was found, so the code is the descriptive
// InvalidCondition.
var errConditionUnsupported = arca.Errorf(arca.KindInvalid, "InvalidCondition",
	"The given role assignment condition is invalid. Arca does not evaluate role assignment conditions (Azure ABAC): create the assignment without a condition, at a narrower scope or with a narrower role.")

// roleAssignmentJSON renders ra as ARM's RoleAssignment resource, with the
// properties Azure answers: principalType (from the directory when ra has
// none), createdOn/updatedOn, createdBy/updatedBy, description (null when
// none), and null condition, conditionVersion and
// delegatedManagedIdentityResourceId. created marks the answer to the PUT
// that created ra: ARM's has createdBy null (updatedBy names the caller);
// reads name the creator in both. updatedOn/updatedBy are the creation's
// until the description is changed.
func (q *armRequest) roleAssignmentJSON(ra *management.RoleAssignment, created bool) (map[string]any, error) {
	ptype := ra.PrincipalType
	if ptype == "" {
		var err error
		if ptype, err = q.principalType(ra.PrincipalID); err != nil {
			return nil, err
		}
	}
	var by any
	if ra.CreatedBy != "" {
		by = ra.CreatedBy
	}
	createdBy := by
	if created {
		createdBy = nil
	}
	on := ra.Created.UTC().Format(time.RFC3339Nano)
	updatedOn, updatedBy := on, by
	if !ra.Updated.IsZero() {
		updatedOn = ra.Updated.UTC().Format(time.RFC3339Nano)
		if ra.UpdatedBy != "" {
			updatedBy = ra.UpdatedBy
		}
	}
	var desc any
	if ra.Description != "" {
		desc = ra.Description
	}
	return map[string]any{
		"id": strings.TrimSuffix(ra.Scope, "/") + "/providers/" + authzNS + "/roleAssignments/" + ra.Name, "name": ra.Name,
		"type": authzNS + "/roleAssignments",
		"properties": map[string]any{"scope": ra.Scope, "principalId": ra.PrincipalID, "principalType": ptype,
			"roleDefinitionId": subscriptionOf(ra.Scope) + "/providers/" + authzNS + "/roleDefinitions/" + ra.RoleDefinitionID,
			"createdOn":        on, "updatedOn": updatedOn, "createdBy": createdBy, "updatedBy": updatedBy,
			"condition": nil, "conditionVersion": nil, "description": desc, "delegatedManagedIdentityResourceId": nil},
	}, nil
}

// authorization serves {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}].
func (q *armRequest) authorization(scope string, rest []string) {
	if len(rest) == 0 || len(rest) > 2 {
		q.notFoundPath()
		return
	}
	if scope == "/" {
		scope = ""
	}
	if parts := strings.Split(strings.Trim(scope, "/"), "/"); scope != "" && (len(parts) < 2 || !eq(parts[0], "subscriptions")) {
		q.notFoundPath()
		return
	} else if scope != "" {
		if _, err := q.h.Management.Subscription(q.ctx(), parts[1]); err != nil {
			q.fail(err)
			return
		}
	}
	switch {
	case eq(rest[0], "roleDefinitions"):
		q.roleDefinitions(scope, rest[1:])
	case eq(rest[0], "roleAssignments"):
		q.roleAssignments(scope, rest[1:])
	default:
		q.invalidResourceType(authzNS, rest)
	}
}

func (q *armRequest) roleAssignments(scope string, rest []string) {
	ctx := q.ctx()
	if len(rest) == 0 {
		if !q.method(http.MethodGet) || !q.authorize(scope, "Microsoft.Authorization/roleAssignments/read") {
			return
		}
		ras, err := q.h.Management.RoleAssignments(ctx)
		if err != nil {
			q.fail(err)
			return
		}
		filter := q.query.Get("$filter")
		pm := principalFilterRE.FindStringSubmatch(filter)
		atScope := strings.Contains(strings.ToLower(filter), "atscope()")
		out := []any{}
		for _, ra := range ras {
			// assignments at, above (inherited) and below the scope
			if !(management.InScope(ra.Scope, scope) || (!atScope && management.InScope(scope, ra.Scope))) {
				continue
			}
			if pm != nil && !eq(pm[1], ra.PrincipalID) {
				continue
			}
			j, err := q.roleAssignmentJSON(ra, false)
			if err != nil {
				q.fail(err)
				return
			}
			out = append(out, j)
		}
		httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
		return
	}
	name := rest[0]
	switch q.r.Method {
	case http.MethodGet:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/read") {
			return
		}
		ras, err := q.h.Management.RoleAssignments(ctx)
		if err != nil {
			q.fail(err)
			return
		}
		for _, ra := range ras {
			if eq(ra.Name, name) && eq(strings.TrimSuffix(ra.Scope, "/"), strings.TrimSuffix(scope, "/")) {
				q.writeRoleAssignment(http.StatusOK, ra, false)
				return
			}
		}
		q.fail(arca.Errorf(arca.KindNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name))
	case http.MethodPut:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/write") {
			return
		}
		var body struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
				PrincipalID      string `json:"principalId"`
				PrincipalType    string `json:"principalType"`
				Description      string `json:"description"`
				Condition        string `json:"condition"`
			} `json:"properties"`
		}
		if err := httpx.DecodeBody(q.r, maxARMBody, &body); err != nil {
			q.fail(err)
			return
		}
		if !guidRE.MatchString(name) {
			q.fail(arca.Errorf(arca.KindInvalid, "InvalidRoleAssignmentId", "The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", name))
			return
		}
		if body.Properties.Condition != "" {
			q.fail(errConditionUnsupported)
			return
		}
		ptype, err := q.assignedPrincipalType(body.Properties.PrincipalID, body.Properties.PrincipalType)
		if err != nil {
			q.fail(err)
			return
		}
		ra, created, err := q.h.Management.PutRoleAssignment(ctx, &management.RoleAssignment{Name: name, Scope: scope,
			RoleDefinitionID: body.Properties.RoleDefinitionID, PrincipalID: body.Properties.PrincipalID,
			PrincipalType: ptype, CreatedBy: q.principal.ObjectID, Description: body.Properties.Description})
		if err != nil {
			q.fail(err)
			return
		}
		q.writeRoleAssignment(http.StatusCreated, ra, created)
	case http.MethodDelete:
		if !q.authorize(scope, "Microsoft.Authorization/roleAssignments/delete") {
			return
		}
		switch ra, err := q.h.Management.DeleteRoleAssignment(ctx, scope, name); {
		case err != nil:
			q.deleted(err, nil) // 204 when there was none
		default:
			q.writeRoleAssignment(http.StatusOK, ra, false)
		}
	default:
		q.method()
	}
}

// writeRoleAssignment answers ra with status (roleAssignmentJSON).
func (q *armRequest) writeRoleAssignment(status int, ra *management.RoleAssignment, created bool) {
	j, err := q.roleAssignmentJSON(ra, created)
	if err != nil {
		q.fail(err)
		return
	}
	httpx.WriteJSON(q.w, status, j)
}

// assignedPrincipalType is the principalType a new role assignment to
// principal records: the directory's type of the object, which a type given
// in the request (given, matched case-insensitively) must equal (400
// UnmatchedPrincipalType, Azure's text with its typos); given as it is for
// an object the directory does not know.
func (q *armRequest) assignedPrincipalType(principal, given string) (string, error) {
	if principal == "" {
		return given, nil // CreateRoleAssignment refuses it
	}
	ptype, err := q.principalType(principal)
	switch {
	case err != nil:
		return "", err
	case ptype == "":
		return given, nil
	case given != "" && !eq(given, ptype):
		return "", arca.Errorf(arca.KindInvalid, "UnmatchedPrincipalType",
			"The PrincipalId '%s' has type '%s' , which is different from specified PrinciaplType '%s'.", principal, ptype, given)
	}
	return ptype, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
