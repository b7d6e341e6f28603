package soft

import (
	"crypto"
	"crypto/sha256"
	"sync"
)

// maxCachedKeys bounds the parsed-key cache.
const maxCachedKeys = 4096

// keyCache keeps parsed private keys by the SHA-256 of their material:
// parsing (and, for RSA, validating and precomputing) a PKCS#8 key costs
// about as much as one signature, so every operation would pay twice.
type keyCache struct {
	mu   sync.RWMutex
	keys map[[32]byte]crypto.PrivateKey
}

func (c *keyCache) get(material []byte) (crypto.PrivateKey, error) {
	id := sha256.Sum256(material)
	c.mu.RLock()
	k, ok := c.keys[id]
	c.mu.RUnlock()
	if ok {
		return k, nil
	}
	k, err := parseMaterial(material)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[[32]byte]crypto.PrivateKey)
	}
	c.keys[id] = k
	c.mu.Unlock()
	return k, nil
}
