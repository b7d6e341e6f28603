package httpx_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// fakeTokens accepts the token "good" for tenant "t" and records what it
// was asked.
type fakeTokens struct{ raw, tenant, hint string }

func (f *fakeTokens) Verify(raw, tenant string, audOK func(string) bool, hint string) (*arca.Principal, error) {
	f.raw, f.tenant, f.hint = raw, tenant, hint
	if raw != "good" || !audOK("aud") {
		return nil, arca.Errorf(arca.KindUnauthorized, "Unauthorized", "AKV10022: Invalid audience.")
	}
	return &arca.Principal{ObjectID: "oid", TenantID: tenant}, nil
}

func TestAuthenticate(t *testing.T) {
	for _, c := range []struct {
		header string
		want   string // "" success, else "none" (ErrNoBearer) or "bad" (the verifier's error)
	}{
		{"Bearer good", ""},
		{"bearer good", ""},
		{"BEARER   good  ", ""},
		{"Bearer bad", "bad"},
		{"Bearer ", "bad"},
		{"", "none"},
		{"Bearer", "none"},
		{"Basic Z29vZA==", "none"},
		{"Bearergood", "none"},
	} {
		r := httptest.NewRequest("GET", "https://localhost/x", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		ri := &httpx.RequestInfo{}
		r = r.WithContext(httpx.WithRequestInfo(r.Context(), ri))
		f := &fakeTokens{}
		p, err := httpx.Authenticate(r, f, "t", func(a string) bool { return a == "aud" }, "hint")
		switch c.want {
		case "":
			if err != nil || p == nil || p.ObjectID != "oid" || ri.Principal != p || f.tenant != "t" || f.hint != "hint" {
				t.Errorf("%q: %v %v, recorded %v", c.header, p, err, ri.Principal)
			}
		case "none":
			if !errors.Is(err, httpx.ErrNoBearer) || p != nil || ri.Principal != nil || f.raw != "" {
				t.Errorf("%q: %v %v, want ErrNoBearer without verifying", c.header, p, err)
			}
		default:
			if arca.KindOf(err) != arca.KindUnauthorized || p != nil || ri.Principal != nil {
				t.Errorf("%q: %v %v, want the verifier's error", c.header, p, err)
			}
		}
	}
	// Without a RequestInfo in the context nothing is recorded, and nothing fails.
	r := httptest.NewRequest("GET", "https://localhost/x", nil)
	r.Header.Set("Authorization", "Bearer good")
	if _, err := httpx.Authenticate(r, &fakeTokens{}, "t", func(string) bool { return true }, ""); err != nil {
		t.Fatal(err)
	}
}

func TestWriteARMUnauthorized(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	const challenge = `Bearer authorization_uri="https://localhost:8443/t", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`
	for _, c := range []struct {
		err  error
		body string
	}{
		{httpx.ErrNoBearer, `{"error":{"code":"AuthenticationFailed","message":"Authentication failed. The 'Authorization' header is missing."}}`},
		{arca.Errorf(arca.KindUnauthorized, "Unauthorized", "AKV10022: Invalid audience."), `{"error":{"code":"InvalidAuthenticationToken","message":"AKV10022: Invalid audience."}}`},
		{errors.New("other"), `{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}`},
	} {
		w := httptest.NewRecorder()
		httpx.WriteARMUnauthorized(w, httptest.NewRequest("GET", "/", nil), log, "https://localhost:8443", "t", c.err)
		if w.Code != 401 || w.Header().Get("WWW-Authenticate") != challenge || w.Body.String() != c.body {
			t.Errorf("%v: %d %q %s", c.err, w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
		}
	}
}
