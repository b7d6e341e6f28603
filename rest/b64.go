package rest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// b64url is a byte string on the wire as base64url without padding (JWK
// fields, crypto values, backups). Decoding also accepts padding and the
// standard alphabet, as Key Vault does.
type b64url []byte

func (b b64url) MarshalJSON() ([]byte, error) {
	return json.Marshal(base64.RawURLEncoding.EncodeToString(b))
}

func (b *b64url) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return &json.UnmarshalTypeError{Value: string(data), Type: b64Type}
	}
	v, err := decodeB64(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: b64Type}
	}
	*b = v
	return nil
}

func decodeB64(s string) ([]byte, error) {
	t := strings.TrimRight(s, "=")
	if v, err := base64.RawURLEncoding.DecodeString(t); err == nil {
		return v, nil
	}
	return base64.RawStdEncoding.DecodeString(t)
}
