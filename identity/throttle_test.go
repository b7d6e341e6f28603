package identity

import (
	"context"
	"crypto/rand"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage/memory"
	"golang.org/x/crypto/bcrypt"
)

func throttleService(t *testing.T) (*Service, *ServicePrincipal, string, *arca.ManualClock) {
	t.Helper()
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	store, err := barrier.Open(ctx, memory.New(), make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	dir := &Directory{Store: store, Clock: clock, Rand: rand.Reader}
	if _, err := dir.InitTenant(ctx); err != nil {
		t.Fatal(err)
	}
	toks := &Tokens{Store: store, Clock: clock, Authority: "https://localhost:8443"}
	if err := toks.Load(ctx); err != nil {
		t.Fatal(err)
	}
	sp, secret, err := dir.CreateServicePrincipal(ctx, "app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Service{Dir: dir, Tokens: toks, Clock: clock}, sp, secret, clock
}

func clientCreds(s *Service, addr, clientID, secret string) (*TokenResponse, *OAuthError) {
	ctx := WithSourceAddr(context.Background(), addr)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"https://vault.localhost:8443/.default"}}
	return s.ClientCredentials(ctx, TokenRequest{Tenant: "adfs", Form: form, Endpoint: "https://localhost:8443/adfs/oauth2/token"})
}

// TestWrongSecretsAreThrottledPerClient: after 10 wrong secrets a client id
// is refused with 429 + Retry-After before its secret is checked (the right
// one too, as a lockout does); one attempt comes back every 6 s; other
// clients are unaffected.
func TestWrongSecretsAreThrottledPerClient(t *testing.T) {
	s, sp, secret, clock := throttleService(t)
	other, otherSecret, err := s.Dir.CreateServicePrincipal(context.Background(), "other", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range keyBurst {
		if _, oerr := clientCreds(s, "192.0.2.1", sp.AppID, "wrong-"+strconv.Itoa(i)); oerr == nil || oerr.Status != 401 || oerr.Code != "invalid_client" {
			t.Fatalf("wrong secret %d: %+v", i, oerr)
		}
	}
	_, oerr := clientCreds(s, "192.0.2.2", sp.AppID, secret)
	if oerr == nil || oerr.Status != 429 || oerr.RetryAfter < 1 || oerr.ErrorCodes[0] != 90055 {
		t.Fatalf("locked client with the right secret: %+v", oerr)
	}
	if _, oerr := clientCreds(s, "192.0.2.1", other.AppID, otherSecret); oerr != nil {
		t.Fatalf("another client: %+v", oerr)
	}
	clock.Advance(keyEvery)
	if resp, oerr := clientCreds(s, "192.0.2.2", sp.AppID, secret); oerr != nil || resp.AccessToken == "" {
		t.Fatalf("after %v: %+v", keyEvery, oerr)
	}
}

// TestWrongSecretsAreThrottledPerAddress: one address guessing across many
// client ids is refused after 30 failures, while other addresses are not.
func TestWrongSecretsAreThrottledPerAddress(t *testing.T) {
	s, sp, secret, clock := throttleService(t)
	for i := range addrBurst {
		if _, oerr := clientCreds(s, "198.51.100.7", "00000000-0000-0000-0000-"+strconv.Itoa(100000000000+i), "x"); oerr == nil || oerr.Status != 400 {
			t.Fatalf("unknown client %d: %+v", i, oerr)
		}
	}
	if _, oerr := clientCreds(s, "198.51.100.7", sp.AppID, secret); oerr == nil || oerr.Status != 429 {
		t.Fatalf("address over its budget: %+v", oerr)
	}
	if _, oerr := clientCreds(s, "198.51.100.8", sp.AppID, secret); oerr != nil {
		t.Fatalf("another address: %+v", oerr)
	}
	clock.Advance(addrEvery)
	if _, oerr := clientCreds(s, "198.51.100.7", sp.AppID, secret); oerr != nil {
		t.Fatalf("after %v: %+v", addrEvery, oerr)
	}
}

// TestGeneratedSecretsUseAFastHash: secrets Arca generates are stored as a
// salted HMAC (never the secret, never bcrypt); a credential stored as bcrypt
// by an earlier version still signs in.
func TestGeneratedSecretsUseAFastHash(t *testing.T) {
	s, sp, secret, _ := throttleService(t)
	c := sp.Secrets[0]
	if c.Alg != secretAlgHMAC || len(c.Salt) != 32 || len(c.Hash) != 32 || string(c.Hash) == secret {
		t.Fatalf("credential: alg %q salt %d hash %d", c.Alg, len(c.Salt), len(c.Hash))
	}
	if !sp.CheckSecret(secret, false) || sp.CheckSecret(secret+"x", true) || sp.hasSlowSecrets() {
		t.Fatal("fast check")
	}
	h, err := bcrypt.GenerateFromPassword([]byte("legacy-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sp.Secrets = append(sp.Secrets, SecretCredential{ID: "old", Hint: "leg", Hash: h})
	if err := s.Dir.put(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	if resp, oerr := clientCreds(s, "192.0.2.1", sp.AppID, "legacy-secret"); oerr != nil || resp.AccessToken == "" {
		t.Fatalf("legacy bcrypt credential: %+v", oerr)
	}
	if _, oerr := clientCreds(s, "192.0.2.1", sp.AppID, secret); oerr != nil {
		t.Fatalf("new credential beside a legacy one: %+v", oerr)
	}
}

// TestUserLockout: a user name with 10 wrong passwords is locked with
// Entra's AADSTS50053 until a failure's worth of time has passed.
func TestUserLockout(t *testing.T) {
	s, _, _, clock := throttleService(t)
	ctx := WithSourceAddr(context.Background(), "192.0.2.9")
	if _, err := s.Dir.CreateUser(ctx, "alice@arca.local", "correct horse", "Alice"); err != nil {
		t.Fatal(err)
	}
	ropc := func(pw string) *OAuthError {
		form := url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "username": {"alice@arca.local"},
			"password": {pw}, "scope": {"https://vault.localhost:8443/.default"}}
		_, oerr := s.Password(ctx, TokenRequest{Tenant: "adfs", V2: true, Form: form})
		return oerr
	}
	for i := range keyBurst {
		if oerr := ropc("wrong"); oerr == nil || oerr.ErrorCodes[0] != 50126 {
			t.Fatalf("wrong password %d: %+v", i, oerr)
		}
	}
	if oerr := ropc("correct horse"); oerr == nil || oerr.ErrorCodes[0] != 50053 || oerr.RetryAfter < 1 {
		t.Fatalf("locked user: %+v", oerr)
	}
	clock.Advance(keyEvery)
	if oerr := ropc("correct horse"); oerr != nil {
		t.Fatalf("after %v: %+v", keyEvery, oerr)
	}
}

// TestThrottleKeysAreBounded: an attacker inventing keys cannot grow the
// table past MaxKeys; refilled buckets are dropped to make room.
func TestThrottleKeysAreBounded(t *testing.T) {
	clock := arca.NewManualClock(time.Unix(0, 0))
	th := &Throttle{Clock: clock, Burst: 2, Every: time.Second, MaxKeys: 100}
	for i := range 1000 {
		th.Fail("k" + strconv.Itoa(i))
	}
	if len(th.keys) > 100 {
		t.Fatalf("%d keys tracked", len(th.keys))
	}
	if th.Wait("new") == 0 {
		t.Fatal("a new key was let in while the table is full of fresh failures")
	}
	clock.Advance(2 * time.Second)
	if th.Wait("new") != 0 {
		t.Fatal("refilled buckets were not dropped")
	}
}
