// Package barrier is the encryption layer between Arca's services and the
// physical store. Every value written through a Barrier is sealed with
// AES-256-GCM under a data key (DEK); the DEKs form a keyring that is itself
// sealed under the root key (KEK) and stored in the backend. The storage key
// is bound to each ciphertext as additional data, so a value cannot be moved
// to another key undetected. Storage keys (names) are not encrypted: they
// hold object names, never secret material.
package barrier

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/arcakv/arca/storage"
)

// KeyringPath is the storage key of the sealed keyring. It is reserved.
const KeyringPath = "sys/keyring"

// ErrTampered means a ciphertext failed authentication: it was modified,
// moved, or sealed under another root key.
var ErrTampered = errors.New("barrier: ciphertext failed authentication")

const formatV1 = 1

// Barrier is a storage.Backend that encrypts values on their way to an
// inner backend. It also seals standalone blobs (backups) under the same
// keyring. Safe for concurrent use.
type Barrier struct {
	inner storage.Backend
	rand  io.Reader

	mu    sync.RWMutex
	terms map[uint32]cipher.AEAD
	cur   uint32
}

var (
	_ storage.Backend = (*Barrier)(nil)
	_ storage.Watcher = (*Barrier)(nil)
	_ storage.Elector = (*Barrier)(nil)
)

type keyring struct {
	Current uint32            `json:"current"`
	Keys    map[uint32][]byte `json:"keys"`
}

// Open unseals the keyring stored in inner with rootKey (32 bytes), creating
// a keyring with one fresh data key if none exists. random is the entropy
// source (crypto/rand.Reader in production).
func Open(ctx context.Context, inner storage.Backend, rootKey []byte, random io.Reader) (*Barrier, error) {
	kek, err := newAEAD(rootKey)
	if err != nil {
		return nil, fmt.Errorf("barrier: root key: %w", err)
	}
	b := &Barrier{inner: inner, rand: random}
	var kr keyring
	err = inner.Update(ctx, func(tx storage.Tx) error {
		sealed, err := tx.Get(KeyringPath)
		if errors.Is(err, storage.ErrNotFound) {
			dek := make([]byte, 32)
			if _, err := io.ReadFull(random, dek); err != nil {
				return err
			}
			kr = keyring{Current: 1, Keys: map[uint32][]byte{1: dek}}
			plain, _ := json.Marshal(kr)
			ct, err := seal(kek, random, 0, plain, []byte(KeyringPath))
			if err != nil {
				return err
			}
			return tx.Put(KeyringPath, ct)
		}
		if err != nil {
			return err
		}
		plain, err := open(map[uint32]cipher.AEAD{0: kek}, sealed, []byte(KeyringPath))
		if err != nil {
			return fmt.Errorf("barrier: cannot unseal the keyring (wrong root key?): %w", err)
		}
		return json.Unmarshal(plain, &kr)
	})
	if err != nil {
		return nil, err
	}
	b.terms = map[uint32]cipher.AEAD{}
	for term, k := range kr.Keys {
		a, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		b.terms[term] = a
	}
	b.cur = kr.Current
	if b.terms[b.cur] == nil {
		return nil, errors.New("barrier: keyring has no current key")
	}
	return b, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("want a 32-byte key, got %d bytes", len(key))
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

// seal produces version(1) | term(4) | nonce(12) | ciphertext+tag.
func seal(a cipher.AEAD, random io.Reader, term uint32, plain, aad []byte) ([]byte, error) {
	out := make([]byte, 5+a.NonceSize(), 5+a.NonceSize()+len(plain)+a.Overhead())
	out[0] = formatV1
	binary.BigEndian.PutUint32(out[1:5], term)
	if _, err := io.ReadFull(random, out[5:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[5:], plain, aad), nil
}

func open(terms map[uint32]cipher.AEAD, ct, aad []byte) ([]byte, error) {
	if len(ct) < 5 || ct[0] != formatV1 {
		return nil, ErrTampered
	}
	a := terms[binary.BigEndian.Uint32(ct[1:5])]
	if a == nil || len(ct) < 5+a.NonceSize()+a.Overhead() {
		return nil, ErrTampered
	}
	plain, err := a.Open(nil, ct[5:5+a.NonceSize()], ct[5+a.NonceSize():], aad)
	if err != nil {
		return nil, ErrTampered
	}
	return plain, nil
}

// Seal encrypts a standalone blob bound to aad under the current data key.
// Only a Barrier with the same keyring (the same deployment) can open it.
func (b *Barrier) Seal(aad, plain []byte) ([]byte, error) {
	b.mu.RLock()
	a, term := b.terms[b.cur], b.cur
	b.mu.RUnlock()
	return seal(a, b.rand, term, plain, aad)
}

// Unseal opens a blob made by Seal with the same aad; ErrTampered otherwise.
func (b *Barrier) Unseal(aad, ct []byte) ([]byte, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return open(b.terms, ct, aad)
}

func aadFor(key string) []byte { return []byte("arca/v1/" + key) }

// View implements storage.Backend; values are decrypted.
func (b *Barrier) View(ctx context.Context, fn func(storage.Reader) error) error {
	return b.inner.View(ctx, func(r storage.Reader) error { return fn(&tx{b: b, r: r}) })
}

// Update implements storage.Backend; values are encrypted.
func (b *Barrier) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return b.inner.Update(ctx, func(t storage.Tx) error { return fn(&tx{b: b, r: t, w: t}) })
}

// Close closes the inner backend.
func (b *Barrier) Close() error { return b.inner.Close() }

// The capabilities pass through: revisions, keys and leadership carry no
// values, and keys are stored in clear already. A Barrier has the methods
// whatever its inner backend is; each returns an error wrapping
// errors.ErrUnsupported when the inner backend lacks the capability.

func unsupported(capability string) error {
	return fmt.Errorf("barrier: the inner backend has no %s: %w", capability, errors.ErrUnsupported)
}

// Revision implements storage.Revisioned with the inner backend's revision.
func (b *Barrier) Revision(ctx context.Context) (int64, error) {
	r, ok := b.inner.(storage.Revisioned)
	if !ok {
		return 0, unsupported("revision")
	}
	return r.Revision(ctx)
}

// Watch implements storage.Watcher with the inner backend's events, less
// those of the reserved keyring key.
func (b *Barrier) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	w, ok := b.inner.(storage.Watcher)
	if !ok {
		return unsupported("watch")
	}
	return w.Watch(ctx, prefix, fromRev, func(e storage.Event) error {
		if reserved(e.Key) {
			return nil
		}
		return fn(e)
	})
}

// Campaign implements storage.Elector with the inner backend's elections.
func (b *Barrier) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	e, ok := b.inner.(storage.Elector)
	if !ok {
		return nil, unsupported("election")
	}
	return e.Campaign(ctx, name)
}

type tx struct {
	b *Barrier
	r storage.Reader
	w storage.Tx
}

func reserved(key string) bool { return key == KeyringPath }

func (t *tx) Get(key string) ([]byte, error) {
	if reserved(key) {
		return nil, storage.ErrNotFound
	}
	ct, err := t.r.Get(key)
	if err != nil {
		return nil, err
	}
	return t.b.Unseal(aadFor(key), ct)
}

func (t *tx) Scan(prefix, after string, fn func(string, []byte) bool) error {
	var ferr error
	err := t.r.Scan(prefix, after, func(k string, ct []byte) bool {
		if reserved(k) {
			return true
		}
		plain, err := t.b.Unseal(aadFor(k), ct)
		if err != nil {
			ferr = fmt.Errorf("barrier: %s: %w", k, err)
			return false
		}
		return fn(k, plain)
	})
	if err != nil {
		return err
	}
	return ferr
}

func (t *tx) Put(key string, value []byte) error {
	if reserved(key) {
		return fmt.Errorf("barrier: %s is reserved", key)
	}
	ct, err := t.b.Seal(aadFor(key), value)
	if err != nil {
		return err
	}
	return t.w.Put(key, ct)
}

func (t *tx) Delete(key string) error {
	if reserved(key) {
		return fmt.Errorf("barrier: %s is reserved", key)
	}
	return t.w.Delete(key)
}

// NewRootKey returns 32 random bytes for a new root key.
func NewRootKey() ([]byte, error) {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	return k, err
}

// Sealed is a storage.Backend whose values are sealed at rest. Services that
// keep secret material (secret values, private keys, signing keys, client
// secret hashes, the CA key) take a Sealed rather than a storage.Backend, so
// no wiring can hand them a store that would write plaintext. *Barrier is
// the implementation; a test wrapper stays Sealed by embedding one.
type Sealed interface {
	storage.Backend
	sealedAtRest()
}

func (b *Barrier) sealedAtRest() {}

var _ Sealed = (*Barrier)(nil)
