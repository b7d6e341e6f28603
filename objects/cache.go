package objects

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"github.com/arcakv/arca/storage"
)

// Bounds of each decode cache: entries and plaintext bytes.
const (
	maxDecoded      = 20000
	maxDecodedBytes = 32 << 20
)

// decodeCache memoises JSON decoding by the SHA-256 of the plaintext:
// content-addressed, so it never needs invalidation. Reads are the hot path
// and decoding dominates their cost once TLS is paid. Cached values are
// shared: callers of the read paths must not modify what they get.
type decodeCache[V any] struct {
	mu    sync.RWMutex
	m     map[[32]byte]V
	bytes int
}

func (c *decodeCache[V]) get(r storage.Reader, key string) (V, error) {
	var zero V
	b, err := r.Get(key)
	if err != nil {
		return zero, err
	}
	return c.decode(b)
}

// decode returns the decoded value of plaintext b, from the cache when seen.
func (c *decodeCache[V]) decode(b []byte) (V, error) {
	var zero V
	sum := sha256.Sum256(b)
	c.mu.RLock()
	v, ok := c.m[sum]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return zero, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxDecoded || c.bytes+len(b) > maxDecodedBytes {
		c.m, c.bytes = make(map[[32]byte]V), 0
	}
	c.m[sum] = v
	c.bytes += len(b)
	c.mu.Unlock()
	return v, nil
}
