// Package keyspace is the one owner of Arca's storage keyspace. Every
// service claims the key prefixes it writes and says what of its records
// must go when a vault is purged; claims may not overlap, so no two services
// share a key, and purging a vault removes every record of the vault,
// whoever wrote it. The wiring builds one Registry from the services' own
// declarations; nothing else lists prefixes.
package keyspace

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/arcakv/arca/storage"
)

// PurgeFunc removes, inside tx, an owner's records of the vault (its name
// in lower case).
type PurgeFunc func(tx storage.Tx, vault string) error

// Claim is what one owner declares: the prefixes of every key it writes,
// and what to remove when a vault is purged (nil: it keeps no per-vault
// records).
type Claim struct {
	Owner    string
	Prefixes []string
	Purge    PurgeFunc
}

// Registry records the claims. The zero value is ready to use.
type Registry struct {
	mu     sync.RWMutex
	claims []Claim
}

// Add records c. An empty prefix, or one that is a prefix of another
// owner's (or the other way round), is an error naming both owners: two
// services would read each other's records.
func (r *Registry) Add(c Claim) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range c.Prefixes {
		if p == "" {
			return fmt.Errorf("keyspace: %s claims the empty prefix", c.Owner)
		}
		for _, o := range r.claims {
			for _, q := range o.Prefixes {
				if strings.HasPrefix(p, q) || strings.HasPrefix(q, p) {
					return fmt.Errorf("keyspace: %s's prefix %q overlaps %s's %q", c.Owner, p, o.Owner, q)
				}
			}
		}
	}
	r.claims = append(r.claims, c)
	return nil
}

// Owner names the owner of key, or "" when no claim covers it.
func (r *Registry) Owner(key string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, c := range r.claims {
		for _, p := range c.Prefixes {
			if strings.HasPrefix(key, p) {
				return c.Owner
			}
		}
	}
	return ""
}

// Owners lists the owners in the order they were added.
func (r *Registry) Owners() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, len(r.claims))
	for i, c := range r.claims {
		out[i] = c.Owner
	}
	return out
}

// PurgeVault runs every owner's purge for vault inside tx. It is what a
// vault purge calls: the vault's records go in the same transaction as the
// vault itself.
func (r *Registry) PurgeVault(tx storage.Tx, vault string) error {
	r.mu.RLock()
	claims := append([]Claim(nil), r.claims...)
	r.mu.RUnlock()
	for _, c := range claims {
		if c.Purge == nil {
			continue
		}
		if err := c.Purge(tx, strings.ToLower(vault)); err != nil {
			return fmt.Errorf("keyspace: purge %s's records of vault %s: %w", c.Owner, vault, err)
		}
	}
	return nil
}

// UnderVault is the PurgeFunc of owners whose keys are PREFIX<vault>/...
// for each of prefixes (each ending in "/"), plus the exact keys
// PREFIX<vault> of exact (each ending in "/" too).
func UnderVault(prefixes []string, exact ...string) PurgeFunc {
	return func(tx storage.Tx, vault string) error {
		var keys []string
		for _, p := range prefixes {
			if err := tx.Scan(p+vault+"/", "", func(k string, _ []byte) bool { keys = append(keys, k); return true }); err != nil {
				return err
			}
		}
		for _, p := range exact {
			keys = append(keys, p+vault)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}
}
