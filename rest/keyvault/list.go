package keyvault

import (
	"context"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// list answers a list operation: paging parameters (maxresults,
// $skiptoken), the service call, and Azure's {value, nextLink} with an
// absolute nextLink to path.
func list[T, W any](q *vaultRequest, path string, fetch func(ctx context.Context, max int, tok string) (arca.Page[T], error), render func(T) W) {
	max, tok, err := httpx.Paging(q.query)
	if err != nil {
		q.fail(err)
		return
	}
	page, err := fetch(q.r.Context(), max, tok)
	if err != nil {
		q.fail(err)
		return
	}
	out := httpx.ListResult[W]{Value: make([]W, 0, len(page.Items)), NextLink: httpx.NextLink(q.baseURL(), path, q.query.Get("api-version"), page.Next, max)}
	for _, it := range page.Items {
		out.Value = append(out.Value, render(it))
	}
	q.ok(out)
}
