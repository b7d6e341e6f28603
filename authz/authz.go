package authz

import (
	"strings"

	"github.com/arcakv/arca"
)

// AccessPolicy is one vault access policy entry.
type AccessPolicy struct {
	TenantID      string
	ObjectID      string
	ApplicationID string // set for a compound identity (user + application)
	Keys          []string
	Secrets       []string
	Certificates  []string
}

// Subject is who asks: the token's tenant, object id, application id and
// the groups the object belongs to.
type Subject struct {
	TenantID string
	ObjectID string
	AppID    string
	Groups   []string
}

func has(perms []string, want string) bool {
	alt := impliedBy[want]
	for _, p := range perms {
		if strings.EqualFold(p, want) || strings.EqualFold(p, "all") || (alt != "" && strings.EqualFold(p, alt)) {
			return true
		}
	}
	return false
}

// ByAccessPolicy decides an operation in access-policy mode. An entry
// matches the subject (or one of its groups) in the tenant; an entry with an
// application id matches only that application acting for the object.
func ByAccessPolicy(policies []AccessPolicy, s Subject, op arca.Operation) bool {
	req, ok := Operations[op]
	if !ok {
		return false
	}
	for _, p := range policies {
		if !strings.EqualFold(p.TenantID, s.TenantID) || !subjectIs(s, p.ObjectID) {
			continue
		}
		if p.ApplicationID != "" && !strings.EqualFold(p.ApplicationID, s.AppID) {
			continue
		}
		var perms []string
		switch req.Category {
		case "keys":
			perms = p.Keys
		case "secrets":
			perms = p.Secrets
		case "certificates":
			perms = p.Certificates
		}
		if has(perms, req.Permission) {
			return true
		}
	}
	return false
}

func subjectIs(s Subject, objectID string) bool {
	if strings.EqualFold(objectID, s.ObjectID) {
		return true
	}
	for _, g := range s.Groups {
		if strings.EqualFold(objectID, g) {
			return true
		}
	}
	return false
}

// RoleDefinition is an RBAC role's permissions: management Actions (and
// NotActions) for Resource Manager calls, DataActions (and NotDataActions)
// for data-plane operations.
type RoleDefinition struct {
	ID             string // GUID
	Name           string
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
	// Unreadable, when set, is why the stored role could not be read: the
	// role grants nothing, and no Resource Manager decision is taken while
	// it exists (it fails closed; see ByAction).
	Unreadable error
}

// RoleAssignment grants a role to a principal at a scope, e.g.
// /subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/V/secrets/N.
type RoleAssignment struct {
	Scope            string
	PrincipalID      string
	RoleDefinitionID string
	// Unreadable, when set, is why the stored assignment could not be
	// read; its other fields are empty. It grants nothing, and no
	// Resource Manager decision is taken while it exists (it might be the
	// caller's).
	Unreadable error
}

// Match reports whether action matches pattern; '*' matches any run of
// characters (Azure's action wildcard). Case-insensitive; linear-time
// wildcard matching with backtracking to the last star.
func Match(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	pi, ai, star, mark := 0, 0, -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && p[pi] == a[ai]:
			pi++
			ai++
		case star >= 0:
			pi, mark = star+1, mark+1
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// Allows reports whether the role grants the data action.
func (r *RoleDefinition) Allows(dataAction string) bool {
	return grants(r.DataActions, r.NotDataActions, dataAction)
}

// AllowsAction reports whether the role grants the management action (e.g.
// "Microsoft.KeyVault/vaults/write").
func (r *RoleDefinition) AllowsAction(action string) bool {
	return grants(r.Actions, r.NotActions, action)
}

// grants reports whether some pattern of allow and none of deny matches
// action.
func grants(allow, deny []string, action string) bool {
	allowed := false
	for _, d := range allow {
		if Match(d, action) {
			allowed = true
			break
		}
	}
	if !allowed {
		return false
	}
	for _, d := range deny {
		if Match(d, action) {
			return false
		}
	}
	return true
}

// inScope reports whether an assignment scope covers the object scope
// (equal, or a parent at a '/' boundary).
func inScope(assignment, object string) bool {
	a, o := strings.TrimRight(strings.ToLower(assignment), "/"), strings.ToLower(object)
	return a == "" || o == a || strings.HasPrefix(o, a+"/")
}

// InScope reports whether scope is outer or below it (case-insensitive, on
// path-segment boundaries, one trailing slash ignored on either): whether
// an assignment at outer covers a Resource Manager call at scope. The empty
// outer scope (or "/") covers every scope.
func InScope(outer, scope string) bool {
	o := strings.ToLower(strings.TrimSuffix(outer, "/"))
	sc := strings.ToLower(strings.TrimSuffix(scope, "/"))
	return o == "" || sc == o || strings.HasPrefix(sc, o+"/")
}

// ByRBAC decides an operation in RBAC mode: some assignment to the subject
// (or one of its groups) at a scope covering objectScope grants a role
// whose data actions include the operation's.
func ByRBAC(assignments []RoleAssignment, roles map[string]*RoleDefinition, s Subject, objectScope string, op arca.Operation) bool {
	req, ok := Operations[op]
	if !ok {
		return false
	}
	for _, a := range assignments {
		if a.Unreadable != nil || !subjectIs(s, a.PrincipalID) || !inScope(a.Scope, objectScope) {
			continue
		}
		if r := roles[strings.ToLower(RoleGUID(a.RoleDefinitionID))]; r != nil && r.Unreadable == nil && r.Allows(req.DataAction) {
			return true
		}
	}
	return false
}

// ByAction decides a Resource Manager action at scope: some assignment to
// the subject (or one of its groups) at scope or above it names a role,
// built in or custom, whose Actions match action and NotActions do not.
// The subject's tenant and application play no part. It fails closed with
// an error when the inputs hold an unreadable assignment (which might be
// the subject's), or, when the subject has assignments in scope, an
// unreadable role (which might be theirs).
func ByAction(assignments []RoleAssignment, roles map[string]*RoleDefinition, s Subject, scope, action string) (bool, error) {
	var mine []RoleAssignment
	for _, a := range assignments {
		if a.Unreadable != nil {
			return false, a.Unreadable
		}
		if subjectIs(s, a.PrincipalID) && InScope(a.Scope, scope) {
			mine = append(mine, a)
		}
	}
	if len(mine) == 0 {
		return false, nil
	}
	for _, r := range roles {
		if r != nil && r.Unreadable != nil {
			return false, r.Unreadable
		}
	}
	for _, a := range mine {
		if r := roles[strings.ToLower(RoleGUID(a.RoleDefinitionID))]; r != nil && r.AllowsAction(action) {
			return true, nil
		}
	}
	return false, nil
}

// RoleGUID takes the GUID of a full role definition id
// (…/providers/Microsoft.Authorization/roleDefinitions/<GUID>), or returns
// a bare GUID as it is.
func RoleGUID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}
