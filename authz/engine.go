package authz

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/arcakv/arca"
)

// VaultAccess is what a decision needs to know about a vault.
type VaultAccess struct {
	RBAC     bool           // enableRbacAuthorization
	Policies []AccessPolicy // access-policy mode
	Scope    string         // ARM id of the vault, for RBAC scopes
	Location string
}

// Source supplies the decision inputs. Generation changes whenever any of
// them changes (policies, assignments, role definitions, group members), so
// cached decisions can be dropped.
type Source interface {
	Access(ctx context.Context, vault *arca.Vault) (VaultAccess, error)
	Assignments(ctx context.Context) ([]RoleAssignment, map[string]*RoleDefinition, error)
	Groups(ctx context.Context, tenantID, objectID string) ([]string, error)
	Generation() uint64
}

// Engine is the single decision point of every data-plane request: it
// implements arca.Authorizer over a Source, caching decisions per caller
// until the Source's generation changes.
type Engine struct {
	Source Source

	mu    sync.Mutex
	gen   uint64
	cache map[string]bool
}

var _ arca.Authorizer = (*Engine)(nil)

// MaxCachedDecisions bounds the decision cache.
const MaxCachedDecisions = 100000

// objectCollection maps an operation's category to its path segment.
var objectCollection = map[string]string{"secrets": "secrets", "keys": "keys", "certificates": "certificates"}

// Authorize implements arca.Authorizer.
func (e *Engine) Authorize(ctx context.Context, v *arca.Vault, p *arca.Principal, op arca.Operation, object string) error {
	req, ok := Operations[op]
	if !ok || p == nil {
		return arca.Errorf(arca.KindForbidden, "Forbidden", "Operation %s is not permitted.", op).WithInner("AccessDenied")
	}
	key := strings.ToLower(p.TenantID + "|" + p.ObjectID + "|" + p.AppID + "|" + v.Name + "|" + string(op) + "|" + object)
	gen := e.Source.Generation()
	e.mu.Lock()
	if e.gen != gen || e.cache == nil || len(e.cache) >= MaxCachedDecisions {
		e.gen, e.cache = gen, map[string]bool{}
	}
	allowed, hit := e.cache[key]
	e.mu.Unlock()
	if hit && allowed {
		return nil
	}
	access, err := e.Source.Access(ctx, v)
	if err != nil {
		return err
	}
	if !hit {
		if allowed, err = e.decide(ctx, v, access, p, op, req, object); err != nil {
			return err
		}
		e.mu.Lock()
		if e.gen == gen {
			e.cache[key] = allowed
		}
		e.mu.Unlock()
	}
	if allowed {
		return nil
	}
	caller := fmt.Sprintf("appid=%s;oid=%s;iss=https://sts.windows.net/%s/", p.AppID, p.ObjectID, p.TenantID)
	vaultDesc := v.Name + ";location=" + access.Location
	if access.RBAC {
		return arca.Errorf(arca.KindForbidden, "Forbidden",
			"Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: %s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\nVault: %s\r\n",
			caller, req.DataAction, strings.ToLower(objectScope(access.Scope, req, object)), vaultDesc).WithInner("ForbiddenByRbac")
	}
	return arca.Errorf(arca.KindForbidden, "Forbidden",
		"The user, group or application '%s' does not have %s %s permission on key vault '%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
		caller, req.Category, req.Permission, vaultDesc).WithInner("AccessDenied")
}

func objectScope(vaultScope string, req Requirement, object string) string {
	if object == "" {
		return vaultScope
	}
	return vaultScope + "/" + objectCollection[req.Category] + "/" + object
}

func (e *Engine) decide(ctx context.Context, v *arca.Vault, access VaultAccess, p *arca.Principal, op arca.Operation, req Requirement, object string) (bool, error) {
	if !strings.EqualFold(p.TenantID, v.TenantID) {
		return false, nil
	}
	groups, err := e.Source.Groups(ctx, p.TenantID, p.ObjectID)
	if err != nil {
		return false, err
	}
	s := Subject{TenantID: p.TenantID, ObjectID: p.ObjectID, AppID: p.AppID, Groups: groups}
	if !access.RBAC {
		return ByAccessPolicy(access.Policies, s, op), nil
	}
	as, roles, err := e.Source.Assignments(ctx)
	if err != nil {
		return false, err
	}
	return ByRBAC(as, roles, s, objectScope(access.Scope, req, object), op), nil
}
