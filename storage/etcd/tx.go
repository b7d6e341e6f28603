package etcd

import (
	"errors"
	"sort"
	"strings"

	"github.com/arcakv/arca/storage"
	"github.com/google/btree"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// snapshot reads the replica at one revision (rev): a clone of its tree.
// reads holds the modification revision of every key read (0: missing)
// and ranges the key ranges scanned (etcd keys, prefix included), for an
// Update's commit condition.
type snapshot struct {
	tree   *btree.BTreeG[item]
	rev    int64
	reads  map[string]int64
	ranges []keyRange
}

// keyRange is [start, end) in etcd's keys.
type keyRange struct{ start, end string }

func (s *snapshot) read(key string, modRev int64) {
	if s.reads == nil {
		s.reads = map[string]int64{}
	}
	s.reads[key] = modRev
}

// Get implements storage.Reader.
func (s *snapshot) Get(key string) ([]byte, error) {
	it, ok := s.tree.Get(item{key: key})
	if !ok {
		s.read(key, 0)
		return nil, storage.ErrNotFound
	}
	s.read(key, it.mod)
	return append([]byte(nil), it.value...), nil
}

// Scan implements storage.Reader. It records the keys it passed to fn and
// the range it covered: up to the key where fn stopped, or to the end of
// the prefix.
func (s *snapshot) Scan(prefix, after string, fn func(key string, value []byte) bool) error {
	start := prefix
	if after != "" && after >= prefix {
		start = after + "\x00"
	}
	covered := clientv3.GetPrefixRangeEnd(dataPrefix + prefix)
	visit := func(it item) bool {
		if !strings.HasPrefix(it.key, prefix) {
			return false
		}
		s.read(it.key, it.mod)
		if !fn(it.key, it.value) {
			covered = dataPrefix + it.key + "\x00"
			return false
		}
		return true
	}
	s.tree.AscendGreaterOrEqual(item{key: start}, visit)
	s.ranges = append(s.ranges, keyRange{dataPrefix + start, covered})
	return nil
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
