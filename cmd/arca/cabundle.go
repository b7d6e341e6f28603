package main

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
)

// BundleFile is the CA bundle `arca env` writes into the data directory:
// the system's roots and Arca's CA, for the variables that replace a
// program's trust store (SSL_CERT_FILE, REQUESTS_CA_BUNDLE), so that after
// `eval "$(arca env)"` pip and other programs still reach public sites.
const BundleFile = "ca-bundle.pem"

// systemRootFiles are where Linux distributions keep their root
// certificates (as Go's crypto/x509 looks for them), first found wins.
var systemRootFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Gentoo, Arch
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora, RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine
}

// writeCABundle writes DIR/ca-bundle.pem: the certificates of the system
// roots (from the first of roots that exists; none on a system without
// them) followed by Arca's CA (DIR/ca.pem), each certificate once. It is
// rewritten only when its content changes, atomically.
func writeCABundle(dir string, roots []string) (string, error) {
	ca, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, BundleFile)
	var sys []byte
	for _, f := range roots {
		if b, err := os.ReadFile(f); err == nil {
			sys = b
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	var bundle bytes.Buffer
	seen := map[string]bool{}
	for _, src := range [][]byte{sys, ca} {
		for rest := src; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" || seen[string(blk.Bytes)] {
				continue
			}
			seen[string(blk.Bytes)] = true
			if err := pem.Encode(&bundle, &pem.Block{Type: "CERTIFICATE", Bytes: blk.Bytes}); err != nil {
				return "", err
			}
		}
	}
	if old, err := os.ReadFile(out); err == nil && bytes.Equal(old, bundle.Bytes()) {
		return out, nil
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, bundle.Bytes(), 0o644); err != nil {
		return "", err
	}
	return out, os.Rename(tmp, out)
}
