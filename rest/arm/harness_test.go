package arm_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
)

// Helpers over the armEnv of arm_test.go for the ARM handler tests: raw
// requests (headers, other callers, no token) and callers without roles.

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
