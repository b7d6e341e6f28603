package secrets

import (
	"context"

	"github.com/arcakv/arca"
)

// Certificate-managed secrets: the certificates service owns them and
// drives their lifecycle through these methods (the secrets API refuses to
// change them).

// PutManaged stores sv as the latest version of a certificate's secret.
func (s *Service) PutManaged(ctx context.Context, vault *arca.Vault, sv *arca.SecretVersion) error {
	sv.Managed = true
	return s.c.AddVersion(ctx, vault, sv, true)
}

// GetManaged returns a secret version with its value (latest when version is "").
func (s *Service) GetManaged(ctx context.Context, vault *arca.Vault, name, version string) (*arca.SecretVersion, error) {
	return s.c.Get(ctx, vault, name, version)
}

// DeleteManaged soft-deletes a certificate's secret.
func (s *Service) DeleteManaged(ctx context.Context, vault *arca.Vault, name string) error {
	_, err := s.c.Delete(ctx, vault, name, true)
	return err
}

// RecoverManaged recovers a certificate's soft-deleted secret.
func (s *Service) RecoverManaged(ctx context.Context, vault *arca.Vault, name string) error {
	_, err := s.c.Recover(ctx, vault, name)
	return err
}

// PurgeManaged purges a certificate's soft-deleted secret.
func (s *Service) PurgeManaged(ctx context.Context, vault *arca.Vault, name string) error {
	return s.c.Purge(ctx, vault, name)
}

// ManagedVersions returns the stored name, latest version and every version
// of a certificate's secret (for certificate backups).
func (s *Service) ManagedVersions(ctx context.Context, vault *arca.Vault, name string) (string, string, []arca.SecretVersion, error) {
	return s.c.AllVersions(ctx, vault, name)
}

// RestoreManaged recreates a certificate's secret from a backup.
func (s *Service) RestoreManaged(ctx context.Context, vault *arca.Vault, name, latest string, versions []arca.SecretVersion) error {
	_, err := s.c.Restore(ctx, vault, name, latest, versions)
	return err
}

// ManagedExists reports whether name is in use by a secret, active or deleted.
func (s *Service) ManagedExists(ctx context.Context, vault *arca.Vault, name string) (bool, error) {
	return s.c.Exists(ctx, vault, name)
}
