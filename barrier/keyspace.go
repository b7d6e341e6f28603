package barrier

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the barrier writes itself: its keyring under sys/.
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "barrier", Prefixes: []string{"sys/"}}
}
