package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func testCert(t *testing.T, name string) []byte {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Unix(1_700_000_000, 0), NotAfter: time.Unix(1_900_000_000, 0), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestCABundle: the bundle holds the system's roots and Arca's CA, each
// once (also when the system file already holds Arca's CA, as after an
// earlier install of it), and only Arca's CA where the system has no
// roots; a second write changes nothing.
func TestCABundle(t *testing.T) {
	dir := t.TempDir()
	arcaCA, root1, root2 := testCert(t, "Arca CA"), testCert(t, "Root One"), testCert(t, "Root Two")
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), arcaCA, 0o644); err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(t.TempDir(), "roots.pem")
	if err := os.WriteFile(sys, append(append(append([]byte("# comment\n"), root1...), root2...), arcaCA...), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), "BEGIN CERTIFICATE")
	}
	out, err := writeCABundle(dir, []string{filepath.Join(dir, "missing.pem"), sys})
	if err != nil {
		t.Fatal(err)
	}
	if n := count(out); n != 3 {
		t.Fatalf("bundle holds %d certificates, want the 2 roots and Arca's CA once", n)
	}
	pool := x509.NewCertPool()
	b, _ := os.ReadFile(out)
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("bundle does not parse")
	}
	st, _ := os.Stat(out)
	if _, err := writeCABundle(dir, []string{sys}); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(out); !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("an unchanged bundle was rewritten")
	}
	out, err = writeCABundle(dir, []string{filepath.Join(dir, "missing.pem")})
	if err != nil || count(out) != 1 {
		t.Fatalf("without system roots: %v, %d certificates", err, count(out))
	}
}
