package identity

import (
	"context"
	"crypto/rand"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
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

// TestWrongSecretsDoNotLockOutTheOwner: guesses at a client's secret are
// refused with 429 + Retry-After once over budget, but the owner, whose
// generated secret matches, is never locked out by them.
func TestWrongSecretsDoNotLockOutTheOwner(t *testing.T) {
	s, sp, secret, _ := throttleService(t)
	for i := range keyBurst {
		if _, oerr := clientCreds(s, "192.0.2.1", sp.AppID, "wrong-"+strconv.Itoa(i)); oerr == nil || oerr.Status != 401 || oerr.Code != "invalid_client" {
			t.Fatalf("wrong secret %d: %+v", i, oerr)
		}
	}
	_, oerr := clientCreds(s, "192.0.2.1", sp.AppID, "wrong-again")
	if oerr == nil || oerr.Status != 429 || oerr.RetryAfter < 1 || oerr.ErrorCodes[0] != 90055 {
		t.Fatalf("guess over budget: %+v", oerr)
	}
	if resp, oerr := clientCreds(s, "192.0.2.1", sp.AppID, secret); oerr != nil || resp.AccessToken == "" {
		t.Fatalf("the owner after the guesses: %+v", oerr)
	}
}

// TestLegacySecretsAreThrottled: a client whose secret is a bcrypt hash
// (stored by an earlier version) is checked only within the budget: past
// it, attempts are refused before any bcrypt work, until a failure's worth
// of time has passed.
func TestLegacySecretsAreThrottled(t *testing.T) {
	s, sp, _, clock := throttleService(t)
	h, err := bcrypt.GenerateFromPassword([]byte("legacy-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sp.Secrets = []SecretCredential{{ID: "old", Hint: "leg", Hash: h}}
	if err := s.Dir.put(context.Background(), sp); err != nil {
		t.Fatal(err)
	}
	for i := range keyBurst {
		if _, oerr := clientCreds(s, "192.0.2.1", sp.AppID, "wrong-"+strconv.Itoa(i)); oerr == nil || oerr.Status != 401 {
			t.Fatalf("wrong secret %d: %+v", i, oerr)
		}
	}
	if _, oerr := clientCreds(s, "192.0.2.2", sp.AppID, "legacy-secret"); oerr == nil || oerr.Status != 429 {
		t.Fatalf("over budget: %+v", oerr)
	}
	clock.Advance(keyEvery)
	if resp, oerr := clientCreds(s, "192.0.2.2", sp.AppID, "legacy-secret"); oerr != nil || resp.AccessToken == "" {
		t.Fatalf("after %v: %+v", keyEvery, oerr)
	}
}

// TestWrongSecretsAreThrottledPerAddress: one address guessing across
// several clients is refused after 30 failures, while other addresses are
// not; IPv6 addresses count by /64.
func TestWrongSecretsAreThrottledPerAddress(t *testing.T) {
	s, sp, _, clock := throttleService(t)
	var ids []string
	for range 3 {
		o, _, err := s.Dir.CreateServicePrincipal(context.Background(), "o", true, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.AppID)
	}
	for i := range addrBurst {
		addr := "2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16) // one /64
		if _, oerr := clientCreds(s, addr, ids[i%3], "x"); oerr == nil || oerr.Status != 401 {
			t.Fatalf("guess %d: %+v", i, oerr)
		}
	}
	if _, oerr := clientCreds(s, "2001:db8:1:2::ffff", sp.AppID, "x"); oerr == nil || oerr.Status != 429 {
		t.Fatalf("address over its budget: %+v", oerr)
	}
	if _, oerr := clientCreds(s, "2001:db8:1:3::1", sp.AppID, "x"); oerr == nil || oerr.Status != 401 {
		t.Fatalf("another /64: %+v", oerr)
	}
	clock.Advance(addrEvery)
	if _, oerr := clientCreds(s, "2001:db8:1:2::1", sp.AppID, "x"); oerr == nil || oerr.Status != 401 {
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

func ropc(s *Service, addr, user, pw string) *OAuthError {
	form := url.Values{"grant_type": {"password"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "username": {user},
		"password": {pw}, "scope": {"https://vault.localhost:8443/.default"}}
	_, oerr := s.Password(WithSourceAddr(context.Background(), addr), TokenRequest{Tenant: "adfs", V2: true, Form: form})
	return oerr
}

// TestUserLockout: a user with 10 wrong passwords from one address is
// locked there with Entra's AADSTS50053 until a failure's worth of time has
// passed; the same user from another address is not; the UPN and the object
// id share one budget.
func TestUserLockout(t *testing.T) {
	s, _, _, clock := throttleService(t)
	u, err := s.Dir.CreateUser(context.Background(), "alice@arca.local", "correct horse", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	for i := range keyBurst {
		name := "alice@arca.local"
		if i%2 == 1 {
			name = u.ObjectID
		}
		if oerr := ropc(s, "192.0.2.9", name, "wrong"); oerr == nil || oerr.ErrorCodes[0] != 50126 {
			t.Fatalf("wrong password %d: %+v", i, oerr)
		}
	}
	if oerr := ropc(s, "192.0.2.9", "alice@arca.local", "correct horse"); oerr == nil || oerr.ErrorCodes[0] != 50053 || oerr.RetryAfter < 1 {
		t.Fatalf("locked user: %+v", oerr)
	}
	if oerr := ropc(s, "192.0.2.10", "alice@arca.local", "correct horse"); oerr != nil {
		t.Fatalf("from another address: %+v", oerr)
	}
	clock.Advance(keyEvery)
	if oerr := ropc(s, "192.0.2.9", "alice@arca.local", "correct horse"); oerr != nil {
		t.Fatalf("after %v: %+v", keyEvery, oerr)
	}
}

// TestConcurrentGuessesStayWithinTheBudget: 40 wrong passwords at once for
// one user from one address are checked at most 10 times; the rest are
// refused before any bcrypt work.
func TestConcurrentGuessesStayWithinTheBudget(t *testing.T) {
	s, _, _, _ := throttleService(t)
	if _, err := s.Dir.CreateUser(context.Background(), "bob@arca.local", "correct horse", "Bob"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var checked, refused atomic.Int32
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch oerr := ropc(s, "192.0.2.11", "bob@arca.local", "wrong"); {
			case oerr != nil && oerr.ErrorCodes[0] == 50126:
				checked.Add(1)
			case oerr != nil && (oerr.ErrorCodes[0] == 50053 || oerr.Status == 429):
				refused.Add(1)
			default:
				t.Errorf("unexpected answer %+v", oerr)
			}
		}()
	}
	wg.Wait()
	if checked.Load() > keyBurst || checked.Load()+refused.Load() != 40 {
		t.Fatalf("%d checked, %d refused", checked.Load(), refused.Load())
	}
}

// TestThrottleKeysAreBounded: an attacker inventing keys cannot grow the
// table past MaxKeys, and a new caller is still admitted (the least recently
// charged bucket makes room).
func TestThrottleKeysAreBounded(t *testing.T) {
	clock := arca.NewManualClock(time.Unix(0, 0))
	th := &Throttle{Clock: clock, Burst: 2, Every: time.Second, MaxKeys: 100}
	for i := range 1000 {
		th.Take("k" + strconv.Itoa(i))
	}
	if len(th.keys) > 100 {
		t.Fatalf("%d keys tracked", len(th.keys))
	}
	if th.Take("new") != 0 {
		t.Fatal("a new key was refused while the table was full")
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1", "2001:db8::1": "2001:db8::/64",
		"2001:db8::ffff:1": "2001:db8::/64", "2001:db8:0:1::1": "2001:db8:0:1::/64", "not-an-ip": "not-an-ip",
	} {
		if got := AddrKey(in); got != want {
			t.Errorf("AddrKey(%q) = %q, want %q", in, got, want)
		}
	}
}
