// Package secrets implements arca.SecretService over a storage.Backend that
// cmd/arca wraps in the encryption barrier.
//
// # Storage layout
//
//	s/<vault>/h/<name>            head of an active secret (latest version's properties)
//	s/<vault>/d/<name>            head of a soft-deleted secret, with its deletion dates
//	s/<vault>/v/<name>/<version>  one version, value included
//	sd/<purge-unix>/<vault>/<name> purge schedule index
//
// Vault and object names are stored lower-cased: Key Vault names are
// case-insensitive. The head keeps the name as last written.
package secrets

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

// Limits Azure applies to secrets.
const (
	MaxValueBytes       = 25 * 1024
	MaxTags             = 15
	MaxTagNameLen       = 512
	MaxTagValueLen      = 256
	MaxContentTypeLen   = 255
	MaxBackupVersions   = 500
	DefaultPageSize     = 25
	secretBackupAAD     = "arca/backup/secret/v1"
	purgeIndexPrefix    = "sd/"
	purgeIndexTimeWidth = 12
)

// Sealer seals standalone blobs (backups) under the deployment's keys.
type Sealer interface {
	Seal(aad, plain []byte) ([]byte, error)
	Unseal(aad, blob []byte) ([]byte, error)
}

// Service implements arca.SecretService.
type Service struct {
	Store  storage.Backend
	Sealer Sealer
	Clock  arca.Clock
	Rand   io.Reader
}

var _ arca.SecretService = (*Service)(nil)

type head struct {
	Name    string             `json:"name"`
	Latest  string             `json:"latest"`
	Item    arca.SecretVersion `json:"item"` // latest version without its value
	Deleted *arca.Deletion     `json:"deleted,omitempty"`
}

func lower(s string) string { return strings.ToLower(s) }

func headKey(v *arca.Vault, name string) string { return "s/" + lower(v.Name) + "/h/" + lower(name) }
func delKey(v *arca.Vault, name string) string  { return "s/" + lower(v.Name) + "/d/" + lower(name) }
func verPrefix(v *arca.Vault, name string) string {
	return "s/" + lower(v.Name) + "/v/" + lower(name) + "/"
}
func purgeKey(vault, name string, at int64) string {
	return fmt.Sprintf("%s%0*d/%s/%s", purgeIndexPrefix, purgeIndexTimeWidth, at, lower(vault), lower(name))
}

func notFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "SecretNotFound",
		"A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)
}

func deletedNotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "SecretNotFound", "Deleted Secret not found: %s", name)
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

// checkProps validates the properties shared by set and update.
func checkProps(contentType *string, tags map[string]string) error {
	if contentType != nil && len(*contentType) > MaxContentTypeLen {
		return badParam("Property contentType has invalid value: the content type must be at most %d characters.", MaxContentTypeLen)
	}
	if len(tags) > MaxTags {
		return badParam("Property tags has invalid value: a maximum of %d tags is allowed.", MaxTags)
	}
	for k, v := range tags {
		if k == "" || len(k) > MaxTagNameLen {
			return badParam("Property tags has invalid value: tag names must be 1 to %d characters.", MaxTagNameLen)
		}
		if len(v) > MaxTagValueLen {
			return badParam("Property tags has invalid value: tag values must be at most %d characters.", MaxTagValueLen)
		}
	}
	return nil
}

func (s *Service) newVersion() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.Rand, b); err != nil {
		return "", arca.Internal(err)
	}
	return hex.EncodeToString(b), nil
}

func getJSON(r storage.Reader, key string, out any) error {
	b, err := r.Get(key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func putJSON(tx storage.Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b)
}

// wrap converts storage errors into domain errors; domain errors pass.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var ae *arca.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &arca.Error{Kind: arca.KindUnavailable, Code: "RequestCanceled", Message: "The request was canceled.", Err: err}
	}
	return arca.Internal(err)
}

func stripValue(v arca.SecretVersion) arca.SecretVersion { v.Value = ""; return v }

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
	ver, err := s.newVersion()
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	enabled := true
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	sv := arca.SecretVersion{
		Name: name, Version: ver, Value: in.Value, ContentType: in.ContentType, Tags: in.Tags,
		Attributes: arca.Attributes{Enabled: &enabled, NotBefore: in.NotBefore, Expires: in.Expires, Created: now, Updated: now},
	}
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(delKey(vault, name)); err == nil {
			return arca.Errorf(arca.KindConflict, "Conflict",
				"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name).
				WithInner("ObjectIsDeletedButRecoverable")
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var h head
		if err := getJSON(tx, headKey(vault, name), &h); err == nil && h.Item.Managed {
			return arca.Errorf(arca.KindForbidden, "Forbidden",
				"Secret %s is managed by a certificate and cannot be changed through the secrets API.", name)
		}
		if err := putJSON(tx, verPrefix(vault, name)+ver, &sv); err != nil {
			return err
		}
		return putJSON(tx, headKey(vault, name), &head{Name: name, Latest: ver, Item: stripValue(sv)})
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &sv, nil
}

// activeVersion reads a version of an active secret.
func (s *Service) activeVersion(r storage.Reader, vault *arca.Vault, name, version string) (*head, *arca.SecretVersion, error) {
	var h head
	if err := getJSON(r, headKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, notFound(name)
		}
		return nil, nil, err
	}
	if version == "" {
		version = h.Latest
	}
	var sv arca.SecretVersion
	if err := getJSON(r, verPrefix(vault, name)+lower(version), &sv); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, notFound(name + "/" + version)
		}
		return nil, nil, err
	}
	return &h, &sv, nil
}

// GetSecret implements arca.SecretService. Like Azure, it refuses disabled
// versions but does not enforce nbf/exp on reads (they are informational for
// secrets; see the closing note of the foundation issue).
func (s *Service) GetSecret(ctx context.Context, vault *arca.Vault, name, version string) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *arca.SecretVersion
	err := s.Store.View(ctx, func(r storage.Reader) error {
		_, sv, err := s.activeVersion(r, vault, name, version)
		out = sv
		return err
	})
	if err != nil {
		return nil, wrap(err)
	}
	if !out.Attributes.IsEnabled() {
		return nil, arca.Errorf(arca.KindForbidden, "Forbidden", "Operation get is not allowed on a disabled secret.").WithInner("SecretDisabled")
	}
	return out, nil
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
	var out arca.SecretVersion
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		h, sv, err := s.activeVersion(tx, vault, name, version)
		if err != nil {
			return err
		}
		if sv.Managed {
			return arca.Errorf(arca.KindForbidden, "Forbidden",
				"Secret %s is managed by a certificate and cannot be changed through the secrets API.", name)
		}
		if u.ContentType != nil {
			sv.ContentType = u.ContentType
		}
		if u.Tags != nil {
			sv.Tags = u.Tags
			if len(u.Tags) == 0 {
				sv.Tags = nil
			}
		}
		if u.Enabled != nil {
			sv.Attributes.Enabled = u.Enabled
		}
		if u.ClearNotBefore {
			sv.Attributes.NotBefore = nil
		} else if u.NotBefore != nil {
			sv.Attributes.NotBefore = u.NotBefore
		}
		if u.ClearExpires {
			sv.Attributes.Expires = nil
		} else if u.Expires != nil {
			sv.Attributes.Expires = u.Expires
		}
		sv.Attributes.Updated = now
		if err := putJSON(tx, verPrefix(vault, name)+sv.Version, sv); err != nil {
			return err
		}
		if sv.Version == h.Latest {
			h.Item = stripValue(*sv)
			if err := putJSON(tx, headKey(vault, name), h); err != nil {
				return err
			}
		}
		out = *sv
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &out, nil
}

func pageSize(max int) int {
	if max <= 0 {
		return DefaultPageSize
	}
	return max
}

// scanPage collects up to max decoded values under prefix after the token
// key; Next is the last returned key when more remain.
func scanPage[T any](ctx context.Context, store storage.Backend, prefix, token string, max int, decode func(key string, b []byte) (T, error)) (arca.Page[T], error) {
	var page arca.Page[T]
	after := ""
	if token != "" {
		after = prefix + token
	}
	n := pageSize(max)
	err := store.View(ctx, func(r storage.Reader) error {
		var derr error
		last := ""
		err := r.Scan(prefix, after, func(k string, v []byte) bool {
			if len(page.Items) == n {
				page.Next = last
				return false
			}
			item, err := decode(k, v)
			if err != nil {
				derr = err
				return false
			}
			page.Items = append(page.Items, item)
			last = strings.TrimPrefix(k, prefix)
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	return page, wrap(err)
}

// ListSecrets implements arca.SecretService.
func (s *Service) ListSecrets(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.SecretVersion], error) {
	return scanPage(ctx, s.Store, "s/"+lower(vault.Name)+"/h/", token, max, func(_ string, b []byte) (*arca.SecretVersion, error) {
		var h head
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, err
		}
		h.Item.Name = h.Name
		return &h.Item, nil
	})
}

// ListSecretVersions implements arca.SecretService. An unknown or deleted
// name yields an empty page, as in Azure.
func (s *Service) ListSecretVersions(ctx context.Context, vault *arca.Vault, name string, max int, token string) (arca.Page[*arca.SecretVersion], error) {
	if err := checkName(name); err != nil {
		return arca.Page[*arca.SecretVersion]{}, err
	}
	var active bool
	err := s.Store.View(ctx, func(r storage.Reader) error {
		_, err := r.Get(headKey(vault, name))
		active = err == nil
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || !active {
		return arca.Page[*arca.SecretVersion]{}, wrap(err)
	}
	return scanPage(ctx, s.Store, verPrefix(vault, name), token, max, func(_ string, b []byte) (*arca.SecretVersion, error) {
		var sv arca.SecretVersion
		if err := json.Unmarshal(b, &sv); err != nil {
			return nil, err
		}
		sv.Value = ""
		return &sv, nil
	})
}

// DeleteSecret implements arca.SecretService: a soft delete of all versions.
func (s *Service) DeleteSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedSecret, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	var out arca.DeletedSecret
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		var h head
		if err := getJSON(tx, headKey(vault, name), &h); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return notFound(name)
			}
			return err
		}
		if h.Item.Managed {
			return arca.Errorf(arca.KindForbidden, "Forbidden",
				"Secret %s is managed by a certificate and cannot be deleted through the secrets API.", name)
		}
		d := arca.Deletion{DeletedDate: now.Unix(), ScheduledPurgeDate: now.Add(time.Duration(vault.RetentionDays) * 24 * time.Hour).Unix()}
		h.Deleted = &d
		if err := tx.Delete(headKey(vault, name)); err != nil {
			return err
		}
		if err := putJSON(tx, delKey(vault, name), &h); err != nil {
			return err
		}
		if err := tx.Put(purgeKey(vault.Name, name, d.ScheduledPurgeDate), []byte{}); err != nil {
			return err
		}
		h.Item.Name = h.Name
		out = arca.DeletedSecret{SecretVersion: h.Item, Deletion: d}
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &out, nil
}

func (s *Service) deletedHead(r storage.Reader, vault *arca.Vault, name string) (*head, error) {
	var h head
	if err := getJSON(r, delKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, deletedNotFound(name)
		}
		return nil, err
	}
	h.Item.Name = h.Name
	return &h, nil
}

// GetDeletedSecret implements arca.SecretService.
func (s *Service) GetDeletedSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedSecret, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out *arca.DeletedSecret
	err := s.Store.View(ctx, func(r storage.Reader) error {
		h, err := s.deletedHead(r, vault, name)
		if err == nil {
			out = &arca.DeletedSecret{SecretVersion: h.Item, Deletion: *h.Deleted}
		}
		return err
	})
	return out, wrap(err)
}

// ListDeletedSecrets implements arca.SecretService.
func (s *Service) ListDeletedSecrets(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.DeletedSecret], error) {
	return scanPage(ctx, s.Store, "s/"+lower(vault.Name)+"/d/", token, max, func(_ string, b []byte) (*arca.DeletedSecret, error) {
		var h head
		if err := json.Unmarshal(b, &h); err != nil {
			return nil, err
		}
		if h.Deleted == nil {
			return nil, errors.New("secrets: deleted head without deletion")
		}
		h.Item.Name = h.Name
		return &arca.DeletedSecret{SecretVersion: h.Item, Deletion: *h.Deleted}, nil
	})
}

// RecoverSecret implements arca.SecretService.
func (s *Service) RecoverSecret(ctx context.Context, vault *arca.Vault, name string) (*arca.SecretVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var out arca.SecretVersion
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		h, err := s.deletedHead(tx, vault, name)
		if err != nil {
			if arca.KindOf(err) == arca.KindNotFound {
				return notFound(name)
			}
			return err
		}
		if err := tx.Delete(purgeKey(vault.Name, name, h.Deleted.ScheduledPurgeDate)); err != nil {
			return err
		}
		h.Deleted = nil
		if err := tx.Delete(delKey(vault, name)); err != nil {
			return err
		}
		if err := putJSON(tx, headKey(vault, name), h); err != nil {
			return err
		}
		out = h.Item
		return nil
	})
	if err != nil {
		return nil, wrap(err)
	}
	return &out, nil
}

// purgeTx removes a deleted secret and all its versions.
func purgeTx(tx storage.Tx, vault, name string, purgeAt int64) error {
	prefix := "s/" + lower(vault) + "/v/" + lower(name) + "/"
	var keys []string
	if err := tx.Scan(prefix, "", func(k string, _ []byte) bool { keys = append(keys, k); return true }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	if err := tx.Delete("s/" + lower(vault) + "/d/" + lower(name)); err != nil {
		return err
	}
	return tx.Delete(purgeKey(vault, name, purgeAt))
}

// PurgeSecret implements arca.SecretService.
func (s *Service) PurgeSecret(ctx context.Context, vault *arca.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		h, err := s.deletedHead(tx, vault, name)
		if err != nil {
			return err
		}
		if vault.PurgeProtection {
			return arca.Errorf(arca.KindForbidden, "Forbidden",
				"Operation 'DeletedSecretPurge' is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.").
				WithInner("ForbiddenByPolicy")
		}
		return purgeTx(tx, vault.Name, name, h.Deleted.ScheduledPurgeDate)
	})
	return wrap(err)
}

// PurgeExpired implements arca.SecretService.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	now := s.Clock.Now().Unix()
	type due struct {
		vault, name string
		at          int64
	}
	var todo []due
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(purgeIndexPrefix, "", func(k string, _ []byte) bool {
			parts := strings.SplitN(strings.TrimPrefix(k, purgeIndexPrefix), "/", 3)
			if len(parts) != 3 {
				return true
			}
			at, err := strconv.ParseInt(parts[0], 10, 64)
			if err != nil || at > now {
				return false
			}
			todo = append(todo, due{parts[1], parts[2], at})
			return len(todo) < 1000
		})
	})
	if err != nil {
		return 0, wrap(err)
	}
	for _, d := range todo {
		if err := s.Store.Update(ctx, func(tx storage.Tx) error { return purgeTx(tx, d.vault, d.name, d.at) }); err != nil {
			return 0, wrap(err)
		}
	}
	return len(todo), nil
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
	var b backup
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var h head
		if err := getJSON(r, headKey(vault, name), &h); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return notFound(name)
			}
			return err
		}
		b = backup{Kind: "secret", Name: h.Name, Latest: h.Latest}
		var derr error
		err := r.Scan(verPrefix(vault, name), "", func(_ string, v []byte) bool {
			var sv arca.SecretVersion
			if derr = json.Unmarshal(v, &sv); derr != nil {
				return false
			}
			b.Versions = append(b.Versions, sv)
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
	if err != nil {
		return nil, wrap(err)
	}
	if len(b.Versions) > MaxBackupVersions {
		return nil, arca.Errorf(arca.KindInvalid, "BadParameter", "Backup is not allowed for objects with more than %d versions.", MaxBackupVersions)
	}
	plain, err := json.Marshal(&b)
	if err != nil {
		return nil, arca.Internal(err)
	}
	blob, err := s.Sealer.Seal([]byte(secretBackupAAD), plain)
	if err != nil {
		return nil, arca.Internal(err)
	}
	return blob, nil
}

// RestoreSecret implements arca.SecretService. It refuses a name that exists,
// active or soft-deleted, with KindConflict.
func (s *Service) RestoreSecret(ctx context.Context, vault *arca.Vault, blob []byte) (*arca.SecretVersion, error) {
	plain, err := s.Sealer.Unseal([]byte(secretBackupAAD), blob)
	if err != nil {
		return nil, malformedBackup()
	}
	var b backup
	if err := json.Unmarshal(plain, &b); err != nil || b.Kind != "secret" || !arca.ValidObjectName(b.Name) || len(b.Versions) == 0 {
		return nil, malformedBackup()
	}
	var latest *arca.SecretVersion
	for i := range b.Versions {
		if !arca.ValidVersion(b.Versions[i].Version) {
			return nil, malformedBackup()
		}
		if b.Versions[i].Version == b.Latest {
			latest = &b.Versions[i]
		}
	}
	if latest == nil {
		return nil, malformedBackup()
	}
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		for _, k := range []string{headKey(vault, b.Name), delKey(vault, b.Name)} {
			if _, err := tx.Get(k); err == nil {
				return arca.Errorf(arca.KindConflict, "Conflict", "Secret %s already exists in this key vault; restore is only allowed for a name that is not in use or soft-deleted.", b.Name)
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		for i := range b.Versions {
			if err := putJSON(tx, verPrefix(vault, b.Name)+b.Versions[i].Version, &b.Versions[i]); err != nil {
				return err
			}
		}
		return putJSON(tx, headKey(vault, b.Name), &head{Name: b.Name, Latest: b.Latest, Item: stripValue(*latest)})
	})
	if err != nil {
		return nil, wrap(err)
	}
	out := *latest
	out.Value = ""
	return &out, nil
}
