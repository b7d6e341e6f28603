package keyvault_test

import (
	"crypto/rand"
	"encoding/json"
	"testing"

	"github.com/arcakv/arca/certificates"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/rest/internal/resttest"
	"github.com/arcakv/arca/secrets"
)

type clearSealer struct{}

func (clearSealer) Seal(_, p []byte) ([]byte, error)   { return append([]byte(nil), p...), nil }
func (clearSealer) Unseal(_, b []byte) ([]byte, error) { return append([]byte(nil), b...), nil }

// newCertEnv is a resttest.Env with the certificates service.
func newCertEnv(t testing.TB) *resttest.Env {
	e := resttest.New(t)
	ks := e.Srv.Keys.(*keys.Service)
	e.Srv.Certificates = certificates.New(e.Store, ks.Keystore, ks, e.Srv.Secrets.(*secrets.Service), clearSealer{}, e.Clock, rand.Reader)
	return e
}

// TestCertificateOperationUpdateNotInProgress: PATCH …/pending on an
// operation that has completed is refused as Key Vault does (403 Forbidden
// "Pending status must be in progress to allow update."), whether it
// cancels or not, and GET …/pending still shows the completed operation
// with cancellation_requested false.
func TestCertificateOperationUpdateNotInProgress(t *testing.T) {
	e := newCertEnv(t)
	const self = `{"policy":{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=done"},"key_props":{"kty":"EC","crv":"P-256"}}}`
	if w := e.Call("POST", "/certificates/done/create?api-version=7.4", self); w.Code != 202 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	const refused = `{"error":{"code":"Forbidden","message":"Pending status must be in progress to allow update."}}`
	for _, body := range []string{`{"cancellation_requested":true}`, `{"cancellation_requested":false}`} {
		w := e.Call("PATCH", "/certificates/done/pending?api-version=7.4", body)
		if w.Code != 403 || w.Body.String() != refused {
			t.Fatalf("PATCH %s on a completed operation: %d %s, want 403 %s", body, w.Code, w.Body.String(), refused)
		}
	}
	w := e.Call("GET", "/certificates/done/pending?api-version=7.4", "")
	var op map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &op); err != nil || w.Code != 200 {
		t.Fatalf("GET pending: %d %s", w.Code, w.Body.String())
	}
	if op["status"] != "completed" || op["cancellation_requested"] != false || op["target"] != "https://arca.vault.localhost:8443/certificates/done" {
		t.Fatalf("completed operation after refused updates: %s", w.Body.String())
	}
}

// TestCertificateOperationCancelTwice: cancelling an operation in progress
// answers 200 with cancellation_requested true, and so does a second cancel.
func TestCertificateOperationCancelTwice(t *testing.T) {
	e := newCertEnv(t)
	const csr = `{"policy":{"issuer":{"name":"Unknown"},"x509_props":{"subject":"CN=csr"},"key_props":{"kty":"EC","crv":"P-256"}}}`
	if w := e.Call("POST", "/certificates/csr/create?api-version=7.4", csr); w.Code != 202 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	var first string
	for i := 0; i < 2; i++ {
		w := e.Call("PATCH", "/certificates/csr/pending?api-version=7.4", `{"cancellation_requested":true}`)
		var op map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &op); err != nil || w.Code != 200 || op["cancellation_requested"] != true || op["status"] != "cancelled" {
			t.Fatalf("cancel #%d: %d %s", i+1, w.Code, w.Body.String())
		}
		if i == 0 {
			first = w.Body.String()
		} else if w.Body.String() != first {
			t.Fatalf("second cancel:\n got %s\nwant %s", w.Body.String(), first)
		}
	}
}

// TestCertificateCreateWithoutPolicy: the first version of a certificate
// needs a policy (400 BadParameter without one); a later version reuses it.
func TestCertificateCreateWithoutPolicy(t *testing.T) {
	e := newCertEnv(t)
	for _, body := range []string{`{}`, `{"tags":{"a":"b"}}`} {
		w := e.Call("POST", "/certificates/fresh/create?api-version=7.4", body)
		if w.Code != 400 || resttest.ErrCode(t, w) != "BadParameter" {
			t.Fatalf("first create with %s: %d %s, want 400 BadParameter", body, w.Code, w.Body.String())
		}
	}
	const self = `{"policy":{"issuer":{"name":"Self"},"x509_props":{"subject":"CN=again"},"key_props":{"kty":"EC","crv":"P-256"}}}`
	if w := e.Call("POST", "/certificates/again/create?api-version=7.4", self); w.Code != 202 {
		t.Fatalf("create: %d %s", w.Code, w.Body.String())
	}
	if w := e.Call("POST", "/certificates/again/create?api-version=7.4", `{}`); w.Code != 202 {
		t.Fatalf("second create without a policy: %d %s", w.Code, w.Body.String())
	}
	w := e.Call("GET", "/certificates/again/versions?api-version=7.4", "")
	var page struct{ Value []any }
	if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil || len(page.Value) != 2 {
		t.Fatalf("versions after two creates: %s", w.Body.String())
	}
}
