// Package identity is Arca's Entra-compatible token service: the tenant,
// its service principals and managed identity, the token signing keys, the
// OAuth2 grants (client credentials with a secret or a certificate
// assertion, managed identity) and the verification of access tokens.
package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/storage"
	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
)

// Storage keys, all under idPrefix.
const (
	idPrefix    = "id/"
	tenantKey   = "id/tenant"
	spPrefix    = "id/sp/"
	signPrefix  = "id/signing/"
	signCurrent = "id/signing-current"
)

// BcryptCost is the work factor of client-secret hashes.
const BcryptCost = 11

// Tenant is the deployment's directory.
type Tenant struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// SecretCredential is a client secret, kept only as a hash: a salted
// HMAC-SHA-256 (Alg "hmac-sha256") for the random secrets Arca generates,
// bcrypt (Alg "") for credentials stored by earlier versions.
type SecretCredential struct {
	ID      string    `json:"id"`
	Hint    string    `json:"hint"` // first three characters, as Entra shows
	Alg     string    `json:"alg,omitempty"`
	Salt    []byte    `json:"salt,omitempty"`
	Hash    []byte    `json:"hash"`
	Created time.Time `json:"created"`
}

// CertCredential is a certificate whose key may sign client assertions.
type CertCredential struct {
	SHA1   string `json:"sha1"`   // hex thumbprint
	SHA256 string `json:"sha256"` // hex thumbprint
	DER    []byte `json:"der"`
}

// ServicePrincipal is an application identity of the tenant (or the
// deployment's managed identity when Managed is set).
type ServicePrincipal struct {
	AppID       string             `json:"appId"`
	ObjectID    string             `json:"objectId"`
	DisplayName string             `json:"displayName"`
	Managed     bool               `json:"managed,omitempty"`
	Secrets     []SecretCredential `json:"secrets,omitempty"`
	Certs       []CertCredential   `json:"certs,omitempty"`
	// IdentityHeaderHash is the SHA-256 of the managed identity endpoint
	// secret (a high-entropy random value, so a fast hash suffices).
	IdentityHeaderHash []byte    `json:"identityHeaderHash,omitempty"`
	Created            time.Time `json:"created"`
}

// Directory stores the tenant and its principals.
type Directory struct {
	Store barrier.Sealed
	Clock arca.Clock
	Rand  io.Reader

	gen atomic.Uint64 // see Generation
}

// NewUUID returns a random RFC 4122 version 4 UUID read from r, in the
// lower-case 8-4-4-4-12 form Entra uses for object, application and tenant
// ids. r is a parameter (not crypto/rand) so that tests can make ids
// deterministic.
func NewUUID(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// Tenant returns the tenant, or storage.ErrNotFound before InitTenant.
func (d *Directory) Tenant(ctx context.Context) (*Tenant, error) {
	var t Tenant
	err := d.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(tenantKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &t)
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// InitTenant creates the tenant if none exists and returns it.
func (d *Directory) InitTenant(ctx context.Context) (*Tenant, error) {
	if t, err := d.Tenant(ctx); err == nil {
		return t, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	id, err := NewUUID(d.Rand)
	if err != nil {
		return nil, err
	}
	t := &Tenant{ID: id, Created: d.Clock.Now().UTC()}
	b, _ := json.Marshal(t)
	err = d.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(tenantKey); err == nil {
			return errors.New("identity: tenant created concurrently")
		}
		return tx.Put(tenantKey, b)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func randomSecret(r io.Reader) (string, error) {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
	b := make([]byte, 40)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// CreateServicePrincipal registers an application. When withSecret is set a
// client secret is generated and returned once; only its hash is stored.
// certs are PEM-decoded DER certificates allowed to sign client assertions.
func (d *Directory) CreateServicePrincipal(ctx context.Context, name string, withSecret bool, certs [][]byte) (*ServicePrincipal, string, error) {
	appID, err := NewUUID(d.Rand)
	if err != nil {
		return nil, "", err
	}
	oid, err := NewUUID(d.Rand)
	if err != nil {
		return nil, "", err
	}
	now := d.Clock.Now().UTC()
	sp := &ServicePrincipal{AppID: appID, ObjectID: oid, DisplayName: name, Created: now}
	var secret string
	if withSecret {
		if secret, err = randomSecret(d.Rand); err != nil {
			return nil, "", err
		}
		salt := make([]byte, 32)
		if _, err := io.ReadFull(d.Rand, salt); err != nil {
			return nil, "", err
		}
		cid, err := NewUUID(d.Rand)
		if err != nil {
			return nil, "", err
		}
		sp.Secrets = append(sp.Secrets, SecretCredential{ID: cid, Hint: secret[:3], Alg: secretAlgHMAC, Salt: salt,
			Hash: hmacSecret(salt, secret), Created: now})
	}
	for _, der := range certs {
		if _, err := x509.ParseCertificate(der); err != nil {
			return nil, "", fmt.Errorf("identity: certificate: %w", err)
		}
		s1, s256 := thumbprints(der)
		sp.Certs = append(sp.Certs, CertCredential{SHA1: s1, SHA256: s256, DER: der})
	}
	if err := d.put(ctx, sp); err != nil {
		return nil, "", err
	}
	return sp, secret, nil
}

// CreateManagedIdentity registers the deployment's system-assigned managed
// identity and returns it with its endpoint header secret (shown once).
func (d *Directory) CreateManagedIdentity(ctx context.Context) (*ServicePrincipal, string, error) {
	sp, _, err := d.CreateServicePrincipal(ctx, "arca-managed-identity", false, nil)
	if err != nil {
		return nil, "", err
	}
	header, err := randomSecret(d.Rand)
	if err != nil {
		return nil, "", err
	}
	h := sha256.Sum256([]byte(header))
	sp.Managed, sp.IdentityHeaderHash = true, h[:]
	return sp, header, d.put(ctx, sp)
}

func (d *Directory) put(ctx context.Context, sp *ServicePrincipal) error {
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return d.Store.Update(ctx, func(tx storage.Tx) error { return tx.Put(spPrefix+strings.ToLower(sp.AppID), b) })
}

// ServicePrincipal returns the principal with the given application id, or
// storage.ErrNotFound.
func (d *Directory) ServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	var sp ServicePrincipal
	err := d.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(spPrefix + strings.ToLower(appID))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &sp)
	})
	if err != nil {
		return nil, err
	}
	return &sp, nil
}

// ServicePrincipals lists every principal.
func (d *Directory) ServicePrincipals(ctx context.Context) ([]*ServicePrincipal, error) {
	var out []*ServicePrincipal
	err := d.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(spPrefix, "", func(_ string, b []byte) bool {
			var sp ServicePrincipal
			if json.Unmarshal(b, &sp) == nil {
				out = append(out, &sp)
			}
			return true
		})
	})
	return out, err
}

// DeleteServicePrincipal removes a principal; storage.ErrNotFound if absent.
func (d *Directory) DeleteServicePrincipal(ctx context.Context, appID string) error {
	return d.Store.Update(ctx, func(tx storage.Tx) error {
		k := spPrefix + strings.ToLower(appID)
		if _, err := tx.Get(k); err != nil {
			return err
		}
		return tx.Delete(k)
	})
}

// ManagedIdentity returns the deployment's managed identity.
func (d *Directory) ManagedIdentity(ctx context.Context) (*ServicePrincipal, error) {
	sps, err := d.ServicePrincipals(ctx)
	if err != nil {
		return nil, err
	}
	for _, sp := range sps {
		if sp.Managed {
			return sp, nil
		}
	}
	return nil, storage.ErrNotFound
}

// CheckSecret reports whether secret matches one of sp's client secrets,
// fast hashes first; a bcrypt hash (from an earlier version) is compared
// only when slow is set.
func (sp *ServicePrincipal) CheckSecret(secret string, slow bool) bool {
	for i := range sp.Secrets {
		if c := &sp.Secrets[i]; c.Alg == secretAlgHMAC && c.fastMatch(secret) {
			return true
		}
	}
	if !slow {
		return false
	}
	for _, c := range sp.Secrets {
		if c.Alg == "" && bcrypt.CompareHashAndPassword(c.Hash, []byte(secret)) == nil {
			return true
		}
	}
	return false
}

// hasSlowSecrets reports whether a secret of sp is a bcrypt hash.
func (sp *ServicePrincipal) hasSlowSecrets() bool {
	for _, c := range sp.Secrets {
		if c.Alg == "" {
			return true
		}
	}
	return false
}

// CheckIdentityHeader reports whether header is the managed identity secret.
func (sp *ServicePrincipal) CheckIdentityHeader(header string) bool {
	h := sha256.Sum256([]byte(header))
	return len(sp.IdentityHeaderHash) == len(h) && subtle.ConstantTimeCompare(sp.IdentityHeaderHash, h[:]) == 1
}
