package entra_test

import (
	"net/url"
	"strings"
	"testing"
)

// TestEntraAppServiceManagedIdentity: the App Service protocol
// (IDENTITY_ENDPOINT with the X-IDENTITY-HEADER secret), as azidentity's
// ManagedIdentityCredential speaks it: GET with resource (a scope's
// /.default is dropped) and an optional client_id naming the identity;
// the answer carries expires_on as a string, and the token is the managed
// identity's.
func TestEntraAppServiceManagedIdentity(t *testing.T) {
	e := newEntraEnv(t)
	msi := func(query, header string) *recorder {
		r := req("GET", "/msi/token?"+query, "")
		if header != "" {
			r.Header.Set("X-IDENTITY-HEADER", header)
		}
		return e.serve(r)
	}
	now := e.clock.Now().Unix()
	for _, q := range []string{
		"api-version=2019-08-01&resource=" + url.QueryEscape(vaultAudience),
		"api-version=2019-08-01&resource=" + url.QueryEscape(vaultAudience+"/.default"),
		"api-version=2019-08-01&resource=" + url.QueryEscape(vaultAudience) + "&client_id=" + e.mi.AppID,
		"api-version=2017-09-01&resource=" + url.QueryEscape(vaultAudience) + "&clientid=" + strings.ToUpper(e.mi.AppID),
	} {
		w := msi(q, e.miHeader)
		got := wantOK(t, q, w)
		if got["token_type"] != "Bearer" || got["resource"] != vaultAudience || got["client_id"] != e.mi.AppID || got["expires_on"] != jsonInt(int(now)+3600) {
			t.Errorf("%s: %v", q, got)
		}
		if w.Header().Get("Cache-Control") != "no-store, no-cache" {
			t.Errorf("%s: Cache-Control %q", q, w.Header().Get("Cache-Control"))
		}
		p, err := e.svc.Tokens.Verify(got["access_token"].(string), e.tenant, audOK, vaultAudience)
		if err != nil || p.ObjectID != e.mi.ObjectID || p.AppID != e.mi.AppID {
			t.Errorf("%s: verify %+v %v", q, p, err)
		}
		if c := claims(t, got["access_token"].(string)); c["appidacr"] != "2" || c["iss"] != "https://localhost:8443/"+e.tenant+"/" {
			t.Errorf("%s: claims %v", q, c)
		}
	}
	// POST with the resource in a form body.
	r := req("POST", "/msi/token?api-version=2019-08-01", url.Values{"resource": {vaultAudience}}.Encode())
	r.Header.Set("X-IDENTITY-HEADER", e.miHeader)
	if got := wantOK(t, "POST", e.serve(r)); got["resource"] != vaultAudience {
		t.Errorf("POST: %v", got)
	}

	res := "api-version=2019-08-01&resource=" + url.QueryEscape(vaultAudience)
	for name, w := range map[string]*recorder{
		"no header":    msi(res, ""),
		"wrong header": msi(res, "wrong"),
		"app secret":   msi(res, e.secret),
	} {
		if w.Code != 401 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
			continue
		}
		if got := decode(t, w); got["error"] != "invalid_request" || !strings.Contains(got["error_description"].(string), "X-IDENTITY-HEADER") {
			t.Errorf("%s: %v", name, got)
		}
	}
	wantOAuthError(t, "no resource", msi("api-version=2019-08-01", e.miHeader), 400, "invalid_request", 900144)
	wantOAuthError(t, "another identity", msi(res+"&client_id="+e.app.AppID, e.miHeader), 400, "invalid_request", 700016)
	wantOAuthError(t, "unknown resource", msi("resource="+url.QueryEscape("https://evil.example"), e.miHeader), 400, "invalid_resource", 500011)
}

// TestEntraIMDS: the instance metadata endpoint answers loopback callers
// that send Metadata: true, with IMDS's all-string token answer; anyone
// else is refused, and so is everyone when the endpoint is off.
func TestEntraIMDS(t *testing.T) {
	e := newEntraEnv(t)
	path := "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + url.QueryEscape(vaultAudience)
	imds := func(remote string, metadata bool, p string) *recorder {
		r := req("GET", p, "")
		r.RemoteAddr = remote
		if metadata {
			r.Header.Set("Metadata", "true")
		}
		return e.serve(r)
	}
	now := e.clock.Now().Unix()
	for _, remote := range []string{"127.0.0.1:40000", "[::1]:40000", "127.0.0.2:1"} {
		got := wantOK(t, remote, imds(remote, true, path))
		want := map[string]string{"token_type": "Bearer", "resource": vaultAudience, "client_id": e.mi.AppID, "expires_in": "3599",
			"ext_expires_in": "3599", "expires_on": jsonInt(int(now) + 3600), "not_before": jsonInt(int(now))}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: %s = %#v, want %q", remote, k, got[k], v)
			}
		}
		if p, err := e.svc.Tokens.Verify(got["access_token"].(string), e.tenant, audOK, vaultAudience); err != nil || p.ObjectID != e.mi.ObjectID {
			t.Errorf("%s: verify %+v %v", remote, p, err)
		}
	}
	if got := wantOK(t, "client_id", imds("127.0.0.1:1", true, path+"&client_id="+e.mi.AppID)); got["client_id"] != e.mi.AppID {
		t.Errorf("client_id: %v", got)
	}

	for name, w := range map[string]*recorder{
		"remote caller":  imds("192.0.2.1:40000", true, path),
		"private caller": imds("10.0.0.1:40000", true, path),
		"no address":     imds("", true, path),
	} {
		if w.Code != 403 || decode(t, w)["error"] != "forbidden" {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
	}
	if w := imds("127.0.0.1:1", false, path); w.Code != 400 || !strings.Contains(w.Body.String(), "metadata header") {
		t.Errorf("no Metadata header: %d %s", w.Code, w.Body.String())
	}
	wantOAuthError(t, "no resource", imds("127.0.0.1:1", true, "/metadata/identity/oauth2/token?api-version=2018-02-01"), 400, "invalid_request", 900144)
	wantOAuthError(t, "another identity", imds("127.0.0.1:1", true, path+"&client_id="+e.app.AppID), 400, "invalid_request", 700016)

	e.h.IMDS = false
	if w := imds("127.0.0.1:1", true, path); w.Code != 403 {
		t.Errorf("IMDS off: %d %s", w.Code, w.Body.String())
	}
}

// TestEntraNoManagedIdentity: a deployment without a managed identity
// refuses both protocols.
func TestEntraNoManagedIdentity(t *testing.T) {
	e := newBareEnv(t)
	r := req("GET", "/msi/token?api-version=2019-08-01&resource="+url.QueryEscape(vaultAudience), "")
	r.Header.Set("X-IDENTITY-HEADER", "anything")
	if w := e.serve(r); w.Code != 401 {
		t.Errorf("App Service: %d %s", w.Code, w.Body.String())
	}
	r = req("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape(vaultAudience), "")
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("Metadata", "true")
	wantOAuthError(t, "IMDS", e.serve(r), 400, "invalid_request", 700016)
}

// TestEntraManagedIdentityDirectoryUnreadable: when the principals cannot
// be read, both managed identity protocols answer 500 (as the token
// endpoint does, temporarily_unavailable), not an answer that says the
// header is wrong or no identity exists: azidentity retries a 5xx but
// gives up on those.
//
// BUG: appServiceMI answers 401 "The X-IDENTITY-HEADER header is missing or
// does not match" for any error of Directory.ManagedIdentity, and
// identity.Service.ManagedIdentityToken answers 400 AADSTS700016 "No
// managed identity is configured" for any error of it.
func TestEntraManagedIdentityDirectoryUnreadable(t *testing.T) {
	e := newEntraEnv(t)
	e.faults.FailReads("id/sp/")
	r := req("GET", "/msi/token?api-version=2019-08-01&resource="+url.QueryEscape(vaultAudience), "")
	r.Header.Set("X-IDENTITY-HEADER", e.miHeader)
	if w := e.serve(r); w.Code != 500 {
		t.Errorf("App Service: %d %s, want 500", w.Code, w.Body.String())
	}
	r = req("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape(vaultAudience), "")
	r.RemoteAddr = "127.0.0.1:1"
	r.Header.Set("Metadata", "true")
	if w := e.serve(r); w.Code != 500 {
		t.Errorf("IMDS: %d %s, want 500", w.Code, w.Body.String())
	}
}
