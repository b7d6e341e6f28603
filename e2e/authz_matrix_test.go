package e2e

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/management"
)

// matrixOp is one data-plane operation as Azure documents it: the HTTP
// request that performs it, the access-policy permission and the RBAC data
// action it needs, and the status it answers when allowed. These are
// written out here independently of authz.Operations, so the test checks
// the handlers and the table against Azure's documentation, not the table
// against itself.
type matrixOp struct {
	op     arca.Operation
	cat    string // access-policy permission set
	perm   string // access-policy permission
	action string // RBAC data action (without the Microsoft.KeyVault/vaults/ prefix)
	want   int    // status when allowed
	// fresh: the allowed request changes its object (delete, purge,
	// recover, restore...), so each allowed case gets a new fixture.
	fresh bool
	// prep creates what the request needs (as the vault's administrator)
	// and returns the request; n is a name unique to the fixture.
	prep func(m *matrix, vault, n string) (method, path, body string)
}

// Every access-policy permission Azure defines, per permission set.
var apPermissions = map[string][]string{
	"keys": {"get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "decrypt", "encrypt",
		"unwrapkey", "wrapkey", "verify", "sign", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy", "all"},
	"secrets": {"get", "list", "set", "delete", "recover", "backup", "restore", "purge", "all"},
	"certificates": {"get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers",
		"setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore", "all"},
}

// matrix is the state of one run: the deployment, the administrator's
// token, the tested principal, and the shared fixtures.
type matrix struct {
	f        *fixture
	adminTok string
	shared   map[string][3]string // vault|op -> method, path, body
	seq      int
	ecJWK    string
	pemCert  string
}

func (m *matrix) name() string { m.seq++; return fmt.Sprintf("mx%d", m.seq) }

// admin sends a request as the vault administrator and requires success.
func (m *matrix) admin(vault, method, path, body string) map[string]any {
	m.f.t.Helper()
	resp, raw := m.f.do(method, m.f.vaultURL(vault)+path+"?api-version=7.5", m.adminTok, body)
	if resp.StatusCode >= 300 {
		m.f.t.Fatalf("setup %s %s on %s: %d %s", method, path, vault, resp.StatusCode, raw)
	}
	out := map[string]any{}
	_ = json.Unmarshal([]byte(raw), &out)
	return out
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

const selfPolicy = `{"policy":{"x509_props":{"subject":"CN=matrix"},"issuer":{"name":"Self"},"key_props":{"kty":"EC","crv":"P-256"}}}`

func (m *matrix) secret(v, n string) string {
	m.admin(v, "PUT", "/secrets/"+n, `{"value":"matrix-value"}`)
	return n
}
func (m *matrix) deletedSecret(v, n string) string {
	m.admin(v, "DELETE", "/secrets/"+m.secret(v, n), "")
	return n
}
func (m *matrix) ecKey(v, n string) string {
	m.admin(v, "POST", "/keys/"+n+"/create", `{"kty":"EC","crv":"P-256"}`)
	return n
}
func (m *matrix) rsaKey(v, n string) string {
	m.admin(v, "POST", "/keys/"+n+"/create", `{"kty":"RSA","key_size":2048}`)
	return n
}
func (m *matrix) deletedKey(v, n string) string {
	m.admin(v, "DELETE", "/keys/"+m.ecKey(v, n), "")
	return n
}
func (m *matrix) cert(v, n string) string {
	m.admin(v, "POST", "/certificates/"+n+"/create", selfPolicy)
	return n
}
func (m *matrix) pendingCert(v, n string) string {
	m.admin(v, "POST", "/certificates/"+n+"/create", `{"policy":{"x509_props":{"subject":"CN=pending"},"issuer":{"name":"Unknown"},"key_props":{"kty":"EC","crv":"P-256"}}}`)
	return n
}
func (m *matrix) deletedCert(v, n string) string {
	m.admin(v, "DELETE", "/certificates/"+m.cert(v, n), "")
	return n
}
func (m *matrix) issuer(v, n string) string {
	m.admin(v, "PUT", "/certificates/issuers/"+n, `{"provider":"Test"}`)
	return n
}

// backupBlob backs up an object of collection (secrets, keys,
// certificates), then deletes and purges it so the blob can be restored.
func (m *matrix) backupBlob(v, collection, n string) string {
	blob := m.admin(v, "POST", "/"+collection+"/"+n+"/backup", "")["value"].(string)
	m.admin(v, "DELETE", "/"+collection+"/"+n, "")
	m.admin(v, "DELETE", "/deleted"+collection+"/"+n, "")
	return `{"value":"` + blob + `"}`
}

func matrixOps() []matrixOp {
	digest := b64u(make([]byte, 32))
	return []matrixOp{
		// Secrets
		{"SecretSet", "secrets", "set", "secrets/setSecret/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PUT", "/secrets/" + n, `{"value":"matrix-value"}`
		}},
		{"SecretGet", "secrets", "get", "secrets/getSecret/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/secrets/" + m.secret(v, n) + "/", ""
		}},
		{"SecretUpdate", "secrets", "set", "secrets/update/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/secrets/" + m.secret(v, n) + "/", `{"tags":{"a":"b"}}`
		}},
		{"SecretList", "secrets", "list", "secrets/readMetadata/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/secrets", ""
		}},
		{"SecretListVersions", "secrets", "list", "secrets/readMetadata/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/secrets/" + m.secret(v, n) + "/versions", ""
		}},
		{"SecretDelete", "secrets", "delete", "secrets/delete", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/secrets/" + m.secret(v, n), ""
		}},
		{"SecretGetDeleted", "secrets", "get", "deletedSecrets/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedsecrets/" + m.deletedSecret(v, n), ""
		}},
		{"SecretListDeleted", "secrets", "list", "deletedSecrets/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedsecrets", ""
		}},
		{"SecretRecover", "secrets", "recover", "deletedSecrets/recover/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/deletedsecrets/" + m.deletedSecret(v, n) + "/recover", ""
		}},
		{"SecretPurge", "secrets", "purge", "deletedSecrets/delete", 204, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/deletedsecrets/" + m.deletedSecret(v, n), ""
		}},
		{"SecretBackup", "secrets", "backup", "secrets/backup/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/secrets/" + m.secret(v, n) + "/backup", ""
		}},
		{"SecretRestore", "secrets", "restore", "secrets/restore/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/secrets/restore", m.backupBlob(v, "secrets", m.secret(v, n))
		}},

		// Keys
		{"KeyCreate", "keys", "create", "keys/create/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + n + "/create", `{"kty":"EC","crv":"P-256"}`
		}},
		{"KeyImport", "keys", "import", "keys/import/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PUT", "/keys/" + n, `{"key":` + m.ecJWK + `}`
		}},
		{"KeyGet", "keys", "get", "keys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/keys/" + m.ecKey(v, n) + "/", ""
		}},
		{"KeyUpdate", "keys", "update", "keys/update/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/keys/" + m.ecKey(v, n) + "/", `{"tags":{"a":"b"}}`
		}},
		{"KeyList", "keys", "list", "keys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/keys", ""
		}},
		{"KeyListVersions", "keys", "list", "keys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/keys/" + m.ecKey(v, n) + "/versions", ""
		}},
		{"KeyDelete", "keys", "delete", "keys/delete", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/keys/" + m.ecKey(v, n), ""
		}},
		{"KeyGetDeleted", "keys", "get", "deletedKeys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedkeys/" + m.deletedKey(v, n), ""
		}},
		{"KeyListDeleted", "keys", "list", "deletedKeys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedkeys", ""
		}},
		{"KeyRecover", "keys", "recover", "deletedKeys/recover/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/deletedkeys/" + m.deletedKey(v, n) + "/recover", ""
		}},
		{"KeyPurge", "keys", "purge", "deletedKeys/delete", 204, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/deletedkeys/" + m.deletedKey(v, n), ""
		}},
		{"KeyBackup", "keys", "backup", "keys/backup/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.ecKey(v, n) + "/backup", ""
		}},
		{"KeyRestore", "keys", "restore", "keys/restore/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/restore", m.backupBlob(v, "keys", m.ecKey(v, n))
		}},
		{"KeySign", "keys", "sign", "keys/sign/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.ecKey(v, n) + "/sign", `{"alg":"ES256","value":"` + digest + `"}`
		}},
		{"KeyVerify", "keys", "verify", "keys/verify/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.ecKey(v, n) + "/verify", `{"alg":"ES256","digest":"` + digest + `","value":"` + b64u(make([]byte, 64)) + `"}`
		}},
		{"KeyEncrypt", "keys", "encrypt", "keys/encrypt/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.rsaKey(v, n) + "/encrypt", `{"alg":"RSA-OAEP","value":"` + b64u([]byte("hello")) + `"}`
		}},
		{"KeyDecrypt", "keys", "decrypt", "keys/decrypt/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			ct := m.admin(v, "POST", "/keys/"+m.rsaKey(v, n)+"/encrypt", `{"alg":"RSA-OAEP","value":"`+b64u([]byte("hello"))+`"}`)["value"].(string)
			return "POST", "/keys/" + n + "/decrypt", `{"alg":"RSA-OAEP","value":"` + ct + `"}`
		}},
		{"KeyWrap", "keys", "wrapkey", "keys/wrap/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.rsaKey(v, n) + "/wrapkey", `{"alg":"RSA-OAEP","value":"` + digest + `"}`
		}},
		{"KeyUnwrap", "keys", "unwrapkey", "keys/unwrap/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			w := m.admin(v, "POST", "/keys/"+m.rsaKey(v, n)+"/wrapkey", `{"alg":"RSA-OAEP","value":"`+digest+`"}`)["value"].(string)
			return "POST", "/keys/" + n + "/unwrapkey", `{"alg":"RSA-OAEP","value":"` + w + `"}`
		}},
		{"KeyRotate", "keys", "rotate", "keys/rotate/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.ecKey(v, n) + "/rotate", ""
		}},
		{"KeyRotationPolicyGet", "keys", "getrotationpolicy", "keyrotationpolicies/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/keys/" + m.ecKey(v, n) + "/rotationpolicy", ""
		}},
		{"KeyRotationPolicySet", "keys", "setrotationpolicy", "keyrotationpolicies/write", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PUT", "/keys/" + m.ecKey(v, n) + "/rotationpolicy",
				`{"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":{"type":"Notify"}}],"attributes":{"expiryTime":"P90D"}}`
		}},
		// Release of a key that is not exportable: authorised, then refused
		// for what the key is (the attestation flow has its own tests).
		{"KeyRelease", "keys", "release", "keys/release/action", 400, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/keys/" + m.ecKey(v, n) + "/release", `{"target":"not-an-attestation-token"}`
		}},
		{"RandomBytesGet", "keys", "get", "keys/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/rng", `{"count":8}`
		}},

		// Certificates
		{"CertificateCreate", "certificates", "create", "certificates/create/action", 202, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/certificates/" + n + "/create", selfPolicy
		}},
		{"CertificateImport", "certificates", "import", "certificates/import/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/certificates/" + n + "/import", `{"value":` + m.pemCert + `,"policy":{"secret_props":{"contentType":"application/x-pem-file"}}}`
		}},
		{"CertificateGet", "certificates", "get", "certificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/" + m.cert(v, n) + "/", ""
		}},
		{"CertificateList", "certificates", "list", "certificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates", ""
		}},
		{"CertificateListVersions", "certificates", "list", "certificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/" + m.cert(v, n) + "/versions", ""
		}},
		{"CertificateUpdate", "certificates", "update", "certificates/update/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/certificates/" + m.cert(v, n) + "/", `{"tags":{"a":"b"}}`
		}},
		{"CertificatePolicyGet", "certificates", "get", "certificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/" + m.cert(v, n) + "/policy", ""
		}},
		{"CertificatePolicyUpdate", "certificates", "update", "certificates/update/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/certificates/" + m.cert(v, n) + "/policy", `{"x509_props":{"validity_months":6}}`
		}},
		{"CertificatePendingGet", "certificates", "get", "certificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/" + m.pendingCert(v, n) + "/pending", ""
		}},
		{"CertificatePendingUpdate", "certificates", "update", "certificates/update/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/certificates/" + m.pendingCert(v, n) + "/pending", `{"cancellation_requested":true}`
		}},
		{"CertificatePendingDelete", "certificates", "delete", "certificates/delete", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/certificates/" + m.pendingCert(v, n) + "/pending", ""
		}},
		{"CertificatePendingMerge", "certificates", "create", "certificates/create/action", 201, true, func(m *matrix, v, n string) (string, string, string) {
			csr := m.admin(v, "GET", "/certificates/"+m.pendingCert(v, n)+"/pending", "")["csr"].(string)
			return "POST", "/certificates/" + n + "/pending/merge", `{"x5c":["` + m.signCSR(csr) + `"]}`
		}},
		{"CertificateDelete", "certificates", "delete", "certificates/delete", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/certificates/" + m.cert(v, n), ""
		}},
		{"CertificateGetDeleted", "certificates", "get", "deletedCertificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedcertificates/" + m.deletedCert(v, n), ""
		}},
		{"CertificateListDeleted", "certificates", "list", "deletedCertificates/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/deletedcertificates", ""
		}},
		{"CertificateRecover", "certificates", "recover", "deletedCertificates/recover/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/deletedcertificates/" + m.deletedCert(v, n) + "/recover", ""
		}},
		{"CertificatePurge", "certificates", "purge", "deletedCertificates/delete", 204, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/deletedcertificates/" + m.deletedCert(v, n), ""
		}},
		{"CertificateBackup", "certificates", "backup", "certificates/backup/action", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/certificates/" + m.cert(v, n) + "/backup", ""
		}},
		{"CertificateRestore", "certificates", "restore", "certificates/restore/action", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "POST", "/certificates/restore", m.backupBlob(v, "certificates", m.cert(v, n))
		}},
		{"CertificateIssuerGet", "certificates", "getissuers", "certificatecas/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/issuers/" + m.issuer(v, n), ""
		}},
		{"CertificateIssuerList", "certificates", "listissuers", "certificatecas/read", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "GET", "/certificates/issuers", ""
		}},
		{"CertificateIssuerSet", "certificates", "setissuers", "certificatecas/write", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PUT", "/certificates/issuers/" + n, `{"provider":"Test"}`
		}},
		{"CertificateIssuerUpdate", "certificates", "setissuers", "certificatecas/write", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PATCH", "/certificates/issuers/" + m.issuer(v, n), `{"provider":"Test"}`
		}},
		{"CertificateIssuerDelete", "certificates", "deleteissuers", "certificatecas/delete", 200, true, func(m *matrix, v, n string) (string, string, string) {
			return "DELETE", "/certificates/issuers/" + m.issuer(v, n), ""
		}},
		{"CertificateContactsGet", "certificates", "managecontacts", "certificatecontacts/read", 200, true, func(m *matrix, v, n string) (string, string, string) {
			m.admin(v, "PUT", "/certificates/contacts", `{"contacts":[{"email":"ops@example.com"}]}`)
			return "GET", "/certificates/contacts", ""
		}},
		{"CertificateContactsSet", "certificates", "managecontacts", "certificatecontacts/write", 200, false, func(m *matrix, v, n string) (string, string, string) {
			return "PUT", "/certificates/contacts", `{"contacts":[{"email":"ops@example.com"}]}`
		}},
		{"CertificateContactsDelete", "certificates", "managecontacts", "certificatecontacts/write", 200, true, func(m *matrix, v, n string) (string, string, string) {
			m.admin(v, "PUT", "/certificates/contacts", `{"contacts":[{"email":"ops@example.com"}]}`)
			return "DELETE", "/certificates/contacts", ""
		}},
	}
}

// signCSR issues a certificate for a pending operation's CSR (base64 DER)
// from a throwaway CA and returns it as base64 DER.
func (m *matrix) signCSR(csrB64 string) string {
	der, err := base64.StdEncoding.DecodeString(csrB64)
	if err != nil {
		m.f.t.Fatal(err)
	}
	req, err := x509.ParseCertificateRequest(der)
	if err != nil {
		m.f.t.Fatal(err)
	}
	ca, caKey := testCA(m.f.t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: req.Subject, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	leaf, err := x509.CreateCertificate(rand.Reader, tmpl, ca, req.PublicKey, caKey)
	if err != nil {
		m.f.t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(leaf)
}

// allowedByPolicy is Azure's access-policy rule: the permission itself,
// "all" of its set, or manageissuers for the four issuer permissions.
func allowedByPolicy(o matrixOp, cat, perm string) bool {
	if cat != o.cat {
		return false
	}
	return perm == o.perm || perm == "all" || (perm == "manageissuers" && strings.HasSuffix(o.perm, "issuers"))
}

// TestAuthorizationMatrix: every data-plane operation × every access-policy
// permission and every built-in Key Vault data role (and no grant at all),
// over HTTP against a running deployment: exactly the right grants pass
// with the operation's success status, everything else is Azure's 403 in
// the vault's mode, and each request leaves an audit record naming the
// operation, the caller and the status.
func TestAuthorizationMatrix(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	ops := matrixOps()

	// The table here and authz.Operations cover the same operations.
	seen := map[arca.Operation]bool{}
	for _, o := range ops {
		seen[o.op] = true
		if _, ok := authz.Operations[o.op]; !ok {
			t.Errorf("%s: not in authz.Operations", o.op)
		}
	}
	for op := range authz.Operations {
		if !seen[op] {
			t.Errorf("%s: no HTTP case in the matrix", op)
		}
	}

	owner := f.arm()
	tenant := f.r.App.Facts.TenantID
	owner.call("PUT", "resourceGroups/arca/providers/Microsoft.KeyVault/vaults/mxrbac?api-version=2023-07-01",
		`{"location":"local","properties":{"tenantId":"`+tenant+`","sku":{"family":"A","name":"standard"},"enableRbacAuthorization":true}}`, 200)
	rbacScope := "/subscriptions/" + owner.sub + "/resourceGroups/arca/providers/Microsoft.KeyVault/vaults/mxrbac"
	devSP, _ := f.r.App.Directory.ServicePrincipal(ctx, f.r.App.Facts.DevClientID)
	if _, err := f.r.App.Management.CreateRoleAssignment(ctx, &management.RoleAssignment{Scope: rbacScope,
		RoleDefinitionID: "00482a5a-887f-4fb3-b363-3b7fe8e74483", PrincipalID: devSP.ObjectID}); err != nil {
		t.Fatal(err)
	}
	sp, secret, err := f.r.App.Directory.CreateServicePrincipal(ctx, "matrix-app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := f.spToken(sp.AppID, secret, "https://vault.localhost:"+f.port())

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPoint, _ := ecKey.PublicKey.Bytes() // 0x04 || x || y, 32 bytes each
	ecD, _ := ecKey.Bytes()
	jwk, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": b64u(ecPoint[1:33]),
		"y": b64u(ecPoint[33:]), "d": b64u(ecD)})
	certTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "imported"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	certDER, _ := x509.CreateCertificate(rand.Reader, certTmpl, certTmpl, &ecKey.PublicKey, ecKey)
	k8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	pemBundle, _ := json.Marshal(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k8})) + string(pemCert(certDER)))

	m := &matrix{f: f, adminTok: f.token("https://vault.localhost:" + f.port() + "/.default"), shared: map[string][3]string{},
		ecJWK: string(jwk), pemCert: string(pemBundle)}

	type outcome struct {
		op     arca.Operation
		status int
	}
	expectAudit := map[string]outcome{} // correlation id -> what the audit record must say
	run := func(vault, grant string, o matrixOp, allowed bool, wantInner string) {
		t.Helper()
		var method, path, body string
		if allowed && o.fresh {
			method, path, body = o.prep(m, vault, m.name())
		} else {
			key := vault + "|" + string(o.op)
			r, ok := m.shared[key]
			if !ok {
				r[0], r[1], r[2] = o.prep(m, vault, m.name())
				m.shared[key] = r
			}
			method, path, body = r[0], r[1], r[2]
		}
		corr := fmt.Sprintf("mx-%s-%s-%s", vault, strings.ReplaceAll(grant, "/", "."), o.op)
		resp, raw := f.do(method, f.vaultURL(vault)+path+"?api-version=7.5", tok, body, "x-ms-client-request-id", corr)
		switch {
		case allowed && resp.StatusCode != o.want:
			t.Errorf("%s on %s with %s: %d %s, want %d", o.op, vault, grant, resp.StatusCode, raw, o.want)
		case !allowed && (resp.StatusCode != 403 || !strings.Contains(raw, `"innererror":{"code":"`+wantInner+`"}`)):
			t.Errorf("%s on %s with %s: %d %s, want 403 %s", o.op, vault, grant, resp.StatusCode, raw, wantInner)
		}
		expectAudit[corr] = outcome{o.op, resp.StatusCode}
	}

	// Access-policy mode: the principal holds exactly one permission at a time.
	setPolicy := func(perms arca.Permissions) {
		if _, err := f.r.App.Vaults.Update(ctx, "arca", func(v *arca.Vault) error {
			var pols []arca.AccessPolicy
			for _, p := range v.AccessPolicies {
				if p.ObjectID != sp.ObjectID {
					pols = append(pols, p)
				}
			}
			if perms.Keys != nil || perms.Secrets != nil || perms.Certificates != nil {
				pols = append(pols, arca.AccessPolicy{TenantID: tenant, ObjectID: sp.ObjectID, Permissions: perms})
			}
			v.AccessPolicies = pols
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	cases := 0
	for _, o := range ops {
		run("arca", "none", o, false, "AccessDenied")
		cases++
	}
	for _, cat := range []string{"keys", "secrets", "certificates"} {
		for _, perm := range apPermissions[cat] {
			var p arca.Permissions
			switch cat {
			case "keys":
				p.Keys = []string{perm}
			case "secrets":
				p.Secrets = []string{perm}
			case "certificates":
				p.Certificates = []string{perm}
			}
			setPolicy(p)
			for _, o := range ops {
				run("arca", cat+"/"+perm, o, allowedByPolicy(o, cat, perm), "AccessDenied")
				cases++
			}
		}
	}
	setPolicy(arca.Permissions{})

	// RBAC mode: the principal holds exactly one built-in role at a time,
	// assigned at the vault.
	for _, o := range ops {
		run("mxrbac", "none", o, false, "ForbiddenByRbac")
		cases++
	}
	for _, role := range authz.Builtin {
		ra, err := f.r.App.Management.CreateRoleAssignment(ctx, &management.RoleAssignment{Scope: rbacScope, RoleDefinitionID: role.ID, PrincipalID: sp.ObjectID})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			run("mxrbac", role.Name, o, role.Allows("Microsoft.KeyVault/vaults/"+o.action), "ForbiddenByRbac")
			cases++
		}
		if _, err := f.r.App.Management.DeleteRoleAssignment(ctx, ra.Scope, ra.Name); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d operations, %d cases", len(ops), cases)

	// Every case left one audit record with its operation, caller and status.
	f.r.Close()
	raw, err := os.ReadFile(filepath.Join(f.dir, "audit", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			OperationName string `json:"operationName"`
			CorrelationID string `json:"correlationId"`
			ResultType    string `json:"resultType"`
			Identity      *struct {
				Claim map[string]string `json:"claim"`
			} `json:"identity"`
			Properties struct {
				HTTPStatusCode int `json:"httpStatusCode"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %v", err)
		}
		want, ok := expectAudit[e.CorrelationID]
		if !ok {
			continue
		}
		delete(expectAudit, e.CorrelationID)
		if e.OperationName != string(want.op) || e.Properties.HTTPStatusCode != want.status || e.Identity == nil || e.Identity.Claim["oid"] != sp.ObjectID {
			t.Errorf("audit record for %s: %+v, want %s %d by %s", e.CorrelationID, e, want.op, want.status, sp.ObjectID)
		}
		if (want.status == 403) != (e.ResultType == "Forbidden") {
			t.Errorf("audit record for %s: resultType %s for status %d", e.CorrelationID, e.ResultType, want.status)
		}
	}
	if len(expectAudit) != 0 {
		t.Errorf("%d cases left no audit record (e.g. %v)", len(expectAudit), firstKey(expectAudit))
	}
}

func firstKey[V any](m map[string]V) string {
	for k := range m {
		return k
	}
	return ""
}
