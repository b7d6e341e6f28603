package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/arcakv/arca/storage"
)

// Pending interactive sign-ins (device codes, their user codes and
// authorization codes) live in the store, sealed by the barrier, so that
// any node of a shared store can carry a flow on: a device code issued by
// one node is approved through a second and redeemed at a third. A code is
// a bearer secret: the store keeps only its SHA-256 (hex) as the key of
// its record, never the code itself. Every change of a flow's state is one
// storage.Update, so a code is redeemed at most once whichever nodes race
// for it. Expired records are removed when a flow meets them and by
// PurgeExpiredSignIns.
//
// A user code has about 38 bits, so its hash, which the store's keys show
// in clear, could be reversed by someone who reads the raw store; that
// names a pending code (valid for minutes, and useful only with a password
// of the tenant), never the device code it stands for.
const (
	pendingPrefix  = "id/pending/"
	devicePrefix   = "id/pending/device/" // <hex sha256 of the device code>
	userCodePrefix = "id/pending/user/"   // <hex sha256 of the normalized user code>
	authCodePrefix = "id/pending/code/"   // <hex sha256 of the authorization code>
)

// Bounds on what callers may leave pending in the store.
const (
	// maxPendingPerNode is how many device codes, and separately how many
	// authorization codes, one node issues that may still be pending: an
	// issued code counts until it expires, redeemed or not.
	maxPendingPerNode = 10_000
	// deviceIssueBurst device codes at once, then one every deviceIssueEvery,
	// per source address and node.
	deviceIssueBurst, deviceIssueEvery = 20, 3 * time.Second
	// maxPendingFields bounds the request parameters a pending code keeps
	// (client id, scope, redirect URI, PKCE challenge, nonce), in bytes.
	maxPendingFields = 4096
	// purgePage is how many records one step of PurgeExpiredSignIns reads
	// and at most deletes in one transaction (etcd allows 128 operations).
	purgePage = 64
)

// deviceRecord is a pending device code (key: devicePrefix + hash).
type deviceRecord struct {
	UserCode string    `json:"uc"` // key of its user code record
	ClientID string    `json:"clientId"`
	Scope    string    `json:"scope"`
	UserOID  string    `json:"oid,omitempty"` // set once a person approved
	Expires  time.Time `json:"exp"`
}

// userCodeRecord leads from a user code to its device code (key:
// userCodePrefix + hash).
type userCodeRecord struct {
	Device  string    `json:"device"` // key of the device record
	Expires time.Time `json:"exp"`
}

// authCodeRecord is a pending authorization code (key: authCodePrefix +
// hash).
type authCodeRecord struct {
	ClientID    string    `json:"clientId"`
	RedirectURI string    `json:"redirectUri"`
	Scope       string    `json:"scope"`
	Challenge   string    `json:"challenge"`
	Method      string    `json:"method"`
	Nonce       string    `json:"nonce,omitempty"`
	UserOID     string    `json:"oid"`
	Expires     time.Time `json:"exp"`
}

// pendingKey is the storage key of code under prefix: its SHA-256.
func pendingKey(prefix, code string) string {
	h := sha256.Sum256([]byte(code))
	return prefix + hex.EncodeToString(h[:])
}

// getRecord reads the JSON record under key into v. It reports false
// (and no error) when there is none; a record that does not decode is an
// error.
func getRecord(r storage.Reader, key string, v any) (bool, error) {
	b, err := r.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, v)
}

// putRecord stores v as JSON under key.
func putRecord(tx storage.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b)
}

// readPending reads the record under key in a read-only transaction: a
// code that is not stored (a guess) costs no write.
func (s *Service) readPending(ctx context.Context, key string, v any) (bool, error) {
	var found bool
	err := s.Dir.Store.View(ctx, func(r storage.Reader) error {
		var err error
		found, err = getRecord(r, key, v)
		return err
	})
	return found, err
}

// interactive is what one node keeps of the sign-in flows: only its
// admission limits; the flows themselves are in the store.
type interactive struct {
	mu      sync.Mutex
	devices window // device codes this node issued that may be pending
	codes   window // authorization codes likewise
	issue   *Throttle
}

func (s *Service) pending() *interactive {
	s.interactiveOnce.Do(func() {
		s.ia = &interactive{devices: window{max: maxPendingPerNode}, codes: window{max: maxPendingPerNode},
			issue: newThrottle(s.Clock, deviceIssueBurst, deviceIssueEvery)}
	})
	return s.ia
}

// window counts the codes a node issued until each expires.
type window struct {
	max  int
	exps []time.Time // in the order issued: ascending while the clock does not go back
}

// admit records a code issued at now that expires at exp, unless max codes
// are still unexpired; then it returns false and how long until the first
// of them expires.
func (w *window) admit(now, exp time.Time) (time.Duration, bool) {
	i := 0
	for i < len(w.exps) && now.After(w.exps[i]) {
		i++
	}
	w.exps = w.exps[i:]
	if len(w.exps) >= w.max {
		return w.exps[0].Sub(now) + time.Second, false
	}
	w.exps = append(w.exps, exp)
	return 0, true
}

// admitDevice admits one more device code from the caller's address at
// now, or returns Entra's 429 with Retry-After: the address has used up
// its burst, or this node has maxPendingPerNode device codes pending.
func (s *Service) admitDevice(ctx context.Context, now time.Time) *OAuthError {
	p := s.pending()
	if wait := p.issue.Take(sourceAddr(ctx)); wait > 0 {
		return errTooManyPending(wait)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if wait, ok := p.devices.admit(now, now.Add(DeviceCodeLifetime)); !ok {
		return errTooManyPending(wait)
	}
	return nil
}

// admitAuthCode admits one more authorization code at now, or returns a
// *throttleError when this node has maxPendingPerNode of them pending.
func (s *Service) admitAuthCode(now time.Time) error {
	p := s.pending()
	p.mu.Lock()
	defer p.mu.Unlock()
	if wait, ok := p.codes.admit(now, now.Add(AuthCodeLifetime)); !ok {
		return &throttleError{wait: wait}
	}
	return nil
}

// errTooManyPending is the answer to a device authorization over the
// limits: 429 with Retry-After (AADSTS90055, too many requests).
func errTooManyPending(wait time.Duration) *OAuthError {
	e := oauthErr(429, "temporarily_unavailable", 90055,
		"Too many pending sign-ins from this client or address. Retry after %d seconds.", retrySeconds(wait))
	e.RetryAfter = retrySeconds(wait)
	return e
}

// errSignInState is the token endpoint's answer when the store of pending
// sign-ins fails.
func errSignInState() *OAuthError {
	return oauthErr(500, "temporarily_unavailable", 50000, "The sign-in state could not be read or written.")
}

// random returns the service's source of randomness: the directory's
// (crypto/rand when it has none).
func (s *Service) random() io.Reader {
	if s.Dir != nil && s.Dir.Rand != nil {
		return s.Dir.Rand
	}
	return rand.Reader
}

// randToken returns n random bytes from r, base64url-encoded.
func randToken(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// userCodeAlphabet avoids look-alike characters.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"

// newUserCode returns eight characters of userCodeAlphabet read from r,
// without modulo bias.
func newUserCode(r io.Reader) (string, error) {
	const limit = 256 - 256%len(userCodeAlphabet)
	out := make([]byte, 0, 8)
	b := make([]byte, 16)
	for len(out) < 8 {
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		for _, c := range b {
			if int(c) < limit && len(out) < 8 {
				out = append(out, userCodeAlphabet[int(c)%len(userCodeAlphabet)])
			}
		}
	}
	return string(out), nil
}

// PurgeExpiredSignIns removes the pending interactive sign-ins that have
// expired (device codes, user codes, authorization codes), from every
// node, and returns how many records it removed. It reads the records a
// page at a time and deletes each page's expired ones in one transaction
// of at most purgePage deletes, checking again in it that each is still
// expired; a record under the prefix that does not decode can never be
// used and goes too. It is meant for the scheduler (one node at a time,
// every minute or so; running it on several nodes at once is harmless).
// What it removed before a failure stays removed: it returns the count so
// far with the store's error, or ctx's.
func (s *Service) PurgeExpiredSignIns(ctx context.Context) (int, error) {
	now := s.Clock.Now()
	expired := func(b []byte) bool {
		var rec struct {
			Expires time.Time `json:"exp"`
		}
		return json.Unmarshal(b, &rec) != nil || now.After(rec.Expires)
	}
	n, after := 0, ""
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var keys []string
		var last string
		full := false
		err := s.Dir.Store.View(ctx, func(r storage.Reader) error {
			keys, last, full = keys[:0], after, false
			seen := 0
			return r.Scan(pendingPrefix, after, func(k string, v []byte) bool {
				seen++
				last = k
				if expired(v) {
					keys = append(keys, k)
				}
				full = seen == purgePage
				return !full
			})
		})
		if err != nil {
			return n, err
		}
		if len(keys) > 0 {
			var deleted int
			err = s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
				deleted = 0
				for _, k := range keys {
					b, err := tx.Get(k)
					if errors.Is(err, storage.ErrNotFound) {
						continue
					}
					if err != nil {
						return err
					}
					if !expired(b) {
						continue
					}
					if err := tx.Delete(k); err != nil {
						return err
					}
					deleted++
				}
				return nil
			})
			if err != nil {
				return n, err
			}
			n += deleted
		}
		if !full {
			return n, nil
		}
		after = last
	}
}
