package barrier

import (
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// SealWithRootKey seals plain directly under the root key, for the few
// small files that must be readable without opening the store (the
// development credentials `arca env` prints while `arca serve` holds the
// database lock).
func SealWithRootKey(rootKey, aad, plain []byte) ([]byte, error) {
	a, err := newAEAD(rootKey)
	if err != nil {
		return nil, err
	}
	return seal(a, rand.Reader, 0, plain, aad)
}

// OpenWithRootKey opens a blob made by SealWithRootKey.
func OpenWithRootKey(rootKey, aad, ct []byte) ([]byte, error) {
	a, err := newAEAD(rootKey)
	if err != nil {
		return nil, fmt.Errorf("barrier: root key: %w", err)
	}
	return open(map[uint32]cipher.AEAD{0: a}, ct, aad)
}
