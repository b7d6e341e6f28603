package entra_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestEntraOpenIDConfiguration: the discovery documents MSAL and the
// Azure SDKs validate, for the tenant GUID (v1 and v2.0), "organizations"
// and the "adfs" authority; every URL, the issuer included, is built from
// the Host the client used. The issuer is the iss of the tokens issued
// through that host.
func TestEntraOpenIDConfiguration(t *testing.T) {
	e := newEntraEnv(t)
	tid := e.tenant
	for _, host := range []string{"localhost:8443", "127.0.0.1:9443", "[::1]:8443"} {
		o := "https://" + host
		for _, c := range []struct {
			path, issuer, token, authorize, device, jwks string
		}{
			{"/" + tid + "/v2.0/.well-known/openid-configuration", o + "/" + tid + "/v2.0", o + "/" + tid + "/oauth2/v2.0/token",
				o + "/" + tid + "/oauth2/v2.0/authorize", o + "/" + tid + "/oauth2/v2.0/devicecode", o + "/" + tid + "/discovery/v2.0/keys"},
			{"/" + strings.ToUpper(tid) + "/v2.0/.well-known/openid-configuration", o + "/" + tid + "/v2.0", o + "/" + tid + "/oauth2/v2.0/token",
				o + "/" + tid + "/oauth2/v2.0/authorize", o + "/" + tid + "/oauth2/v2.0/devicecode", o + "/" + tid + "/discovery/v2.0/keys"},
			{"/organizations/v2.0/.well-known/openid-configuration", o + "/" + tid + "/v2.0", o + "/" + tid + "/oauth2/v2.0/token",
				o + "/" + tid + "/oauth2/v2.0/authorize", o + "/" + tid + "/oauth2/v2.0/devicecode", o + "/" + tid + "/discovery/v2.0/keys"},
			{"/" + tid + "/.well-known/openid-configuration", o + "/" + tid + "/", o + "/" + tid + "/oauth2/token",
				o + "/" + tid + "/oauth2/authorize", o + "/" + tid + "/oauth2/devicecode", o + "/" + tid + "/discovery/keys"},
			{"/adfs/.well-known/openid-configuration", o + "/adfs", o + "/adfs/oauth2/token",
				o + "/adfs/oauth2/authorize", o + "/adfs/oauth2/devicecode", o + "/adfs/discovery/keys"},
		} {
			r := req("GET", c.path, "")
			r.Host = host
			w := e.serve(r)
			doc := wantOK(t, host+c.path, w)
			for k, v := range map[string]string{"issuer": c.issuer, "token_endpoint": c.token, "authorization_endpoint": c.authorize,
				"device_authorization_endpoint": c.device, "jwks_uri": c.jwks} {
				if doc[k] != v {
					t.Errorf("%s%s: %s = %v, want %s", host, c.path, k, doc[k], v)
				}
			}
			if w.Header().Get("Cache-Control") != "max-age=86400, private" {
				t.Errorf("%s%s: Cache-Control %q", host, c.path, w.Header().Get("Cache-Control"))
			}
		}
	}
	doc := wantOK(t, "v2", e.get("/"+tid+"/v2.0/.well-known/openid-configuration"))
	for k, want := range map[string]string{
		"grant_types_supported":                 "urn:ietf:params:oauth:grant-type:device_code",
		"code_challenge_methods_supported":      "S256",
		"token_endpoint_auth_methods_supported": "private_key_jwt",
		"id_token_signing_alg_values_supported": "RS256",
		"response_modes_supported":              "form_post",
	} {
		if !containsJSON(doc[k], want) {
			t.Errorf("%s: %v lacks %s", k, doc[k], want)
		}
	}

	// The issuer is the iss of the tokens issued through the same host.
	for _, c := range []struct{ disco, token, scope string }{
		{"/" + tid + "/v2.0/.well-known/openid-configuration", e.v2Token(), "scope"},
		{"/" + tid + "/.well-known/openid-configuration", "/" + tid + "/oauth2/token", "resource"},
	} {
		issuer := wantOK(t, c.disco, e.get(c.disco))["issuer"]
		res := vaultAudience
		if c.scope == "scope" {
			res += "/.default"
		}
		tok := wantOK(t, c.token, e.post(c.token, url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID},
			"client_secret": {e.secret}, c.scope: {res}}))
		if iss := claims(t, tok["access_token"].(string))["iss"]; iss != issuer {
			t.Errorf("%s: token iss %v, discovery issuer %v", c.token, iss, issuer)
		}
	}

	wantOAuthError(t, "unknown tenant", e.get("/00000000-0000-0000-0000-000000000000/v2.0/.well-known/openid-configuration"), 400, "invalid_request", 90002)
	// "common" (MSAL's default authority, and what instance discovery names)
	// has the tenant's document, as "organizations" has.
	if got := wantOK(t, "common", e.get("/common/v2.0/.well-known/openid-configuration")); got["issuer"] != "https://localhost:8443/"+tid+"/v2.0" {
		t.Errorf("common's issuer %v", got["issuer"])
	}
	wantOAuthError(t, "POST", e.post("/"+tid+"/v2.0/.well-known/openid-configuration", url.Values{}), 404, "not_found", 900561)
}

// containsJSON reports whether v is a JSON array holding s.
func containsJSON(v any, s string) bool {
	list, _ := v.([]any)
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestEntraJWKS: the signing keys, public only, at the discovery paths of
// every authority; the tokens verify with the published key of their kid,
// also across a key rotation.
func TestEntraJWKS(t *testing.T) {
	e := newEntraEnv(t)
	keys := func(path string) jose.JSONWebKeySet {
		t.Helper()
		w := e.get(path)
		if w.Code != 200 || w.Header().Get("Cache-Control") != "max-age=86400, private" {
			t.Fatalf("%s: %d %q %s", path, w.Code, w.Header().Get("Cache-Control"), w.Body.String())
		}
		var raw struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || len(raw.Keys) == 0 {
			t.Fatalf("%s: %v %s", path, err, w.Body.String())
		}
		for _, k := range raw.Keys {
			if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] == "" || k["n"] == nil || k["e"] == nil {
				t.Errorf("%s: key %v", path, k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Fatalf("%s: private member %s published", path, private)
				}
			}
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
			t.Fatal(err)
		}
		return set
	}
	verify := func(set jose.JSONWebKeySet, raw string) {
		t.Helper()
		tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		ks := set.Key(tok.Headers[0].KeyID)
		if len(ks) != 1 {
			t.Fatalf("kid %s: %d published keys", tok.Headers[0].KeyID, len(ks))
		}
		var c jwt.Claims
		if err := tok.Claims(ks[0].Key, &c); err != nil {
			t.Fatalf("signature: %v", err)
		}
	}
	token := func() string {
		t.Helper()
		return wantOK(t, "token", e.post(e.v2Token(), url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID},
			"client_secret": {e.secret}, "scope": {vaultAudience + "/.default"}}))["access_token"].(string)
	}

	first := token()
	for _, p := range []string{"/" + e.tenant + "/discovery/v2.0/keys", "/" + e.tenant + "/discovery/keys", "/adfs/discovery/keys", "/organizations/discovery/v2.0/keys"} {
		set := keys(p)
		if len(set.Keys) != 1 {
			t.Errorf("%s: %d keys", p, len(set.Keys))
		}
		verify(set, first)
	}
	if err := e.svc.Tokens.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	set := keys("/" + e.tenant + "/discovery/v2.0/keys")
	if len(set.Keys) != 2 {
		t.Fatalf("after rotation: %d keys", len(set.Keys))
	}
	second := token()
	verify(set, first)
	verify(set, second)
	if kidOf(t, first) == kidOf(t, second) {
		t.Errorf("a token issued after the rotation uses the old key %s", kidOf(t, second))
	}
	wantOAuthError(t, "unknown tenant", e.get("/nosuchtenant/discovery/v2.0/keys"), 400, "invalid_request", 90002)
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// TestEntraClientCredentials: the client-credentials grant with a client
// secret on the v2.0 (scope), v1 (resource) and adfs endpoints, in the
// body or as HTTP Basic: Entra's token response (token_type, expires_in
// and ext_expires_in as integers; the v1 forms also expires_on, not_before
// and resource, as strings), not cacheable, with a token Arca accepts.
func TestEntraClientCredentials(t *testing.T) {
	e := newEntraEnv(t)
	now := e.clock.Now().Unix()
	base := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID}, "client_secret": {e.secret}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for k, vs := range base {
			f[k] = vs
		}
		f.Set(k, v)
		return f
	}

	// v2.0: scope=<resource>/.default, next to OIDC scopes.
	w := e.post(e.v2Token(), with("scope", vaultAudience+"/.default openid profile offline_access"))
	got := wantOK(t, "v2", w)
	if got["token_type"] != "Bearer" || wantInt(t, got, "expires_in") != 3599 || wantInt(t, got, "ext_expires_in") != 3599 {
		t.Errorf("v2: %v", got)
	}
	for _, k := range []string{"expires_on", "not_before", "resource", "refresh_token", "id_token"} {
		if _, ok := got[k]; ok {
			t.Errorf("v2 answer has %s: %v", k, got)
		}
	}
	if w.Header().Get("Cache-Control") != "no-store, no-cache" || w.Header().Get("Pragma") != "no-cache" {
		t.Errorf("v2 headers: %v", w.Header())
	}
	c := claims(t, got["access_token"].(string))
	if c["aud"] != vaultAudience || c["iss"] != "https://localhost:8443/"+e.tenant+"/v2.0" || c["tid"] != e.tenant ||
		c["oid"] != e.app.ObjectID || c["azp"] != e.app.AppID || c["ver"] != "2.0" || c["idtyp"] != "app" {
		t.Errorf("v2 claims: %v", c)
	}
	p, err := e.svc.Tokens.Verify(got["access_token"].(string), e.tenant, audOK, vaultAudience)
	if err != nil || p.ObjectID != e.app.ObjectID || p.AppID != e.app.AppID {
		t.Errorf("verify v2: %+v %v", p, err)
	}

	// v1 and adfs: resource=, and the v1 extras as strings.
	for _, path := range []string{"/" + e.tenant + "/oauth2/token", "/adfs/oauth2/token", "/organizations/oauth2/token"} {
		got := wantOK(t, path, e.post(path, with("resource", vaultAudience)))
		if got["token_type"] != "Bearer" || wantInt(t, got, "expires_in") != 3599 || got["resource"] != vaultAudience ||
			got["expires_on"] != jsonInt(int(now)+3600) || got["not_before"] != jsonInt(int(now)) {
			t.Errorf("%s: %v", path, got)
		}
		c := claims(t, got["access_token"].(string))
		if c["iss"] != "https://localhost:8443/"+e.tenant+"/" || c["appid"] != e.app.AppID || c["appidacr"] != "1" || c["ver"] != "1.0" {
			t.Errorf("%s claims: %v", path, c)
		}
	}
	// The v2.0 endpoint takes resource= too when there is no scope.
	if got := wantOK(t, "v2 with resource", e.post(e.v2Token(), with("resource", "https://management.azure.com/"))); claims(t, got["access_token"].(string))["aud"] != "https://management.azure.com/" {
		t.Errorf("v2 with resource: %v", got)
	}

	// client_secret_basic (the secret URL-encoded, as RFC 6749 says).
	r := req("POST", e.v2Token(), url.Values{"grant_type": {"client_credentials"}, "scope": {vaultAudience + "/.default"}}.Encode())
	r.SetBasicAuth(url.QueryEscape(e.app.AppID), url.QueryEscape(e.secret))
	if got := wantOK(t, "Basic", e.serve(r)); claims(t, got["access_token"].(string))["azp"] != e.app.AppID {
		t.Errorf("Basic: %v", got)
	}
	// A secret in the body wins over Basic.
	r = req("POST", e.v2Token(), with("scope", vaultAudience+"/.default").Encode())
	r.SetBasicAuth(e.app.AppID, "wrong")
	wantOK(t, "body over Basic", e.serve(r))
}

// TestEntraTokenErrors: Entra's error answers of the token endpoint, each
// with its AADSTS code.
func TestEntraTokenErrors(t *testing.T) {
	e := newEntraEnv(t)
	scope := vaultAudience + "/.default"
	form := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	cc := func(kv ...string) url.Values {
		return form(append([]string{"grant_type", "client_credentials", "client_id", e.app.AppID, "client_secret", e.secret, "scope", scope}, kv...)...)
	}
	v2 := e.v2Token()
	for _, c := range []struct {
		name   string
		path   string
		form   url.Values
		status int
		code   string
		aadsts int
	}{
		{"wrong secret", v2, cc("client_secret", "wrong"), 401, "invalid_client", 7000215},
		{"no secret", v2, cc("client_secret", ""), 401, "invalid_client", 7000218},
		{"unknown client", v2, cc("client_id", "00000000-0000-0000-0000-000000000000"), 400, "unauthorized_client", 700016},
		{"managed identity as a client", v2, cc("client_id", e.mi.AppID), 400, "unauthorized_client", 700016},
		{"no client", v2, cc("client_id", ""), 400, "invalid_request", 900144},
		{"no grant_type", v2, cc("grant_type", ""), 400, "invalid_request", 900144},
		{"unsupported grant", v2, cc("grant_type", "urn:ietf:params:oauth:grant-type:saml1_1-bearer"), 400, "unsupported_grant_type", 70003},
		{"scope without /.default", v2, cc("scope", vaultAudience), 400, "invalid_scope", 1002012},
		{"two resources", v2, cc("scope", scope+" https://graph.microsoft.com/.default"), 400, "invalid_scope", 1002012},
		{"no scope", v2, cc("scope", ""), 400, "invalid_request", 900144},
		{"OIDC scopes only", v2, cc("scope", "openid offline_access"), 400, "invalid_request", 900144},
		{"unknown resource", v2, cc("scope", "https://evil.example/.default"), 400, "invalid_resource", 500011},
		{"unknown tenant", "/nosuchtenant/oauth2/v2.0/token", cc(), 400, "invalid_request", 90002},
		{"common", "/common/oauth2/v2.0/token", cc(), 400, "invalid_request", 90002},
		{"password without credentials", v2, form("grant_type", "password", "client_id", azCLI, "scope", scope), 400, "invalid_request", 900144},
		{"password without client", v2, form("grant_type", "password", "username", "a@b", "password", "x", "scope", scope), 400, "invalid_request", 900144},
		{"unknown refresh token", v2, form("grant_type", "refresh_token", "refresh_token", "0.Anope", "client_id", azCLI, "scope", scope), 400, "invalid_grant", 70008},
		{"empty refresh token", v2, form("grant_type", "refresh_token", "client_id", azCLI, "scope", scope), 400, "invalid_grant", 70008},
		{"unknown device code", v2, form("grant_type", "urn:ietf:params:oauth:grant-type:device_code", "device_code", "nope", "client_id", azCLI), 400, "expired_token", 70020},
		{"unknown authorization code", v2, form("grant_type", "authorization_code", "code", "nope", "client_id", azCLI, "redirect_uri", "http://localhost:1234", "code_verifier", "v"), 400, "invalid_grant", 70008},
	} {
		wantOAuthError(t, c.name, e.post(c.path, c.form), c.status, c.code, c.aadsts)
	}

	wantOAuthError(t, "GET", e.get(v2), 405, "invalid_request", 900561)
	wantOAuthError(t, "not a form", e.serve(req("POST", v2, "a=%zz")), 400, "invalid_request", 900144)
	wantOAuthError(t, "too large", e.serve(req("POST", v2, "a="+strings.Repeat("x", 64<<10))), 400, "invalid_request", 900144)
}

// TestEntraRouting: home realm discovery says every account is managed;
// any path the token service does not serve is Entra's 404.
func TestEntraRouting(t *testing.T) {
	e := newEntraEnv(t)
	got := wantOK(t, "userrealm", e.get("/common/userrealm/alice@arca.local?api-version=1.0"))
	if got["account_type"] != "Managed" || got["ver"] != "1.0" || got["cloud_instance_name"] != "arca.local" {
		t.Errorf("userrealm: %v", got)
	}
	for _, p := range []string{"/", "/nothing", "/" + e.tenant + "/oauth2/v2.0/logout", "/" + e.tenant + "/saml2", "/common/userrealm"} {
		got := wantOAuthError(t, p, e.get(p), 404, "not_found", 900561)
		if got != nil && !strings.Contains(got["error_description"].(string), p) {
			t.Errorf("%s: %v", p, got)
		}
	}
}

// TestEntraClientAssertion: the client-credentials grant with an RFC 7523
// assertion signed by a certificate registered on the principal (matched
// by x5t or x5t#S256), audience the endpoint the client called, within its
// lifetime; each refusal with its AADSTS code.
func TestEntraClientAssertion(t *testing.T) {
	e := newEntraEnv(t)
	ctx := context.Background()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, ecDER := selfSigned(t, rsaKey), selfSigned(t, ecKey)
	sp, _, err := e.dir.CreateServicePrincipal(ctx, "cert-app", false, [][]byte{rsaDER, ecDER})
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "https://localhost:8443" + e.v2Token()
	now := e.clock.Now()
	good := map[string]any{"aud": endpoint, "iss": sp.AppID, "sub": sp.AppID, "jti": "1", "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	with := func(k string, v any) claimSet {
		out := claimSet{}
		for k, v := range good {
			out[k] = v
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	form := func(assertion string, kv ...string) url.Values {
		f := url.Values{"grant_type": {"client_credentials"}, "client_id": {sp.AppID}, "scope": {vaultAudience + "/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {assertion}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	x5t := func(der []byte) string { s := sha1.Sum(der); return base64.RawURLEncoding.EncodeToString(s[:]) }
	x5tS256 := func(der []byte) string { s := sha256.Sum256(der); return base64.RawURLEncoding.EncodeToString(s[:]) }

	// Accepted: RS256 by x5t (azidentity), ES256 by x5t#S256, PS256,
	// without client_id (taken from sub), on the v1 endpoint for resource=.
	for name, f := range map[string]url.Values{
		"RS256 x5t":      form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), good)),
		"ES256 x5t#S256": form(assertion(t, ecKey, jose.ES256, "x5t#S256", x5tS256(ecDER), good)),
		"PS256 x5t":      form(assertion(t, rsaKey, jose.PS256, "x5t", x5t(rsaDER), good)),
		"no client_id":   form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), good), "client_id", ""),
	} {
		got := wantOK(t, name, e.post(e.v2Token(), f))
		if c := claims(t, got["access_token"].(string)); c["azp"] != sp.AppID || c["oid"] != sp.ObjectID {
			t.Errorf("%s: %v", name, c)
		}
	}
	v1 := "/" + e.tenant + "/oauth2/token"
	got := wantOK(t, "v1", e.post(v1, form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("aud", "https://localhost:8443"+v1+"?x=1")), "scope", "", "resource", vaultAudience)))
	if c := claims(t, got["access_token"].(string)); c["appidacr"] != "2" || c["appid"] != sp.AppID {
		t.Errorf("v1 assertion claims: %v", c)
	}

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		code   string
		aadsts int
	}{
		{"signed by another key", form(assertion(t, other, jose.ES256, "x5t#S256", x5tS256(ecDER), good)), 401, "invalid_client", 700027},
		{"unregistered certificate", form(assertion(t, other, jose.ES256, "x5t#S256", x5tS256(selfSigned(t, other)), good)), 401, "invalid_client", 700027},
		{"no thumbprint", form(assertion(t, rsaKey, jose.RS256, "kid", "k", good)), 401, "invalid_client", 700027},
		{"audience another endpoint", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("aud", "https://localhost:8443/adfs/oauth2/token"))), 401, "invalid_client", 700016},
		{"audience another host", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("aud", "https://evil.example"+e.v2Token()))), 401, "invalid_client", 700016},
		{"expired", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("exp", now.Add(-10*time.Minute).Unix()))), 401, "invalid_client", 700024},
		{"not yet valid", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("nbf", now.Add(10*time.Minute).Unix()))), 401, "invalid_client", 700024},
		{"no exp", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("exp", nil))), 401, "invalid_client", 700024},
		{"iss is not the client", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("iss", e.app.AppID))), 401, "invalid_client", 700021},
		{"client_id is not sub", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), good), "client_id", e.app.AppID), 401, "invalid_client", 700021},
		{"unknown client", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("iss", "nobody").with("sub", "nobody")), "client_id", "nobody"), 400, "unauthorized_client", 700016},
		{"managed identity", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("iss", e.mi.AppID).with("sub", e.mi.AppID)), "client_id", e.mi.AppID), 400, "unauthorized_client", 700016},
		{"wrong assertion type", form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), good), "client_assertion_type", "jwt"), 400, "invalid_request", 50027},
		{"malformed", form("not.a.jwt"), 400, "invalid_request", 50027},
		{"HS256", form(hs256(t)), 400, "invalid_request", 50027},
	} {
		wantOAuthError(t, c.name, e.post(e.v2Token(), c.form), c.status, c.code, c.aadsts)
	}

	// The audience is the endpoint on the host the client called: an
	// assertion for localhost is refused when sent to 127.0.0.1.
	r := req("POST", e.v2Token(), form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), good)).Encode())
	r.Host = "127.0.0.1:8443"
	wantOAuthError(t, "other host", e.serve(r), 401, "invalid_client", 700016)
	r = req("POST", e.v2Token(), form(assertion(t, rsaKey, jose.RS256, "x5t", x5t(rsaDER), with("aud", "https://127.0.0.1:8443"+e.v2Token()))).Encode())
	r.Host = "127.0.0.1:8443"
	wantOK(t, "assertion for 127.0.0.1", e.serve(r))
}

// claimSet lets a test chain changes to an assertion's claims.
type claimSet map[string]any

func (c claimSet) with(k string, v any) claimSet { c[k] = v; return c }

// assertion signs claims with key as a client assertion whose protected
// header carries header=value (x5t, x5t#S256 or another).
func assertion(t *testing.T, key crypto.Signer, alg jose.SignatureAlgorithm, header, value string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey(header), value))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// hs256 is an assertion with a symmetric algorithm, which is never accepted.
func hs256(t *testing.T) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(map[string]any{"iss": "x", "sub": "x"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// selfSigned returns a self-signed certificate (DER) for key.
func selfSigned(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
		NotBefore: time.Unix(1_700_000_000, 0), NotAfter: time.Unix(1_900_000_000, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestEntraDirectoryUnreadable: when the directory cannot be read the
// token service says so (500 temporarily_unavailable AADSTS50000, or the
// sign-in page's "temporarily unavailable"), and never answers with a
// wrong-credential or unknown-client error a client would act on.
func TestEntraDirectoryUnreadable(t *testing.T) {
	e := newEntraEnv(t)
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.app.AppID}, "client_secret": {e.secret}, "scope": {vaultAudience + "/.default"}}

	e.faults.FailReads("id/tenant")
	wantOAuthError(t, "discovery", e.get("/"+e.tenant+"/v2.0/.well-known/openid-configuration"), 500, "temporarily_unavailable", 50000)
	wantOAuthError(t, "JWKS", e.get("/"+e.tenant+"/discovery/v2.0/keys"), 500, "temporarily_unavailable", 50000)
	wantOAuthError(t, "token", e.post(e.v2Token(), cc), 500, "temporarily_unavailable", 50000)
	wantOAuthError(t, "devicecode", e.post("/"+e.tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {azCLI}, "scope": {vaultAudience + "/.default"}}), 500, "temporarily_unavailable", 50000)
	r := req("GET", "/metadata/identity/oauth2/token?resource="+url.QueryEscape(vaultAudience), "")
	r.RemoteAddr, r.Header["Metadata"] = "127.0.0.1:1", []string{"true"}
	wantOAuthError(t, "IMDS", e.serve(r), 500, "temporarily_unavailable", 50000)

	e.faults.FailReads("id/sp/")
	wantOAuthError(t, "client credentials", e.post(e.v2Token(), cc), 500, "temporarily_unavailable", 50000)

	e.faults.FailReads("id/user/")
	wantOAuthError(t, "password", e.post(e.v2Token(), url.Values{"grant_type": {"password"}, "client_id": {azCLI}, "username": {"a@arca.local"},
		"password": {"p"}, "scope": {vaultAudience + "/.default"}}), 500, "temporarily_unavailable", 50000)
	w := e.post("/devicelogin", url.Values{"user_code": {"BCDFGHJK"}, "username": {"a@arca.local"}, "password": {"p"}})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "temporarily unavailable") {
		t.Errorf("device login page: %d %s", w.Code, w.Body.String())
	}
	_, challenge := pkce("x")
	w = e.post("/"+e.tenant+"/oauth2/v2.0/authorize", url.Values{"client_id": {azCLI}, "response_type": {"code"}, "redirect_uri": {"http://localhost:1/"},
		"code_challenge": {challenge}, "username": {"a@arca.local"}, "password": {"p"}})
	if w.Code != 500 || !strings.Contains(w.Body.String(), "temporarily unavailable") {
		t.Errorf("authorize page: %d %s", w.Code, w.Body.String())
	}
}

// TestEntraInstanceDiscovery: MSAL's instance discovery names this host as
// the only alias of its cloud and the tenant's discovery document here;
// an authorization endpoint of another host is invalid_instance, an
// unknown tenant AADSTS90002; "common" resolves like the tenant.
func TestEntraInstanceDiscovery(t *testing.T) {
	e := newEntraEnv(t)
	q := url.Values{"api-version": {"1.1"}, "authorization_endpoint": {"https://localhost:8443/common/oauth2/v2.0/authorize"}}
	got := wantOK(t, "instance discovery", e.get("/common/discovery/instance?"+q.Encode()))
	if got["tenant_discovery_endpoint"] != "https://localhost:8443/common/v2.0/.well-known/openid-configuration" {
		t.Errorf("tenant_discovery_endpoint: %v", got["tenant_discovery_endpoint"])
	}
	md, _ := got["metadata"].([]any)
	if len(md) != 1 || md[0].(map[string]any)["preferred_network"] != "localhost:8443" {
		t.Errorf("metadata: %v", got["metadata"])
	}
	wantOK(t, "common's discovery document", e.get("/common/v2.0/.well-known/openid-configuration"))
	q.Set("authorization_endpoint", "https://login.example.com/common/oauth2/v2.0/authorize")
	wantOAuthError(t, "other host", e.get("/common/discovery/instance?"+q.Encode()), 400, "invalid_instance", 50049)
	q.Set("authorization_endpoint", "https://localhost:8443/contoso.example/oauth2/v2.0/authorize")
	wantOAuthError(t, "unknown tenant", e.get("/common/discovery/instance?"+q.Encode()), 400, "invalid_request", 90002)
}
