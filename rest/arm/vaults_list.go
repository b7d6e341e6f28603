package arm

// The Resource Manager: vault lists, deleted vaults and name checks.

import (
	"net/http"
	"sort"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/management"
	"github.com/arcakv/arca/rest/httpx"
)

func (q *armRequest) listVaults(sub, group string) {
	vs, err := q.h.Vaults.ListVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	out := []any{}
	for _, v := range vs {
		if eq(v.Subscription, sub) && (group == "" || eq(v.ResourceGroup, group)) {
			out = append(out, q.vaultJSON(v))
		}
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

func deletedVaultJSON(d *arca.DeletedVault) map[string]any {
	v := &d.Vault
	return map[string]any{
		"id":   "/subscriptions/" + v.Subscription + "/providers/" + kvNamespace + "/locations/" + v.Location + "/deletedVaults/" + v.Name,
		"name": v.Name, "type": "Microsoft.KeyVault/deletedVaults",
		"properties": map[string]any{"vaultId": vaultID(v), "location": v.Location,
			"deletionDate": d.DeletionDate.UTC().Format(time.RFC3339), "scheduledPurgeDate": d.ScheduledPurgeDate.UTC().Format(time.RFC3339),
			"tags": tagsOf(v), "purgeProtectionEnabled": v.PurgeProtection},
	}
}

func (q *armRequest) listDeletedVaults(sub string) {
	ds, err := q.h.Vaults.ListDeletedVaults(q.ctx())
	if err != nil {
		q.fail(err)
		return
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Vault.Name < ds[j].Vault.Name })
	out := []any{}
	for _, d := range ds {
		if eq(d.Vault.Subscription, sub) {
			out = append(out, deletedVaultJSON(d))
		}
	}
	httpx.WriteJSON(q.w, http.StatusOK, map[string]any{"value": out})
}

func (q *armRequest) deletedVault(sub *management.Subscription, location, name string, rest []string) {
	scope := "/subscriptions/" + sub.ID
	d, err := q.h.Vaults.DeletedVault(q.ctx(), name)
	if err == nil && (!eq(d.Vault.Subscription, sub.ID) || !eq(d.Vault.Location, location)) {
		err = arca.Errorf(arca.KindNotFound, "ResourceNotFound", "The deleted vault '%s' was not found in location '%s'.", name, location)
	}
	switch {
	case len(rest) == 0:
		if !q.method(http.MethodGet) || !q.authorize(scope, "Microsoft.KeyVault/deletedVaults/read") {
			return
		}
		if err != nil {
			q.fail(err)
			return
		}
		httpx.WriteJSON(q.w, http.StatusOK, deletedVaultJSON(d))
	case len(rest) == 1 && eq(rest[0], "purge"):
		if !q.method(http.MethodPost) || !q.authorize(scope, "Microsoft.KeyVault/locations/deletedVaults/purge/action") {
			return
		}
		if err != nil {
			q.fail(err)
			return
		}
		if err := q.h.Vaults.PurgeDeletedVault(q.ctx(), d.Vault.Name); err != nil {
			q.fail(err)
			return
		}
		q.w.WriteHeader(http.StatusOK)
	default:
		q.notFoundPath()
	}
}

// nameCheckBody is the body of a name availability check: Key Vault's
// VaultCheckNameAvailabilityParameters {name, type} or
// CheckMhsmNameAvailabilityParameters {name}.
type nameCheckBody struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// nameAvailable is a CheckNameAvailabilityResult (or
// CheckMhsmNameAvailabilityResult, the same shape): {"nameAvailable":true},
// or false with a reason (AccountNameInvalid, AlreadyExists) and a message.
func nameAvailable(ok bool, reason, message string) map[string]any {
	if ok {
		return map[string]any{"nameAvailable": true}
	}
	return map[string]any{"nameAvailable": false, "reason": reason, "message": message}
}

// checkName serves POST /subscriptions/{sub}/providers/Microsoft.KeyVault/
// checkNameAvailability: a vault name is free unless it breaks the naming
// rules or a vault, live or soft-deleted, holds it.
func (q *armRequest) checkName() {
	var body nameCheckBody
	if err := httpx.DecodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if !eq(body.Type, vaultType) {
		q.fail(arca.Errorf(arca.KindInvalid, "BadRequest", "The type '%s' is invalid: use '%s'.", body.Type, vaultType))
		return
	}
	httpx.WriteJSON(q.w, http.StatusOK, q.vaultNameAvailability(body.Name))
}

// vaultNameAvailability is the checkNameAvailability result for a vault name.
func (q *armRequest) vaultNameAvailability(name string) map[string]any {
	if !arca.ValidVaultName(name) {
		return nameAvailable(false, "AccountNameInvalid", "Vault name must only contain alphanumeric characters and dashes and cannot start with a number.")
	}
	if _, err := q.h.Vaults.Vault(q.ctx(), name); err == nil {
		return nameAvailable(false, "AlreadyExists",
			"The vault name '"+name+"' is already in use. Vault names are globally unique so it is possible that the name is already taken.")
	}
	if _, err := q.h.Vaults.DeletedVault(q.ctx(), name); err == nil {
		return nameAvailable(false, "AlreadyExists", "The vault name '"+name+"' is in use by a soft-deleted vault; recover or purge it first.")
	}
	return nameAvailable(true, "", "")
}

// checkMhsmName serves POST /subscriptions/{sub}/providers/Microsoft.KeyVault/
// checkMhsmNameAvailability (`az keyvault check-name --resource-type hsm`):
// Managed HSM names follow the vault naming rules (3-24 characters, letters,
// digits and hyphens, a letter first, a letter or digit last, no "--"), and
// Arca has no Managed HSM to hold one, so every valid name is available.
// Vault names are a separate namespace (a vault does not take an HSM name).
func (q *armRequest) checkMhsmName() {
	var body nameCheckBody
	if err := httpx.DecodeBody(q.r, maxARMBody, &body); err != nil {
		q.fail(err)
		return
	}
	if !arca.ValidVaultName(body.Name) {
		httpx.WriteJSON(q.w, http.StatusOK, nameAvailable(false, "AccountNameInvalid",
			"Managed HSM name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens."))
		return
	}
	httpx.WriteJSON(q.w, http.StatusOK, nameAvailable(true, "", ""))
}
