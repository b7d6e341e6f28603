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
// cached decisions can be dropped; it may move for changes made by other
// processes too (a storage revision or watch), not only for this one's.
type Source interface {
	// Access returns the vault's current access settings.
	Access(ctx context.Context, vault *arca.Vault) (VaultAccess, error)
	// Assignments returns every role assignment with the roles they may
	// name (built in and custom, keyed by lower-case GUID). A stored
	// record that cannot be read is returned marked Unreadable, not
	// skipped, so that the decisions that could depend on it fail closed.
	Assignments(ctx context.Context) ([]RoleAssignment, map[string]*RoleDefinition, error)
	// Groups returns the groups objectID belongs to, transitively.
	Groups(ctx context.Context, tenantID, objectID string) ([]string, error)
	Generation() uint64
}

// Engine is the single decision point: it implements arca.Authorizer over
// a Source, for every data-plane request (Authorize) and every Resource
// Manager action (AuthorizeAction, which the directory writes and the
// linked-scope checks of role definitions also use). It caches both kinds
// of decision, per caller, in one cache that it drops as soon as the
// Source's generation moves. Errors (a Source that cannot be read) are not
// cached.
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

// cached returns the decision cached under key for the Source's current
// generation, and that generation, which the caller reads its inputs
// after and hands to remember.
func (e *Engine) cached(key string) (allowed, hit bool, gen uint64) {
	gen = e.Source.Generation()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.gen != gen || e.cache == nil || len(e.cache) >= MaxCachedDecisions {
		e.gen, e.cache = gen, map[string]bool{}
	}
	allowed, hit = e.cache[key]
	return allowed, hit, gen
}

// remember caches a decision taken on inputs read after the Source was at
// generation gen, unless the cache has moved to another generation since.
func (e *Engine) remember(key string, gen uint64, allowed bool) {
	e.mu.Lock()
	if e.gen == gen {
		e.cache[key] = allowed
	}
	e.mu.Unlock()
}

// Authorize implements arca.Authorizer.
func (e *Engine) Authorize(ctx context.Context, v *arca.Vault, p *arca.Principal, op arca.Operation, object string) error {
	req, ok := Operations[op]
	if !ok || p == nil {
		return arca.Errorf(arca.KindForbidden, "Forbidden", "Operation %s is not permitted.", op).WithInner("AccessDenied")
	}
	key := "data|" + strings.ToLower(p.TenantID+"|"+p.ObjectID+"|"+p.AppID+"|"+v.Name+"|"+string(op)+"|"+object)
	allowed, hit, gen := e.cached(key)
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
		e.remember(key, gen, allowed)
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

// AuthorizeAction implements arca.Authorizer: the principal, or a group it
// belongs to, must hold a role assignment at scope or above it whose role
// (built in or custom) grants action (ByAction). A denial is Resource
// Manager's 403 AuthorizationFailed; a Source that cannot be read, or holds
// an unreadable record the decision could depend on, is an internal error.
func (e *Engine) AuthorizeAction(ctx context.Context, p *arca.Principal, scope, action string) error {
	if p == nil {
		return arca.ActionDenied("", scope, action)
	}
	key := "action|" + strings.ToLower(p.TenantID+"\x00"+p.ObjectID+"\x00"+scope+"\x00"+action)
	allowed, hit, gen := e.cached(key)
	if !hit {
		var err error
		if allowed, err = e.decideAction(ctx, p, scope, action); err != nil {
			if arca.KindOf(err) == arca.KindInternal {
				err = arca.Internal(err)
			}
			return err
		}
		e.remember(key, gen, allowed)
	}
	if allowed {
		return nil
	}
	return arca.ActionDenied(p.ObjectID, scope, action)
}

func (e *Engine) decideAction(ctx context.Context, p *arca.Principal, scope, action string) (bool, error) {
	groups, err := e.Source.Groups(ctx, p.TenantID, p.ObjectID)
	if err != nil {
		return false, err
	}
	as, roles, err := e.Source.Assignments(ctx)
	if err != nil {
		return false, err
	}
	return ByAction(as, roles, Subject{TenantID: p.TenantID, ObjectID: p.ObjectID, AppID: p.AppID, Groups: groups}, scope, action)
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
