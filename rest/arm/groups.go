package arm

// The Resource Manager: resource groups and the generic resource list.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

func groupJSON(g *management.ResourceGroup) map[string]any {
	tags := g.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	out := map[string]any{"id": "/subscriptions/" + g.Subscription + "/resourceGroups/" + g.Name, "name": g.Name,
		"type": rgType, "location": g.Location, "tags": tags, "properties": map[string]any{"provisioningState": "Succeeded"}}
	if g.ManagedBy != "" {
		out["managedBy"] = g.ManagedBy
	}
	return out
}

func (q *armRequest) putGroup(sub *management.Subscription, name string) {
	var body struct {
		Location  string            `json:"location"`
		Tags      map[string]string `json:"tags"`
		ManagedBy string            `json:"managedBy"`
	}
	if err := httpx.DecodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if q.r.Method == http.MethodPatch {
		g, err := q.h.Management.ResourceGroup(q.ctx(), sub.ID, name)
		if err != nil {
			q.fail(err)
			return
		}
		if body.Location == "" {
			body.Location = g.Location
		}
		if body.Tags == nil {
			body.Tags = g.Tags
		}
		if body.ManagedBy == "" {
			body.ManagedBy = g.ManagedBy // PATCH keeps what it does not name
		}
	}
	created, g, err := q.h.Management.PutResourceGroup(q.ctx(), &management.ResourceGroup{Subscription: sub.ID, Name: name,
		Location: strings.ToLower(strings.ReplaceAll(body.Location, " ", "")), Tags: body.Tags, ManagedBy: body.ManagedBy})
	if err != nil {
		q.fail(err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	httpx.WriteJSON(q.w, status, groupJSON(g))
}

func (q *armRequest) listGroups(sub *management.Subscription) {
	gs, err := q.h.Management.ResourceGroups(q.ctx(), sub.ID)
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, g := range gs {
		out = append(out, groupJSON(g))
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

// deleteGroup deletes the group's vaults (they become soft-deleted vaults),
// then the group; 202 + Location, whose GET answers 200.
func (q *armRequest) deleteGroup(sub *management.Subscription, name string) {
	g, err := q.h.Management.ResourceGroup(q.ctx(), sub.ID, name)
	if err != nil {
		q.fail(err)
		return
	}
	vs, err := q.h.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	for _, v := range vs {
		if eq(v.Subscription, sub.ID) && eq(v.ResourceGroup, g.Name) {
			if err := q.h.Vaults.DeleteVault(q.ctx(), v.Name); err != nil && arca.KindOf(err) != arca.KindNotFound {
				q.fail(err)
				return
			}
		}
	}
	if err := q.h.Management.DeleteResourceGroup(q.ctx(), sub.ID, g.Name); err != nil {
		q.fail(err)
		return
	}
	op := httpx.NewRequestID()
	q.w.Header().Set("Location", httpx.Origin(q.r)+"/subscriptions/"+sub.ID+"/operationresults/"+op+"?api-version="+url.QueryEscape(q.query.Get("api-version")))
	q.w.Header().Set("Retry-After", "1")
	q.w.WriteHeader(http.StatusAccepted)
}

// ---- generic resources ----

var filterAndRE = regexp.MustCompile(`(?i)\s+and\s+`)

var filterClauseRE = regexp.MustCompile(`(?i)^\s*(\w+)\s+eq\s+'([^']*)'\s*$`)

// parseFilter parses an ARM $filter of "field eq 'value'" clauses joined by
// "and" into lower-cased field names.
func parseFilter(filter string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(filter) == "" {
		return out, nil
	}
	for _, c := range filterAndRE.Split(filter, -1) {
		m := filterClauseRE.FindStringSubmatch(c)
		if m == nil {
			return nil, arca.Errorf(arca.KindInvalid, "InvalidFilterInQueryString", "The $filter '%s' is not supported.", filter)
		}
		f := strings.ToLower(m[1])
		switch f {
		case "resourcetype", "name", "resourcegroup", "location", "tagname", "tagvalue":
		default:
			return nil, arca.Errorf(arca.KindInvalid, "InvalidFilterInQueryString", "The $filter field '%s' is not supported.", m[1])
		}
		out[f] = m[2]
	}
	return out, nil
}

func (q *armRequest) listResources(sub *management.Subscription, group string) {
	f, err := parseFilter(q.query.Get("$filter"))
	if err != nil {
		q.fail(err)
		return
	}
	if t, ok := f["resourcetype"]; ok && !eq(t, vaultType) {
		httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": []any{}})
		return
	}
	vs, err := q.h.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, v := range vs {
		if !eq(v.Subscription, sub.ID) || (group != "" && !eq(v.ResourceGroup, group)) {
			continue
		}
		if n, ok := f["name"]; ok && !eq(n, v.Name) {
			continue
		}
		if g, ok := f["resourcegroup"]; ok && !eq(g, v.ResourceGroup) {
			continue
		}
		if l, ok := f["location"]; ok && !eq(l, v.Location) {
			continue
		}
		if tn, ok := f["tagname"]; ok {
			tv, has := v.Tags[tn]
			if !has {
				continue
			}
			if want, ok := f["tagvalue"]; ok && tv != want {
				continue
			}
		}
		out = append(out, map[string]any{"id": vaultID(v), "name": v.Name, "type": vaultType, "location": v.Location, "tags": tagsOf(v)})
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}
