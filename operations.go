package arca

// The data-plane operations, each declared once. The value is the name
// Azure's audit log gives the operation, and the name Arca's audit records
// carry ("operationName"); package authz keys its table by these constants.
// They live in the root package, not in authz, because the handlers that
// declare their operation (package rest/keyvault) import only the root
// package and httpx: the vocabulary is shared, the decision is authz's.
//
// A new operation is a constant here, an entry in AllOperations and a
// requirement in authz.Operations; a test checks that the last two agree.
const (
	OpSecretGet          Operation = "SecretGet"
	OpSecretSet          Operation = "SecretSet"
	OpSecretUpdate       Operation = "SecretUpdate"
	OpSecretList         Operation = "SecretList"
	OpSecretListVersions Operation = "SecretListVersions"
	OpSecretDelete       Operation = "SecretDelete"
	OpSecretGetDeleted   Operation = "SecretGetDeleted"
	OpSecretListDeleted  Operation = "SecretListDeleted"
	OpSecretRecover      Operation = "SecretRecover"
	OpSecretPurge        Operation = "SecretPurge"
	OpSecretBackup       Operation = "SecretBackup"
	OpSecretRestore      Operation = "SecretRestore"

	OpKeyCreate            Operation = "KeyCreate"
	OpKeyImport            Operation = "KeyImport"
	OpKeyGet               Operation = "KeyGet"
	OpKeyUpdate            Operation = "KeyUpdate"
	OpKeyList              Operation = "KeyList"
	OpKeyListVersions      Operation = "KeyListVersions"
	OpKeyDelete            Operation = "KeyDelete"
	OpKeyGetDeleted        Operation = "KeyGetDeleted"
	OpKeyListDeleted       Operation = "KeyListDeleted"
	OpKeyRecover           Operation = "KeyRecover"
	OpKeyPurge             Operation = "KeyPurge"
	OpKeyBackup            Operation = "KeyBackup"
	OpKeyRestore           Operation = "KeyRestore"
	OpKeySign              Operation = "KeySign"
	OpKeyVerify            Operation = "KeyVerify"
	OpKeyEncrypt           Operation = "KeyEncrypt"
	OpKeyDecrypt           Operation = "KeyDecrypt"
	OpKeyWrap              Operation = "KeyWrap"
	OpKeyUnwrap            Operation = "KeyUnwrap"
	OpKeyRotate            Operation = "KeyRotate"
	OpKeyRotationPolicyGet Operation = "KeyRotationPolicyGet"
	OpKeyRotationPolicySet Operation = "KeyRotationPolicySet"
	OpKeyRelease           Operation = "KeyRelease"
	OpRandomBytesGet       Operation = "RandomBytesGet"

	OpCertificateGet            Operation = "CertificateGet"
	OpCertificateList           Operation = "CertificateList"
	OpCertificateListVersions   Operation = "CertificateListVersions"
	OpCertificateCreate         Operation = "CertificateCreate"
	OpCertificateImport         Operation = "CertificateImport"
	OpCertificateUpdate         Operation = "CertificateUpdate"
	OpCertificatePolicyGet      Operation = "CertificatePolicyGet"
	OpCertificatePolicyUpdate   Operation = "CertificatePolicyUpdate"
	OpCertificatePendingGet     Operation = "CertificatePendingGet"
	OpCertificatePendingUpdate  Operation = "CertificatePendingUpdate"
	OpCertificatePendingDelete  Operation = "CertificatePendingDelete"
	OpCertificatePendingMerge   Operation = "CertificatePendingMerge"
	OpCertificateDelete         Operation = "CertificateDelete"
	OpCertificateGetDeleted     Operation = "CertificateGetDeleted"
	OpCertificateListDeleted    Operation = "CertificateListDeleted"
	OpCertificateRecover        Operation = "CertificateRecover"
	OpCertificatePurge          Operation = "CertificatePurge"
	OpCertificateBackup         Operation = "CertificateBackup"
	OpCertificateRestore        Operation = "CertificateRestore"
	OpCertificateIssuerGet      Operation = "CertificateIssuerGet"
	OpCertificateIssuerList     Operation = "CertificateIssuerList"
	OpCertificateIssuerSet      Operation = "CertificateIssuerSet"
	OpCertificateIssuerUpdate   Operation = "CertificateIssuerUpdate"
	OpCertificateIssuerDelete   Operation = "CertificateIssuerDelete"
	OpCertificateContactsGet    Operation = "CertificateContactsGet"
	OpCertificateContactsSet    Operation = "CertificateContactsSet"
	OpCertificateContactsDelete Operation = "CertificateContactsDelete"
)

// operations lists every constant above, in their order.
var operations = [...]Operation{
	OpSecretGet, OpSecretSet, OpSecretUpdate, OpSecretList, OpSecretListVersions, OpSecretDelete,
	OpSecretGetDeleted, OpSecretListDeleted, OpSecretRecover, OpSecretPurge, OpSecretBackup, OpSecretRestore,

	OpKeyCreate, OpKeyImport, OpKeyGet, OpKeyUpdate, OpKeyList, OpKeyListVersions, OpKeyDelete, OpKeyGetDeleted,
	OpKeyListDeleted, OpKeyRecover, OpKeyPurge, OpKeyBackup, OpKeyRestore, OpKeySign, OpKeyVerify, OpKeyEncrypt,
	OpKeyDecrypt, OpKeyWrap, OpKeyUnwrap, OpKeyRotate, OpKeyRotationPolicyGet, OpKeyRotationPolicySet, OpKeyRelease,
	OpRandomBytesGet,

	OpCertificateGet, OpCertificateList, OpCertificateListVersions, OpCertificateCreate, OpCertificateImport,
	OpCertificateUpdate, OpCertificatePolicyGet, OpCertificatePolicyUpdate, OpCertificatePendingGet,
	OpCertificatePendingUpdate, OpCertificatePendingDelete, OpCertificatePendingMerge, OpCertificateDelete,
	OpCertificateGetDeleted, OpCertificateListDeleted, OpCertificateRecover, OpCertificatePurge, OpCertificateBackup,
	OpCertificateRestore, OpCertificateIssuerGet, OpCertificateIssuerList, OpCertificateIssuerSet,
	OpCertificateIssuerUpdate, OpCertificateIssuerDelete, OpCertificateContactsGet, OpCertificateContactsSet,
	OpCertificateContactsDelete,
}

// AllOperations returns every declared data-plane operation, in declaration
// order (a new slice each call).
func AllOperations() []Operation {
	out := make([]Operation, len(operations))
	copy(out, operations[:])
	return out
}
