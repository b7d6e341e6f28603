package graph_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/rest/graph"
)

// TestGraphIsPath: Graph owns /v1.0 on the token service host, nothing else.
func TestGraphIsPath(t *testing.T) {
	for path, want := range map[string]bool{
		"v1.0": true, "v1.0/me": true, "v1.0/groups/x/members/$ref": true,
		"": false, "v1.00/me": false, "beta/me": false, "subscriptions/x": false, "adfs/oauth2/token": false,
	} {
		if got := graph.IsPath(path); got != want {
			t.Errorf("IsPath(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestGraphAuthentication: every Graph call needs a bearer token of the
// deployment's tenant for a Graph audience; otherwise 401 with the
// Resource Manager's challenge and error codes (AuthenticationFailed
// without a token, InvalidAuthenticationToken with a bad one).
func TestGraphAuthentication(t *testing.T) {
	e := newGraphEnv(t)
	challenge := `Bearer authorization_uri="https://localhost:8443/` + e.tenant + `"`

	w := e.do(graphReq{method: "GET", path: "users", token: "-"})
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), challenge) {
		t.Fatalf("no token: %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	wantARMError(t, "no token", e.expect(graphReq{method: "GET", path: "users", token: "-"}, 401), "AuthenticationFailed")

	other := "11111111-2222-4333-8444-555555555555"
	otherTenant, _, err := e.toks.Issue(other, e.admin, graphAudience, false, "1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, token, msg string }{
		{"not a JWT", "garbage", "AKV10000"},
		{"vault audience", e.spToken(e.admin, "https://vault.localhost:8443"), "AKV10022"},
		{"management audience", e.spToken(e.admin, "https://management.localhost:8443"), "AKV10022"},
		{"localhost without the port", e.spToken(e.admin, "https://localhost"), "AKV10022"},
		{"another tenant", otherTenant, "AKV10032"},
	} {
		w := e.do(graphReq{method: "GET", path: "users", token: c.token})
		if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), challenge) {
			t.Errorf("%s: %d %q", c.name, w.Code, w.Header().Get("WWW-Authenticate"))
			continue
		}
		got := e.expect(graphReq{method: "GET", path: "users", token: c.token}, 401)
		wantARMError(t, c.name, got, "InvalidAuthenticationToken")
		if msg, _ := got["error"].(map[string]any)["message"].(string); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q, want %s", c.name, msg, c.msg)
		}
	}
	// A scheme other than Bearer is no token at all.
	wantARMError(t, "Basic", e.expect(graphReq{method: "GET", path: "users", authorization: "Basic YWRtaW46cGFzcw=="}, 401), "AuthenticationFailed")
	wantARMError(t, "Bearer without a token", e.expect(graphReq{method: "GET", path: "users", authorization: "Bearer"}, 401), "AuthenticationFailed")

	// Graph's audiences, as the az CLI, the SDKs and Arca's own names ask
	// for them (trailing slash and case do not matter).
	for _, aud := range []string{"https://graph.microsoft.com", "https://graph.microsoft.com/", "HTTPS://Graph.Microsoft.com",
		"https://localhost:8443", "https://localhost:8443/", "https://graph.localhost:8443"} {
		w := e.do(graphReq{method: "GET", path: "users", token: e.spToken(e.admin, aud)})
		if w.Code != 200 {
			t.Errorf("audience %s: %d %s", aud, w.Code, w.Body.String())
		}
		if w.Header().Get("Cache-Control") != "no-cache" || w.Header().Get("x-ms-correlation-request-id") != requestID {
			t.Errorf("audience %s: headers %v", aud, w.Header())
		}
	}

	// A token stops working when it expires (after the clock skew).
	e.clock.Advance(time.Hour + 6*time.Minute)
	if got := e.callAs(e.token, "GET", "users", "", 401); !strings.Contains(got["error"].(map[string]any)["message"].(string), "TokenExpired") {
		t.Errorf("expired: %v", got)
	}
}

// TestGraphTenantUnreadable: when the directory cannot tell the tenant,
// the call fails with a 500, before any token is believed.
func TestGraphTenantUnreadable(t *testing.T) {
	e := newGraphEnv(t)
	e.faults.FailReads("id/tenant")
	wantARMError(t, "tenant unreadable", e.call("GET", "users", "", 500), "InternalError")
	e.faults.FailReads("")
	e.call("GET", "users", "", 200)
}

// TestGraphMe: /me is the signed-in person (delegated tokens only), in
// the shape `az ad signed-in-user show` reads, with the @odata.context of
// the host the client called.
func TestGraphMe(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	u, tok := e.newUser("alice@arca.local", "Alice Liddell")

	me := e.callAs(tok, "GET", "me", "", 200)
	want := map[string]any{
		"@odata.context":    "https://localhost:8443/v1.0/$metadata#users/$entity",
		"id":                u.ObjectID,
		"userPrincipalName": "alice@arca.local",
		"displayName":       "Alice Liddell",
		"mail":              "alice@arca.local",
		"accountEnabled":    true,
	}
	for k, v := range want {
		if me[k] != v {
			t.Errorf("me[%s] = %v, want %v", k, me[k], v)
		}
	}
	if bp, ok := me["businessPhones"].([]any); !ok || len(bp) != 0 {
		t.Errorf("businessPhones: %v", me["businessPhones"])
	}
	for _, k := range []string{"givenName", "surname", "jobTitle", "mobilePhone", "officeLocation", "preferredLanguage"} {
		if v, ok := me[k]; !ok || v != nil {
			t.Errorf("%s: %v (present %v), want null", k, v, ok)
		}
	}
	// The context follows the Host the client used.
	if got := e.expect(graphReq{method: "GET", path: "me", token: tok, host: "127.0.0.1:9443"}, 200); got["@odata.context"] != "https://127.0.0.1:9443/v1.0/$metadata#users/$entity" {
		t.Errorf("context on 127.0.0.1:9443: %v", got["@odata.context"])
	}
	// /me/ with a trailing slash is /me.
	if got := e.callAs(tok, "GET", "me/", "", 200); got["id"] != u.ObjectID {
		t.Errorf("me/: %v", got)
	}

	wantGraphError(t, "POST /me", e.callAs(tok, "POST", "me", "{}", 405), "Request_BadRequest")
	// An application has no /me.
	got := e.call("GET", "me", "", 400)
	wantGraphError(t, "app /me", got, "BadRequest")
	if !strings.Contains(got["error"].(map[string]any)["message"].(string), "delegated") {
		t.Errorf("app /me: %v", got)
	}
	// A person deleted after the token was issued is not found.
	if err := e.dir.DeleteUser(context.Background(), u.UPN); err != nil {
		t.Fatal(err)
	}
	wantGraphError(t, "deleted /me", e.callAs(tok, "GET", "me", "", 404), "Request_ResourceNotFound")
}

// TestGraphUsers: list (with $filter), get by userPrincipalName or object
// id, and the errors.
func TestGraphUsers(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	alice, _ := e.newUser("alice@arca.local", "Alice")
	bob, _ := e.newUser("bob@arca.local", "Bob")

	list := e.call("GET", "users", "", 200)
	if list["@odata.context"] != "https://localhost:8443/v1.0/$metadata#users" {
		t.Errorf("context: %v", list["@odata.context"])
	}
	if ids := idsOf(t, list); len(ids) != 2 || !slices.Contains(ids, alice.ObjectID) || !slices.Contains(ids, bob.ObjectID) {
		t.Errorf("list: %v", ids)
	}
	for _, u := range values(t, list) {
		if u["userPrincipalName"] == nil || u["displayName"] == nil || u["@odata.context"] == nil {
			t.Errorf("listed user: %v", u)
		}
	}
	filter := func(f string) []string {
		t.Helper()
		return idsOf(t, e.call("GET", "users?$filter="+url.QueryEscape(f), "", 200))
	}
	for f, want := range map[string][]string{
		"userPrincipalName eq 'alice@arca.local'":                          {alice.ObjectID},
		"userPrincipalName eq 'ALICE@arca.local'":                          {alice.ObjectID},
		"mail eq 'bob@arca.local'":                                         {bob.ObjectID},
		"startswith(displayName,'Bo')":                                     {bob.ObjectID},
		"id eq '" + alice.ObjectID + "'":                                   {alice.ObjectID},
		"userPrincipalName eq 'nobody@arca.local'":                         nil,
		"jobTitle eq 'Engineer'":                                           nil,
		"displayName eq 'Alice' and userPrincipalName eq 'bob@arca.local'": nil,
	} {
		if got := filter(f); !slices.Equal(got, want) {
			t.Errorf("$filter=%s: %v, want %v", f, got, want)
		}
	}
	wantGraphError(t, "unsupported filter", e.call("GET", "users?$filter="+url.QueryEscape("displayName ne 'Alice'"), "", 400), "Request_UnsupportedQuery")

	for _, key := range []string{alice.UPN, alice.ObjectID, strings.ToUpper(alice.ObjectID)} {
		got := e.call("GET", "users/"+url.PathEscape(key), "", 200)
		if got["id"] != alice.ObjectID || got["userPrincipalName"] != alice.UPN || got["@odata.context"] != "https://localhost:8443/v1.0/$metadata#users/$entity" {
			t.Errorf("users/%s: %v", key, got)
		}
	}
	missing := e.call("GET", "users/nobody@arca.local", "", 404)
	wantGraphError(t, "missing user", missing, "Request_ResourceNotFound")
	if !strings.Contains(missing["error"].(map[string]any)["message"].(string), "'nobody@arca.local'") {
		t.Errorf("missing user message: %v", missing)
	}
	wantGraphError(t, "POST users", e.call("POST", "users", `{"userPrincipalName":"carol@arca.local"}`, 405), "Request_BadRequest")

	e.faults.FailReads("id/user/")
	wantARMError(t, "users unreadable", e.call("GET", "users", "", 500), "InternalError")
}

// TestGraphServicePrincipals: list (with the $filter forms the az CLI
// sends: appId eq, servicePrincipalNames/any), get by object id, and the
// errors. The managed identity is a ManagedIdentity principal.
func TestGraphServicePrincipals(t *testing.T) {
	e := newGraphEnv(t)
	ctx := context.Background()
	app, _ := e.newSP("my-app")
	mi, _, err := e.dir.CreateManagedIdentity(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list := e.call("GET", "servicePrincipals", "", 200)
	if list["@odata.context"] != "https://localhost:8443/v1.0/$metadata#servicePrincipals" {
		t.Errorf("context: %v", list["@odata.context"])
	}
	if ids := idsOf(t, list); len(ids) != 3 || !slices.Contains(ids, e.admin.ObjectID) || !slices.Contains(ids, app.ObjectID) || !slices.Contains(ids, mi.ObjectID) {
		t.Errorf("list: %v", ids)
	}

	got := e.call("GET", "servicePrincipals/"+app.ObjectID, "", 200)
	for k, v := range map[string]any{"id": app.ObjectID, "appId": app.AppID, "displayName": "my-app",
		"servicePrincipalType": "Application", "accountEnabled": true} {
		if got[k] != v {
			t.Errorf("sp[%s] = %v, want %v", k, got[k], v)
		}
	}
	if names, _ := got["servicePrincipalNames"].([]any); len(names) != 2 || names[0] != app.AppID || names[1] != "my-app" {
		t.Errorf("servicePrincipalNames: %v", got["servicePrincipalNames"])
	}
	if got := e.call("GET", "servicePrincipals/"+strings.ToUpper(mi.ObjectID), "", 200); got["servicePrincipalType"] != "ManagedIdentity" || got["appId"] != mi.AppID {
		t.Errorf("managed identity: %v", got)
	}

	for f, want := range map[string][]string{
		"appId eq '" + app.AppID + "'":                            {app.ObjectID},
		"servicePrincipalNames/any(c:c eq '" + app.AppID + "')":   {app.ObjectID},
		"servicePrincipalNames/any(x:x eq 'my-app')":              {app.ObjectID},
		"displayName eq 'admin'":                                  {e.admin.ObjectID},
		"appId eq '00000000-0000-0000-0000-000000000000'":         nil,
		"appOwnerOrganizationId eq 'x'":                           nil,
		"id eq '" + mi.ObjectID + "' and displayName eq 'not-it'": nil,
	} {
		if got := idsOf(t, e.call("GET", "servicePrincipals?$filter="+url.QueryEscape(f), "", 200)); !slices.Equal(got, want) {
			t.Errorf("$filter=%s: %v, want %v", f, got, want)
		}
	}
	// The lambda variable must be the one compared.
	wantGraphError(t, "any with another variable", e.call("GET", "servicePrincipals?$filter="+url.QueryEscape("servicePrincipalNames/any(c:x eq 'a')"), "", 400), "Request_UnsupportedQuery")

	wantGraphError(t, "missing sp", e.call("GET", "servicePrincipals/00000000-0000-0000-0000-000000000000", "", 404), "Request_ResourceNotFound")
	// An application id is not an object id.
	wantGraphError(t, "by appId", e.call("GET", "servicePrincipals/"+app.AppID, "", 404), "Request_ResourceNotFound")
	wantGraphError(t, "DELETE sp", e.call("DELETE", "servicePrincipals/"+app.ObjectID, "", 405), "Request_BadRequest")

	e.faults.FailReads("id/sp/")
	wantARMError(t, "principals unreadable", e.call("GET", "servicePrincipals", "", 500), "InternalError")
	wantARMError(t, "principal unreadable", e.call("GET", "servicePrincipals/"+app.ObjectID, "", 500), "InternalError")
}

// TestGraphRouting: paths Graph does not serve are Graph's 400 BadRequest
// naming the segment.
func TestGraphRouting(t *testing.T) {
	e := newGraphEnv(t)
	for path, segment := range map[string]string{
		"applications":                     "applications",
		"directoryObjects/x":               "directoryObjects",
		"directoryObjects/getByIds":        "directoryObjects", // GET
		"groups/" + e.newGroup("G") + "/x": "x",
	} {
		got := e.call("GET", path, "", 400)
		wantGraphError(t, path, got, "BadRequest")
		if !strings.Contains(got["error"].(map[string]any)["message"].(string), "'"+segment+"'") {
			t.Errorf("%s: %v", path, got)
		}
	}
	wantGraphError(t, "/v1.0", e.expect(graphReq{method: "GET", path: ""}, 400), "BadRequest")
}

// TestGraphGetByIDs: directoryObjects/getByIds resolves users, groups and
// service principals with their @odata.type (what `az role assignment
// list` uses to name principals), in the order asked, leaving out ids that
// name nothing.
func TestGraphGetByIDs(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	u, _ := e.newUser("carol@arca.local", "Carol")
	gid := e.newGroup("Readers")
	body := `{"ids":["` + gid + `","00000000-0000-0000-0000-000000000000","` + u.ObjectID + `","` + e.admin.ObjectID + `"],"types":["user","group","servicePrincipal"]}`
	got := e.call("POST", "directoryObjects/getByIds", body, 200)
	if got["@odata.context"] != "https://localhost:8443/v1.0/$metadata#directoryObjects" {
		t.Errorf("context: %v", got["@odata.context"])
	}
	vs := values(t, got)
	if len(vs) != 3 {
		t.Fatalf("getByIds: %v", vs)
	}
	for i, want := range []struct{ id, typ, name string }{
		{gid, "#microsoft.graph.group", "Readers"},
		{u.ObjectID, "#microsoft.graph.user", "Carol"},
		{e.admin.ObjectID, "#microsoft.graph.servicePrincipal", "admin"},
	} {
		if vs[i]["id"] != want.id || vs[i]["@odata.type"] != want.typ || vs[i]["displayName"] != want.name {
			t.Errorf("value[%d] = %v, want %+v", i, vs[i], want)
		}
		if _, ok := vs[i]["@odata.context"]; ok {
			t.Errorf("value[%d] carries an @odata.context: %v", i, vs[i])
		}
	}
	if vs[1]["userPrincipalName"] != u.UPN || vs[2]["appId"] != e.admin.AppID || vs[0]["securityEnabled"] != true {
		t.Errorf("properties: %v", vs)
	}
	if got := e.call("POST", "directoryObjects/getByIds", `{"ids":[]}`, 200); len(values(t, got)) != 0 {
		t.Errorf("no ids: %v", got)
	}

	wantGraphError(t, "not JSON", e.call("POST", "directoryObjects/getByIds", `ids=1`, 400), "Request_BadRequest")
	many := `{"ids":["` + strings.TrimSuffix(strings.Repeat(gid+`","`, 1001), `","`) + `"]}`
	wantGraphError(t, "1001 ids", e.call("POST", "directoryObjects/getByIds", many, 400), "Request_BadRequest")

	// A directory that cannot be read is a 500, not an object left out.
	e.faults.FailReads("id/sp/")
	wantARMError(t, "principals unreadable", e.call("POST", "directoryObjects/getByIds", `{"ids":["`+e.admin.ObjectID+`"]}`, 500), "InternalError")
	e.faults.FailReads("id/user/")
	wantARMError(t, "users unreadable", e.call("POST", "directoryObjects/getByIds", `{"ids":["`+gid+`"]}`, 500), "InternalError")
	e.faults.FailReads("id/group/")
	wantARMError(t, "groups unreadable", e.call("POST", "directoryObjects/getByIds", `{"ids":["`+e.admin.ObjectID+`"]}`, 500), "InternalError")
}

// TestGraphMemberGroups: getMemberGroups lists every group an object
// belongs to, transitively; checkMemberGroups those among groupIds. Both
// work on any directory-object collection.
func TestGraphMemberGroups(t *testing.T) {
	e := newGraphEnv(t)
	app, _ := e.newSP("member")
	inner, outer, other := e.newGroup("Inner"), e.newGroup("Outer"), e.newGroup("Other")
	e.call("POST", "groups/"+inner+"/members/$ref", ref(app.ObjectID), 204)
	e.call("POST", "groups/"+outer+"/members/$ref", ref(inner), 204)

	for _, coll := range []string{"servicePrincipals", "directoryObjects", "users"} {
		got := e.call("POST", coll+"/"+app.ObjectID+"/getMemberGroups", `{"securityEnabledOnly":true}`, 200)
		if got["@odata.context"] != "https://localhost:8443/v1.0/$metadata#Collection(Edm.String)" {
			t.Errorf("%s: context %v", coll, got["@odata.context"])
		}
		if gs := stringsOf(t, got); len(gs) != 2 || !slices.Contains(gs, inner) || !slices.Contains(gs, outer) {
			t.Errorf("%s getMemberGroups: %v", coll, gs)
		}
	}
	if gs := stringsOf(t, e.call("POST", "groups/"+inner+"/getMemberGroups", `{}`, 200)); !slices.Equal(gs, []string{outer}) {
		t.Errorf("group getMemberGroups: %v", gs)
	}
	if gs := stringsOf(t, e.call("POST", "directoryObjects/"+other+"/getMemberGroups", `{}`, 200)); len(gs) != 0 {
		t.Errorf("no groups: %v", gs)
	}
	got := e.call("POST", "servicePrincipals/"+app.ObjectID+"/checkMemberGroups", `{"groupIds":["`+strings.ToUpper(outer)+`","`+other+`"]}`, 200)
	if gs := stringsOf(t, got); !slices.Equal(gs, []string{outer}) {
		t.Errorf("checkMemberGroups: %v", gs)
	}

	wantGraphError(t, "unknown object", e.call("POST", "directoryObjects/00000000-0000-0000-0000-000000000000/getMemberGroups", `{}`, 404), "Request_ResourceNotFound")
	wantGraphError(t, "GET", e.call("GET", "directoryObjects/"+app.ObjectID+"/getMemberGroups", "", 405), "Request_BadRequest")
	wantGraphError(t, "not JSON", e.call("POST", "directoryObjects/"+app.ObjectID+"/checkMemberGroups", `[`, 400), "Request_BadRequest")
	tooMany := `{"groupIds":["` + strings.TrimSuffix(strings.Repeat(other+`","`, 21), `","`) + `"]}`
	wantGraphError(t, "21 groupIds", e.call("POST", "directoryObjects/"+app.ObjectID+"/checkMemberGroups", tooMany, 400), "Request_BadRequest")

	// Reads need no directory rights: a principal without any role asks too.
	_, tok := e.newSP("reader")
	if gs := stringsOf(t, e.callAs(tok, "POST", "directoryObjects/"+app.ObjectID+"/getMemberGroups", `{}`, 200)); len(gs) != 2 {
		t.Errorf("as a principal without roles: %v", gs)
	}

	e.faults.FailReads("id/group/")
	wantARMError(t, "groups unreadable", e.call("POST", "directoryObjects/"+app.ObjectID+"/getMemberGroups", `{}`, 500), "InternalError")
}

// TestGraphUnreadableDirectoryIsNotNotFound: a directory that cannot be
// read is a 500, as for the lists and getByIds, never Graph's 404
// Request_ResourceNotFound: a client (the az CLI) would report an outage
// as an absent user or object.
//
// BUG: users/{id} and /me answer 404 for any error of Directory.User, and
// getMemberGroups/checkMemberGroups answer 404 for any error of
// Directory.ObjectKind (which itself drops the errors of its group and
// user lookups).
func TestGraphUnreadableDirectoryIsNotNotFound(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	u, tok := e.newUser("frank@arca.local", "Frank")
	g := e.newGroup("Team")

	for _, c := range []struct {
		name, fail string
		r          graphReq
	}{
		{"users/{upn}", "id/user/", graphReq{method: "GET", path: "users/" + u.UPN}},
		{"users/{id}", "id/user/", graphReq{method: "GET", path: "users/" + u.ObjectID}},
		{"/me", "id/user/", graphReq{method: "GET", path: "me", token: tok}},
		{"getMemberGroups of a group", "id/group/", graphReq{method: "POST", path: "groups/" + g + "/getMemberGroups", body: `{}`}},
		{"getMemberGroups of an unknown object", "id/sp/", graphReq{method: "POST", path: "directoryObjects/00000000-0000-0000-0000-000000000000/getMemberGroups", body: `{}`}},
	} {
		e.faults.FailReads(c.fail)
		if w := e.do(c.r); w.Code != 500 || !strings.Contains(w.Body.String(), `"InternalError"`) {
			t.Errorf("%s with %s unreadable: %d %.160s (want 500 InternalError)", c.name, c.fail, w.Code, w.Body.String())
		}
	}
}

// TestGraphSubresourcesAreNotTheCollection: a path below a user or a
// service principal that Graph defines (memberOf, owners, ...) must not be
// answered with the whole users or servicePrincipals collection: either
// it is served, or it is Graph's 400 naming the segment, as below a group.
// (`az ad sp owner list` reads servicePrincipals/{id}/owners.)
//
// BUG: users() and servicePrincipals() serve the collection for any path
// that is not exactly one segment long.
func TestGraphSubresourcesAreNotTheCollection(t *testing.T) {
	e := newGraphEnv(t)
	for _, path := range []string{
		"users/" + e.admin.ObjectID + "/memberOf",
		"servicePrincipals/" + e.admin.ObjectID + "/owners",
		"servicePrincipals/" + e.admin.ObjectID + "/memberOf",
	} {
		w := e.do(graphReq{method: "GET", path: path})
		if w.Code == 200 && (strings.Contains(w.Body.String(), `$metadata#users"`) || strings.Contains(w.Body.String(), `$metadata#servicePrincipals"`)) {
			t.Errorf("GET %s: answered with the collection: %.200s", path, w.Body.String())
		}
	}
}
