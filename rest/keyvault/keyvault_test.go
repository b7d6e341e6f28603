package keyvault_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/arcakv/arca/rest/internal/resttest"
)

// TestBadInput: every malformed request gets an Azure-shaped 4xx and
// changes nothing.
func TestBadInput(t *testing.T) {
	e := resttest.New(t)
	long := strings.Repeat("a", 128)
	cases := []struct {
		method, target, body string
		status               int
		code                 string
	}{
		{"PUT", "/secrets/ok", `{"value":"v"`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `["value"]`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":1}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","attributes":{"enabled":"yes"}}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","attributes":{"exp":"soon"}}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","attributes":{"nbf":1.5}}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","tags":{"a":1}}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"contentType":"x"}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", ``, 400, "BadParameter"},
		{"PUT", "/secrets/ok", "{\"value\":\"a\xff\xfeb\"}", 400, "BadParameter"},                  // not UTF-8: refused, not stored as U+FFFD
		{"PUT", "/secrets/ok", "{\"value\":\"v\",\"tags\":{\"t\":\"\xc3\"}}", 400, "BadParameter"}, // a truncated sequence
		{"PUT", "/secrets/ok", `{"value":"` + strings.Repeat("x", 25*1024+1) + `"}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","contentType":"` + strings.Repeat("c", 256) + `"}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"v","tags":{` + manyTags(16) + `}}`, 400, "BadParameter"},
		{"PUT", "/secrets/ok", `{"value":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "RequestTooLarge"},
		{"PUT", "/secrets/bad_name", `{"value":"v"}`, 400, "BadParameter"},
		{"PUT", "/secrets/" + long, `{"value":"v"}`, 400, "BadParameter"},
		{"PUT", "/secrets/a%2Fb", `{"value":"v"}`, 400, "BadParameter"},
		{"PUT", "/secrets/..", `{"value":"v"}`, 400, "BadParameter"},
		{"PUT", "/secrets/", `{"value":"v"}`, 405, "MethodNotAllowed"},
		{"GET", "/secrets?maxresults=0", ``, 400, "BadParameter"},
		{"GET", "/secrets?maxresults=26", ``, 400, "BadParameter"},
		{"GET", "/secrets?maxresults=x", ``, 400, "BadParameter"},
		{"GET", "/secrets?$skiptoken=%%%", ``, 400, "BadParameter"},
		{"POST", "/secrets/restore", `{"value":"!!!"}`, 400, "Malformed backup blob"},
		{"POST", "/secrets/restore", `{"value":"AAAA"}`, 400, "Malformed backup blob"},
		{"POST", "/secrets/restore", `{}`, 400, "BadParameter"},
		{"DELETE", "/secrets", ``, 405, "MethodNotAllowed"},
		{"GET", "/nothing", ``, 404, "NotFound"},
		{"GET", "/secrets/missing/", ``, 404, "SecretNotFound"},
		{"GET", "/secrets/missing/zzz", ``, 404, "SecretNotFound"},
		{"GET", "/deletedsecrets/missing", ``, 404, "SecretNotFound"},
		{"DELETE", "/deletedsecrets/missing", ``, 404, "SecretNotFound"},
		{"POST", "/deletedsecrets/missing/recover", ``, 404, "SecretNotFound"},
		{"POST", "/secrets/missing/backup", ``, 404, "SecretNotFound"},
	}
	for _, c := range cases {
		target := c.target
		if strings.Contains(target, "?") {
			target += "&api-version=7.4"
		} else {
			target += "?api-version=7.4"
		}
		w := e.Call(c.method, target, c.body)
		if w.Code != c.status || resttest.ErrCode(t, w) != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.target, w.Code, w.Body.String(), c.status, c.code)
		}
	}
	// Nothing was stored by any of them.
	w := e.Call("GET", "/secrets?api-version=7.4", "")
	if w.Code != 200 || w.Body.String() != `{"value":[],"nextLink":null}` {
		t.Fatalf("store changed: %s", w.Body.String())
	}
}

func manyTags(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, `"t`+string(rune('a'+i))+`":"v"`)
	}
	return strings.Join(parts, ",")
}

func TestAPIVersions(t *testing.T) {
	e := resttest.New(t)
	for _, v := range []string{"7.0", "7.1", "7.2", "7.3", "7.4", "7.4-preview.1", "7.5", "7.6", "7.6-preview.2",
		"2016-10-01", "2025-07-01", "2026-01-01-preview", "2026-04-01", "2027-01-01", "2026-09-01-preview", "7.7"} {
		w := e.Call("GET", "/secrets?api-version="+v, "")
		if w.Code != 200 {
			t.Errorf("api-version %s: %d %s", v, w.Code, w.Body.String())
		}
	}
	for _, v := range []string{"", "bogus", "6.0", "2026-13-01", "1999-01-01", "7.x"} {
		w := e.Call("GET", "/secrets?api-version="+v, "")
		if w.Code != 400 || resttest.ErrCode(t, w) != "BadParameter" {
			t.Errorf("api-version %q: %d %s", v, w.Code, w.Body.String())
		}
	}
	// JS percent-encodes the key.
	if w := e.Call("GET", "/secrets?api%2Dversion=2025-07-01", ""); w.Code != 200 {
		t.Errorf("api%%2Dversion: %d", w.Code)
	}
	// recoverableDays appears from 7.1 on.
	e.Call("PUT", "/secrets/s?api-version=7.4", `{"value":"v"}`)
	if w := e.Call("GET", "/secrets/s/?api-version=7.0", ""); strings.Contains(w.Body.String(), "recoverableDays") {
		t.Errorf("7.0 response has recoverableDays: %s", w.Body.String())
	}
	if w := e.Call("GET", "/secrets/s/?api-version=7.1", ""); !strings.Contains(w.Body.String(), `"recoverableDays":90`) {
		t.Errorf("7.1 response lacks recoverableDays: %s", w.Body.String())
	}
}

// TestWireShapes pins the exact JSON of the main responses.
func TestWireShapes(t *testing.T) {
	e := resttest.New(t)
	w := e.Call("PUT", "/secrets/Shape?api-version=7.4", `{"value":"v","contentType":"text/plain","attributes":{"exp":1900000000},"tags":{"k":"v"},"unknown":1}`)
	var got map[string]any
	json.Unmarshal(w.Body.Bytes(), &got)
	id := got["id"].(string)
	ver := id[strings.LastIndex(id, "/")+1:]
	want := `{"value":"v","contentType":"text/plain","id":"https://arca.vault.localhost:8443/secrets/Shape/` + ver +
		`","attributes":{"enabled":true,"exp":1900000000,"created":1800000000,"updated":1800000000,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90},"tags":{"k":"v"}}`
	if w.Body.String() != want {
		t.Fatalf("set:\n got %s\nwant %s", w.Body.String(), want)
	}
	w = e.Call("DELETE", "/secrets/shape?api-version=7.4", "")
	want = `{"recoveryId":"https://arca.vault.localhost:8443/deletedsecrets/Shape","deletedDate":1800000000,"scheduledPurgeDate":1807776000,"contentType":"text/plain","id":"https://arca.vault.localhost:8443/secrets/Shape/` + ver +
		`","attributes":{"enabled":true,"exp":1900000000,"created":1800000000,"updated":1800000000,"recoveryLevel":"Recoverable+Purgeable","recoverableDays":90},"tags":{"k":"v"}}`
	if w.Body.String() != want {
		t.Fatalf("delete:\n got %s\nwant %s", w.Body.String(), want)
	}
	w = e.Call("PUT", "/secrets/shape?api-version=7.4", `{"value":"v"}`)
	if w.Code != 409 || w.Body.String() != `{"error":{"code":"Conflict","message":"Secret shape is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.","innererror":{"code":"ObjectIsDeletedButRecoverable"}}}` {
		t.Fatalf("conflict: %d %s", w.Code, w.Body.String())
	}
	w = e.Call("GET", "/secrets/shape/versions?api-version=7.4", "")
	if w.Body.String() != `{"value":[],"nextLink":null}` {
		t.Fatalf("versions of a deleted secret: %s", w.Body.String())
	}
	w = e.Call("DELETE", "/deletedsecrets/shape?api-version=7.4", "")
	if w.Code != 204 || w.Body.Len() != 0 {
		t.Fatalf("purge: %d %q", w.Code, w.Body.String())
	}
	e.Call("PUT", "/secrets/off?api-version=7.4", `{"value":"v","attributes":{"enabled":false}}`)
	w = e.Call("GET", "/secrets/off/?api-version=7.4", "")
	if w.Code != 403 || w.Body.String() != `{"error":{"code":"Forbidden","message":"Operation get is not allowed on a disabled secret.","innererror":{"code":"SecretDisabled"}}}` {
		t.Fatalf("disabled: %d %s", w.Code, w.Body.String())
	}
}

// TestPaging: maxresults and absolute nextLinks walk every item once.
func TestPaging(t *testing.T) {
	e := resttest.New(t)
	for i := 0; i < 7; i++ {
		e.Call("PUT", "/secrets/p"+string(rune('a'+i))+"?api-version=7.4", `{"value":"v"}`)
	}
	seen := 0
	next := "/secrets?api-version=7.4&maxresults=3"
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		w := e.Call("GET", next, "")
		var page struct {
			Value    []map[string]any `json:"value"`
			NextLink *string          `json:"nextLink"`
		}
		json.Unmarshal(w.Body.Bytes(), &page)
		seen += len(page.Value)
		next = ""
		if page.NextLink != nil {
			if !strings.HasPrefix(*page.NextLink, "https://arca.vault.localhost:8443/secrets?api-version=7.4&$skiptoken=") {
				t.Fatalf("nextLink %s", *page.NextLink)
			}
			next = strings.TrimPrefix(*page.NextLink, "https://arca.vault.localhost:8443")
		}
	}
	if seen != 7 {
		t.Fatalf("saw %d items, want 7", seen)
	}
}

// FuzzVaultRequest: no request, however malformed, panics or yields a 5xx,
// and every error is Azure-shaped.
func FuzzVaultRequest(f *testing.F) {
	e := resttest.New(f)
	e.Call("PUT", "/secrets/seed?api-version=7.4", `{"value":"v"}`)
	e.Call("POST", "/keys/k/create?api-version=7.4", `{"kty":"EC"}`)
	e.Call("POST", "/keys/r/create?api-version=7.4", `{"kty":"RSA"}`)
	f.Add("POST", "/keys/k//sign?api-version=7.4", `{"alg":"ES256","value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`)
	f.Add("POST", "/keys/r/encrypt?api-version=7.4", `{"alg":"RSA-OAEP","value":"aGVsbG8"}`)
	f.Add("POST", "/keys/r//decrypt?api-version=7.4", `{"alg":"RSA1_5","value":"aGVsbG8"}`)
	f.Add("POST", "/keys/k/verify?api-version=7.4", `{"alg":"ES256","digest":"AA","value":"AA"}`)
	f.Add("PUT", "/keys/imp?api-version=7.4", `{"key":{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}}`)
	f.Add("PUT", "/keys/imp?api-version=7.4", `{"key":{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ"},"Hsm":true}`)
	f.Add("PUT", "/keys/k/rotationpolicy?api-version=7.4", `{"lifetimeActions":[{"trigger":{"timeAfterCreate":"P30D"},"action":{"type":"Rotate"}}],"attributes":{"expiryTime":"P90D"}}`)
	f.Add("POST", "/keys/k/release?api-version=7.4", `{"target":"a.b.c"}`)
	f.Add("POST", "/rng?api-version=7.4", `{"count":5}`)
	f.Add("PATCH", "/keys/k/?api-version=7.4", `{"key_ops":["sign"],"attributes":{"enabled":false}}`)
	f.Add("PUT", "/secrets/x?api-version=7.4", `{"value":"v","attributes":{"nbf":1}}`)
	f.Add("PATCH", "/secrets/seed/?api-version=7.4", `{"attributes":{"exp":null},"tags":{}}`)
	f.Add("POST", "/secrets/restore?api-version=7.4", `{"value":"AAAA"}`)
	f.Add("GET", "/secrets?api-version=7.4&maxresults=1&$skiptoken=c2VlZA", ``)
	f.Add("POST", "/deletedsecrets/seed/recover?api-version=2026-04-01", ``)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#") || len(method) == 0 || strings.ContainsAny(method, " \r\n/()<>@,;:\\\"[]?={}") {
			return
		}
		req, err := http.NewRequest(method, "https://arca.vault.localhost:8443"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Host = "arca.vault.localhost:8443"
		req.Header.Set("Authorization", "Bearer "+e.Token)
		w := httptest.NewRecorder()
		e.Srv.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, target, body, w.Code, w.Body.String())
		}
		if w.Code >= 400 {
			resttest.ErrCode(t, w)
		}
	})
}
