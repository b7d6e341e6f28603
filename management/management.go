// Package management holds the Azure Resource Manager state that is not a
// vault: subscriptions, resource groups, and role assignments with the
// built-in and custom role definitions that authorise management-plane
// calls (and, through their data actions, data-plane calls in RBAC
// vaults). It stores them; package authz decides with them (Grants is what
// it reads). Vaults themselves live in package vaults; the rest package's
// ARM front end joins the two.
package management

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/storage"
	"github.com/google/uuid"
)

// Storage keys, all under armPrefix.
const (
	armPrefix = "arm/"
	subPrefix = "arm/sub/"
	rgPrefix  = "arm/rg/" // arm/rg/<sub>/<lower name>
	raPrefix  = "arm/ra/" // arm/ra/<lower assignment name>
	rdPrefix  = "arm/rd/" // arm/rd/<lower GUID>: custom role definitions
	opPrefix  = "arm/op/" // arm/op/<id>: completed asynchronous operations
)

// Subscription is an ARM subscription of the deployment's tenant.
type Subscription struct {
	ID          string    `json:"subscriptionId"`
	DisplayName string    `json:"displayName"`
	TenantID    string    `json:"tenantId"`
	State       string    `json:"state"`
	Created     time.Time `json:"created"`
}

// ResourceGroup is a resource group of a subscription.
type ResourceGroup struct {
	Subscription string            `json:"subscription"`
	Name         string            `json:"name"`
	Location     string            `json:"location"`
	Tags         map[string]string `json:"tags,omitempty"`
	ManagedBy    string            `json:"managedBy,omitempty"`
	Created      time.Time         `json:"created"`
}

// RoleDefinition is an Azure role: one of BuiltinRoles, or a custom role
// stored by PutRoleDefinition. The JSON form is the stored one.
type RoleDefinition struct {
	ID             string   `json:"id"`       // GUID, as in Azure (lower case for custom roles)
	Name           string   `json:"roleName"` // roleName, unique in the tenant
	Description    string   `json:"description,omitempty"`
	RoleType       string   `json:"roleType,omitempty"` // CustomRole for custom roles; empty for built-ins
	Actions        []string `json:"actions,omitempty"`
	NotActions     []string `json:"notActions,omitempty"`
	DataActions    []string `json:"dataActions,omitempty"`
	NotDataActions []string `json:"notDataActions,omitempty"`
	// AssignableScopes are where a custom role may be assigned (at or
	// below each); empty for built-ins, which are assignable anywhere.
	AssignableScopes []string  `json:"assignableScopes,omitempty"`
	Created          time.Time `json:"created,omitempty"`
	Updated          time.Time `json:"updated,omitempty"`
	CreatedBy        string    `json:"createdBy,omitempty"`
	UpdatedBy        string    `json:"updatedBy,omitempty"`
}

// Built-in role definitions, with Azure's GUIDs. Their permissions are
// package authz's (authz.ManagementRoles and authz.Builtin), which decides
// with them; ARM serves them with these descriptions.
var (
	Owner = builtin(authz.Owner,
		"Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.")
	Contributor = builtin(authz.Contributor,
		"Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.")
	Reader              = builtin(authz.Reader, "View all resources, but does not allow you to make any changes.")
	KeyVaultContributor = builtin(authz.KeyVaultContributor, "Lets you manage key vaults, but not access to them.")
	BuiltinRoles        = append([]RoleDefinition{Owner, Contributor, Reader, KeyVaultContributor}, keyVaultDataRoles()...)
)

// builtin is the ARM form of the built-in role r.
func builtin(r authz.RoleDefinition, description string) RoleDefinition {
	return RoleDefinition{ID: r.ID, Name: r.Name, Description: description, Actions: r.Actions, NotActions: r.NotActions,
		DataActions: r.DataActions, NotDataActions: r.NotDataActions}
}

// keyVaultDataRoles are Key Vault's built-in data-plane roles (package
// authz), assignable through ARM like any role; their management actions
// are read-only.
func keyVaultDataRoles() []RoleDefinition {
	var out []RoleDefinition
	for _, r := range authz.Builtin {
		out = append(out, builtin(r, r.Name+" (Key Vault data plane)."))
	}
	return out
}

// RoleByID returns the built-in role with the GUID id (or a full
// …/roleDefinitions/<id> resource id). Custom roles are looked up with
// (*Service).RoleDefinition.
func RoleByID(id string) (RoleDefinition, bool) {
	id = authz.RoleGUID(id)
	for _, r := range BuiltinRoles {
		if strings.EqualFold(r.ID, id) {
			return r, true
		}
	}
	return RoleDefinition{}, false
}

// authz returns the role as authorisation decisions read it.
func (r RoleDefinition) authz() *authz.RoleDefinition {
	return &authz.RoleDefinition{ID: strings.ToLower(r.ID), Name: r.Name, Actions: r.Actions, NotActions: r.NotActions,
		DataActions: r.DataActions, NotDataActions: r.NotDataActions}
}

// RoleAssignment grants a role to a principal at a scope. Only its
// Description can change after creation (PutRoleAssignment); Updated and
// UpdatedBy record the last such change, and are zero until there is one.
// An assignment has no condition: Arca does not evaluate ABAC conditions,
// and the ARM front end refuses assignments that carry one.
type RoleAssignment struct {
	Name             string `json:"name"` // GUID
	Scope            string `json:"scope"`
	RoleDefinitionID string `json:"roleDefinitionId"` // GUID
	PrincipalID      string `json:"principalId"`
	// PrincipalType is ARM's principalType (User, ServicePrincipal, Group,
	// …); empty when it was not known at creation.
	PrincipalType string    `json:"principalType,omitempty"`
	Created       time.Time `json:"created"`
	// CreatedBy is the object id of the creating caller; empty for the
	// assignments Arca makes itself (subscription owners, `arca role
	// assign`).
	CreatedBy string `json:"createdBy,omitempty"`
	// Description is ARM's description of the assignment, as sent.
	Description string    `json:"description,omitempty"`
	Updated     time.Time `json:"updated,omitzero"`
	UpdatedBy   string    `json:"updatedBy,omitempty"`
}

// Service stores subscriptions, resource groups, role assignments and
// custom role definitions.
type Service struct {
	Store storage.Backend
	Clock arca.Clock
	Rand  io.Reader
	// ResourceExists, when set, reports whether a resource scope below a
	// resource group (…/resourceGroups/G/providers/NS/type/name[/…]) names
	// an existing resource. Without it, custom roles cannot name resource
	// scopes as assignable scopes.
	ResourceExists func(ctx context.Context, scope string) (bool, error)

	gen atomic.Uint64
}

// Generation changes after every write of a role assignment or a custom
// role definition, so authorisation caches know when to drop their
// decisions: at once for the writes made through s, and, while Follow
// runs, for those made by the other processes sharing the store.
func (s *Service) Generation() uint64 { return s.gen.Load() }

// Follow moves Generation on whenever a role assignment, a custom role
// definition or a subscription changes in the store, wherever the change
// was made, so that a role assigned or removed through another Arca node
// sharing the store applies to this node's cached decisions as soon as the
// store reports it. It also moves it when it starts and whenever the store
// lost track of the changes (storage.ErrCompacted). Resource groups and
// completed operations do not move it: no decision depends on them.
//
// Writes made through s move Generation themselves, at once, whether or not
// Follow runs; their events move it again, harmlessly. Follow runs until
// ctx ends; it returns as storage.Follow does: ctx's error, an error
// wrapping errors.ErrUnsupported at once when the store cannot watch, or
// the error that stopped it, after which it may be called again.
func (s *Service) Follow(ctx context.Context) error {
	return storage.Follow(ctx, s.Store, armPrefix,
		func(context.Context) error { s.gen.Add(1); return nil },
		func(e storage.Event) error {
			if decides(e.Key) {
				s.gen.Add(1)
			}
			return nil
		})
}

// decides reports whether the record under key feeds authorisation
// decisions.
func decides(key string) bool {
	return strings.HasPrefix(key, raPrefix) || strings.HasPrefix(key, rdPrefix) || strings.HasPrefix(key, subPrefix)
}

func wrap(err error) error {
	if err == nil || arca.KindOf(err) != arca.KindInternal {
		return err
	}
	return arca.Internal(err)
}

// newUUID returns a random version 4 UUID read from r (the Service's
// injectable Rand), for subscription ids and role assignment names.
func newUUID(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// SubscriptionNotFound is ARM's 404 for an unknown subscription.
func SubscriptionNotFound(id string) error {
	return arca.Errorf(arca.KindNotFound, "SubscriptionNotFound", "The subscription '%s' could not be found.", id)
}

// ResourceGroupNotFound is ARM's 404 for an unknown resource group.
func ResourceGroupNotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
}

// CreateSubscription creates a subscription of tenant and makes each of
// owners (object ids) its Owner.
func (s *Service) CreateSubscription(ctx context.Context, displayName, tenant string, owners ...string) (*Subscription, error) {
	id, err := newUUID(s.Rand)
	if err != nil {
		return nil, arca.Internal(err)
	}
	sub := &Subscription{ID: id, DisplayName: displayName, TenantID: tenant, State: "Enabled", Created: s.Clock.Now().UTC()}
	var ras []*RoleAssignment
	for _, o := range owners {
		if o == "" {
			continue
		}
		n, err := newUUID(s.Rand)
		if err != nil {
			return nil, arca.Internal(err)
		}
		ras = append(ras, &RoleAssignment{Name: n, Scope: "/subscriptions/" + id, RoleDefinitionID: Owner.ID,
			PrincipalID: o, Created: sub.Created})
	}
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		if err := storage.PutJSON(tx, subPrefix+id, sub); err != nil {
			return err
		}
		for _, ra := range ras {
			if err := storage.PutJSON(tx, raPrefix+ra.Name, ra); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, arca.Internal(err)
	}
	if len(ras) > 0 {
		s.gen.Add(1)
	}
	return sub, nil
}

// Subscriptions lists every subscription.
func (s *Service) Subscriptions(ctx context.Context) ([]*Subscription, error) {
	var out []*Subscription
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(subPrefix, "", func(_ string, b []byte) bool {
			var sub Subscription
			if json.Unmarshal(b, &sub) == nil {
				out = append(out, &sub)
			}
			return true
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, wrap(err)
}

// Subscription returns one subscription.
func (s *Service) Subscription(ctx context.Context, id string) (*Subscription, error) {
	var sub Subscription
	err := s.Store.View(ctx, func(r storage.Reader) error { return storage.GetJSON(r, subPrefix+strings.ToLower(id), &sub) })
	if errors.Is(err, storage.ErrNotFound) {
		return nil, SubscriptionNotFound(id)
	}
	if err != nil {
		return nil, arca.Internal(err)
	}
	return &sub, nil
}

func rgKey(sub, name string) string {
	return rgPrefix + strings.ToLower(sub) + "/" + strings.ToLower(name)
}

// ValidResourceGroupName follows ARM: 1-90 characters, alphanumerics,
// underscores, parentheses, hyphens, periods (not ending in a period).
func ValidResourceGroupName(n string) bool {
	if n == "" || len(n) > 90 || strings.HasSuffix(n, ".") {
		return false
	}
	for _, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '(', c == ')', c == '-', c == '.':
		default:
			return false
		}
	}
	return true
}

// PutResourceGroup creates or updates a group; created reports a creation.
// An update keeps the group's original name casing and location.
func (s *Service) PutResourceGroup(ctx context.Context, g *ResourceGroup) (created bool, out *ResourceGroup, err error) {
	if !ValidResourceGroupName(g.Name) {
		return false, nil, arca.Errorf(arca.KindInvalid, "InvalidResourceGroup",
			"The provided resource group name '%s' has these invalid characters or is too long.", g.Name)
	}
	if g.Location == "" {
		return false, nil, arca.Errorf(arca.KindInvalid, "LocationRequired", "The location property is required for this definition.")
	}
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		created = false
		if err := storage.GetJSON(tx, subPrefix+strings.ToLower(g.Subscription), &Subscription{}); errors.Is(err, storage.ErrNotFound) {
			return SubscriptionNotFound(g.Subscription)
		} else if err != nil {
			return err
		}
		var old ResourceGroup
		cur := *g
		switch err := storage.GetJSON(tx, rgKey(g.Subscription, g.Name), &old); {
		case errors.Is(err, storage.ErrNotFound):
			created = true
			cur.Created = s.Clock.Now().UTC()
		case err != nil:
			return err
		default:
			if !strings.EqualFold(old.Location, g.Location) {
				return arca.Errorf(arca.KindConflict, "InvalidResourceGroupLocation",
					"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", g.Location, old.Location)
			}
			cur.Name, cur.Location, cur.Created = old.Name, old.Location, old.Created
		}
		out = &cur
		return storage.PutJSON(tx, rgKey(g.Subscription, g.Name), &cur)
	})
	if err != nil {
		return false, nil, wrap(err)
	}
	return created, out, nil
}

// ResourceGroup returns one group.
func (s *Service) ResourceGroup(ctx context.Context, sub, name string) (*ResourceGroup, error) {
	var g ResourceGroup
	err := s.Store.View(ctx, func(r storage.Reader) error { return storage.GetJSON(r, rgKey(sub, name), &g) })
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ResourceGroupNotFound(name)
	}
	if err != nil {
		return nil, arca.Internal(err)
	}
	return &g, nil
}

// ResourceGroups lists the groups of sub.
func (s *Service) ResourceGroups(ctx context.Context, sub string) ([]*ResourceGroup, error) {
	var out []*ResourceGroup
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(rgPrefix+strings.ToLower(sub)+"/", "", func(_ string, b []byte) bool {
			var g ResourceGroup
			if json.Unmarshal(b, &g) == nil {
				out = append(out, &g)
			}
			return true
		})
	})
	return out, wrap(err)
}

// DeleteResourceGroup removes the group record (the caller deletes its
// resources first) and the role assignments scoped inside it.
func (s *Service) DeleteResourceGroup(ctx context.Context, sub, name string) error {
	scope := strings.ToLower("/subscriptions/" + sub + "/resourceGroups/" + name)
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(rgKey(sub, name)); errors.Is(err, storage.ErrNotFound) {
			return ResourceGroupNotFound(name)
		} else if err != nil {
			return err
		}
		var drop []string
		if err := tx.Scan(raPrefix, "", func(k string, b []byte) bool {
			var ra RoleAssignment
			if json.Unmarshal(b, &ra) == nil && InScope(scope, ra.Scope) {
				drop = append(drop, k)
			}
			return true
		}); err != nil {
			return err
		}
		for _, k := range append(drop, rgKey(sub, name)) {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		s.gen.Add(1) // role assignments inside the group went with it
	}
	return wrap(err)
}

// InScope reports whether scope is outer or below it (case-insensitive, on
// path-segment boundaries): authz.InScope, which decisions use.
func InScope(outer, scope string) bool { return authz.InScope(outer, scope) }

// CreateRoleAssignment stores ra (Name may be preset, as ARM's PUT does).
// The role is a built-in or a custom role (by GUID or full role definition
// id); a custom role is assignable only at or below one of its assignable
// scopes, elsewhere it does not exist for ARM (400
// RoleDefinitionDoesNotExist). Re-creating an identical assignment is
// idempotent.
func (s *Service) CreateRoleAssignment(ctx context.Context, ra *RoleAssignment) (*RoleAssignment, error) {
	out, _, err := s.PutRoleAssignment(ctx, ra)
	return out, err
}

// PutRoleAssignment is CreateRoleAssignment that also reports whether the
// assignment was created (false: the identical assignment existed and is
// returned as stored). Putting an existing assignment again (same name,
// scope, principal and role) replaces its Description with ra's, as ARM's
// PUT does; when that changes it, Updated and UpdatedBy (ra.CreatedBy, the
// caller) record the change.
func (s *Service) PutRoleAssignment(ctx context.Context, ra *RoleAssignment) (_ *RoleAssignment, created bool, err error) {
	if ra.PrincipalID == "" {
		return nil, false, arca.Errorf(arca.KindInvalid, "InvalidPrincipalId", "A valid principal ID must be provided for role assignment.")
	}
	if ra.Name == "" {
		n, err := newUUID(s.Rand)
		if err != nil {
			return nil, false, arca.Internal(err)
		}
		ra.Name = n
	}
	ra.Name = strings.ToLower(ra.Name)
	ra.Created = s.Clock.Now().UTC()
	ra.Updated, ra.UpdatedBy = time.Time{}, ""
	in := *ra // what was asked; the transaction may run more than once
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		*ra = in
		created = false
		role, err := roleIn(tx, ra.RoleDefinitionID)
		if arca.KindOf(err) == arca.KindNotFound {
			return arca.Errorf(arca.KindInvalid, "RoleDefinitionDoesNotExist", "The specified role definition with ID '%s' does not exist.", authz.RoleGUID(ra.RoleDefinitionID))
		} else if err != nil {
			return err
		}
		if !role.AssignableAt(ra.Scope) {
			return arca.Errorf(arca.KindInvalid, "RoleDefinitionDoesNotExist",
				"The specified role definition with ID '%s' does not exist at scope '%s': the scope is outside the role's assignable scopes.", role.ID, ra.Scope)
		}
		ra.RoleDefinitionID = role.ID
		// A name already in use: the same assignment again is idempotent;
		// anything else would rewrite (or move) another scope's assignment.
		var prev RoleAssignment
		if err := storage.GetJSON(tx, raPrefix+ra.Name, &prev); err == nil {
			if strings.EqualFold(strings.TrimSuffix(prev.Scope, "/"), strings.TrimSuffix(ra.Scope, "/")) &&
				strings.EqualFold(prev.PrincipalID, ra.PrincipalID) && strings.EqualFold(prev.RoleDefinitionID, ra.RoleDefinitionID) {
				if prev.Description == ra.Description {
					*ra = prev
					return nil
				}
				prev.Description, prev.Updated, prev.UpdatedBy = ra.Description, ra.Created, ra.CreatedBy
				*ra = prev
				return storage.PutJSON(tx, raPrefix+ra.Name, ra)
			}
			return arca.Errorf(arca.KindConflict, "RoleAssignmentUpdateNotPermitted",
				"Tenant ID, application ID, principal ID, and scope are not allowed to be updated.")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var dup error
		if err := tx.Scan(raPrefix, "", func(k string, b []byte) bool {
			var o RoleAssignment
			if json.Unmarshal(b, &o) == nil && o.Name != ra.Name && strings.EqualFold(o.Scope, ra.Scope) &&
				strings.EqualFold(o.PrincipalID, ra.PrincipalID) && strings.EqualFold(o.RoleDefinitionID, ra.RoleDefinitionID) {
				dup = arca.Errorf(arca.KindConflict, "RoleAssignmentExists", "The role assignment already exists.")
				return false
			}
			return true
		}); err != nil {
			return err
		}
		if dup != nil {
			return dup
		}
		created = true
		return storage.PutJSON(tx, raPrefix+ra.Name, ra)
	})
	if err != nil {
		return nil, false, wrap(err)
	}
	s.gen.Add(1)
	return ra, created, nil
}

// RoleAssignments lists every assignment.
func (s *Service) RoleAssignments(ctx context.Context) ([]*RoleAssignment, error) {
	var out []*RoleAssignment
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(raPrefix, "", func(_ string, b []byte) bool {
			var ra RoleAssignment
			if json.Unmarshal(b, &ra) == nil {
				out = append(out, &ra)
			}
			return true
		})
	})
	return out, wrap(err)
}

// DeleteRoleAssignment removes the assignment name made at scope and
// returns it; KindNotFound when there is none at that scope (an assignment
// of another scope is not reachable through this one).
func (s *Service) DeleteRoleAssignment(ctx context.Context, scope, name string) (*RoleAssignment, error) {
	var ra RoleAssignment
	notFound := arca.Errorf(arca.KindNotFound, "RoleAssignmentNotFound", "The role assignment '%s' is not found.", name)
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		if err := storage.GetJSON(tx, raPrefix+strings.ToLower(name), &ra); errors.Is(err, storage.ErrNotFound) {
			return notFound
		} else if err != nil {
			return err
		}
		if !strings.EqualFold(strings.TrimSuffix(ra.Scope, "/"), strings.TrimSuffix(scope, "/")) {
			return notFound
		}
		return tx.Delete(raPrefix + strings.ToLower(name))
	})
	if err != nil {
		return nil, wrap(err)
	}
	s.gen.Add(1)
	return &ra, nil
}

// Grants returns every role assignment with the roles they may name (the
// built-in roles and the custom ones, keyed by lower-case GUID), read in one
// snapshot of the store, as authorisation decisions read them (it is an
// authz.Source's Assignments). Unlike RoleAssignments and RoleDefinitions,
// which skip a record that does not decode, it returns such a record marked
// Unreadable, so that the decisions that could depend on it fail closed.
func (s *Service) Grants(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	var out []authz.RoleAssignment
	var custom map[string]*authz.RoleDefinition
	err := s.Store.View(ctx, func(r storage.Reader) error {
		out, custom = nil, map[string]*authz.RoleDefinition{}
		if err := r.Scan(raPrefix, "", func(k string, b []byte) bool {
			var ra RoleAssignment
			if err := json.Unmarshal(b, &ra); err != nil {
				out = append(out, authz.RoleAssignment{Unreadable: fmt.Errorf("role assignment %s: %w", strings.TrimPrefix(k, raPrefix), err)})
			} else {
				out = append(out, authz.RoleAssignment{Scope: ra.Scope, PrincipalID: ra.PrincipalID, RoleDefinitionID: ra.RoleDefinitionID})
			}
			return true
		}); err != nil {
			return err
		}
		return r.Scan(rdPrefix, "", func(k string, b []byte) bool {
			id := strings.ToLower(strings.TrimPrefix(k, rdPrefix))
			var rd RoleDefinition
			if err := json.Unmarshal(b, &rd); err != nil {
				custom[id] = &authz.RoleDefinition{ID: id, Unreadable: fmt.Errorf("role definition %s: %w", id, err)}
			} else {
				custom[strings.ToLower(rd.ID)] = rd.authz()
			}
			return true
		})
	})
	if err != nil {
		return nil, nil, wrap(err)
	}
	roles := custom
	for _, r := range BuiltinRoles { // a built-in role's GUID always names it
		roles[strings.ToLower(r.ID)] = r.authz()
	}
	return out, roles, nil
}
