package etcd

import (
	"context"
	"errors"
	"sort"

	"github.com/arcakv/arca/storage"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// scanPage is how many keys one range request of a Scan returns.
const scanPage = 512

// snapshot reads the store at one revision: rev is 0 until the first read,
// which is linearizable and fixes it; later reads ask for rev, from any
// member that has applied it. reads holds the modification revision of
// every key read (0: missing) and ranges the key ranges scanned (etcd
// keys, prefix included), for an Update's commit condition. err is the
// first error of the store, so that View and Update can tell it from fn's
// own.
type snapshot struct {
	b      *Backend
	ctx    context.Context
	rev    int64
	reads  map[string]int64
	ranges []keyRange
	err    error
}

// keyRange is [start, end) in etcd's keys.
type keyRange struct{ start, end string }

func (s *snapshot) fail(err error) error {
	if s.err == nil {
		s.err = err
	}
	return err
}

func (s *snapshot) get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if s.rev == 0 {
		resp, err := s.b.cli.Get(ctx, key, opts...)
		if err == nil {
			s.rev = resp.Header.Revision
		}
		return resp, err
	}
	opts = append(opts, clientv3.WithRev(s.rev))
	resp, err := s.b.cli.Get(ctx, key, append(opts, clientv3.WithSerializable())...)
	if errors.Is(err, rpctypes.ErrFutureRev) { // that member has not applied rev yet
		resp, err = s.b.cli.Get(ctx, key, opts...)
	}
	return resp, err
}

func (s *snapshot) read(key string, modRev int64) {
	if s.reads == nil {
		s.reads = map[string]int64{}
	}
	s.reads[key] = modRev
}

// Get implements storage.Reader.
func (s *snapshot) Get(key string) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	resp, err := s.get(s.ctx, dataPrefix+key)
	if err != nil {
		return nil, s.fail(err)
	}
	if len(resp.Kvs) == 0 {
		s.read(key, 0)
		return nil, storage.ErrNotFound
	}
	s.read(key, resp.Kvs[0].ModRevision)
	return resp.Kvs[0].Value, nil
}

// Scan implements storage.Reader, a page of keys at a time. It records
// the keys it passed to fn and the range it covered: up to the key where
// fn stopped, or to the end of the prefix.
func (s *snapshot) Scan(prefix, after string, fn func(key string, value []byte) bool) error {
	if s.err != nil {
		return s.err
	}
	start := dataPrefix + prefix
	if after != "" && after >= prefix {
		start = dataPrefix + after + "\x00"
	}
	end := clientv3.GetPrefixRangeEnd(dataPrefix + prefix)
	first := start
	covered := end
	defer func() { s.ranges = append(s.ranges, keyRange{first, covered}) }()
	for {
		resp, err := s.get(s.ctx, start, clientv3.WithRange(end), clientv3.WithLimit(scanPage),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return s.fail(err)
		}
		for _, kv := range resp.Kvs {
			k := string(kv.Key[len(dataPrefix):])
			s.read(k, kv.ModRevision)
			if !fn(k, kv.Value) {
				covered = string(kv.Key) + "\x00"
				return nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// overlay is the writes of a transaction: a value, or nil for a delete.
type overlay map[string][]byte

// inRange returns the overlay's keys under prefix after after, sorted.
func (o overlay) inRange(prefix, after string) []string {
	var keys []string
	for k := range o {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix && (after == "" || k > after) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// tx is one Update function's view: its own writes over those of the
// functions before it in the batch (parent) over the snapshot.
type tx struct {
	snap   *snapshot
	parent overlay
	own    overlay
}

func (t *tx) lookup(key string) ([]byte, bool) {
	if v, ok := t.own[key]; ok {
		return v, true
	}
	v, ok := t.parent[key]
	return v, ok
}

// Get implements storage.Reader.
func (t *tx) Get(key string) ([]byte, error) {
	if v, ok := t.lookup(key); ok {
		if v == nil {
			return nil, storage.ErrNotFound
		}
		return append([]byte(nil), v...), nil
	}
	return t.snap.Get(key)
}

// Scan implements storage.Reader: the snapshot's keys merged with the
// pending writes, in order.
func (t *tx) Scan(prefix, after string, fn func(key string, value []byte) bool) error {
	merged := overlay{}
	for k, v := range t.parent {
		merged[k] = v
	}
	for k, v := range t.own {
		merged[k] = v
	}
	pending := merged.inRange(prefix, after)
	i := 0
	stopped := false
	// emit the pending keys before k (all of them when k is "").
	flush := func(k string) bool {
		for ; i < len(pending) && (k == "" || pending[i] < k); i++ {
			if v := merged[pending[i]]; v != nil && !fn(pending[i], v) {
				return false
			}
		}
		return true
	}
	err := t.snap.Scan(prefix, after, func(k string, v []byte) bool {
		if !flush(k) {
			stopped = true
			return false
		}
		if i < len(pending) && pending[i] == k {
			w := merged[k]
			i++
			if w == nil {
				return true // deleted by this transaction
			}
			v = w
		}
		if !fn(k, v) {
			stopped = true
			return false
		}
		return true
	})
	if err != nil || stopped {
		return err
	}
	flush("")
	return nil
}

// Put implements storage.Tx.
func (t *tx) Put(key string, value []byte) error {
	if key == "" {
		return errors.New("etcd: empty key")
	}
	if value == nil {
		value = []byte{} // nil marks a delete
	}
	t.own[key] = value
	return nil
}

// Delete implements storage.Tx.
func (t *tx) Delete(key string) error {
	t.own[key] = nil
	return nil
}
