package authz

import (
	"strings"
	"testing"

	"github.com/arcakv/arca"
)

var allPerms = map[string][]string{
	"keys":         {"encrypt", "decrypt", "wrapKey", "unwrapKey", "sign", "verify", "get", "list", "create", "update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate", "getrotationpolicy", "setrotationpolicy"},
	"secrets":      {"get", "list", "set", "delete", "backup", "restore", "recover", "purge"},
	"certificates": {"get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers", "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup", "restore"},
}

// TestAccessPolicyMatrix: for every operation and every single permission,
// exactly the operation's own permission (and "all", and manageissuers for
// issuer operations) grants it.
func TestAccessPolicyMatrix(t *testing.T) {
	s := Subject{TenantID: "t", ObjectID: "o", AppID: "a"}
	for op, req := range Operations {
		for cat, perms := range allPerms {
			for _, perm := range append(perms, "all") {
				p := AccessPolicy{TenantID: "t", ObjectID: "o"}
				switch cat {
				case "keys":
					p.Keys = []string{perm}
				case "secrets":
					p.Secrets = []string{perm}
				case "certificates":
					p.Certificates = []string{perm}
				}
				want := cat == req.Category && (strings.EqualFold(perm, req.Permission) || perm == "all" || (perm == "manageissuers" && impliedBy[req.Permission] != ""))
				if got := ByAccessPolicy([]AccessPolicy{p}, s, op); got != want {
					t.Errorf("%s with %s/%s: got %v, want %v", op, cat, perm, got, want)
				}
			}
		}
	}
}

func TestAccessPolicyIdentity(t *testing.T) {
	all := []string{"all"}
	cases := []struct {
		name string
		p    AccessPolicy
		s    Subject
		want bool
	}{
		{"match", AccessPolicy{TenantID: "T", ObjectID: "O", Secrets: all}, Subject{TenantID: "t", ObjectID: "o"}, true},
		{"other object", AccessPolicy{TenantID: "t", ObjectID: "x", Secrets: all}, Subject{TenantID: "t", ObjectID: "o"}, false},
		{"other tenant", AccessPolicy{TenantID: "u", ObjectID: "o", Secrets: all}, Subject{TenantID: "t", ObjectID: "o"}, false},
		{"group", AccessPolicy{TenantID: "t", ObjectID: "g", Secrets: all}, Subject{TenantID: "t", ObjectID: "o", Groups: []string{"g"}}, true},
		{"compound, right app", AccessPolicy{TenantID: "t", ObjectID: "o", ApplicationID: "a", Secrets: all}, Subject{TenantID: "t", ObjectID: "o", AppID: "a"}, true},
		{"compound, other app", AccessPolicy{TenantID: "t", ObjectID: "o", ApplicationID: "a", Secrets: all}, Subject{TenantID: "t", ObjectID: "o", AppID: "b"}, false},
		{"no policies", AccessPolicy{}, Subject{TenantID: "t", ObjectID: "o"}, false},
	}
	for _, c := range cases {
		if got := ByAccessPolicy([]AccessPolicy{c.p}, c.s, "SecretGet"); got != c.want {
			t.Errorf("%s: got %v", c.name, got)
		}
	}
	if ByAccessPolicy([]AccessPolicy{{TenantID: "t", ObjectID: "o", Secrets: all}}, Subject{TenantID: "t", ObjectID: "o"}, "NoSuchOperation") {
		t.Error("unknown operation allowed")
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, a string
		want bool
	}{
		{kv + "*", kv + "secrets/getSecret/action", true},
		{kv + "*/read", kv + "keys/read", true},
		{kv + "*/read", kv + "secrets/readMetadata/action", false},
		{kv + "secrets/*", kv + "deletedSecrets/read", false},
		{"MICROSOFT.KEYVAULT/vaults/secrets/*", kv + "secrets/delete", true},
		{kv + "keys/read", kv + "keys/read/x", false},
	} {
		if got := Match(c.p, c.a); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.p, c.a, got)
		}
	}
}

// TestRBACBuiltinRoles pins what each built-in role may do.
func TestRBACBuiltinRoles(t *testing.T) {
	roles := BuiltinByID()
	vault := "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"
	s := Subject{TenantID: "t", ObjectID: "o"}
	can := func(role string, op arca.Operation) bool {
		return ByRBAC([]RoleAssignment{{Scope: vault, PrincipalID: "o", RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/" + role}}, roles, s, vault+"/secrets/x", op)
	}
	const (
		admin, reader, secOff, secUser          = "00482a5a-887f-4fb3-b363-3b7fe8e74483", "21090545-7ca7-4776-b22c-e363652d74d2", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "4633458b-17de-408a-b874-0445c86b69e6"
		cryptoOff, cryptoUser, encUser, relUser = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", "12338af0-0e69-4776-bea7-57ae8d297424", "e147488a-f6f5-4113-8e2d-b22465e65bf6", "08bbd89e-9f13-488c-ac41-acfcb10c90ab"
		certOff, certUser, dataAdmin            = "a4417e6f-fecd-4de8-b567-7b0420556985", "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", "8b54135c-b56d-4d72-a534-26097cfdc8d8"
	)
	for op := range Operations {
		if !can(admin, op) {
			t.Errorf("Administrator cannot %s", op)
		}
		if can(dataAdmin, op) {
			t.Errorf("Data Access Administrator can %s", op)
		}
	}
	for _, c := range []struct {
		role string
		op   arca.Operation
		want bool
	}{
		{reader, "SecretList", true}, {reader, "SecretGet", false}, {reader, "KeyGet", true}, {reader, "KeySign", false}, {reader, "CertificateGet", true},
		{secOff, "SecretSet", true}, {secOff, "SecretPurge", true}, {secOff, "KeyGet", false},
		{secUser, "SecretGet", true}, {secUser, "SecretList", true}, {secUser, "SecretSet", false}, {secUser, "SecretDelete", false},
		{cryptoOff, "KeyCreate", true}, {cryptoOff, "KeyPurge", true}, {cryptoOff, "KeyRotationPolicySet", true}, {cryptoOff, "SecretGet", false},
		{cryptoUser, "KeySign", true}, {cryptoUser, "KeyDecrypt", true}, {cryptoUser, "KeyCreate", false}, {cryptoUser, "KeyDelete", false},
		{encUser, "KeyWrap", true}, {encUser, "KeyUnwrap", true}, {encUser, "KeySign", false},
		{relUser, "KeyRelease", true}, {relUser, "KeyGet", false},
		{certOff, "CertificateCreate", true}, {certOff, "CertificateIssuerSet", true}, {certOff, "CertificateContactsSet", true}, {certOff, "SecretGet", false},
		{certUser, "CertificateGet", true}, {certUser, "SecretGet", true}, {certUser, "CertificateCreate", false},
	} {
		if got := can(c.role, c.op); got != c.want {
			t.Errorf("%s %s: got %v, want %v", roles[c.role].Name, c.op, got, c.want)
		}
	}
}

func TestRBACScopes(t *testing.T) {
	roles := BuiltinByID()
	const secUser = "4633458b-17de-408a-b874-0445c86b69e6"
	vault := "/subscriptions/s/resourceGroups/g/providers/Microsoft.KeyVault/vaults/v"
	s := Subject{TenantID: "t", ObjectID: "o", Groups: []string{"grp"}}
	for _, c := range []struct {
		scope, principal, object string
		want                     bool
	}{
		{"/subscriptions/s", "o", vault + "/secrets/a", true},
		{"/subscriptions/s/resourceGroups/g", "o", vault + "/secrets/a", true},
		{"/subscriptions/s/resourceGroups/gg", "o", vault + "/secrets/a", false},
		{vault, "o", vault + "/secrets/a", true},
		{vault + "/secrets/a", "o", vault + "/secrets/a", true},
		{vault + "/secrets/a", "o", vault + "/secrets/ab", false},
		{vault + "/secrets/a", "o", vault + "/secrets/b", false},
		{vault, "grp", vault + "/secrets/a", true},
		{vault, "someone", vault + "/secrets/a", false},
	} {
		got := ByRBAC([]RoleAssignment{{Scope: c.scope, PrincipalID: c.principal, RoleDefinitionID: secUser}}, roles, s, c.object, "SecretGet")
		if got != c.want {
			t.Errorf("scope %s principal %s object %s: got %v", c.scope, c.principal, c.object, got)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add(kv+"*/read", kv+"keys/read")
	f.Fuzz(func(t *testing.T, p, a string) {
		if len(p) > 64 || len(a) > 64 {
			return
		}
		if Match(a, a) == false && !strings.Contains(a, "*") {
			t.Fatalf("%q does not match itself", a)
		}
		if got, want := Match(p, a), matchReference(p, a); got != want {
			t.Fatalf("Match(%q, %q) = %v, want %v", p, a, got, want)
		}
	})
}

// matchReference is the textbook dynamic-programming wildcard match ('*'
// matches any run of bytes, comparison after strings.ToLower): quadratic, but
// obviously right, to check Match's linear-time backtracking against.
func matchReference(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	// m[j] reports whether p[:i] matches a[:j], for the current i.
	m := make([]bool, len(a)+1)
	m[0] = true
	for i := 0; i < len(p); i++ {
		next := make([]bool, len(a)+1)
		if p[i] == '*' {
			next[0] = m[0]
			for j := 1; j <= len(a); j++ {
				next[j] = m[j] || next[j-1]
			}
		} else {
			for j := 1; j <= len(a); j++ {
				next[j] = m[j-1] && p[i] == a[j-1]
			}
		}
		m = next
	}
	return m[len(a)]
}
