package keys

import (
	"crypto/aes"
	"crypto/subtle"
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

// kwpUnwrap reverses kwpWrap.
func kwpUnwrap(kek, ct []byte) ([]byte, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	if len(ct) < 16 || len(ct)%8 != 0 {
		return nil, errors.New("kwp: bad ciphertext length")
	}
	var a [8]byte
	var r []byte
	if len(ct) == 16 {
		out := make([]byte, 16)
		block.Decrypt(out, ct)
		copy(a[:], out[:8])
		r = out[8:]
	} else {
		n := len(ct)/8 - 1
		copy(a[:], ct[:8])
		r = append([]byte(nil), ct[8:]...)
		var b [16]byte
		for j := 5; j >= 0; j-- {
			for i := n - 1; i >= 0; i-- {
				t := uint64(n*j + i + 1)
				binary.BigEndian.PutUint64(b[:8], binary.BigEndian.Uint64(a[:])^t)
				copy(b[8:], r[i*8:i*8+8])
				block.Decrypt(b[:], b[:])
				copy(a[:], b[:8])
				copy(r[i*8:], b[8:])
			}
		}
	}
	if subtle.ConstantTimeCompare(a[:4], []byte{0xA6, 0x59, 0x59, 0xA6}) != 1 {
		return nil, errors.New("kwp: integrity check failed")
	}
	mli := int(binary.BigEndian.Uint32(a[4:]))
	if mli > len(r) || mli <= len(r)-8 {
		return nil, errors.New("kwp: bad length")
	}
	for _, z := range r[mli:] {
		if z != 0 {
			return nil, errors.New("kwp: bad padding")
		}
	}
	return r[:mli], nil
}
