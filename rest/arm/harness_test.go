package arm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/management"
)

// Helpers over the armEnv of arm_test.go for the ARM handler tests: raw
// requests (headers, other callers, no token) and callers without roles.

// armSource feeds the env's authorisation engine from its management
// service (role assignments and definitions) and directory (groups), as
// the deployment's does; these tests serve no vault, so no vault access.
type armSource struct {
	mgmt *management.Service
	dir  *identity.Directory
}

func (armSource) Access(context.Context, *arca.Vault) (authz.VaultAccess, error) {
	return authz.VaultAccess{}, errors.New("no data plane in the ARM tests")
}
func (s armSource) Assignments(ctx context.Context) ([]authz.RoleAssignment, map[string]*authz.RoleDefinition, error) {
	return s.mgmt.Grants(ctx)
}
func (s armSource) Groups(ctx context.Context, _, oid string) ([]string, error) {
	return s.dir.MemberOf(ctx, oid)
}
func (s armSource) Generation() uint64 { return s.mgmt.Generation() + s.dir.Generation() }

// may decides action at scope for the object id oid with the server's
// Authorizer: nil when allowed.
func (e *armEnv) may(oid, scope, action string) error {
	return e.authz.AuthorizeAction(context.Background(), &arca.Principal{TenantID: e.tenant, ObjectID: oid}, scope, action)
}

// armReq is one raw request: path as for armEnv.call (relative to the
// subscription unless it starts with "/", api-version added unless
// noAPIVersion); token "" sends the env's token, "-" none at all.
type armReq struct {
	method, path, body string
	token              string
	noAPIVersion       bool
}

// do sends r and returns the recorder, for checks of headers and raw bodies.
func (e *armEnv) do(r armReq) *httptest.ResponseRecorder {
	e.t.Helper()
	path := r.path
	if !strings.HasPrefix(path, "/") {
		path = "/subscriptions/" + e.sub + "/" + path
	}
	if !r.noAPIVersion && !strings.Contains(path, "api-version=") {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "api-version=2023-07-01"
	}
	var rd io.Reader
	if r.body != "" {
		rd = strings.NewReader(r.body)
	}
	req := httptest.NewRequest(r.method, "https://localhost:8443"+path, rd)
	req.Host = "localhost:8443"
	switch r.token {
	case "":
		req.Header.Set("Authorization", "Bearer "+e.token)
	case "-":
	default:
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	return w
}

// expect sends r, checks the status and decodes the JSON answer ({} for an
// empty body).
func (e *armEnv) expect(r armReq, want int) map[string]any {
	e.t.Helper()
	w := e.do(r)
	if w.Code != want {
		e.t.Fatalf("%s %s: %d %s (want %d)", r.method, r.path, w.Code, w.Body.String(), want)
	}
	out := map[string]any{}
	if s := strings.TrimSpace(w.Body.String()); s != "" {
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			e.t.Fatalf("%s %s: not JSON: %s", r.method, r.path, s)
		}
	}
	return out
}

// stranger returns a management token of a new service principal that holds
// no role assignment, and its object id.
func (e *armEnv) stranger(name string) (token, objectID string) {
	e.t.Helper()
	sp, _, err := e.dir.CreateServicePrincipal(context.Background(), name, true, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	tok, _, err := e.srv.Identity.Tokens.Issue(e.tenant, sp, "https://management.localhost:8443", false, "1")
	if err != nil {
		e.t.Fatal(err)
	}
	return tok, sp.ObjectID
}

// vaultPath is the ARM path of vault name in resource group rg, relative to
// the subscription.
func vaultPath(rg, name string) string {
	return "resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
}

// vaultBody is a vault PUT body in westus for the env's tenant, with extra
// members appended to properties (each starting with a comma).
func (e *armEnv) vaultBody(extra string) string {
	return `{"location":"westus","properties":{"tenantId":"` + e.tenant + `","sku":{"family":"A","name":"standard"}` + extra + `}}`
}

// armNames returns the "name" of each element of a list answer.
func armNames(m map[string]any) []string {
	var out []string
	for _, v := range armList(m) {
		n, _ := v["name"].(string)
		out = append(out, n)
	}
	return out
}

func hasName(m map[string]any, name string) bool {
	for _, n := range armNames(m) {
		if n == name {
			return true
		}
	}
	return false
}

// wantError checks an ARM error answer: the {"error":{"code","message"}}
// envelope with the code and a non-empty message.
func wantError(t *testing.T, what string, got map[string]any, code string) {
	t.Helper()
	msg, _ := armProp(got, "error", "message").(string)
	if armCode(got) != code || msg == "" {
		t.Errorf("%s: %v, want error code %s with a message", what, got, code)
	}
}

// advance moves the env's clock on by d and issues the env's caller a fresh
// token (the old one may have expired meanwhile).
func (e *armEnv) advance(d time.Duration) {
	e.t.Helper()
	e.srv.Clock.(*arca.ManualClock).Advance(d)
	tok, _, err := e.srv.Identity.Tokens.Issue(e.tenant, e.owner, "https://management.localhost:8443", false, "1")
	if err != nil {
		e.t.Fatal(err)
	}
	e.token = tok
}
