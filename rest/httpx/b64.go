package httpx

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// B64URL is a byte string on the wire as base64url without padding (JWK
// fields, crypto values, backups). Decoding also accepts padding and the
// standard alphabet, as Key Vault does.
type B64URL []byte

// MarshalJSON encodes b as unpadded base64url.
func (b B64URL) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

// UnmarshalJSON decodes a base64url (or standard base64) string.
func (b *B64URL) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(data), Type: b64Type}
	}
	v, err := DecodeB64(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: b64Type}
	}
	*b = v
	return nil
}

// DecodeB64 decodes base64url or standard base64, padded or not.
func DecodeB64(s string) ([]byte, error) {
	t := strings.TrimRight(s, "=")
	if v, err := base64.RawURLEncoding.DecodeString(t); err == nil {
		return v, nil
	}
	return base64.RawStdEncoding.DecodeString(t)
}
