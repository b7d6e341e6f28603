package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/arcakv/arca/deployment"
)

// TestStalledBodiesUnderAFileDescriptorLimit runs a real arca process with
// 256 file descriptors (ulimit -n 256) and opens 300 connections from one
// address that each send a token and a stalled body. The process keeps
// descriptors for everyone else: /healthz, the token endpoint and a get
// secret from another address are answered throughout.
func TestStalledBodiesUnderAFileDescriptorLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the arca binary")
	}
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	tmp := t.TempDir()
	bin := arcaBinary(t)
	port := freeTestPort(t)
	data := filepath.Join(tmp, "data")
	cmd := exec.Command(prlimit, "--nofile=256:256", "--", bin, "serve", "--data", data, "--port", strconv.Itoa(port),
		"--listen", "127.0.0.1", "--log-level", "warn", "--request-timeout", "60s")
	logf, _ := os.Create(filepath.Join(tmp, "arca.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })

	// Wait for the data directory, then for /healthz.
	var client *http.Client
	var roots *x509.CertPool
	deadline := time.Now().Add(60 * time.Second)
	for client == nil {
		if time.Now().After(deadline) {
			t.Fatal("arca did not start")
		}
		if pem, err := os.ReadFile(filepath.Join(data, deployment.CAFile)); err == nil {
			if _, err := os.Stat(filepath.Join(data, deployment.FactsFile)); err == nil {
				roots = x509.NewCertPool()
				roots.AppendCertsFromPEM(pem)
				d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}}
				client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots},
					DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
						return d.DialContext(ctx, network, "127.0.0.1:"+strconv.Itoa(port))
					}}}
				break
			}
		}
		time.Sleep(50 * time.Millisecond) // polling a child process that writes its files once
	}
	healthz := fmt.Sprintf("https://localhost:%d/healthz", port)
	for {
		resp, err := client.Get(healthz)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthz: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	creds, err := deployment.ReadCredentials(data)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := deployment.ReadFacts(data)
	if err != nil {
		t.Fatal(err)
	}
	token := func() (string, error) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {dep.DevClientID}, "client_secret": {creds.ClientSecret},
			"scope": {fmt.Sprintf("https://vault.localhost:%d/.default", port)}}
		resp, err := client.PostForm(fmt.Sprintf("https://localhost:%d/adfs/oauth2/token", port), form)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || tr.AccessToken == "" {
			return "", fmt.Errorf("token: %d %v", resp.StatusCode, err)
		}
		return tr.AccessToken, nil
	}
	tok, err := token()
	if err != nil {
		t.Fatal(err)
	}
	vault := fmt.Sprintf("https://%s.vault.localhost:%d", dep.DefaultVault, port)
	get := func() error {
		req, _ := http.NewRequest("GET", vault+"/secrets/missing?api-version=7.5", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	// 300 stalled bodies with a token, from 127.0.0.2.
	host := fmt.Sprintf("%s.vault.localhost:%d", dep.DefaultVault, port)
	var stalled []net.Conn
	defer func() {
		for _, c := range stalled {
			c.Close()
		}
	}()
	for range 300 {
		d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		c, err := tls.DialWithDialer(d, "tcp", "127.0.0.1:"+strconv.Itoa(port), &tls.Config{RootCAs: roots, ServerName: "arca.vault.localhost"})
		if err != nil {
			continue // refused: the address is at its limit
		}
		stalled = append(stalled, c)
		if err := stall(c, host, tok); err != nil {
			continue
		}
	}
	if len(stalled) != 64 { // a quarter of the descriptors
		t.Fatalf("one address holds %d connections of a 256-descriptor process, want 64", len(stalled))
	}
	// Everyone else is still served.
	for i := range 10 {
		if err := get(); err != nil {
			t.Fatalf("get secret %d while stalled bodies are held: %v", i, err)
		}
		resp, err := client.Get(healthz)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz %d: %v", i, err)
		}
		resp.Body.Close()
	}
	if _, err := token(); err != nil {
		t.Fatalf("token endpoint while stalled bodies are held: %v", err)
	}
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
