package arca

import "context"

// Operation names a data-plane operation, as Azure's audit log does
// (for example "SecretGet"). Every handler declares its operation with one
// of the Op constants (operations.go).
type Operation string

// ActionAuthorizer decides Resource Manager actions: whether a principal,
// through its role assignments and those of its groups, may perform action
// (e.g. "Microsoft.KeyVault/vaults/write") at an ARM scope
// (/subscriptions/S[/resourceGroups/G[/providers/…]]).
type ActionAuthorizer interface {
	// AuthorizeAction returns nil when allowed, an error of KindForbidden
	// with code AuthorizationFailed when not, and an error of another kind
	// when the decision could not be taken (it then fails closed).
	AuthorizeAction(ctx context.Context, p *Principal, scope, action string) error
}

// Authorizer is the single decision point: every data-plane request and
// every Resource Manager (and directory write) check passes through it.
type Authorizer interface {
	// Authorize decides a data-plane operation on a vault: nil when
	// allowed, an error of KindForbidden otherwise.
	Authorize(ctx context.Context, vault *Vault, p *Principal, op Operation, object string) error
	ActionAuthorizer
}

// TenantAuthorizer allows any principal of the vault's tenant on the data
// plane, and no Resource Manager action: it knows no role assignment. It is
// a stand-in for tests of the data-plane handlers.
type TenantAuthorizer struct{}

// Authorize implements Authorizer.
func (TenantAuthorizer) Authorize(_ context.Context, v *Vault, p *Principal, _ Operation, _ string) error {
	if p == nil || p.TenantID != v.TenantID {
		return Errorf(KindForbidden, "Forbidden", "The user, group or application does not have access to vault %s.", v.Name)
	}
	return nil
}

// AuthorizeAction implements Authorizer: every action is denied, as for a
// principal without role assignments.
func (TenantAuthorizer) AuthorizeAction(_ context.Context, p *Principal, scope, action string) error {
	oid := ""
	if p != nil {
		oid = p.ObjectID
	}
	return ActionDenied(oid, scope, action)
}

// ActionDenied is Resource Manager's 403 AuthorizationFailed for a principal
// (object id) lacking action at scope.
func ActionDenied(objectID, scope, action string) error {
	return Errorf(KindForbidden, "AuthorizationFailed",
		"The client with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		objectID, action, scope)
}
