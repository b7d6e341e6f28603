package storage

import "encoding/json"

// GetJSON reads the value under key and decodes it into out; ErrNotFound
// when the key is absent.
func GetJSON(r Reader, key string, out any) error {
	b, err := r.Get(key)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

// PutJSON encodes v and stores it under key.
func PutJSON(tx Tx, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Put(key, b)
}
