package identity

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
	"golang.org/x/crypto/bcrypt"
)

// Two nodes over one store: each has its own Service, Directory and
// Tokens, as the nodes of a shared etcd store do, and one clock.

type signInNodes struct {
	a, b  *Service
	raw   *memory.Backend // under the barrier: what the store holds
	clock *arca.ManualClock
	user  *User
}

const (
	signInPassword = "correct horse battery"
	signInScope    = "https://vault.localhost:8443/.default openid offline_access"
	signInClient   = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	signInRedirect = "http://localhost:51234/"
)

func newSignInNodes(t *testing.T) *signInNodes {
	t.Helper()
	ctx := context.Background()
	raw := memory.New()
	store, err := barrier.Open(ctx, raw, make([]byte, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	node := func() *Service {
		dir := &Directory{Store: store, Clock: clock, Rand: rand.Reader}
		if _, err := dir.InitTenant(ctx); err != nil {
			t.Fatal(err)
		}
		toks := &Tokens{Store: store, Clock: clock, Authority: "https://localhost:8443"}
		if err := toks.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return &Service{Dir: dir, Tokens: toks, Clock: clock}
	}
	n := &signInNodes{a: node(), b: node(), raw: raw, clock: clock}
	// The user's hash has bcrypt's least cost, so that the many sign-ins
	// of these tests stay quick (CreateUser uses BcryptCost).
	h, err := bcrypt.GenerateFromPassword([]byte(signInPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	n.user = &User{ObjectID: "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", UPN: "ada@arca.local", DisplayName: "Ada", Hash: h, Created: clock.Now()}
	err = store.Update(ctx, func(tx storage.Tx) error { return putRecord(tx, userPrefix+n.user.UPN, n.user) })
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startDevice starts a device flow on s from addr.
func (n *signInNodes) startDevice(t *testing.T, s *Service, addr string) (deviceCode, userCode string) {
	t.Helper()
	ctx := WithSourceAddr(context.Background(), addr)
	out, oerr := s.DeviceAuthorization(ctx, "adfs", url.Values{"client_id": {signInClient}, "scope": {signInScope}}, "https://localhost:8443/devicelogin")
	if oerr != nil {
		t.Fatalf("device authorization: %v", oerr)
	}
	return out["device_code"].(string), out["user_code"].(string)
}

func pollDevice(s *Service, dc string) (*TokenResponse, *OAuthError) {
	return s.Token(context.Background(), TokenRequest{Tenant: "adfs", V2: true,
		Form: url.Values{"grant_type": {GrantDeviceCode}, "device_code": {dc}, "client_id": {signInClient}}})
}

// authorize signs the user in on s for an authorization code with PKCE
// (the plain method, verifier "v-"+seed).
func (n *signInNodes) authorize(t *testing.T, s *Service, seed string) string {
	t.Helper()
	q := url.Values{"client_id": {signInClient}, "response_type": {"code"}, "redirect_uri": {signInRedirect},
		"scope": {signInScope}, "code_challenge": {"v-" + seed}, "code_challenge_method": {"plain"}, "nonce": {"n0nce"}}
	code, err := s.AuthorizeCode(context.Background(), "adfs", q, n.user.UPN, signInPassword)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	return code
}

func redeemCode(s *Service, code, seed string) (*TokenResponse, *OAuthError) {
	return s.Token(context.Background(), TokenRequest{Tenant: "adfs", V2: true,
		Form: url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {signInClient},
			"redirect_uri": {signInRedirect}, "code_verifier": {"v-" + seed}}})
}

func wantOAuth(t *testing.T, what string, oerr *OAuthError, code string, aadsts int) {
	t.Helper()
	if oerr == nil || oerr.Code != code || len(oerr.ErrorCodes) != 1 || oerr.ErrorCodes[0] != aadsts {
		t.Errorf("%s: %v, want %s %d", what, oerr, code, aadsts)
	}
}

// pendingKeys lists the raw store's keys under id/pending/, failing t if
// any of secrets appears in a key or a (sealed) value.
func (n *signInNodes) pendingKeys(t *testing.T, secrets ...string) []string {
	t.Helper()
	var keys []string
	err := n.raw.View(context.Background(), func(r storage.Reader) error {
		return r.Scan("", "", func(k string, v []byte) bool {
			for _, s := range secrets {
				if strings.Contains(k, s) || strings.Contains(string(v), s) {
					t.Errorf("the store holds a code in clear under %q", k)
				}
			}
			if strings.HasPrefix(k, pendingPrefix) {
				keys = append(keys, k)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestDeviceCodeAcrossNodes: a device code issued by node A is approved
// through node B and redeemed by polling A; B then finds it used. The
// store holds neither code, only their hashes, and nothing once redeemed.
func TestDeviceCodeAcrossNodes(t *testing.T) {
	n := newSignInNodes(t)
	dc, uc := n.startDevice(t, n.a, "192.0.2.1")
	if keys := n.pendingKeys(t, dc, uc); len(keys) != 2 {
		t.Fatalf("pending records: %v", keys)
	}
	_, oerr := pollDevice(n.a, dc)
	wantOAuth(t, "pending on A", oerr, "authorization_pending", 70016)
	_, oerr = pollDevice(n.b, dc)
	wantOAuth(t, "pending on B", oerr, "authorization_pending", 70016)

	ctx := context.Background()
	if err := n.b.ApproveDevice(ctx, uc, n.user.UPN, "wrong password"); !errors.Is(err, ErrSignIn) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := n.b.ApproveDevice(ctx, "BBBBBBBB", n.user.UPN, signInPassword); !errors.Is(err, ErrSignIn) {
		t.Fatalf("unknown user code: %v", err)
	}
	_, oerr = pollDevice(n.a, dc)
	wantOAuth(t, "still pending", oerr, "authorization_pending", 70016)
	typed := strings.ToLower(uc[:4]) + "-" + strings.ToLower(uc[4:])
	if err := n.b.ApproveDevice(ctx, typed, n.user.UPN, signInPassword); err != nil {
		t.Fatalf("approve on B: %v", err)
	}
	tok, oerr := pollDevice(n.a, dc)
	if oerr != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token on A: %+v %v", tok, oerr)
	}
	p, err := n.b.Tokens.Verify(tok.AccessToken, mustTenant(t, n.b), func(string) bool { return true }, "")
	if err != nil || p.ObjectID != n.user.ObjectID {
		t.Fatalf("B verifies A's token: %+v %v", p, err)
	}
	_, oerr = pollDevice(n.b, dc)
	wantOAuth(t, "redeemed, on B", oerr, "expired_token", 70020)
	_, oerr = pollDevice(n.a, dc)
	wantOAuth(t, "redeemed, on A", oerr, "expired_token", 70020)
	if err := n.a.ApproveDevice(ctx, uc, n.user.UPN, signInPassword); !errors.Is(err, ErrSignIn) {
		t.Fatalf("approving a redeemed code: %v", err)
	}
	if keys := n.pendingKeys(t, dc, uc); len(keys) != 0 {
		t.Fatalf("left after redemption: %v", keys)
	}
}

func mustTenant(t *testing.T, s *Service) string {
	t.Helper()
	ten, err := s.Dir.Tenant(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return ten.ID
}

// TestAuthCodeAcrossNodes: an authorization code issued by node A is
// redeemed at node B, once; A then refuses it.
func TestAuthCodeAcrossNodes(t *testing.T) {
	n := newSignInNodes(t)
	code := n.authorize(t, n.a, "one")
	if keys := n.pendingKeys(t, code); len(keys) != 1 {
		t.Fatalf("pending records: %v", keys)
	}
	tok, oerr := redeemCode(n.b, code, "one")
	if oerr != nil || tok.IDToken == "" {
		t.Fatalf("redeem on B: %+v %v", tok, oerr)
	}
	_, oerr = redeemCode(n.a, code, "one")
	wantOAuth(t, "again on A", oerr, "invalid_grant", 70008)
	_, oerr = redeemCode(n.b, "", "one")
	wantOAuth(t, "no code", oerr, "invalid_grant", 70008)

	// A failed redemption on one node uses the code up for the other.
	code = n.authorize(t, n.b, "two")
	_, oerr = redeemCode(n.a, code, "wrong")
	wantOAuth(t, "wrong verifier", oerr, "invalid_grant", 501481)
	_, oerr = redeemCode(n.b, code, "two")
	wantOAuth(t, "after a failed redemption", oerr, "invalid_grant", 70008)
	if keys := n.pendingKeys(t, code); len(keys) != 0 {
		t.Fatalf("left after redemption: %v", keys)
	}
}

// race runs a and b at once and returns their errors.
func race(a, b func() *OAuthError) (*OAuthError, *OAuthError) {
	var wg sync.WaitGroup
	var ea, eb *OAuthError
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; ea = a() }()
	go func() { defer wg.Done(); <-start; eb = b() }()
	close(start)
	wg.Wait()
	return ea, eb
}

// TestRedeemOnceAcrossNodes: the two nodes redeem one code at the same
// time; exactly one gets tokens.
func TestRedeemOnceAcrossNodes(t *testing.T) {
	n := newSignInNodes(t)
	for i := range 3 {
		seed := fmt.Sprint("race", i)
		code := n.authorize(t, n.a, seed)
		redeem := func(s *Service) func() *OAuthError {
			return func() *OAuthError { _, oerr := redeemCode(s, code, seed); return oerr }
		}
		ea, eb := race(redeem(n.a), redeem(n.b))
		if (ea == nil) == (eb == nil) {
			t.Fatalf("authorization code %d: A %v, B %v; want exactly one redemption", i, ea, eb)
		}
		loser := ea
		if loser == nil {
			loser = eb
		}
		wantOAuth(t, "the losing redemption", loser, "invalid_grant", 70008)
	}
	for i := range 3 {
		dc, uc := n.startDevice(t, n.b, "192.0.2.2")
		if err := n.a.ApproveDevice(context.Background(), uc, n.user.UPN, signInPassword); err != nil {
			t.Fatal(err)
		}
		poll := func(s *Service) func() *OAuthError {
			return func() *OAuthError { _, oerr := pollDevice(s, dc); return oerr }
		}
		ea, eb := race(poll(n.a), poll(n.b))
		if (ea == nil) == (eb == nil) {
			t.Fatalf("device code %d: A %v, B %v; want exactly one redemption", i, ea, eb)
		}
		loser := ea
		if loser == nil {
			loser = eb
		}
		wantOAuth(t, "the losing poll", loser, "expired_token", 70020)
	}
}

// TestSignInExpiry: on the injected clock, codes lapse after their
// lifetimes wherever they are used, and what lapsed is removed: by the
// flow that meets it, or by PurgeExpiredSignIns on any node.
func TestSignInExpiry(t *testing.T) {
	n := newSignInNodes(t)
	ctx := context.Background()

	// Met by the flows.
	dc, uc := n.startDevice(t, n.a, "192.0.2.1")
	code := n.authorize(t, n.a, "late")
	n.clock.Advance(AuthCodeLifetime)
	if _, oerr := pollDevice(n.b, dc); oerr == nil || oerr.Code != "authorization_pending" {
		t.Fatalf("device code at 10 minutes: %v", oerr)
	}
	n.clock.Advance(time.Second)
	_, oerr := redeemCode(n.b, code, "late")
	wantOAuth(t, "lapsed authorization code", oerr, "invalid_grant", 70008)
	n.clock.Advance(DeviceCodeLifetime - AuthCodeLifetime)
	if err := n.b.ApproveDevice(ctx, uc, n.user.UPN, signInPassword); !errors.Is(err, ErrSignIn) {
		t.Fatalf("approving a lapsed code: %v", err)
	}
	_, oerr = pollDevice(n.a, dc)
	wantOAuth(t, "lapsed device code", oerr, "expired_token", 70020)
	if keys := n.pendingKeys(t); len(keys) != 0 {
		t.Fatalf("left after lapsing: %v", keys)
	}

	// An approved code lapses too.
	dc, uc = n.startDevice(t, n.a, "192.0.2.1")
	if err := n.b.ApproveDevice(ctx, uc, n.user.UPN, signInPassword); err != nil {
		t.Fatal(err)
	}
	n.clock.Advance(DeviceCodeLifetime + time.Second)
	_, oerr = pollDevice(n.a, dc)
	wantOAuth(t, "lapsed approved device code", oerr, "expired_token", 70020)

	// Swept: more than a page of records, some lapsed.
	for i := range 40 {
		n.startDevice(t, n.a, fmt.Sprint("198.51.100.", i)) // two records each
	}
	n.authorize(t, n.b, "swept")
	n.clock.Advance(AuthCodeLifetime + time.Second)
	keepDC, keepUC := n.startDevice(t, n.b, "192.0.2.9")
	if got, err := n.b.PurgeExpiredSignIns(ctx); err != nil || got != 1 {
		t.Fatalf("purge before the device codes lapse: %d %v, want the authorization code", got, err)
	}
	if keys := n.pendingKeys(t); len(keys) != 82 {
		t.Fatalf("%d records after the first purge, want 82", len(keys))
	}
	n.clock.Advance(DeviceCodeLifetime - AuthCodeLifetime)
	got, err := n.b.PurgeExpiredSignIns(ctx)
	if err != nil || got != 80 {
		t.Fatalf("purge: %d %v, want 80 records", got, err)
	}
	if keys := n.pendingKeys(t, keepDC, keepUC); len(keys) != 2 {
		t.Fatalf("after the purge: %v", keys)
	}
	if err := n.a.ApproveDevice(ctx, keepUC, n.user.UPN, signInPassword); err != nil {
		t.Fatalf("the code that did not lapse: %v", err)
	}
	if got, err := n.a.PurgeExpiredSignIns(ctx); err != nil || got != 0 {
		t.Fatalf("purge again: %d %v", got, err)
	}
}

// TestDeviceCodeLimits: device codes are limited per source address (a
// burst, then one every few seconds) and per node (maxPendingPerNode
// pending at once, here lowered); over a limit the answer is 429 with
// Retry-After, and the limits are the node's own.
func TestDeviceCodeLimits(t *testing.T) {
	n := newSignInNodes(t)
	start := func(s *Service, addr string) *OAuthError {
		ctx := WithSourceAddr(context.Background(), addr)
		_, oerr := s.DeviceAuthorization(ctx, "adfs", url.Values{"client_id": {signInClient}, "scope": {signInScope}}, "https://x/devicelogin")
		return oerr
	}
	for i := range deviceIssueBurst {
		if oerr := start(n.a, "192.0.2.1"); oerr != nil {
			t.Fatalf("code %d: %v", i+1, oerr)
		}
	}
	oerr := start(n.a, "192.0.2.1")
	wantOAuth(t, "over the address's burst", oerr, "temporarily_unavailable", 90055)
	if oerr != nil && (oerr.Status != 429 || oerr.RetryAfter != int(deviceIssueEvery/time.Second)) {
		t.Errorf("over the address's burst: %d, Retry-After %d", oerr.Status, oerr.RetryAfter)
	}
	if oerr := start(n.a, "192.0.2.2"); oerr != nil {
		t.Errorf("another address: %v", oerr)
	}
	n.clock.Advance(deviceIssueEvery)
	if oerr := start(n.a, "192.0.2.1"); oerr != nil {
		t.Errorf("after %v: %v", deviceIssueEvery, oerr)
	}

	n.b.pending().devices.max = 2
	for i := range 2 {
		if oerr := start(n.b, fmt.Sprint("203.0.113.", i)); oerr != nil {
			t.Fatalf("node B, code %d: %v", i+1, oerr)
		}
	}
	n.clock.Advance(time.Minute)
	oerr = start(n.b, "203.0.113.9")
	wantOAuth(t, "over the node's pending codes", oerr, "temporarily_unavailable", 90055)
	if oerr != nil && oerr.RetryAfter != int((DeviceCodeLifetime-time.Minute)/time.Second)+1 {
		t.Errorf("Retry-After %d", oerr.RetryAfter)
	}
	if oerr := start(n.a, "203.0.113.9"); oerr != nil {
		t.Errorf("node A is not limited by B's count: %v", oerr)
	}
	n.clock.Advance(DeviceCodeLifetime - time.Minute + time.Second)
	if oerr := start(n.b, "203.0.113.9"); oerr != nil {
		t.Errorf("once B's codes lapsed: %v", oerr)
	}

	// Parameters a code would keep are bounded.
	long := url.Values{"client_id": {strings.Repeat("c", maxPendingFields)}, "scope": {signInScope}}
	_, oerr = n.a.DeviceAuthorization(context.Background(), "adfs", long, "https://x/devicelogin")
	wantOAuth(t, "a long client id", oerr, "invalid_request", 50000)
}
