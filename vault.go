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
	// UpdateVault replaces the stored vault (matched by name) with v, blindly:
	// whatever was written since v was read is lost. Use Update to change a
	// vault based on its current state. KindNotFound if it does not exist;
	// KindInvalid as Update for a change the vault's rules forbid.
	UpdateVault(ctx context.Context, v *Vault) error
	// Update changes the vault named name (case-insensitive) atomically: it
	// reads the stored vault, calls fn with a copy that fn may modify, checks
	// the result and stores it, all in one storage transaction, so no other
	// write of the vault can come between the state fn sees and the write.
	// fn may be called more than once (each time with a fresh copy of the
	// then current state), so it must have no side effect other than on the
	// vault it is given. An error from fn aborts the update and is returned
	// as it is. Errors: KindNotFound if the vault does not exist; KindInvalid
	// if the result breaks a rule of vaults (retention outside 7-90 days or
	// changed once set, soft delete or purge protection disabled once
	// enabled, purge protection without soft delete); KindInternal for a
	// rename or a storage failure. Update returns the vault as stored; the
	// caller owns it.
	Update(ctx context.Context, name string, fn func(*Vault) error) (*Vault, error)
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
