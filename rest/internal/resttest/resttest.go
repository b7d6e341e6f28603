// Package resttest builds a rest.Server over in-memory services, with one
// vault and a token for it, for the tests of the core and of the Key Vault
// data plane. Only tests import it.
package resttest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/rest"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/vaults"
)

// Env is a Server with the vault "arca" (secrets and keys, no
// certificates, no management plane) and a token for it.
type Env struct {
	Store  *barrier.Barrier // the store every service of Srv writes to
	Faults *FaultStore      // under Store: makes its reads or writes fail
	Srv    *rest.Server
	Token  string
	Clock  *arca.ManualClock
}

// New builds an Env; its clock stands at 1,800,000,000 (2027-01-15).
func New(t testing.TB) *Env {
	ctx := context.Background()
	id := NewIdentity(t)
	store, clock, ten, toks := id.Store, id.Clock, id.Tenant, id.Tokens
	vs := vaults.New(store, clock, nil)
	if err := vs.CreateVault(ctx, &arca.Vault{Name: "arca", TenantID: ten.ID, SKU: "premium"}); err != nil {
		t.Fatal(err)
	}
	sp := &identity.ServicePrincipal{AppID: "app", ObjectID: "oid"}
	tok, _, err := toks.Issue(ten.ID, sp, "https://vault.localhost:8443", true, "1")
	if err != nil {
		t.Fatal(err)
	}
	srv := &rest.Server{
		Config: rest.Config{DNSSuffix: "vault.localhost", Port: 8443, AuthorityURL: "https://localhost:8443"},
		Vaults: vs, Secrets: secrets.New(store, store, clock, rand.Reader), Keys: keys.New(store, soft.New(rand.Reader), store, clock, rand.Reader),
		Identity:   &identity.Service{Dir: id.Dir, Tokens: toks, Clock: clock},
		Authorizer: arca.TenantAuthorizer{}, Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return &Env{Store: store, Faults: id.Faults, Srv: srv, Token: tok, Clock: clock}
}

// Call sends method target (a path with its query) with body to the vault
// "arca", with the Env's token.
func (e *Env) Call(method, target, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://arca.vault.localhost:8443"+target, rd)
	req.Host = "arca.vault.localhost:8443"
	req.Header.Set("Authorization", "Bearer "+e.Token)
	w := httptest.NewRecorder()
	e.Srv.ServeHTTP(w, req)
	return w
}

// Healthz sends GET /healthz to the token service host.
func (e *Env) Healthz() *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "https://localhost:8443/healthz", nil)
	req.Host = "localhost:8443"
	w := httptest.NewRecorder()
	e.Srv.ServeHTTP(w, req)
	return w
}

// ErrCode returns the code of w's Azure error envelope, failing t when the
// body is not one.
func ErrCode(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil || b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("not an Azure error envelope: %d %q", w.Code, w.Body.String())
	}
	return b.Error.Code
}
