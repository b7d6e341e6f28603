package arca

import "context"

// Principal is the verified identity behind a request.
type Principal struct {
	TenantID string
	ObjectID string
	AppID    string // client id of the application, if any
	Audience string
	Expires  int64  // unix seconds
	IdType   string // "app" or "user"
	UPN      string // users only
}

type principalKey struct{}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of ctx, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}
