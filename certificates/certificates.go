// Package certificates implements arca.CertificateService: certificates on
// the shared object lifecycle (package objects), each version linked to a
// certificate-managed key and secret of the same name and version, issued
// self-signed, by the deployment CA (issuer provider "Arca") or through a
// CSR and merge (issuer "Unknown").
package certificates

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/storage"
)

// CA is the deployment's certificate authority, the "Arca" issuer provider.
type CA interface {
	Certificate() *x509.Certificate
	Signer() crypto.Signer
}

// StaticCA is a CA from a certificate and its key.
type StaticCA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Certificate implements CA.
func (c StaticCA) Certificate() *x509.Certificate { return c.Cert }

// Signer implements CA.
func (c StaticCA) Signer() crypto.Signer { return c.Key }

// Event is a lifetime event recorded by RenewDue.
type Event struct {
	Vault, Name, Version, Action string
	Expires                      time.Time
	Contacts                     []arca.Contact
}

// Service implements arca.CertificateService.
type Service struct {
	Store   storage.Backend
	Keys    *keys.Service
	Secrets *secrets.Service
	Sealer  secrets.Sealer
	Clock   arca.Clock
	Rand    io.Reader
	// CA signs for the "Arca" issuer; nil refuses it.
	CA CA
	// VaultURL returns a vault's canonical URL (for the kid of backing secrets).
	VaultURL func(vault string) string
	// Notify receives EmailContacts events from RenewDue; nil drops them.
	Notify func(Event)
	c      objects.Collection[arca.CertificateVersion, *arca.CertificateVersion]
}

var _ arca.CertificateService = (*Service)(nil)

const backupAAD = "arca/backup/certificate/v1"

// New returns a Service over store (the encryption barrier).
func New(store storage.Backend, k *keys.Service, s *secrets.Service, sealer secrets.Sealer, clock arca.Clock, random io.Reader) *Service {
	if random == nil {
		random = rand.Reader
	}
	return &Service{Store: store, Keys: k, Secrets: s, Sealer: sealer, Clock: clock, Rand: random,
		c: objects.Collection[arca.CertificateVersion, *arca.CertificateVersion]{Store: store, Clock: clock, Prefix: "c", Noun: "Certificate"}}
}

func checkName(name string) error {
	if !arca.ValidObjectName(name) {
		return badParam("The request URI contains an invalid name: %s", name)
	}
	return nil
}

func lower(s string) string { return strings.ToLower(s) }

func policyKey(v *arca.Vault, n string) string { return "cp/" + lower(v.Name) + "/" + lower(n) }

// PurgeSideRecords removes a purged certificate's policy, pending operation
// and lifetime-action marker (an objects.SideRecords for the "c" collection).
func PurgeSideRecords(tx storage.Tx, vault, name string) error {
	for _, p := range []string{"cp/", "co/", "cn/"} {
		if err := tx.Delete(p + lower(vault) + "/" + lower(name)); err != nil {
			return err
		}
	}
	return nil
}
func opKey(v *arca.Vault, n string) string   { return "co/" + lower(v.Name) + "/" + lower(n) }
func noteKey(v *arca.Vault, n string) string { return "cn/" + lower(v.Name) + "/" + lower(n) }

func (s *Service) get(ctx context.Context, key string, out any) (bool, error) {
	var found bool
	err := s.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return json.Unmarshal(b, out)
	})
	return found, objects.Wrap(err)
}

func (s *Service) put(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return arca.Internal(err)
	}
	return objects.Wrap(s.Store.Update(ctx, func(tx storage.Tx) error { return tx.Put(key, b) }))
}

func (s *Service) del(ctx context.Context, keys ...string) error {
	return objects.Wrap(s.Store.Update(ctx, func(tx storage.Tx) error {
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	}))
}

func (s *Service) policy(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificatePolicy, error) {
	var p arca.CertificatePolicy
	ok, err := s.get(ctx, policyKey(vault, name), &p)
	if err != nil || !ok {
		return nil, err
	}
	return &p, nil
}

func (s *Service) bundle(ctx context.Context, vault *arca.Vault, cv *arca.CertificateVersion) (*arca.CertificateBundle, error) {
	p, err := s.policy(ctx, vault, cv.Name)
	if err != nil {
		return nil, err
	}
	return &arca.CertificateBundle{CertificateVersion: *cv, Policy: p}, nil
}

func ignoreNotFound(err error) error {
	if arca.KindOf(err) == arca.KindNotFound {
		return nil
	}
	return err
}

// GetCertificate implements arca.CertificateService.
func (s *Service) GetCertificate(ctx context.Context, vault *arca.Vault, name, version string) (*arca.CertificateBundle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if version != "" && !arca.ValidVersion(version) {
		return nil, s.c.NotFound(name + "/" + version)
	}
	cv, err := s.c.Get(ctx, vault, name, version)
	if arca.KindOf(err) == arca.KindNotFound {
		if pending, perr := s.pendingVersion(ctx, vault, name); perr == nil && pending != nil && (version == "" || strings.EqualFold(version, pending.Version)) {
			return s.bundle(ctx, vault, pending)
		}
	}
	if err != nil {
		return nil, err
	}
	return s.bundle(ctx, vault, cv)
}

// pendingVersion returns the version a name's unfinished first issuance
// (in progress, cancelled or failed, until its operation is deleted) will
// have: disabled, without a certificate yet. Otherwise nil. Key Vault serves
// such a certificate before its operation completes; SDKs read it while
// polling.
func (s *Service) pendingVersion(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificateVersion, error) {
	var rec opRecord
	ok, err := s.get(ctx, opKey(vault, name), &rec)
	if err != nil || !ok || rec.Op.Status == arca.OpCompleted {
		return nil, err
	}
	if _, err := s.c.Latest(ctx, vault, name); err == nil {
		return nil, nil // an existing certificate is renewing: its latest version stands
	}
	disabled := false
	cv := &arca.CertificateVersion{Name: rec.Op.Name, Version: rec.Op.Version, Attributes: arca.Attributes{Enabled: &disabled}, Tags: rec.Tags}
	if rec.Policy != nil {
		if sp := rec.Policy.SecretProps; sp != nil {
			cv.ContentType = sp.ContentType
		}
		if a := rec.Policy.Attributes; a != nil {
			cv.Attributes.Created, cv.Attributes.Updated = a.Created, a.Updated
		}
	}
	return cv, nil
}

// UpdateCertificate implements arca.CertificateService.
func (s *Service) UpdateCertificate(ctx context.Context, vault *arca.Vault, name, version string, u arca.CertificateUpdate) (*arca.CertificateBundle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if version != "" && !arca.ValidVersion(version) {
		return nil, s.c.NotFound(name + "/" + version)
	}
	if err := secrets.CheckTags(u.Tags); err != nil {
		return nil, err
	}
	if u.Policy != nil {
		if err := checkPolicy(u.Policy, false); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now().Unix()
	cv, err := s.c.Modify(ctx, vault, name, version, false, func(cv *arca.CertificateVersion) error {
		if u.Tags != nil {
			cv.Tags = u.Tags
			if len(u.Tags) == 0 {
				cv.Tags = nil
			}
		}
		u.Attr.Apply(&cv.Attributes)
		cv.Attributes.Updated = now
		return nil
	})
	if err != nil {
		return nil, err
	}
	if u.Policy != nil {
		if _, err := s.UpdateCertificatePolicy(ctx, vault, name, *u.Policy); err != nil {
			return nil, err
		}
	}
	return s.bundle(ctx, vault, cv)
}

// ListCertificates implements arca.CertificateService. With includePending,
// names whose first issuance is still in progress are listed too, in name
// order within the page's range.
func (s *Service) ListCertificates(ctx context.Context, vault *arca.Vault, max int, token string, includePending bool) (arca.Page[*arca.CertificateVersion], error) {
	page, err := s.c.List(ctx, vault, max, token)
	if err != nil || !includePending {
		return page, err
	}
	var names []string
	prefix := "co/" + lower(vault.Name) + "/"
	err = s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(prefix, prefix+lower(token), func(k string, _ []byte) bool {
			n := strings.TrimPrefix(k, prefix)
			if page.Next != "" && n > page.Next {
				return false
			}
			names = append(names, n)
			return true
		})
	})
	if err != nil {
		return page, objects.Wrap(err)
	}
	for _, n := range names {
		pv, err := s.pendingVersion(ctx, vault, n)
		if err != nil {
			return page, err
		}
		if pv != nil {
			page.Items = append(page.Items, pv)
		}
	}
	sort.SliceStable(page.Items, func(i, j int) bool { return lower(page.Items[i].Name) < lower(page.Items[j].Name) })
	return page, nil
}

// ListCertificateVersions implements arca.CertificateService.
func (s *Service) ListCertificateVersions(ctx context.Context, vault *arca.Vault, name string, max int, token string) (arca.Page[*arca.CertificateVersion], error) {
	if err := checkName(name); err != nil {
		return arca.Page[*arca.CertificateVersion]{}, err
	}
	return s.c.Versions(ctx, vault, name, max, token)
}

// GetCertificatePolicy implements arca.CertificateService.
func (s *Service) GetCertificatePolicy(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificatePolicy, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	p, err := s.policy(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if p == nil || !s.knownName(ctx, vault, name) {
		return nil, s.c.NotFound(name)
	}
	return p, nil
}

// knownName reports whether name is an active certificate or has a pending operation.
func (s *Service) knownName(ctx context.Context, vault *arca.Vault, name string) bool {
	if _, err := s.c.Latest(ctx, vault, name); err == nil {
		return true
	}
	var rec opRecord
	ok, _ := s.get(ctx, opKey(vault, name), &rec)
	return ok
}

// UpdateCertificatePolicy implements arca.CertificateService: members the
// update sets replace the stored ones.
func (s *Service) UpdateCertificatePolicy(ctx context.Context, vault *arca.Vault, name string, u arca.CertificatePolicy) (*arca.CertificatePolicy, error) {
	p, err := s.GetCertificatePolicy(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if err := checkPolicy(&u, false); err != nil {
		return nil, err
	}
	mergePolicy(p, &u)
	if err := checkPolicy(p, false); err != nil {
		return nil, err
	}
	p.Attributes.Updated = s.Clock.Now().Unix()
	if err := s.put(ctx, policyKey(vault, name), p); err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteCertificate implements arca.CertificateService: a soft delete of the
// certificate and its key and secret.
func (s *Service) DeleteCertificate(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedCertificate, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.Delete(ctx, vault, name, false)
	if err != nil {
		return nil, err
	}
	if err := ignoreNotFound(s.Keys.DeleteManaged(ctx, vault, name)); err != nil {
		return nil, err
	}
	if err := ignoreNotFound(s.Secrets.DeleteManaged(ctx, vault, name)); err != nil {
		return nil, err
	}
	if err := s.del(ctx, opKey(vault, name)); err != nil {
		return nil, err
	}
	return s.deleted(ctx, vault, d)
}

func (s *Service) deleted(ctx context.Context, vault *arca.Vault, d *objects.Deleted[arca.CertificateVersion]) (*arca.DeletedCertificate, error) {
	b, err := s.bundle(ctx, vault, &d.Item)
	if err != nil {
		return nil, err
	}
	return &arca.DeletedCertificate{CertificateBundle: *b, Deletion: d.Deletion}, nil
}

// GetDeletedCertificate implements arca.CertificateService.
func (s *Service) GetDeletedCertificate(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedCertificate, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d, err := s.c.GetDeleted(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	return s.deleted(ctx, vault, d)
}

// ListDeletedCertificates implements arca.CertificateService.
func (s *Service) ListDeletedCertificates(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.DeletedCertificate], error) {
	p, err := s.c.ListDeleted(ctx, vault, max, token)
	out := arca.Page[*arca.DeletedCertificate]{Next: p.Next}
	for _, d := range p.Items {
		out.Items = append(out.Items, &arca.DeletedCertificate{CertificateBundle: arca.CertificateBundle{CertificateVersion: d.Item}, Deletion: d.Deletion})
	}
	return out, err
}

// RecoverCertificate implements arca.CertificateService (with its key and secret).
func (s *Service) RecoverCertificate(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificateBundle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	cv, err := s.c.Recover(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if err := ignoreNotFound(s.Keys.RecoverManaged(ctx, vault, name)); err != nil {
		return nil, err
	}
	if err := ignoreNotFound(s.Secrets.RecoverManaged(ctx, vault, name)); err != nil {
		return nil, err
	}
	return s.bundle(ctx, vault, cv)
}

// PurgeCertificate implements arca.CertificateService (with its key, secret
// and policy).
func (s *Service) PurgeCertificate(ctx context.Context, vault *arca.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := s.c.Purge(ctx, vault, name); err != nil {
		return err
	}
	if err := ignoreNotFound(s.Keys.PurgeManaged(ctx, vault, name)); err != nil {
		return err
	}
	if err := ignoreNotFound(s.Secrets.PurgeManaged(ctx, vault, name)); err != nil {
		return err
	}
	return s.del(ctx, policyKey(vault, name), opKey(vault, name), noteKey(vault, name))
}

type backup struct {
	Kind         string                    `json:"kind"`
	Name         string                    `json:"name"`
	Latest       string                    `json:"latest"`
	Versions     []arca.CertificateVersion `json:"versions"`
	Policy       *arca.CertificatePolicy   `json:"policy,omitempty"`
	KeyLatest    string                    `json:"keyLatest,omitempty"`
	Keys         []arca.KeyVersion         `json:"keys,omitempty"`
	SecretLatest string                    `json:"secretLatest,omitempty"`
	Secrets      []arca.SecretVersion      `json:"secrets,omitempty"`
}

func malformedBackup() error {
	return arca.Errorf(arca.KindInvalid, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")
}

// BackupCertificate implements arca.CertificateService: one sealed blob with
// the certificate's, key's and secret's versions and the policy.
func (s *Service) BackupCertificate(ctx context.Context, vault *arca.Vault, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	hname, latest, versions, err := s.c.AllVersions(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if len(versions) > secrets.MaxBackupVersions {
		return nil, badParam("Backup is not allowed for objects with more than %d versions.", secrets.MaxBackupVersions)
	}
	b := backup{Kind: "certificate", Name: hname, Latest: latest, Versions: versions}
	if b.Policy, err = s.policy(ctx, vault, name); err != nil {
		return nil, err
	}
	if _, b.KeyLatest, b.Keys, err = s.Keys.ManagedVersions(ctx, vault, name); ignoreNotFound(err) != nil {
		return nil, err
	}
	if _, b.SecretLatest, b.Secrets, err = s.Secrets.ManagedVersions(ctx, vault, name); ignoreNotFound(err) != nil {
		return nil, err
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

func conflict(name string) error {
	return arca.Errorf(arca.KindConflict, "Conflict",
		"Certificate %s already exists in this key vault; restore is only allowed for a name that is neither in use nor soft-deleted.", name)
}

// RestoreCertificate implements arca.CertificateService. A name in use by a
// certificate, key or secret (active or soft-deleted) is a 409.
func (s *Service) RestoreCertificate(ctx context.Context, vault *arca.Vault, blob []byte) (*arca.CertificateBundle, error) {
	plain, err := s.Sealer.Unseal([]byte(backupAAD), blob)
	if err != nil {
		return nil, malformedBackup()
	}
	var b backup
	if err := json.Unmarshal(plain, &b); err != nil || b.Kind != "certificate" || !arca.ValidObjectName(b.Name) || len(b.Versions) == 0 {
		return nil, malformedBackup()
	}
	for i := range b.Versions {
		if !arca.ValidVersion(b.Versions[i].Version) || !strings.EqualFold(b.Versions[i].Name, b.Name) {
			return nil, malformedBackup()
		}
	}
	for i := range b.Keys {
		if !strings.EqualFold(b.Keys[i].Name, b.Name) {
			return nil, malformedBackup()
		}
	}
	for i := range b.Secrets {
		if !strings.EqualFold(b.Secrets[i].Name, b.Name) {
			return nil, malformedBackup()
		}
	}
	if _, err := s.c.Latest(ctx, vault, b.Name); err == nil {
		return nil, conflict(b.Name)
	}
	if _, err := s.c.GetDeleted(ctx, vault, b.Name); err == nil {
		return nil, conflict(b.Name)
	}
	if ok, err := s.Keys.ManagedExists(ctx, vault, b.Name); err != nil || ok && len(b.Keys) > 0 {
		if err != nil {
			return nil, err
		}
		return nil, conflict(b.Name)
	}
	if ok, err := s.Secrets.ManagedExists(ctx, vault, b.Name); err != nil || ok && len(b.Secrets) > 0 {
		if err != nil {
			return nil, err
		}
		return nil, conflict(b.Name)
	}
	cv, err := s.c.Restore(ctx, vault, b.Name, b.Latest, b.Versions)
	if err != nil {
		return nil, err
	}
	if len(b.Keys) > 0 {
		if err := s.Keys.RestoreManaged(ctx, vault, b.Name, b.KeyLatest, b.Keys); err != nil {
			return nil, err
		}
	}
	if len(b.Secrets) > 0 {
		if err := s.Secrets.RestoreManaged(ctx, vault, b.Name, b.SecretLatest, b.Secrets); err != nil {
			return nil, err
		}
	}
	if b.Policy != nil {
		if err := s.put(ctx, policyKey(vault, b.Name), b.Policy); err != nil {
			return nil, err
		}
	}
	return s.bundle(ctx, vault, cv)
}

func newVersion(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", arca.Internal(err)
	}
	return hex.EncodeToString(b), nil
}

func requestID(r io.Reader) string {
	v, _ := newVersion(r)
	return v
}

// ks is the keystore holding certificate keys.
func (s *Service) ks() keystore.Keystore { return s.Keys.Keystore }
