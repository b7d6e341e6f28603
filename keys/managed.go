package keys

import (
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

// Certificate-managed keys: the certificates service owns them and drives
// their lifecycle through these steps, each inside the certificate's own
// transaction (the keys API refuses to change them). Errors are unwrapped,
// as those of the objects package's Tx steps.

// PutManagedTx stores kv as the latest version of a certificate's key.
func (s *Service) PutManagedTx(tx storage.Tx, vault *arca.Vault, kv *arca.KeyVersion) error {
	kv.Managed = true
	return s.c.AddVersionTx(tx, vault, kv, true)
}

// GetManagedTx returns a key version with its material (latest when
// version is "").
func (s *Service) GetManagedTx(r storage.Reader, vault *arca.Vault, name, version string) (*arca.KeyVersion, error) {
	return s.c.GetTx(r, vault, name, version)
}

// DeleteManagedTx soft-deletes a certificate's key, dated now.
func (s *Service) DeleteManagedTx(tx storage.Tx, vault *arca.Vault, name string, now time.Time) error {
	_, err := s.c.DeleteTx(tx, vault, name, true, now)
	return err
}

// RecoverManagedTx recovers a certificate's soft-deleted key.
func (s *Service) RecoverManagedTx(tx storage.Tx, vault *arca.Vault, name string) error {
	_, err := s.c.RecoverTx(tx, vault, name)
	return err
}

// PurgeManagedTx purges a certificate's soft-deleted key, with its
// rotation policy.
func (s *Service) PurgeManagedTx(tx storage.Tx, vault *arca.Vault, name string) error {
	return s.c.PurgeTx(tx, vault, name)
}

// ManagedVersionsTx returns the latest version and every version of a
// certificate's key (for certificate backups).
func (s *Service) ManagedVersionsTx(r storage.Reader, vault *arca.Vault, name string) (string, []arca.KeyVersion, error) {
	_, latest, versions, err := s.c.AllVersionsTx(r, vault, name)
	return latest, versions, err
}

// RestoreManagedTx recreates a certificate's key from a backup.
func (s *Service) RestoreManagedTx(tx storage.Tx, vault *arca.Vault, name, latest string, versions []arca.KeyVersion) error {
	_, err := s.c.RestoreTx(tx, vault, name, latest, versions)
	return err
}

// ManagedExistsTx reports whether name is in use by a key, active or deleted.
func (s *Service) ManagedExistsTx(r storage.Reader, vault *arca.Vault, name string) (bool, error) {
	return s.c.ExistsTx(r, vault, name)
}
