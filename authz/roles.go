package authz

// The built-in roles, with Azure's GUIDs: the general Resource Manager roles
// and Key Vault's, each with its management Actions/NotActions and its data
// DataActions/NotDataActions. Package management serves them through ARM
// (with their descriptions); decisions read them from the Source.
var (
	Owner = RoleDefinition{ID: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Name: "Owner", Actions: []string{"*"}}
	// Contributor may do everything but assign roles.
	Contributor = RoleDefinition{ID: "b24988ac-6180-42a0-ab88-20f7382dd24c", Name: "Contributor", Actions: []string{"*"},
		NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action"}}
	Reader = RoleDefinition{ID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", Name: "Reader", Actions: []string{"*/read"}}
	// KeyVaultContributor manages vaults, without access to their contents.
	KeyVaultContributor = RoleDefinition{ID: "f25e0fa2-a7c8-4377-a976-54943a77a395", Name: "Key Vault Contributor",
		Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.KeyVault/*",
			"Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Resources/subscriptions/read", "Microsoft.Resources/subscriptions/operationresults/read"}}

	// ManagementRoles are the general Resource Manager roles above.
	ManagementRoles = []RoleDefinition{Owner, Contributor, Reader, KeyVaultContributor}
)

// dataRoleActions are the management actions of every built-in Key Vault
// data role: read-only.
var dataRoleActions = []string{"Microsoft.Authorization/*/read", "Microsoft.Resources/subscriptions/resourceGroups/read",
	"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/read"}

// Builtin are Key Vault's built-in data-plane roles.
var Builtin = []RoleDefinition{
	{ID: "00482a5a-887f-4fb3-b363-3b7fe8e74483", Name: "Key Vault Administrator", Actions: dataRoleActions, DataActions: []string{kv + "*"}},
	{ID: "21090545-7ca7-4776-b22c-e363652d74d2", Name: "Key Vault Reader", Actions: dataRoleActions, DataActions: []string{kv + "*/read", kv + "secrets/readMetadata/action"}},
	{ID: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", Name: "Key Vault Secrets Officer", Actions: dataRoleActions, DataActions: []string{kv + "secrets/*", kv + "deletedSecrets/*"}},
	{ID: "4633458b-17de-408a-b874-0445c86b69e6", Name: "Key Vault Secrets User", Actions: dataRoleActions, DataActions: []string{kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action"}},
	{ID: "14b46e9e-c2b7-41b4-b07b-48a6ebf60603", Name: "Key Vault Crypto Officer", Actions: dataRoleActions, DataActions: []string{kv + "keys/*", kv + "deletedKeys/*", kv + "keyrotationpolicies/*"}},
	{ID: "12338af0-0e69-4776-bea7-57ae8d297424", Name: "Key Vault Crypto User", Actions: dataRoleActions, DataActions: []string{kv + "keys/read", kv + "keys/update/action", kv + "keys/backup/action",
		kv + "keys/encrypt/action", kv + "keys/decrypt/action", kv + "keys/wrap/action", kv + "keys/unwrap/action", kv + "keys/sign/action", kv + "keys/verify/action"}},
	{ID: "e147488a-f6f5-4113-8e2d-b22465e65bf6", Name: "Key Vault Crypto Service Encryption User", Actions: dataRoleActions, DataActions: []string{kv + "keys/read", kv + "keys/wrap/action", kv + "keys/unwrap/action"}},
	{ID: "08bbd89e-9f13-488c-ac41-acfcb10c90ab", Name: "Key Vault Crypto Service Release User", Actions: dataRoleActions, DataActions: []string{kv + "keys/release/action"}},
	{ID: "a4417e6f-fecd-4de8-b567-7b0420556985", Name: "Key Vault Certificates Officer", Actions: dataRoleActions, DataActions: []string{kv + "certificatecas/*", kv + "certificates/*", kv + "certificatecontacts/*", kv + "deletedCertificates/*"}},
	{ID: "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", Name: "Key Vault Certificate User", Actions: dataRoleActions, DataActions: []string{kv + "certificates/read", kv + "secrets/getSecret/action", kv + "secrets/readMetadata/action", kv + "keys/read"}},
	{ID: "8b54135c-b56d-4d72-a534-26097cfdc8d8", Name: "Key Vault Data Access Administrator", Actions: dataRoleActions},
}

// BuiltinByID returns every built-in role, the management roles and the Key
// Vault data roles, keyed by lower-case GUID: the roles a Source returns
// besides the custom ones.
func BuiltinByID() map[string]*RoleDefinition {
	m := make(map[string]*RoleDefinition, len(ManagementRoles)+len(Builtin))
	for _, list := range [][]RoleDefinition{ManagementRoles, Builtin} {
		for i := range list {
			m[list[i].ID] = &list[i]
		}
	}
	return m
}
