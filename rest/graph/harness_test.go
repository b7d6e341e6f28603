package graph_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/graph"
	"github.com/arcakv/arca/rest/httpx"
	"github.com/arcakv/arca/rest/internal/resttest"
)

// graphEnv is a Graph handler over an in-memory store behind the barrier,
// wired as a deployment wires it: the identity directory, token
// verification by identity.Tokens, a management service with one
// subscription, and an authz.Engine over both deciding group writes. admin
// is the subscription's Owner (so a directory writer) and token its Graph
// token.
type graphEnv struct {
	t      *testing.T
	h      *graph.Handler
	dir    *identity.Directory
	toks   *identity.Tokens
	mgmt   *management.Service
	clock  *arca.ManualClock
	faults *resttest.FaultStore
	tenant string
	sub    string
	admin  *identity.ServicePrincipal
	token  string
}

// graphAudience is the audience the az CLI asks Graph tokens for.
const graphAudience = "https://graph.microsoft.com"

func newGraphEnv(t *testing.T) *graphEnv {
	t.Helper()
	ctx := context.Background()
	id := resttest.NewIdentity(t)
	faults, store, clock, dir, ten, toks := id.Faults, id.Store, id.Clock, id.Dir, id.Tenant, id.Tokens
	mgmt := &management.Service{Store: store, Clock: clock, Rand: rand.Reader}
	admin, _, err := dir.CreateServicePrincipal(ctx, "admin", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := mgmt.CreateSubscription(ctx, "test", ten.ID, admin.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	e := &graphEnv{t: t, dir: dir, toks: toks, mgmt: mgmt, clock: clock, faults: faults, tenant: ten.ID, sub: sub.ID, admin: admin}
	e.h = &graph.Handler{
		Config:    httpx.Config{DNSSuffix: "vault.localhost", Port: 8443, AuthorityURL: "https://localhost:8443"},
		Directory: dir, Tokens: toks, Management: mgmt,
		Authorizer: &authz.Engine{Source: graphSource{mgmt: mgmt, dir: dir}},
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	e.token = e.spToken(admin, graphAudience)
	return e
}

// graphSource feeds the env's authz.Engine as the deployment's source
// does, without vaults: role assignments and definitions from the
// management service, group memberships from the directory.
type graphSource struct {
	mgmt *management.Service
	dir  *identity.Directory
}

func (graphSource) Access(context.Context, *arca.Vault) (authz.VaultAccess, error) {
	return authz.VaultAccess{}, errors.New("no data plane in the Graph tests")
}
func (s graphSource) Assignments(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return s.mgmt.Grants(ctx)
}
func (s graphSource) Groups(ctx context.Context, _, oid string) ([]string, error) {
	return s.dir.MemberOf(ctx, oid)
}
func (s graphSource) Generation() uint64 { return s.mgmt.Generation() + s.dir.Generation() }

// spToken issues sp an application token of the env's tenant for aud.
func (e *graphEnv) spToken(sp *identity.ServicePrincipal, aud string) string {
	e.t.Helper()
	tok, _, err := e.toks.Issue(e.tenant, sp, aud, false, "1")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// newSP registers a service principal without any role and returns it
// with its Graph token.
func (e *graphEnv) newSP(name string) (*identity.ServicePrincipal, string) {
	e.t.Helper()
	sp, _, err := e.dir.CreateServicePrincipal(context.Background(), name, true, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return sp, e.spToken(sp, graphAudience)
}

// newUser adds a person (one bcrypt hash: keep them few) and returns it
// with a delegated Graph token obtained through the az CLI's client id.
func (e *graphEnv) newUser(upn, displayName string) (*identity.User, string) {
	e.t.Helper()
	u, err := e.dir.CreateUser(context.Background(), upn, "correct horse battery", displayName)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.toks.IssueUser(e.tenant, u, "04b07795-8ddb-461a-bbee-02f9e1bf7b46", graphAudience, false)
	if err != nil {
		e.t.Fatal(err)
	}
	return u, tok
}

// newGroup creates a security group as the admin and returns its id.
func (e *graphEnv) newGroup(name string) string {
	e.t.Helper()
	g := e.call("POST", "groups", `{"displayName":"`+name+`","mailNickname":"`+strings.ReplaceAll(strings.ToLower(name), " ", "-")+`","mailEnabled":false,"securityEnabled":true}`, 201)
	return g["id"].(string)
}

// graphReq is one raw Graph request. path is relative to /v1.0/; token ""
// sends the admin's token, "-" none; authorization, when set, is sent as the
// whole Authorization header instead; host "" is localhost:8443.
type graphReq struct {
	method, path, body string
	token              string
	authorization      string
	host               string
}

// requestID is the x-ms-request-id the edge would have set; the handler
// echoes it in errors and x-ms-correlation-request-id.
const requestID = "0b5f8a52-1111-4222-8333-444455556666"

// do sends r to the handler and returns the recorder.
func (e *graphEnv) do(r graphReq) *httptest.ResponseRecorder {
	e.t.Helper()
	host := r.host
	if host == "" {
		host = "localhost:8443"
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, "https://"+host+"/v1.0/"+r.path, body)
	req.Host = host
	switch {
	case r.authorization != "":
		req.Header.Set("Authorization", r.authorization)
	case r.token == "":
		req.Header.Set("Authorization", "Bearer "+e.token)
	case r.token == "-":
	default:
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	w := httptest.NewRecorder()
	w.Header().Set("x-ms-request-id", requestID)
	e.h.ServeHTTP(w, req)
	return w
}

// expect sends r, checks the status and decodes the JSON answer ({} for an
// empty body).
func (e *graphEnv) expect(r graphReq, want int) map[string]any {
	e.t.Helper()
	w := e.do(r)
	if w.Code != want {
		e.t.Fatalf("%s %s: %d %s (want %d)", r.method, r.path, w.Code, w.Body.String(), want)
	}
	out := map[string]any{}
	if s := strings.TrimSpace(w.Body.String()); s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			e.t.Fatalf("%s %s: not JSON: %q", r.method, r.path, s)
		}
	}
	if want == 204 && w.Body.Len() != 0 {
		e.t.Errorf("%s %s: 204 with a body %q", r.method, r.path, w.Body.String())
	}
	return out
}

// call is expect as the admin.
func (e *graphEnv) call(method, path, body string, want int) map[string]any {
	e.t.Helper()
	return e.expect(graphReq{method: method, path: path, body: body}, want)
}

// callAs is expect with token.
func (e *graphEnv) callAs(token, method, path, body string, want int) map[string]any {
	e.t.Helper()
	return e.expect(graphReq{method: method, path: path, body: body, token: token}, want)
}

// ref is the body of a members/$ref addition, as the az CLI sends it.
func ref(id string) string {
	return `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`
}

// values returns the elements of a collection answer, failing when there
// is no "value" array.
func values(t *testing.T, m map[string]any) []map[string]any {
	t.Helper()
	vs, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array: %v", m)
	}
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		out = append(out, v.(map[string]any))
	}
	return out
}

// idsOf returns the "id" of each element of a collection answer.
func idsOf(t *testing.T, m map[string]any) []string {
	t.Helper()
	var out []string
	for _, v := range values(t, m) {
		id, _ := v["id"].(string)
		out = append(out, id)
	}
	return out
}

// stringsOf returns the value array of a Collection(Edm.String) answer.
func stringsOf(t *testing.T, m map[string]any) []string {
	t.Helper()
	vs, ok := m["value"].([]any)
	if !ok {
		t.Fatalf("no value array: %v", m)
	}
	out := []string{}
	for _, v := range vs {
		out = append(out, v.(string))
	}
	return out
}

// wantGraphError checks Graph's error envelope:
// {"error":{"code","message","innerError":{"date","request-id"}}}.
func wantGraphError(t *testing.T, what string, got map[string]any, code string) {
	t.Helper()
	e, _ := got["error"].(map[string]any)
	if e == nil {
		t.Fatalf("%s: no error object: %v", what, got)
	}
	msg, _ := e["message"].(string)
	if e["code"] != code || msg == "" {
		t.Errorf("%s: %v, want code %s with a message", what, got, code)
	}
	inner, _ := e["innerError"].(map[string]any)
	if date, _ := inner["date"].(string); inner == nil || inner["request-id"] != requestID || len(date) != len("2006-01-02T15:04:05") {
		t.Errorf("%s: innerError %v", what, e["innerError"])
	}
}

// wantARMError checks the Azure envelope the handler's authentication and
// internal failures use: {"error":{"code","message"}}.
func wantARMError(t *testing.T, what string, got map[string]any, code string) {
	t.Helper()
	e, _ := got["error"].(map[string]any)
	if msg, _ := e["message"].(string); e == nil || e["code"] != code || msg == "" {
		t.Errorf("%s: %v, want code %s with a message", what, got, code)
	}
}
