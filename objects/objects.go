// Package objects is the lifecycle shared by a vault's secrets, keys and
// certificates: named objects with immutable versions, a latest version,
// soft delete with a per-vault retention, recovery, purge, a purge schedule,
// and the raw material of backup and restore. The secrets and keys services
// add their own validation and wire semantics on top.
//
// # Storage layout (per collection prefix P, e.g. "s" for secrets)
//
//	P/<vault>/h/<name>             head of an active object (latest version's item)
//	P/<vault>/d/<name>             head of a soft-deleted object, with its deletion dates
//	P/<vault>/v/<name>/<version>   one version (the full record)
//	pd/<purge-unix>/P/<vault>/<name> purge schedule index
//
// Vault and object names are stored lower-cased: Key Vault names are
// case-insensitive. The head keeps the name as last written.
//
// # Transactions
//
// Every lifecycle step exists twice: a method named for the step (AddVersion,
// Delete, Recover, Purge, Restore, ...) that runs it as one storage.Update,
// and the same method with a Tx suffix (AddVersionTx, DeleteTx, ...) that
// runs it inside a transaction the caller owns. A service whose domain
// change spans several objects (a certificate with its key and secret, a key
// with its rotation policy) composes the Tx steps in one Update, so that the
// change is kept whole or not at all. The Tx steps check before they write:
// a step that fails has written nothing, so a caller may ignore, say, a
// NotFound from one step and go on. They return domain errors and raw
// storage errors; the caller passes the Update's result through Wrap. Like
// any function given to storage.Backend.Update they may run more than once,
// and have no effect outside the transaction.
package objects

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

// Record is what a collection stores per version.
type Record interface {
	ObjectName() string
	ObjectVersion() string
	// IsManaged reports whether a certificate owns the object.
	IsManaged() bool
}

// Collection stores one kind of object. T is the version record type.
type Collection[T any, PT interface {
	*T
	Record
}] struct {
	Store  storage.Backend
	Clock  arca.Clock
	Prefix string // storage prefix, e.g. "s"
	Noun   string // "Secret", "Key", "Certificate"
	// Item strips a version down to what lists show (for example the
	// secret value); nil keeps everything.
	Item func(T) T
	// Side removes the records a service keeps beside an object (a key's
	// rotation policy, a certificate's policy) in the transaction that
	// purges it; nil has none.
	Side SideRecords

	heads    decodeCache[latestHead]
	versions decodeCache[T]
	items    decodeCache[head[T]] // list pages: active and deleted heads
}

// head is the stored head of an object.
type head[T any] struct {
	Name    string         `json:"name"`
	Latest  string         `json:"latest"`
	Item    T              `json:"item"`
	Deleted *arca.Deletion `json:"deleted,omitempty"`
}

// Deleted is a soft-deleted object: its latest version's item and dates.
type Deleted[T any] struct {
	Item T
	arca.Deletion
}

const purgePrefix = "pd/"

func lower(s string) string { return strings.ToLower(s) }

func (c *Collection[T, PT]) base(v *arca.Vault) string { return c.Prefix + "/" + lower(v.Name) + "/" }
func (c *Collection[T, PT]) headKey(v *arca.Vault, n string) string {
	return c.base(v) + "h/" + lower(n)
}
func (c *Collection[T, PT]) delKey(v *arca.Vault, n string) string {
	return c.base(v) + "d/" + lower(n)
}
func (c *Collection[T, PT]) verPrefix(v *arca.Vault, n string) string {
	return c.base(v) + "v/" + lower(n) + "/"
}
func (c *Collection[T, PT]) purgeKey(v *arca.Vault, n string, at int64) string {
	return fmt.Sprintf("%s%012d/%s/%s/%s", purgePrefix, at, c.Prefix, lower(v.Name), lower(n))
}

// NotFound is the 404 of an active object (name may be "name/version").
func (c *Collection[T, PT]) NotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, c.Noun+"NotFound",
		"A %s with (name/id) %s was not found in this key vault. If you recently deleted this %s you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
		lower(c.Noun), name, lower(c.Noun))
}

// DeletedNotFound is the 404 of a soft-deleted object.
func (c *Collection[T, PT]) DeletedNotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, c.Noun+"NotFound", "Deleted %s not found: %s", c.Noun, name)
}

func (c *Collection[T, PT]) managedErr(name, verb string) error {
	return arca.Errorf(arca.KindForbidden, "Forbidden",
		"%s %s is managed by a certificate and cannot be %s through the %ss API.", c.Noun, name, verb, lower(c.Noun))
}

// Wrap converts storage errors into domain errors; domain errors pass.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	var ae *arca.Error
	if errors.As(err, &ae) {
		return err
	}
	if errors.Is(err, storage.ErrUnavailable) {
		return &arca.Error{Kind: arca.KindUnavailable, Code: "ServiceUnavailable",
			Message: "The service is temporarily unavailable: its store cannot be reached. Retry later.", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &arca.Error{Kind: arca.KindUnavailable, Code: "RequestCanceled", Message: "The request was canceled.", Err: err}
	}
	return arca.Internal(err)
}

func (c *Collection[T, PT]) item(v T) T {
	if c.Item == nil {
		return v
	}
	return c.Item(v)
}

// AddVersion stores v as the new latest version of its object, creating the
// object if needed. A soft-deleted name is a 409; a certificate-managed
// object is a 403 unless managed is set (the certificates service).
func (c *Collection[T, PT]) AddVersion(ctx context.Context, vault *arca.Vault, v *T, managed bool) error {
	return Wrap(c.Store.Update(ctx, func(tx storage.Tx) error { return c.AddVersionTx(tx, vault, v, managed) }))
}

// AddVersionTx is AddVersion inside the caller's transaction.
func (c *Collection[T, PT]) AddVersionTx(tx storage.Tx, vault *arca.Vault, v *T, managed bool) error {
	p := PT(v)
	name := p.ObjectName()
	if _, err := tx.Get(c.delKey(vault, name)); err == nil {
		return arca.Errorf(arca.KindConflict, "Conflict",
			"%s %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the %s can only be recovered or purged.",
			c.Noun, name, lower(c.Noun)).WithInner("ObjectIsDeletedButRecoverable")
	} else if !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	var h managedHead
	if err := storage.GetJSON(tx, c.headKey(vault, name), &h); err == nil && h.Item.Managed && !managed {
		return c.managedErr(name, "changed")
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return err
	}
	if err := storage.PutJSON(tx, c.verPrefix(vault, name)+lower(p.ObjectVersion()), v); err != nil {
		return err
	}
	return storage.PutJSON(tx, c.headKey(vault, name), &head[T]{Name: name, Latest: p.ObjectVersion(), Item: c.item(*v)})
}

// managedHead is the part of a head that a new version needs to check.
type managedHead struct {
	Item struct {
		Managed bool `json:"managed"`
	} `json:"item"`
}

// latestHead is the part of a head that reads need: decoding only it
// skips building the latest item on every get.
type latestHead struct {
	Latest string `json:"latest"`
}

func (c *Collection[T, PT]) read(r storage.Reader, vault *arca.Vault, name, version string) (*T, error) {
	if version == "" {
		h, err := c.heads.get(r, c.headKey(vault, name))
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return nil, c.NotFound(name)
			}
			return nil, err
		}
		version = h.Latest
	} else if _, err := r.Get(c.headKey(vault, name)); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, c.NotFound(name)
		}
		return nil, err
	}
	v, err := c.versions.get(r, c.verPrefix(vault, name)+lower(version))
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, c.NotFound(name + "/" + version)
		}
		return nil, err
	}
	return &v, nil
}

func (c *Collection[T, PT]) active(r storage.Reader, vault *arca.Vault, name, version string) (*head[T], *T, error) {
	var h head[T]
	if err := storage.GetJSON(r, c.headKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, c.NotFound(name)
		}
		return nil, nil, err
	}
	if version == "" {
		version = h.Latest
	}
	var v T
	if err := storage.GetJSON(r, c.verPrefix(vault, name)+lower(version), &v); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil, c.NotFound(name + "/" + version)
		}
		return nil, nil, err
	}
	return &h, &v, nil
}

// Get returns a version of an active object (the latest when version is "").
// The result may share maps and slices with a cache: do not modify them.
func (c *Collection[T, PT]) Get(ctx context.Context, vault *arca.Vault, name, version string) (*T, error) {
	var out *T
	err := c.Store.View(ctx, func(r storage.Reader) error {
		v, err := c.GetTx(r, vault, name, version)
		out = v
		return err
	})
	return out, Wrap(err)
}

// GetTx is Get inside the caller's transaction (or snapshot).
func (c *Collection[T, PT]) GetTx(r storage.Reader, vault *arca.Vault, name, version string) (*T, error) {
	return c.read(r, vault, name, version)
}

// Latest returns the latest version id of an active object.
func (c *Collection[T, PT]) Latest(ctx context.Context, vault *arca.Vault, name string) (string, error) {
	var latest string
	err := c.Store.View(ctx, func(r storage.Reader) error {
		var err error
		latest, err = c.LatestTx(r, vault, name)
		return err
	})
	return latest, Wrap(err)
}

// LatestTx is Latest inside the caller's transaction (or snapshot).
func (c *Collection[T, PT]) LatestTx(r storage.Reader, vault *arca.Vault, name string) (string, error) {
	h, err := c.heads.get(r, c.headKey(vault, name))
	if errors.Is(err, storage.ErrNotFound) {
		return "", c.NotFound(name)
	}
	return h.Latest, err
}

// Exists reports whether name is in use, active or soft-deleted.
func (c *Collection[T, PT]) Exists(ctx context.Context, vault *arca.Vault, name string) (bool, error) {
	var found bool
	err := c.Store.View(ctx, func(r storage.Reader) error {
		var err error
		found, err = c.ExistsTx(r, vault, name)
		return err
	})
	return found, Wrap(err)
}

// ExistsTx is Exists inside the caller's transaction (or snapshot).
func (c *Collection[T, PT]) ExistsTx(r storage.Reader, vault *arca.Vault, name string) (bool, error) {
	for _, k := range []string{c.headKey(vault, name), c.delKey(vault, name)} {
		if _, err := r.Get(k); err == nil {
			return true, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// Modify applies fn to a version of an active object and stores the result
// (refreshing the head when it is the latest). Managed objects are refused
// unless managed is set.
func (c *Collection[T, PT]) Modify(ctx context.Context, vault *arca.Vault, name, version string, managed bool, fn func(*T) error) (*T, error) {
	var out *T
	err := c.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, err = c.ModifyTx(tx, vault, name, version, managed, fn)
		return err
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// ModifyTx is Modify inside the caller's transaction. fn may run more than
// once (with the transaction): it must only change the version it is given.
func (c *Collection[T, PT]) ModifyTx(tx storage.Tx, vault *arca.Vault, name, version string, managed bool, fn func(*T) error) (*T, error) {
	h, v, err := c.active(tx, vault, name, version)
	if err != nil {
		return nil, err
	}
	if PT(v).IsManaged() && !managed {
		return nil, c.managedErr(name, "changed")
	}
	if err := fn(v); err != nil {
		return nil, err
	}
	if err := storage.PutJSON(tx, c.verPrefix(vault, name)+lower(PT(v).ObjectVersion()), v); err != nil {
		return nil, err
	}
	if lower(PT(v).ObjectVersion()) == lower(h.Latest) {
		h.Item = c.item(*v)
		if err := storage.PutJSON(tx, c.headKey(vault, name), h); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// DefaultPageSize is Key Vault's page size when maxresults is absent.
const DefaultPageSize = 25

func scanPage[V any](ctx context.Context, store storage.Backend, prefix, token string, max int, decode func([]byte) (V, error)) (arca.Page[V], error) {
	var page arca.Page[V]
	after := ""
	if token != "" {
		after = prefix + token
	}
	if max <= 0 {
		max = DefaultPageSize
	}
	err := store.View(ctx, func(r storage.Reader) error {
		var derr error
		last := ""
		err := r.Scan(prefix, after, func(k string, b []byte) bool {
			if len(page.Items) == max {
				page.Next = last
				return false
			}
			item, err := decode(b)
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
	return page, Wrap(err)
}

// List lists the latest item of every active object, in name order. token
// is the Next of the previous page.
func (c *Collection[T, PT]) List(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*T], error) {
	return scanPage(ctx, c.Store, c.base(vault)+"h/", token, max, func(b []byte) (*T, error) {
		h, err := c.items.decode(b)
		if err != nil {
			return nil, err
		}
		return &h.Item, nil
	})
}

// Versions lists every version of an active object (items only). An
// unknown or deleted name yields an empty page, as in Azure.
func (c *Collection[T, PT]) Versions(ctx context.Context, vault *arca.Vault, name string, max int, token string) (arca.Page[*T], error) {
	var active bool
	err := c.Store.View(ctx, func(r storage.Reader) error {
		_, err := r.Get(c.headKey(vault, name))
		active = err == nil
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || !active {
		return arca.Page[*T]{}, Wrap(err)
	}
	return scanPage(ctx, c.Store, c.verPrefix(vault, name), token, max, func(b []byte) (*T, error) {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, err
		}
		v = c.item(v)
		return &v, nil
	})
}

// Delete soft-deletes an object (all versions) for the vault's retention.
func (c *Collection[T, PT]) Delete(ctx context.Context, vault *arca.Vault, name string, managed bool) (*Deleted[T], error) {
	now := c.Clock.Now()
	var out *Deleted[T]
	err := c.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, err = c.DeleteTx(tx, vault, name, managed, now)
		return err
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// DeleteTx is Delete inside the caller's transaction, dated now (objects
// deleted together share their dates, and so their scheduled purge).
func (c *Collection[T, PT]) DeleteTx(tx storage.Tx, vault *arca.Vault, name string, managed bool, now time.Time) (*Deleted[T], error) {
	var h head[T]
	if err := storage.GetJSON(tx, c.headKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, c.NotFound(name)
		}
		return nil, err
	}
	if PT(&h.Item).IsManaged() && !managed {
		return nil, c.managedErr(name, "deleted")
	}
	d := arca.Deletion{DeletedDate: now.Unix(), ScheduledPurgeDate: now.Add(time.Duration(vault.RetentionDays) * 24 * time.Hour).Unix()}
	h.Deleted = &d
	if err := tx.Delete(c.headKey(vault, name)); err != nil {
		return nil, err
	}
	if err := storage.PutJSON(tx, c.delKey(vault, name), &h); err != nil {
		return nil, err
	}
	if err := tx.Put(c.purgeKey(vault, name, d.ScheduledPurgeDate), []byte{}); err != nil {
		return nil, err
	}
	return &Deleted[T]{Item: h.Item, Deletion: d}, nil
}

func (c *Collection[T, PT]) deletedHead(r storage.Reader, vault *arca.Vault, name string) (*head[T], error) {
	var h head[T]
	if err := storage.GetJSON(r, c.delKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, c.DeletedNotFound(name)
		}
		return nil, err
	}
	if h.Deleted == nil {
		return nil, errors.New("objects: deleted head without deletion dates")
	}
	return &h, nil
}

// GetDeleted returns a soft-deleted object.
func (c *Collection[T, PT]) GetDeleted(ctx context.Context, vault *arca.Vault, name string) (*Deleted[T], error) {
	var out *Deleted[T]
	err := c.Store.View(ctx, func(r storage.Reader) error {
		var err error
		out, err = c.GetDeletedTx(r, vault, name)
		return err
	})
	return out, Wrap(err)
}

// GetDeletedTx is GetDeleted inside the caller's transaction (or snapshot).
func (c *Collection[T, PT]) GetDeletedTx(r storage.Reader, vault *arca.Vault, name string) (*Deleted[T], error) {
	h, err := c.deletedHead(r, vault, name)
	if err != nil {
		return nil, err
	}
	return &Deleted[T]{Item: h.Item, Deletion: *h.Deleted}, nil
}

// ListDeleted lists soft-deleted objects in name order.
func (c *Collection[T, PT]) ListDeleted(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*Deleted[T]], error) {
	return scanPage(ctx, c.Store, c.base(vault)+"d/", token, max, func(b []byte) (*Deleted[T], error) {
		h, err := c.items.decode(b)
		if err != nil {
			return nil, err
		}
		if h.Deleted == nil {
			return nil, errors.New("objects: deleted head without deletion dates")
		}
		return &Deleted[T]{Item: h.Item, Deletion: *h.Deleted}, nil
	})
}

// Recover makes a soft-deleted object active again and returns its latest item.
func (c *Collection[T, PT]) Recover(ctx context.Context, vault *arca.Vault, name string) (*T, error) {
	var out *T
	err := c.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, err = c.RecoverTx(tx, vault, name)
		return err
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// RecoverTx is Recover inside the caller's transaction.
func (c *Collection[T, PT]) RecoverTx(tx storage.Tx, vault *arca.Vault, name string) (*T, error) {
	h, err := c.deletedHead(tx, vault, name)
	if err != nil {
		if arca.KindOf(err) == arca.KindNotFound {
			return nil, c.NotFound(name)
		}
		return nil, err
	}
	if err := tx.Delete(c.purgeKey(vault, name, h.Deleted.ScheduledPurgeDate)); err != nil {
		return nil, err
	}
	h.Deleted = nil
	if err := tx.Delete(c.delKey(vault, name)); err != nil {
		return nil, err
	}
	if err := storage.PutJSON(tx, c.headKey(vault, name), h); err != nil {
		return nil, err
	}
	return &h.Item, nil
}

func purgeTx(tx storage.Tx, prefix, vault, name string, at int64) error {
	base := prefix + "/" + vault + "/"
	var keys []string
	if err := tx.Scan(base+"v/"+name+"/", "", func(k string, _ []byte) bool { keys = append(keys, k); return true }); err != nil {
		return err
	}
	keys = append(keys, base+"d/"+name, fmt.Sprintf("%s%012d/%s/%s/%s", purgePrefix, at, prefix, vault, name))
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Purge permanently removes a soft-deleted object, and its side records.
// Vaults with purge protection refuse it during the retention period.
func (c *Collection[T, PT]) Purge(ctx context.Context, vault *arca.Vault, name string) error {
	return Wrap(c.Store.Update(ctx, func(tx storage.Tx) error { return c.PurgeTx(tx, vault, name) }))
}

// PurgeTx is Purge inside the caller's transaction.
func (c *Collection[T, PT]) PurgeTx(tx storage.Tx, vault *arca.Vault, name string) error {
	h, err := c.deletedHead(tx, vault, name)
	if err != nil {
		return err
	}
	if vault.PurgeProtection {
		return arca.Errorf(arca.KindForbidden, "Forbidden",
			"Operation 'Deleted%sPurge' is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.", c.Noun).
			WithInner("ForbiddenByPolicy")
	}
	if c.Side != nil {
		if err := c.Side(tx, lower(vault.Name), lower(name)); err != nil {
			return err
		}
	}
	return purgeTx(tx, c.Prefix, lower(vault.Name), lower(name), h.Deleted.ScheduledPurgeDate)
}

// SideRecords removes the records a service keeps beside an object (a
// key's rotation policy, a certificate's policy), in the purge transaction.
type SideRecords func(tx storage.Tx, vault, name string) error

// PurgeExpired permanently removes soft-deleted objects of every collection
// whose scheduled purge date has passed at now; it returns how many. sides
// maps a collection prefix to its side records. Objects of one vault and
// name due at the same second (a certificate and its key and secret, which
// are deleted together) are purged in one transaction.
func PurgeExpired(ctx context.Context, store storage.Backend, now time.Time, sides map[string]SideRecords) (int, error) {
	type due struct {
		prefix, vault, name string
		at                  int64
	}
	type group struct{ at, vault, name string }
	var order []group
	todo := map[group][]due{}
	n := 0
	err := store.View(ctx, func(r storage.Reader) error {
		last := ""
		return r.Scan(purgePrefix, "", func(k string, _ []byte) bool {
			parts := strings.SplitN(strings.TrimPrefix(k, purgePrefix), "/", 4)
			if len(parts) != 4 {
				return true
			}
			at, err := strconv.ParseInt(parts[0], 10, 64)
			if err != nil || at > now.Unix() {
				return false
			}
			// Stop after about 1000 objects, but never inside one second:
			// that could split what was deleted together.
			if n >= 1000 && parts[0] != last {
				return false
			}
			last = parts[0]
			g := group{parts[0], parts[2], parts[3]}
			if _, ok := todo[g]; !ok {
				order = append(order, g)
			}
			todo[g] = append(todo[g], due{parts[1], parts[2], parts[3], at})
			n++
			return true
		})
	})
	if err != nil {
		return 0, Wrap(err)
	}
	for _, g := range order {
		if err := store.Update(ctx, func(tx storage.Tx) error {
			for _, d := range todo[g] {
				if side := sides[d.prefix]; side != nil {
					if err := side(tx, d.vault, d.name); err != nil {
						return err
					}
				}
				if err := purgeTx(tx, d.prefix, d.vault, d.name, d.at); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, Wrap(err)
		}
	}
	return n, nil
}

// AllVersions returns the stored name, the latest version id and every
// version of an active object (for backup).
func (c *Collection[T, PT]) AllVersions(ctx context.Context, vault *arca.Vault, name string) (string, string, []T, error) {
	var hname, latest string
	var out []T
	err := c.Store.View(ctx, func(r storage.Reader) error {
		var err error
		hname, latest, out, err = c.AllVersionsTx(r, vault, name)
		return err
	})
	return hname, latest, out, Wrap(err)
}

// AllVersionsTx is AllVersions inside the caller's transaction (or snapshot).
func (c *Collection[T, PT]) AllVersionsTx(r storage.Reader, vault *arca.Vault, name string) (string, string, []T, error) {
	var h head[T]
	if err := storage.GetJSON(r, c.headKey(vault, name), &h); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return "", "", nil, c.NotFound(name)
		}
		return "", "", nil, err
	}
	var out []T
	var derr error
	err := r.Scan(c.verPrefix(vault, name), "", func(_ string, b []byte) bool {
		var v T
		if derr = json.Unmarshal(b, &v); derr != nil {
			return false
		}
		out = append(out, v)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return "", "", nil, err
	}
	return h.Name, h.Latest, out, nil
}

// Restore recreates an object from its versions. A name in use, active or
// soft-deleted, is a 409.
func (c *Collection[T, PT]) Restore(ctx context.Context, vault *arca.Vault, name, latest string, versions []T) (*T, error) {
	var out *T
	err := c.Store.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, err = c.RestoreTx(tx, vault, name, latest, versions)
		return err
	})
	if err != nil {
		return nil, Wrap(err)
	}
	return out, nil
}

// RestoreTx is Restore inside the caller's transaction. It returns the
// latest version's item.
func (c *Collection[T, PT]) RestoreTx(tx storage.Tx, vault *arca.Vault, name, latest string, versions []T) (*T, error) {
	var lv *T
	for i := range versions {
		if lower(PT(&versions[i]).ObjectVersion()) == lower(latest) {
			lv = &versions[i]
		}
	}
	if lv == nil {
		return nil, arca.Errorf(arca.KindInvalid, "Malformed backup blob", "Backup blob contains invalid or corrupt version.")
	}
	if used, err := c.ExistsTx(tx, vault, name); err != nil {
		return nil, err
	} else if used {
		return nil, arca.Errorf(arca.KindConflict, "Conflict",
			"%s %s already exists in this key vault; restore is only allowed for a name that is neither in use nor soft-deleted.", c.Noun, name)
	}
	for i := range versions {
		if err := storage.PutJSON(tx, c.verPrefix(vault, name)+lower(PT(&versions[i]).ObjectVersion()), &versions[i]); err != nil {
			return nil, err
		}
	}
	if err := storage.PutJSON(tx, c.headKey(vault, name), &head[T]{Name: name, Latest: latest, Item: c.item(*lv)}); err != nil {
		return nil, err
	}
	out := c.item(*lv)
	return &out, nil
}

// Seed stores many new objects (one version each) in one transaction,
// without conflict checks: for benchmarks and bulk loading into an empty
// range of names.
func (c *Collection[T, PT]) Seed(ctx context.Context, vault *arca.Vault, versions []T) error {
	return Wrap(c.Store.Update(ctx, func(tx storage.Tx) error {
		for i := range versions {
			p := PT(&versions[i])
			if err := storage.PutJSON(tx, c.verPrefix(vault, p.ObjectName())+lower(p.ObjectVersion()), p); err != nil {
				return err
			}
			if err := storage.PutJSON(tx, c.headKey(vault, p.ObjectName()), &head[T]{Name: p.ObjectName(), Latest: p.ObjectVersion(), Item: c.item(versions[i])}); err != nil {
				return err
			}
		}
		return nil
	}))
}
