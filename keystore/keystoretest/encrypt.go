package keystoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"hash"
	"testing"

	"github.com/arcakv/arca/keystore"
)

// encAlgs are the encryption algorithms with their OAEP hash (nil for
// RSA1_5) and the longest plaintext for a k-byte modulus.
var encAlgs = []struct {
	alg  string
	hash func() hash.Hash
	max  func(k int) int
}{
	{keystore.AlgRSA15, nil, func(k int) int { return k - 11 }},
	{keystore.AlgRSAOAEP, sha1.New, func(k int) int { return k - 2*20 - 2 }},
	{keystore.AlgRSAOAEP256, sha256.New, func(k int) int { return k - 2*32 - 2 }},
}

func (s *suite) testEncrypt(t *testing.T) {
	for _, ks := range keySpecs {
		if ks.spec.Kty != keystore.KtyRSA {
			continue
		}
		for _, ea := range encAlgs {
			t.Run(ks.name+"/"+ea.alg, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				key := s.key(t, ks)
				k := ks.bits / 8
				for _, n := range []int{1, 16, 32, ea.max(k)} {
					pt := randomBytes(t, n)
					ct, err := keystore.Encrypt(key.Public, ea.alg, pt)
					if err != nil {
						t.Fatalf("Encrypt(%d bytes): %v", n, err)
					}
					if len(ct) != k {
						t.Errorf("ciphertext of %d bytes, want %d", len(ct), k)
					}
					got, err := s.ks.Decrypt(ctx, key, ea.alg, ct)
					if err != nil || !bytes.Equal(got, pt) {
						t.Errorf("Decrypt(Encrypt(%d bytes)) = %x, %v; want %x", n, got, err, pt)
					}
				}
				// Reference encryption (crypto/rsa) decrypts too.
				pub, err := stdPublicKey(key.Public)
				if err != nil {
					t.Fatal(err)
				}
				pt := randomBytes(t, 32)
				var ct []byte
				if ea.hash != nil {
					ct, err = rsa.EncryptOAEP(ea.hash(), rand.Reader, pub.(*rsa.PublicKey), pt, nil)
				} else {
					//lint:ignore SA1019 reference ciphertext for Azure Key Vault's alg "RSA1_5", which must stay
					ct, err = rsa.EncryptPKCS1v15(rand.Reader, pub.(*rsa.PublicKey), pt)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got, err := s.ks.Decrypt(ctx, key, ea.alg, ct); err != nil || !bytes.Equal(got, pt) {
					t.Errorf("Decrypt(reference ciphertext) = %x, %v; want %x", got, err, pt)
				}
				// Too long a plaintext.
				if _, err := keystore.Encrypt(key.Public, ea.alg, make([]byte, ea.max(k)+1)); !errors.Is(err, keystore.ErrInvalidInput) {
					t.Errorf("Encrypt(%d bytes) = %v, want ErrInvalidInput", ea.max(k)+1, err)
				}
				// Too long a ciphertext.
				if _, err := s.ks.Decrypt(ctx, key, ea.alg, make([]byte, k+1)); !errors.Is(err, keystore.ErrInvalidInput) {
					t.Errorf("Decrypt(%d bytes) = %v, want ErrInvalidInput", k+1, err)
				}
				// A ciphertext >= n, and a tampered one (OAEP only:
				// a tampered PKCS #1 v1.5 ciphertext may still unpad).
				if _, err := s.ks.Decrypt(ctx, key, ea.alg, bytes.Repeat([]byte{0xff}, k)); !errors.Is(err, keystore.ErrDecryption) {
					t.Errorf("Decrypt(0xff…) = %v, want ErrDecryption", err)
				}
				if ea.hash != nil {
					bad := bytes.Clone(ct)
					bad[k/2] ^= 0x01
					if _, err := s.ks.Decrypt(ctx, key, ea.alg, bad); !errors.Is(err, keystore.ErrDecryption) {
						t.Errorf("Decrypt(tampered) = %v, want ErrDecryption", err)
					}
					// The other OAEP hash does not decrypt it.
					other := keystore.AlgRSAOAEP
					if ea.alg == other {
						other = keystore.AlgRSAOAEP256
					}
					if _, err := s.ks.Decrypt(ctx, key, other, ct); !errors.Is(err, keystore.ErrDecryption) {
						t.Errorf("Decrypt(%s ciphertext as %s) = %v, want ErrDecryption", ea.alg, other, err)
					}
				}
			})
		}
	}
}

func (s *suite) testEncryptInvalid(t *testing.T) {
	ctx := context.Background()
	ec := s.key(t, specByName("EC-P-256"))
	rsaKey := s.key(t, specByName("RSA-2048"))
	for _, ea := range encAlgs {
		if _, err := keystore.Encrypt(ec.Public, ea.alg, []byte("x")); !errors.Is(err, keystore.ErrUnsupported) {
			t.Errorf("Encrypt(EC, %s) = %v, want ErrUnsupported", ea.alg, err)
		}
		if _, err := s.ks.Decrypt(ctx, ec, ea.alg, make([]byte, 64)); !errors.Is(err, keystore.ErrUnsupported) {
			t.Errorf("Decrypt(EC, %s) = %v, want ErrUnsupported", ea.alg, err)
		}
	}
	for _, alg := range []string{"A256KW", "RSA-OAEP-384", "rsa-oaep", "", "ES256"} {
		if _, err := keystore.Encrypt(rsaKey.Public, alg, []byte("x")); !errors.Is(err, keystore.ErrUnsupported) {
			t.Errorf("Encrypt(%q) = %v, want ErrUnsupported", alg, err)
		}
		if _, err := s.ks.Decrypt(ctx, rsaKey, alg, make([]byte, 256)); !errors.Is(err, keystore.ErrUnsupported) {
			t.Errorf("Decrypt(%q) = %v, want ErrUnsupported", alg, err)
		}
	}
}
