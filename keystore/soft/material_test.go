package soft

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/arcakv/arca/keystore"
	"github.com/decred/dcrd/dcrec/secp256k1/v4"
)

var materialSpecs = []keystore.Spec{
	{Kty: keystore.KtyRSA},
	{Kty: keystore.KtyEC, Curve: keystore.CurveP256},
	{Kty: keystore.KtyEC, Curve: keystore.CurveP256K},
	{Kty: keystore.KtyEC, Curve: keystore.CurveP384},
	{Kty: keystore.KtyEC, Curve: keystore.CurveP521},
}

func TestMaterialRoundTrip(t *testing.T) {
	ks := New(nil)
	for _, spec := range materialSpecs {
		key, err := ks.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		priv, err := parseMaterial(key.Material)
		if err != nil {
			t.Fatalf("%+v: parseMaterial: %v", spec, err)
		}
		again, err := marshalMaterial(priv)
		if err != nil || !bytes.Equal(again, key.Material) {
			t.Errorf("%+v: material does not round-trip (%v)", spec, err)
		}
		jwk, err := keystore.PrivateJWKFromKey(priv)
		if err != nil || !reflect.DeepEqual(jwk.PublicJWK, key.Public) {
			t.Errorf("%+v: material public key differs (%v)", spec, err)
		}
		// Stdlib keys are plain PKCS #8; secp256k1 keys are not parsable by
		// crypto/x509 (unknown curve) but are still PKCS #8.
		_, err = x509.ParsePKCS8PrivateKey(key.Material)
		if (err == nil) == (spec.Curve == keystore.CurveP256K) {
			t.Errorf("%+v: x509.ParsePKCS8PrivateKey = %v", spec, err)
		}
	}
}

// TestMaterialOpenSSL checks that OpenSSL reads every material as PKCS #8,
// with the right curve.
func TestMaterialOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	ks := New(nil)
	for _, spec := range materialSpecs {
		key, err := ks.Create(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "key.der")
		if err := os.WriteFile(f, key.Material, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(openssl, "pkey", "-inform", "DER", "-in", f, "-noout", "-text").CombinedOutput()
		if err != nil {
			t.Fatalf("%+v: openssl pkey: %v\n%s", spec, err, out)
		}
		want := map[string]string{
			keystore.CurveP256:  "prime256v1",
			keystore.CurveP256K: "secp256k1",
			keystore.CurveP384:  "secp384r1",
			keystore.CurveP521:  "secp521r1",
			"":                  "Private-Key: (2048 bit",
		}[spec.Curve]
		if !strings.Contains(string(out), want) {
			t.Errorf("%+v: openssl output lacks %q:\n%s", spec, want, out)
		}
		// OpenSSL's own encoding of the key parses back to the same key.
		out, err = exec.Command(openssl, "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-in", f, "-outform", "DER").Output()
		if err != nil {
			t.Fatal(err)
		}
		priv, err := parseMaterial(out)
		if err != nil {
			t.Fatalf("%+v: parseMaterial(openssl output): %v", spec, err)
		}
		if jwk, _ := keystore.PrivateJWKFromKey(priv); jwk == nil || !reflect.DeepEqual(jwk.PublicJWK, key.Public) {
			t.Errorf("%+v: openssl re-encoding is another key", spec)
		}
	}
}

func TestParseMaterialInvalid(t *testing.T) {
	k, _ := secp256k1.GeneratePrivateKey()
	good, err := marshalMaterial(k)
	if err != nil {
		t.Fatal(err)
	}
	var info pkcs8
	if _, err := asn1.Unmarshal(good, &info); err != nil {
		t.Fatal(err)
	}
	withInner := func(ec ecPrivateKey) []byte {
		inner, _ := asn1.Marshal(ec)
		i := info
		i.PrivateKey = inner
		der, _ := asn1.Marshal(i)
		return der
	}
	n := secp256k1.Params().N.Bytes()
	for name, m := range map[string][]byte{
		"nil":          nil,
		"garbage":      []byte("garbage"),
		"truncated":    good[:len(good)-3],
		"trailing":     append(bytes.Clone(good), 0),
		"zero scalar":  withInner(ecPrivateKey{Version: 1, PrivateKey: make([]byte, 32)}),
		"order":        withInner(ecPrivateKey{Version: 1, PrivateKey: n}),
		"short scalar": withInner(ecPrivateKey{Version: 1, PrivateKey: []byte{1}}),
		"version 2":    withInner(ecPrivateKey{Version: 2, PrivateKey: k.Serialize()}),
		"other curve":  withInner(ecPrivateKey{Version: 1, PrivateKey: k.Serialize(), NamedCurveOID: asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}}),
		"inner junk":   withInner(ecPrivateKey{}),
	} {
		if _, err := parseMaterial(m); !errors.Is(err, keystore.ErrInvalidKey) {
			t.Errorf("%s: parseMaterial = %v, want ErrInvalidKey", name, err)
		}
	}
	// The curve OID inside ECPrivateKey, when present, is accepted.
	if _, err := parseMaterial(withInner(ecPrivateKey{Version: 1, PrivateKey: k.Serialize(), NamedCurveOID: oidSecp256k1})); err != nil {
		t.Errorf("parseMaterial(with curve OID): %v", err)
	}
}

// countingReader is a deterministic, non-thread-safe byte source.
type countingReader struct{ n byte }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		r.n++
		p[i] = r.n
	}
	return len(p), nil
}

func TestRandSource(t *testing.T) {
	// secp256k1 generation honours the injected source.
	a, err := New(&countingReader{}).Create(context.Background(), keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP256K})
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(&countingReader{}).Create(context.Background(), keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP256K})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Material, b.Material) {
		t.Error("same random source, different secp256k1 keys")
	}
	// A non-thread-safe source is used under a lock.
	ks := New(&countingReader{})
	done := make(chan error)
	for range 8 {
		go func() {
			_, err := ks.Create(context.Background(), keystore.Spec{Kty: keystore.KtyEC, Curve: keystore.CurveP256K})
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
