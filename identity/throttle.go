package identity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca"
)

// Throttle limits failed credential checks per key: a client id, a user
// name or a source address. Each key has a bucket of Burst failures that
// refills at one per Every (Entra's smart lockout allows about ten failures
// a minute); while a key's bucket is empty, attempts for it are refused
// before any credential is checked, so wrong secrets cost no hashing. Only
// failures are charged: a caller who signs in correctly is never slowed
// while its bucket has room.
type Throttle struct {
	Clock   arca.Clock
	Burst   float64       // failures allowed at once per key
	Every   time.Duration // one more failure allowed per Every
	MaxKeys int           // keys tracked at once; beyond, new keys are refused until buckets refill

	mu   sync.Mutex
	keys map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Default throttle settings: 10 failures at once, then one every 6 s, per
// client id or user; 30 at once, then one every 2 s, per source address.
const (
	keyBurst, keyEvery   = 10, 6 * time.Second
	addrBurst, addrEvery = 30, 2 * time.Second
	maxThrottleKeys      = 100_000
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

// Wait is zero when key may make another attempt now, else how long until
// it may.
func (t *Throttle) Wait(key string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.keys[key]
	if b == nil {
		if len(t.keys) >= t.MaxKeys && !t.sweepLocked() {
			return t.Every // too many keys under attack at once: refuse new ones
		}
		return 0
	}
	t.refill(b, t.Clock.Now())
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(t.Every))
}

// Fail charges one failed attempt to key.
func (t *Throttle) Fail(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.Clock.Now()
	b := t.keys[key]
	if b == nil {
		if t.keys == nil {
			t.keys = map[string]*bucket{}
		}
		if len(t.keys) >= t.MaxKeys && !t.sweepLocked() {
			return
		}
		b = &bucket{tokens: t.Burst, last: now}
		t.keys[key] = b
	}
	t.refill(b, now)
	b.tokens = math.Max(b.tokens-1, -t.Burst) // bounded debt: a lockout lasts at most 2*Burst*Every
}

// sweepLocked drops buckets that have refilled (they hold no state) and
// reports whether there is room for a new key.
func (t *Throttle) sweepLocked() bool {
	now := t.Clock.Now()
	for k, b := range t.keys {
		t.refill(b, now)
		if b.tokens >= t.Burst {
			delete(t.keys, k)
		}
	}
	return len(t.keys) < t.MaxKeys
}

// throttles are the token service's limits on failed sign-ins.
type throttles struct {
	key  *Throttle // per client id and per user name
	addr *Throttle // per source address
	slow chan struct{}
}

func (s *Service) throttle() *throttles {
	s.throttleOnce.Do(func() {
		s.th = &throttles{key: newThrottle(s.Clock, keyBurst, keyEvery), addr: newThrottle(s.Clock, addrBurst, addrEvery),
			slow: make(chan struct{}, 1)}
	})
	return s.th
}

type sourceKey struct{}

// WithSourceAddr records the caller's network address for throttling.
func WithSourceAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, sourceKey{}, addr)
}

func sourceAddr(ctx context.Context) string {
	a, _ := ctx.Value(sourceKey{}).(string)
	return a
}

// throttled reports the wait before another attempt for the identity key
// (a client id or user name) from ctx's source address; zero means go.
func (s *Service) throttled(ctx context.Context, identityKey string) (time.Duration, bool) {
	th := s.throttle()
	if w := th.addr.Wait("addr:" + sourceAddr(ctx)); w > 0 {
		return w, false
	}
	return th.key.Wait(strings.ToLower(identityKey)), true
}

// failed charges a failed attempt to the identity key and the source.
func (s *Service) failed(ctx context.Context, identityKey string) {
	th := s.throttle()
	th.addr.Fail("addr:" + sourceAddr(ctx))
	th.key.Fail(strings.ToLower(identityKey))
}

// slowCheck runs a slow hash comparison (bcrypt) with at most one running
// at a time, so guessing cannot take more than one core from other callers.
func (s *Service) slowCheck(ctx context.Context, check func() bool) (bool, error) {
	th := s.throttle()
	select {
	case th.slow <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-th.slow }()
	return check(), nil
}

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
