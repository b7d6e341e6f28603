package graph_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/storage/memory"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestGraphGroupLifecycle: create (201, the group shape `az ad group
// create` reads), get, list with $filter, owners, delete (204, then 404).
func TestGraphGroupLifecycle(t *testing.T) {
	e := newGraphEnv(t)
	created := e.call("POST", "groups", `{"displayName":"Vault Readers","mailNickname":"vault-readers","description":"Reads secrets","mailEnabled":false,"securityEnabled":true}`, 201)
	id, _ := created["id"].(string)
	if !guidRE.MatchString(id) {
		t.Fatalf("id: %v", created)
	}
	when := time.Unix(1_800_000_000, 0).UTC().Format(time.RFC3339)
	for k, v := range map[string]any{
		"@odata.context": "https://localhost:8443/v1.0/$metadata#groups/$entity",
		"displayName":    "Vault Readers", "mailNickname": "vault-readers", "description": "Reads secrets",
		"securityEnabled": true, "mailEnabled": false, "createdDateTime": when, "renewedDateTime": when,
	} {
		if created[k] != v {
			t.Errorf("created[%s] = %v, want %v", k, created[k], v)
		}
	}
	for _, k := range []string{"deletedDateTime", "mail", "visibility", "membershipRule", "classification"} {
		if v, ok := created[k]; !ok || v != nil {
			t.Errorf("%s: %v (present %v), want null", k, v, ok)
		}
	}
	if gt, ok := created["groupTypes"].([]any); !ok || len(gt) != 0 {
		t.Errorf("groupTypes: %v", created["groupTypes"])
	}

	got := e.call("GET", "groups/"+strings.ToUpper(id), "", 200)
	if got["id"] != id || got["displayName"] != "Vault Readers" || got["@odata.context"] != "https://localhost:8443/v1.0/$metadata#groups/$entity" {
		t.Errorf("GET: %v", got)
	}
	// Without a description, the description is null.
	other := e.call("POST", "groups", `{"displayName":"Other","mailNickname":"other"}`, 201)
	if v, ok := other["description"]; !ok || v != nil {
		t.Errorf("description without one: %v", other)
	}

	list := e.call("GET", "groups", "", 200)
	if list["@odata.context"] != "https://localhost:8443/v1.0/$metadata#groups" || len(values(t, list)) != 2 {
		t.Errorf("list: %v", list)
	}
	for f, want := range map[string][]string{
		"displayName eq 'Vault Readers'":                                     {id},
		"displayName eq 'vault readers' and mailNickname eq 'vault-readers'": {id},
		"startswith(displayName,'Vault')":                                    {id},
		"mailNickname eq 'other'":                                            {other["id"].(string)},
		"securityEnabled eq 'true' and displayName eq 'Nope'":                nil,
		"visibility eq 'Private'":                                            nil,
		"securityEnabled eq 'true' and id eq '" + id + "'":                   {id},
	} {
		if got := idsOf(t, e.call("GET", "groups?$filter="+url.QueryEscape(f), "", 200)); !slices.Equal(got, want) {
			t.Errorf("$filter=%s: %v, want %v", f, got, want)
		}
	}
	wantGraphError(t, "unsupported filter", e.call("GET", "groups?$filter="+url.QueryEscape("displayName eq 'a' or displayName eq 'b'"), "", 400), "Request_UnsupportedQuery")

	// The creator is the group's owner.
	owners := e.call("GET", "groups/"+id+"/owners", "", 200)
	if vs := values(t, owners); len(vs) != 1 || vs[0]["id"] != e.admin.ObjectID || vs[0]["@odata.type"] != "#microsoft.graph.servicePrincipal" {
		t.Errorf("owners: %v", owners)
	}
	if got := e.call("GET", "groups/"+id+"/members", "", 200); len(values(t, got)) != 0 {
		t.Errorf("members of a new group: %v", got)
	}

	e.call("DELETE", "groups/"+id, "", 204)
	wantGraphError(t, "GET deleted", e.call("GET", "groups/"+id, "", 404), "Request_ResourceNotFound")
	wantGraphError(t, "DELETE deleted", e.call("DELETE", "groups/"+id, "", 404), "Request_ResourceNotFound")
	wantGraphError(t, "members of deleted", e.call("GET", "groups/"+id+"/members", "", 404), "Request_ResourceNotFound")
	if got := idsOf(t, e.call("GET", "groups", "", 200)); !slices.Equal(got, []string{other["id"].(string)}) {
		t.Errorf("list after delete: %v", got)
	}
	wantGraphError(t, "PUT groups", e.call("PUT", "groups", `{}`, 405), "Request_BadRequest")
	wantGraphError(t, "PATCH group", e.call("PATCH", "groups/"+other["id"].(string), `{}`, 400), "BadRequest")
}

// TestGraphGroupCreateInvalid: only security groups, with a displayName
// and a mailNickname, in a JSON body.
func TestGraphGroupCreateInvalid(t *testing.T) {
	e := newGraphEnv(t)
	for name, body := range map[string]string{
		"not JSON":          `displayName=x`,
		"unknown type":      `{"displayName":1,"mailNickname":"x"}`,
		"mail enabled":      `{"displayName":"x","mailNickname":"x","mailEnabled":true}`,
		"Microsoft 365":     `{"displayName":"x","mailNickname":"x","groupTypes":["Unified"]}`,
		"not security":      `{"displayName":"x","mailNickname":"x","securityEnabled":false}`,
		"no displayName":    `{"mailNickname":"x"}`,
		"blank displayName": `{"displayName":"  ","mailNickname":"x"}`,
		"no mailNickname":   `{"displayName":"x"}`,
		"long mailNickname": `{"displayName":"x","mailNickname":"` + strings.Repeat("n", 65) + `"}`,
	} {
		wantGraphError(t, name, e.call("POST", "groups", body, 400), "Request_BadRequest")
	}
	if got := e.call("GET", "groups", "", 200); len(values(t, got)) != 0 {
		t.Errorf("groups after refused creations: %v", got)
	}
}

// TestGraphGroupMembers: members/$ref adds users, service principals and
// groups (as `az ad group member add` does); the members listing
// resolves each with its @odata.type; $ref removal; the errors.
func TestGraphGroupMembers(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	u, _ := e.newUser("dave@arca.local", "Dave")
	app, _ := e.newSP("app")
	g, nested := e.newGroup("Team"), e.newGroup("Nested")

	e.call("POST", "groups/"+g+"/members/$ref", ref(u.ObjectID), 204)
	e.call("POST", "groups/"+g+"/members/$ref", ref(strings.ToUpper(app.ObjectID)), 204)
	// Any URL ending in the object id will do, as in Graph.
	e.call("POST", "groups/"+g+"/members/$ref", `{"@odata.id":"https://graph.localhost:8443/v1.0/groups/`+nested+`"}`, 204)

	members := e.call("GET", "groups/"+g+"/members", "", 200)
	if members["@odata.context"] != "https://localhost:8443/v1.0/$metadata#directoryObjects" {
		t.Errorf("context: %v", members["@odata.context"])
	}
	byID := map[string]map[string]any{}
	for _, m := range values(t, members) {
		byID[m["id"].(string)] = m
	}
	for id, typ := range map[string]string{u.ObjectID: "#microsoft.graph.user", app.ObjectID: "#microsoft.graph.servicePrincipal", nested: "#microsoft.graph.group"} {
		if byID[id]["@odata.type"] != typ {
			t.Errorf("member %s: %v, want %s", id, byID[id], typ)
		}
	}
	if len(byID) != 3 || byID[u.ObjectID]["userPrincipalName"] != u.UPN || byID[app.ObjectID]["appId"] != app.AppID || byID[nested]["displayName"] != "Nested" {
		t.Errorf("members: %v", members)
	}

	for name, c := range map[string]struct {
		group, body string
		status      int
		code, msg   string
	}{
		"duplicate":          {g, ref(u.ObjectID), 400, "Request_BadRequest", "already exist"},
		"itself":             {g, ref(g), 400, "Request_BadRequest", "member of itself"},
		"cycle":              {nested, ref(g), 400, "Request_BadRequest", "member of itself"},
		"unknown object":     {g, ref("00000000-0000-0000-0000-000000000000"), 404, "Request_ResourceNotFound", "00000000-0000-0000-0000-000000000000"},
		"not an object id":   {g, ref("alice@arca.local"), 400, "Request_BadRequest", "alice@arca.local"},
		"no @odata.id":       {g, `{}`, 400, "Request_BadRequest", "@odata.id"},
		"not JSON":           {g, `x`, 400, "Request_BadRequest", "@odata.id"},
		"unknown group":      {"00000000-0000-0000-0000-000000000001", ref(u.ObjectID), 404, "Request_ResourceNotFound", "00000000-0000-0000-0000-000000000001"},
		"group id malformed": {"not-a-group", ref(u.ObjectID), 404, "Request_ResourceNotFound", "not-a-group"},
	} {
		got := e.call("POST", "groups/"+c.group+"/members/$ref", c.body, c.status)
		wantGraphError(t, name, got, c.code)
		if msg, _ := got["error"].(map[string]any)["message"].(string); !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q, want it to contain %q", name, msg, c.msg)
		}
	}

	e.call("DELETE", "groups/"+g+"/members/"+app.ObjectID+"/$ref", "", 204)
	wantGraphError(t, "remove again", e.call("DELETE", "groups/"+g+"/members/"+app.ObjectID+"/$ref", "", 404), "Request_ResourceNotFound")
	if got := idsOf(t, e.call("GET", "groups/"+g+"/members", "", 200)); len(got) != 2 || slices.Contains(got, app.ObjectID) {
		t.Errorf("members after removal: %v", got)
	}
	// Deleting a group takes it out of the groups it belonged to.
	e.call("DELETE", "groups/"+nested, "", 204)
	if got := idsOf(t, e.call("GET", "groups/"+g+"/members", "", 200)); !slices.Equal(got, []string{u.ObjectID}) {
		t.Errorf("members after deleting the nested group: %v", got)
	}
	// A member deleted from the directory drops out of the listing.
	if err := e.dir.DeleteUser(context.Background(), u.UPN); err != nil {
		t.Fatal(err)
	}
	if got := e.call("GET", "groups/"+g+"/members", "", 200); len(values(t, got)) != 0 {
		t.Errorf("members after deleting the user: %v", got)
	}
}

// TestGraphGroupMembersOfEveryKind is the regression test for a group
// holding a service principal and a user: its members listing is 200 with
// both. (The lookup of each member tries the groups after the users; a
// change took the groups' not-found error for a failure and answered 500.)
func TestGraphGroupMembersOfEveryKind(t *testing.T) {
	t.Parallel()
	e := newGraphEnv(t)
	u, _ := e.newUser("erin@arca.local", "Erin")
	app, _ := e.newSP("erin-app")
	g := e.newGroup("Mixed")
	e.call("POST", "groups/"+g+"/members/$ref", ref(app.ObjectID), 204)
	e.call("POST", "groups/"+g+"/members/$ref", ref(u.ObjectID), 204)

	got := e.call("GET", "groups/"+g+"/members", "", 200)
	vs := values(t, got)
	if len(vs) != 2 {
		t.Fatalf("members: %v", got)
	}
	if vs[0]["id"] != app.ObjectID || vs[0]["@odata.type"] != "#microsoft.graph.servicePrincipal" ||
		vs[1]["id"] != u.ObjectID || vs[1]["@odata.type"] != "#microsoft.graph.user" {
		t.Errorf("members: %v", vs)
	}
	// The same resolution serves getByIds.
	if got := idsOf(t, e.call("POST", "directoryObjects/getByIds", `{"ids":["`+app.ObjectID+`","`+u.ObjectID+`"]}`, 200)); !slices.Equal(got, []string{app.ObjectID, u.ObjectID}) {
		t.Errorf("getByIds: %v", got)
	}
}

// TestGraphGroupStoreFailures: when groups cannot be read, reads and
// writes of a group are a 500, never a 404 or a silent success.
func TestGraphGroupStoreFailures(t *testing.T) {
	e := newGraphEnv(t)
	g := e.newGroup("Team")
	app, _ := e.newSP("app")
	e.call("POST", "groups/"+g+"/members/$ref", ref(app.ObjectID), 204)

	e.faults.FailReads("id/group/")
	wantARMError(t, "list", e.call("GET", "groups", "", 500), "InternalError")
	wantARMError(t, "get", e.call("GET", "groups/"+g, "", 500), "InternalError")
	wantARMError(t, "members", e.call("GET", "groups/"+g+"/members", "", 500), "InternalError")
	wantARMError(t, "delete", e.call("DELETE", "groups/"+g, "", 500), "InternalError")
	e.faults.FailReads("id/sp/")
	wantARMError(t, "members unreadable", e.call("GET", "groups/"+g+"/members", "", 500), "InternalError")
	e.faults.FailReads("")

	// Writes that fail are 500s, and change nothing.
	other, _ := e.newSP("other")
	e.faults.FailWrites("id/group/")
	wantARMError(t, "create", e.call("POST", "groups", `{"displayName":"New","mailNickname":"new"}`, 500), "InternalError")
	wantARMError(t, "add member", e.call("POST", "groups/"+g+"/members/$ref", ref(other.ObjectID), 500), "InternalError")
	wantARMError(t, "remove member", e.call("DELETE", "groups/"+g+"/members/"+app.ObjectID+"/$ref", "", 500), "InternalError")
	wantARMError(t, "delete", e.call("DELETE", "groups/"+g, "", 500), "InternalError")
	e.faults.FailWrites("")
	if got := idsOf(t, e.call("GET", "groups", "", 200)); !slices.Equal(got, []string{g}) {
		t.Errorf("groups after failed writes: %v", got)
	}
	if got := idsOf(t, e.call("GET", "groups/"+g+"/members", "", 200)); !slices.Equal(got, []string{app.ObjectID}) {
		t.Errorf("members after failed writes: %v", got)
	}
}

// TestGraphGroupWriteAuthorization: only a principal that may write role
// assignments on every subscription (directly or through its groups)
// manages groups; everyone else gets 403 Authorization_RequestDenied on
// every write, and nothing changes. Reads stay open to any caller of the
// tenant. Rights apply and lapse at once.
func TestGraphGroupWriteAuthorization(t *testing.T) {
	e := newGraphEnv(t)
	ctx := context.Background()
	subScope := "/subscriptions/" + e.sub
	g := e.newGroup("Guarded")
	target, _ := e.newSP("target")
	e.call("POST", "groups/"+g+"/members/$ref", ref(target.ObjectID), 204)

	assign := func(principal, scope, role string) *management.RoleAssignment {
		t.Helper()
		ra, err := e.mgmt.CreateRoleAssignment(ctx, &management.RoleAssignment{Scope: scope, RoleDefinitionID: role, PrincipalID: principal})
		if err != nil {
			t.Fatal(err)
		}
		return ra
	}
	// writes tries every group write as token and checks the status of
	// each: 403 refused (with nothing changed), or success.
	writes := func(who, token string, allowed bool) {
		t.Helper()
		if !allowed {
			before := idsOf(t, e.call("GET", "groups", "", 200))
			for name, r := range map[string]graphReq{
				"create":        {method: "POST", path: "groups", body: `{"displayName":"Mine","mailNickname":"mine"}`},
				"add member":    {method: "POST", path: "groups/" + g + "/members/$ref", body: ref(e.admin.ObjectID)},
				"remove member": {method: "DELETE", path: "groups/" + g + "/members/" + target.ObjectID + "/$ref"},
				"delete":        {method: "DELETE", path: "groups/" + g},
			} {
				r.token = token
				wantGraphError(t, who+": "+name, e.expect(r, 403), "Authorization_RequestDenied")
			}
			if got := idsOf(t, e.call("GET", "groups/"+g+"/members", "", 200)); !slices.Equal(got, []string{target.ObjectID}) {
				t.Errorf("%s: members changed by refused writes: %v", who, got)
			}
			if got := idsOf(t, e.call("GET", "groups", "", 200)); !slices.Equal(got, before) {
				t.Errorf("%s: groups changed by refused writes: %v, was %v", who, got, before)
			}
			return
		}
		created := e.callAs(token, "POST", "groups", `{"displayName":"Mine","mailNickname":"mine"}`, 201)
		e.callAs(token, "POST", "groups/"+g+"/members/$ref", ref(e.admin.ObjectID), 204)
		e.callAs(token, "DELETE", "groups/"+g+"/members/"+e.admin.ObjectID+"/$ref", "", 204)
		e.callAs(token, "DELETE", "groups/"+created["id"].(string), "", 204)
	}

	// No role at all: reads only.
	nobody, nobodyTok := e.newSP("nobody")
	e.callAs(nobodyTok, "GET", "groups/"+g, "", 200)
	e.callAs(nobodyTok, "GET", "groups/"+g+"/members", "", 200)
	writes("no role", nobodyTok, false)

	// Roles that cannot assign roles, or not on the whole subscription.
	contributor, contributorTok := e.newSP("contributor")
	assign(contributor.ObjectID, subScope, management.Contributor.ID)
	writes("Contributor", contributorTok, false)
	if _, _, err := e.mgmt.PutResourceGroup(ctx, &management.ResourceGroup{Subscription: e.sub, Name: "rg", Location: "westus"}); err != nil {
		t.Fatal(err)
	}
	rgOwner, rgOwnerTok := e.newSP("rg-owner")
	assign(rgOwner.ObjectID, subScope+"/resourceGroups/rg", management.Owner.ID)
	writes("Owner of a resource group", rgOwnerTok, false)

	// A custom role with roleAssignments/write on the subscription suffices.
	custom := &management.RoleDefinition{ID: "5d0b9f2c-1111-4222-8333-444455556666", Name: "Role Assigner",
		Actions: []string{"Microsoft.Authorization/roleAssignments/write"}, AssignableScopes: []string{subScope}}
	if _, _, err := e.mgmt.PutRoleDefinition(ctx, subScope, custom, ""); err != nil {
		t.Fatal(err)
	}
	assigner, assignerTok := e.newSP("assigner")
	assign(assigner.ObjectID, subScope, custom.ID)
	writes("custom role assigner", assignerTok, true)

	// Through a group: the group holds Owner, the principal is a member.
	admins := e.newGroup("Admins")
	assign(admins, subScope, management.Owner.ID)
	writes("before joining Admins", nobodyTok, false)
	e.call("POST", "groups/"+admins+"/members/$ref", ref(nobody.ObjectID), 204)
	writes("member of Admins", nobodyTok, true)
	// Leaving the group takes the right away at once.
	e.call("DELETE", "groups/"+admins+"/members/"+nobody.ObjectID+"/$ref", "", 204)
	writes("after leaving Admins", nobodyTok, false)

	// Every subscription: an Owner of one of two is no directory writer.
	other, err := e.mgmt.CreateSubscription(ctx, "other", e.tenant)
	if err != nil {
		t.Fatal(err)
	}
	writes("Owner of one subscription of two", e.token, false)
	ra := assign(e.admin.ObjectID, "/subscriptions/"+other.ID, management.Owner.ID)
	writes("Owner of both subscriptions", e.token, true)
	// A revoked assignment is a refusal at once.
	if _, err := e.mgmt.DeleteRoleAssignment(ctx, ra.Scope, ra.Name); err != nil {
		t.Fatal(err)
	}
	writes("after revocation", e.token, false)

	// Owning a group gives nothing: the admin created the group but is no
	// directory writer any more.
	if got := e.call("GET", "groups/"+g+"/owners", "", 200); !slices.Equal(idsOf(t, got), []string{e.admin.ObjectID}) {
		t.Fatalf("owners: %v", got)
	}
	writes("group owner without rights", e.token, false)
}

// TestGraphGroupWritesWithoutDecisionPoint: a handler without a
// management service or an authorizer lets nobody change groups, and a
// deployment without subscriptions has no directory writer.
func TestGraphGroupWritesWithoutDecisionPoint(t *testing.T) {
	e := newGraphEnv(t)
	g := e.newGroup("Team")
	body := `{"displayName":"x","mailNickname":"x"}`

	mgmt, az := e.h.Management, e.h.Authorizer
	e.h.Management = nil
	wantGraphError(t, "no management", e.call("POST", "groups", body, 403), "Authorization_RequestDenied")
	e.h.Management, e.h.Authorizer = mgmt, nil
	wantGraphError(t, "no authorizer", e.call("DELETE", "groups/"+g, "", 403), "Authorization_RequestDenied")
	e.h.Authorizer = az
	e.call("GET", "groups/"+g, "", 200)

	// No subscription at all: nobody may write role assignments on every
	// subscription, so nobody is a directory writer (not even vacuously).
	e.h.Management = &management.Service{Store: memory.New(), Clock: e.clock, Rand: rand.Reader}
	wantGraphError(t, "no subscriptions", e.call("POST", "groups", body, 403), "Authorization_RequestDenied")
}
