// Package graph is the part of Microsoft Graph v1.0 that the az CLI and
// the SDKs use, on the token service host under /v1.0: users, service
// principals, security groups with their (transitive) members, and
// directory-object lookups. Reads need any token of the tenant for the Graph
// audience; group writes need a directory writer (see directoryWriter).
package graph

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
	"github.com/arcakv/arca/storage"
)

// maxBody bounds a Graph request body.
const maxBody = 1 << 20

// Handler serves Microsoft Graph.
type Handler struct {
	Config     httpx.Config
	Directory  *identity.Directory
	Tokens     httpx.TokenVerifier
	Management *management.Service // nil: nobody may change groups
	// Authorizer decides the Resource Manager action a group write needs
	// (see directoryWriter); nil: nobody may change groups.
	Authorizer arca.ActionAuthorizer
	Log        *slog.Logger
}

// IsPath reports whether a token-service host path (lower case, without
// the surrounding slashes) belongs to Graph.
func IsPath(lower string) bool {
	first, _, _ := strings.Cut(lower, "/")
	return first == "v1.0"
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func graphError(w http.ResponseWriter, status int, code, msg string) {
	httpx.WriteJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": time.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": w.Header().Get("x-ms-request-id")}}})
}

func graphNotFound(w http.ResponseWriter, id string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func userJSON(o string, u *identity.User) map[string]any {
	return map[string]any{"@odata.context": o + "/v1.0/$metadata#users/$entity", "id": u.ObjectID,
		"userPrincipalName": u.UPN, "displayName": u.DisplayName, "mail": u.UPN, "accountEnabled": true,
		"businessPhones": []string{}, "givenName": nil, "surname": nil, "jobTitle": nil, "officeLocation": nil,
		"preferredLanguage": nil, "mobilePhone": nil}
}

func spJSON(sp *identity.ServicePrincipal) map[string]any {
	return map[string]any{"id": sp.ObjectID, "appId": sp.AppID, "displayName": sp.DisplayName,
		"servicePrincipalNames": []string{sp.AppID, sp.DisplayName}, "servicePrincipalType": map[bool]string{true: "ManagedIdentity", false: "Application"}[sp.Managed],
		"accountEnabled": true, "appOwnerOrganizationId": nil}
}

func dirGroupJSON(g *identity.Group) map[string]any {
	var desc any
	if g.Description != "" {
		desc = g.Description
	}
	created := g.Created.Format(time.RFC3339)
	return map[string]any{"id": g.ObjectID, "deletedDateTime": nil, "classification": nil, "createdDateTime": created,
		"creationOptions": []string{}, "description": desc, "displayName": g.DisplayName, "expirationDateTime": nil,
		"groupTypes": []string{}, "isAssignableToRole": nil, "mail": nil, "mailEnabled": false, "mailNickname": g.MailNickname,
		"membershipRule": nil, "membershipRuleProcessingState": nil, "onPremisesSyncEnabled": nil, "preferredDataLocation": nil,
		"preferredLanguage": nil, "proxyAddresses": []string{}, "renewedDateTime": created, "resourceBehaviorOptions": []string{},
		"resourceProvisioningOptions": []string{}, "securityEnabled": true, "securityIdentifier": nil, "theme": nil, "visibility": nil}
}

// graphRequest is one authenticated Graph call.
type graphRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	h         *Handler
	principal *arca.Principal
	origin    string
}

func (g *graphRequest) ctx() context.Context { return g.r.Context() }

func (g *graphRequest) internal(err error) { httpx.WriteError(g.w, g.r, g.h.Log, arca.Internal(err)) }

func (g *graphRequest) badMethod() {
	graphError(g.w, http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '"+g.r.Method+"' is not supported for this resource.")
}

// audience reports whether aud names Microsoft Graph.
func (h *Handler) audience(aud string) bool {
	aud = strings.ToLower(strings.TrimSuffix(aud, "/"))
	return aud == "https://localhost"+h.Config.PortSuffix() || aud == "https://graph.localhost"+h.Config.PortSuffix() ||
		aud == "https://graph.microsoft.com"
}

// authenticate verifies the bearer token of a call for the deployment's
// tenant, answering as the Resource Manager does (401, or 500 when the
// directory cannot be read) itself.
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (*arca.Principal, bool) {
	t, err := h.Directory.Tenant(r.Context())
	if err != nil {
		httpx.WriteError(w, r, h.Log, arca.Internal(err))
		return nil, false
	}
	p, err := httpx.Authenticate(r, h.Tokens, t.ID, h.audience, "https://localhost"+h.Config.PortSuffix()+"/")
	if err != nil {
		httpx.WriteARMUnauthorized(w, r, h.Log, h.Config.AuthorityURL, t.ID, err)
		return nil, false
	}
	return p, true
}

// ServeHTTP routes /v1.0/... on the token service host.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("x-ms-correlation-request-id", w.Header().Get("x-ms-request-id"))
	p, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	segs, ok := httpx.SplitPath(r)
	if !ok {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid request.")
		return
	}
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	if len(segs) < 2 {
		graphError(w, http.StatusBadRequest, "BadRequest", "Invalid request.")
		return
	}
	g := &graphRequest{w: w, r: r, h: h, principal: p, origin: httpx.Origin(r)}
	rest := segs[2:]
	// POST {collection}/{id}/getMemberGroups | checkMemberGroups on any directory object.
	if len(rest) == 2 && (eq(rest[1], "getMemberGroups") || eq(rest[1], "checkMemberGroups")) {
		g.memberGroups(rest[0], strings.ToLower(rest[1]))
		return
	}
	switch strings.ToLower(segs[1]) {
	case "me":
		if r.Method != http.MethodGet {
			g.badMethod()
			return
		}
		if p.IdType != "user" {
			graphError(w, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
			return
		}
		u, err := h.Directory.User(r.Context(), p.ObjectID)
		if err != nil {
			g.notFoundOr(err, p.ObjectID)
			return
		}
		httpx.WriteJSON(w, http.StatusOK, userJSON(g.origin, u))
	case "users":
		g.users(rest)
	case "serviceprincipals":
		g.servicePrincipals(rest)
	case "groups":
		g.groups(rest)
	case "directoryobjects":
		if len(rest) == 1 && eq(rest[0], "getByIds") && r.Method == http.MethodPost {
			g.getByIDs()
			return
		}
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment 'directoryObjects'.")
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[1]+"'.")
	}
}

// notFoundOr answers 404 for an object that does not exist and 500 for a
// directory that could not be read (never a 404 for a read failure).
func (g *graphRequest) notFoundOr(err error, id string) {
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, identity.ErrGroupNotFound) || errors.Is(err, identity.ErrObjectNotFound) {
		graphNotFound(g.w, id)
		return
	}
	g.internal(err)
}

// filter parses $filter, answering 400 itself when it cannot.
func (g *graphRequest) filter() (graphFilter, bool) {
	raw := g.r.URL.Query().Get("$filter")
	f, err := parseGraphFilter(raw)
	if err != nil {
		graphError(g.w, http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported query: "+raw)
		return nil, false
	}
	return f, true
}

func (g *graphRequest) users(rest []string) {
	if g.r.Method != http.MethodGet {
		g.badMethod()
		return
	}
	dir := g.h.Directory
	if len(rest) > 1 {
		graphError(g.w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest[1]+"'.")
		return
	}
	if len(rest) == 1 {
		u, err := dir.User(g.ctx(), rest[0])
		if err != nil {
			g.notFoundOr(err, rest[0])
			return
		}
		httpx.WriteJSON(g.w, http.StatusOK, userJSON(g.origin, u))
		return
	}
	f, ok := g.filter()
	if !ok {
		return
	}
	us, err := dir.Users(g.ctx())
	if err != nil {
		g.internal(err)
		return
	}
	out := []any{}
	for _, u := range us {
		if f.match(userProps(u)) {
			out = append(out, userJSON(g.origin, u))
		}
	}
	httpx.WriteJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#users", "value": out})
}

func (g *graphRequest) servicePrincipals(rest []string) {
	if g.r.Method != http.MethodGet {
		g.badMethod()
		return
	}
	if len(rest) > 1 {
		graphError(g.w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest[1]+"'.")
		return
	}
	sps, err := g.h.Directory.ServicePrincipals(g.ctx())
	if err != nil {
		g.internal(err)
		return
	}
	if len(rest) == 1 {
		for _, sp := range sps {
			if eq(sp.ObjectID, rest[0]) {
				httpx.WriteJSON(g.w, http.StatusOK, spJSON(sp))
				return
			}
		}
		graphNotFound(g.w, rest[0])
		return
	}
	f, ok := g.filter()
	if !ok {
		return
	}
	out := []any{}
	for _, sp := range sps {
		if f.match(spProps(sp)) {
			out = append(out, spJSON(sp))
		}
	}
	httpx.WriteJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#servicePrincipals", "value": out})
}

// directoryObject returns the Graph JSON of any object id, with its
// @odata.type, or nil when there is none; the error is a directory that
// could not be read.
func (g *graphRequest) directoryObject(id string) (map[string]any, error) {
	dir := g.h.Directory
	u, err := dir.User(g.ctx(), id)
	if err == nil {
		m := userJSON(g.origin, u)
		delete(m, "@odata.context")
		m["@odata.type"] = "#microsoft.graph.user"
		return m, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	grp, err := dir.Group(g.ctx(), id)
	if err == nil {
		m := dirGroupJSON(grp)
		m["@odata.type"] = "#microsoft.graph.group"
		return m, nil
	}
	if !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, identity.ErrGroupNotFound) {
		return nil, err
	}
	sps, err := dir.ServicePrincipals(g.ctx())
	if err != nil {
		return nil, err
	}
	for _, sp := range sps {
		if eq(sp.ObjectID, id) {
			m := spJSON(sp)
			m["@odata.type"] = "#microsoft.graph.servicePrincipal"
			return m, nil
		}
	}
	return nil, nil
}

func (g *graphRequest) getByIDs() {
	var body struct {
		IDs []string `json:"ids"`
	}
	if err := httpx.DecodeBody(g.r, maxBody, &body); err != nil || len(body.IDs) > 1000 {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body: 'ids' must be a list of at most 1000 object ids.")
		return
	}
	g.directoryObjects(body.IDs)
}

// directoryObjects answers the directory objects of ids that exist (an
// unreadable directory is a 500).
func (g *graphRequest) directoryObjects(ids []string) {
	out := []any{}
	for _, id := range ids {
		m, err := g.directoryObject(id)
		if err != nil {
			g.internal(err)
			return
		}
		if m != nil {
			out = append(out, m)
		}
	}
	httpx.WriteJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#directoryObjects", "value": out})
}

// memberGroups serves getMemberGroups and checkMemberGroups: the groups id
// belongs to, transitively (all of them, or those among groupIds).
func (g *graphRequest) memberGroups(id, action string) {
	if g.r.Method != http.MethodPost {
		g.badMethod()
		return
	}
	var body struct {
		GroupIDs            []string `json:"groupIds"`
		SecurityEnabledOnly bool     `json:"securityEnabledOnly"`
	}
	if err := httpx.DecodeBody(g.r, maxBody, &body); err != nil || len(body.GroupIDs) > 20 {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body.")
		return
	}
	dir := g.h.Directory
	if _, err := dir.ObjectKind(g.ctx(), id); err != nil {
		g.notFoundOr(err, id)
		return
	}
	groups, err := dir.MemberOf(g.ctx(), id)
	if err != nil {
		g.internal(err)
		return
	}
	out := []string{}
	for _, x := range groups {
		if action == "getmembergroups" || containsFold(body.GroupIDs, x) {
			out = append(out, x)
		}
	}
	httpx.WriteJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#Collection(Edm.String)", "value": out})
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if eq(x, s) {
			return true
		}
	}
	return false
}

// directoryWriter reports whether the caller may manage the directory's
// groups: it must be able to write role assignments on every subscription.
// Such a principal can already grant itself anything anywhere, so group
// membership gives it nothing new; anyone less could use a group that holds
// rights elsewhere to grant itself those rights. Group owners get no extra
// power here (an owner that lost its rights must not keep this one).
func (g *graphRequest) directoryWriter() bool {
	if g.h.Management == nil || g.h.Authorizer == nil {
		return false
	}
	subs, err := g.h.Management.Subscriptions(g.ctx())
	if err != nil || len(subs) == 0 {
		return false
	}
	for _, sub := range subs {
		if g.h.Authorizer.AuthorizeAction(g.ctx(), g.principal, "/subscriptions/"+sub.ID, "Microsoft.Authorization/roleAssignments/write") != nil {
			return false
		}
	}
	return true
}

// mayManage reports whether the caller may change groups, answering 403
// itself when not.
func (g *graphRequest) mayManage() bool {
	if g.directoryWriter() {
		return true
	}
	graphError(g.w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	return false
}

func (g *graphRequest) groups(rest []string) {
	ctx := g.ctx()
	dir := g.h.Directory
	if len(rest) == 0 {
		switch g.r.Method {
		case http.MethodGet:
			f, ok := g.filter()
			if !ok {
				return
			}
			gs, err := dir.Groups(ctx)
			if err != nil {
				g.internal(err)
				return
			}
			out := []any{}
			for _, grp := range gs {
				if f.match(groupProps(grp)) {
					out = append(out, dirGroupJSON(grp))
				}
			}
			httpx.WriteJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#groups", "value": out})
		case http.MethodPost:
			var body struct {
				DisplayName     string   `json:"displayName"`
				MailNickname    string   `json:"mailNickname"`
				Description     string   `json:"description"`
				MailEnabled     bool     `json:"mailEnabled"`
				SecurityEnabled *bool    `json:"securityEnabled"`
				GroupTypes      []string `json:"groupTypes"`
			}
			if err := httpx.DecodeBody(g.r, maxBody, &body); err != nil {
				graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body.")
				return
			}
			if body.MailEnabled || len(body.GroupTypes) > 0 || (body.SecurityEnabled != nil && !*body.SecurityEnabled) {
				graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "This deployment supports security groups only (mailEnabled false, securityEnabled true, no groupTypes).")
				return
			}
			if !g.mayManage() {
				return
			}
			grp, err := dir.CreateGroup(ctx, body.DisplayName, body.MailNickname, body.Description, g.principal.ObjectID)
			if errors.Is(err, identity.ErrInvalidGroupArg) {
				graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'displayName' or 'mailNickname' of resource 'Group'.")
				return
			} else if err != nil {
				g.internal(err)
				return
			}
			m := dirGroupJSON(grp)
			m["@odata.context"] = g.origin + "/v1.0/$metadata#groups/$entity"
			httpx.WriteJSON(g.w, http.StatusCreated, m)
		default:
			g.badMethod()
		}
		return
	}
	grp, err := dir.Group(ctx, rest[0])
	if errors.Is(err, identity.ErrGroupNotFound) {
		graphNotFound(g.w, rest[0])
		return
	} else if err != nil {
		g.internal(err)
		return
	}
	switch {
	case len(rest) == 1 && g.r.Method == http.MethodGet:
		m := dirGroupJSON(grp)
		m["@odata.context"] = g.origin + "/v1.0/$metadata#groups/$entity"
		httpx.WriteJSON(g.w, http.StatusOK, m)
	case len(rest) == 1 && g.r.Method == http.MethodDelete:
		if !g.mayManage() {
			return
		}
		if err := dir.DeleteGroup(ctx, grp.ObjectID); err != nil {
			g.internal(err)
			return
		}
		g.w.WriteHeader(http.StatusNoContent)
	case len(rest) == 2 && (eq(rest[1], "members") || eq(rest[1], "owners")) && g.r.Method == http.MethodGet:
		ids := grp.Members
		if eq(rest[1], "owners") {
			ids = grp.Owners
		}
		g.directoryObjects(ids)
	case len(rest) == 3 && eq(rest[1], "members") && rest[2] == "$ref" && g.r.Method == http.MethodPost:
		g.addMember(grp)
	case len(rest) == 4 && eq(rest[1], "members") && rest[3] == "$ref" && g.r.Method == http.MethodDelete:
		if !g.mayManage() {
			return
		}
		switch err := dir.RemoveMember(ctx, grp.ObjectID, rest[2]); {
		case errors.Is(err, identity.ErrMemberNotFound):
			graphNotFound(g.w, rest[2])
		case err != nil:
			g.internal(err)
		default:
			g.w.WriteHeader(http.StatusNoContent)
		}
	default:
		graphError(g.w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest[len(rest)-1]+"'.")
	}
}

// addMember serves POST groups/{id}/members/$ref with
// {"@odata.id": ".../directoryObjects/{member}"}.
func (g *graphRequest) addMember(grp *identity.Group) {
	var body struct {
		ODataID string `json:"@odata.id"`
	}
	if err := httpx.DecodeBody(g.r, maxBody, &body); err != nil || body.ODataID == "" {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body: '@odata.id' is required.")
		return
	}
	member := body.ODataID[strings.LastIndexByte(body.ODataID, '/')+1:]
	if !guidRE.MatchString(member) {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+member+"'.")
		return
	}
	if !g.mayManage() {
		return
	}
	switch err := g.h.Directory.AddMember(g.ctx(), grp.ObjectID, member); {
	case errors.Is(err, identity.ErrObjectNotFound):
		graphNotFound(g.w, member)
	case errors.Is(err, identity.ErrMemberExists):
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'.")
	case errors.Is(err, identity.ErrGroupCycle):
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "A group cannot be a member of itself, directly or through nested groups.")
	case errors.Is(err, identity.ErrTooManyMembers):
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "The group has reached its maximum number of members.")
	case err != nil:
		g.internal(err)
	default:
		g.w.WriteHeader(http.StatusNoContent)
	}
}
