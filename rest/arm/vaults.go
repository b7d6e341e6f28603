package arm

// The Resource Manager: Microsoft.KeyVault/vaults (create, update, access
// policies) as one transaction each on the vault service.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

func vaultID(v *arca.Vault) string {
	return "/subscriptions/" + v.Subscription + "/resourceGroups/" + v.ResourceGroup + "/providers/" + vaultType + "/" + v.Name
}

func tagsOf(v *arca.Vault) map[string]string {
	if v.Tags == nil {
		return map[string]string{}
	}
	return v.Tags
}

type armSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

type armVaultProps struct {
	TenantID                     *string              `json:"tenantId,omitempty"`
	SKU                          *armSKU              `json:"sku,omitempty"`
	AccessPolicies               *[]arca.AccessPolicy `json:"accessPolicies,omitempty"`
	VaultURI                     *string              `json:"vaultUri,omitempty"`
	EnabledForDeployment         *bool                `json:"enabledForDeployment,omitempty"`
	EnabledForDiskEncryption     *bool                `json:"enabledForDiskEncryption,omitempty"`
	EnabledForTemplateDeployment *bool                `json:"enabledForTemplateDeployment,omitempty"`
	EnableSoftDelete             *bool                `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays    *int                 `json:"softDeleteRetentionInDays,omitempty"`
	EnableRbacAuthorization      *bool                `json:"enableRbacAuthorization,omitempty"`
	CreateMode                   *string              `json:"createMode,omitempty"`
	EnablePurgeProtection        *bool                `json:"enablePurgeProtection,omitempty"`
	NetworkAcls                  json.RawMessage      `json:"networkAcls,omitempty"`
	PublicNetworkAccess          *string              `json:"publicNetworkAccess,omitempty"`
	ProvisioningState            string               `json:"provisioningState,omitempty"`
}

type armVaultBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties *armVaultProps    `json:"properties"`
}

func (q *armRequest) vaultJSON(v *arca.Vault) map[string]any {
	pols := v.AccessPolicies
	if pols == nil {
		pols = []arca.AccessPolicy{}
	}
	pna := v.PublicNetworkAccess
	if pna == "" {
		pna = "Enabled"
	}
	props := map[string]any{
		"sku":                          armSKU{Family: "A", Name: v.SKU},
		"tenantId":                     v.TenantID,
		"accessPolicies":               pols,
		"enabledForDeployment":         v.EnabledForDeployment,
		"enabledForDiskEncryption":     v.EnabledForDiskEncryption,
		"enabledForTemplateDeployment": v.EnabledForTemplateDeployment,
		"enableSoftDelete":             v.SoftDeleteEnabled(),
		"softDeleteRetentionInDays":    v.RetentionDays,
		"enableRbacAuthorization":      v.EnableRBAC,
		"vaultUri":                     q.h.Config.VaultURL(v.Name) + "/",
		"provisioningState":            "Succeeded",
		"publicNetworkAccess":          pna,
	}
	if v.PurgeProtection {
		props["enablePurgeProtection"] = true
	}
	if len(v.NetworkACLs) > 0 {
		props["networkAcls"] = v.NetworkACLs
	}
	updated := v.Updated
	if updated.IsZero() {
		updated = v.Created
	}
	return map[string]any{
		"id": vaultID(v), "name": v.Name, "type": vaultType, "location": v.Location, "tags": tagsOf(v),
		"systemData": map[string]any{"createdAt": v.Created.UTC().Format(time.RFC3339Nano), "lastModifiedAt": updated.UTC().Format(time.RFC3339Nano)},
		"properties": props,
	}
}

// vaultIn returns the named vault if it lives in sub/group, else a 404.
func (q *armRequest) vaultIn(sub *management.Subscription, g *management.ResourceGroup, name string) (*arca.Vault, error) {
	v, err := q.h.Vaults.Vault(q.ctx(), name)
	if err != nil || !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
		return nil, vaultNotFound(g, name)
	}
	return v, nil
}

// vaultNotFound is ARM's 404 for a vault that is not in resource group g.
func vaultNotFound(g *management.ResourceGroup, name string) error {
	return arca.Errorf(arca.KindNotFound, "ResourceNotFound",
		"The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", vaultType, name, g.Name)
}

// updateVaultIn changes the named vault of sub/group with fn through the
// vault service's Update: fn sees the vault as stored, inside the service's
// transaction, so a change made meanwhile by another request is never
// overwritten with an older state (a revoked access policy brought back,
// purge protection switched off again). fn may run more than once and must
// only change the vault it is given. A vault that does not exist or lives in
// another subscription or resource group is ARM's 404 ResourceNotFound;
// fn's errors and the service's (KindInvalid for a forbidden change) are
// returned as they are.
func (q *armRequest) updateVaultIn(sub *management.Subscription, g *management.ResourceGroup, name string, fn func(*arca.Vault) error) (*arca.Vault, error) {
	v, err := q.h.Vaults.Update(q.ctx(), name, func(v *arca.Vault) error {
		if !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
			return vaultNotFound(g, name)
		}
		return fn(v)
	})
	if arca.KindOf(err) == arca.KindNotFound {
		return nil, vaultNotFound(g, name)
	}
	return v, err
}

func (q *armRequest) vaultScope(sub *management.Subscription, g *management.ResourceGroup, name string, rest []string) {
	scope := "/subscriptions/" + sub.ID + "/resourceGroups/" + g.Name + "/providers/" + vaultType + "/" + name
	if len(rest) == 2 && eq(rest[0], "accessPolicies") {
		if q.method(http.MethodPut) && q.authorize(scope, "Microsoft.KeyVault/vaults/accessPolicies/write") {
			q.accessPolicies(sub, g, name, strings.ToLower(rest[1]))
		}
		return
	}
	if len(rest) != 0 {
		q.notFoundPath()
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		if !q.authorize(scope, "Microsoft.KeyVault/vaults/read") {
			return
		}
		v, err := q.vaultIn(sub, g, name)
		if err != nil {
			q.fail(err)
			return
		}
		httpx.WriteJSON(q.w, http.StatusOK, q.vaultJSON(v))
	case http.MethodPut:
		if q.authorize(scope, "Microsoft.KeyVault/vaults/write") {
			q.putVault(sub, g, name)
		}
	case http.MethodPatch:
		if q.authorize(scope, "Microsoft.KeyVault/vaults/write") {
			q.patchVault(sub, g, name)
		}
	case http.MethodDelete:
		if !q.authorize(scope, "Microsoft.KeyVault/vaults/delete") {
			return
		}
		v, err := q.vaultIn(sub, g, name)
		if err != nil {
			q.w.WriteHeader(http.StatusNoContent)
			return
		}
		if err := q.h.Vaults.DeleteVault(q.ctx(), v.Name); err != nil {
			q.fail(err)
			return
		}
		q.w.WriteHeader(http.StatusOK)
	default:
		q.method()
	}
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// normTenant maps a tenant id of a request onto the deployment's tenant:
// "adfs" (the pseudo-tenant of `arca env`) is this tenant.
func (q *armRequest) normTenant(t, field string) (string, error) {
	if eq(t, "adfs") || eq(t, q.tenant) {
		return q.tenant, nil
	}
	if !guidRE.MatchString(t) {
		return "", arca.Errorf(arca.KindInvalid, "BadRequest", "Invalid value for %s: '%s' is not a valid tenant id.", field, t)
	}
	return "", arca.Errorf(arca.KindInvalid, "BadRequest", "The tenant '%s' given in %s is not the tenant of this deployment (%s).", t, field, q.tenant)
}

func (q *armRequest) normPolicies(in []arca.AccessPolicy) ([]arca.AccessPolicy, error) {
	if len(in) > 1024 {
		return nil, arca.Errorf(arca.KindInvalid, "BadRequest", "A vault can have at most 1024 access policies.")
	}
	out := make([]arca.AccessPolicy, 0, len(in))
	for i, p := range in {
		t, err := q.normTenant(p.TenantID, "accessPolicies.tenantId")
		if err != nil {
			return nil, err
		}
		if p.ObjectID == "" {
			return nil, arca.Errorf(arca.KindInvalid, "BadRequest", "Access policy %d: objectId is required.", i)
		}
		p.TenantID = t
		out = append(out, p)
	}
	return out, nil
}

// apply sets the properties present in p onto v.
func (q *armRequest) apply(v *arca.Vault, p *armVaultProps, creating bool) error {
	if p.TenantID != nil {
		t, err := q.normTenant(*p.TenantID, "properties.tenantId")
		if err != nil {
			return err
		}
		v.TenantID = t
	}
	if p.SKU != nil {
		name := strings.ToLower(p.SKU.Name)
		if name != "standard" && name != "premium" {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The SKU name '%s' is invalid: use 'standard' or 'premium'.", p.SKU.Name)
		}
		if p.SKU.Family != "" && !eq(p.SKU.Family, "A") {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The SKU family '%s' is invalid: use 'A'.", p.SKU.Family)
		}
		v.SKU = name
	}
	if p.AccessPolicies != nil {
		pols, err := q.normPolicies(*p.AccessPolicies)
		if err != nil {
			return err
		}
		v.AccessPolicies = pols
	}
	if p.EnabledForDeployment != nil {
		v.EnabledForDeployment = *p.EnabledForDeployment
	}
	if p.EnabledForDiskEncryption != nil {
		v.EnabledForDiskEncryption = *p.EnabledForDiskEncryption
	}
	if p.EnabledForTemplateDeployment != nil {
		v.EnabledForTemplateDeployment = *p.EnabledForTemplateDeployment
	}
	if p.EnableSoftDelete != nil {
		if !creating && v.SoftDeleteEnabled() && !*p.EnableSoftDelete {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enableSoftDelete\" cannot be set to false once it has been enabled.")
		}
		b := *p.EnableSoftDelete
		v.EnableSoftDelete = &b
	}
	if p.SoftDeleteRetentionInDays != nil {
		d := *p.SoftDeleteRetentionInDays
		if d < 7 || d > 90 {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The soft delete retention period must be between 7 and 90 days.")
		}
		// Once set, the retention cannot change (Azure's error text); the
		// same value again is accepted.
		if !creating && v.RetentionDays != 0 && d != v.RetentionDays {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"softDeleteRetentionInDays\" has been set already and it can't be modified.")
		}
		v.RetentionDays = d
	}
	if p.EnableRbacAuthorization != nil {
		v.EnableRBAC = *p.EnableRbacAuthorization
	}
	if p.EnablePurgeProtection != nil {
		if v.PurgeProtection && !*p.EnablePurgeProtection {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.")
		}
		if *p.EnablePurgeProtection {
			if !v.SoftDeleteEnabled() {
				return arca.Errorf(arca.KindInvalid, "BadRequest", "Purge protection requires soft delete to be enabled.")
			}
			v.PurgeProtection = true
		}
	}
	if len(p.NetworkAcls) > 0 && string(p.NetworkAcls) != "null" {
		v.NetworkACLs = append(json.RawMessage(nil), p.NetworkAcls...)
	}
	if p.PublicNetworkAccess != nil {
		v.PublicNetworkAccess = *p.PublicNetworkAccess
	}
	return nil
}

// decodeARMBody decodes a JSON body, accepting snake_case member names
// (tenant_id, access_policies, …) besides ARM's camelCase: today's
// azure-mgmt-keyvault sends a plain dict as it is, and the documented
// examples write the model attribute names. Tags are left untouched.
func decodeARMBody(r *http.Request, v any) error {
	var raw map[string]any
	if err := httpx.DecodeBody(r, maxARMBody, &raw); err != nil {
		return err
	}
	b, err := json.Marshal(camelKeys(raw, ""))
	if err != nil {
		return arca.Internal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return arca.Errorf(arca.KindInvalid, "BadRequest", "The request body is not a valid %T: %v", v, err)
	}
	return nil
}

func camelKeys(v any, parent string) any {
	switch x := v.(type) {
	case map[string]any:
		if parent == "tags" {
			return x
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			ck := k
			if strings.Contains(k, "_") {
				parts := strings.Split(k, "_")
				for i := 1; i < len(parts); i++ {
					if parts[i] != "" {
						parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
					}
				}
				ck = strings.Join(parts, "")
				if _, dup := x[ck]; dup {
					continue // the camelCase member wins
				}
			}
			out[ck] = camelKeys(val, ck)
		}
		return out
	case []any:
		for i := range x {
			x[i] = camelKeys(x[i], parent)
		}
		return x
	}
	return v
}

func (q *armRequest) putVault(sub *management.Subscription, g *management.ResourceGroup, name string) {
	var body armVaultBody
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	if body.Properties == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The 'properties' member of the request body is required."))
		return
	}
	if body.Location == "" {
		q.fail(arca.Errorf(arca.KindInvalid, "LocationRequired", "The location property is required for this definition."))
		return
	}
	location := strings.ToLower(strings.ReplaceAll(body.Location, " ", ""))
	ctx := q.ctx()
	p := body.Properties
	recover := p.CreateMode != nil && eq(*p.CreateMode, "recover")
	// An existing vault is changed inside the vault service's transaction,
	// on its stored state (see updateVaultIn). Neither fn nor the service's
	// checks answer KindNotFound: that is the service's "no such vault".
	v, err := q.h.Vaults.Update(ctx, name, func(v *arca.Vault) error {
		if !eq(v.Subscription, sub.ID) || !eq(v.ResourceGroup, g.Name) {
			return arca.Errorf(arca.KindConflict, "VaultAlreadyExists", "The vault name '%s' is already in use. Vault names are globally unique so it is possible that the name is already taken.", name)
		}
		if !eq(v.Location, location) {
			return arca.Errorf(arca.KindInvalid, "LocationNotAvailableForResourceType", "The vault '%s' exists in location '%s'; its location cannot be changed to '%s'.", name, v.Location, location)
		}
		if err := q.apply(v, p, false); err != nil {
			return err
		}
		if p.AccessPolicies == nil {
			v.AccessPolicies = nil // PUT replaces the resource
		}
		v.Tags = body.Tags
		return nil
	})
	switch {
	case err == nil:
		httpx.WriteJSON(q.w, http.StatusOK, q.vaultJSON(v))
		return
	case arca.KindOf(err) != arca.KindNotFound:
		q.fail(err)
		return
	}
	if recover {
		d, err := q.h.Vaults.DeletedVault(ctx, name)
		if err != nil || !eq(d.Vault.Subscription, sub.ID) {
			q.fail(arca.Errorf(arca.KindNotFound, "DeletedVaultNotFound", "The vault '%s' was not found in the deleted state of subscription '%s'.", name, sub.ID))
			return
		}
		if _, err := q.h.Vaults.RecoverDeletedVault(ctx, name); err != nil {
			q.fail(err)
			return
		}
		p.CreateMode = nil
		v, err := q.h.Vaults.Update(ctx, name, func(v *arca.Vault) error {
			v.ResourceGroup, v.Location = g.Name, location
			if body.Tags != nil {
				v.Tags = body.Tags
			}
			return q.apply(v, p, false)
		})
		if err != nil {
			q.fail(err)
			return
		}
		httpx.WriteJSON(q.w, http.StatusOK, q.vaultJSON(v))
		return
	}
	if p.TenantID == nil || p.SKU == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The properties 'tenantId' and 'sku' are required to create a vault."))
		return
	}
	v = &arca.Vault{Name: name, Subscription: sub.ID, ResourceGroup: g.Name, Location: location, Tags: body.Tags,
		RetentionDays: arca.DefaultRetentionDays}
	if err := q.apply(v, p, true); err != nil {
		q.fail(err)
		return
	}
	if err := q.h.Vaults.CreateVault(ctx, v); err != nil {
		q.fail(err)
		return
	}
	httpx.WriteJSON(q.w, http.StatusOK, q.vaultJSON(v))
}

func (q *armRequest) patchVault(sub *management.Subscription, g *management.ResourceGroup, name string) {
	var body armVaultBody
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	v, err := q.updateVaultIn(sub, g, name, func(v *arca.Vault) error {
		if body.Properties != nil {
			if err := q.apply(v, body.Properties, false); err != nil {
				return err
			}
		}
		if body.Tags != nil {
			v.Tags = body.Tags
		}
		return nil
	})
	if err != nil {
		q.fail(err)
		return
	}
	httpx.WriteJSON(q.w, http.StatusOK, q.vaultJSON(v))
}

func samePolicyTarget(a, b arca.AccessPolicy) bool {
	return eq(a.TenantID, b.TenantID) && eq(a.ObjectID, b.ObjectID) && eq(a.ApplicationID, b.ApplicationID)
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			if eq(x, y) {
				found = true
			}
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		keep := true
		for _, y := range b {
			if eq(x, y) {
				keep = false
			}
		}
		if keep {
			out = append(out, x)
		}
	}
	return out
}

// accessPolicies serves PUT …/vaults/{name}/accessPolicies/{add|replace|remove}.
func (q *armRequest) accessPolicies(sub *management.Subscription, g *management.ResourceGroup, name, kind string) {
	if kind != "add" && kind != "replace" && kind != "remove" {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The access policy operation '%s' is invalid: use add, replace or remove.", kind))
		return
	}
	var body struct {
		Properties *struct {
			AccessPolicies []arca.AccessPolicy `json:"accessPolicies"`
		} `json:"properties"`
	}
	if err := decodeARMBody(q.r, &body); err != nil {
		q.fail(err)
		return
	}
	if body.Properties == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The 'properties.accessPolicies' member is required."))
		return
	}
	in, err := q.normPolicies(body.Properties.AccessPolicies)
	if err != nil {
		q.fail(err)
		return
	}
	v, err := q.updateVaultIn(sub, g, name, func(v *arca.Vault) error {
		pols := append([]arca.AccessPolicy(nil), v.AccessPolicies...)
		for _, p := range in {
			idx := -1
			for i := range pols {
				if samePolicyTarget(pols[i], p) {
					idx = i
				}
			}
			switch {
			case kind == "remove" && idx >= 0:
				e := &pols[idx]
				e.Permissions.Keys = minus(e.Permissions.Keys, p.Permissions.Keys)
				e.Permissions.Secrets = minus(e.Permissions.Secrets, p.Permissions.Secrets)
				e.Permissions.Certificates = minus(e.Permissions.Certificates, p.Permissions.Certificates)
				e.Permissions.Storage = minus(e.Permissions.Storage, p.Permissions.Storage)
				if len(e.Permissions.Keys)+len(e.Permissions.Secrets)+len(e.Permissions.Certificates)+len(e.Permissions.Storage) == 0 {
					pols = append(pols[:idx], pols[idx+1:]...)
				}
			case kind == "remove":
			case idx < 0:
				pols = append(pols, p)
			case kind == "replace":
				pols[idx] = p
			default:
				e := &pols[idx]
				e.Permissions.Keys = union(e.Permissions.Keys, p.Permissions.Keys)
				e.Permissions.Secrets = union(e.Permissions.Secrets, p.Permissions.Secrets)
				e.Permissions.Certificates = union(e.Permissions.Certificates, p.Permissions.Certificates)
				e.Permissions.Storage = union(e.Permissions.Storage, p.Permissions.Storage)
			}
		}
		if len(pols) > 1024 {
			return arca.Errorf(arca.KindInvalid, "BadRequest", "A vault can have at most 1024 access policies.")
		}
		v.AccessPolicies = pols
		return nil
	})
	if err != nil {
		q.fail(err)
		return
	}
	if in == nil {
		in = []arca.AccessPolicy{}
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"id": vaultID(v) + "/accessPolicies/" + kind, "name": kind,
		"type": "Microsoft.KeyVault/vaults/accessPolicies", "location": v.Location,
		"properties": map[string]any{"accessPolicies": in}})
}
