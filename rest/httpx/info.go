package httpx

import (
	"context"

	"github.com/arcakv/arca"
)

// RequestInfo collects, during one request, what its audit record needs:
// the operation the handler declared, the principal the token proved, the
// resource it addressed and whether an access policy matched. The core puts
// one in every request's context; the planes fill it in with the setters,
// which do nothing on a request without one.
type RequestInfo struct {
	Operation arca.Operation
	Principal *arca.Principal
	Resource  string
	PolicyHit *bool
}

type requestInfoKey struct{}

// WithRequestInfo returns ctx carrying ri.
func WithRequestInfo(ctx context.Context, ri *RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the RequestInfo of ctx, or nil.
func RequestInfoFrom(ctx context.Context) *RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*RequestInfo)
	return ri
}

// SetOperation records the operation the request performs.
func (ri *RequestInfo) SetOperation(op arca.Operation) {
	if ri != nil {
		ri.Operation = op
	}
}

// SetPrincipal records the authenticated caller; a request with a principal
// counts as authenticated at the edge (its body is read to the end).
func (ri *RequestInfo) SetPrincipal(p *arca.Principal) {
	if ri != nil {
		ri.Principal = p
	}
}

// SetResource records the resource id the request addresses.
func (ri *RequestInfo) SetResource(id string) {
	if ri != nil {
		ri.Resource = id
	}
}
