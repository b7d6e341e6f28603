package rest

import (
	"context"

	"github.com/arcakv/arca"
)

// list answers a list operation: paging parameters (maxresults,
// $skiptoken), the service call, and Azure's {value, nextLink} with an
// absolute nextLink to path.
func list[T, W any](q *vaultRequest, path string, fetch func(ctx context.Context, max int, tok string) (arca.Page[T], error), render func(T) W) {
	max, tok, err := q.paging()
	if err != nil {
		q.fail(err)
		return
	}
	page, err := fetch(q.r.Context(), max, tok)
	if err != nil {
		q.fail(err)
		return
	}
	out := listResult[W]{Value: make([]W, 0, len(page.Items)), NextLink: q.nextLink(path, page.Next, max)}
	for _, it := range page.Items {
		out.Value = append(out.Value, render(it))
	}
	q.ok(out)
}
