package keys

import (
	"context"
	"encoding/json"

	"github.com/arcakv/arca"
)

// checkReleasePolicy validates a release policy: its data must be a JSON
// policy document with a version and an anyOf or allOf rule list.
func checkReleasePolicy(rp *arca.ReleasePolicy) error {
	if rp.ContentType == "" {
		rp.ContentType = "application/json; charset=utf-8"
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(rp.Data, &doc); err != nil {
		return badParam("Property release_policy.data has invalid value: it must be a base64url-encoded JSON policy document.")
	}
	if doc["anyOf"] == nil && doc["allOf"] == nil {
		return badParam("Property release_policy.data has invalid value: the policy needs an anyOf or allOf rule list.")
	}
	return nil
}

// Release implements arca.KeyService. Secure key release needs an
// attestation authority that this deployment trusts; none can be
// configured yet, so every release is refused after the exportable and
// policy checks Azure performs first.
func (s *Service) Release(ctx context.Context, vault *arca.Vault, name, version, target, nonce, enc string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if target == "" {
		return "", badParam("Property target is required.")
	}
	kv, err := s.c.Get(ctx, vault, name, version)
	if err != nil {
		return "", err
	}
	if !kv.Exportable || kv.ReleasePolicy == nil {
		return "", badParam("Key %s is not exportable: release requires an exportable key with a release policy.", name)
	}
	return "", arca.Errorf(arca.KindForbidden, "Forbidden", "Target environment attestation statement cannot be verified: no attestation authority is trusted by this deployment.").WithInner("AccessDenied")
}
