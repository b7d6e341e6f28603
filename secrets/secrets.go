// Package secrets implements arca.SecretService on the shared object
// lifecycle (package objects), over the barrier-encrypted store.
package secrets

import (
	"context"
	"encoding/json"
	"io"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/objects"
)

// Limits Azure applies to secrets (tags and versions: see package objects).
const (
	MaxValueBytes     = 25 * 1024
	MaxContentTypeLen = 255
	backupAAD         = "arca/backup/secret/v1"
)

// Sealer seals standalone blobs (backups) under the deployment's keys.
type Sealer = objects.Sealer

// Service implements arca.SecretService.
type Service struct {
	Sealer Sealer
	Clock  arca.Clock
	Rand   io.Reader
	c      objects.Collection[arca.SecretVersion, *arca.SecretVersion]
}

var _ arca.SecretService = (*Service)(nil)

// New returns a Service over store (which must be the encryption barrier).
func New(store barrier.Sealed, sealer Sealer, clock arca.Clock, random io.Reader) *Service {
	return &Service{Sealer: sealer, Clock: clock, Rand: random,
		c: objects.Collection[arca.SecretVersion, *arca.SecretVersion]{Store: store, Clock: clock, Prefix: "s", Noun: "Secret",
			Item: func(v arca.SecretVersion) arca.SecretVersion { v.Value = ""; return v }}}
}

func badParam(format string, args ...any) error {
	return arca.Errorf(arca.KindInvalid, "BadParameter", format, args...)
}

func checkName(name string) error {
	if !arca.ValidObjectName(name) {
		return badParam("The request URI contains an invalid name: %s", name)
	}
	return nil
}

func checkProps(contentType *string, tags map[string]string) error {
	if contentType != nil && len(*contentType) > MaxContentTypeLen {
		return badParam("Property contentType has invalid value: the content type must be at most %d characters.", MaxContentTypeLen)
	}
	return objects.CheckTags(tags)
}

// SetSecret implements arca.SecretService.
func (s *Service) SetSecret(ctx context.Context, vault *arca.Vault, name string, in arca.SecretSet) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if len(in.Value) > MaxValueBytes {
		return nil, badParam("Property value has invalid value: the secret value must be at most %d bytes.", MaxValueBytes)
	}
	if err := checkProps(in.ContentType, in.Tags); err != nil {
		return nil, err
	}
	ver, err := objects.NewVersion(s.Clock.Now(), s.Rand)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	enabled := true
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	sv := &arca.SecretVersion{
		Name: name, Version: ver, Value: in.Value, ContentType: in.ContentType, Tags: in.Tags,
		Attributes: arca.Attributes{Enabled: &enabled, NotBefore: in.NotBefore, Expires: in.Expires, Created: now, Updated: now},
	}
	if err := s.c.AddVersion(ctx, vault, sv, false); err != nil {
		return nil, err
	}
	return sv, nil
}

// GetSecret implements arca.SecretService. Like Azure, it refuses disabled
// versions but does not enforce nbf/exp on reads: the real service returns
// expired secrets (they are informational for secrets).
func (s *Service) GetSecret(ctx context.Context, vault *arca.Vault, name, version string) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	sv, err := s.c.Get(ctx, vault, name, version)
	if err != nil {
		return nil, err
	}
	if !sv.Attributes.IsEnabled() {
		return nil, arca.Errorf(arca.KindForbidden, "Forbidden", "Operation get is not allowed on a disabled secret.").WithInner("SecretDisabled")
	}
	return sv, nil
}

// UpdateSecret implements arca.SecretService.
func (s *Service) UpdateSecret(ctx context.Context, vault *arca.Vault, name, version string, u arca.SecretUpdate) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := checkProps(u.ContentType, u.Tags); err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	sv, err := s.c.Modify(ctx, vault, name, version, false, func(sv *arca.SecretVersion) error {
		if u.ContentType != nil {
			sv.ContentType = u.ContentType
		}
		if u.Tags != nil {
			sv.Tags = u.Tags
			if len(u.Tags) == 0 {
				sv.Tags = nil
			}
		}
		u.Apply(&sv.Attributes)
		sv.Attributes.Updated = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	sv.Value = ""
	return sv, nil
}

// ListSecrets implements arca.SecretService.
func (s *Service) ListSecrets(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.SecretVersion], error) {
	return s.c.List(ctx, vault, max, token)
}

// ListSecretVersions implements arca.SecretService.
func (s *Service) ListSecretVersions(ctx context.Context, vault *arca.Vault, name string, max int, token string) (arca.Page[*arca.SecretVersion], error) {
	if err := checkName(name); err != nil {
		return arca.Page[*arca.SecretVersion]{}, err
	}
	return s.c.Versions(ctx, vault, name, max, token)
}

func deleted(d *objects.Deleted[arca.SecretVersion]) *arca.DeletedSecret {
	return &arca.DeletedSecret{SecretVersion: d.Item, Deletion: d.Deletion}
}

// DeleteSecret implements arca.SecretService: a soft delete of all versions.
func (s *Service) DeleteSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedSecret, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.Delete(ctx, vault, name, false)
	if err != nil {
		return nil, err
	}
	return deleted(d), nil
}

// GetDeletedSecret implements arca.SecretService.
func (s *Service) GetDeletedSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedSecret, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.GetDeleted(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	return deleted(d), nil
}

// ListDeletedSecrets implements arca.SecretService.
func (s *Service) ListDeletedSecrets(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.DeletedSecret], error) {
	p, err := s.c.ListDeleted(ctx, vault, max, token)
	out := arca.Page[*arca.DeletedSecret]{Next: p.Next}
	for _, d := range p.Items {
		out.Items = append(out.Items, deleted(d))
	}
	return out, err
}

// RecoverSecret implements arca.SecretService.
func (s *Service) RecoverSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return s.c.Recover(ctx, vault, name)
}

// PurgeSecret implements arca.SecretService.
func (s *Service) PurgeSecret(ctx context.Context, vault *arca.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.c.Purge(ctx, vault, name)
}

type backup struct {
	Kind     string               `json:"kind"`
	Name     string               `json:"name"`
	Latest   string               `json:"latest"`
	Versions []arca.SecretVersion `json:"versions"`
}

func malformedBackup() error {
	return arca.Errorf(arca.KindInvalid, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")
}

// BackupSecret implements arca.SecretService. The blob is sealed under the
// deployment's keyring: it restores into any vault of this deployment only.
func (s *Service) BackupSecret(ctx context.Context, vault *arca.Vault, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	hname, latest, versions, err := s.c.AllVersions(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if len(versions) > objects.MaxBackupVersions {
		return nil, badParam("Backup is not allowed for objects with more than %d versions.", objects.MaxBackupVersions)
	}
	plain, err := json.Marshal(&backup{Kind: "secret", Name: hname, Latest: latest, Versions: versions})
	if err != nil {
		return nil, arca.Internal(err)
	}
	blob, err := s.Sealer.Seal([]byte(backupAAD), plain)
	if err != nil {
		return nil, arca.Internal(err)
	}
	return blob, nil
}

// RestoreSecret implements arca.SecretService. It refuses a name that exists,
// active or soft-deleted, with KindConflict.
func (s *Service) RestoreSecret(ctx context.Context, vault *arca.Vault, blob []byte) (*arca.SecretVersion, error) {
	plain, err := s.Sealer.Unseal([]byte(backupAAD), blob)
	if err != nil {
		return nil, malformedBackup()
	}
	var b backup
	if err := json.Unmarshal(plain, &b); err != nil || b.Kind != "secret" || !arca.ValidObjectName(b.Name) || len(b.Versions) == 0 {
		return nil, malformedBackup()
	}
	for i := range b.Versions {
		if !arca.ValidVersion(b.Versions[i].Version) || !strings.EqualFold(b.Versions[i].Name, b.Name) {
			return nil, malformedBackup()
		}
	}
	return s.c.Restore(ctx, vault, b.Name, b.Latest, b.Versions)
}

// Seed stores secrets named names[i] with value in one transaction (bulk
// loading for benchmarks; names must be new and valid).
func (s *Service) Seed(ctx context.Context, vault *arca.Vault, names []string, value string) error {
	now := s.Clock.Now().Unix()
	enabled := true
	vs := make([]arca.SecretVersion, len(names))
	for i, n := range names {
		ver, err := objects.NewVersion(s.Clock.Now(), s.Rand)
		if err != nil {
			return err
		}
		vs[i] = arca.SecretVersion{Name: n, Version: ver, Value: value,
			Attributes: arca.Attributes{Enabled: &enabled, Created: now, Updated: now}}
	}
	return s.c.Seed(ctx, vault, vs)
}
