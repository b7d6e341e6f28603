package keys

import (
	"crypto/aes"
	"encoding/binary"
	"errors"
)

// kwpWrap is AES key wrap with padding (RFC 5649), the second half of
// CKM_RSA_AES_KEY_WRAP.
func kwpWrap(kek, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(plain) == 0 {
		return nil, errors.New("kwp: empty plaintext")
	}
	var aiv [8]byte
	copy(aiv[:4], []byte{0xA6, 0x59, 0x59, 0xA6})
	binary.BigEndian.PutUint32(aiv[4:], uint32(len(plain)))
	p := make([]byte, (len(plain)+7)/8*8)
	copy(p, plain)
	if len(p) == 8 {
		out := append(aiv[:], p...)
		block.Encrypt(out, out)
		return out, nil
	}
	n := len(p) / 8
	a := aiv
	r := p
	var b [16]byte
	for j := 0; j < 6; j++ {
		for i := 0; i < n; i++ {
			copy(b[:8], a[:])
			copy(b[8:], r[i*8:i*8+8])
			block.Encrypt(b[:], b[:])
			t := uint64(n*j + i + 1)
			binary.BigEndian.PutUint64(a[:], binary.BigEndian.Uint64(b[:8])^t)
			copy(r[i*8:], b[8:])
		}
	}
	return append(a[:], r...), nil
}
