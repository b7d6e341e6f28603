package keyvault

import (
	"context"
	"net/http"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// Wire shapes of the secrets API (ARS data-plane Secrets 2026-04-01). Field
// order follows the real service's responses.

type attributesJSON struct {
	Enabled         bool   `json:"enabled"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created"`
	Updated         int64  `json:"updated"`
	RecoveryLevel   string `json:"recoveryLevel"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

type secretBundle struct {
	Value       *string           `json:"value,omitempty"`
	ContentType *string           `json:"contentType,omitempty"`
	ID          string            `json:"id"`
	Managed     bool              `json:"managed,omitempty"`
	KeyID       string            `json:"kid,omitempty"`
	Attributes  attributesJSON    `json:"attributes"`
	Tags        map[string]string `json:"tags,omitempty"`
}

type deletedSecretBundle struct {
	RecoveryID         string            `json:"recoveryId"`
	DeletedDate        int64             `json:"deletedDate"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate"`
	ContentType        *string           `json:"contentType,omitempty"`
	ID                 string            `json:"id"`
	Managed            bool              `json:"managed,omitempty"`
	KeyID              string            `json:"kid,omitempty"`
	Attributes         attributesJSON    `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
}

type attributesIn struct {
	Enabled   *bool          `json:"enabled"`
	NotBefore httpx.OptInt64 `json:"nbf"`
	Expires   httpx.OptInt64 `json:"exp"`
}

type secretSetIn struct {
	Value       *string           `json:"value"`
	ContentType *string           `json:"contentType"`
	Attributes  *attributesIn     `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

type secretUpdateIn struct {
	ContentType *string           `json:"contentType"`
	Attributes  *attributesIn     `json:"attributes"`
	Tags        map[string]string `json:"tags"`
}

type valueIn struct {
	Value *string `json:"value"`
}

type valueOut struct {
	Value string `json:"value"`
}

func (q *vaultRequest) attributes(a arca.Attributes) attributesJSON {
	out := attributesJSON{
		Enabled: a.IsEnabled(), NotBefore: a.NotBefore, Expires: a.Expires,
		Created: a.Created, Updated: a.Updated, RecoveryLevel: q.vault.RecoveryLevel(),
	}
	if q.level >= level71 {
		d := q.vault.RetentionDays
		out.RecoverableDays = &d
	}
	return out
}

func (q *vaultRequest) secretID(name, version string) string {
	id := q.baseURL() + "/secrets/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

// bundle renders a version; withValue includes the value.
func (q *vaultRequest) bundle(sv *arca.SecretVersion, withValue bool) secretBundle {
	b := secretBundle{
		ContentType: sv.ContentType, ID: q.secretID(sv.Name, sv.Version), Managed: sv.Managed, KeyID: sv.KeyID,
		Attributes: q.attributes(sv.Attributes), Tags: sv.Tags,
	}
	if withValue {
		v := sv.Value
		b.Value = &v
	}
	return b
}

// item renders a list item: the id has no version.
func (q *vaultRequest) item(sv *arca.SecretVersion) secretBundle {
	b := q.bundle(sv, false)
	b.ID, b.KeyID = q.secretID(sv.Name, ""), ""
	return b
}

func (q *vaultRequest) deletedBundle(d *arca.DeletedSecret, versioned bool) deletedSecretBundle {
	id := q.secretID(d.Name, d.Version)
	kid := d.KeyID
	if !versioned {
		id, kid = q.secretID(d.Name, ""), ""
	}
	return deletedSecretBundle{
		RecoveryID: q.baseURL() + "/deletedsecrets/" + d.Name, DeletedDate: d.DeletedDate, ScheduledPurgeDate: d.ScheduledPurgeDate,
		ContentType: d.ContentType, ID: id, Managed: d.Managed, KeyID: kid, Attributes: q.attributes(d.Attributes), Tags: d.Tags,
	}
}

func (q *vaultRequest) routeSecrets() {
	segs, m := q.segs, q.r.Method
	deleted := strings.EqualFold(segs[0], "deletedsecrets")
	n := len(segs)
	switch {
	case !deleted && n == 1:
		if m != http.MethodGet {
			q.fail(methodNotAllowed(m))
			return
		}
		q.listSecrets()
	case !deleted && n == 2 && strings.EqualFold(segs[1], "restore") && m == http.MethodPost:
		q.restoreSecret()
	case !deleted && n == 2 && segs[1] == "":
		q.fail(methodNotAllowed(m))
	case !deleted && n == 2:
		switch m {
		case http.MethodPut:
			q.setSecret(segs[1])
		case http.MethodGet:
			q.getSecret(segs[1], "")
		case http.MethodPatch:
			q.updateSecret(segs[1], "")
		case http.MethodDelete:
			q.deleteSecret(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case !deleted && n == 3 && strings.EqualFold(segs[2], "versions"):
		if m != http.MethodGet {
			q.fail(methodNotAllowed(m))
			return
		}
		q.listVersions(segs[1])
	case !deleted && n == 3 && strings.EqualFold(segs[2], "backup") && m == http.MethodPost:
		q.backupSecret(segs[1])
	case !deleted && n == 3:
		switch m {
		case http.MethodGet:
			q.getSecret(segs[1], segs[2])
		case http.MethodPatch:
			q.updateSecret(segs[1], segs[2])
		default:
			q.fail(methodNotAllowed(m))
		}
	case deleted && n == 1:
		if m != http.MethodGet {
			q.fail(methodNotAllowed(m))
			return
		}
		q.listDeleted()
	case deleted && n == 2 && segs[1] != "":
		switch m {
		case http.MethodGet:
			q.getDeleted(segs[1])
		case http.MethodDelete:
			q.purgeSecret(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case deleted && n == 3 && strings.EqualFold(segs[2], "recover"):
		if m != http.MethodPost {
			q.fail(methodNotAllowed(m))
			return
		}
		q.recoverSecret(segs[1])
	default:
		q.fail(arca.Errorf(arca.KindNotFound, "NotFound", "The requested resource was not found."))
	}
}

func (q *vaultRequest) setSecret(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretSet, name) {
		return
	}
	var in secretSetIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Value == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property value is required and must be a string."))
		return
	}
	set := arca.SecretSet{Value: *in.Value, ContentType: in.ContentType, Tags: in.Tags}
	if a := in.Attributes; a != nil {
		set.Enabled, set.NotBefore, set.Expires = a.Enabled, a.NotBefore.Ptr(), a.Expires.Ptr()
	}
	sv, err := q.h.Secrets.SetSecret(q.r.Context(), q.vault, name, set)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.bundle(sv, true))
}

func (q *vaultRequest) getSecret(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretGet, name) {
		return
	}
	if version != "" && !arca.ValidVersion(version) {
		q.fail(arca.Errorf(arca.KindNotFound, "SecretNotFound", "A secret with (name/id) %s/%s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name, version))
		return
	}
	sv, err := q.h.Secrets.GetSecret(q.r.Context(), q.vault, name, version)
	if err != nil {
		q.fail(err)
		return
	}
	if oct := q.query.Get("outContentType"); oct != "" && q.level >= level2025 {
		if oct != "application/x-pkcs12" && oct != "application/x-pem-file" {
			q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "The value of outContentType must be application/x-pkcs12 or application/x-pem-file."))
			return
		}
		ct := ""
		if sv.ContentType != nil {
			ct = *sv.ContentType
		}
		if oct != ct {
			q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Conversion of the secret's content type to %s is not supported; only certificate-backed PFX secrets can be converted to PEM.", oct))
			return
		}
	}
	q.ok(q.bundle(sv, true))
}

func (q *vaultRequest) updateSecret(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretUpdate, name) {
		return
	}
	var in secretUpdateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	u := arca.SecretUpdate{ContentType: in.ContentType, Tags: in.Tags}
	if a := in.Attributes; a != nil {
		u.Enabled, u.NotBefore, u.Expires = a.Enabled, a.NotBefore.Ptr(), a.Expires.Ptr()
		u.ClearNotBefore, u.ClearExpires = a.NotBefore.Null, a.Expires.Null
	}
	if version != "" && !arca.ValidVersion(version) {
		q.fail(arca.Errorf(arca.KindNotFound, "SecretNotFound", "A secret with (name/id) %s/%s was not found in this key vault.", name, version))
		return
	}
	sv, err := q.h.Secrets.UpdateSecret(q.r.Context(), q.vault, name, version, u)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.bundle(sv, false))
}

func (q *vaultRequest) listSecrets() {
	if !q.authorize(arca.OpSecretList, "") {
		return
	}
	list(q, "/secrets", func(ctx context.Context, max int, tok string) (arca.Page[*arca.SecretVersion], error) {
		return q.h.Secrets.ListSecrets(ctx, q.vault, max, tok)
	}, q.item)
}

func (q *vaultRequest) listVersions(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretListVersions, name) {
		return
	}
	list(q, "/secrets/"+name+"/versions", func(ctx context.Context, max int, tok string) (arca.Page[*arca.SecretVersion], error) {
		return q.h.Secrets.ListSecretVersions(ctx, q.vault, name, max, tok)
	}, func(sv *arca.SecretVersion) secretBundle {
		b := q.bundle(sv, false)
		b.KeyID = ""
		return b
	})
}

func (q *vaultRequest) deleteSecret(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretDelete, name) {
		return
	}
	d, err := q.h.Secrets.DeleteSecret(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedBundle(d, true))
}

func (q *vaultRequest) getDeleted(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretGetDeleted, name) {
		return
	}
	d, err := q.h.Secrets.GetDeletedSecret(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedBundle(d, true))
}

func (q *vaultRequest) listDeleted() {
	if !q.authorize(arca.OpSecretListDeleted, "") {
		return
	}
	list(q, "/deletedsecrets", func(ctx context.Context, max int, tok string) (arca.Page[*arca.DeletedSecret], error) {
		return q.h.Secrets.ListDeletedSecrets(ctx, q.vault, max, tok)
	}, func(d *arca.DeletedSecret) deletedSecretBundle { return q.deletedBundle(d, false) })
}

func (q *vaultRequest) recoverSecret(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretRecover, name) {
		return
	}
	sv, err := q.h.Secrets.RecoverSecret(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.bundle(sv, false))
}

func (q *vaultRequest) purgeSecret(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpSecretPurge, name) {
		return
	}
	if err := q.h.Secrets.PurgeSecret(q.r.Context(), q.vault, name); err != nil {
		q.fail(err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (q *vaultRequest) backupSecret(name string) {
	q.backup(arca.OpSecretBackup, name, func(ctx context.Context) ([]byte, error) { return q.h.Secrets.BackupSecret(ctx, q.vault, name) })
}

func (q *vaultRequest) restoreSecret() {
	blob, ok := q.restoreBlob(arca.OpSecretRestore)
	if !ok {
		return
	}
	sv, err := q.h.Secrets.RestoreSecret(q.r.Context(), q.vault, blob)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.bundle(sv, false))
}
