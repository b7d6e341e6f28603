package management

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the Resource Manager writes: arm/ (subscriptions,
// resource groups, role assignments and definitions, operations).
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "management", Prefixes: []string{"arm/"}}
}
