package vaults

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the vault service writes: vault/<name> and
// vaultdel/<name>. A vault's data belongs to the services that wrote it;
// purging the vault runs their purges (see New).
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "vaults", Prefixes: []string{prefix, deletedPrefix}}
}
