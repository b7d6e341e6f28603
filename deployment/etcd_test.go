package deployment

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/storage/etcd/etcdtest"
)

// TestEtcd runs the deployment on a real single-member etcd cluster, one
// key prefix per case.
func TestEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 1, Args: []string{
		"--max-txn-ops=" + strconv.Itoa(etcd.RecommendedMaxTxnOps), "--max-request-bytes=" + strconv.Itoa(etcd.RecommendedMaxRequest)}})
	cfg := func(prefix string) etcd.Config {
		return etcd.Config{Endpoints: cluster.Endpoints(), Prefix: prefix,
			MaxTxnOps: etcd.RecommendedMaxTxnOps, MaxRequestBytes: etcd.RecommendedMaxRequest}
	}
	t.Run("TwoNodesShareOneDeployment", func(t *testing.T) { testTwoNodes(t, cfg("two/")) })
	t.Run("SecondInitRefuses", func(t *testing.T) { testSecondInit(t, cfg("again/")) })
	t.Run("ConcurrentInits", func(t *testing.T) { testConcurrentInits(t, cfg("race/")) })
	t.Run("InitRefusesForeignKeys", func(t *testing.T) { testInitForeignKeys(t, cfg("foreign/")) })
	t.Run("FailedInitIsUndone", func(t *testing.T) { testFailedInit(t, cfg("failed/")) })
	t.Run("ServeUninitialisedRefuses", func(t *testing.T) { testServeUninitialised(t, cfg("empty/")) })
	t.Run("ServeWithoutRootKeyRefuses", func(t *testing.T) { testNoRootKey(t, cfg("nokey/")) })
	t.Run("WrongRootKeyRefuses", func(t *testing.T) { testWrongRootKey(t, cfg("wrongkey/")) })
	t.Run("OfflineOpenSharesFacts", func(t *testing.T) { testOfflineOpen(t, cfg("offline/")) })
}

func etcdOptions(c etcd.Config) Options {
	return Options{Clock: arca.SystemClock{}, DefaultVault: "arca", Storage: StorageEtcd, Etcd: c}
}

// initCluster runs Init into a fresh data directory and returns it.
func initCluster(t *testing.T, c etcd.Config) string {
	t.Helper()
	dir := t.TempDir()
	a, err := Init(context.Background(), dir, etcdOptions(c))
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// copyRootKey makes a node's data directory holding only dir's root key.
func copyRootKey(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	node := t.TempDir()
	if err := os.WriteFile(filepath.Join(node, RootKeyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return node
}

// snapshot reads every key and value under the prefix, from the raw store.
func snapshot(t *testing.T, c etcd.Config) map[string]string {
	t.Helper()
	ctx := context.Background()
	b, err := etcd.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	out := map[string]string{}
	if err := b.View(ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, v []byte) bool { out[k] = string(v); return true })
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("the store changed: %d keys before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("the store changed at %q", k)
		}
	}
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func startNode(t *testing.T, dir string, c etcd.Config, publicPort int) *Running {
	t.Helper()
	r, err := Start(context.Background(), nodeConfig(dir, c, publicPort))
	if err != nil {
		t.Fatalf("start node on %s: %v", dir, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func nodeConfig(dir string, c etcd.Config, publicPort int) Config {
	return Config{Data: dir, Storage: StorageEtcd, Etcd: c, Port: 0, PublicPort: publicPort, Listen: []string{"127.0.0.1"},
		DNSSuffix: "vault.localhost", DefaultVault: "arca", LogLevel: "warn", LogOutput: io.Discard, PurgeInterval: time.Hour}
}

// nodeClient reaches one node whatever port a URL names, as a TCP load
// balancer on the public port would.
func nodeClient(t *testing.T, dir string, port int) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in ca.pem")
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		},
	}}
}

func call(t *testing.T, c *http.Client, method, u, bearer, contentType, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// token gets a vault token for the development principal from the node c
// reaches, addressed (as a client would) on the public port.
func token(t *testing.T, c *http.Client, public int, f Facts, creds *Credentials) string {
	t.Helper()
	origin := fmt.Sprintf("https://localhost:%d", public)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.DevClientID}, "client_secret": {creds.ClientSecret},
		"scope": {fmt.Sprintf("https://vault.localhost:%d/.default", public)}}
	status, body := call(t, c, "POST", origin+"/"+f.TenantID+"/oauth2/v2.0/token", "", "application/x-www-form-urlencoded", form.Encode())
	if status != 200 {
		t.Fatalf("token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token answer %s: %v", body, err)
	}
	return tok.AccessToken
}

func issuer(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Iss
}

// testTwoNodes: after one init, two nodes with their own data directories
// (the root key copied) serve the same deployment: the same tenant, facts,
// credentials and CA; each issues tokens with the public port's issuer,
// which the other accepts; a secret written through one is read through the
// other; vault URLs carry the public port.
func testTwoNodes(t *testing.T, c etcd.Config) {
	dirA := initCluster(t, c)
	dirB := copyRootKey(t, dirA)
	const public = 9443
	a := startNode(t, dirA, c, public)
	b := startNode(t, dirB, c, public)
	if a.App.Facts.TenantID == "" || a.App.Facts.TenantID != b.App.Facts.TenantID {
		t.Fatalf("tenants: %q and %q", a.App.Facts.TenantID, b.App.Facts.TenantID)
	}
	fa, fb := a.App.Facts, b.App.Facts
	if fa.ListenPort != a.Port || fb.ListenPort != b.Port {
		t.Fatalf("listen ports recorded: %d and %d, want %d and %d", fa.ListenPort, fb.ListenPort, a.Port, b.Port)
	}
	for i, r := range []*Running{a, b} {
		onDisk, err := ReadFacts(r.App.Dir)
		if err != nil || onDisk != r.App.Facts {
			t.Fatalf("node %d's %s: %+v, %v; want %+v", i, FactsFile, onDisk, err, r.App.Facts)
		}
	}
	fa.ListenPort, fb.ListenPort = 0, 0 // the one fact of a node's own
	if fa != fb {
		t.Fatalf("facts differ:\n%+v\n%+v", fa, fb)
	}
	if fa.Port != public || fa.DefaultVault != "arca" {
		t.Fatalf("facts: %+v", fa)
	}
	ca, cb := readCreds(t, dirA), readCreds(t, dirB)
	if ca.ClientSecret == "" || *ca != *cb {
		t.Fatalf("credentials differ: %+v and %+v", ca, cb)
	}
	pa, _ := os.ReadFile(filepath.Join(dirA, CAFile))
	pb, _ := os.ReadFile(filepath.Join(dirB, CAFile))
	if len(pa) == 0 || !bytes.Equal(pa, pb) {
		t.Fatal("the nodes' ca.pem differ")
	}
	if got, want := a.Handler.Config.VaultURL("arca"), fmt.Sprintf("https://arca.vault.localhost:%d", public); got != want {
		t.Fatalf("vault URL %s, want %s", got, want)
	}
	if a.PublicPort != public || a.Port == public || a.Port == b.Port {
		t.Fatalf("ports: A %d/%d, B %d/%d", a.Port, a.PublicPort, b.Port, b.PublicPort)
	}

	clientA, clientB := nodeClient(t, dirA, a.Port), nodeClient(t, dirB, b.Port)
	tokA, tokB := token(t, clientA, public, fa, ca), token(t, clientB, public, fb, cb)
	wantIss := fmt.Sprintf("https://localhost:%d/%s/v2.0", public, fa.TenantID)
	for _, tok := range []string{tokA, tokB} {
		if iss := issuer(t, tok); iss != wantIss {
			t.Fatalf("issuer %q, want %q", iss, wantIss)
		}
	}
	secretURL := fmt.Sprintf("https://arca.vault.localhost:%d/secrets/shared?api-version=7.4", public)
	if status, body := call(t, clientB, "PUT", secretURL, tokA, "application/json", `{"value":"written-through-b"}`); status != 200 {
		t.Fatalf("PUT through B with A's token: %d %s", status, body)
	}
	status, body := call(t, clientA, "GET", secretURL, tokB, "", "")
	if status != 200 || !strings.Contains(string(body), `"written-through-b"`) {
		t.Fatalf("GET through A with B's token: %d %s", status, body)
	}
	if !strings.Contains(string(body), fmt.Sprintf(`"https://arca.vault.localhost:%d/secrets/shared/`, public)) {
		t.Fatalf("the secret's id does not carry the public port: %s", body)
	}
}

func readCreds(t *testing.T, dir string) *Credentials {
	t.Helper()
	c, err := ReadCredentials(dir)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return c
}

// testSecondInit: an init of an initialised cluster refuses, with
// ErrInitialised, and changes nothing: not the store, not a new data
// directory, not the root key of the first one.
func testSecondInit(t *testing.T, c etcd.Config) {
	dir := initCluster(t, c)
	before := snapshot(t, c)
	if len(before) == 0 {
		t.Fatal("init wrote nothing")
	}
	if _, ok := before[initKey]; ok {
		t.Fatal("the init marker outlived the init")
	}
	key, _ := os.ReadFile(filepath.Join(dir, RootKeyFile))
	fresh := filepath.Join(t.TempDir(), "node")
	for _, d := range []string{fresh, dir} {
		_, err := Init(context.Background(), d, etcdOptions(c))
		if !errors.Is(err, ErrInitialised) {
			t.Fatalf("second init into %s: %v, want ErrInitialised", d, err)
		}
		if !strings.Contains(err.Error(), "runs once") {
			t.Errorf("unclear refusal: %v", err)
		}
	}
	sameSnapshot(t, before, snapshot(t, c))
	if files := dirFiles(t, fresh); len(files) != 0 {
		t.Fatalf("the refused init wrote %v", files)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, RootKeyFile)); !bytes.Equal(key, again) {
		t.Fatal("the refused init changed the root key")
	}
}

// testConcurrentInits: of two inits of one empty prefix started together,
// exactly one succeeds; the other refuses with ErrInitialised; the winner's
// deployment opens.
func testConcurrentInits(t *testing.T, c etcd.Config) {
	dirs := []string{t.TempDir(), t.TempDir()}
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, d := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := Init(context.Background(), d, etcdOptions(c))
			if err == nil {
				err = a.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatal("both inits succeeded")
			}
			winner = i
		case !errors.Is(err, ErrInitialised):
			t.Fatalf("init %d: %v, want ErrInitialised", i, err)
		default:
			t.Logf("init %d refused: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("no init succeeded: %v", errs)
	}
	a, err := Open(context.Background(), dirs[winner], etcdOptions(c))
	if err != nil {
		t.Fatalf("open after init: %v", err)
	}
	a.Close()
}

// testInitForeignKeys: init refuses a prefix that holds keys it did not
// write, and leaves them alone.
func testInitForeignKeys(t *testing.T, c etcd.Config) {
	ctx := context.Background()
	b, err := etcd.Open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(ctx, func(tx storage.Tx) error { return tx.Put("someone/else", []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	before := snapshot(t, c)
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, etcdOptions(c)); !errors.Is(err, ErrInitialised) || !strings.Contains(err.Error(), "someone/else") {
		t.Fatalf("init of a foreign prefix: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, c))
	if files := dirFiles(t, dir); len(files) != 0 {
		t.Fatalf("the refused init wrote %v", files)
	}
}

// testFailedInit: an init that fails half-way deletes what it wrote, so
// that it can be run again.
func testFailedInit(t *testing.T, c etcd.Config) {
	dir := t.TempDir()
	// ca.pem cannot be written: the init fails after the keyring, tenant,
	// signing key and CA are in the store.
	if err := os.MkdirAll(filepath.Join(dir, CAFile, "blocker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Init(context.Background(), dir, etcdOptions(c)); err == nil {
		t.Fatal("init succeeded although ca.pem cannot be written")
	}
	if keys := snapshot(t, c); len(keys) != 0 {
		t.Fatalf("the failed init left %d keys", len(keys))
	}
	if err := os.RemoveAll(filepath.Join(dir, CAFile)); err != nil {
		t.Fatal(err)
	}
	a, err := Init(context.Background(), dir, etcdOptions(c))
	if err != nil {
		t.Fatalf("init after a failed one: %v", err)
	}
	a.Close()
}

// testServeUninitialised: a node started on a cluster nobody initialised
// refuses with ErrNotInitialised, telling to run init, and writes nothing,
// to the store or to its data directory, with or without a root key.
func testServeUninitialised(t *testing.T, c etcd.Config) {
	withKey := t.TempDir()
	if err := os.WriteFile(filepath.Join(withKey, RootKeyFile), []byte(hex.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{withKey, t.TempDir()} {
		before := dirFiles(t, dir)
		_, err := Start(context.Background(), nodeConfig(dir, c, 0))
		if !errors.Is(err, ErrNotInitialised) || !strings.Contains(err.Error(), "arca init --storage etcd") {
			t.Fatalf("serve on an empty cluster: %v", err)
		}
		if after := dirFiles(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("the refused serve wrote to %s: %v", dir, after)
		}
		if _, err := Open(context.Background(), dir, etcdOptions(c)); !errors.Is(err, ErrNotInitialised) {
			t.Fatalf("open on an empty cluster: %v", err)
		}
	}
	if keys := snapshot(t, c); len(keys) != 0 {
		t.Fatalf("the refused serve wrote to the store: %v", keys)
	}
}

// testNoRootKey: a node without root.key refuses with ErrNoRootKey, saying
// where to copy it from.
func testNoRootKey(t *testing.T, c etcd.Config) {
	initCluster(t, c)
	before := snapshot(t, c)
	_, err := Start(context.Background(), nodeConfig(t.TempDir(), c, 0))
	if !errors.Is(err, ErrNoRootKey) || !strings.Contains(err.Error(), "copy root.key from the node that ran") {
		t.Fatalf("serve without a root key: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, c))
}

// testWrongRootKey: a node whose root key is not the cluster's gets the
// barrier's refusal, and nothing is written.
func testWrongRootKey(t *testing.T, c etcd.Config) {
	initCluster(t, c)
	before := snapshot(t, c)
	dir := t.TempDir()
	k, err := barrier.NewRootKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, RootKeyFile), []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Start(context.Background(), nodeConfig(dir, c, 0))
	if !errors.Is(err, barrier.ErrTampered) || !strings.Contains(err.Error(), "wrong root key") {
		t.Fatalf("serve with a wrong root key: %v", err)
	}
	sameSnapshot(t, before, snapshot(t, c))
	if files := dirFiles(t, dir); len(files) != 1 {
		t.Fatalf("the refused serve wrote %v", files)
	}
}

// testOfflineOpen: Open (the offline commands) on a node that never served
// gets the shared facts and writes its local copies; what it writes is
// seen by the node that ran init.
func testOfflineOpen(t *testing.T, c etcd.Config) {
	ctx := context.Background()
	dirA := initCluster(t, c)
	dirB := copyRootKey(t, dirA)
	b, err := Open(ctx, dirB, etcdOptions(c))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Vaults.CreateVault(ctx, b.NewVault("fromb", "standard")); err != nil {
		t.Fatal(err)
	}
	fb := b.Facts
	b.Close()
	a, err := Open(ctx, dirA, etcdOptions(c))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Facts != fb {
		t.Fatalf("facts differ:\n%+v\n%+v", a.Facts, fb)
	}
	if _, err := a.Vaults.Vault(ctx, "fromb"); err != nil {
		t.Fatalf("vault created through B: %v", err)
	}
	if *readCreds(t, dirA) != *readCreds(t, dirB) {
		t.Fatal("credentials differ")
	}
	// Every record of the deployment has an owner, the deployment's own too.
	if err := a.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan("", "", func(k string, _ []byte) bool {
			if a.Keyspace.Owner(k) == "" {
				t.Errorf("no owner claims %q", k)
			}
			return true
		})
	}); err != nil {
		t.Fatal(err)
	}
}

// TestEtcdTLS: with client-certificate TLS to etcd, init and a node work
// through the --etcd-cacert/cert/key settings.
func TestEtcdTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	cluster := etcdtest.Start(t, etcdtest.Options{Members: 1, TLS: true})
	c := etcd.Config{Endpoints: cluster.Endpoints(), CACert: cluster.CACert, Cert: cluster.ClientCert, Key: cluster.ClientKey}
	if !strings.HasPrefix(c.Endpoints[0], "https://") {
		t.Fatalf("endpoints %v", c.Endpoints)
	}
	dir := initCluster(t, c)
	r := startNode(t, copyRootKey(t, dir), c, 0)
	if r.App.Facts.TenantID == "" {
		t.Fatal("no tenant")
	}
}
