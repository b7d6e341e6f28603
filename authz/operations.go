// Package authz is Arca's one authorisation decision point. For the data
// plane: the table of every operation (the arca.Op constants) with the
// access-policy permission and the RBAC data action it needs, and the
// decisions for both of Key Vault's permission models. For the Resource
// Manager (and the directory writes and linked-scope checks built on it):
// the decision of an action at a scope from role assignments and the
// Actions/NotActions of built-in and custom roles. Decisions are pure
// functions of their inputs; Engine reads the inputs from a Source and
// caches the decisions of both kinds until the Source's generation moves.
package authz

import "github.com/arcakv/arca"

// Requirement is what an operation needs.
type Requirement struct {
	Category   string // access-policy permission set: keys, secrets, certificates
	Permission string // access-policy permission (lower case)
	DataAction string // RBAC data action
}

const kv = "Microsoft.KeyVault/vaults/"

// Operations maps every data-plane operation to its requirement; its keys
// are exactly arca.AllOperations(). An operation missing from this table is
// denied (deny by default).
var Operations = map[arca.Operation]Requirement{
	arca.OpSecretGet:          {"secrets", "get", kv + "secrets/getSecret/action"},
	arca.OpSecretSet:          {"secrets", "set", kv + "secrets/setSecret/action"},
	arca.OpSecretUpdate:       {"secrets", "set", kv + "secrets/update/action"},
	arca.OpSecretList:         {"secrets", "list", kv + "secrets/readMetadata/action"},
	arca.OpSecretListVersions: {"secrets", "list", kv + "secrets/readMetadata/action"},
	arca.OpSecretDelete:       {"secrets", "delete", kv + "secrets/delete"},
	arca.OpSecretGetDeleted:   {"secrets", "get", kv + "deletedSecrets/read"},
	arca.OpSecretListDeleted:  {"secrets", "list", kv + "deletedSecrets/read"},
	arca.OpSecretRecover:      {"secrets", "recover", kv + "deletedSecrets/recover/action"},
	arca.OpSecretPurge:        {"secrets", "purge", kv + "deletedSecrets/delete"},
	arca.OpSecretBackup:       {"secrets", "backup", kv + "secrets/backup/action"},
	arca.OpSecretRestore:      {"secrets", "restore", kv + "secrets/restore/action"},

	arca.OpKeyCreate:            {"keys", "create", kv + "keys/create/action"},
	arca.OpKeyImport:            {"keys", "import", kv + "keys/import/action"},
	arca.OpKeyGet:               {"keys", "get", kv + "keys/read"},
	arca.OpKeyUpdate:            {"keys", "update", kv + "keys/update/action"},
	arca.OpKeyList:              {"keys", "list", kv + "keys/read"},
	arca.OpKeyListVersions:      {"keys", "list", kv + "keys/read"},
	arca.OpKeyDelete:            {"keys", "delete", kv + "keys/delete"},
	arca.OpKeyGetDeleted:        {"keys", "get", kv + "deletedKeys/read"},
	arca.OpKeyListDeleted:       {"keys", "list", kv + "deletedKeys/read"},
	arca.OpKeyRecover:           {"keys", "recover", kv + "deletedKeys/recover/action"},
	arca.OpKeyPurge:             {"keys", "purge", kv + "deletedKeys/delete"},
	arca.OpKeyBackup:            {"keys", "backup", kv + "keys/backup/action"},
	arca.OpKeyRestore:           {"keys", "restore", kv + "keys/restore/action"},
	arca.OpKeySign:              {"keys", "sign", kv + "keys/sign/action"},
	arca.OpKeyVerify:            {"keys", "verify", kv + "keys/verify/action"},
	arca.OpKeyEncrypt:           {"keys", "encrypt", kv + "keys/encrypt/action"},
	arca.OpKeyDecrypt:           {"keys", "decrypt", kv + "keys/decrypt/action"},
	arca.OpKeyWrap:              {"keys", "wrapkey", kv + "keys/wrap/action"},
	arca.OpKeyUnwrap:            {"keys", "unwrapkey", kv + "keys/unwrap/action"},
	arca.OpKeyRotate:            {"keys", "rotate", kv + "keys/rotate/action"},
	arca.OpKeyRotationPolicyGet: {"keys", "getrotationpolicy", kv + "keyrotationpolicies/read"},
	arca.OpKeyRotationPolicySet: {"keys", "setrotationpolicy", kv + "keyrotationpolicies/write"},
	arca.OpKeyRelease:           {"keys", "release", kv + "keys/release/action"},
	arca.OpRandomBytesGet:       {"keys", "get", kv + "keys/read"},

	arca.OpCertificateGet:            {"certificates", "get", kv + "certificates/read"},
	arca.OpCertificateList:           {"certificates", "list", kv + "certificates/read"},
	arca.OpCertificateListVersions:   {"certificates", "list", kv + "certificates/read"},
	arca.OpCertificateCreate:         {"certificates", "create", kv + "certificates/create/action"},
	arca.OpCertificateImport:         {"certificates", "import", kv + "certificates/import/action"},
	arca.OpCertificateUpdate:         {"certificates", "update", kv + "certificates/update/action"},
	arca.OpCertificatePolicyGet:      {"certificates", "get", kv + "certificates/read"},
	arca.OpCertificatePolicyUpdate:   {"certificates", "update", kv + "certificates/update/action"},
	arca.OpCertificatePendingGet:     {"certificates", "get", kv + "certificates/read"},
	arca.OpCertificatePendingUpdate:  {"certificates", "update", kv + "certificates/update/action"},
	arca.OpCertificatePendingDelete:  {"certificates", "delete", kv + "certificates/delete"},
	arca.OpCertificatePendingMerge:   {"certificates", "create", kv + "certificates/create/action"},
	arca.OpCertificateDelete:         {"certificates", "delete", kv + "certificates/delete"},
	arca.OpCertificateGetDeleted:     {"certificates", "get", kv + "deletedCertificates/read"},
	arca.OpCertificateListDeleted:    {"certificates", "list", kv + "deletedCertificates/read"},
	arca.OpCertificateRecover:        {"certificates", "recover", kv + "deletedCertificates/recover/action"},
	arca.OpCertificatePurge:          {"certificates", "purge", kv + "deletedCertificates/delete"},
	arca.OpCertificateBackup:         {"certificates", "backup", kv + "certificates/backup/action"},
	arca.OpCertificateRestore:        {"certificates", "restore", kv + "certificates/restore/action"},
	arca.OpCertificateIssuerGet:      {"certificates", "getissuers", kv + "certificatecas/read"},
	arca.OpCertificateIssuerList:     {"certificates", "listissuers", kv + "certificatecas/read"},
	arca.OpCertificateIssuerSet:      {"certificates", "setissuers", kv + "certificatecas/write"},
	arca.OpCertificateIssuerUpdate:   {"certificates", "setissuers", kv + "certificatecas/write"},
	arca.OpCertificateIssuerDelete:   {"certificates", "deleteissuers", kv + "certificatecas/delete"},
	arca.OpCertificateContactsGet:    {"certificates", "managecontacts", kv + "certificatecontacts/read"},
	arca.OpCertificateContactsSet:    {"certificates", "managecontacts", kv + "certificatecontacts/write"},
	arca.OpCertificateContactsDelete: {"certificates", "managecontacts", kv + "certificatecontacts/write"},
}

// issuer permissions implied by manageissuers.
var impliedBy = map[string]string{
	"getissuers": "manageissuers", "listissuers": "manageissuers", "setissuers": "manageissuers", "deleteissuers": "manageissuers",
}
