package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func (f *fixture) form(path string, form url.Values) (*http.Response, string) {
	f.t.Helper()
	return f.do("POST", f.authority()+path, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func TestDeviceCodeFlow(t *testing.T) {
	f := startArca(t)
	u, err := f.r.App.Directory.CreateUser(context.Background(), "bob@arca.local", "device-pass-1", "")
	if err != nil {
		t.Fatal(err)
	}
	azCLI := "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	scope := "https://management.localhost:" + f.port() + "//.default offline_access openid profile"
	// the OIDC document advertises the endpoint MSAL uses
	_, doc := f.do("GET", f.authority()+"/adfs/.well-known/openid-configuration", "", "")
	if !strings.Contains(doc, `"device_authorization_endpoint":"`+f.authority()+`/adfs/oauth2/devicecode"`) {
		t.Fatalf("oidc: %s", doc)
	}
	resp, body := f.form("/adfs/oauth2/devicecode", url.Values{"client_id": {azCLI}, "scope": {scope}})
	var dc struct {
		DeviceCode      string `json:"device_code"`
		UserCode        string `json:"user_code"`
		VerificationURI string `json:"verification_uri"`
		Interval        int    `json:"interval"`
		Message         string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &dc); resp.StatusCode != 200 || err != nil || dc.DeviceCode == "" || len(dc.UserCode) != 8 ||
		dc.VerificationURI != f.authority()+"/devicelogin" || !strings.Contains(dc.Message, dc.UserCode) {
		t.Fatalf("devicecode: %d %s", resp.StatusCode, body)
	}
	poll := func() (int, map[string]any) {
		resp, body := f.form("/adfs/oauth2/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {azCLI}, "device_code": {dc.DeviceCode}})
		out := map[string]any{}
		_ = json.Unmarshal([]byte(body), &out)
		return resp.StatusCode, out
	}
	if st, out := poll(); st != 400 || out["error"] != "authorization_pending" {
		t.Fatalf("pending: %d %v", st, out)
	}
	// the sign-in page
	resp, page := f.do("GET", dc.VerificationURI, "", "")
	if resp.StatusCode != 200 || !strings.Contains(page, `name="user_code"`) || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("page: %d %s", resp.StatusCode, page)
	}
	resp, page = f.form("/devicelogin", url.Values{"user_code": {dc.UserCode}, "username": {"bob@arca.local"}, "password": {"wrong-pass"}})
	if resp.StatusCode != 400 || !strings.Contains(page, `id="error"`) {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, page)
	}
	if st, _ := poll(); st != 400 {
		t.Fatal("approved by a wrong password")
	}
	code := strings.ToLower(dc.UserCode[:4]) + "-" + dc.UserCode[4:] // case and separators do not matter
	resp, page = f.form("/devicelogin", url.Values{"user_code": {code}, "username": {"bob@arca.local"}, "password": {"device-pass-1"}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="done"`) {
		t.Fatalf("approve: %d %s", resp.StatusCode, page)
	}
	st, tok := poll()
	if st != 200 || tok["refresh_token"] == nil || tok["id_token"] == nil {
		t.Fatalf("token: %d %v", st, tok)
	}
	if c := decodeClaims(t, tok["access_token"].(string)); c["oid"] != u.ObjectID || c["aud"] != "https://management.localhost:"+f.port()+"/" {
		t.Fatalf("claims: %v", c)
	}
	if st, out := poll(); st != 400 || out["error"] != "expired_token" {
		t.Fatalf("device code reuse: %d %v", st, out)
	}
}

func TestAuthCodePKCE(t *testing.T) {
	f := startArca(t)
	u, err := f.r.App.Directory.CreateUser(context.Background(), "carol@arca.local", "pkce-pass-1", "")
	if err != nil {
		t.Fatal(err)
	}
	tenant := f.r.App.Facts.TenantID
	verifier := "a-long-random-verifier-0123456789-abcdefghijklmnopqrstuvwxyz"
	sum := sha256.Sum256([]byte(verifier))
	params := url.Values{"client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "response_type": {"code"},
		"redirect_uri": {"http://localhost:45123"}, "scope": {"https://management.localhost:" + f.port() + "//.default offline_access openid profile"},
		"state": {"st-1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	authz := "/" + tenant + "/oauth2/v2.0/authorize"
	// non-loopback redirect URIs and missing PKCE are refused
	bad := url.Values{}
	for k, v := range params {
		bad[k] = v
	}
	bad.Set("redirect_uri", "https://evil.example/cb")
	if resp, _ := f.do("GET", f.authority()+authz+"?"+bad.Encode(), "", ""); resp.StatusCode != 400 {
		t.Fatalf("evil redirect: %d", resp.StatusCode)
	}
	bad.Set("redirect_uri", "http://localhost:45123")
	bad.Del("code_challenge")
	if resp, _ := f.do("GET", f.authority()+authz+"?"+bad.Encode(), "", ""); resp.StatusCode != 400 {
		t.Fatalf("no PKCE: %d", resp.StatusCode)
	}
	resp, page := f.do("GET", f.authority()+authz+"?"+params.Encode(), "", "")
	if resp.StatusCode != 200 || !strings.Contains(page, `name="code_challenge"`) || !strings.Contains(page, `type="password"`) {
		t.Fatalf("page: %d %s", resp.StatusCode, page)
	}
	post := url.Values{"username": {"carol@arca.local"}, "password": {"pkce-pass-1"}}
	for k, v := range params {
		post[k] = v
	}
	noRedirect := *f.http
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest("POST", f.authority()+authz, strings.NewReader(post.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r2, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	loc, _ := url.Parse(r2.Header.Get("Location"))
	if r2.StatusCode != 302 || loc == nil || loc.Host != "localhost:45123" || loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("redirect: %d %v", r2.StatusCode, r2.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	redeem := func(verifier string) (int, map[string]any) {
		resp, body := f.form("/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"authorization_code"}, "client_id": params["client_id"],
			"code": {code}, "redirect_uri": params["redirect_uri"], "code_verifier": {verifier}, "client_info": {"1"}})
		out := map[string]any{}
		_ = json.Unmarshal([]byte(body), &out)
		return resp.StatusCode, out
	}
	st, tok := redeem(verifier)
	if st != 200 || tok["id_token"] == nil || tok["client_info"] == nil {
		t.Fatalf("redeem: %d %v", st, tok)
	}
	if c := decodeClaims(t, tok["access_token"].(string)); c["oid"] != u.ObjectID || c["ver"] != "2.0" {
		t.Fatalf("claims: %v", c)
	}
	ci, _ := base64.RawURLEncoding.DecodeString(tok["client_info"].(string))
	if !strings.Contains(string(ci), `"uid":"`+u.ObjectID+`"`) || !strings.Contains(string(ci), `"utid":"`+tenant+`"`) {
		t.Fatalf("client_info: %s", ci)
	}
	if st, _ := redeem(verifier); st != 400 {
		t.Fatal("a code was redeemed twice")
	}
	// a wrong verifier burns the code
	r3, _ := noRedirect.Do(func() *http.Request {
		req, _ := http.NewRequest("POST", f.authority()+authz, strings.NewReader(post.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}())
	r3.Body.Close()
	l3, _ := url.Parse(r3.Header.Get("Location"))
	code = l3.Query().Get("code")
	if st, out := redeem("not-the-verifier"); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("wrong verifier: %d %v", st, out)
	}
	// response_mode=form_post (MSAL's loopback listener): an auto-posting form; the nonce reaches the id_token
	post.Set("response_mode", "form_post")
	post.Set("nonce", "n-0123")
	resp, page = f.form(authz, post)
	m := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(page)
	if resp.StatusCode != 200 || !strings.Contains(page, `action="http://localhost:45123"`) || !strings.Contains(page, `name="state" value="st-1"`) || m == nil {
		t.Fatalf("form_post: %d %s", resp.StatusCode, page)
	}
	code = m[1]
	st, tok = redeem(verifier)
	if st != 200 || decodeClaims(t, tok["id_token"].(string))["nonce"] != "n-0123" {
		t.Fatalf("form_post redeem: %d %v", st, tok)
	}
}
