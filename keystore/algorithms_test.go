package keystore_test

import (
	"errors"
	"testing"

	"github.com/arcakv/arca/keystore"
)

func TestDigestSize(t *testing.T) {
	for _, tc := range []struct {
		alg     string
		want    int
		wantErr error
	}{
		{"RS256", 32, nil}, {"PS256", 32, nil}, {"ES256", 32, nil}, {"ES256K", 32, nil},
		{"RS384", 48, nil}, {"PS384", 48, nil}, {"ES384", 48, nil},
		{"RS512", 64, nil}, {"PS512", 64, nil}, {"ES512", 64, nil},
		{"RSNULL", 0, nil},
		{"HS256", 0, keystore.ErrUnsupported}, {"es256", 0, keystore.ErrUnsupported}, {"", 0, keystore.ErrUnsupported},
		{"RSA-OAEP", 0, keystore.ErrUnsupported},
	} {
		got, err := keystore.DigestSize(tc.alg)
		if got != tc.want || !errors.Is(err, tc.wantErr) {
			t.Errorf("DigestSize(%q) = %d, %v; want %d, %v", tc.alg, got, err, tc.want, tc.wantErr)
		}
	}
	for _, alg := range keystore.SignatureAlgorithms {
		if _, err := keystore.DigestSize(alg); err != nil {
			t.Errorf("DigestSize(%q): %v", alg, err)
		}
	}
}

func TestCheckDigest(t *testing.T) {
	for _, tc := range []struct {
		alg     string
		n, k    int
		wantErr error
	}{
		{"RS256", 32, 256, nil},
		{"RS256", 31, 256, keystore.ErrInvalidInput},
		{"ES512", 64, 0, nil},
		{"ES512", 66, 0, keystore.ErrInvalidInput},
		{"RSNULL", 245, 256, nil},
		{"RSNULL", 246, 256, keystore.ErrInvalidInput},
		{"RSNULL", 0, 256, nil},
		{"RSNULL", 1000, 0, nil},
		{"XX", 32, 0, keystore.ErrUnsupported},
	} {
		if err := keystore.CheckDigest(tc.alg, make([]byte, tc.n), tc.k); !errors.Is(err, tc.wantErr) {
			t.Errorf("CheckDigest(%s, %d, %d) = %v, want %v", tc.alg, tc.n, tc.k, err, tc.wantErr)
		}
	}
}

func TestCheckPublicExponent(t *testing.T) {
	for e, ok := range map[int]bool{3: true, 5: true, 17: true, 65537: true, 1<<31 - 1: true,
		-3: false, 0: false, 1: false, 2: false, 4: false, 65536: false, 1 << 31: false} {
		if err := keystore.CheckPublicExponent(e); (err == nil) != ok || (err != nil && !errors.Is(err, keystore.ErrUnsupported)) {
			t.Errorf("CheckPublicExponent(%d) = %v, want ok=%v", e, err, ok)
		}
	}
}

func TestSupportedRSASize(t *testing.T) {
	for bits, ok := range map[int]bool{2048: true, 3072: true, 4096: true, 0: false, 1024: false, 2047: false, 8192: false} {
		if got := keystore.SupportedRSASize(bits); got != ok {
			t.Errorf("SupportedRSASize(%d) = %v", bits, got)
		}
	}
}

func TestCurveSize(t *testing.T) {
	for crv, want := range map[string]int{"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66} {
		if got, err := keystore.CurveSize(crv); got != want || err != nil {
			t.Errorf("CurveSize(%s) = %d, %v", crv, got, err)
		}
	}
	if _, err := keystore.CurveSize("P-224"); !errors.Is(err, keystore.ErrUnsupported) {
		t.Errorf("CurveSize(P-224) = %v", err)
	}
}
