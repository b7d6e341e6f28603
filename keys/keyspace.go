package keys

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the keys service writes: k/<vault>/... (versions) and
// kp/<vault>/<name> (rotation policies), removed when the vault is purged.
func Keyspace() keyspace.Claim {
	p := []string{"k/", "kp/"}
	return keyspace.Claim{Owner: "keys", Prefixes: p, Purge: keyspace.UnderVault(p)}
}
