package deployment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/attestation"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/certificates"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keyspace"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/pki"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/etcd"
	"github.com/arcakv/arca/vaults"
)

// Files of the data directory.
const (
	RootKeyFile     = "root.key"        // 0600, hex root key (KEK)
	DBFile          = "arca.db"         // bbolt; every value sealed by the barrier
	CAFile          = "ca.pem"          // the CA certificate (public)
	FactsFile       = "deployment.json" // non-secret facts `arca env` needs
	CredentialsFile = "credentials.sealed"
	credentialsAAD  = "arca/dev-credentials/v1"
)

// Facts are the non-secret facts `arca env` needs, as DIR/deployment.json
// holds them. The identities and the default vault are the deployment's,
// the same on every node (the store holds them); DNSSuffix, Port and
// ListenPort are the node's own.
type Facts struct {
	TenantID        string `json:"tenantId"`
	DevClientID     string `json:"devClientId"`
	ManagedClientID string `json:"managedIdentityClientId"`
	DefaultVault    string `json:"defaultVault"`
	SubscriptionID  string `json:"subscriptionId"`
	DNSSuffix       string `json:"dnsSuffix"`
	Port            int    `json:"port"` // the port clients use (--public-port)
	// ListenPort is the port `arca serve` listens on when clients use
	// another (Port), so the local tools reach this node directly.
	ListenPort int `json:"listenPort,omitempty"`
}

// Credentials are the development principal's secret and the managed
// identity's header: in the store (sealed by the barrier) for every node,
// and in DIR/credentials.sealed, sealed under the root key, for `arca env`.
type Credentials struct {
	ClientSecret   string `json:"clientSecret"`
	IdentityHeader string `json:"identityHeader"`
}

// App is an opened deployment: store and services, wired by hand.
type App struct {
	Dir        string
	RootKey    []byte
	Store      *barrier.Barrier
	Vaults     *vaults.Service
	Secrets    *secrets.Service
	Keys       *keys.Service
	Certs      *certificates.Service
	Directory  *identity.Directory
	Tokens     *identity.Tokens
	Management *management.Service
	CA         *pki.CA
	Facts      Facts
	Clock      arca.Clock
	Keyspace   *keyspace.Registry // who owns which storage prefix; what a vault purge removes

	opts Options
}

func readRootKey(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, RootKeyFile))
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != 32 {
		return nil, fmt.Errorf("%s: not a 32-byte hex key", RootKeyFile)
	}
	return k, nil
}

// ReadFacts reads dir's copy of the facts; the error wraps os.ErrNotExist
// when the directory was never opened.
func ReadFacts(dir string) (Facts, error) {
	var d Facts
	b, err := os.ReadFile(filepath.Join(dir, FactsFile))
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal(b, &d)
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (a *App) SaveFacts() error {
	b, _ := json.MarshalIndent(a.Facts, "", "  ")
	return writeFileAtomic(filepath.Join(a.Dir, FactsFile), b, 0o644)
}

// Keyspace is the registry of every service's storage prefixes and vault
// purges. An error means two services claim overlapping prefixes.
func Keyspace() (*keyspace.Registry, error) {
	r := &keyspace.Registry{}
	for _, c := range []keyspace.Claim{barrier.Keyspace(), objects.Keyspace(), vaults.Keyspace(), secrets.Keyspace(),
		keys.Keyspace(), certificates.Keyspace(), identity.Keyspace(), management.Keyspace(), keyspaceClaim()} {
		if err := r.Add(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Options configure the services of a deployment. The zero value (with a
// Clock) opens a data directory for the offline commands: no token issuer
// origin, no key release, notifications dropped.
type Options struct {
	Clock        arca.Clock
	DefaultVault string // the vault created on first start ("" for none)
	// Storage is the backend: StorageBolt (or "") keeps the store in
	// DIR/arca.db; StorageEtcd keeps it in the etcd cluster Etcd
	// describes, shared with the other nodes.
	Storage string
	Etcd    etcd.Config
	// DNSSuffix and Port, when set, are recorded for `arca env` (Port is
	// the port clients use).
	DNSSuffix string
	Port      int
	// Authority is the token service's origin (the tokens' issuer).
	Authority string
	// VaultURL gives a vault's canonical URL, for the kids the keys and
	// certificates services write.
	VaultURL func(vault string) string
	// Release verifies attestation tokens for secure key release; nil
	// refuses every release.
	Release *attestation.Verifier
	// Log receives the near-expiry notifications of rotation policies and
	// certificate lifetime actions, and the etcd client's warnings; nil
	// drops them.
	Log *slog.Logger
}

// Open opens the deployment in dir, with every service configured from o
// before it is returned (nothing is set on a service afterwards).
//
// On bolt, Open initialises a fresh data directory on first use (as Init
// does). On etcd it never initialises: it returns an error wrapping
// ErrNotInitialised when the cluster holds no deployment under the prefix
// (run Init once, on one node), ErrNoRootKey when dir has no root key (copy
// it from the node that ran Init), and the barrier's error when the root
// key is not the cluster's; it refuses a dir holding a bolt store. Either
// way it refreshes dir's local copies of the shared facts, the credentials
// and the CA certificate, for `arca env`.
func Open(ctx context.Context, dir string, o Options) (*App, error) {
	return open(ctx, dir, o, false)
}

// Init initialises the deployment and returns it opened. On bolt it is
// Open. On etcd it initialises the cluster, once: it writes dir's root key
// if dir has none and creates the keyring, tenant, identities, CA,
// subscription, default vault and shared facts in the store. Init refuses,
// with an error wrapping ErrInitialised and without writing anything, when
// the prefix holds anything already (a deployment, another init under way,
// other keys); of two concurrent inits at most one succeeds. It refuses a
// dir holding a bolt store too. An init that fails half-way deletes what
// it wrote to the store.
func Init(ctx context.Context, dir string, o Options) (*App, error) {
	return open(ctx, dir, o, true)
}

func open(ctx context.Context, dir string, o Options, initialise bool) (*App, error) {
	switch o.Storage {
	case "", StorageBolt:
		rootKey, db, err := openBolt(dir)
		if err != nil {
			return nil, err
		}
		return wireAndInit(ctx, dir, o, rootKey, db, initOrMigrate)
	case StorageEtcd:
		if initialise {
			return initEtcd(ctx, dir, o)
		}
		return openEtcd(ctx, dir, o)
	default:
		return nil, fmt.Errorf("deployment: storage %q: want %s or %s", o.Storage, StorageBolt, StorageEtcd)
	}
}

// wireAndInit is wire then init in mode; on error it closes inner (and
// what it opened over it).
func wireAndInit(ctx context.Context, dir string, o Options, rootKey []byte, inner storage.Backend, mode initMode) (*App, error) {
	a, err := wire(ctx, dir, o, rootKey, inner)
	if err != nil {
		inner.Close()
		return nil, err
	}
	if err := a.init(ctx, o.DefaultVault, mode); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// wire opens the barrier over inner and builds the services. On error the
// caller closes inner.
func wire(ctx context.Context, dir string, o Options, rootKey []byte, inner storage.Backend) (*App, error) {
	store, err := barrier.Open(ctx, inner, rootKey, rand.Reader)
	if err != nil {
		return nil, err
	}
	space, err := Keyspace()
	if err != nil {
		return nil, err
	}
	clock := o.Clock
	a := &App{Dir: dir, RootKey: rootKey, Store: store, Clock: clock, Keyspace: space, opts: o}
	a.Vaults = vaults.New(store, clock, space.PurgeVault)
	a.Secrets = secrets.New(store, store, clock, rand.Reader)
	a.Tokens = &identity.Tokens{Store: store, Clock: clock, Authority: o.Authority}
	a.Keys = keys.New(store, soft.New(rand.Reader), store, clock, rand.Reader)
	a.Keys.VaultURL = o.VaultURL
	if o.Release != nil {
		a.Keys.SKR = &keys.Release{Verifier: o.Release, RuntimeKey: attestation.RuntimeKey, Signer: a.Tokens}
	}
	if o.Log != nil {
		a.Keys.Notify = func(vault, name, version string, expires time.Time) {
			o.Log.Info("key near expiry (rotation policy Notify action)", "vault", vault, "key", name, "version", version, "expires", expires.UTC())
		}
	}
	a.Directory = &identity.Directory{Store: store, Clock: clock, Rand: rand.Reader}
	a.Management = &management.Service{Store: store, Clock: clock, Rand: rand.Reader, ResourceExists: a.vaultScopeExists}
	return a, nil
}

// initMode says what init may create.
type initMode int

const (
	// openExisting: the store must hold the shared facts (etcd's Open).
	openExisting initMode = iota
	// initOrMigrate: create what is missing; a directory from before the
	// store held the shared facts has them in its files (bolt).
	initOrMigrate
	// initFresh: create everything; dir's files describe no part of this
	// store (etcd's Init). The init marker goes with the facts' write.
	initFresh
)

// init loads the shared facts, creates what the store lacks (tenant,
// development service principal, managed identity, token signing key, CA,
// default vault) as mode allows, stores the shared facts and writes dir's
// copies of them.
func (a *App) init(ctx context.Context, defaultVault string, mode initMode) error {
	local, err := ReadFacts(a.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	sf, found, err := a.loadShared(ctx)
	if err != nil {
		return err
	}
	switch {
	case found:
	case mode == openExisting:
		return fmt.Errorf("%w: the store holds no deployment facts", ErrNotInitialised)
	case mode == initOrMigrate:
		// A directory from before the store held the shared facts: adopt
		// its files' if they describe this store (its tenant).
		if t, err := a.Directory.Tenant(ctx); err == nil && local.TenantID != "" && t.ID == local.TenantID {
			sf = shared(local, Credentials{})
			if c, err := ReadCredentials(a.Dir); err == nil {
				sf.Credentials = *c
			}
		}
	}
	creds := sf.Credentials
	a.Facts = Facts{DNSSuffix: local.DNSSuffix, Port: local.Port, ListenPort: local.ListenPort}
	sf.apply(&a.Facts)
	if a.opts.DNSSuffix != "" {
		a.Facts.DNSSuffix, a.Facts.Port = a.opts.DNSSuffix, a.opts.Port
	}
	if a.Facts.DNSSuffix == "" {
		a.Facts.DNSSuffix, a.Facts.Port = "vault.localhost", 8443 // serve's defaults until it records its own
	}
	t, err := a.Directory.InitTenant(ctx)
	if err != nil {
		return err
	}
	a.Facts.TenantID = t.ID
	if err := a.Tokens.Load(ctx); err != nil {
		return err
	}
	if a.CA, err = pki.LoadOrCreate(ctx, a.Store, a.Clock.Now()); err != nil {
		return err
	}
	a.Certs = certificates.New(a.Store, a.Keys.Keystore, a.Keys, a.Secrets, a.Store, a.Clock, rand.Reader)
	a.Certs.CA = certificates.StaticCA{Cert: a.CA.Cert, Key: a.CA.Key}
	a.Certs.VaultURL = a.opts.VaultURL
	if log := a.opts.Log; log != nil {
		a.Certs.Notify = func(e certificates.Event) {
			log.Info("certificate near expiry: EmailContacts", "vault", e.Vault, "certificate", e.Name, "version", e.Version, "expires", e.Expires, "contacts", len(e.Contacts))
		}
	}
	if err := writeFileAtomic(filepath.Join(a.Dir, CAFile), a.CA.PEM(), 0o644); err != nil {
		return err
	}
	if a.Facts.DevClientID == "" {
		sp, secret, err := a.Directory.CreateServicePrincipal(ctx, "arca-dev", true, nil)
		if err != nil {
			return err
		}
		mi, header, err := a.Directory.CreateManagedIdentity(ctx)
		if err != nil {
			return err
		}
		creds.ClientSecret, creds.IdentityHeader = secret, header
		a.Facts.DevClientID, a.Facts.ManagedClientID = sp.AppID, mi.AppID
	}
	if a.Facts.SubscriptionID == "" {
		sub, err := a.Management.CreateSubscription(ctx, "Arca", t.ID, a.DevObjectID(ctx))
		if err != nil {
			return err
		}
		a.Facts.SubscriptionID = sub.ID
	}
	if err := a.ensureGroup(ctx, DefaultResourceGroup); err != nil {
		return err
	}
	if a.Facts.DefaultVault == "" {
		if defaultVault == "" {
			defaultVault = "arca"
		}
		// Premium, so HSM key types work out of the box (the SDK suites use them).
		err := a.Vaults.CreateVault(ctx, a.NewVault(defaultVault, "premium"))
		if err != nil && arca.KindOf(err) != arca.KindConflict {
			return err
		}
		a.Facts.DefaultVault = strings.ToLower(defaultVault)
	}
	if err := a.placeVaults(ctx); err != nil {
		return err
	}
	if now := shared(a.Facts, creds); !found || now != sf {
		var del []string
		if mode == initFresh {
			del = append(del, initKey)
		}
		if err := a.saveShared(ctx, now, del...); err != nil {
			return err
		}
	}
	if err := a.writeCredentials(creds); err != nil {
		return err
	}
	return a.SaveFacts()
}

// DefaultResourceGroup holds the default vault and vaults created offline.
const (
	DefaultResourceGroup = "arca"
	DefaultLocation      = "local"
)

func (a *App) DevObjectID(ctx context.Context) string {
	if sp, err := a.Directory.ServicePrincipal(ctx, a.Facts.DevClientID); err == nil {
		return sp.ObjectID
	}
	return ""
}

// vaultScopeExists reports whether scope is an existing vault of this
// deployment or lies below one (…/vaults/V/secrets/N): the only resources
// Arca has, for custom roles' assignable scopes.
func (a *App) vaultScopeExists(ctx context.Context, scope string) (bool, error) {
	parts := strings.Split(strings.Trim(scope, "/"), "/")
	if len(parts) < 8 || !strings.EqualFold(parts[4], "providers") || !strings.EqualFold(parts[5], "Microsoft.KeyVault") ||
		!strings.EqualFold(parts[6], "vaults") {
		return false, nil
	}
	v, err := a.Vaults.Vault(ctx, parts[7])
	if arca.KindOf(err) == arca.KindNotFound {
		return false, nil
	} else if err != nil {
		return false, err
	}
	id := v.ResourceID()
	return id != "" && management.InScope(id, scope), nil
}

func (a *App) ensureGroup(ctx context.Context, name string) error {
	if _, err := a.Management.ResourceGroup(ctx, a.Facts.SubscriptionID, name); err == nil {
		return nil
	}
	_, _, err := a.Management.PutResourceGroup(ctx, &management.ResourceGroup{Subscription: a.Facts.SubscriptionID,
		Name: name, Location: DefaultLocation})
	return err
}

// NewVault is a vault of the default subscription and resource group whose
// access policies give the development service principal and the managed
// identity every permission (as `az keyvault create` grants its creator).
func (a *App) NewVault(name, sku string) *arca.Vault {
	return &arca.Vault{Name: name, TenantID: a.Facts.TenantID, SKU: sku, Subscription: a.Facts.SubscriptionID,
		ResourceGroup: DefaultResourceGroup, Location: DefaultLocation, AccessPolicies: a.DevPolicies(context.Background())}
}

// DevPolicies grants "all" to the development identities.
func (a *App) DevPolicies(ctx context.Context) []arca.AccessPolicy {
	all := []string{"all"}
	var out []arca.AccessPolicy
	for _, id := range []string{a.Facts.DevClientID, a.Facts.ManagedClientID} {
		if sp, err := a.Directory.ServicePrincipal(ctx, id); err == nil {
			out = append(out, arca.AccessPolicy{TenantID: a.Facts.TenantID, ObjectID: sp.ObjectID,
				Permissions: arca.Permissions{Keys: all, Secrets: all, Certificates: all, Storage: all}})
		}
	}
	return out
}

// placeVaults puts vaults created before the management plane existed into
// the default subscription's resource group "arca".
func (a *App) placeVaults(ctx context.Context) error {
	vs, err := a.Vaults.ListVaults(ctx)
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.Subscription != "" {
			continue
		}
		if _, err := a.Vaults.Update(ctx, v.Name, func(v *arca.Vault) error {
			if v.Subscription == "" {
				v.Subscription, v.ResourceGroup, v.Location = a.Facts.SubscriptionID, DefaultResourceGroup, DefaultLocation
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// storeHealth reports whether the store answers: a shared store's
// revision is read linearizably (a quorum answers); a local one always
// does.
func (a *App) storeHealth(ctx context.Context) error {
	if _, err := a.Store.Revision(ctx); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	return nil
}

// Close closes the store.
func (a *App) Close() error { return a.Store.Close() }

// PurgeExpired purges every soft-deleted object whose retention has passed.
func (a *App) PurgeExpired(ctx context.Context) (int, error) {
	nv, err := a.Vaults.PurgeExpired(ctx)
	if err != nil {
		return nv, err
	}
	n, err := objects.PurgeExpired(ctx, a.Store, a.Clock.Now(), map[string]objects.SideRecords{
		"k": keys.PurgeSideRecords, "c": certificates.PurgeSideRecords,
	})
	return n + nv, err
}

// RotateDue rotates every key whose rotation policy says it is due.
func (a *App) RotateDue(ctx context.Context) (int, error) { return a.Keys.RotateDue(ctx, a.Vaults) }

// RenewDue runs the certificate lifetime actions that are due.
func (a *App) RenewDue(ctx context.Context) (int, error) { return a.Certs.RenewDue(ctx, a.Vaults) }

// ReadCredentials opens dir's copy of the development credentials with
// dir's root key. Errors: a missing file (os.ErrNotExist), a root key that
// is not the one that sealed it (barrier.ErrTampered).
func ReadCredentials(dir string) (*Credentials, error) {
	k, err := readRootKey(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, CredentialsFile))
	if err != nil {
		return nil, err
	}
	plain, err := barrier.OpenWithRootKey(k, []byte(credentialsAAD), b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", CredentialsFile, err)
	}
	var c Credentials
	return &c, json.Unmarshal(plain, &c)
}
