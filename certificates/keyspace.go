package certificates

import "github.com/arcakv/arca/keyspace"

// Keyspace is what the certificates service writes, per vault: c/ (versions),
// cp/ (policies), co/ (pending operations), cn/ (lifetime-action markers),
// ci/ (issuers) and cc/<vault> (contacts); all removed when the vault is
// purged.
func Keyspace() keyspace.Claim {
	p := []string{"c/", "cp/", "co/", "cn/", "ci/"}
	return keyspace.Claim{Owner: "certificates", Prefixes: append(p, "cc/"), Purge: keyspace.UnderVault(p, "cc/")}
}
