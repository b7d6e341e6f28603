// Package authz is Arca's data-plane authorisation: the table of every
// operation with the access-policy permission and the RBAC data action it
// needs, and the decisions for both of Key Vault's permission models.
// Decisions are pure functions of their inputs; Engine adds a cache.
package authz

import "github.com/arcakv/arca"

// Requirement is what an operation needs.
type Requirement struct {
	Category   string // access-policy permission set: keys, secrets, certificates
	Permission string // access-policy permission (lower case)
	DataAction string // RBAC data action
}

const kv = "Microsoft.KeyVault/vaults/"

// Operations maps every data-plane operation to its requirement. A
// handler's operation missing from this table is denied (deny by default).
var Operations = map[arca.Operation]Requirement{
	"SecretGet":          {"secrets", "get", kv + "secrets/getSecret/action"},
	"SecretSet":          {"secrets", "set", kv + "secrets/setSecret/action"},
	"SecretUpdate":       {"secrets", "set", kv + "secrets/update/action"},
	"SecretList":         {"secrets", "list", kv + "secrets/readMetadata/action"},
	"SecretListVersions": {"secrets", "list", kv + "secrets/readMetadata/action"},
	"SecretDelete":       {"secrets", "delete", kv + "secrets/delete"},
	"SecretGetDeleted":   {"secrets", "get", kv + "deletedSecrets/read"},
	"SecretListDeleted":  {"secrets", "list", kv + "deletedSecrets/read"},
	"SecretRecover":      {"secrets", "recover", kv + "deletedSecrets/recover/action"},
	"SecretPurge":        {"secrets", "purge", kv + "deletedSecrets/delete"},
	"SecretBackup":       {"secrets", "backup", kv + "secrets/backup/action"},
	"SecretRestore":      {"secrets", "restore", kv + "secrets/restore/action"},

	"KeyCreate":            {"keys", "create", kv + "keys/create/action"},
	"KeyImport":            {"keys", "import", kv + "keys/import/action"},
	"KeyGet":               {"keys", "get", kv + "keys/read"},
	"KeyUpdate":            {"keys", "update", kv + "keys/update/action"},
	"KeyList":              {"keys", "list", kv + "keys/read"},
	"KeyListVersions":      {"keys", "list", kv + "keys/read"},
	"KeyDelete":            {"keys", "delete", kv + "keys/delete"},
	"KeyGetDeleted":        {"keys", "get", kv + "deletedKeys/read"},
	"KeyListDeleted":       {"keys", "list", kv + "deletedKeys/read"},
	"KeyRecover":           {"keys", "recover", kv + "deletedKeys/recover/action"},
	"KeyPurge":             {"keys", "purge", kv + "deletedKeys/delete"},
	"KeyBackup":            {"keys", "backup", kv + "keys/backup/action"},
	"KeyRestore":           {"keys", "restore", kv + "keys/restore/action"},
	"KeySign":              {"keys", "sign", kv + "keys/sign/action"},
	"KeyVerify":            {"keys", "verify", kv + "keys/verify/action"},
	"KeyEncrypt":           {"keys", "encrypt", kv + "keys/encrypt/action"},
	"KeyDecrypt":           {"keys", "decrypt", kv + "keys/decrypt/action"},
	"KeyWrap":              {"keys", "wrapkey", kv + "keys/wrap/action"},
	"KeyUnwrap":            {"keys", "unwrapkey", kv + "keys/unwrap/action"},
	"KeyRotate":            {"keys", "rotate", kv + "keys/rotate/action"},
	"KeyRotationPolicyGet": {"keys", "getrotationpolicy", kv + "keyrotationpolicies/read"},
	"KeyRotationPolicySet": {"keys", "setrotationpolicy", kv + "keyrotationpolicies/write"},
	"KeyRelease":           {"keys", "release", kv + "keys/release/action"},
	"RandomBytesGet":       {"keys", "get", kv + "keys/read"},

	"CertificateGet":            {"certificates", "get", kv + "certificates/read"},
	"CertificateList":           {"certificates", "list", kv + "certificates/read"},
	"CertificateListVersions":   {"certificates", "list", kv + "certificates/read"},
	"CertificateCreate":         {"certificates", "create", kv + "certificates/create/action"},
	"CertificateImport":         {"certificates", "import", kv + "certificates/import/action"},
	"CertificateUpdate":         {"certificates", "update", kv + "certificates/update/action"},
	"CertificatePolicyGet":      {"certificates", "get", kv + "certificates/read"},
	"CertificatePolicyUpdate":   {"certificates", "update", kv + "certificates/update/action"},
	"CertificatePendingGet":     {"certificates", "get", kv + "certificates/read"},
	"CertificatePendingUpdate":  {"certificates", "update", kv + "certificates/update/action"},
	"CertificatePendingDelete":  {"certificates", "delete", kv + "certificates/delete"},
	"CertificatePendingMerge":   {"certificates", "create", kv + "certificates/create/action"},
	"CertificateDelete":         {"certificates", "delete", kv + "certificates/delete"},
	"CertificateGetDeleted":     {"certificates", "get", kv + "deletedCertificates/read"},
	"CertificateListDeleted":    {"certificates", "list", kv + "deletedCertificates/read"},
	"CertificateRecover":        {"certificates", "recover", kv + "deletedCertificates/recover/action"},
	"CertificatePurge":          {"certificates", "purge", kv + "deletedCertificates/delete"},
	"CertificateBackup":         {"certificates", "backup", kv + "certificates/backup/action"},
	"CertificateRestore":        {"certificates", "restore", kv + "certificates/restore/action"},
	"CertificateIssuerGet":      {"certificates", "getissuers", kv + "certificatecas/read"},
	"CertificateIssuerList":     {"certificates", "listissuers", kv + "certificatecas/read"},
	"CertificateIssuerSet":      {"certificates", "setissuers", kv + "certificatecas/write"},
	"CertificateIssuerUpdate":   {"certificates", "setissuers", kv + "certificatecas/write"},
	"CertificateIssuerDelete":   {"certificates", "deleteissuers", kv + "certificatecas/delete"},
	"CertificateContactsGet":    {"certificates", "managecontacts", kv + "certificatecontacts/read"},
	"CertificateContactsSet":    {"certificates", "managecontacts", kv + "certificatecontacts/write"},
	"CertificateContactsDelete": {"certificates", "managecontacts", kv + "certificatecontacts/write"},
}

// issuer permissions implied by manageissuers.
var impliedBy = map[string]string{
	"getissuers": "manageissuers", "listissuers": "manageissuers", "setissuers": "manageissuers", "deleteissuers": "manageissuers",
}
