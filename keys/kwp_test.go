package keys

import (
	"bytes"
	"crypto/aes"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"
)

// RFC 5649 section 6 test vectors.
func TestKWPVectors(t *testing.T) {
	kek, _ := hex.DecodeString("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8")
	for _, v := range []struct{ plain, wrapped string }{
		{"c37b7e6492584340bed12207808941155068f738", "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a"},
		{"466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f"},
	} {
		p, _ := hex.DecodeString(v.plain)
		got, err := kwpWrap(kek, p)
		if err != nil || hex.EncodeToString(got) != v.wrapped {
			t.Fatalf("wrap(%s) = %x %v, want %s", v.plain, got, err, v.wrapped)
		}
		back, err := kwpUnwrap(kek, got)
		if err != nil || !bytes.Equal(back, p) {
			t.Fatalf("unwrap: %x %v", back, err)
		}
	}
}

func FuzzKWP(f *testing.F) {
	kek := bytes.Repeat([]byte{7}, 32)
	f.Add([]byte("hello world, this is a key"))
	f.Fuzz(func(t *testing.T, p []byte) {
		if len(p) == 0 {
			return
		}
		ct, err := kwpWrap(kek, p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := kwpUnwrap(kek, ct)
		if err != nil || !bytes.Equal(back, p) {
			t.Fatalf("round trip %x: %x %v", p, back, err)
		}
		if _, err := kwpUnwrap(kek, p); err == nil && len(p)%8 == 0 && len(p) >= 16 {
			// random data unwrapping successfully is astronomically unlikely
			t.Logf("random blob unwrapped")
		}
	})
}

// kwpUnwrap reverses kwpWrap (the unwrapping side lives in the target
// environment; tests use it to check what Arca releases).
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
