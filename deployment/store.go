package deployment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keyspace"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/bolt"
	"github.com/arcakv/arca/storage/etcd"
)

// Storage backends, the values of Options.Storage and Config.Storage.
const (
	StorageBolt = "bolt" // DIR/arca.db, held by one process (the default)
	StorageEtcd = "etcd" // an etcd cluster, shared by every node
)

// The refusals of Open and Init on a shared store (etcd). Each comes
// wrapped with what to do about it.
var (
	// ErrInitialised: Init found the cluster initialised already, an init
	// of it under way (or failed half-way), or keys of someone else.
	ErrInitialised = errors.New("deployment: refusing to initialise the store")
	// ErrNotInitialised: Open found no deployment in the cluster.
	ErrNotInitialised = errors.New("deployment: the store is not initialised")
	// ErrNoRootKey: Open found no root key in the data directory.
	ErrNoRootKey = errors.New("deployment: no root key")
)

// CheckStorage reports an unknown storage name, and for StorageEtcd every
// problem etcd.Config.Validate finds in c (c is not looked at otherwise).
// The errors name the flags of `arca serve`.
func CheckStorage(storage string, c etcd.Config) error {
	switch storage {
	case "", StorageBolt:
		return nil
	case StorageEtcd:
		return c.Validate()
	default:
		return fmt.Errorf("--storage %q: want %s or %s", storage, StorageBolt, StorageEtcd)
	}
}

// The deployment's own records: the facts every node shares, and the
// marker an init of a shared store claims first.
const (
	factsKey = "deployment/facts"
	initKey  = "deployment/init"
)

// keyspaceClaim is what the deployment writes itself.
func keyspaceClaim() keyspace.Claim {
	return keyspace.Claim{Owner: "deployment", Prefixes: []string{"deployment/"}}
}

// sharedFacts are the facts every node of a deployment must agree on, kept
// in the store (sealed by the barrier): the identities the deployment
// created for itself and the development credentials. DIR/deployment.json
// and DIR/credentials.sealed are each node's copies of them, for `arca env`.
type sharedFacts struct {
	TenantID        string      `json:"tenantId"`
	DevClientID     string      `json:"devClientId"`
	ManagedClientID string      `json:"managedIdentityClientId"`
	DefaultVault    string      `json:"defaultVault"`
	SubscriptionID  string      `json:"subscriptionId"`
	Credentials     Credentials `json:"credentials"`
}

func (s sharedFacts) apply(f *Facts) {
	f.TenantID, f.DevClientID, f.ManagedClientID = s.TenantID, s.DevClientID, s.ManagedClientID
	f.DefaultVault, f.SubscriptionID = s.DefaultVault, s.SubscriptionID
}

func shared(f Facts, c Credentials) sharedFacts {
	return sharedFacts{TenantID: f.TenantID, DevClientID: f.DevClientID, ManagedClientID: f.ManagedClientID,
		DefaultVault: f.DefaultVault, SubscriptionID: f.SubscriptionID, Credentials: c}
}

// loadShared reads the shared facts; found is false when the store has none.
func (a *App) loadShared(ctx context.Context) (s sharedFacts, found bool, err error) {
	err = a.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(factsKey)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &s)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return sharedFacts{}, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("deployment: reading the shared facts: %w", err)
	}
	return s, true, nil
}

// saveShared stores s and deletes the keys of del in one transaction.
func (a *App) saveShared(ctx context.Context, s sharedFacts, del ...string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return a.Store.Update(ctx, func(tx storage.Tx) error {
		for _, k := range del {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return tx.Put(factsKey, b)
	})
}

// writeCredentials keeps DIR/credentials.sealed (sealed under the root key,
// so `arca env` reads it without the store) equal to c, rewriting it only
// when it does not already hold c.
func (a *App) writeCredentials(c Credentials) error {
	if c == (Credentials{}) {
		return nil
	}
	if old, err := ReadCredentials(a.Dir); err == nil && *old == c {
		return nil
	}
	plain, _ := json.Marshal(c)
	sealed, err := barrier.SealWithRootKey(a.RootKey, []byte(credentialsAAD), plain)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(a.Dir, CredentialsFile), sealed, 0o600)
}

// openBolt opens DIR/arca.db, creating the directory and its root key on
// first use.
func openBolt(dir string) ([]byte, storage.Backend, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	keyPath := filepath.Join(dir, RootKeyFile)
	if _, err := os.Stat(keyPath); errors.Is(err, os.ErrNotExist) {
		k, err := barrier.NewRootKey()
		if err != nil {
			return nil, nil, err
		}
		if err := writeRootKey(dir, k); err != nil {
			return nil, nil, err
		}
	}
	rootKey, err := readRootKey(dir)
	if err != nil {
		return nil, nil, err
	}
	db, err := bolt.Open(filepath.Join(dir, DBFile))
	if err != nil {
		return nil, nil, err
	}
	return rootKey, db, nil
}

func writeRootKey(dir string, k []byte) error {
	return writeFileAtomic(filepath.Join(dir, RootKeyFile), []byte(hex.EncodeToString(k)+"\n"), 0o600)
}

func etcdPrefix(c etcd.Config) string {
	if c.Prefix == "" {
		return etcd.DefaultPrefix
	}
	return c.Prefix
}

func openEtcdBackend(ctx context.Context, o Options) (*etcd.Backend, error) {
	c := o.Etcd
	if c.Log == nil {
		c.Log = o.Log
	}
	b, err := etcd.Open(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("deployment: etcd %v: %w", c.Endpoints, err)
	}
	return b, nil
}

// openEtcd opens the deployment a cluster holds, never initialising it:
// the cluster must have been initialised (ErrNotInitialised) and dir must
// hold the root key (ErrNoRootKey). Both are checked before the barrier
// opens, because barrier.Open would create a keyring in an empty store.
func openEtcd(ctx context.Context, dir string, o Options) (*App, error) {
	if err := notBolt(dir); err != nil {
		return nil, err
	}
	b, err := openEtcdBackend(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := checkInitialised(ctx, b, etcdPrefix(o.Etcd)); err != nil {
		b.Close()
		return nil, err
	}
	rootKey, err := readRootKey(dir)
	if errors.Is(err, os.ErrNotExist) {
		err = fmt.Errorf("%w: %s is missing: copy root.key from the node that ran `arca init --storage etcd` (every node needs the same root key)",
			ErrNoRootKey, filepath.Join(dir, RootKeyFile))
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return wireAndInit(ctx, dir, o, rootKey, b, openExisting)
}

// notBolt refuses a data directory that holds a bolt store: its files
// describe that deployment, and an etcd node would overwrite them.
func notBolt(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err == nil {
		return fmt.Errorf("deployment: %s holds a bolt store (%s): a data directory serves one deployment; give the etcd node its own --data",
			dir, DBFile)
	}
	return nil
}

// initMarker is the value of initKey while an init runs. It is written to
// the raw store, before the barrier's keyring exists, and deleted in the
// transaction that stores the shared facts.
type initMarker struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	Nonce   string    `json:"nonce"`
}

func (m initMarker) String() string {
	return fmt.Sprintf("started %s on %s (pid %d)", m.Started.UTC().Format(time.RFC3339), m.Host, m.PID)
}

// checkInitialised reports, reading the raw store, whether a cluster holds
// an initialised deployment: a keyring and the shared facts.
func checkInitialised(ctx context.Context, b storage.Backend, prefix string) error {
	var keyring, facts bool
	var marker []byte
	err := b.View(ctx, func(r storage.Reader) error {
		keyring, facts, marker = false, false, nil
		for _, k := range []string{barrier.KeyringPath, factsKey, initKey} {
			v, err := r.Get(k)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			switch k {
			case barrier.KeyringPath:
				keyring = true
			case factsKey:
				facts = true
			default:
				marker = v
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("deployment: reading etcd (prefix %q): %w", prefix, err)
	}
	switch {
	case keyring && facts:
		return nil
	case marker != nil:
		var m initMarker
		_ = json.Unmarshal(marker, &m)
		return fmt.Errorf("%w: the `arca init --storage etcd` of prefix %q (%s) has not finished; if it failed, delete the keys under the prefix (etcdctl del --prefix %q) and run it again",
			ErrNotInitialised, prefix, m, prefix)
	case keyring:
		return fmt.Errorf("%w: prefix %q of the etcd cluster holds a keyring but no deployment facts (not initialised by `arca init --storage etcd`)",
			ErrNotInitialised, prefix)
	default:
		return fmt.Errorf("%w: no Arca deployment under prefix %q of the etcd cluster: run `arca init --storage etcd` first", ErrNotInitialised, prefix)
	}
}

// initEtcd initialises a cluster once. It first claims the init marker, in
// one transaction that also checks the prefix holds nothing (no keyring, no
// marker, no key at all), so of two concurrent inits one fails with
// ErrInitialised; a refused init writes nothing, to the store or to dir.
// Then it writes dir's root key if dir has none, opens the barrier (which
// creates the keyring) and creates what Open finds in a bolt directory:
// tenant, identities, CA, subscription, default vault and the shared facts,
// whose transaction removes the marker. When any of that fails it deletes
// what it wrote to the store, so init can be run again.
func initEtcd(ctx context.Context, dir string, o Options) (*App, error) {
	if err := notBolt(dir); err != nil {
		return nil, err
	}
	rootKey, err := readRootKey(dir)
	fresh := errors.Is(err, os.ErrNotExist)
	if fresh {
		rootKey, err = barrier.NewRootKey()
	}
	if err != nil {
		return nil, err
	}
	b, err := openEtcdBackend(ctx, o)
	if err != nil {
		return nil, err
	}
	prefix := etcdPrefix(o.Etcd)
	marker, err := claimInit(ctx, b, prefix, o)
	if err != nil {
		b.Close()
		return nil, err
	}
	a, err := func() (*App, error) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if fresh {
			if err := writeRootKey(dir, rootKey); err != nil {
				return nil, err
			}
		}
		a, err := wire(ctx, dir, o, rootKey, b)
		if err != nil {
			return nil, err
		}
		return a, a.init(ctx, o.DefaultVault, initFresh)
	}()
	if err != nil {
		if uerr := abandonInit(b, marker); uerr != nil {
			err = fmt.Errorf("%w; undoing the init failed too (%v): delete the keys under prefix %q (etcdctl del --prefix %q) before running `arca init` again",
				err, uerr, prefix, prefix)
		}
		b.Close()
		return nil, err
	}
	return a, nil
}

// claimInit writes the init marker to the raw store, refusing (with
// ErrInitialised) when the prefix holds anything already.
func claimInit(ctx context.Context, b storage.Backend, prefix string, o Options) ([]byte, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	now := time.Now()
	if o.Clock != nil {
		now = o.Clock.Now()
	}
	marker, _ := json.Marshal(initMarker{Host: host, PID: os.Getpid(), Started: now.UTC(), Nonce: hex.EncodeToString(nonce)})
	err := b.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(barrier.KeyringPath); err == nil {
			return fmt.Errorf("%w: prefix %q of the etcd cluster holds an Arca deployment; `arca init` runs once per cluster (start nodes with `arca serve --storage etcd`)",
				ErrInitialised, prefix)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if v, err := tx.Get(initKey); err == nil {
			var m initMarker
			_ = json.Unmarshal(v, &m)
			return fmt.Errorf("%w: another `arca init` of prefix %q is under way or failed (%s); if it failed, delete the keys under the prefix (etcdctl del --prefix %q) and run it again",
				ErrInitialised, prefix, m, prefix)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		var first string
		if err := tx.Scan("", "", func(k string, _ []byte) bool { first = k; return false }); err != nil {
			return err
		}
		if first != "" {
			return fmt.Errorf("%w: prefix %q of the etcd cluster is not empty (it holds %q) but has no Arca deployment; choose another --etcd-prefix",
				ErrInitialised, prefix, first)
		}
		return tx.Put(initKey, marker)
	})
	if err != nil {
		return nil, err
	}
	return marker, nil
}

// abandonInit deletes what a failed init wrote, every key under the
// prefix, if the marker is still the one that init claimed (claimInit
// found the prefix empty, and nothing else writes to it while the marker
// stands: serve and the admin commands refuse an uninitialised cluster).
func abandonInit(b storage.Backend, marker []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.Update(ctx, func(tx storage.Tx) error {
		v, err := tx.Get(initKey)
		if err != nil {
			return fmt.Errorf("the init marker: %w", err)
		}
		if string(v) != string(marker) {
			return errors.New("the init marker is not this init's")
		}
		var keys []string
		if err := tx.Scan("", "", func(k string, _ []byte) bool { keys = append(keys, k); return true }); err != nil {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
