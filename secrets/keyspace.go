package secrets

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the secrets service writes: s/<vault>/... (every
// version, deleted or not), all of it removed when the vault is purged.
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "secrets", Prefixes: []string{"s/"}, Purge: keyspace.UnderVault([]string{"s/"})}
}
