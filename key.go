package arca

import "context"

// JSONWebKey is a key's public (and, for release and import, private)
// parameters. Byte fields are raw big-endian values; the edge encodes them
// as base64url.
type JSONWebKey struct {
	Kty    string   `json:"kty"`
	KeyOps []string `json:"key_ops,omitempty"`
	N      []byte   `json:"n,omitempty"`
	E      []byte   `json:"e,omitempty"`
	Crv    string   `json:"crv,omitempty"`
	X      []byte   `json:"x,omitempty"`
	Y      []byte   `json:"y,omitempty"`
	// Private parameters: only on import and release, never stored here.
	D, P, Q, DP, DQ, QI []byte `json:"-"`
}

// ReleasePolicy is a key's secure key release policy.
type ReleasePolicy struct {
	ContentType string `json:"contentType"`
	Immutable   bool   `json:"immutable,omitempty"`
	Data        []byte `json:"data"`
}

// KeyVersion is one version of a key. Material is the keystore's reference
// to the private key; it is only ever stored through the encryption barrier.
type KeyVersion struct {
	Name          string            `json:"name"`
	Version       string            `json:"version"`
	Key           JSONWebKey        `json:"key"` // public part; Kty includes "-HSM"
	Material      []byte            `json:"material,omitempty"`
	Attributes    Attributes        `json:"attributes"`
	Exportable    bool              `json:"exportable,omitempty"`
	HSMPlatform   string            `json:"hsmPlatform,omitempty"`
	Tags          map[string]string `json:"tags,omitempty"`
	Managed       bool              `json:"managed,omitempty"`
	ReleasePolicy *ReleasePolicy    `json:"releasePolicy,omitempty"`
}

// ObjectName, ObjectVersion and IsManaged let the lifecycle store keys.
func (k *KeyVersion) ObjectName() string    { return k.Name }
func (k *KeyVersion) ObjectVersion() string { return k.Version }
func (k *KeyVersion) IsManaged() bool       { return k.Managed }

// DeletedKey is the latest version of a soft-deleted key.
type DeletedKey struct {
	KeyVersion
	Deletion
}

// KeyCreate is the input of CreateKey.
type KeyCreate struct {
	Kty            string // RSA, RSA-HSM, EC, EC-HSM (oct types are refused in vaults)
	Size           int
	PublicExponent int
	Curve          string
	KeyOps         []string
	Enabled        *bool
	NotBefore      *int64
	Expires        *int64
	Exportable     *bool
	Tags           map[string]string
	ReleasePolicy  *ReleasePolicy
}

// KeyImport is the input of ImportKey.
type KeyImport struct {
	Key           JSONWebKey // with private parameters
	HSM           bool
	Enabled       *bool
	NotBefore     *int64
	Expires       *int64
	Exportable    *bool
	Tags          map[string]string
	ReleasePolicy *ReleasePolicy
}

// KeyUpdate changes a key version's properties; nil fields are unchanged.
type KeyUpdate struct {
	KeyOps        []string // nil: unchanged
	Attr          SecretUpdate
	Tags          map[string]string
	ReleasePolicy *ReleasePolicy
}

// LifetimeAction is one rotation policy action.
type LifetimeAction struct {
	TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
	TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
	Action           string `json:"action"` // Rotate or Notify
}

// RotationPolicy is a key's rotation policy.
type RotationPolicy struct {
	LifetimeActions []LifetimeAction `json:"lifetimeActions"`
	ExpiryTime      string           `json:"expiryTime,omitempty"`
	Created         int64            `json:"created,omitempty"`
	Updated         int64            `json:"updated,omitempty"`
	// NotifiedVersion is the last key version a Notify action fired for.
	NotifiedVersion string `json:"notifiedVersion,omitempty"`
}

// KeyService is the data-plane keys API.
type KeyService interface {
	CreateKey(ctx context.Context, vault *Vault, name string, in KeyCreate) (*KeyVersion, error)
	ImportKey(ctx context.Context, vault *Vault, name string, in KeyImport) (*KeyVersion, error)
	GetKey(ctx context.Context, vault *Vault, name, version string) (*KeyVersion, error)
	UpdateKey(ctx context.Context, vault *Vault, name, version string, u KeyUpdate) (*KeyVersion, error)
	ListKeys(ctx context.Context, vault *Vault, max int, token string) (Page[*KeyVersion], error)
	ListKeyVersions(ctx context.Context, vault *Vault, name string, max int, token string) (Page[*KeyVersion], error)
	DeleteKey(ctx context.Context, vault *Vault, name string) (*DeletedKey, error)
	GetDeletedKey(ctx context.Context, vault *Vault, name string) (*DeletedKey, error)
	ListDeletedKeys(ctx context.Context, vault *Vault, max int, token string) (Page[*DeletedKey], error)
	RecoverKey(ctx context.Context, vault *Vault, name string) (*KeyVersion, error)
	PurgeKey(ctx context.Context, vault *Vault, name string) error
	BackupKey(ctx context.Context, vault *Vault, name string) ([]byte, error)
	RestoreKey(ctx context.Context, vault *Vault, blob []byte) (*KeyVersion, error)
	RotateKey(ctx context.Context, vault *Vault, name string) (*KeyVersion, error)
	GetRotationPolicy(ctx context.Context, vault *Vault, name string) (*RotationPolicy, error)
	SetRotationPolicy(ctx context.Context, vault *Vault, name string, p RotationPolicy) (*RotationPolicy, error)

	// Crypto operations use the given version (latest when ""); they return
	// the version used.
	Sign(ctx context.Context, vault *Vault, name, version, alg string, digest []byte) (*KeyVersion, []byte, error)
	Verify(ctx context.Context, vault *Vault, name, version, alg string, digest, sig []byte) (bool, error)
	Encrypt(ctx context.Context, vault *Vault, name, version, op, alg string, plaintext []byte) (*KeyVersion, []byte, error)
	Decrypt(ctx context.Context, vault *Vault, name, version, op, alg string, ciphertext []byte) (*KeyVersion, []byte, error)
	Release(ctx context.Context, vault *Vault, name, version, target, nonce, enc string) (string, error)
	RandomBytes(ctx context.Context, vault *Vault, count int) ([]byte, error)
}
