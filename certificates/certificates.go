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
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
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

// Managed is what a certificate needs of the service that owns its key
// (T = arca.KeyVersion, the keys service) or its secret (T =
// arca.SecretVersion, the secrets service): the lifecycle steps of a
// certificate-managed object, each run inside the certificate's own
// transaction, so that a certificate and its key and secret change
// together or not at all. The steps check before they write (a step that
// fails has written nothing) and return unwrapped errors, as the objects
// package's Tx steps do.
type Managed[T any] interface {
	// GetManagedTx returns a version (the latest when version is "").
	GetManagedTx(r storage.Reader, vault *arca.Vault, name, version string) (*T, error)
	// ManagedExistsTx reports whether name is in use, active or deleted.
	ManagedExistsTx(r storage.Reader, vault *arca.Vault, name string) (bool, error)
	// ManagedVersionsTx returns the latest version id and every version.
	ManagedVersionsTx(r storage.Reader, vault *arca.Vault, name string) (string, []T, error)
	// PutManagedTx stores v, marked managed, as the latest version.
	PutManagedTx(tx storage.Tx, vault *arca.Vault, v *T) error
	// DeleteManagedTx soft-deletes the object, dated now.
	DeleteManagedTx(tx storage.Tx, vault *arca.Vault, name string, now time.Time) error
	// RecoverManagedTx recovers the soft-deleted object.
	RecoverManagedTx(tx storage.Tx, vault *arca.Vault, name string) error
	// PurgeManagedTx purges the soft-deleted object and its side records.
	PurgeManagedTx(tx storage.Tx, vault *arca.Vault, name string) error
	// RestoreManagedTx recreates the object from a backup's versions.
	RestoreManagedTx(tx storage.Tx, vault *arca.Vault, name, latest string, versions []T) error
}

// Service implements arca.CertificateService.
type Service struct {
	Store barrier.Sealed
	// Keystore holds the certificates' private keys (the keys service's).
	Keystore keystore.Keystore
	Keys     Managed[arca.KeyVersion]
	Secrets  Managed[arca.SecretVersion]
	Sealer   objects.Sealer
	Clock    arca.Clock
	Rand     io.Reader
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

// New returns a Service over store (the encryption barrier). ks holds the
// private keys; k and sec are the keys and secrets services, over the same
// store.
func New(store barrier.Sealed, ks keystore.Keystore, k Managed[arca.KeyVersion], sec Managed[arca.SecretVersion], sealer objects.Sealer, clock arca.Clock, random io.Reader) *Service {
	if random == nil {
		random = rand.Reader
	}
	return &Service{Store: store, Keystore: ks, Keys: k, Secrets: sec, Sealer: sealer, Clock: clock, Rand: random,
		c: objects.Collection[arca.CertificateVersion, *arca.CertificateVersion]{Store: store, Clock: clock, Prefix: "c", Noun: "Certificate",
			Side: PurgeSideRecords}}
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

// getTx decodes the value under key into out and reports whether it exists.
func getTx(r storage.Reader, key string, out any) (bool, error) {
	b, err := r.Get(key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, json.Unmarshal(b, out)
}

func (s *Service) get(ctx context.Context, key string, out any) (bool, error) {
	var found bool
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var err error
		found, err = getTx(r, key, out)
		return err
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

// update runs fn as one transaction: one domain change.
func (s *Service) update(ctx context.Context, fn func(storage.Tx) error) error {
	return objects.Wrap(s.Store.Update(ctx, fn))
}

// view runs fn in one consistent snapshot.
func (s *Service) view(ctx context.Context, fn func(storage.Reader) error) error {
	return objects.Wrap(s.Store.View(ctx, fn))
}

// policyTx returns a name's stored policy, nil without one.
func policyTx(r storage.Reader, vault *arca.Vault, name string) (*arca.CertificatePolicy, error) {
	var p arca.CertificatePolicy
	ok, err := getTx(r, policyKey(vault, name), &p)
	if err != nil || !ok {
		return nil, err
	}
	return &p, nil
}

func (s *Service) policy(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificatePolicy, error) {
	var p *arca.CertificatePolicy
	err := s.view(ctx, func(r storage.Reader) error {
		var err error
		p, err = policyTx(r, vault, name)
		return err
	})
	return p, err
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
		pending, perr := s.pendingVersion(ctx, vault, name)
		if perr != nil {
			return nil, perr
		}
		if pending != nil && (version == "" || strings.EqualFold(version, pending.Version)) {
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
	var pending bool
	err := s.view(ctx, func(r storage.Reader) error {
		ok, err := getTx(r, opKey(vault, name), &rec)
		if err != nil || !ok || rec.Op.Status == arca.OpCompleted {
			return err
		}
		_, err = s.c.LatestTx(r, vault, name)
		if err == nil {
			return nil // an existing certificate is renewing: its latest version stands
		}
		if arca.KindOf(err) != arca.KindNotFound {
			return err
		}
		pending = true
		return nil
	})
	if err != nil || !pending {
		return nil, err
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
	if err := objects.CheckTags(u.Tags); err != nil {
		return nil, err
	}
	if u.Policy != nil {
		if err := checkPolicy(u.Policy, false); err != nil {
			return nil, err
		}
	}
	now := s.Clock.Now().Unix()
	var b arca.CertificateBundle
	err := s.update(ctx, func(tx storage.Tx) error {
		cv, err := s.c.ModifyTx(tx, vault, name, version, false, func(cv *arca.CertificateVersion) error {
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
			return err
		}
		b.CertificateVersion = *cv
		if u.Policy != nil {
			b.Policy, err = s.updatePolicyTx(tx, vault, name, *u.Policy, now)
		} else {
			b.Policy, err = policyTx(tx, vault, name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
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
	var p *arca.CertificatePolicy
	err := s.view(ctx, func(r storage.Reader) error {
		var err error
		p, err = s.knownPolicyTx(r, vault, name)
		return err
	})
	return p, err
}

// knownPolicyTx returns the policy of name, which must be an active
// certificate or have an operation.
func (s *Service) knownPolicyTx(r storage.Reader, vault *arca.Vault, name string) (*arca.CertificatePolicy, error) {
	p, err := policyTx(r, vault, name)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, s.c.NotFound(name)
	}
	if known, err := s.knownNameTx(r, vault, name); err != nil {
		return nil, err
	} else if !known {
		return nil, s.c.NotFound(name)
	}
	return p, nil
}

// knownNameTx reports whether name is an active certificate or has an operation.
func (s *Service) knownNameTx(r storage.Reader, vault *arca.Vault, name string) (bool, error) {
	if _, err := s.c.LatestTx(r, vault, name); err == nil {
		return true, nil
	} else if arca.KindOf(err) != arca.KindNotFound {
		return false, err
	}
	if _, err := r.Get(opKey(vault, name)); err == nil {
		return true, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	return false, nil
}

// UpdateCertificatePolicy implements arca.CertificateService: members the
// update sets replace the stored ones.
func (s *Service) UpdateCertificatePolicy(ctx context.Context, vault *arca.Vault, name string, u arca.CertificatePolicy) (*arca.CertificatePolicy, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	var p *arca.CertificatePolicy
	err := s.update(ctx, func(tx storage.Tx) error {
		var err error
		p, err = s.updatePolicyTx(tx, vault, name, u, now)
		return err
	})
	return p, err
}

// updatePolicyTx merges u into the stored policy of name.
func (s *Service) updatePolicyTx(tx storage.Tx, vault *arca.Vault, name string, u arca.CertificatePolicy, now int64) (*arca.CertificatePolicy, error) {
	p, err := s.knownPolicyTx(tx, vault, name)
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
	p.Attributes.Updated = now
	if err := storage.PutJSON(tx, policyKey(vault, name), p); err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteCertificate implements arca.CertificateService: a soft delete of the
// certificate and its key and secret (with the same dates), and the end of
// its operation, in one transaction.
func (s *Service) DeleteCertificate(ctx context.Context, vault *arca.Vault, name string) (*arca.DeletedCertificate, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	var out arca.DeletedCertificate
	err := s.update(ctx, func(tx storage.Tx) error {
		d, err := s.c.DeleteTx(tx, vault, name, false, now)
		if err != nil {
			return err
		}
		if err := ignoreNotFound(s.Keys.DeleteManagedTx(tx, vault, name, now)); err != nil {
			return err
		}
		if err := ignoreNotFound(s.Secrets.DeleteManagedTx(tx, vault, name, now)); err != nil {
			return err
		}
		if err := tx.Delete(opKey(vault, name)); err != nil {
			return err
		}
		p, err := policyTx(tx, vault, name)
		out = arca.DeletedCertificate{CertificateBundle: arca.CertificateBundle{CertificateVersion: d.Item, Policy: p}, Deletion: d.Deletion}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
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

// RecoverCertificate implements arca.CertificateService (with its key and
// secret, in one transaction).
func (s *Service) RecoverCertificate(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificateBundle, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var b arca.CertificateBundle
	err := s.update(ctx, func(tx storage.Tx) error {
		cv, err := s.c.RecoverTx(tx, vault, name)
		if err != nil {
			return err
		}
		if err := ignoreNotFound(s.Keys.RecoverManagedTx(tx, vault, name)); err != nil {
			return err
		}
		if err := ignoreNotFound(s.Secrets.RecoverManagedTx(tx, vault, name)); err != nil {
			return err
		}
		p, err := policyTx(tx, vault, name)
		b = arca.CertificateBundle{CertificateVersion: *cv, Policy: p}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// PurgeCertificate implements arca.CertificateService: the certificate, its
// key and secret, its policy, operation and lifetime-action marker go in
// one transaction.
func (s *Service) PurgeCertificate(ctx context.Context, vault *arca.Vault, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	return s.update(ctx, func(tx storage.Tx) error {
		if err := s.c.PurgeTx(tx, vault, name); err != nil { // with PurgeSideRecords
			return err
		}
		if err := ignoreNotFound(s.Keys.PurgeManagedTx(tx, vault, name)); err != nil {
			return err
		}
		return ignoreNotFound(s.Secrets.PurgeManagedTx(tx, vault, name))
	})
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
// the certificate's, key's and secret's versions and the policy, read from
// one snapshot.
func (s *Service) BackupCertificate(ctx context.Context, vault *arca.Vault, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	b := backup{Kind: "certificate"}
	err := s.view(ctx, func(r storage.Reader) error {
		var err error
		if b.Name, b.Latest, b.Versions, err = s.c.AllVersionsTx(r, vault, name); err != nil {
			return err
		}
		if b.Policy, err = policyTx(r, vault, name); err != nil {
			return err
		}
		if b.KeyLatest, b.Keys, err = s.Keys.ManagedVersionsTx(r, vault, name); ignoreNotFound(err) != nil {
			return err
		}
		if b.SecretLatest, b.Secrets, err = s.Secrets.ManagedVersionsTx(r, vault, name); ignoreNotFound(err) != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
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
	var out arca.CertificateBundle
	err = s.update(ctx, func(tx storage.Tx) error {
		if used, err := s.c.ExistsTx(tx, vault, b.Name); err != nil {
			return err
		} else if used {
			return conflict(b.Name)
		}
		if used, err := s.Keys.ManagedExistsTx(tx, vault, b.Name); err != nil {
			return err
		} else if used && len(b.Keys) > 0 {
			return conflict(b.Name)
		}
		if used, err := s.Secrets.ManagedExistsTx(tx, vault, b.Name); err != nil {
			return err
		} else if used && len(b.Secrets) > 0 {
			return conflict(b.Name)
		}
		cv, err := s.c.RestoreTx(tx, vault, b.Name, b.Latest, b.Versions)
		if err != nil {
			return err
		}
		if len(b.Keys) > 0 {
			if err := s.Keys.RestoreManagedTx(tx, vault, b.Name, b.KeyLatest, b.Keys); err != nil {
				return err
			}
		}
		if len(b.Secrets) > 0 {
			if err := s.Secrets.RestoreManagedTx(tx, vault, b.Name, b.SecretLatest, b.Secrets); err != nil {
				return err
			}
		}
		if b.Policy != nil {
			if err := storage.PutJSON(tx, policyKey(vault, b.Name), b.Policy); err != nil {
				return err
			}
		}
		out = arca.CertificateBundle{CertificateVersion: *cv, Policy: b.Policy}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func newVersion(r io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", arca.Internal(err)
	}
	return hex.EncodeToString(b), nil
}

// ks is the keystore holding certificate keys.
func (s *Service) ks() keystore.Keystore { return s.Keystore }
