// Package keys implements arca.KeyService: key lifecycle on the shared
// object lifecycle (package objects), private-key operations through a
// keystore.Keystore, rotation policies and their scheduler.
package keys

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
)

const backupAAD = "arca/backup/key/v1"

// Service implements arca.KeyService.
type Service struct {
	Store    barrier.Sealed
	Keystore keystore.Keystore
	Sealer   objects.Sealer
	Clock    arca.Clock
	Rand     io.Reader
	// SKR wires secure key release; nil refuses every release.
	SKR *Release
	// VaultURL returns a vault's canonical URL (for kids in release results).
	VaultURL func(vault string) string
	// Notify receives near-expiry events of Notify lifetime actions (nil:
	// dropped). Events get a delivery channel in a later issue.
	Notify func(vault, name, version string, expires time.Time)
	c      objects.Collection[arca.KeyVersion, *arca.KeyVersion]
}

var _ arca.KeyService = (*Service)(nil)

// New returns a Service. store must be the encryption barrier: key
// material references are stored in it.
func New(store barrier.Sealed, ks keystore.Keystore, sealer objects.Sealer, clock arca.Clock, random io.Reader) *Service {
	if random == nil {
		random = rand.Reader
	}
	return &Service{Store: store, Keystore: ks, Sealer: sealer, Clock: clock, Rand: random,
		c: objects.Collection[arca.KeyVersion, *arca.KeyVersion]{Store: store, Clock: clock, Prefix: "k", Noun: "Key",
			Item: func(k arca.KeyVersion) arca.KeyVersion { k.Material = nil; return k },
			Side: PurgeSideRecords}}
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

// Key operation names as Key Vault spells them.
var validOps = map[string]string{
	"encrypt": "encrypt", "decrypt": "decrypt", "sign": "sign", "verify": "verify",
	"wrapkey": "wrapKey", "unwrapkey": "unwrapKey", "import": "import", "export": "export",
}

func normalizeOps(ops []string) ([]string, error) {
	out := make([]string, 0, len(ops))
	for _, o := range ops {
		n, ok := validOps[strings.ToLower(o)]
		if !ok {
			return nil, badParam("Property key_ops has invalid value: %q is not a key operation.", o)
		}
		out = append(out, n)
	}
	return out, nil
}

func defaultOps(kty string) []string {
	if strings.HasPrefix(kty, "EC") {
		return []string{"sign", "verify"}
	}
	return []string{"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}
}

// checkKty validates a key type for the vault: symmetric keys belong to
// Managed HSM, -HSM types to premium vaults.
func checkKty(vault *arca.Vault, kty string) (base string, hsm bool, err error) {
	switch kty {
	case "RSA", "EC":
		return kty, false, nil
	case "RSA-HSM", "EC-HSM":
		if !strings.EqualFold(vault.SKU, "premium") {
			return "", false, badParam("Key type %s is not supported by a %s vault: HSM-protected keys require the premium SKU.", kty, vault.SKU)
		}
		return strings.TrimSuffix(kty, "-HSM"), true, nil
	case "oct", "oct-HSM":
		return "", false, badParam("Key type %s is not supported in a key vault: symmetric keys are only available in Managed HSM.", kty)
	case "":
		return "", false, badParam("Property kty is required.")
	}
	return "", false, badParam("Property kty has invalid value: %s is not a supported key type.", kty)
}

func toJWK(p keystore.PublicJWK) arca.JSONWebKey {
	return arca.JSONWebKey{Kty: p.Kty, N: p.N, E: p.E, Crv: p.Crv, X: p.X, Y: p.Y}
}

func toPublic(k arca.JSONWebKey) keystore.PublicJWK {
	return keystore.PublicJWK{Kty: strings.TrimSuffix(k.Kty, "-HSM"), N: k.N, E: k.E, Crv: k.Crv, X: k.X, Y: k.Y}
}

func mapKeystoreErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, keystore.ErrUnsupported):
		return badParam("The key type, size, curve or algorithm is not supported: %v", err)
	case errors.Is(err, keystore.ErrInvalidKey):
		return badParam("The key is not valid: %v", err)
	case errors.Is(err, keystore.ErrInvalidInput):
		return badParam("The value is not valid for the algorithm: %v", err)
	case errors.Is(err, keystore.ErrDecryption):
		return badParam("The ciphertext could not be decrypted with this key and algorithm.")
	}
	return arca.Internal(err)
}

func (s *Service) checkCommon(tags map[string]string, exportable *bool, rp *arca.ReleasePolicy) error {
	if err := objects.CheckTags(tags); err != nil {
		return err
	}
	if exportable != nil && *exportable && rp == nil {
		return badParam("Release policy must be provided when creating the first version of an exportable key.")
	}
	if rp != nil {
		if err := checkReleasePolicy(rp); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) newVersion(name string, kty string, hsm bool, ops []string, k *keystore.Key, enabled *bool, nbf, exp *int64, exportable *bool, tags map[string]string, rp *arca.ReleasePolicy) (*arca.KeyVersion, error) {
	ver, err := objects.NewVersion(s.Clock.Now(), s.Rand)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	en := true
	if enabled != nil {
		en = *enabled
	}
	jwk := toJWK(k.Public)
	jwk.Kty, jwk.KeyOps = kty, ops
	kv := &arca.KeyVersion{Name: name, Version: ver, Key: jwk, Material: k.Material, Tags: tags, ReleasePolicy: rp,
		Attributes: arca.Attributes{Enabled: &en, NotBefore: nbf, Expires: exp, Created: now, Updated: now}}
	if exportable != nil {
		kv.Exportable = *exportable
	}
	if hsm {
		kv.HSMPlatform = "2"
	}
	return kv, nil
}

// CreateKey implements arca.KeyService.
func (s *Service) CreateKey(ctx context.Context, vault *arca.Vault, name string, in arca.KeyCreate) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	base, hsm, err := checkKty(vault, in.Kty)
	if err != nil {
		return nil, err
	}
	ops := defaultOps(in.Kty)
	if in.KeyOps != nil {
		if ops, err = normalizeOps(in.KeyOps); err != nil {
			return nil, err
		}
	}
	if err := s.checkCommon(in.Tags, in.Exportable, in.ReleasePolicy); err != nil {
		return nil, err
	}
	spec := keystore.Spec{Kty: base, Size: in.Size, PublicExponent: in.PublicExponent, Curve: in.Curve}
	if base == "RSA" {
		if in.Curve != "" {
			return nil, badParam("Property crv is not valid for RSA keys.")
		}
		switch in.Size {
		case 0, 2048, 3072, 4096:
		default:
			return nil, badParam("Property key_size has invalid value: RSA key size %d is not supported; use 2048, 3072 or 4096.", in.Size)
		}
	} else {
		if in.Size != 0 || in.PublicExponent != 0 {
			return nil, badParam("Properties key_size and public_exponent are not valid for EC keys.")
		}
		switch in.Curve {
		case "", keystore.CurveP256, keystore.CurveP256K, keystore.CurveP384, keystore.CurveP521:
		default:
			return nil, badParam("Property crv has invalid value: %s is not a supported curve.", in.Curve)
		}
	}
	k, err := s.Keystore.Create(ctx, spec)
	if err != nil {
		return nil, mapKeystoreErr(err)
	}
	kv, err := s.newVersion(name, in.Kty, hsm, ops, k, in.Enabled, in.NotBefore, in.Expires, in.Exportable, in.Tags, in.ReleasePolicy)
	if err != nil {
		return nil, err
	}
	if err := s.c.AddVersion(ctx, vault, kv, false); err != nil {
		return nil, err
	}
	return kv, nil
}

// ImportKey implements arca.KeyService.
func (s *Service) ImportKey(ctx context.Context, vault *arca.Vault, name string, in arca.KeyImport) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	kty := in.Key.Kty
	if in.HSM && !strings.HasSuffix(kty, "-HSM") {
		kty += "-HSM"
	}
	base, hsm, err := checkKty(vault, kty)
	if err != nil {
		return nil, err
	}
	ops := defaultOps(kty)
	if in.Key.KeyOps != nil {
		if ops, err = normalizeOps(in.Key.KeyOps); err != nil {
			return nil, err
		}
	}
	if err := s.checkCommon(in.Tags, in.Exportable, in.ReleasePolicy); err != nil {
		return nil, err
	}
	j := in.Key
	priv := keystore.PrivateJWK{PublicJWK: keystore.PublicJWK{Kty: base, N: j.N, E: j.E, Crv: j.Crv, X: j.X, Y: j.Y},
		D: j.D, P: j.P, Q: j.Q, DP: j.DP, DQ: j.DQ, QI: j.QI}
	k, err := s.Keystore.Import(ctx, priv)
	if err != nil {
		return nil, mapKeystoreErr(err)
	}
	kv, err := s.newVersion(name, kty, hsm, ops, k, in.Enabled, in.NotBefore, in.Expires, in.Exportable, in.Tags, in.ReleasePolicy)
	if err != nil {
		return nil, err
	}
	if err := s.c.AddVersion(ctx, vault, kv, false); err != nil {
		return nil, err
	}
	return kv, nil
}

// GetKey implements arca.KeyService. Disabled keys are readable (only
// their cryptographic use is refused).
func (s *Service) GetKey(ctx context.Context, vault *arca.Vault, name, version string) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return s.c.Get(ctx, vault, name, version)
}

// UpdateKey implements arca.KeyService.
func (s *Service) UpdateKey(ctx context.Context, vault *arca.Vault, name, version string, u arca.KeyUpdate) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := objects.CheckTags(u.Tags); err != nil {
		return nil, err
	}
	var ops []string
	if u.KeyOps != nil {
		var err error
		if ops, err = normalizeOps(u.KeyOps); err != nil {
			return nil, err
		}
	}
	if u.ReleasePolicy != nil {
		if err := checkReleasePolicy(u.ReleasePolicy); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now().Unix()
	return s.c.Modify(ctx, vault, name, version, false, func(kv *arca.KeyVersion) error {
		if u.ReleasePolicy != nil {
			if kv.ReleasePolicy != nil && kv.ReleasePolicy.Immutable {
				return badParam("The release policy of key %s is immutable and cannot be changed.", name)
			}
			kv.ReleasePolicy = u.ReleasePolicy
		}
		if ops != nil {
			kv.Key.KeyOps = ops
		}
		if u.Tags != nil {
			kv.Tags = u.Tags
			if len(u.Tags) == 0 {
				kv.Tags = nil
			}
		}
		u.Attr.Apply(&kv.Attributes)
		kv.Attributes.Updated = now
		return nil
	})
}

// ListKeys implements arca.KeyService.
func (s *Service) ListKeys(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.KeyVersion], error) {
	return s.c.List(ctx, vault, max, token)
}

// ListKeyVersions implements arca.KeyService.
func (s *Service) ListKeyVersions(ctx context.Context, vault *arca.Vault, name string, max int, token string) (arca.Page[*arca.KeyVersion], error) {
	if err := checkName(name); err != nil {
		return arca.Page[*arca.KeyVersion]{}, err
	}
	return s.c.Versions(ctx, vault, name, max, token)
}

func deleted(d *objects.Deleted[arca.KeyVersion]) *arca.DeletedKey {
	return &arca.DeletedKey{KeyVersion: d.Item, Deletion: d.Deletion}
}

// DeleteKey implements arca.KeyService.
func (s *Service) DeleteKey(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedKey, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.Delete(ctx, vault, name, false)
	if err != nil {
		return nil, err
	}
	return deleted(d), nil
}

// GetDeletedKey implements arca.KeyService.
func (s *Service) GetDeletedKey(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedKey, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.GetDeleted(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	return deleted(d), nil
}

// ListDeletedKeys implements arca.KeyService.
func (s *Service) ListDeletedKeys(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.DeletedKey], error) {
	p, err := s.c.ListDeleted(ctx, vault, max, token)
	out := arca.Page[*arca.DeletedKey]{Next: p.Next}
	for _, d := range p.Items {
		out.Items = append(out.Items, deleted(d))
	}
	return out, err
}

// RecoverKey implements arca.KeyService.
func (s *Service) RecoverKey(ctx context.Context, vault *arca.Vault, name string) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return s.c.Recover(ctx, vault, name)
}

// PurgeKey implements arca.KeyService. The rotation policy goes too, in
// the same transaction (the collection's side records).
func (s *Service) PurgeKey(ctx context.Context, vault *arca.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.c.Purge(ctx, vault, name)
}

type backup struct {
	Kind     string               `json:"kind"`
	Name     string               `json:"name"`
	Latest   string               `json:"latest"`
	Versions []arca.KeyVersion    `json:"versions"`
	Policy   *arca.RotationPolicy `json:"policy,omitempty"`
}

// BackupKey implements arca.KeyService. The blob (which carries the key
// material) is sealed under the deployment's keyring.
func (s *Service) BackupKey(ctx context.Context, vault *arca.Vault, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	b := backup{Kind: "key"}
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var err error
		if b.Name, b.Latest, b.Versions, err = s.c.AllVersionsTx(r, vault, name); err != nil {
			return err
		}
		b.Policy, err = readPolicy(r, vault, name)
		return err
	})
	if err != nil {
		return nil, objects.Wrap(err)
	}
	if len(b.Versions) > objects.MaxBackupVersions {
		return nil, badParam("Backup is not allowed for objects with more than %d versions.", objects.MaxBackupVersions)
	}
	plain, err := json.Marshal(&b)
	if err != nil {
		return nil, arca.Internal(err)
	}
	blob, err := s.Sealer.Seal([]byte(backupAAD), plain)
	if err != nil {
		return nil, arca.Internal(err)
	}
	return blob, nil
}

// RestoreKey implements arca.KeyService.
func (s *Service) RestoreKey(ctx context.Context, vault *arca.Vault, blob []byte) (*arca.KeyVersion, error) {
	bad := arca.Errorf(arca.KindInvalid, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")
	plain, err := s.Sealer.Unseal([]byte(backupAAD), blob)
	if err != nil {
		return nil, bad
	}
	var b backup
	if err := json.Unmarshal(plain, &b); err != nil || b.Kind != "key" || !arca.ValidObjectName(b.Name) || len(b.Versions) == 0 {
		return nil, bad
	}
	for i := range b.Versions {
		if !arca.ValidVersion(b.Versions[i].Version) || !strings.EqualFold(b.Versions[i].Name, b.Name) {
			return nil, bad
		}
		if _, _, err := checkKty(vault, b.Versions[i].Key.Kty); err != nil {
			return nil, err
		}
	}
	var kv *arca.KeyVersion
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		if kv, err = s.c.RestoreTx(tx, vault, b.Name, b.Latest, b.Versions); err != nil {
			return err
		}
		if b.Policy == nil {
			return nil
		}
		return storage.PutJSON(tx, policyKey(vault, b.Name), b.Policy)
	})
	if err != nil {
		return nil, objects.Wrap(err)
	}
	return kv, nil
}
