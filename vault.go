package arca

import (
	"context"
	"encoding/json"
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

	// Management-plane properties (Azure Resource Manager). Vaults created
	// before the management plane existed have no subscription.
	Subscription     string            `json:"subscription,omitempty"`
	ResourceGroup    string            `json:"resourceGroup,omitempty"`
	Location         string            `json:"location,omitempty"`
	Tags             map[string]string `json:"tags,omitempty"`
	AccessPolicies   []AccessPolicy    `json:"accessPolicies,omitempty"`
	EnableRBAC       bool              `json:"enableRbacAuthorization,omitempty"`
	EnableSoftDelete *bool             `json:"enableSoftDelete,omitempty"` // nil: true (Azure's default)
	// NetworkACLs is the ARM networkAcls object, stored and returned as sent.
	NetworkACLs                  json.RawMessage `json:"networkAcls,omitempty"`
	EnabledForDeployment         bool            `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     bool            `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment bool            `json:"enabledForTemplateDeployment,omitempty"`
	PublicNetworkAccess          string          `json:"publicNetworkAccess,omitempty"`
	Updated                      time.Time       `json:"updated,omitempty"`
}

// SoftDeleteEnabled reports the vault's enableSoftDelete (default true).
func (v *Vault) SoftDeleteEnabled() bool { return v.EnableSoftDelete == nil || *v.EnableSoftDelete }

// AccessPolicy is one entry of a vault's access policies, stored exactly as
// the management plane received it.
type AccessPolicy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID string      `json:"applicationId,omitempty"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions are the data-plane permissions of an access policy.
type Permissions struct {
	Keys         []string `json:"keys,omitempty"`
	Secrets      []string `json:"secrets,omitempty"`
	Certificates []string `json:"certificates,omitempty"`
	Storage      []string `json:"storage,omitempty"`
}

// DeletedVault is a soft-deleted vault: its last state and deletion dates.
type DeletedVault struct {
	Vault              Vault     `json:"vault"`
	DeletionDate       time.Time `json:"deletionDate"`
	ScheduledPurgeDate time.Time `json:"scheduledPurgeDate"`
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
	// UpdateVault replaces the stored vault (matched by name); KindNotFound
	// if it does not exist.
	UpdateVault(ctx context.Context, v *Vault) error
	// DeleteVault deletes a vault: with soft delete it becomes a deleted
	// vault kept for its retention period, otherwise it is purged.
	DeleteVault(ctx context.Context, name string) error
	// ListDeletedVaults, DeletedVault, PurgeDeletedVault and
	// RecoverDeletedVault manage soft-deleted vaults.
	ListDeletedVaults(ctx context.Context) ([]*DeletedVault, error)
	DeletedVault(ctx context.Context, name string) (*DeletedVault, error)
	PurgeDeletedVault(ctx context.Context, name string) error
	RecoverDeletedVault(ctx context.Context, name string) (*Vault, error)
}

// ResourceID is the vault's Azure Resource Manager id, or "" for a vault
// outside any subscription.
func (v *Vault) ResourceID() string {
	if v.Subscription == "" || v.ResourceGroup == "" {
		return ""
	}
	return "/subscriptions/" + v.Subscription + "/resourceGroups/" + v.ResourceGroup + "/providers/Microsoft.KeyVault/vaults/" + v.Name
}
