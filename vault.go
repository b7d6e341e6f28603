package arca

import (
	"context"
	"regexp"
	"strings"
	"time"
)

// Vault is a key vault: a namespace for secrets (later keys and
// certificates) served at its own host name.
type Vault struct {
	Name            string    `json:"name"`
	TenantID        string    `json:"tenantId"`
	SKU             string    `json:"sku"` // "standard" or "premium"
	RetentionDays   int       `json:"softDeleteRetentionInDays"`
	PurgeProtection bool      `json:"enablePurgeProtection"`
	Created         time.Time `json:"created"`
}

// DefaultRetentionDays is Azure's default soft-delete retention.
const DefaultRetentionDays = 90

// RecoveryLevel returns the data-plane DeletionRecoveryLevel of objects in v.
func (v *Vault) RecoveryLevel() string {
	level := "Recoverable"
	if v.RetentionDays < DefaultRetentionDays {
		level = "CustomizedRecoverable"
	}
	if !v.PurgeProtection {
		level += "+Purgeable"
	}
	return level
}

var vaultNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$`)

// ValidVaultName reports whether name follows Azure's vault naming rules:
// 3-24 characters, letters, digits and hyphens, starting with a letter,
// ending with a letter or digit, no consecutive hyphens.
func ValidVaultName(name string) bool {
	return vaultNameRE.MatchString(name) && !strings.Contains(name, "--")
}

// VaultService looks up and creates vaults.
type VaultService interface {
	// Vault returns the vault named name (case-insensitive), or an error of
	// KindNotFound.
	Vault(ctx context.Context, name string) (*Vault, error)
	// CreateVault creates v; KindConflict if the name is taken.
	CreateVault(ctx context.Context, v *Vault) error
	// ListVaults returns all vaults.
	ListVaults(ctx context.Context) ([]*Vault, error)
}
