package keys

import (
	"context"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
)

// Certificate-managed keys: the certificates service owns them and drives
// their lifecycle through these methods (the keys API refuses to change
// them).

// PutManaged stores kv as the latest version of a certificate's key.
func (s *Service) PutManaged(ctx context.Context, vault *arca.Vault, kv *arca.KeyVersion) error {
	kv.Managed = true
	return s.c.AddVersion(ctx, vault, kv, true)
}

// GetManaged returns a key version with its material (latest when version is "").
func (s *Service) GetManaged(ctx context.Context, vault *arca.Vault, name, version string) (*arca.KeyVersion, error) {
	return s.c.Get(ctx, vault, name, version)
}

// DeleteManaged soft-deletes a certificate's key.
func (s *Service) DeleteManaged(ctx context.Context, vault *arca.Vault, name string) error {
	_, err := s.c.Delete(ctx, vault, name, true)
	return err
}

// RecoverManaged recovers a certificate's soft-deleted key.
func (s *Service) RecoverManaged(ctx context.Context, vault *arca.Vault, name string) error {
	_, err := s.c.Recover(ctx, vault, name)
	return err
}

// PurgeManaged purges a certificate's soft-deleted key.
func (s *Service) PurgeManaged(ctx context.Context, vault *arca.Vault, name string) error {
	if err := s.c.Purge(ctx, vault, name); err != nil {
		return err
	}
	return objects.Wrap(s.Store.Update(ctx, func(tx storage.Tx) error { return tx.Delete(policyKey(vault, name)) }))
}

// ManagedVersions returns the stored name, latest version and every version
// of a certificate's key (for certificate backups).
func (s *Service) ManagedVersions(ctx context.Context, vault *arca.Vault, name string) (string, string, []arca.KeyVersion, error) {
	return s.c.AllVersions(ctx, vault, name)
}

// RestoreManaged recreates a certificate's key from a backup.
func (s *Service) RestoreManaged(ctx context.Context, vault *arca.Vault, name, latest string, versions []arca.KeyVersion) error {
	_, err := s.c.Restore(ctx, vault, name, latest, versions)
	return err
}

// ManagedExists reports whether name is in use by a key, active or deleted.
func (s *Service) ManagedExists(ctx context.Context, vault *arca.Vault, name string) (bool, error) {
	return s.c.Exists(ctx, vault, name)
}
