package arca

import (
	"context"
	"regexp"
)

// Attributes are the management attributes shared by vault objects. Times
// are Unix seconds; nil means "not set".
type Attributes struct {
	Enabled   *bool  `json:"enabled,omitempty"`
	NotBefore *int64 `json:"nbf,omitempty"`
	Expires   *int64 `json:"exp,omitempty"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
}

// IsEnabled reports whether the object is enabled (the default).
func (a *Attributes) IsEnabled() bool { return a.Enabled == nil || *a.Enabled }

// SecretVersion is one version of a secret.
type SecretVersion struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Value       string            `json:"value"`
	ContentType *string           `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attributes  Attributes        `json:"attributes"`
	Managed     bool              `json:"managed,omitempty"`
	KeyID       string            `json:"kid,omitempty"` // set for certificate-backed secrets
}

// Deletion describes a soft-deleted object.
type Deletion struct {
	DeletedDate        int64 `json:"deletedDate"`
	ScheduledPurgeDate int64 `json:"scheduledPurgeDate"`
}

// DeletedSecret is the latest version of a soft-deleted secret.
type DeletedSecret struct {
	SecretVersion
	Deletion
}

// SecretUpdate changes a version's properties; nil fields are left unchanged.
type SecretUpdate struct {
	ContentType *string
	Tags        map[string]string // nil: unchanged; empty non-nil: cleared
	Enabled     *bool
	NotBefore   *int64
	Expires     *int64
	// ClearNotBefore/ClearExpires remove the attribute (JSON null).
	ClearNotBefore, ClearExpires bool
}

// Apply applies the attribute changes of u to a.
func (u *SecretUpdate) Apply(a *Attributes) {
	if u.Enabled != nil {
		a.Enabled = u.Enabled
	}
	if u.ClearNotBefore {
		a.NotBefore = nil
	} else if u.NotBefore != nil {
		a.NotBefore = u.NotBefore
	}
	if u.ClearExpires {
		a.Expires = nil
	} else if u.Expires != nil {
		a.Expires = u.Expires
	}
}

// SecretSet is the input of SetSecret.
type SecretSet struct {
	Value       string
	ContentType *string
	Tags        map[string]string
	Enabled     *bool
	NotBefore   *int64
	Expires     *int64
}

// Page is one page of a listing. Next is the opaque continuation token, empty
// on the last page.
type Page[T any] struct {
	Items []T
	Next  string
}

// SecretService is the data-plane secrets API of one deployment. Every method
// identifies the vault by its canonical name and returns *Error values.
type SecretService interface {
	SetSecret(ctx context.Context, vault *Vault, name string, in SecretSet) (*SecretVersion, error)
	// GetSecret returns a version (latest when version is ""). It refuses
	// disabled versions with KindForbidden.
	GetSecret(ctx context.Context, vault *Vault, name, version string) (*SecretVersion, error)
	UpdateSecret(ctx context.Context, vault *Vault, name, version string, u SecretUpdate) (*SecretVersion, error)
	// ListSecrets lists the latest version of every active secret, in name order.
	ListSecrets(ctx context.Context, vault *Vault, max int, token string) (Page[*SecretVersion], error)
	ListSecretVersions(ctx context.Context, vault *Vault, name string, max int, token string) (Page[*SecretVersion], error)
	DeleteSecret(ctx context.Context, vault *Vault, name string) (*DeletedSecret, error)
	GetDeletedSecret(ctx context.Context, vault *Vault, name string) (*DeletedSecret, error)
	ListDeletedSecrets(ctx context.Context, vault *Vault, max int, token string) (Page[*DeletedSecret], error)
	RecoverSecret(ctx context.Context, vault *Vault, name string) (*SecretVersion, error)
	PurgeSecret(ctx context.Context, vault *Vault, name string) error
	BackupSecret(ctx context.Context, vault *Vault, name string) ([]byte, error)
	RestoreSecret(ctx context.Context, vault *Vault, blob []byte) (*SecretVersion, error)
}

var objectNameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// ValidObjectName reports whether name is a valid secret, key or
// certificate name: 1-127 characters of letters, digits and hyphens.
func ValidObjectName(name string) bool { return objectNameRE.MatchString(name) }

var versionRE = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

// ValidVersion reports whether v looks like an object version.
func ValidVersion(v string) bool { return versionRE.MatchString(v) }

// ObjectName, ObjectVersion and IsManaged let the lifecycle store secrets.
func (s *SecretVersion) ObjectName() string    { return s.Name }
func (s *SecretVersion) ObjectVersion() string { return s.Version }
func (s *SecretVersion) IsManaged() bool       { return s.Managed }
