package keyvault

import (
	"context"
	"encoding/base64"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// backup answers a backup operation with {"value": base64url blob}.
func (q *vaultRequest) backup(op arca.Operation, name string, fn func(context.Context) ([]byte, error)) {
	if !q.checkName(name) || !q.authorize(op, name) {
		return
	}
	blob, err := fn(q.r.Context())
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(valueOut{Value: base64.RawURLEncoding.EncodeToString(blob)})
}

// restoreBlob authorises a restore and reads its {"value"} blob; it
// returns false when it has already answered.
func (q *vaultRequest) restoreBlob(op arca.Operation) ([]byte, bool) {
	if !q.authorize(op, "") {
		return nil, false
	}
	var in valueIn
	if err := httpx.DecodeBody(q.r, maxRestoreBody, &in); err != nil {
		q.fail(err)
		return nil, false
	}
	if in.Value == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property value is required."))
		return nil, false
	}
	blob, err := httpx.DecodeB64(*in.Value)
	if err != nil {
		q.fail(arca.Errorf(arca.KindInvalid, "Malformed backup blob", "Backup blob contains invalid or corrupt version."))
		return nil, false
	}
	return blob, true
}
