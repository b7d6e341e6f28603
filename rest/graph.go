package rest

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/storage"
)

// This file is the part of Microsoft Graph v1.0 that the az CLI and the
// SDKs use: users, service principals, security groups with their
// (transitive) members, and directory-object lookups. Reads need any token
// of the tenant for the Graph audience; group writes need a directory
// writer (see directoryWriter).

func graphError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
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

// graphFilter is a parsed $filter: clauses joined by "and", each
// `prop eq 'value'`, `startswith(prop,'value')` or
// `servicePrincipalNames/any(x:x eq 'value')`.
type graphFilter []graphClause

type graphClause struct {
	Prop   string // lower case
	Value  string
	Prefix bool // startswith
}

var (
	clauseEqRE  = regexp.MustCompile(`(?i)^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$`)
	clauseSwRE  = regexp.MustCompile(`(?i)^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$`)
	clauseAnyRE = regexp.MustCompile(`(?i)^\s*(\w+)/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
)

// errUnsupportedFilter is Graph's 400 for a $filter this deployment does
// not evaluate.
var errUnsupportedFilter = errors.New("unsupported filter")

// parseGraphFilter parses an OData $filter of the supported shape.
func parseGraphFilter(filter string) (graphFilter, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	if len(filter) > 2048 {
		return nil, errUnsupportedFilter
	}
	var out graphFilter
	for _, part := range splitAnd(filter) {
		var c graphClause
		if m := clauseEqRE.FindStringSubmatch(part); m != nil {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[2]}
		} else if m := clauseSwRE.FindStringSubmatch(part); m != nil {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[2], Prefix: true}
		} else if m := clauseAnyRE.FindStringSubmatch(part); m != nil && eq(m[2], m[3]) {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[4]}
		} else {
			return nil, errUnsupportedFilter
		}
		c.Value = strings.ReplaceAll(c.Value, "''", "'")
		out = append(out, c)
	}
	return out, nil
}

// splitAnd splits s on the keyword "and" outside single-quoted strings.
func splitAnd(s string) []string {
	var parts []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i > 0 && i+4 < len(s) && (s[i] == ' ' || s[i] == '\t') && strings.EqualFold(s[i+1:i+4], "and") && (s[i+4] == ' ' || s[i+4] == '\t'):
			parts = append(parts, s[start:i])
			start = i + 4
			i += 3
		}
	}
	return append(parts, s[start:])
}

// match reports whether every clause holds; props gives an object's
// values of a property (several for multi-valued ones).
func (f graphFilter) match(props func(name string) []string) bool {
	for _, c := range f {
		ok := false
		for _, v := range props(c.Prop) {
			if (c.Prefix && len(v) >= len(c.Value) && eq(v[:len(c.Value)], c.Value)) || (!c.Prefix && eq(v, c.Value)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func userProps(u *identity.User) func(string) []string {
	return func(n string) []string {
		switch n {
		case "userprincipalname", "mail":
			return []string{u.UPN}
		case "displayname":
			return []string{u.DisplayName}
		case "id":
			return []string{u.ObjectID}
		}
		return nil
	}
}

func spProps(sp *identity.ServicePrincipal) func(string) []string {
	return func(n string) []string {
		switch n {
		case "appid":
			return []string{sp.AppID}
		case "displayname":
			return []string{sp.DisplayName}
		case "id":
			return []string{sp.ObjectID}
		case "serviceprincipalnames":
			return []string{sp.AppID, sp.DisplayName}
		}
		return nil
	}
}

func groupProps(g *identity.Group) func(string) []string {
	return func(n string) []string {
		switch n {
		case "displayname":
			return []string{g.DisplayName}
		case "mailnickname":
			return []string{g.MailNickname}
		case "id":
			return []string{g.ObjectID}
		case "securityenabled":
			return []string{"true"}
		}
		return nil
	}
}

// graphRequest is one authenticated Graph call.
type graphRequest struct {
	w         http.ResponseWriter
	r         *http.Request
	s         *Server
	principal *arca.Principal
	origin    string
}

func (g *graphRequest) ctx() context.Context { return g.r.Context() }

func (g *graphRequest) internal(err error) { writeError(g.w, g.r, g.s.Log, arca.Internal(err)) }

func (g *graphRequest) badMethod() {
	graphError(g.w, http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '"+g.r.Method+"' is not supported for this resource.")
}

// serveGraph routes /v1.0/... on the token service host.
func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	p, _, ok := s.authenticate(w, r, s.graphAudience, "https://localhost"+s.Config.PortSuffix()+"/")
	if !ok {
		return
	}
	segs, ok := splitPath(r)
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
	g := &graphRequest{w: w, r: r, s: s, principal: p, origin: origin(r)}
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
		u, err := s.Identity.Dir.User(r.Context(), p.ObjectID)
		if err != nil {
			graphNotFound(w, p.ObjectID)
			return
		}
		writeJSON(w, http.StatusOK, userJSON(g.origin, u))
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
	dir := g.s.Identity.Dir
	if len(rest) == 1 {
		u, err := dir.User(g.ctx(), rest[0])
		if err != nil {
			graphNotFound(g.w, rest[0])
			return
		}
		writeJSON(g.w, http.StatusOK, userJSON(g.origin, u))
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
	writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#users", "value": out})
}

func (g *graphRequest) servicePrincipals(rest []string) {
	if g.r.Method != http.MethodGet {
		g.badMethod()
		return
	}
	sps, err := g.s.Identity.Dir.ServicePrincipals(g.ctx())
	if err != nil {
		g.internal(err)
		return
	}
	if len(rest) == 1 {
		for _, sp := range sps {
			if eq(sp.ObjectID, rest[0]) {
				writeJSON(g.w, http.StatusOK, spJSON(sp))
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
	writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#servicePrincipals", "value": out})
}

// directoryObject returns the Graph JSON of any object id, with its
// @odata.type, or nil when there is none; the error is a directory that
// could not be read.
func (g *graphRequest) directoryObject(id string) (map[string]any, error) {
	dir := g.s.Identity.Dir
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
	if err := decodeBody(g.r, maxARMBody, &body); err != nil || len(body.IDs) > 1000 {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body: 'ids' must be a list of at most 1000 object ids.")
		return
	}
	out := []any{}
	for _, id := range body.IDs {
		m, err := g.directoryObject(id)
		if err != nil {
			g.internal(err)
			return
		}
		if m != nil {
			out = append(out, m)
		}
	}
	writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#directoryObjects", "value": out})
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
	if err := decodeBody(g.r, maxARMBody, &body); err != nil || len(body.GroupIDs) > 20 {
		graphError(g.w, http.StatusBadRequest, "Request_BadRequest", "Invalid request body.")
		return
	}
	dir := g.s.Identity.Dir
	if _, err := dir.ObjectKind(g.ctx(), id); err != nil {
		graphNotFound(g.w, id)
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
	writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#Collection(Edm.String)", "value": out})
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
	if g.s.Management == nil {
		return false
	}
	subs, err := g.s.Management.Subscriptions(g.ctx())
	if err != nil || len(subs) == 0 {
		return false
	}
	for _, sub := range subs {
		if g.s.Management.Authorize(g.ctx(), g.principal.ObjectID, "/subscriptions/"+sub.ID, "Microsoft.Authorization/roleAssignments/write") != nil {
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
	dir := g.s.Identity.Dir
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
			writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#groups", "value": out})
		case http.MethodPost:
			var body struct {
				DisplayName     string   `json:"displayName"`
				MailNickname    string   `json:"mailNickname"`
				Description     string   `json:"description"`
				MailEnabled     bool     `json:"mailEnabled"`
				SecurityEnabled *bool    `json:"securityEnabled"`
				GroupTypes      []string `json:"groupTypes"`
			}
			if err := decodeBody(g.r, maxARMBody, &body); err != nil {
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
			writeJSON(g.w, http.StatusCreated, m)
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
		writeJSON(g.w, http.StatusOK, m)
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
		writeJSON(g.w, http.StatusOK, map[string]any{"@odata.context": g.origin + "/v1.0/$metadata#directoryObjects", "value": out})
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
	if err := decodeBody(g.r, maxARMBody, &body); err != nil || body.ODataID == "" {
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
	switch err := g.s.Identity.Dir.AddMember(g.ctx(), grp.ObjectID, member); {
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
