package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/deployment"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func (f *fixture) wantChallenge(resp *http.Response) {
	f.t.Helper()
	want := `Bearer authorization="` + f.authority() + "/" + f.r.App.Facts.TenantID +
		`", resource="https://vault.localhost:` + f.port() + `"`
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		f.t.Fatalf("challenge = %q, want %q", got, want)
	}
}

// TestChallengeBeforeBody: the probe (no token, no body) and a request with
// an invalid body but no token both get the 401 challenge, never a 400.
func TestChallengeBeforeBody(t *testing.T) {
	f := startArca(t)
	for _, tc := range []struct{ method, path, body string }{
		{"PUT", "/secrets/pw?api-version=7.3", ""},
		{"PUT", "/secrets/pw?api-version=7.3", "{not json"},
		{"POST", "/secrets/restore?api-version=2026-04-01", ""},
		{"GET", "/secrets/bad_name?api-version=bogus", ""},
		{"GET", "/secrets", ""},
	} {
		resp, body := f.do(tc.method, f.vaultURL("arca")+tc.path, "", tc.body)
		if resp.StatusCode != 401 || body != `{"error":{"code":"Unauthorized","message":"AKV10000: Request is missing a Bearer or PoP token."}}` {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
		f.wantChallenge(resp)
	}
}

func signWith(t *testing.T, key any, kid string, alg jose.SignatureAlgorithm, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeClaims(t *testing.T, raw string) map[string]any {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTokenNegatives: every bad token is a 401 with the challenge.
func TestTokenNegatives(t *testing.T) {
	f := startArca(t)
	vaultScope := "https://vault.localhost:" + f.port() + "/.default"
	good := f.token(vaultScope)
	url := f.vaultURL("arca") + "/secrets?api-version=7.4"
	if resp, body := f.do("GET", url, good, ""); resp.StatusCode != 200 {
		t.Fatalf("good token: %d %s", resp.StatusCode, body)
	}
	parts := strings.Split(good, ".")
	claims := decodeClaims(t, good)
	kid := f.r.App.Tokens.JWKS().Keys[0].KeyID
	foreign, _ := rsa.GenerateKey(rand.Reader, 2048)
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	sp, _ := f.r.App.Directory.ServicePrincipal(context.Background(), f.r.App.Facts.DevClientID)
	otherTenant, _, _ := f.r.App.Tokens.Issue("11111111-2222-3333-4444-555555555555", sp, "https://vault.localhost:"+f.port(), true, "1")
	hs := signWith(t, []byte("0123456789abcdef0123456789abcdef"), kid, jose.HS256, claims)

	// Tokens signed with Arca's own key whose claims are wrong.
	signed := func(mutate func(c map[string]any)) string {
		c := decodeClaims(t, good)
		mutate(c)
		payload, _ := json.Marshal(c)
		tok, err := f.r.App.Tokens.SignJWS(payload)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := f.clock.Now().Unix()
	cases := map[string]string{
		"wrong issuer": signed(func(c map[string]any) { c["iss"] = "https://login.example.org/" + c["tid"].(string) + "/" }),
		"issuer of another tenant": signed(func(c map[string]any) {
			c["iss"] = "https://localhost:" + f.port() + "/11111111-2222-3333-4444-555555555555/v2.0"
		}),
		"expired (signed)":        signed(func(c map[string]any) { c["exp"] = now - 3600; c["nbf"] = now - 7200; c["iat"] = now - 7200 }),
		"not yet valid":           signed(func(c map[string]any) { c["nbf"] = now + 3600; c["iat"] = now + 3600; c["exp"] = now + 7200 }),
		"wrong audience (signed)": signed(func(c map[string]any) { c["aud"] = "https://vault.azure.net" }),
		"tampered signature":      parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])),
		"tampered payload":        parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"x"}`)) + "." + parts[2],
		"alg none":                none,
		"HS256 with kid":          hs,
		"foreign key":             signWith(t, foreign, kid, jose.RS256, claims),
		"wrong audience":          f.token("https://management.localhost:" + f.port() + "/.default"),
		"other tenant":            otherTenant,
		"garbage":                 "not-a-jwt",
	}
	// The signed ones fail for the reason they were made for.
	wantMsg := map[string]string{"wrong issuer": "AKV10032", "issuer of another tenant": "AKV10032", "expired (signed)": "TokenExpired",
		"not yet valid": "not yet valid", "wrong audience (signed)": "AKV10022", "wrong audience": "AKV10022", "foreign key": "AKV10046"}
	for name, tok := range cases {
		resp, body := f.do("GET", url, tok, "", "x-ms-client-request-id", "neg-"+strings.ReplaceAll(name, " ", "-"))
		if resp.StatusCode != 401 || !strings.Contains(body, `"code":"Unauthorized"`) {
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
		f.wantChallenge(resp)
		if want := wantMsg[name]; want != "" && !strings.Contains(body, want) {
			t.Fatalf("%s: %s, want %q", name, body, want)
		}
	}
	// Expired: past exp plus the 5-minute skew.
	f.clock.Advance(time.Hour + 5*time.Minute + time.Second)
	resp, body := f.do("GET", url, good, "")
	if resp.StatusCode != 401 || !strings.Contains(body, "TokenExpired") {
		t.Fatalf("expired: %d %s", resp.StatusCode, body)
	}
	// Not yet valid: a token issued "in the future".
	future := f.token(vaultScope)
	f.clock.Advance(-0) // no-op; move back below
	f.clock.Set(f.clock.Now().Add(-time.Hour))
	resp, body = f.do("GET", url, future, "")
	if resp.StatusCode != 401 {
		t.Fatalf("not yet valid: %d %s", resp.StatusCode, body)
	}

	// Every rejected token left an audit record: 401, no identity, and
	// never the token itself.
	f.r.Close()
	raw, err := os.ReadFile(filepath.Join(f.dir, "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var e struct {
			CorrelationID string          `json:"correlationId"`
			ResultType    string          `json:"resultType"`
			Identity      json.RawMessage `json:"identity"`
			Properties    struct {
				HTTPStatusCode int `json:"httpStatusCode"`
			} `json:"properties"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		if strings.HasPrefix(e.CorrelationID, "neg-") {
			if e.Properties.HTTPStatusCode != 401 || e.ResultType != "Unauthorized" || len(e.Identity) != 0 {
				t.Errorf("audit record of %s: %s", e.CorrelationID, line)
			}
			audited[e.CorrelationID] = true
		}
	}
	for name, tok := range cases {
		if !audited["neg-"+strings.ReplaceAll(name, " ", "-")] {
			t.Errorf("%s: no audit record", name)
		}
		if sig := tok[strings.LastIndexByte(tok, '.')+1:]; len(sig) > 16 && strings.Contains(string(raw), sig) {
			t.Errorf("%s: the audit log holds the token", name)
		}
	}
}

// TestManagedIdentityAppService: the App Service MI protocol with the Go SDK.
func TestManagedIdentityAppService(t *testing.T) {
	f := startArca(t)
	t.Setenv("IDENTITY_ENDPOINT", f.authority()+"/msi/token")
	t.Setenv("IDENTITY_HEADER", f.creds.IdentityHeader)
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: f.clientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	c := f.secretsClient(cred, "arca")
	if _, err := c.SetSecret(context.Background(), "mi", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}
	// A wrong header gets nothing.
	resp, _ := f.do("GET", f.authority()+"/msi/token?api-version=2019-08-01&resource=https://vault.localhost:"+f.port(), "", "", "X-IDENTITY-HEADER", "wrong")
	if resp.StatusCode != 401 {
		t.Fatalf("wrong identity header: %d", resp.StatusCode)
	}
	// IMDS needs Metadata: true.
	resp, body := f.do("GET", f.authority()+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.localhost:"+f.port(), "", "")
	if resp.StatusCode != 400 {
		t.Fatalf("imds without Metadata header: %d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", f.authority()+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.localhost:"+f.port(), "", "", "Metadata", "true")
	if resp.StatusCode != 200 || !strings.Contains(body, `"expires_on"`) {
		t.Fatalf("imds: %d %s", resp.StatusCode, body)
	}
}

// TestClientCertificateAssertion: a service principal registered with a
// certificate authenticates with an RFC 7523 assertion (azidentity).
func TestClientCertificateAssertion(t *testing.T) {
	f := startArca(t)
	for _, kind := range []string{"rsa"} { // azidentity supports RSA certificate keys only
		var key any
		var pub any
		if kind == "rsa" {
			k, _ := rsa.GenerateKey(rand.Reader, 2048)
			key, pub = k, &k.PublicKey
		} else {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			key, pub = k, &k.PublicKey
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		sp, _, err := f.r.App.Directory.CreateServicePrincipal(context.Background(), "cert-app", false, [][]byte{der})
		if err != nil {
			t.Fatal(err)
		}
		f.grant("arca", sp.ObjectID, arca.Permissions{Secrets: []string{"get", "set"}})
		cert, _ := x509.ParseCertificate(der)
		cred, err := azidentity.NewClientCertificateCredential(f.r.App.Facts.TenantID, sp.AppID, []*x509.Certificate{cert}, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: f.clientOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		c := f.secretsClient(cred, "arca")
		if _, err := c.SetSecret(context.Background(), "cert-"+kind, azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		// An assertion naming this certificate but signed by another key is refused.
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		th := sha1.Sum(der)
		endpoint := f.authority() + "/" + f.r.App.Facts.TenantID + "/oauth2/v2.0/token"
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("x5t", base64.RawURLEncoding.EncodeToString(th[:])))
		now := time.Now()
		assertion, _ := jwt.Signed(signer).Claims(map[string]any{"aud": endpoint, "iss": sp.AppID, "sub": sp.AppID,
			"jti": "1", "nbf": now.Unix(), "exp": now.Add(time.Minute).Unix()}).Serialize()
		resp, body := f.do("POST", endpoint, "", "grant_type=client_credentials&client_id="+sp.AppID+
			"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion="+assertion+
			"&scope=https%3A%2F%2Fvault.localhost%3A"+f.port()+"%2F.default", "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != 401 || !strings.Contains(body, "invalid_client") {
			t.Fatalf("%s: forged assertion: %d %s", kind, resp.StatusCode, body)
		}
	}
}

// TestTokenEndpointErrors: Entra-shaped OAuth errors.
func TestTokenEndpointErrors(t *testing.T) {
	f := startArca(t)
	form := func(kv ...string) string {
		var b []string
		for i := 0; i+1 < len(kv); i += 2 {
			b = append(b, kv[i]+"="+kv[i+1])
		}
		return strings.Join(b, "&")
	}
	post := func(path, body string) (*http.Response, string) {
		return f.do("POST", f.authority()+path, "", body, "Content-Type", "application/x-www-form-urlencoded")
	}
	scope := "https://vault.localhost:" + f.port() + "/.default"
	id := f.r.App.Facts.DevClientID
	cases := []struct {
		path, body string
		status     int
		code       string
	}{
		{"/adfs/oauth2/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", "wrong", "scope", scope), 401, "invalid_client"},
		{"/adfs/oauth2/token", form("grant_type", "client_credentials", "client_id", "00000000-0000-0000-0000-000000000000", "client_secret", "x", "scope", scope), 400, "unauthorized_client"},
		{"/adfs/oauth2/token", form("grant_type", "urn:ietf:params:oauth:grant-type:saml1_1-bearer", "client_id", id, "scope", scope), 400, "unsupported_grant_type"},
		{"/adfs/oauth2/token", form("grant_type", "password", "client_id", id, "scope", scope), 400, "invalid_request"},
		{"/adfs/oauth2/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", f.creds.ClientSecret, "scope", "https://evil.example/.default"), 400, "invalid_resource"},
		{"/nosuchtenant/oauth2/v2.0/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", f.creds.ClientSecret, "scope", scope), 400, "invalid_request"},
		{"/" + f.r.App.Facts.TenantID + "/oauth2/v2.0/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", f.creds.ClientSecret, "scope", "https://vault.localhost:"+f.port()), 400, "invalid_scope"},
	}
	for _, c := range cases {
		resp, body := post(c.path, c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, `"error":"`+c.code+`"`) || !strings.Contains(body, "AADSTS") {
			t.Fatalf("%s %s: %d %s", c.path, c.body, resp.StatusCode, body)
		}
	}
	// v1 form with resource= (ADAL) works and returns a v1 token.
	resp, body := post("/adfs/oauth2/token", form("grant_type", "client_credentials", "client_id", id, "client_secret", f.creds.ClientSecret, "resource", "https%3A%2F%2Fvault.localhost%3A"+f.port()))
	if resp.StatusCode != 200 || !strings.Contains(body, `"token_type":"Bearer"`) || !strings.Contains(body, `"expires_in":3599`) {
		t.Fatalf("v1: %d %s", resp.StatusCode, body)
	}
}

// TestOIDCDiscovery: the documents MSAL validates, built from the Host.
func TestOIDCDiscovery(t *testing.T) {
	f := startArca(t)
	tid := f.r.App.Facts.TenantID
	resp, body := f.do("GET", f.authority()+"/"+tid+"/v2.0/.well-known/openid-configuration", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"issuer":"`+f.authority()+"/"+tid+`/v2.0"`) ||
		!strings.Contains(body, `"token_endpoint":"`+f.authority()+"/"+tid+`/oauth2/v2.0/token"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", f.authority()+"/adfs/.well-known/openid-configuration", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"token_endpoint":"`+f.authority()+`/adfs/oauth2/token"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = f.do("GET", f.authority()+"/"+tid+"/discovery/v2.0/keys", "", "")
	if resp.StatusCode != 200 || !strings.Contains(body, `"kty":"RSA"`) || strings.Contains(body, `"d":`) {
		t.Fatalf("jwks: %d %s", resp.StatusCode, body)
	}
}

// TestNoPlaintextAtRest: no secret value, private key, client secret or
// token appears in plaintext anywhere in the data directory.
func TestNoPlaintextAtRest(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.secretsClient(f.credential(), "arca")
	const marker = "PLAINTEXT-CANARY-7c1e2f"
	if _, err := c.SetSecret(ctx, "canary", azsecrets.SetSecretParameters{Value: to.Ptr(marker)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BackupSecret(ctx, "canary", nil); err != nil {
		t.Fatal(err)
	}
	tok := f.token("https://vault.localhost:" + f.port() + "/.default")
	caKeyDER, _ := x509.MarshalPKCS8PrivateKey(f.r.App.CA.Key)
	needles := map[string][]byte{
		"secret value":         []byte(marker),
		"client secret":        []byte(f.creds.ClientSecret),
		"identity header":      []byte(f.creds.IdentityHeader),
		"access token":         []byte(tok),
		"access token payload": []byte(strings.Split(tok, ".")[1][:40]),
		"CA private key DER":   caKeyDER[len(caKeyDER)-32:],
		"CA private key PEM":   []byte(base64.StdEncoding.EncodeToString(caKeyDER)[:40]),
		"PEM private key":      []byte("PRIVATE KEY-----"),
	}
	f.r.Close() // flush and release the database
	err := filepath.Walk(f.dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for what, n := range needles {
			if strings.Contains(string(b), string(n)) {
				t.Errorf("%s found in plaintext in %s", what, path)
			}
		}
		if strings.Contains(string(b), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY"}))[:20]) {
			t.Errorf("PEM private key in %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(f.dir, deployment.RootKeyFile)); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("root key mode: %v %v", info.Mode(), err)
	}
}
