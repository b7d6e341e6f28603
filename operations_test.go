package arca_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/arcakv/arca"
)

// TestOperationNames: the operation names are the ones Azure's audit log
// uses and Arca's audit records carry; they must not change when the
// constants are renamed or moved. A new operation is added here too.
func TestOperationNames(t *testing.T) {
	want := []string{
		"SecretGet", "SecretSet", "SecretUpdate", "SecretList", "SecretListVersions", "SecretDelete", "SecretGetDeleted",
		"SecretListDeleted", "SecretRecover", "SecretPurge", "SecretBackup", "SecretRestore",

		"KeyCreate", "KeyImport", "KeyGet", "KeyUpdate", "KeyList", "KeyListVersions", "KeyDelete", "KeyGetDeleted",
		"KeyListDeleted", "KeyRecover", "KeyPurge", "KeyBackup", "KeyRestore", "KeySign", "KeyVerify", "KeyEncrypt",
		"KeyDecrypt", "KeyWrap", "KeyUnwrap", "KeyRotate", "KeyRotationPolicyGet", "KeyRotationPolicySet", "KeyRelease",
		"RandomBytesGet",

		"CertificateGet", "CertificateList", "CertificateListVersions", "CertificateCreate", "CertificateImport",
		"CertificateUpdate", "CertificatePolicyGet", "CertificatePolicyUpdate", "CertificatePendingGet",
		"CertificatePendingUpdate", "CertificatePendingDelete", "CertificatePendingMerge", "CertificateDelete",
		"CertificateGetDeleted", "CertificateListDeleted", "CertificateRecover", "CertificatePurge", "CertificateBackup",
		"CertificateRestore", "CertificateIssuerGet", "CertificateIssuerList", "CertificateIssuerSet",
		"CertificateIssuerUpdate", "CertificateIssuerDelete", "CertificateContactsGet", "CertificateContactsSet",
		"CertificateContactsDelete",
	}
	var got []string
	for _, op := range arca.AllOperations() {
		got = append(got, string(op))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("operations:\n got %q\nwant %q", got, want)
	}
	all := arca.AllOperations()
	all[0] = "changed"
	if arca.AllOperations()[0] != arca.OpSecretGet {
		t.Fatal("AllOperations shares its slice")
	}
}

// TestTenantAuthorizerDeniesActions: the test stand-in knows no role
// assignment, so it denies every Resource Manager action with ARM's answer.
func TestTenantAuthorizerDeniesActions(t *testing.T) {
	err := arca.TenantAuthorizer{}.AuthorizeAction(t.Context(), &arca.Principal{TenantID: "t", ObjectID: "o"}, "/subscriptions/s", "Microsoft.KeyVault/vaults/read")
	var e *arca.Error
	if !errors.As(err, &e) || e.Kind != arca.KindForbidden || e.Code != "AuthorizationFailed" ||
		e.Message != "The client with object id 'o' does not have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope '/subscriptions/s' or the scope is invalid. If access was recently granted, please refresh your credentials." {
		t.Fatalf("%#v", err)
	}
	if err := (arca.TenantAuthorizer{}).AuthorizeAction(t.Context(), nil, "/", "*"); arca.KindOf(err) != arca.KindForbidden {
		t.Fatalf("nil principal: %v", err)
	}
}
