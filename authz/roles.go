package authz

// Builtin are Key Vault's built-in data-plane roles.
var Builtin = []RoleDefinition{
	{ID: "00482a5a-887f-4fb3-b363-3b7fe8e74483", Name: "Key Vault Administrator", DataActions: []string{kv + "*"}},
	{ID: "21090545-7ca7-4776-b22c-e363652d74d2", Name: "Key Vault Reader", DataActions: []string{kv + "*/read", kv + "secrets/readMetadata/action"}},
	{ID: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", Name: "Key Vault Secrets Officer", DataActions: []string{kv + "secrets/*", kv + "deletedSecrets/*"}},
	{ID: "4633458b-17de-408a-b874-0445c86b69e6", Name: "Key Vault Secrets User", DataActions: []string{kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action"}},
	{ID: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", Name: "Key Vault Crypto Officer", DataActions: []string{kv + "keys/*", kv + "deletedKeys/*", kv + "keyrotationpolicies/*"}},
	{ID: "12338af0-0e69-4776-bea7-57ae8d297424", Name: "Key Vault Crypto User", DataActions: []string{kv + "keys/read", kv + "keys/update/action", kv + "keys/backup/action",
		kv + "keys/encrypt/action", kv + "keys/decrypt/action", kv + "keys/wrap/action", kv + "keys/unwrap/action", kv + "keys/sign/action", kv + "keys/verify/action"}},
	{ID: "e147488a-f6f5-4113-8e2d-b22465e65bf6", Name: "Key Vault Crypto Service Encryption User", DataActions: []string{kv + "keys/read", kv + "keys/wrap/action", kv + "keys/unwrap/action"}},
	{ID: "08bbd89e-9f13-488c-ac41-acfcb10c90ab", Name: "Key Vault Crypto Service Release User", DataActions: []string{kv + "keys/release/action"}},
	{ID: "a4417e6f-fecd-4de8-b567-7b0420556985", Name: "Key Vault Certificates Officer", DataActions: []string{kv + "certificatecas/*", kv + "certificates/*", kv + "certificatecontacts/*", kv + "deletedCertificates/*"}},
	{ID: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", Name: "Key Vault Certificate User", DataActions: []string{kv + "certificates/read", kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action", kv + "keys/read"}},
	{ID: "8b54135c-b56d-4d72-a534-26097cfdc8d8", Name: "Key Vault Data Access Administrator"},
}

// BuiltinByID returns the built-in roles keyed by lower-case GUID.
func BuiltinByID() map[string]*RoleDefinition {
	m := make(map[string]*RoleDefinition, len(Builtin))
	for i := range Builtin {
		m[Builtin[i].ID] = &Builtin[i]
	}
	return m
}
