package keystoretest

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/arcakv/arca/keystore"
)

// payloadSize returns the length of the digest alg signs; RSNULL signs a
// payload of any length and gets a 35-byte one (the size of a SHA-1
// DigestInfo, a typical use).
func payloadSize(a algCase) int {
	if a.hash == 0 {
		return 35
	}
	return a.hash.Size()
}

func sigSize(ks keySpec) int {
	if ks.spec.Kty == keystore.KtyRSA {
		return ks.bits / 8
	}
	return 2 * ks.size
}

func (s *suite) testSign(t *testing.T) {
	for _, ks := range keySpecs {
		for _, a := range algsFor(ks) {
			t.Run(ks.name+"/"+a.alg, func(t *testing.T) {
				t.Parallel()
				s.checkSign(t, ks, a)
			})
		}
	}
}

func (s *suite) checkSign(t *testing.T, ks keySpec, a algCase) {
	ctx := context.Background()
	key := s.key(t, ks)
	digest := randomBytes(t, payloadSize(a))
	sig, err := s.ks.Sign(ctx, key, a.alg, digest)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if len(sig) != sigSize(ks) {
		t.Errorf("signature of %d bytes, want %d", len(sig), sigSize(ks))
	}
	verifyBoth(t, key.Public, a.alg, digest, sig, true)

	// Tampered signature and digest.
	badSig := bytes.Clone(sig)
	badSig[len(badSig)-1] ^= 0x01
	verifyBoth(t, key.Public, a.alg, digest, badSig, false)
	badSig = bytes.Clone(sig)
	badSig[len(badSig)/2] ^= 0x80
	verifyBoth(t, key.Public, a.alg, digest, badSig, false)
	badDigest := bytes.Clone(digest)
	badDigest[0] ^= 0x01
	verifyBoth(t, key.Public, a.alg, badDigest, sig, false)
	// Truncated and extended signatures are rejected without error.
	for _, bad := range [][]byte{sig[:len(sig)-1], append(bytes.Clone(sig), 0), nil} {
		if ok, err := keystore.Verify(key.Public, a.alg, digest, bad); ok || err != nil {
			t.Errorf("Verify(signature of %d bytes) = %v, %v; want false, nil", len(bad), ok, err)
		}
	}
	// ECDSA signatures are randomized or deterministic, but always valid;
	// RSA PKCS #1 v1.5 ones are deterministic.
	sig2, err := s.ks.Sign(ctx, key, a.alg, digest)
	if err != nil {
		t.Fatalf("second Sign: %v", err)
	}
	verifyBoth(t, key.Public, a.alg, digest, sig2, true)
	if ks.spec.Kty == keystore.KtyRSA && !a.pss && !bytes.Equal(sig, sig2) {
		t.Error("PKCS #1 v1.5 signatures of the same digest differ")
	}

	// ECDSA r and s keep their full length when they have leading zero
	// bytes: with 512 signatures, some r or s almost surely has one. P-521's
	// top byte is always 0 or 1, so 64 signatures suffice there.
	if ks.spec.Kty == keystore.KtyEC {
		short, n := 0, 512
		if ks.size == 66 {
			n = 64
		}
		for range n {
			d := randomBytes(t, len(digest))
			sig, err := s.ks.Sign(ctx, key, a.alg, d)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if len(sig) != sigSize(ks) {
				t.Fatalf("signature of %d bytes, want %d", len(sig), sigSize(ks))
			}
			if sig[0] == 0 || sig[ks.size] == 0 {
				short++
				if short <= 4 {
					verifyBoth(t, key.Public, a.alg, d, sig, true)
				}
			}
		}
		t.Logf("%d of %d signatures had a leading zero in r or s", short, n)
	}

	// Wrong digest lengths.
	if a.hash != 0 {
		for _, n := range []int{0, 1, a.hash.Size() - 1, a.hash.Size() + 1, 20, 2 * a.hash.Size()} {
			if n == a.hash.Size() {
				continue
			}
			d := randomBytes(t, n)
			if _, err := s.ks.Sign(ctx, key, a.alg, d); !errors.Is(err, keystore.ErrInvalidInput) {
				t.Errorf("Sign(%d-byte digest) = %v, want ErrInvalidInput", n, err)
			}
			if _, err := keystore.Verify(key.Public, a.alg, d, sig); !errors.Is(err, keystore.ErrInvalidInput) {
				t.Errorf("Verify(%d-byte digest) = %v, want ErrInvalidInput", n, err)
			}
		}
		return
	}
	// RSNULL: any payload up to k-11 bytes.
	k := ks.bits / 8
	for _, n := range []int{1, 20, 32, 51, 83, k - 11} {
		d := randomBytes(t, n)
		sig, err := s.ks.Sign(ctx, key, a.alg, d)
		if err != nil {
			t.Errorf("Sign(RSNULL, %d bytes): %v", n, err)
			continue
		}
		verifyBoth(t, key.Public, a.alg, d, sig, true)
	}
	for _, n := range []int{k - 10, k, k + 1} {
		d := randomBytes(t, n)
		if _, err := s.ks.Sign(ctx, key, a.alg, d); !errors.Is(err, keystore.ErrInvalidInput) {
			t.Errorf("Sign(RSNULL, %d bytes) = %v, want ErrInvalidInput", n, err)
		}
		if _, err := keystore.Verify(key.Public, a.alg, d, sig); !errors.Is(err, keystore.ErrInvalidInput) {
			t.Errorf("Verify(RSNULL, %d bytes) = %v, want ErrInvalidInput", n, err)
		}
	}
}

// verifyBoth verifies with keystore.Verify and with the reference libraries,
// expecting want from both.
func verifyBoth(t *testing.T, pub keystore.PublicJWK, alg string, digest, sig []byte, want bool) {
	t.Helper()
	if ok, err := keystore.Verify(pub, alg, digest, sig); ok != want || err != nil {
		t.Errorf("keystore.Verify = %v, %v; want %v, nil", ok, err, want)
	}
	if ok, err := stdVerify(pub, alg, digest, sig); ok != want || err != nil {
		t.Errorf("reference verify = %v, %v; want %v, nil", ok, err, want)
	}
}

// testSignMismatch signs with every algorithm that does not fit the key.
func (s *suite) testSignMismatch(t *testing.T) {
	for _, ks := range keySpecs {
		if ks.name == "RSA-3072" || ks.name == "RSA-4096" || ks.name == "RSA-2048-e3" {
			continue // same rules as RSA-2048
		}
		t.Run(ks.name, func(t *testing.T) {
			t.Parallel()
			key := s.key(t, ks)
			fits := map[string]bool{}
			for _, a := range algsFor(ks) {
				fits[a.alg] = true
			}
			for _, alg := range append(append([]string{}, keystore.SignatureAlgorithms...), "HS256", "ES256k", "rs256", "") {
				if fits[alg] {
					continue
				}
				digest := make([]byte, 32)
				if _, err := s.ks.Sign(context.Background(), key, alg, digest); !errors.Is(err, keystore.ErrUnsupported) {
					t.Errorf("Sign(%q) = %v, want ErrUnsupported", alg, err)
				}
				if _, err := keystore.Verify(key.Public, alg, digest, make([]byte, sigSize(ks))); !errors.Is(err, keystore.ErrUnsupported) {
					t.Errorf("Verify(%q) = %v, want ErrUnsupported", alg, err)
				}
			}
		})
	}
}
