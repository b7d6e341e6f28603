// Package bolt is the embedded storage.Backend on go.etcd.io/bbolt. Every
// write transaction is fsynced before Update returns; concurrent writers are
// group-committed (see committer).
//
// The store's revision (storage.Revisioned) is kept in its own bucket and
// written in the same bbolt transaction as the data. Each Update that
// changes something takes the next revision, also when group commit puts
// many Updates into one bbolt transaction, so revisions are consecutive
// here. Watch and Campaign are served in process (package inprocess): the
// events of a commit are published after its fsync, in commit order, and
// kept in memory only, so a watch cannot start from a revision older than
// the Open.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"

	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/internal/inprocess"
	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var (
	bucket      = []byte("kv")
	metaBucket  = []byte("meta")
	revisionKey = []byte("revision") // in metaBucket: 8 bytes, big-endian
)

const fillPercent = 0.9

// Backend is a bbolt-backed storage.Backend with every optional capability.
type Backend struct {
	db      *bbolt.DB
	commit  *committer
	hub     *inprocess.Hub
	elector *inprocess.Elector
	rev     atomic.Int64 // the last committed revision
	closed  atomic.Bool
}

var (
	_ storage.Backend    = (*Backend)(nil)
	_ storage.Revisioned = (*Backend)(nil)
	_ storage.Watcher    = (*Backend)(nil)
	_ storage.Elector    = (*Backend)(nil)
)

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("bolt: database is locked by another process (is `arca serve` running?)")

// Open opens (creating if needed) the database file at path with mode 0600.
func Open(path string) (*Backend, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db.AllocSize = 32 << 20 // grow the file in large steps: fewer truncate+sync cycles
	var rev int64
	if err := db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucket); err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(metaBucket)
		rev = revision(meta)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	b := &Backend{db: db, commit: newCommitter(db), hub: inprocess.NewHub(rev), elector: inprocess.NewElector()}
	b.rev.Store(rev)
	return b, nil
}

func revision(meta *bbolt.Bucket) int64 {
	if meta == nil {
		return 0
	}
	v := meta.Get(revisionKey)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// View implements storage.Backend.
func (b *Backend) View(ctx context.Context, fn func(storage.Reader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.db.View(func(btx *bbolt.Tx) error { return fn(&tx{b: btx.Bucket(bucket)}) }))
}

// Update implements storage.Backend. Concurrent writers share one commit
// (and its fsyncs); fn may run more than once (see committer).
func (b *Backend) Update(ctx context.Context, fn func(storage.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return mapErr(b.commit.update(func(btx *bbolt.Tx) error {
		bk := btx.Bucket(bucket)
		// Split pages when 90% full instead of bbolt's 50%: keys mostly
		// arrive in order within a vault, and half-empty pages would double
		// the file (and the resident memory of its mapping).
		bk.FillPercent = fillPercent
		t := &tx{b: bk, rw: true}
		if err := fn(t); err != nil {
			return err
		}
		events := t.events()
		if len(events) == 0 {
			return nil
		}
		// The revision is read from the transaction, not from b.rev: an
		// earlier Update of the same batch may have taken the next one.
		meta := btx.Bucket(metaBucket)
		rev := revision(meta) + 1
		if err := meta.Put(revisionKey, binary.BigEndian.AppendUint64(nil, uint64(rev))); err != nil {
			return err
		}
		for i := range events {
			events[i].Revision = rev
		}
		// Runs after the fsync, only if this run is the one committed, and
		// (under the committer's write lock) in commit order.
		btx.OnCommit(func() {
			b.rev.Store(rev)
			b.hub.Publish(events)
		})
		return nil
	}))
}

// Revision implements storage.Revisioned.
func (b *Backend) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if b.closed.Load() {
		return 0, storage.ErrClosed
	}
	return b.rev.Load(), nil
}

// Watch implements storage.Watcher. It keeps about inprocess.HistoryLimit
// past events, none from before Open; a watcher with more than
// inprocess.PendingLimit events waiting is dropped.
func (b *Backend) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	return b.hub.Watch(ctx, prefix, fromRev, fn)
}

// Campaign implements storage.Elector. The database is locked to one
// process, so leadership is decided within it.
func (b *Backend) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	return b.elector.Campaign(ctx, name)
}

// Close implements storage.Backend: it commits what is queued, ends every
// watch and leadership, and closes the database. It may be called more
// than once.
func (b *Backend) Close() error {
	b.closed.Store(true)
	b.commit.close()
	b.hub.Close()
	b.elector.Close()
	return b.db.Close()
}

func mapErr(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return storage.ErrClosed
	}
	return err
}

type tx struct {
	b       *bbolt.Bucket
	rw      bool
	touched map[string]touch // keys this Update put or deleted; nil until the first
}

// touch is what an Update did to a key: whether the key existed before the
// Update first touched it, and whether its last operation was a Delete.
type touch struct{ existed, deleted bool }

// before returns what the Update did to key so far, or, for a key it has
// not touched yet, whether the key exists.
func (t *tx) before(key string) touch {
	if t.touched == nil {
		t.touched = map[string]touch{}
	}
	c, ok := t.touched[key]
	if !ok {
		k, _ := t.b.Cursor().Seek([]byte(key))
		c.existed = k != nil && string(k) == key
	}
	return c
}

// events lists the keys the Update changed (see storage.Revisioned), in key
// order, without revisions.
func (t *tx) events() []storage.Event {
	var events []storage.Event
	for k, c := range t.touched {
		if !c.deleted || c.existed {
			events = append(events, storage.Event{Key: k, Deleted: c.deleted})
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Key < events[j].Key })
	return events
}

func (t *tx) Get(key string) ([]byte, error) {
	v := t.b.Get([]byte(key))
	if v == nil {
		return nil, storage.ErrNotFound
	}
	return bytes.Clone(v), nil
}

func (t *tx) Put(key string, value []byte) error {
	if key == "" {
		return errors.New("bolt: empty key")
	}
	c := t.before(key)
	if err := t.b.Put([]byte(key), value); err != nil {
		return err
	}
	c.deleted = false
	t.touched[key] = c
	return nil
}

func (t *tx) Delete(key string) error {
	c := t.before(key)
	if err := t.b.Delete([]byte(key)); err != nil {
		return err
	}
	c.deleted = true
	t.touched[key] = c
	return nil
}

func (t *tx) Scan(prefix, after string, fn func(string, []byte) bool) error {
	c := t.b.Cursor()
	p := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(p)
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if !fn(string(k), v) {
			return nil
		}
	}
	return nil
}
