// Package bolt is the embedded storage.Backend on go.etcd.io/bbolt. Every
// write transaction is fsynced before Update returns; concurrent writers are
// group-committed (see committer).
package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arcakv/arca/storage"
	bbolt "go.etcd.io/bbolt"
)

var bucket = []byte("kv")

const fillPercent = 0.9

// Backend is a bbolt-backed storage.Backend.
type Backend struct {
	db     *bbolt.DB
	commit *committer
}

var _ storage.Backend = (*Backend)(nil)

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("bolt: database is locked by another process (is `arca serve` running?)")

// Open opens (creating if needed) the database file at path with mode 0600.
func Open(path string) (*Backend, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 2 * time.Second, FreelistType: bbolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bbolt.ErrTimeout) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	db.AllocSize = 32 << 20 // grow the file in large steps: fewer truncate+sync cycles
	if err := db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &Backend{db: db, commit: newCommitter(db)}, nil
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
		return fn(&tx{b: bk, rw: true})
	}))
}

// Close implements storage.Backend.
func (b *Backend) Close() error {
	b.commit.close()
	return b.db.Close()
}

func mapErr(err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return storage.ErrClosed
	}
	return err
}

type tx struct {
	b  *bbolt.Bucket
	rw bool
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
	return t.b.Put([]byte(key), value)
}

func (t *tx) Delete(key string) error { return t.b.Delete([]byte(key)) }

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
