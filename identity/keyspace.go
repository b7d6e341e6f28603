package identity

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the token service and directory write: id/ (tenant,
// service principals, users, groups, refresh tokens, signing keys, and the
// pending interactive sign-ins under id/pending/); none of it belongs to a
// vault.
func Keyspace() keyspace.Claim {
	return keyspace.Claim{Owner: "identity", Prefixes: []string{idPrefix}}
}
