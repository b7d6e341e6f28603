// Package etcd is a storage.Backend on an etcd cluster: several Arca nodes
// share one store, learn of each other's writes by watching it and elect
// the node that runs the background jobs.
package etcd

import (
	"context"
	"errors"

	"github.com/arcakv/arca/storage"
)

// Backend is an etcd-backed storage.Backend with the Watcher and Elector
// capabilities.
type Backend struct{}

var (
	_ storage.Backend = (*Backend)(nil)
	_ storage.Watcher = (*Backend)(nil)
	_ storage.Elector = (*Backend)(nil)
)

// Open connects to the cluster c describes.
func Open(ctx context.Context, c Config) (*Backend, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return nil, errors.New("etcd: not implemented yet")
}

func (b *Backend) View(ctx context.Context, fn func(storage.Reader) error) error {
	return storage.ErrClosed
}
func (b *Backend) Update(ctx context.Context, fn func(storage.Tx) error) error {
	return storage.ErrClosed
}
func (b *Backend) Close() error                                { return nil }
func (b *Backend) Revision(ctx context.Context) (int64, error) { return 0, storage.ErrClosed }
func (b *Backend) Watch(ctx context.Context, prefix string, fromRev int64, fn func(storage.Event) error) error {
	return storage.ErrClosed
}
func (b *Backend) Campaign(ctx context.Context, name string) (storage.Leadership, error) {
	return nil, storage.ErrClosed
}
