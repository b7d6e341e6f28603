package keyvault

import (
	"context"
	"net/http"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// Wire shapes of the keys API (ARS data-plane Keys 2026-04-01).

type jwkJSON struct {
	Kid    string       `json:"kid,omitempty"`
	Kty    string       `json:"kty"`
	KeyOps []string     `json:"key_ops"`
	N      httpx.B64URL `json:"n,omitempty"`
	E      httpx.B64URL `json:"e,omitempty"`
	Crv    string       `json:"crv,omitempty"`
	X      httpx.B64URL `json:"x,omitempty"`
	Y      httpx.B64URL `json:"y,omitempty"`
}

type keyAttributesJSON struct {
	attributesJSON
	Exportable  *bool  `json:"exportable,omitempty"`
	HSMPlatform string `json:"hsmPlatform,omitempty"`
}

type releasePolicyJSON struct {
	ContentType string       `json:"contentType,omitempty"`
	Immutable   *bool        `json:"immutable,omitempty"`
	Data        httpx.B64URL `json:"data"`
}

type keyBundle struct {
	Key           jwkJSON            `json:"key"`
	Attributes    keyAttributesJSON  `json:"attributes"`
	Tags          map[string]string  `json:"tags,omitempty"`
	Managed       bool               `json:"managed,omitempty"`
	ReleasePolicy *releasePolicyJSON `json:"release_policy,omitempty"`
}

type keyItem struct {
	Kid        string            `json:"kid"`
	Attributes keyAttributesJSON `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
	Managed    bool              `json:"managed,omitempty"`
}

type deletedKeyBundle struct {
	RecoveryID         string `json:"recoveryId"`
	DeletedDate        int64  `json:"deletedDate"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate"`
	keyBundle
}

type deletedKeyItem struct {
	RecoveryID         string `json:"recoveryId"`
	DeletedDate        int64  `json:"deletedDate"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate"`
	keyItem
}

type keyAttributesIn struct {
	attributesIn
	Exportable *bool `json:"exportable"`
}

type keyCreateIn struct {
	Kty            string             `json:"kty"`
	KeySize        int                `json:"key_size"`
	PublicExponent int                `json:"public_exponent"`
	KeyOps         []string           `json:"key_ops"`
	Attributes     *keyAttributesIn   `json:"attributes"`
	Tags           map[string]string  `json:"tags"`
	Crv            string             `json:"crv"`
	ReleasePolicy  *releasePolicyJSON `json:"release_policy"`
}

type jwkIn struct {
	Kty    string       `json:"kty"`
	KeyOps []string     `json:"key_ops"`
	N      httpx.B64URL `json:"n"`
	E      httpx.B64URL `json:"e"`
	D      httpx.B64URL `json:"d"`
	DP     httpx.B64URL `json:"dp"`
	DQ     httpx.B64URL `json:"dq"`
	QI     httpx.B64URL `json:"qi"`
	P      httpx.B64URL `json:"p"`
	Q      httpx.B64URL `json:"q"`
	K      httpx.B64URL `json:"k"`
	Crv    string       `json:"crv"`
	X      httpx.B64URL `json:"x"`
	Y      httpx.B64URL `json:"y"`
}

type keyImportIn struct {
	HSM           bool               `json:"Hsm"`
	Key           *jwkIn             `json:"key"`
	Attributes    *keyAttributesIn   `json:"attributes"`
	Tags          map[string]string  `json:"tags"`
	ReleasePolicy *releasePolicyJSON `json:"release_policy"`
}

type keyUpdateIn struct {
	KeyOps        []string           `json:"key_ops"`
	Attributes    *keyAttributesIn   `json:"attributes"`
	Tags          map[string]string  `json:"tags"`
	ReleasePolicy *releasePolicyJSON `json:"release_policy"`
}

type keyOpIn struct {
	Alg    *string       `json:"alg"`
	Value  *httpx.B64URL `json:"value"`
	Digest *httpx.B64URL `json:"digest"`
	IV     httpx.B64URL  `json:"iv"`
	AAD    httpx.B64URL  `json:"aad"`
	Tag    httpx.B64URL  `json:"tag"`
}

type keyOpOut struct {
	Kid   string       `json:"kid"`
	Value httpx.B64URL `json:"value"`
}

type lifetimeActionJSON struct {
	Trigger struct {
		TimeAfterCreate  string `json:"timeAfterCreate,omitempty"`
		TimeBeforeExpiry string `json:"timeBeforeExpiry,omitempty"`
	} `json:"trigger"`
	Action struct {
		Type string `json:"type"`
	} `json:"action"`
}

type rotationPolicyJSON struct {
	ID              string               `json:"id,omitempty"`
	LifetimeActions []lifetimeActionJSON `json:"lifetimeActions"`
	Attributes      struct {
		ExpiryTime string `json:"expiryTime,omitempty"`
		Created    int64  `json:"created,omitempty"`
		Updated    int64  `json:"updated,omitempty"`
	} `json:"attributes"`
}

func (q *vaultRequest) keyID(name, version string) string {
	id := q.baseURL() + "/keys/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

func (q *vaultRequest) keyAttributes(kv *arca.KeyVersion) keyAttributesJSON {
	a := keyAttributesJSON{attributesJSON: q.attributes(kv.Attributes), HSMPlatform: kv.HSMPlatform}
	if q.level >= level73 {
		e := kv.Exportable
		a.Exportable = &e
	}
	return a
}

func releaseOut(rp *arca.ReleasePolicy) *releasePolicyJSON {
	if rp == nil {
		return nil
	}
	out := &releasePolicyJSON{ContentType: rp.ContentType, Data: rp.Data}
	im := rp.Immutable
	out.Immutable = &im
	return out
}

func releaseIn(rp *releasePolicyJSON) *arca.ReleasePolicy {
	if rp == nil {
		return nil
	}
	out := &arca.ReleasePolicy{ContentType: rp.ContentType, Data: rp.Data}
	if rp.Immutable != nil {
		out.Immutable = *rp.Immutable
	}
	return out
}

func (q *vaultRequest) keyBundle(kv *arca.KeyVersion) keyBundle {
	k := kv.Key
	ops := k.KeyOps
	if ops == nil {
		ops = []string{}
	}
	return keyBundle{
		Key:        jwkJSON{Kid: q.keyID(kv.Name, kv.Version), Kty: k.Kty, KeyOps: ops, N: k.N, E: k.E, Crv: k.Crv, X: k.X, Y: k.Y},
		Attributes: q.keyAttributes(kv), Tags: kv.Tags, Managed: kv.Managed, ReleasePolicy: releaseOut(kv.ReleasePolicy),
	}
}

func (q *vaultRequest) keyItem(kv *arca.KeyVersion, versioned bool) keyItem {
	v := ""
	if versioned {
		v = kv.Version
	}
	return keyItem{Kid: q.keyID(kv.Name, v), Attributes: q.keyAttributes(kv), Tags: kv.Tags, Managed: kv.Managed}
}

func (q *vaultRequest) deletedKey(d *arca.DeletedKey) deletedKeyBundle {
	return deletedKeyBundle{RecoveryID: q.baseURL() + "/deletedkeys/" + d.Name, DeletedDate: d.DeletedDate,
		ScheduledPurgeDate: d.ScheduledPurgeDate, keyBundle: q.keyBundle(&d.KeyVersion)}
}

// cryptoOps are the POST operations on a key version; keyOpName maps the
// path segment to the key_ops name.
var cryptoOps = map[string]string{
	"encrypt": "encrypt", "decrypt": "decrypt", "sign": "sign", "verify": "verify",
	"wrapkey": "wrapKey", "unwrapkey": "unwrapKey", "release": "release",
}

func (q *vaultRequest) routeKeys() {
	segs, m := q.segs, q.r.Method
	deleted := strings.EqualFold(segs[0], "deletedkeys")
	n := len(segs)
	lit := func(i int) string { return strings.ToLower(segs[i]) }
	switch {
	case !deleted && n == 1:
		q.only(m, http.MethodGet, q.listKeys)
	case !deleted && n == 2 && lit(1) == "restore" && m == http.MethodPost:
		q.restoreKey()
	case !deleted && n == 2 && segs[1] == "":
		q.fail(methodNotAllowed(m))
	case !deleted && n == 2:
		switch m {
		case http.MethodPut:
			q.importKey(segs[1])
		case http.MethodGet:
			q.getKey(segs[1], "")
		case http.MethodPatch:
			q.updateKey(segs[1], "")
		case http.MethodDelete:
			q.deleteKey(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case !deleted && n == 3 && lit(2) == "create":
		q.only(m, http.MethodPost, func() { q.createKey(segs[1]) })
	case !deleted && n == 3 && lit(2) == "versions":
		q.only(m, http.MethodGet, func() { q.listKeyVersions(segs[1]) })
	case !deleted && n == 3 && lit(2) == "backup":
		q.only(m, http.MethodPost, func() { q.backupKey(segs[1]) })
	case !deleted && n == 3 && lit(2) == "rotate":
		q.only(m, http.MethodPost, func() { q.rotateKey(segs[1]) })
	case !deleted && n == 3 && lit(2) == "rotationpolicy":
		switch m {
		case http.MethodGet:
			q.getRotationPolicy(segs[1])
		case http.MethodPut:
			q.setRotationPolicy(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case !deleted && n == 3 && cryptoOps[lit(2)] != "" && m == http.MethodPost:
		q.keyOp(segs[1], "", cryptoOps[lit(2)])
	case !deleted && n == 3:
		switch m {
		case http.MethodGet:
			q.getKey(segs[1], segs[2])
		case http.MethodPatch:
			q.updateKey(segs[1], segs[2])
		default:
			q.fail(methodNotAllowed(m))
		}
	case !deleted && n == 4 && cryptoOps[lit(3)] != "":
		q.only(m, http.MethodPost, func() { q.keyOp(segs[1], segs[2], cryptoOps[lit(3)]) })
	case deleted && n == 1:
		q.only(m, http.MethodGet, q.listDeletedKeys)
	case deleted && n == 2 && segs[1] != "":
		switch m {
		case http.MethodGet:
			q.getDeletedKey(segs[1])
		case http.MethodDelete:
			q.purgeKey(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case deleted && n == 3 && lit(2) == "recover":
		q.only(m, http.MethodPost, func() { q.recoverKey(segs[1]) })
	default:
		q.fail(arca.Errorf(arca.KindNotFound, "NotFound", "The requested resource was not found."))
	}
}

// only runs fn when the method matches, else answers 405.
func (q *vaultRequest) only(method, want string, fn func()) {
	if method != want {
		q.fail(methodNotAllowed(method))
		return
	}
	fn()
}

// keyVersionOK rejects malformed versions with the key's 404.
func (q *vaultRequest) keyVersionOK(name, version string) bool {
	if version != "" && !arca.ValidVersion(version) {
		q.fail(arca.Errorf(arca.KindNotFound, "KeyNotFound", "A key with (name/id) %s/%s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name, version))
		return false
	}
	return true
}

func attrsOf(a *keyAttributesIn) (en *bool, nbf, exp *int64, exportable *bool) {
	if a == nil {
		return nil, nil, nil, nil
	}
	return a.Enabled, a.NotBefore.Ptr(), a.Expires.Ptr(), a.Exportable
}

func (q *vaultRequest) createKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyCreate, name) {
		return
	}
	var in keyCreateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	c := arca.KeyCreate{Kty: in.Kty, Size: in.KeySize, PublicExponent: in.PublicExponent, Curve: in.Crv, KeyOps: in.KeyOps,
		Tags: in.Tags, ReleasePolicy: releaseIn(in.ReleasePolicy)}
	c.Enabled, c.NotBefore, c.Expires, c.Exportable = attrsOf(in.Attributes)
	kv, err := q.h.Keys.CreateKey(q.r.Context(), q.vault, name, c)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) importKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyImport, name) {
		return
	}
	var in keyImportIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Key == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property key is required."))
		return
	}
	j := in.Key
	if len(j.K) > 0 {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Key type %s is not supported in a key vault: symmetric keys are only available in Managed HSM.", j.Kty))
		return
	}
	imp := arca.KeyImport{HSM: in.HSM, Tags: in.Tags, ReleasePolicy: releaseIn(in.ReleasePolicy),
		Key: arca.JSONWebKey{Kty: j.Kty, KeyOps: j.KeyOps, N: j.N, E: j.E, Crv: j.Crv, X: j.X, Y: j.Y,
			D: j.D, P: j.P, Q: j.Q, DP: j.DP, DQ: j.DQ, QI: j.QI}}
	imp.Enabled, imp.NotBefore, imp.Expires, imp.Exportable = attrsOf(in.Attributes)
	kv, err := q.h.Keys.ImportKey(q.r.Context(), q.vault, name, imp)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) getKey(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyGet, name) || !q.keyVersionOK(name, version) {
		return
	}
	kv, err := q.h.Keys.GetKey(q.r.Context(), q.vault, name, version)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) updateKey(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyUpdate, name) {
		return
	}
	var in keyUpdateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if !q.keyVersionOK(name, version) {
		return
	}
	u := arca.KeyUpdate{KeyOps: in.KeyOps, Tags: in.Tags, ReleasePolicy: releaseIn(in.ReleasePolicy)}
	if a := in.Attributes; a != nil {
		u.Attr = arca.SecretUpdate{Enabled: a.Enabled, NotBefore: a.NotBefore.Ptr(), Expires: a.Expires.Ptr(),
			ClearNotBefore: a.NotBefore.Null, ClearExpires: a.Expires.Null}
	}
	kv, err := q.h.Keys.UpdateKey(q.r.Context(), q.vault, name, version, u)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) listKeys() {
	if !q.authorize(arca.OpKeyList, "") {
		return
	}
	list(q, "/keys", func(ctx context.Context, max int, tok string) (arca.Page[*arca.KeyVersion], error) {
		return q.h.Keys.ListKeys(ctx, q.vault, max, tok)
	}, func(kv *arca.KeyVersion) keyItem { return q.keyItem(kv, false) })
}

func (q *vaultRequest) listKeyVersions(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyListVersions, name) {
		return
	}
	list(q, "/keys/"+name+"/versions", func(ctx context.Context, max int, tok string) (arca.Page[*arca.KeyVersion], error) {
		return q.h.Keys.ListKeyVersions(ctx, q.vault, name, max, tok)
	}, func(kv *arca.KeyVersion) keyItem { return q.keyItem(kv, true) })
}

func (q *vaultRequest) deleteKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyDelete, name) {
		return
	}
	d, err := q.h.Keys.DeleteKey(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedKey(d))
}

func (q *vaultRequest) getDeletedKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyGetDeleted, name) {
		return
	}
	d, err := q.h.Keys.GetDeletedKey(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedKey(d))
}

func (q *vaultRequest) listDeletedKeys() {
	if !q.authorize(arca.OpKeyListDeleted, "") {
		return
	}
	list(q, "/deletedkeys", func(ctx context.Context, max int, tok string) (arca.Page[*arca.DeletedKey], error) {
		return q.h.Keys.ListDeletedKeys(ctx, q.vault, max, tok)
	}, func(d *arca.DeletedKey) deletedKeyItem {
		return deletedKeyItem{RecoveryID: q.baseURL() + "/deletedkeys/" + d.Name, DeletedDate: d.DeletedDate,
			ScheduledPurgeDate: d.ScheduledPurgeDate, keyItem: q.keyItem(&d.KeyVersion, false)}
	})
}

func (q *vaultRequest) recoverKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyRecover, name) {
		return
	}
	kv, err := q.h.Keys.RecoverKey(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) purgeKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyPurge, name) {
		return
	}
	if err := q.h.Keys.PurgeKey(q.r.Context(), q.vault, name); err != nil {
		q.fail(err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (q *vaultRequest) backupKey(name string) {
	q.backup(arca.OpKeyBackup, name, func(ctx context.Context) ([]byte, error) { return q.h.Keys.BackupKey(ctx, q.vault, name) })
}

func (q *vaultRequest) restoreKey() {
	blob, ok := q.restoreBlob(arca.OpKeyRestore)
	if !ok {
		return
	}
	kv, err := q.h.Keys.RestoreKey(q.r.Context(), q.vault, blob)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) rotateKey(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyRotate, name) {
		return
	}
	kv, err := q.h.Keys.RotateKey(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.keyBundle(kv))
}

func (q *vaultRequest) policyOut(name string, p *arca.RotationPolicy) rotationPolicyJSON {
	out := rotationPolicyJSON{ID: q.keyID(name, "") + "/rotationpolicy", LifetimeActions: []lifetimeActionJSON{}}
	for _, a := range p.LifetimeActions {
		var la lifetimeActionJSON
		la.Trigger.TimeAfterCreate, la.Trigger.TimeBeforeExpiry, la.Action.Type = a.TimeAfterCreate, a.TimeBeforeExpiry, a.Action
		out.LifetimeActions = append(out.LifetimeActions, la)
	}
	out.Attributes.ExpiryTime, out.Attributes.Created, out.Attributes.Updated = p.ExpiryTime, p.Created, p.Updated
	return out
}

func (q *vaultRequest) getRotationPolicy(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyRotationPolicyGet, name) {
		return
	}
	p, err := q.h.Keys.GetRotationPolicy(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.policyOut(name, p))
}

func (q *vaultRequest) setRotationPolicy(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpKeyRotationPolicySet, name) {
		return
	}
	var in rotationPolicyJSON
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	p := arca.RotationPolicy{ExpiryTime: in.Attributes.ExpiryTime}
	for _, a := range in.LifetimeActions {
		p.LifetimeActions = append(p.LifetimeActions, arca.LifetimeAction{TimeAfterCreate: a.Trigger.TimeAfterCreate,
			TimeBeforeExpiry: a.Trigger.TimeBeforeExpiry, Action: a.Action.Type})
	}
	out, err := q.h.Keys.SetRotationPolicy(q.r.Context(), q.vault, name, p)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.policyOut(name, out))
}

// keyOpNames maps a cryptographic operation's path segment to its
// operation; an unknown segment maps to "", which is denied.
var keyOpNames = map[string]arca.Operation{
	"encrypt": arca.OpKeyEncrypt, "decrypt": arca.OpKeyDecrypt, "sign": arca.OpKeySign, "verify": arca.OpKeyVerify,
	"wrapKey": arca.OpKeyWrap, "unwrapKey": arca.OpKeyUnwrap, "release": arca.OpKeyRelease,
}

// keyOp runs a cryptographic operation; version "" means the latest.
func (q *vaultRequest) keyOp(name, version, op string) {
	if !q.checkName(name) || !q.authorize(keyOpNames[op], name) || !q.keyVersionOK(name, version) {
		return
	}
	ctx := q.r.Context()
	if op == "release" {
		var in struct {
			Target string `json:"target"`
			Nonce  string `json:"nonce"`
			Enc    string `json:"enc"`
		}
		if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
			q.fail(err)
			return
		}
		v, err := q.h.Keys.Release(ctx, q.vault, name, version, in.Target, in.Nonce, in.Enc)
		if err != nil {
			q.fail(err)
			return
		}
		q.ok(map[string]string{"value": v})
		return
	}
	var in keyOpIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Alg == nil || *in.Alg == "" {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property alg is required."))
		return
	}
	if in.Value == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property value is required."))
		return
	}
	if len(in.IV) > 0 || len(in.AAD) > 0 || len(in.Tag) > 0 {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Properties iv, aad and tag apply to symmetric algorithms, which are only available in Managed HSM."))
		return
	}
	var kv *arca.KeyVersion
	var out []byte
	var err error
	switch op {
	case "verify":
		if in.Digest == nil {
			q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property digest is required."))
			return
		}
		ok, err := q.h.Keys.Verify(ctx, q.vault, name, version, *in.Alg, *in.Digest, *in.Value)
		if err != nil {
			q.fail(err)
			return
		}
		q.ok(map[string]bool{"value": ok})
		return
	case "sign":
		kv, out, err = q.h.Keys.Sign(ctx, q.vault, name, version, *in.Alg, *in.Value)
	case "encrypt", "wrapKey":
		kv, out, err = q.h.Keys.Encrypt(ctx, q.vault, name, version, op, *in.Alg, *in.Value)
	case "decrypt", "unwrapKey":
		kv, out, err = q.h.Keys.Decrypt(ctx, q.vault, name, version, op, *in.Alg, *in.Value)
	}
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(keyOpOut{Kid: q.keyID(kv.Name, kv.Version), Value: out})
}

func (q *vaultRequest) randomBytes() {
	if !q.authorize(arca.OpRandomBytesGet, "") {
		return
	}
	var in struct {
		Count *int `json:"count"`
	}
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Count == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property count is required."))
		return
	}
	b, err := q.h.Keys.RandomBytes(q.r.Context(), q.vault, *in.Count)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(struct {
		Value httpx.B64URL `json:"value"`
	}{b})
}
