// Package vaults implements arca.VaultService over a storage.Backend, with a
// read-through cache: every data-plane request resolves its vault.
package vaults

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

const prefix = "vault/"

// Service implements arca.VaultService.
type Service struct {
	Store storage.Backend
	Clock arca.Clock

	mu    sync.RWMutex
	cache map[string]*arca.Vault
}

var _ arca.VaultService = (*Service)(nil)

// New returns a Service over store.
func New(store storage.Backend, clock arca.Clock) *Service {
	return &Service{Store: store, Clock: clock, cache: map[string]*arca.Vault{}}
}

func notFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "VaultNotFound", "The vault %s was not found in this deployment.", name)
}

// Vault implements arca.VaultService. The returned vault must not be modified.
func (s *Service) Vault(ctx context.Context, name string) (*arca.Vault, error) {
	key := strings.ToLower(name)
	s.mu.RLock()
	v := s.cache[key]
	s.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	var out arca.Vault
	err := s.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(prefix + key)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &out)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notFound(name)
	}
	if err != nil {
		return nil, arca.Internal(err)
	}
	s.mu.Lock()
	s.cache[key] = &out
	s.mu.Unlock()
	return &out, nil
}

// CreateVault implements arca.VaultService.
func (s *Service) CreateVault(ctx context.Context, v *arca.Vault) error {
	if !arca.ValidVaultName(v.Name) {
		return arca.Errorf(arca.KindInvalid, "VaultNameNotValid",
			"The vault name '%s' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.", v.Name)
	}
	if v.RetentionDays == 0 {
		v.RetentionDays = arca.DefaultRetentionDays
	}
	if v.RetentionDays < 7 || v.RetentionDays > 90 {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The soft delete retention period must be between 7 and 90 days.")
	}
	if v.SKU == "" {
		v.SKU = "standard"
	}
	if v.Created.IsZero() {
		v.Created = s.Clock.Now().UTC()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return arca.Internal(err)
	}
	key := strings.ToLower(v.Name)
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(prefix + key); err == nil {
			return arca.Errorf(arca.KindConflict, "VaultAlreadyExists", "A vault with the name '%s' already exists.", v.Name)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return tx.Put(prefix+key, b)
	})
	if err != nil {
		if arca.KindOf(err) != arca.KindInternal {
			return err
		}
		return arca.Internal(err)
	}
	s.mu.Lock()
	delete(s.cache, key)
	s.mu.Unlock()
	return nil
}

// ListVaults implements arca.VaultService.
func (s *Service) ListVaults(ctx context.Context) ([]*arca.Vault, error) {
	var out []*arca.Vault
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var derr error
		err := r.Scan(prefix, "", func(_ string, b []byte) bool {
			var v arca.Vault
			if derr = json.Unmarshal(b, &v); derr != nil {
				return false
			}
			out = append(out, &v)
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	if err != nil {
		return nil, arca.Internal(err)
	}
	return out, nil
}
