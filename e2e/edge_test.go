package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
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

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/arcakv/arca/deployment"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// dialFrom opens a TLS connection to the deployment from the loopback
// address src (any of 127.0.0.0/8), offering protos.
func (f *fixture) dialFrom(src, serverName string, protos ...string) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return tls.DialWithDialer(d, "tcp", "127.0.0.1:"+f.port(), &tls.Config{RootCAs: f.caPool(), ServerName: serverName, NextProtos: protos})
}

// stall sends complete headers announcing a 100,000-byte body, then 10
// bytes of it, and nothing more.
func stall(c net.Conn, host, bearer string) error {
	var b strings.Builder
	b.WriteString("PUT /secrets/stalled?api-version=7.5 HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n")
	if bearer != "" {
		b.WriteString("Authorization: Bearer " + bearer + "\r\n")
	}
	b.WriteString("\r\n{\"value\":\"")
	_, err := io.WriteString(c, b.String())
	return err
}

// TestStalledBodiesCannotHoldTheServer: a request whose body stalls holds
// its connection for a bounded time only (at once, when it carries no
// token: the 401 comes without reading the body and the connection closes),
// one address cannot open more than its share of connections, and a normal
// client keeps being served meanwhile.
func TestStalledBodiesCannotHoldTheServer(t *testing.T) {
	const timeout = 2 * time.Second
	f := startArca(t, func(o *deployment.Config) { o.BodyTimeout = timeout; o.MaxConnsPerIP = 60 })
	host := "arca.vault.localhost:" + f.port()
	tok := f.token("https://vault.localhost:" + f.port() + "/.default")
	sc := f.secretsClient(f.credential(), "arca")
	if _, err := sc.SetSecret(context.Background(), "normal", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
		t.Fatal(err)
	}

	type result struct {
		status int
		closed time.Duration // from the stall to the server's close
		err    error
	}
	var mu sync.Mutex
	results := map[string][]result{}
	var wg sync.WaitGroup
	run := func(kind, bearer string, n int) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := result{}
				c, err := f.dialFrom("127.0.0.2", "arca.vault.localhost")
				if err == nil {
					defer c.Close()
					start := time.Now()
					h := host
					if kind == "unknown vault host" {
						h = "nosuchvault.vault.localhost:" + f.port()
					}
					if err = stall(c, h, bearer); err == nil {
						c.SetReadDeadline(time.Now().Add(timeout + 10*time.Second))
						br := bufio.NewReader(c)
						var resp *http.Response
						if resp, err = http.ReadResponse(br, nil); err == nil {
							r.status = resp.StatusCode
							io.Copy(io.Discard, resp.Body)
							_, err = br.ReadByte() // the server closes: EOF
							if errors.Is(err, io.EOF) {
								err = nil
							}
						} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
							err = nil // closed without an answer
						}
						r.closed = time.Since(start)
					}
				}
				r.err = err
				mu.Lock()
				results[kind] = append(results[kind], r)
				mu.Unlock()
			}()
		}
	}
	run("no token", "", 20)
	run("token", tok, 20)
	run("unknown vault host", "", 10)

	// A normal client (another address) is served while the stalls last.
	for i := range 20 {
		if _, err := sc.GetSecret(context.Background(), "normal", "", nil); err != nil {
			t.Fatalf("normal client, request %d: %v", i, err)
		}
	}
	if resp, _ := f.do("GET", f.authority()+"/healthz", "", ""); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	wg.Wait()
	for _, r := range results["no token"] {
		if r.err != nil || r.status != 401 || r.closed > timeout/2 {
			t.Fatalf("stalled body without a token: status %d, closed after %v, %v", r.status, r.closed, r.err)
		}
	}
	for _, r := range results["unknown vault host"] {
		if r.err != nil || r.status != 404 || r.closed > timeout/2 {
			t.Fatalf("stalled body for an unknown vault, no token: status %d, closed after %v, %v", r.status, r.closed, r.err)
		}
	}
	for _, r := range results["token"] {
		if r.err != nil || r.closed > timeout+5*time.Second {
			t.Fatalf("stalled body with a token: status %d, closed after %v, %v", r.status, r.closed, r.err)
		}
	}

	// One address holds at most MaxConnsPerIP connections; others are unaffected.
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	refused := 0
	for range 65 {
		c, err := f.dialFrom("127.0.0.3", "localhost")
		if err != nil {
			refused++
			continue
		}
		held = append(held, c)
	}
	if len(held) != 60 || refused != 5 {
		t.Fatalf("one address opened %d connections (%d refused), want 60 (5)", len(held), refused)
	}
	if _, err := sc.GetSecret(context.Background(), "normal", "", nil); err != nil {
		t.Fatalf("normal client while another address is at its limit: %v", err)
	}
}

// TestTLS12OffersOnlyAEADSuites: a TLS 1.2 client that offers only CBC
// (or other non-AEAD) suites is refused; every ECDHE AES-GCM and
// ChaCha20-Poly1305 suite for the server's key type is accepted.
func TestTLS12OffersOnlyAEADSuites(t *testing.T) {
	f := startArca(t)
	try := func(suite uint16) error {
		c, err := tls.Dial("tcp", "127.0.0.1:"+f.port(), &tls.Config{RootCAs: f.caPool(), ServerName: "localhost",
			MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{suite}})
		if err == nil {
			c.Close()
		}
		return err
	}
	c, err := tls.Dial("tcp", "127.0.0.1:"+f.port(), &tls.Config{RootCAs: f.caPool(), ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	keyType := "ECDSA"
	if c.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm == x509.RSA {
		keyType = "RSA"
	}
	c.Close()
	accepted := 0
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if !slicesContains(s.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		aead := strings.Contains(s.Name, "_GCM_") || strings.Contains(s.Name, "CHACHA20")
		err := try(s.ID)
		switch {
		case !aead && err == nil:
			t.Errorf("TLS 1.2 handshake with the non-AEAD suite %s succeeded", s.Name)
		case aead && strings.HasPrefix(s.Name, "TLS_ECDHE_"+keyType+"_") && err != nil:
			t.Errorf("%s (for the server's %s key): %v", s.Name, keyType, err)
		case aead && strings.HasPrefix(s.Name, "TLS_ECDHE_"+keyType+"_"):
			accepted++
		}
	}
	if accepted != 3 { // AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305
		t.Fatalf("%d AEAD suites accepted for a %s key, want 3", accepted, keyType)
	}
}

func slicesContains(s []uint16, v uint16) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestHTTP2AnswersKeepTheirBody: over HTTP/2, a request whose handler has
// no use for the body (provider registration) gets its whole answer, and
// the server never resets the stream (clients such as curl drop the data of
// a stream reset before they read it).
func TestHTTP2AnswersKeepTheirBody(t *testing.T) {
	f := startArca(t)
	tok := f.arm().token
	path := "/subscriptions/" + f.r.App.Facts.SubscriptionID + "/providers/Microsoft.KeyVault/register?api-version=2021-04-01"
	c, err := f.dialFrom("127.0.0.1", "localhost", "h2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.ConnectionState().NegotiatedProtocol != "h2" {
		t.Fatalf("negotiated %q", c.ConnectionState().NegotiatedProtocol)
	}
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for i := range 5 {
		id := uint32(2*i + 1)
		hb.Reset()
		for _, kv := range [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "localhost:" + f.port()}, {":path", path},
			{"authorization", "Bearer " + tok}, {"content-type", "application/json"}, {"content-length", "2"}} {
			enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]})
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
		// The answer waits for the body: nothing may come back for this
		// stream before it is sent (the old server answered at once and
		// then reset the stream, which made curl drop the data).
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for {
			fm, err := fr.ReadFrame()
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if fm.Header().StreamID == id {
				t.Fatalf("request %d: the server answered (%T) before the body was sent", i, fm)
			}
			if sf, ok := fm.(*http2.SettingsFrame); ok && !sf.IsAck() {
				fr.WriteSettingsAck()
			}
		}
		if err := fr.WriteData(id, true, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		status, length, got := "", -1, 0
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
	frames:
		for {
			fm, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			switch fm := fm.(type) {
			case *http2.SettingsFrame:
				if !fm.IsAck() {
					fr.WriteSettingsAck()
				}
			case *http2.MetaHeadersFrame:
				if fm.StreamID != id {
					continue
				}
				status = fm.PseudoValue("status")
				for _, hf := range fm.RegularFields() {
					if hf.Name == "content-length" {
						length, _ = strconv.Atoi(hf.Value)
					}
				}
				if fm.StreamEnded() {
					break frames
				}
			case *http2.DataFrame:
				if fm.StreamID != id {
					continue
				}
				got += len(fm.Data())
				if n := len(fm.Data()); n > 0 {
					fr.WriteWindowUpdate(0, uint32(n)) // the connection's window; streams are used once
				}
				if fm.StreamEnded() {
					break frames
				}
			case *http2.RSTStreamFrame:
				if fm.StreamID == id {
					t.Fatalf("request %d: the server reset the stream (%v) after %d of %d bytes", i, fm.ErrCode, got, length)
				}
			case *http2.WindowUpdateFrame, *http2.PingFrame:
			}
		}
		if status != "200" || length <= 0 || got != length {
			t.Fatalf("request %d: status %s, %d of %d bytes", i, status, got, length)
		}
	}
	// A reset, if any, follows the end of the stream: read what is left.
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	for {
		fm, err := fr.ReadFrame()
		if err != nil {
			break
		}
		if rst, ok := fm.(*http2.RSTStreamFrame); ok {
			t.Fatalf("the server reset stream %d (%v)", rst.StreamID, rst.ErrCode)
		}
	}
}

// TestAuditOnAFullDisk: with the audit log on a real filesystem that fills
// up, every request answered as served has its record (the log's reserve
// takes the records of requests already running), new requests are refused
// with 503 and change nothing, /healthz says why, and freeing space resumes
// serving without a restart.
func TestAuditOnAFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v %s", err, out)
		}
	})
	logPath := filepath.Join(mnt, "audit.log")
	f := startArca(t, func(o *deployment.Config) { o.AuditLog = logPath })
	tok := f.token("https://vault.localhost:" + f.port() + "/.default")
	get := func(corr string) (*http.Response, string) {
		return f.do("GET", f.vaultURL("arca")+"/secrets/before?api-version=7.5", tok, "", "x-ms-client-request-id", corr)
	}
	if resp, body := f.do("PUT", f.vaultURL("arca")+"/secrets/before?api-version=7.5", tok, `{"value":"v"}`); resp.StatusCode != 200 {
		t.Fatalf("before: %d %s", resp.StatusCode, body)
	}
	fill(t, filepath.Join(mnt, "filler"))

	var served []string
	refused := false
	for i := 0; i < 300 && !refused; i++ { // the reserve reports a full disk within 64 KiB of records
		corr := "full-disk-" + strconv.Itoa(i)
		resp, body := get(corr)
		switch resp.StatusCode {
		case 200:
			served = append(served, corr)
		case 503:
			if !strings.Contains(body, `"ServiceUnavailable"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("refusal: %s %v", body, resp.Header)
			}
			refused = true
		default:
			t.Fatalf("request %d on a full disk: %d %s", i, resp.StatusCode, body)
		}
	}
	if !refused {
		t.Fatalf("no refusal after %d requests on a full disk", len(served))
	}
	if resp, _ := f.do("PUT", f.vaultURL("arca")+"/secrets/refused?api-version=7.5", tok, `{"value":"x"}`); resp.StatusCode != 503 {
		t.Fatalf("write on a full disk: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", f.authority()+"/healthz", "", ""); resp.StatusCode != 503 {
		t.Fatalf("healthz on a full disk: %d", resp.StatusCode)
	}
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	// The first request after the space is back is the probe; then it serves.
	ok := false
	for i := 0; i < 2 && !ok; i++ {
		resp, _ := get("after-" + strconv.Itoa(i))
		ok = resp.StatusCode == 200
	}
	if !ok {
		t.Fatal("serving did not resume once the disk had space")
	}
	if resp, _ := f.do("GET", f.vaultURL("arca")+"/secrets/refused?api-version=7.5", tok, ""); resp.StatusCode != 404 {
		t.Fatalf("a write refused while the audit log was failing was applied: %d", resp.StatusCode)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatal("torn audit log")
	}
	for _, corr := range served {
		if !strings.Contains(string(b), `"correlationId":"`+corr+`"`) {
			t.Fatalf("request %s was answered as served but has no audit record", corr)
		}
	}
}

// fill writes a file until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := fh.Write(chunk); err != nil {
			return
		}
	}
}

// TestTokenEndpointThrottleOverHTTP: wrong client secrets past the budget
// get 429 with Retry-After and Entra's JSON; the right secret still works.
func TestTokenEndpointThrottleOverHTTP(t *testing.T) {
	f := startArca(t)
	post := func(secret string) (*http.Response, string) {
		form := "grant_type=client_credentials&client_id=" + f.r.App.Facts.DevClientID + "&client_secret=" + secret +
			"&scope=https%3A%2F%2Fvault.localhost%3A" + f.port() + "%2F.default"
		return f.do("POST", f.authority()+"/adfs/oauth2/token", "", form, "Content-Type", "application/x-www-form-urlencoded")
	}
	for i := range 10 {
		if resp, body := post("wrong" + strconv.Itoa(i)); resp.StatusCode != 401 || !strings.Contains(body, "invalid_client") {
			t.Fatalf("wrong secret %d: %d %s", i, resp.StatusCode, body)
		}
	}
	resp, body := post("wrong-again")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"temporarily_unavailable"`) || !strings.Contains(body, "AADSTS90055") {
		t.Fatalf("over budget: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// The owner, whose generated secret matches, is not locked out by guesses.
	if resp, body := post(f.creds.ClientSecret); resp.StatusCode != 200 {
		t.Fatalf("the right secret after the guesses: %d %s", resp.StatusCode, body)
	}
	f.clock.Advance(6 * time.Second)
	if resp, body := post("wrong-after-the-wait"); resp.StatusCode != 401 {
		t.Fatalf("a guess after the wait: %d %s", resp.StatusCode, body)
	}
}
