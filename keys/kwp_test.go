package keys

import (
	"bytes"
	"encoding/hex"
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
