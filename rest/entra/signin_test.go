package entra_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// managementScope is what `az login` asks for.
const managementScope = "https://management.localhost:8443/.default offline_access openid profile"

// TestEntraPasswordAndRefresh: the password grant (`az login -u -p`)
// issues a person's access, id and refresh tokens with MSAL's client_info;
// a refresh token is single use and bound to its client, and lapses after
// 90 days without use.
func TestEntraPasswordAndRefresh(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	u := e.newUser("grace@arca.local")
	form := url.Values{"grant_type": {"password"}, "client_id": {azCLI}, "username": {u.UPN}, "password": {password}, "scope": {managementScope}, "client_info": {"1"}}

	got := wantOK(t, "password", e.post(e.v2Token(), form))
	if got["token_type"] != "Bearer" || wantInt(t, got, "expires_in") != 3599 || wantInt(t, got, "ext_expires_in") != 3599 ||
		got["scope"] != "https://management.localhost:8443/user_impersonation" || !strings.HasPrefix(got["refresh_token"].(string), "0.A") {
		t.Errorf("password: %v", got)
	}
	at := claims(t, got["access_token"].(string))
	if at["oid"] != u.ObjectID || at["upn"] != u.UPN || at["idtyp"] != "user" || at["azp"] != azCLI || at["aud"] != "https://management.localhost:8443" ||
		at["iss"] != "https://localhost:8443/"+e.tenant+"/v2.0" || at["scp"] != "user_impersonation" {
		t.Errorf("access token: %v", at)
	}
	id := claims(t, got["id_token"].(string))
	if id["aud"] != azCLI || id["oid"] != u.ObjectID || id["preferred_username"] != u.UPN || id["tid"] != e.tenant || id["iss"] != "https://localhost:8443/"+e.tenant+"/v2.0" {
		t.Errorf("id token: %v", id)
	}
	ci, err := base64.RawURLEncoding.DecodeString(got["client_info"].(string))
	var info map[string]string
	if err != nil || json.Unmarshal(ci, &info) != nil || info["uid"] != u.ObjectID || info["utid"] != e.tenant {
		t.Errorf("client_info: %q %v", ci, err)
	}

	// Refresh on the v1 endpoint for another resource: the v1 form.
	rt := got["refresh_token"].(string)
	refresh := func(token, client string, extra ...string) *recorder {
		f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "resource": {vaultAudience}}
		if client != "" {
			f.Set("client_id", client)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			f.Set(extra[i], extra[i+1])
		}
		return e.post("/"+e.tenant+"/oauth2/token", f)
	}
	// Another client cannot redeem it (and does not use it up).
	wantOAuthError(t, "other client", refresh(rt, "11111111-2222-4333-8444-555555555555"), 400, "invalid_grant", 70000)
	next := wantOK(t, "refresh", refresh(rt, azCLI))
	if next["resource"] != vaultAudience || next["expires_on"] == nil || next["refresh_token"] == rt || next["refresh_token"] == "" {
		t.Errorf("refresh: %v", next)
	}
	if c := claims(t, next["access_token"].(string)); c["aud"] != vaultAudience || c["appid"] != azCLI || c["iss"] != "https://localhost:8443/"+e.tenant+"/" {
		t.Errorf("refreshed token: %v", c)
	}
	wantOAuthError(t, "used refresh token", refresh(rt, azCLI), 400, "invalid_grant", 70008)
	// Without client_id the token's own client is used.
	last := wantOK(t, "refresh without client_id", refresh(next["refresh_token"].(string), ""))
	if c := claims(t, last["access_token"].(string)); c["appid"] != azCLI {
		t.Errorf("refresh without client_id: %v", c)
	}
	// Unused for 90 days, it lapses.
	e.clock.Advance(90*24*time.Hour + time.Second)
	wantOAuthError(t, "lapsed", refresh(last["refresh_token"].(string), azCLI), 400, "invalid_grant", 70008)

	// A wrong password is invalid_grant 50126; so is an unknown user.
	form.Set("password", "wrong password")
	wantOAuthError(t, "wrong password", e.post(e.v2Token(), form), 400, "invalid_grant", 50126)
	form.Set("username", "nobody@arca.local")
	wantOAuthError(t, "unknown user", e.post(e.v2Token(), form), 400, "invalid_grant", 50126)
}

// TestEntraDeviceCodeFlow: `az login --use-device-code`: the device
// authorization answer, polling (authorization_pending), the sign-in page
// where a person enters the code, the tokens (once), and expiry.
func TestEntraDeviceCodeFlow(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	u := e.newUser("heidi@arca.local")
	dcPath := "/" + e.tenant + "/oauth2/v2.0/devicecode"
	start := func(host string) map[string]any {
		t.Helper()
		r := req("POST", dcPath, url.Values{"client_id": {azCLI}, "scope": {managementScope}}.Encode())
		r.Host = host
		w := e.serve(r)
		if w.Header().Get("Cache-Control") != "no-store, no-cache" {
			t.Errorf("devicecode Cache-Control %q", w.Header().Get("Cache-Control"))
		}
		return wantOK(t, "devicecode", w)
	}
	poll := func(dc string) *recorder {
		return e.post(e.v2Token(), url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc}, "client_id": {azCLI}})
	}

	dev := start("localhost:8443")
	code, _ := dev["user_code"].(string)
	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ2-9]{8}$`).MatchString(code) || dev["device_code"] == "" ||
		dev["verification_uri"] != "https://localhost:8443/devicelogin" || dev["verification_url"] != dev["verification_uri"] ||
		wantInt(t, dev, "expires_in") != 900 || wantInt(t, dev, "interval") != 1 ||
		!strings.Contains(dev["message"].(string), code) || !strings.Contains(dev["message"].(string), "https://localhost:8443/devicelogin") {
		t.Fatalf("devicecode: %v", dev)
	}
	if other := start("127.0.0.1:9443"); other["verification_uri"] != "https://127.0.0.1:9443/devicelogin" {
		t.Errorf("verification_uri on 127.0.0.1:9443: %v", other["verification_uri"])
	}
	dc := dev["device_code"].(string)
	wantOAuthError(t, "pending", poll(dc), 400, "authorization_pending", 70016)

	// The page, with the code filled in from ?otc=.
	w := e.get("/devicelogin?otc=" + code)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `name="user_code" value="`+code+`"`) || !strings.Contains(w.Body.String(), `action="/devicelogin"`) {
		t.Fatalf("device login page: %d %s", w.Code, w.Body.String())
	}
	wantPageHeaders(t, "device login page", w)
	signIn := func(code, user, pw string) *recorder {
		return e.post("/devicelogin", url.Values{"user_code": {code}, "username": {user}, "password": {pw}})
	}
	w = signIn(code, "nobody@arca.local", password)
	if w.Code != 400 || !strings.Contains(w.Body.String(), `id="error"`) || !strings.Contains(w.Body.String(), `value="`+code+`"`) {
		t.Errorf("unknown user: %d %s", w.Code, w.Body.String())
	}
	wantOAuthError(t, "still pending", poll(dc), 400, "authorization_pending", 70016)
	// The code as people type it: lower case, with a dash.
	w = signIn(strings.ToLower(code[:4])+"-"+strings.ToLower(code[4:]), u.UPN, password)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="done"`) {
		t.Fatalf("sign-in: %d %s", w.Code, w.Body.String())
	}

	got := wantOK(t, "device token", poll(dc))
	if got["token_type"] != "Bearer" || wantInt(t, got, "expires_in") != 3599 || got["refresh_token"] == nil || got["id_token"] == nil ||
		got["scope"] != "https://management.localhost:8443/user_impersonation" {
		t.Errorf("device token: %v", got)
	}
	if c := claims(t, got["access_token"].(string)); c["oid"] != u.ObjectID || c["azp"] != azCLI || c["aud"] != "https://management.localhost:8443" {
		t.Errorf("device access token: %v", c)
	}
	wantOAuthError(t, "redeemed", poll(dc), 400, "expired_token", 70020)

	// Fifteen minutes later a code is gone.
	late := start("localhost:8443")
	e.clock.Advance(15*time.Minute + time.Second)
	wantOAuthError(t, "expired", poll(late["device_code"].(string)), 400, "expired_token", 70020)

	// The device authorization endpoint's errors.
	wantOAuthError(t, "GET devicecode", e.get(dcPath), 405, "invalid_request", 900561)
	wantOAuthError(t, "no client_id", e.post(dcPath, url.Values{"scope": {managementScope}}), 400, "invalid_request", 900144)
	wantOAuthError(t, "bad scope", e.post(dcPath, url.Values{"client_id": {azCLI}, "scope": {"https://management.localhost:8443"}}), 400, "invalid_scope", 1002012)
	wantOAuthError(t, "unknown tenant", e.post("/nosuchtenant/oauth2/v2.0/devicecode", url.Values{"client_id": {azCLI}, "scope": {managementScope}}), 400, "invalid_request", 90002)
	wantOAuthError(t, "not a form", e.serve(req("POST", dcPath, "%zz")), 400, "invalid_request", 900144)
	// The v1 endpoint takes resource=.
	v1 := wantOK(t, "v1 devicecode", e.post("/adfs/oauth2/devicecode", url.Values{"client_id": {azCLI}, "resource": {vaultAudience}}))
	if v1["user_code"] == "" {
		t.Errorf("v1 devicecode: %v", v1)
	}
	// The page's other answers.
	if w := e.serve(req("PUT", "/devicelogin", "")); w.Code != 405 {
		t.Errorf("PUT /devicelogin: %d", w.Code)
	}
	if w := e.serve(req("POST", "/devicelogin", "%zz")); w.Code != 400 || !strings.Contains(w.Body.String(), "could not be read") {
		t.Errorf("unreadable form: %d %s", w.Code, w.Body.String())
	}
}

// wantPageHeaders checks the headers of a sign-in page: HTML, never
// cached, framed or given a referrer, and no script.
func wantPageHeaders(t *testing.T, what string, w *recorder) {
	t.Helper()
	h := w.Header()
	if h.Get("Content-Type") != "text/html; charset=utf-8" || h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
		h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || strings.Contains(h.Get("Content-Security-Policy"), "script-src") {
		t.Errorf("%s: headers %v", what, h)
	}
}

// pkce returns a code verifier and its S256 challenge.
func pkce(seed string) (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%-43s", seed)))
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

// TestEntraAuthorizationCodePKCE: interactive `az login`: the
// authorization endpoint shows the sign-in page, validates the request
// (loopback redirect URIs, PKCE required), and after a sign-in redirects
// with the code and state (query), posts them (form_post) or shows the
// code (native client); the code is redeemed once, by the same client and
// redirect URI, with the verifier, within ten minutes.
func TestEntraAuthorizationCodePKCE(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	u := e.newUser("ivan@arca.local")
	authPath := "/" + e.tenant + "/oauth2/v2.0/authorize"
	verifier, challenge := pkce("first")
	params := func(kv ...string) url.Values {
		q := url.Values{"client_id": {azCLI}, "response_type": {"code"}, "redirect_uri": {"http://localhost:51234/"},
			"scope": {managementScope}, "state": {"st8"}, "nonce": {"n0nce"}, "code_challenge": {challenge},
			"code_challenge_method": {"S256"}, "prompt": {"select_account"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				q.Del(kv[i])
			} else {
				q.Set(kv[i], kv[i+1])
			}
		}
		return q
	}
	signInAt := func(path string, q url.Values, user string) *recorder {
		f := url.Values{"username": {user}, "password": {password}}
		for k, v := range q {
			f[k] = v
		}
		return e.post(path, f)
	}
	signIn := func(q url.Values, user string) *recorder { return signInAt(authPath, q, user) }
	redeem := func(code, verifier, redirect string) *recorder {
		return e.post(e.v2Token(), url.Values{"grant_type": {"authorization_code"}, "client_id": {azCLI}, "code": {code},
			"redirect_uri": {redirect}, "code_verifier": {verifier}})
	}

	// The page carries the request through as hidden fields.
	w := e.get(authPath + "?" + params().Encode())
	body := w.Body.String()
	if w.Code != 200 || !strings.Contains(body, `action="`+authPath+`"`) || !strings.Contains(body, `name="state" value="st8"`) ||
		!strings.Contains(body, `name="code_challenge" value="`+challenge+`"`) || !strings.Contains(body, azCLI) {
		t.Fatalf("authorize page: %d %s", w.Code, body)
	}
	wantPageHeaders(t, "authorize page", w)

	// Requests refused before any sign-in, on the page.
	for name, c := range map[string]struct {
		path string
		q    url.Values
		want string
	}{
		"no client_id":        {authPath, params("client_id", ""), "AADSTS900144"},
		"implicit flow":       {authPath, params("response_type", "token"), "AADSTS70000"},
		"remote redirect":     {authPath, params("redirect_uri", "https://evil.example/cb"), "AADSTS50011"},
		"redirect with user":  {authPath, params("redirect_uri", "http://user@localhost:1/"), "AADSTS50011"},
		"no PKCE":             {authPath, params("code_challenge", ""), "AADSTS9002325"},
		"unknown PKCE method": {authPath, params("code_challenge_method", "S512"), "AADSTS50000"},
		"unknown tenant":      {"/nosuchtenant/oauth2/v2.0/authorize", params(), "AADSTS90002"},
	} {
		w := e.get(c.path + "?" + c.q.Encode())
		if w.Code != 400 || !strings.Contains(w.Body.String(), `id="error"`) || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s: %d %s", name, w.Code, w.Body.String())
		}
		// Nor can anyone sign in with it.
		if w := signInAt(c.path, c.q, u.UPN); w.Code != 400 || !strings.Contains(w.Body.String(), c.want) {
			t.Errorf("%s, signing in: %d %s", name, w.Code, w.Body.String())
		}
	}

	// Wrong credentials: the page again, with the request kept.
	w = signIn(params(), "nobody@arca.local")
	if w.Code != 400 || !strings.Contains(w.Body.String(), `id="error"`) || !strings.Contains(w.Body.String(), `name="state" value="st8"`) {
		t.Errorf("unknown user: %d %s", w.Code, w.Body.String())
	}

	// Query mode: 302 to the loopback listener with code and state.
	w = signIn(params("redirect_uri", "http://127.0.0.1:51234/cb?keep=1"), u.UPN)
	if w.Code != 302 || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("sign-in: %d %v %s", w.Code, w.Header(), w.Body.String())
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil || loc.Scheme != "http" || loc.Host != "127.0.0.1:51234" || loc.Path != "/cb" || loc.Query().Get("keep") != "1" ||
		loc.Query().Get("state") != "st8" || loc.Query().Get("code") == "" {
		t.Fatalf("Location: %q", w.Header().Get("Location"))
	}
	code := loc.Query().Get("code")
	got := wantOK(t, "redeem", redeem(code, verifier, "http://127.0.0.1:51234/cb?keep=1"))
	if got["scope"] != "https://management.localhost:8443/user_impersonation" || wantInt(t, got, "expires_in") != 3599 || got["refresh_token"] == nil {
		t.Errorf("redeem: %v", got)
	}
	if id := claims(t, got["id_token"].(string)); id["nonce"] != "n0nce" || id["oid"] != u.ObjectID || id["aud"] != azCLI {
		t.Errorf("id token: %v", id)
	}
	if c := claims(t, got["access_token"].(string)); c["upn"] != u.UPN || c["aud"] != "https://management.localhost:8443" {
		t.Errorf("access token: %v", c)
	}
	wantOAuthError(t, "redeemed twice", redeem(code, verifier, "http://127.0.0.1:51234/cb?keep=1"), 400, "invalid_grant", 70008)

	// form_post (MSAL's loopback listener): a self-posting form, its
	// script allowed by a nonce only. A wrong verifier uses the code up.
	w = signIn(params("response_mode", "form_post"), u.UPN)
	body = w.Body.String()
	csp := w.Header().Get("Content-Security-Policy")
	m := regexp.MustCompile(`<script nonce="([0-9a-f]{32})">`).FindStringSubmatch(body)
	if w.Code != 200 || m == nil || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") || !strings.Contains(body, `action="http://localhost:51234/"`) ||
		!strings.Contains(body, `name="state" value="st8"`) {
		t.Fatalf("form_post: %d %q %s", w.Code, csp, body)
	}
	cm := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(body)
	if cm == nil {
		t.Fatalf("form_post without a code: %s", body)
	}
	wrong, _ := pkce("other")
	wantOAuthError(t, "wrong verifier", redeem(cm[1], wrong, "http://localhost:51234/"), 400, "invalid_grant", 501481)
	wantOAuthError(t, "after a failed redemption", redeem(cm[1], verifier, "http://localhost:51234/"), 400, "invalid_grant", 70008)

	// The native client page shows the code; the plain method compares
	// the verifier itself; the redirect URI must be the one signed in with.
	native := "https://login.microsoftonline.com/common/oauth2/nativeclient"
	w = signIn(params("redirect_uri", native, "code_challenge", "plain-verifier-0123456789-0123456789-0123456789", "code_challenge_method", "plain"), u.UPN)
	nm := regexp.MustCompile(`Your code: ([A-Za-z0-9_-]+)`).FindStringSubmatch(w.Body.String())
	if w.Code != 200 || nm == nil || !strings.Contains(w.Body.String(), `id="done"`) {
		t.Fatalf("native client: %d %s", w.Code, w.Body.String())
	}
	wantOAuthError(t, "other redirect", redeem(nm[1], "plain-verifier-0123456789-0123456789-0123456789", "http://localhost:51234/"), 400, "invalid_grant", 50148)

	// A code not redeemed within ten minutes lapses.
	w = signIn(params(), u.UPN)
	loc, _ = url.Parse(w.Header().Get("Location"))
	e.clock.Advance(10*time.Minute + time.Second)
	wantOAuthError(t, "lapsed", redeem(loc.Query().Get("code"), verifier, "http://localhost:51234/"), 400, "invalid_grant", 70008)

	if w := e.serve(req("PUT", authPath, "")); w.Code != 405 {
		t.Errorf("PUT authorize: %d", w.Code)
	}
	wantOAuthError(t, "unreadable form", e.serve(req("POST", authPath, "%zz")), 400, "invalid_request", 900144)
}

// TestEntraClientSecretThrottle: ten wrong secrets for one client, then
// 429 AADSTS90055 with Retry-After until the budget refills (one attempt
// per six seconds); the right secret is never locked out, and other
// clients are not affected.
func TestEntraClientSecretThrottle(t *testing.T) {
	e := newEntraEnv(t)
	form := func(client, secret string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {secret}, "scope": {vaultAudience + "/.default"}}
	}
	for i := 0; i < 10; i++ {
		wantOAuthError(t, fmt.Sprint("failure ", i+1), e.post(e.v2Token(), form(e.app.AppID, "wrong")), 401, "invalid_client", 7000215)
	}
	wantThrottled(t, "11th failure", e.post(e.v2Token(), form(e.app.AppID, "wrong")), "6")
	wantOK(t, "right secret while throttled", e.post(e.v2Token(), form(e.app.AppID, e.secret)))
	other, otherSecret, err := e.dir.CreateServicePrincipal(context.Background(), "other", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, "another client", e.post(e.v2Token(), form(other.AppID, otherSecret+"x")), 401, "invalid_client", 7000215)

	e.clock.Advance(6 * time.Second)
	wantOAuthError(t, "after six seconds", e.post(e.v2Token(), form(e.app.AppID, "wrong")), 401, "invalid_client", 7000215)
	wantThrottled(t, "and then", e.post(e.v2Token(), form(e.app.AppID, "wrong")), "6")
	// The v1 and adfs endpoints share the budget.
	wantThrottled(t, "adfs", e.post("/adfs/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID},
		"client_secret": {"wrong"}, "resource": {vaultAudience}}), "6")
}

// wantThrottled checks Entra's 429: temporarily_unavailable AADSTS90055
// with Retry-After (in seconds, also in the description).
func wantThrottled(t *testing.T, what string, w *recorder, retryAfter string) {
	t.Helper()
	got := wantOAuthError(t, what, w, 429, "temporarily_unavailable", 90055)
	if w.Header().Get("Retry-After") != retryAfter {
		t.Errorf("%s: Retry-After %q, want %s", what, w.Header().Get("Retry-After"), retryAfter)
	}
	if got != nil && !strings.Contains(got["error_description"].(string), "Retry after "+retryAfter+" seconds") {
		t.Errorf("%s: %v", what, got)
	}
}

// TestEntraSignInThrottle: failed sign-ins of people are limited per user
// name from one address (then AADSTS50053, the account is locked, with
// Retry-After) and per address (then 429 on every sign-in route: the
// password grant, the device-code page and the authorization page); an
// IPv6 address counts by its /64.
func TestEntraSignInThrottle(t *testing.T) {
	e := newEntraEnv(t)
	password := func(remote, user string) *recorder {
		r := req("POST", e.v2Token(), url.Values{"grant_type": {"password"}, "client_id": {azCLI}, "username": {user},
			"password": {"guess"}, "scope": {managementScope}}.Encode())
		r.RemoteAddr = remote
		return e.serve(r)
	}

	// One user name from one address: ten failures, then locked.
	for i := 0; i < 10; i++ {
		wantOAuthError(t, fmt.Sprint("failure ", i+1), password("192.0.2.10:1", "ghost@arca.local"), 400, "invalid_grant", 50126)
	}
	w := password("192.0.2.10:2", "GHOST@arca.local")
	wantOAuthError(t, "locked", w, 400, "invalid_grant", 50053)
	if w.Header().Get("Retry-After") != "6" {
		t.Errorf("locked: Retry-After %q", w.Header().Get("Retry-After"))
	}
	// The same name from another address is still checked.
	wantOAuthError(t, "other address", password("192.0.2.11:1", "ghost@arca.local"), 400, "invalid_grant", 50126)

	// One address: thirty failures over any names, then 429 everywhere.
	for i := 0; i < 30; i++ {
		wantOAuthError(t, fmt.Sprint("address failure ", i+1), password("198.51.100.7:1", fmt.Sprintf("user%d@arca.local", i)), 400, "invalid_grant", 50126)
	}
	wantThrottled(t, "address", password("198.51.100.7:9", "someone-else@arca.local"), "2")
	r := req("POST", "/devicelogin", url.Values{"user_code": {"BCDFGHJK"}, "username": {"x@arca.local"}, "password": {"guess"}}.Encode())
	r.RemoteAddr = "198.51.100.7:10"
	if w := e.serve(r); w.Code != 429 || !strings.Contains(w.Body.String(), "Too many failed sign-in attempts") {
		t.Errorf("device login page: %d %s", w.Code, w.Body.String())
	}
	_, challenge := pkce("x")
	r = req("POST", "/"+e.tenant+"/oauth2/v2.0/authorize", url.Values{"client_id": {azCLI}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:1/"}, "code_challenge": {challenge}, "username": {"x@arca.local"}, "password": {"guess"}}.Encode())
	r.RemoteAddr = "198.51.100.7:11"
	if w := e.serve(r); w.Code != 429 || !strings.Contains(w.Body.String(), "Too many failed sign-in attempts") || !strings.Contains(w.Body.String(), "<form") {
		t.Errorf("authorize page: %d %s", w.Code, w.Body.String())
	}
	// Two seconds later the address has one more attempt.
	e.clock.Advance(2 * time.Second)
	wantOAuthError(t, "refilled", password("198.51.100.7:12", "late@arca.local"), 400, "invalid_grant", 50126)
	wantThrottled(t, "spent again", password("198.51.100.7:13", "later@arca.local"), "2")

	// IPv6: the /64 is one address.
	for i := 0; i < 30; i++ {
		wantOAuthError(t, fmt.Sprint("v6 failure ", i+1), password(fmt.Sprintf("[2001:db8::%x]:1", i+1), fmt.Sprintf("v6-%d@arca.local", i)), 400, "invalid_grant", 50126)
	}
	wantThrottled(t, "same /64", password("[2001:db8::ffff]:1", "v6@arca.local"), "2")
	wantOAuthError(t, "other /64", password("[2001:db8:0:1::1]:1", "v6@arca.local"), 400, "invalid_grant", 50126)
}
