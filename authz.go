package arca

import "context"

// Operation names a data-plane operation, as Azure's audit log does
// (for example "SecretGet"). Every handler declares its operation.
type Operation string

// Authorizer decides whether a principal may perform an operation on a
// vault. It is the single decision point every data-plane request passes.
type Authorizer interface {
	// Authorize returns nil when allowed and an error of KindForbidden
	// otherwise.
	Authorize(ctx context.Context, vault *Vault, p *Principal, op Operation, object string) error
}

// TenantAuthorizer allows any principal of the vault's tenant. It is the
// policy until access policies and RBAC exist.
type TenantAuthorizer struct{}

// Authorize implements Authorizer.
func (TenantAuthorizer) Authorize(_ context.Context, v *Vault, p *Principal, _ Operation, _ string) error {
	if p == nil || p.TenantID != v.TenantID {
		return Errorf(KindForbidden, "Forbidden", "The user, group or application does not have access to vault %s.", v.Name)
	}
	return nil
}
