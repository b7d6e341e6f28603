package objects

import (
	"strings"

	"github.com/arcakv/arca/keyspace"
	"github.com/arcakv/arca/storage"
)

// Keyspace is what objects writes for every collection: the purge schedule
// pd/<purge-unix>/<P>/<vault>/<name>, whose entries of a purged vault go
// with it.
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "objects (purge schedule)", Prefixes: []string{purgePrefix}, Purge: purgeSchedule}
}

func purgeSchedule(tx storage.Tx, vault string) error {
	var keys []string
	if err := tx.Scan(purgePrefix, "", func(k string, _ []byte) bool {
		if parts := strings.Split(k, "/"); len(parts) >= 5 && parts[3] == vault {
			keys = append(keys, k)
		}
		return true
	}); err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
