package keystoretest

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arcakv/arca/keystore"
)

// Cross-checks with the openssl command: it verifies the keystore's
// signatures and produces ciphertexts for the keystore to decrypt.

func (s *suite) testOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	for _, c := range []struct {
		key string
		alg string
	}{
		{"RSA-2048", keystore.AlgRS256},
		{"RSA-2048", keystore.AlgRS384},
		{"RSA-2048", keystore.AlgRS512},
		{"RSA-2048", keystore.AlgPS256},
		{"RSA-2048", keystore.AlgPS384},
		{"RSA-2048", keystore.AlgPS512},
		{"RSA-3072", keystore.AlgPS256},
		{"RSA-4096", keystore.AlgRS256},
		{"RSA-2048-e3", keystore.AlgRS256},
		{"EC-P-256", keystore.AlgES256},
		{"EC-P-256K", keystore.AlgES256K},
		{"EC-P-384", keystore.AlgES384},
		{"EC-P-521", keystore.AlgES512},
	} {
		t.Run("Verify/"+c.key+"/"+c.alg, func(t *testing.T) {
			t.Parallel()
			ks := specByName(c.key)
			key := s.key(t, ks)
			a, _ := lookupAlg(c.alg)
			dir := t.TempDir()
			pubPEM := writePublicPEM(t, dir, key.Public)
			data := randomBytes(t, 1000)
			h := a.hash.New()
			h.Write(data)
			sig, err := s.ks.Sign(context.Background(), key, c.alg, h.Sum(nil))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if ks.spec.Kty == keystore.KtyEC {
				sig = ecdsaDER(sig)
			}
			dataFile := writeFile(t, dir, "data", data)
			sigFile := writeFile(t, dir, "sig", sig)
			args := []string{"dgst", "-" + strings.ToLower(strings.ReplaceAll(a.hash.String(), "-", "")), "-verify", pubPEM, "-signature", sigFile}
			if a.pss {
				args = append(args, "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1")
			}
			if out, err := exec.Command(openssl, append(args, dataFile)...).CombinedOutput(); err != nil || !bytes.Contains(out, []byte("Verified OK")) {
				t.Errorf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			// openssl must reject a signature of other data.
			data[0] ^= 1
			otherFile := writeFile(t, dir, "other", data)
			if out, err := exec.Command(openssl, append(args, otherFile)...).CombinedOutput(); err == nil {
				t.Errorf("openssl verified a signature of other data:\n%s", out)
			}
		})
	}
	for _, ea := range encAlgs {
		t.Run("Decrypt/"+ea.alg, func(t *testing.T) {
			t.Parallel()
			key := s.key(t, specByName("RSA-2048"))
			dir := t.TempDir()
			pubPEM := writePublicPEM(t, dir, key.Public)
			pt := randomBytes(t, 32)
			ptFile := writeFile(t, dir, "pt", pt)
			ctFile := filepath.Join(dir, "ct")
			args := []string{"pkeyutl", "-encrypt", "-pubin", "-inkey", pubPEM, "-in", ptFile, "-out", ctFile}
			args = append(args, opensslEncOpts(ea.alg)...)
			if out, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
			}
			ct, err := os.ReadFile(ctFile)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := s.ks.Decrypt(context.Background(), key, ea.alg, ct); err != nil || !bytes.Equal(got, pt) {
				t.Errorf("Decrypt(openssl ciphertext) = %x, %v; want %x", got, err, pt)
			}
		})
		t.Run("Encrypt/"+ea.alg, func(t *testing.T) {
			t.Parallel()
			key := s.key(t, specByName("RSA-2048"))
			jwk := s.export(t, key)
			priv, err := keystore.PrivateKey(*jwk)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			keyFile := writeFile(t, dir, "key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
			pt := randomBytes(t, 32)
			ct, err := keystore.Encrypt(key.Public, ea.alg, pt)
			if err != nil {
				t.Fatal(err)
			}
			ctFile := writeFile(t, dir, "ct", ct)
			args := append([]string{"pkeyutl", "-decrypt", "-inkey", keyFile, "-in", ctFile}, opensslEncOpts(ea.alg)...)
			out, err := exec.Command(openssl, args...).Output()
			if err != nil || !bytes.Equal(out, pt) {
				t.Errorf("openssl %s = %x, %v; want %x", strings.Join(args, " "), out, err, pt)
			}
		})
	}
}

func opensslEncOpts(alg string) []string {
	switch alg {
	case keystore.AlgRSAOAEP:
		return []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1"}
	case keystore.AlgRSAOAEP256:
		return []string{"-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256", "-pkeyopt", "rsa_mgf1_md:sha256"}
	}
	return []string{"-pkeyopt", "rsa_padding_mode:pkcs1"}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writePublicPEM writes pub as a PEM SubjectPublicKeyInfo and returns the
// file name. secp256k1 keys, which crypto/x509 cannot marshal, are encoded
// by hand (id-ecPublicKey with the named curve 1.3.132.0.10).
func writePublicPEM(t *testing.T, dir string, pub keystore.PublicJWK) string {
	t.Helper()
	var der []byte
	if pub.Crv == keystore.CurveP256K {
		curve, err := asn1.Marshal(asn1.ObjectIdentifier{1, 3, 132, 0, 10})
		if err != nil {
			t.Fatal(err)
		}
		point := append(append([]byte{4}, pub.X...), pub.Y...)
		der, err = asn1.Marshal(struct {
			Algo pkix.AlgorithmIdentifier
			Key  asn1.BitString
		}{
			Algo: pkix.AlgorithmIdentifier{
				Algorithm:  asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1},
				Parameters: asn1.RawValue{FullBytes: curve},
			},
			Key: asn1.BitString{Bytes: point, BitLength: 8 * len(point)},
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		k, err := stdPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		if der, err = x509.MarshalPKIXPublicKey(k); err != nil {
			t.Fatal(err)
		}
	}
	return writeFile(t, dir, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}
