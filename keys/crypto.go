package keys

import (
	"context"
	"io"
	"slices"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
)

func forbidden(inner, format string, args ...any) error {
	return arca.Errorf(arca.KindForbidden, "Forbidden", format, args...).WithInner(inner)
}

// usable checks that kv may perform op now: enabled, within nbf/exp (exp
// only stops operations that create protected data: sign, encrypt, wrap),
// and op listed in key_ops.
func (s *Service) usable(kv *arca.KeyVersion, op string) error {
	if !kv.Attributes.IsEnabled() {
		return forbidden("KeyDisabled", "Operation %s is not allowed on a disabled key.", op)
	}
	now := s.Clock.Now().Unix()
	if nbf := kv.Attributes.NotBefore; nbf != nil && now < *nbf {
		return forbidden("KeyNotYetValid", "Operation %s is not allowed on a key that is not yet valid.", op)
	}
	if exp := kv.Attributes.Expires; exp != nil && now > *exp && (op == "sign" || op == "encrypt" || op == "wrapKey") {
		return forbidden("KeyExpired", "Operation %s is not allowed on an expired key.", op)
	}
	if !slices.Contains(kv.Key.KeyOps, op) {
		return forbidden("KeyOperationForbidden", "Operation %s is not permitted on this key: it is not in the key's key_ops.", op)
	}
	return nil
}

func (s *Service) forOp(ctx context.Context, vault *arca.Vault, name, version, op string) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	kv, err := s.c.Get(ctx, vault, name, version)
	if err != nil {
		return nil, err
	}
	return kv, s.usable(kv, op)
}

var signAlgs = map[string]string{ // algorithm -> key family
	"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA", "RSNULL": "RSA",
	"ES256": "EC", "ES256K": "EC", "ES384": "EC", "ES512": "EC",
}

var encAlgs = map[string]bool{"RSA1_5": true, "RSA-OAEP": true, "RSA-OAEP-256": true}

func family(kv *arca.KeyVersion) string { return strings.TrimSuffix(kv.Key.Kty, "-HSM") }

func checkAlg(kv *arca.KeyVersion, alg string, sign bool) error {
	if sign {
		fam, ok := signAlgs[alg]
		if !ok {
			return badParam("Property alg has invalid value: %s is not a supported signature algorithm.", alg)
		}
		if fam != family(kv) {
			return badParam("Algorithm %s is not supported for %s keys.", alg, kv.Key.Kty)
		}
		return nil
	}
	if family(kv) != "RSA" {
		return badParam("Key type %s does not support encryption or key wrapping in a key vault.", kv.Key.Kty)
	}
	if !encAlgs[alg] {
		return badParam("Property alg has invalid value: %s is not supported for %s keys.", alg, kv.Key.Kty)
	}
	return nil
}

func (s *Service) custody(kv *arca.KeyVersion) *keystore.Key {
	return &keystore.Key{Material: kv.Material, Public: toPublic(kv.Key)}
}

// Sign implements arca.KeyService: value is a digest, never hashed again.
func (s *Service) Sign(ctx context.Context, vault *arca.Vault, name, version, alg string, digest []byte) (*arca.KeyVersion, []byte, error) {
	kv, err := s.forOp(ctx, vault, name, version, "sign")
	if err != nil {
		return nil, nil, err
	}
	if err := checkAlg(kv, alg, true); err != nil {
		return nil, nil, err
	}
	sig, err := s.Keystore.Sign(ctx, s.custody(kv), alg, digest)
	if err != nil {
		return nil, nil, mapKeystoreErr(err)
	}
	return kv, sig, nil
}

// Verify implements arca.KeyService.
func (s *Service) Verify(ctx context.Context, vault *arca.Vault, name, version, alg string, digest, sig []byte) (bool, error) {
	kv, err := s.forOp(ctx, vault, name, version, "verify")
	if err != nil {
		return false, err
	}
	if err := checkAlg(kv, alg, true); err != nil {
		return false, err
	}
	ok, err := keystore.Verify(toPublic(kv.Key), alg, digest, sig)
	if err != nil {
		return false, mapKeystoreErr(err)
	}
	return ok, nil
}

// Encrypt implements arca.KeyService for op "encrypt" and "wrapKey".
func (s *Service) Encrypt(ctx context.Context, vault *arca.Vault, name, version, op, alg string, plaintext []byte) (*arca.KeyVersion, []byte, error) {
	kv, err := s.forOp(ctx, vault, name, version, op)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAlg(kv, alg, false); err != nil {
		return nil, nil, err
	}
	ct, err := keystore.Encrypt(toPublic(kv.Key), alg, plaintext)
	if err != nil {
		return nil, nil, mapKeystoreErr(err)
	}
	return kv, ct, nil
}

// Decrypt implements arca.KeyService for op "decrypt" and "unwrapKey".
func (s *Service) Decrypt(ctx context.Context, vault *arca.Vault, name, version, op, alg string, ciphertext []byte) (*arca.KeyVersion, []byte, error) {
	kv, err := s.forOp(ctx, vault, name, version, op)
	if err != nil {
		return nil, nil, err
	}
	if err := checkAlg(kv, alg, false); err != nil {
		return nil, nil, err
	}
	pt, err := s.Keystore.Decrypt(ctx, s.custody(kv), alg, ciphertext)
	if err != nil {
		return nil, nil, mapKeystoreErr(err)
	}
	return kv, pt, nil
}

// RandomBytes implements arca.KeyService: 1 to 128 bytes.
func (s *Service) RandomBytes(_ context.Context, _ *arca.Vault, count int) ([]byte, error) {
	if count < 1 || count > 128 {
		return nil, badParam("Property count has invalid value: it must be between 1 and 128.")
	}
	b := make([]byte, count)
	if _, err := io.ReadFull(s.Rand, b); err != nil {
		return nil, arca.Internal(err)
	}
	return b, nil
}
