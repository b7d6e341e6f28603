package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/arcakv/arca"
)

// Throttle limits credential checks that fail, per key: a client id, a
// user, a source address. Each key has a bucket of Burst attempts that
// refills at one per Every (Entra's smart lockout allows about ten failures
// a minute). An attempt takes a token before its credential is checked
// (Take, atomically, so concurrent attempts cannot all slip past the
// budget) and gives it back when the credential was right (Refund): only
// failures are charged. While a key's bucket is empty its attempts are
// refused before any check, so guesses cost no hashing.
//
// The buckets are kept in memory, per node: when several Arca nodes share
// one store, each has its own, so N nodes admit up to N times as many
// guesses overall.
type Throttle struct {
	Clock   arca.Clock
	Burst   float64       // attempts allowed at once per key
	Every   time.Duration // one more attempt allowed per Every
	MaxKeys int           // keys tracked at once (0: 100,000); beyond, the least recently charged are dropped

	mu        sync.Mutex
	keys      map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Default throttle settings: 10 failures at once, then one every 6 s, per
// client id and per user from one address; 50 at once, then one every 2 s,
// per user from anywhere; 30 at once, then one every 2 s, per address.
const (
	keyBurst, keyEvery   = 10, 6 * time.Second
	userBurst, userEvery = 50, 2 * time.Second
	addrBurst, addrEvery = 30, 2 * time.Second
	maxThrottleKeys      = 100_000
	maxSlowWaiting       = 16 // slow hash checks queued behind the running one
)

func newThrottle(c arca.Clock, burst float64, every time.Duration) *Throttle {
	return &Throttle{Clock: c, Burst: burst, Every: every, MaxKeys: maxThrottleKeys}
}

// refill brings b up to date at now; callers hold t.mu.
func (t *Throttle) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(t.Burst, b.tokens+float64(el)/float64(t.Every))
	}
	b.last = now
}

// Take takes one attempt from key's bucket. It returns zero when the
// attempt may go ahead, else how long until one may (and takes nothing).
func (t *Throttle) Take(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Clock.Now()
	b := t.keys[key]
	if b == nil {
		if t.keys == nil {
			t.keys = map[string]*bucket{}
		}
		t.makeRoomLocked(now)
		b = &bucket{tokens: t.Burst, last: now}
		t.keys[key] = b
	}
	t.refill(b, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(t.Every))
	}
	b.tokens--
	return 0
}

// Refund gives back an attempt Take took, for a credential that was right.
func (t *Throttle) Refund(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.keys[key]; b != nil {
		t.refill(b, t.Clock.Now())
		b.tokens = math.Min(t.Burst, b.tokens+1)
	}
}

// makeRoomLocked keeps the table under MaxKeys: at most once per Every it
// drops the buckets that have refilled (they hold no state); if the table is
// still full it drops the least recently charged one.
func (t *Throttle) makeRoomLocked(now time.Time) {
	max := t.MaxKeys
	if max <= 0 {
		max = maxThrottleKeys
	}
	if len(t.keys) < max {
		return
	}
	if now.Sub(t.lastSweep) >= t.Every {
		t.lastSweep = now
		for k, b := range t.keys {
			t.refill(b, now)
			if b.tokens >= t.Burst {
				delete(t.keys, k)
			}
		}
	}
	for len(t.keys) >= max {
		var oldest string
		var at time.Time
		for k, b := range t.keys {
			if oldest == "" || b.last.Before(at) {
				oldest, at = k, b.last
			}
		}
		delete(t.keys, oldest)
	}
}

// throttles are the token service's limits on failed sign-ins.
type throttles struct {
	key  *Throttle // per client id, and per user from one address
	user *Throttle // per user from anywhere
	addr *Throttle // per source address (IPv6 by /64)
	slow chan struct{}
	wait chan struct{} // places in the queue for slow
}

func (s *Service) throttle() *throttles {
	s.throttleOnce.Do(func() {
		s.th = &throttles{key: newThrottle(s.Clock, keyBurst, keyEvery), user: newThrottle(s.Clock, userBurst, userEvery),
			addr: newThrottle(s.Clock, addrBurst, addrEvery), slow: make(chan struct{}, 1), wait: make(chan struct{}, maxSlowWaiting)}
	})
	return s.th
}

type sourceKey struct{}

// WithSourceAddr records the caller's network address for throttling.
func WithSourceAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

// sourceAddr is the caller's address as a throttle key: an IPv4 address, or
// the /64 of an IPv6 one (a single host can hold a whole /64).
func sourceAddr(ctx context.Context) string {
	a, _ := ctx.Value(sourceKey{}).(string)
	return "addr:" + AddrKey(a)
}

// AddrKey groups an address for per-client limits: IPv4 (and IPv4-mapped)
// addresses stand for themselves, IPv6 addresses for their /64.
func AddrKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// attempt is one credential check under the throttle.
type attempt struct {
	taken []bucketKey
}

// bucketKey names one bucket: a key of a throttle.
type bucketKey struct {
	t   *Throttle
	key string
}

// begin takes an attempt from the caller's address and from each of keys.
// It fails with the wait of the first empty bucket, and whether that was
// the address's; nothing stays taken then.
func (s *Service) begin(ctx context.Context, keys ...bucketKey) (*attempt, time.Duration, bool) {
	a := &attempt{}
	for i, b := range append([]bucketKey{{s.throttle().addr, sourceAddr(ctx)}}, keys...) {
		if w := b.t.Take(b.key); w > 0 {
			a.succeeded() // give back what was taken before this one
			return nil, w, i == 0
		}
		a.taken = append(a.taken, b)
	}
	return a, 0, false
}

// succeeded refunds the attempt: the credential was right.
func (a *attempt) succeeded() {
	for _, k := range a.taken {
		k.t.Refund(k.key)
	}
	a.taken = nil
}

// slowCheck runs a slow hash comparison (bcrypt) with at most one running
// at a time and maxSlowWaiting queued, so guessing cannot take more than one
// core from other callers. ok is false with errBusy when the queue is full.
func (s *Service) slowCheck(ctx context.Context, check func() bool) (bool, error) {
	th := s.throttle()
	select {
	case th.wait <- struct{}{}:
	default:
		return false, errBusy
	}
	defer func() { <-th.wait }()
	select {
	case th.slow <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-th.slow }()
	return check(), nil
}

// errBusy: too many slow credential checks are waiting.
var errBusy = errors.New("identity: too many sign-ins waiting")

// retrySeconds rounds a wait up to whole seconds for Retry-After.
func retrySeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// errThrottled is Entra's answer to a caller over its failure budget: 429
// with Retry-After (AADSTS90055, too many requests).
func errThrottled(wait time.Duration) *OAuthError {
	e := oauthErr(429, "temporarily_unavailable", 90055,
		"Too many failed sign-in attempts from this client or address. Retry after %d seconds.", retrySeconds(wait))
	e.RetryAfter = retrySeconds(wait)
	return e
}

// errLocked is Entra's smart-lockout answer for a user name (AADSTS50053).
func errLocked(wait time.Duration) *OAuthError {
	e := oauthErr(400, "invalid_grant", 50053,
		"The account is locked because the user tried to sign in too many times with an incorrect user ID or password.")
	e.RetryAfter = retrySeconds(wait)
	return e
}

// Client secrets are 40 random characters that Arca generates (≈240 bits):
// no guessing attack is helped by a fast hash, so they are kept as a salted
// HMAC-SHA-256 instead of bcrypt, and checking a wrong one costs
// microseconds. Passwords that people choose keep bcrypt.
const secretAlgHMAC = "hmac-sha256"

func hmacSecret(salt []byte, secret string) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

func (c *SecretCredential) fastMatch(secret string) bool {
	return subtle.ConstantTimeCompare(hmacSecret(c.Salt, secret), c.Hash) == 1
}
