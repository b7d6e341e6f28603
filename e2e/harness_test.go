package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/arcakv/arca"
	"github.com/arcakv/arca/deployment"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain removes the binary arcaBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// arcaBinary builds cmd/arca once per test run (for tests that need the
// command line or a separate process) and returns its path.
func arcaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "arca-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "arca")
		if out, err := exec.Command("go", "build", "-o", binPath, "../cmd/arca").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v %s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// fixture is an Arca server started in-process on a random port.
type fixture struct {
	t     *testing.T
	dir   string
	r     *deployment.Running
	clock *arca.ManualClock
	creds *deployment.Credentials
	http  *http.Client // trusts only Arca's CA; resolves *.localhost to loopback
}

func startArca(t *testing.T, mutate ...func(*deployment.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	clock := arca.NewManualClock(time.Now().Truncate(time.Second))
	o := deployment.Config{Data: dir, Port: 0, Listen: []string{"127.0.0.1", "::1"}, DNSSuffix: "vault.localhost",
		DefaultVault: "arca", IMDS: true, LogLevel: "warn", Clock: clock, LogOutput: io.Discard, PurgeInterval: time.Hour}
	for _, m := range mutate {
		m(&o)
	}
	r, err := deployment.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	creds, err := deployment.ReadCredentials(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, dir: dir, r: r, clock: clock, creds: creds}
	f.http = f.httpClient()
	return f
}

func (f *fixture) caPool() *x509.CertPool {
	pool := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(f.dir, deployment.CAFile))
	if err != nil || !pool.AppendCertsFromPEM(b) {
		f.t.Fatalf("ca.pem: %v", err)
	}
	return pool
}

// httpClient verifies TLS against Arca's CA and dials every host on the
// loopback interface, so vault host names need no resolver changes.
func (f *fixture) httpClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: f.caPool()},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func (f *fixture) port() string { return strconv.Itoa(f.r.Port) }

func (f *fixture) authority() string { return "https://localhost:" + f.port() }

func (f *fixture) vaultURL(name string) string {
	return "https://" + name + ".vault.localhost:" + f.port()
}

func (f *fixture) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Transport: f.http,
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: f.authority() + "/"},
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

// credential is the development service principal with the tenant GUID.
func (f *fixture) credential() azcore.TokenCredential {
	c, err := azidentity.NewClientSecretCredential(f.r.App.Facts.TenantID, f.r.App.Facts.DevClientID, f.creds.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: f.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fixture) secretsClient(cred azcore.TokenCredential, vault string) *azsecrets.Client {
	c, err := azsecrets.NewClient(f.vaultURL(vault), cred, &azsecrets.ClientOptions{ClientOptions: f.clientOptions()})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// token gets an access token for scope from the v2 endpoint.
func (f *fixture) token(scope string) string {
	cred := f.credential()
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		f.t.Fatal(err)
	}
	return tk.Token
}

// do sends a raw request to the deployment.
func (f *fixture) do(method, url, bearer, body string, hdr ...string) (*http.Response, string) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func vaultWith(name, tenant string, retention int, purgeProtection bool) *arca.Vault {
	return &arca.Vault{Name: name, TenantID: tenant, RetentionDays: retention, PurgeProtection: purgeProtection}
}

func vaultWithSKU(name, tenant, sku string) *arca.Vault {
	return &arca.Vault{Name: name, TenantID: tenant, SKU: sku}
}

// createVault creates v with access policies for the development identities.
func (f *fixture) createVault(v *arca.Vault) {
	f.t.Helper()
	v.AccessPolicies = f.r.App.DevPolicies(context.Background())
	if err := f.r.App.Vaults.CreateVault(context.Background(), v); err != nil {
		f.t.Fatal(err)
	}
}

// grant adds an access policy for objectID to vault.
func (f *fixture) grant(vault, objectID string, perms arca.Permissions) {
	f.t.Helper()
	if _, err := f.r.App.Vaults.Update(context.Background(), vault, func(v *arca.Vault) error {
		v.AccessPolicies = append(v.AccessPolicies, arca.AccessPolicy{TenantID: v.TenantID, ObjectID: objectID, Permissions: perms})
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
}
