// Package keystoretest is the conformance suite for keystore.Keystore
// implementations. Every implementation's tests call Run.
//
// Signatures are checked twice: with keystore.Verify and, independently,
// with the Go standard library (crypto/rsa, crypto/ecdsa) or the decred
// secp256k1 library, and, when the openssl CLI is installed, with OpenSSL.
package keystoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/arcakv/arca/keystore"
)

// keySpec is a key the suite generates once per Run and shares between
// subtests (RSA generation is slow).
type keySpec struct {
	name string
	spec keystore.Spec
	bits int // RSA modulus size
	e    int // RSA public exponent
	size int // EC coordinate size
}

var keySpecs = []keySpec{
	{name: "RSA-2048", spec: keystore.Spec{Kty: keystore.KtyRSA, Size: 2048}, bits: 2048, e: 65537},
	{name: "RSA-3072", spec: keystore.Spec{Kty: keystore.KtyRSA, Size: 3072}, bits: 3072, e: 65537},
	{name: "RSA-4096", spec: keystore.Spec{Kty: keystore.KtyRSA, Size: 4096}, bits: 4096, e: 65537},
	{name: "RSA-2048-e3", spec: keystore.Spec{Kty: keystore.KtyRSA, Size: 2048, PublicExponent: 3}, bits: 2048, e: 3},
	{name: "EC-P-256", spec: keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP256}, size: 32},
	{name: "EC-P-256K", spec: keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP256K}, size: 32},
	{name: "EC-P-384", spec: keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP384}, size: 48},
	{name: "EC-P-521", spec: keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP521}, size: 66},
}

func specByName(name string) keySpec {
	for _, s := range keySpecs {
		if s.name == name {
			return s
		}
	}
	panic("keystoretest: no key spec " + name)
}

// suite holds the keystore under test and the keys generated so far.
type suite struct {
	ks   keystore.Keystore
	mu   sync.Mutex
	keys map[string]*lazyKey
}

type lazyKey struct {
	once sync.Once
	key  *keystore.Key
	err  error
}

// key returns the shared key of spec, creating it on first use.
func (s *suite) key(t *testing.T, ks keySpec) *keystore.Key {
	t.Helper()
	s.mu.Lock()
	lk, ok := s.keys[ks.name]
	if !ok {
		lk = &lazyKey{}
		s.keys[ks.name] = lk
	}
	s.mu.Unlock()
	lk.once.Do(func() { lk.key, lk.err = s.ks.Create(context.Background(), ks.spec) })
	if lk.err != nil {
		t.Fatalf("Create(%+v): %v", ks.spec, lk.err)
	}
	return lk.key
}

// Run runs the conformance suite. newKeystore returns the keystore under
// test; Run calls it once, and the subtests share it (concurrently, as
// keystores must be safe for concurrent use).
//
// A keystore whose Export answers keystore.ErrNotExportable skips the tests
// that need exported material.
func Run(t *testing.T, newKeystore func(t *testing.T) keystore.Keystore) {
	s := &suite{ks: newKeystore(t), keys: map[string]*lazyKey{}}
	t.Run("Create", s.testCreate)
	t.Run("CreateInvalid", s.testCreateInvalid)
	t.Run("Sign", s.testSign)
	t.Run("SignMismatch", s.testSignMismatch)
	t.Run("Encrypt", s.testEncrypt)
	t.Run("EncryptInvalid", s.testEncryptInvalid)
	t.Run("ExportImport", s.testExportImport)
	t.Run("ImportStdlib", s.testImportStdlib)
	t.Run("ImportInvalid", s.testImportInvalid)
	t.Run("FixedLengthEC", s.testFixedLengthEC)
	t.Run("OpenSSL", s.testOpenSSL)
	t.Run("Concurrent", s.testConcurrent)
	t.Run("Canceled", s.testCanceled)
	t.Run("BadMaterial", s.testBadMaterial)
}

func (s *suite) testCreate(t *testing.T) {
	for _, ks := range keySpecs {
		t.Run(ks.name, func(t *testing.T) {
			t.Parallel()
			key := s.key(t, ks)
			if len(key.Material) == 0 {
				t.Error("empty Material")
			}
			checkPublic(t, ks, key.Public)
		})
	}
	t.Run("Defaults", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		rsaKey, err := s.ks.Create(ctx, keystore.Spec{Kty: keystore.KtyRSA})
		if err != nil {
			t.Fatalf("Create(RSA defaults): %v", err)
		}
		checkPublic(t, specByName("RSA-2048"), rsaKey.Public)
		ecKey, err := s.ks.Create(ctx, keystore.Spec{Kty: keystore.KtyEC})
		if err != nil {
			t.Fatalf("Create(EC defaults): %v", err)
		}
		checkPublic(t, specByName("EC-P-256"), ecKey.Public)
	})
	t.Run("Distinct", func(t *testing.T) {
		t.Parallel()
		a, errA := s.ks.Create(context.Background(), keystore.Spec{Kty: keystore.KtyEC})
		b, errB := s.ks.Create(context.Background(), keystore.Spec{Kty: keystore.KtyEC})
		if errA != nil || errB != nil {
			t.Fatalf("Create: %v, %v", errA, errB)
		}
		if bytes.Equal(a.Public.X, b.Public.X) {
			t.Error("two created keys share a public key")
		}
	})
}

// checkPublic checks the shape of a public JWK: kty, RSA size and exponent
// (minimal big-endian), EC curve and fixed-length coordinates.
func checkPublic(t *testing.T, ks keySpec, pub keystore.PublicJWK) {
	t.Helper()
	if pub.Kty != ks.spec.Kty {
		t.Fatalf("Kty = %q, want %q", pub.Kty, ks.spec.Kty)
	}
	if ks.spec.Kty == keystore.KtyRSA {
		if n := new(big.Int).SetBytes(pub.N); n.BitLen() != ks.bits || len(pub.N) != ks.bits/8 {
			t.Errorf("n: %d bits in %d bytes, want %d bits", n.BitLen(), len(pub.N), ks.bits)
		}
		if e := new(big.Int).SetBytes(pub.E); e.Int64() != int64(ks.e) || !bytes.Equal(pub.E, e.Bytes()) {
			t.Errorf("e = %x, want %d, minimal", pub.E, ks.e)
		}
		return
	}
	want := ks.spec.Curve
	if want == "" {
		want = keystore.CurveP256
	}
	if pub.Crv != want {
		t.Errorf("Crv = %q, want %q", pub.Crv, want)
	}
	if len(pub.X) != ks.size || len(pub.Y) != ks.size {
		t.Errorf("coordinates of %d and %d bytes, want %d", len(pub.X), len(pub.Y), ks.size)
	}
	if _, err := stdPublicKey(pub); err != nil {
		t.Errorf("public key rejected by the reference library: %v", err)
	}
}

func (s *suite) testCreateInvalid(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec keystore.Spec
	}{
		{"oct", keystore.Spec{Kty: "oct"}},
		{"empty kty", keystore.Spec{}},
		{"RSA-HSM", keystore.Spec{Kty: "RSA-HSM"}},
		{"RSA-1024", keystore.Spec{Kty: keystore.KtyRSA, Size: 1024}},
		{"RSA-2047", keystore.Spec{Kty: keystore.KtyRSA, Size: 2047}},
		{"RSA-8192", keystore.Spec{Kty: keystore.KtyRSA, Size: 8192}},
		{"RSA-negative", keystore.Spec{Kty: keystore.KtyRSA, Size: -2048}},
		{"e=1", keystore.Spec{Kty: keystore.KtyRSA, PublicExponent: 1}},
		{"e=2", keystore.Spec{Kty: keystore.KtyRSA, PublicExponent: 2}},
		{"e=65536", keystore.Spec{Kty: keystore.KtyRSA, PublicExponent: 65536}},
		{"e=-3", keystore.Spec{Kty: keystore.KtyRSA, PublicExponent: -3}},
		{"P-192", keystore.Spec{Kty: keystore.KtyEC, Curve: "P-192"}},
		{"secp256r1", keystore.Spec{Kty: keystore.KtyEC, Curve: "secp256r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.ks.Create(context.Background(), tc.spec)
			if !errors.Is(err, keystore.ErrUnsupported) {
				t.Errorf("Create(%+v) = %v, want ErrUnsupported", tc.spec, err)
			}
		})
	}
}

func (s *suite) testCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.ks.Create(ctx, keystore.Spec{Kty: keystore.KtyEC}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a canceled context = %v, want context.Canceled", err)
	}
	key := s.key(t, specByName("EC-P-256"))
	if _, err := s.ks.Sign(ctx, key, keystore.AlgES256, make([]byte, 32)); !errors.Is(err, context.Canceled) {
		t.Errorf("Sign with a canceled context = %v, want context.Canceled", err)
	}
}

func (s *suite) testBadMaterial(t *testing.T) {
	ctx := context.Background()
	good := s.key(t, specByName("EC-P-256"))
	for _, m := range [][]byte{nil, []byte("garbage"), good.Material[:len(good.Material)/2]} {
		bad := &keystore.Key{Material: m, Public: good.Public}
		if _, err := s.ks.Sign(ctx, bad, keystore.AlgES256, make([]byte, 32)); err == nil {
			t.Errorf("Sign with Material %x succeeded", m)
		}
		if _, err := s.ks.Decrypt(ctx, bad, keystore.AlgRSAOAEP, make([]byte, 256)); err == nil {
			t.Errorf("Decrypt with Material %x succeeded", m)
		}
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	for _, name := range []string{"RSA-2048", "EC-P-256", "EC-P-256K"} {
		ks := specByName(name)
		key := s.key(t, ks)
		alg := algsFor(ks)[0].alg
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 5 {
					digest := randomBytes(t, 32)
					sig, err := s.ks.Sign(context.Background(), key, alg, digest)
					if err != nil {
						t.Errorf("%s Sign: %v", name, err)
						return
					}
					if ok, err := keystore.Verify(key.Public, alg, digest, sig); !ok || err != nil {
						t.Errorf("%s Verify = %v, %v", name, ok, err)
					}
				}
			})
		}
		wg.Wait()
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return b
}
