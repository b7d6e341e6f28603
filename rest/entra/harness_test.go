package entra_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/rest/entra"
	"github.com/arcakv/arca/rest/internal/resttest"
)

// entraEnv is the token service handler over an in-memory store behind the
// barrier, with the deployment's resource list: a tenant, a confidential
// client (app, with its secret), the managed identity (with its
// X-IDENTITY-HEADER secret) and the instance metadata endpoint on. The
// clock is manual; people are added by the tests that need them (each
// costs a bcrypt hash).
type entraEnv struct {
	t        *testing.T
	h        *entra.Handler
	svc      *identity.Service
	dir      *identity.Directory
	clock    *arca.ManualClock
	tenant   string
	app      *identity.ServicePrincipal
	secret   string
	mi       *identity.ServicePrincipal
	miHeader string
	faults   *resttest.FaultStore
}

// vaultAudience is the vault resource clients ask tokens for.
const vaultAudience = "https://vault.localhost:8443"

// azCLI is the az CLI's public client id.
const azCLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"

func newEntraEnv(t *testing.T) *entraEnv {
	t.Helper()
	e := newBareEnv(t)
	ctx := context.Background()
	var err error
	if e.app, e.secret, err = e.dir.CreateServicePrincipal(ctx, "app", true, nil); err != nil {
		t.Fatal(err)
	}
	if e.mi, e.miHeader, err = e.dir.CreateManagedIdentity(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// newBareEnv is an entraEnv with the tenant only: no principal, no
// managed identity.
func newBareEnv(t *testing.T) *entraEnv {
	t.Helper()
	id := resttest.NewIdentity(t)
	faults, clock, dir, ten, toks := id.Faults, id.Clock, id.Dir, id.Tenant, id.Tokens
	allowed := map[string]bool{}
	for _, r := range []string{vaultAudience, "https://vault.azure.net", "https://localhost:8443", "https://management.localhost:8443",
		"https://graph.localhost:8443", "https://management.azure.com", "https://management.core.windows.net", "https://graph.microsoft.com"} {
		allowed[r] = true
	}
	svc := &identity.Service{Dir: dir, Tokens: toks, Clock: clock, ResourceOK: func(res string) bool {
		return allowed[strings.ToLower(strings.TrimSuffix(res, "/"))]
	}}
	return &entraEnv{t: t, h: &entra.Handler{Identity: svc, IMDS: true}, svc: svc, dir: dir, clock: clock, tenant: ten.ID, faults: faults}
}

// password is the password of every person the tests add.
const password = "correct horse battery"

// newUser adds a person (one bcrypt hash).
func (e *entraEnv) newUser(upn string) *identity.User {
	e.t.Helper()
	u, err := e.dir.CreateUser(context.Background(), upn, password, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// req builds a request to the token service host localhost:8443 from the
// address 192.0.2.1; a non-empty body is a form.
func req(method, path, body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, "https://localhost:8443"+path, rd)
	r.Host = "localhost:8443"
	r.RemoteAddr = "192.0.2.1:50000"
	if body != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

// recorder is the answer of one request.
type recorder = httptest.ResponseRecorder

// serve runs r through the handler.
func (e *entraEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// post sends form to path.
func (e *entraEnv) post(path string, form url.Values) *httptest.ResponseRecorder {
	return e.serve(req("POST", path, form.Encode()))
}

// get sends GET path.
func (e *entraEnv) get(path string) *httptest.ResponseRecorder {
	return e.serve(req("GET", path, ""))
}

// v2Token is the v2.0 token endpoint of the env's tenant.
func (e *entraEnv) v2Token() string { return "/" + e.tenant + "/oauth2/v2.0/token" }

// decode parses a JSON answer with numbers kept as json.Number, failing
// the test when the body is not a JSON object.
func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %d %s", ct, w.Code, w.Body.String())
	}
	d := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	d.UseNumber()
	out := map[string]any{}
	if err := d.Decode(&out); err != nil {
		t.Fatalf("not a JSON object: %d %q", w.Code, w.Body.String())
	}
	return out
}

// wantOK checks a 200 JSON answer and decodes it.
func wantOK(t *testing.T, what string, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	if w.Code != 200 {
		t.Fatalf("%s: %d %s", what, w.Code, w.Body.String())
	}
	return decode(t, w)
}

// wantOAuthError checks Entra's error answer: the status, the error code,
// an error_description starting with "AADSTS<n>:" and error_codes [n], not
// cacheable.
func wantOAuthError(t *testing.T, what string, w *httptest.ResponseRecorder, status int, code string, aadsts int) map[string]any {
	t.Helper()
	if w.Code != status {
		t.Errorf("%s: %d %s, want %d %s", what, w.Code, w.Body.String(), status, code)
		return nil
	}
	got := decode(t, w)
	desc, _ := got["error_description"].(string)
	codes, _ := got["error_codes"].([]any)
	want := "AADSTS" + jsonInt(aadsts) + ": "
	if got["error"] != code || !strings.HasPrefix(desc, want) || len(codes) != 1 || codes[0] != json.Number(jsonInt(aadsts)) {
		t.Errorf("%s: %v, want error %s with AADSTS%d", what, got, code, aadsts)
	}
	if !strings.Contains(w.Header().Get("Cache-Control"), "no-store") {
		t.Errorf("%s: Cache-Control %q", what, w.Header().Get("Cache-Control"))
	}
	return got
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }

// wantInt checks that m[key] is a JSON integer (not a string) and returns it.
func wantInt(t *testing.T, m map[string]any, key string) int64 {
	t.Helper()
	n, ok := m[key].(json.Number)
	if !ok {
		t.Fatalf("%s: %#v is not a JSON number", key, m[key])
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatalf("%s: %v is not an integer", key, n)
	}
	return i
}

// claims returns the payload of a compact JWT, unverified.
func claims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// audOK accepts the vault audience, for Tokens.Verify.
func audOK(a string) bool { return strings.TrimSuffix(a, "/") == vaultAudience }
