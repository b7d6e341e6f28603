// Package vaults implements arca.VaultService over a storage.Backend, with a
// read-through cache: every data-plane request resolves its vault.
package vaults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keyspace"
	"github.com/arcakv/arca/storage"
)

const (
	prefix        = "vault/"
	deletedPrefix = "vaultdel/"
)

// Service implements arca.VaultService.
type Service struct {
	Store storage.Backend
	Clock arca.Clock
	// PurgeData removes, in the purging transaction, every record the other
	// services keep for a vault (keyspace.Registry.PurgeVault); nil removes
	// only the vault's own record.
	PurgeData keyspace.PurgeFunc

	mu    sync.RWMutex
	cache map[string]*arca.Vault
	gen   atomic.Uint64
}

// Generation changes after every write to any vault (access policies
// included), so authorisation caches know when to drop their decisions: at
// once for the writes made through s, and, while Follow runs, for those
// made by the other processes sharing the store.
func (s *Service) Generation() uint64 { return s.gen.Load() }

// Follow keeps the cache in step with the store while other processes (the
// other Arca nodes of a shared store) write to it: it drops a vault's cache
// entry and moves Generation on for every change of the vault's record,
// wherever it was made, so that a revoked access policy, a deleted vault or
// a vault switched to RBAC applies here as soon as the store reports the
// change. It empties the cache when it starts and whenever the store lost
// track of the changes (storage.ErrCompacted), then goes on.
//
// Writes made through s drop their entry themselves, at once, whether or
// not Follow runs; their events drop it again, harmlessly. Follow runs
// until ctx ends; it returns as storage.Follow does: ctx's error, an error
// wrapping errors.ErrUnsupported at once when the store cannot watch (a
// single node needs nothing more than its own invalidation), or the error
// that stopped it, after which it may be called again.
func (s *Service) Follow(ctx context.Context) error {
	return storage.Follow(ctx, s.Store, prefix,
		func(context.Context) error { s.forgetAll(); return nil },
		func(e storage.Event) error { s.forget(strings.TrimPrefix(e.Key, prefix)); return nil })
}

var _ arca.VaultService = (*Service)(nil)

// New returns a Service over store. purgeData removes a purged vault's
// records (see Service.PurgeData); it may be nil.
func New(store storage.Backend, clock arca.Clock, purgeData keyspace.PurgeFunc) *Service {
	return &Service{Store: store, Clock: clock, PurgeData: purgeData, cache: map[string]*arca.Vault{}}
}

func notFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "VaultNotFound", "The vault %s was not found in this deployment.", name)
}

// Vault implements arca.VaultService. The returned vault must not be modified.
//
// A vault read from the store is cached only if no vault was written while
// it was being read: otherwise a read that saw the state before a write could
// cache it after the write invalidated the entry, and a revoked access policy
// would stay in force until the next write.
func (s *Service) Vault(ctx context.Context, name string) (*arca.Vault, error) {
	key := strings.ToLower(name)
	s.mu.RLock()
	v := s.cache[key]
	gen := s.gen.Load()
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
	if s.gen.Load() == gen {
		s.cache[key] = &out
	}
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
		if _, err := tx.Get(deletedPrefix + key); err == nil {
			return arca.Errorf(arca.KindConflict, "ConflictError",
				"Exist soft deleted vault with the same name. Recover or purge the deleted vault '%s' first.", v.Name)
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
	s.forget(key)
	return nil
}

// ListVaults implements arca.VaultService.
func (s *Service) ListVaults(ctx context.Context) ([]*arca.Vault, error) {
	return scanAll[arca.Vault](ctx, s.Store, prefix)
}

// scanAll decodes every record under prefix.
func scanAll[T any](ctx context.Context, store storage.Backend, prefix string) ([]*T, error) {
	var out []*T
	err := store.View(ctx, func(r storage.Reader) error {
		var derr error
		err := r.Scan(prefix, "", func(_ string, b []byte) bool {
			var v T
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

func wrap(err error) error {
	if err == nil {
		return nil
	}
	if arca.KindOf(err) != arca.KindInternal {
		return err
	}
	return arca.Internal(err)
}

// forget drops the cached vault key after a write and moves the generation
// on, both under the cache lock, so that a read that began before the write
// does not cache what it saw (see Vault).
func (s *Service) forget(key string) {
	s.mu.Lock()
	delete(s.cache, key)
	s.gen.Add(1)
	s.mu.Unlock()
}

// forgetAll empties the cache, as forget drops one entry.
func (s *Service) forgetAll() {
	s.mu.Lock()
	clear(s.cache)
	s.gen.Add(1)
	s.mu.Unlock()
}

// UpdateVault implements arca.VaultService: it replaces the stored vault
// with v (a blind write, see Update for read-modify-write) and sets
// v.Updated.
func (s *Service) UpdateVault(ctx context.Context, v *arca.Vault) error {
	out, err := s.Update(ctx, v.Name, func(cur *arca.Vault) error {
		*cur = *v
		return nil
	})
	if err != nil {
		return err
	}
	v.Updated = out.Updated
	return nil
}

// Update implements arca.VaultService. fn runs inside the storage
// transaction on a vault freshly decoded from the stored record (never the
// cached one), so it may modify it freely and sees every write committed
// before; fn is called again with a fresh copy if the backend re-runs the
// transaction. The result is checked against the stored state (checkUpdate),
// stamped with Updated and written in the same transaction. The cache entry
// is dropped after the transaction, whatever its outcome.
func (s *Service) Update(ctx context.Context, name string, fn func(*arca.Vault) error) (*arca.Vault, error) {
	key := strings.ToLower(name)
	var out *arca.Vault
	var fnErr error // fn's error, returned as it is
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		out, fnErr = nil, nil
		b, err := tx.Get(prefix + key)
		if errors.Is(err, storage.ErrNotFound) {
			return notFound(name)
		} else if err != nil {
			return err
		}
		var old, v arca.Vault
		if err := json.Unmarshal(b, &old); err != nil {
			return err
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if fnErr = fn(&v); fnErr != nil {
			return fnErr
		}
		if err := checkUpdate(&old, &v); err != nil {
			return err
		}
		v.Updated = s.Clock.Now().UTC()
		nb, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		if err := tx.Put(prefix+key, nb); err != nil {
			return err
		}
		out = &v
		return nil
	})
	s.forget(key)
	if fnErr != nil && errors.Is(err, fnErr) {
		return nil, fnErr
	}
	if err != nil {
		return nil, wrap(err)
	}
	return out, nil
}

// checkUpdate enforces the rules every write of an existing vault obeys,
// whoever makes it: the name is fixed; the soft-delete retention stays
// within 7-90 days and, once set, does not change; soft delete and purge
// protection, once enabled, cannot be disabled; purge protection requires
// soft delete. The errors are KindInvalid with Azure's texts (a rename is
// a bug of the caller: KindInternal).
func checkUpdate(old, v *arca.Vault) error {
	if !strings.EqualFold(old.Name, v.Name) {
		return arca.Internal(fmt.Errorf("vaults: an update may not rename vault %q to %q", old.Name, v.Name))
	}
	if v.RetentionDays < 7 || v.RetentionDays > 90 {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The soft delete retention period must be between 7 and 90 days.")
	}
	if old.RetentionDays != 0 && v.RetentionDays != old.RetentionDays {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"softDeleteRetentionInDays\" has been set already and it can't be modified.")
	}
	if old.SoftDeleteEnabled() && !v.SoftDeleteEnabled() {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enableSoftDelete\" cannot be set to false once it has been enabled.")
	}
	if old.PurgeProtection && !v.PurgeProtection {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
	}
	if v.PurgeProtection && !v.SoftDeleteEnabled() {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "Purge protection requires soft delete to be enabled.")
	}
	return nil
}

// DeleteVault implements arca.VaultService.
func (s *Service) DeleteVault(ctx context.Context, name string) error {
	key := strings.ToLower(name)
	now := s.Clock.Now().UTC()
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(prefix + key)
		if errors.Is(err, storage.ErrNotFound) {
			return notFound(name)
		} else if err != nil {
			return err
		}
		var v arca.Vault
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if err := tx.Delete(prefix + key); err != nil {
			return err
		}
		if !v.SoftDeleteEnabled() {
			return s.purgeData(tx, key)
		}
		d := arca.DeletedVault{Vault: v, DeletionDate: now,
			ScheduledPurgeDate: now.Add(time.Duration(v.RetentionDays) * 24 * time.Hour)}
		db, err := json.Marshal(&d)
		if err != nil {
			return err
		}
		return tx.Put(deletedPrefix+key, db)
	})
	s.forget(key)
	return wrap(err)
}

// purgeData removes every record the services keep for the vault key.
func (s *Service) purgeData(tx storage.Tx, key string) error {
	if s.PurgeData == nil {
		return nil
	}
	return s.PurgeData(tx, key)
}

func deletedNotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "DeletedVaultNotFound", "The deleted vault '%s' was not found.", name)
}

// ListDeletedVaults implements arca.VaultService.
func (s *Service) ListDeletedVaults(ctx context.Context) ([]*arca.DeletedVault, error) {
	return scanAll[arca.DeletedVault](ctx, s.Store, deletedPrefix)
}

// DeletedVault implements arca.VaultService.
func (s *Service) DeletedVault(ctx context.Context, name string) (*arca.DeletedVault, error) {
	var d arca.DeletedVault
	err := s.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(deletedPrefix + strings.ToLower(name))
		if errors.Is(err, storage.ErrNotFound) {
			return deletedNotFound(name)
		} else if err != nil {
			return err
		}
		return json.Unmarshal(b, &d)
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &d, nil
}

// PurgeDeletedVault implements arca.VaultService. Purge protection refuses
// the purge until the scheduled purge date.
func (s *Service) PurgeDeletedVault(ctx context.Context, name string) error {
	key := strings.ToLower(name)
	now := s.Clock.Now()
	return wrap(s.Store.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(deletedPrefix + key)
		if errors.Is(err, storage.ErrNotFound) {
			return deletedNotFound(name)
		} else if err != nil {
			return err
		}
		var d arca.DeletedVault
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		if d.Vault.PurgeProtection && now.Before(d.ScheduledPurgeDate) {
			return arca.Errorf(arca.KindConflict, "ConflictError",
				"Operation 'DeletedVaultPurge' is not allowed as vault '%s' has purge protection enabled. It will be purged automatically on %s.",
				d.Vault.Name, d.ScheduledPurgeDate.UTC().Format(time.RFC3339))
		}
		if err := tx.Delete(deletedPrefix + key); err != nil {
			return err
		}
		return s.purgeData(tx, key)
	}))
}

// RecoverDeletedVault implements arca.VaultService.
func (s *Service) RecoverDeletedVault(ctx context.Context, name string) (*arca.Vault, error) {
	key := strings.ToLower(name)
	var v arca.Vault
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		b, err := tx.Get(deletedPrefix + key)
		if errors.Is(err, storage.ErrNotFound) {
			return deletedNotFound(name)
		} else if err != nil {
			return err
		}
		var d arca.DeletedVault
		if err := json.Unmarshal(b, &d); err != nil {
			return err
		}
		v = d.Vault
		vb, err := json.Marshal(&v)
		if err != nil {
			return err
		}
		if err := tx.Delete(deletedPrefix + key); err != nil {
			return err
		}
		return tx.Put(prefix+key, vb)
	})
	s.forget(key)
	if err != nil {
		return nil, wrap(err)
	}
	return &v, nil
}

// PurgeExpired purges deleted vaults whose scheduled purge date has passed.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	ds, err := s.ListDeletedVaults(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.Clock.Now()
	for _, d := range ds {
		if !now.Before(d.ScheduledPurgeDate) {
			if err := s.PurgeDeletedVault(ctx, d.Vault.Name); err != nil && arca.KindOf(err) != arca.KindNotFound {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
