package certificates

import (
	"errors"
	"strings"
	"testing"

	"github.com/arcakv/arca"
)

var errDisk = errors.New("disk on fire")

// TestStorageErrorsNotDropped: an unreadable pending operation is an
// internal error carrying its cause, never a 404 or a silently different
// answer.
func TestStorageErrorsNotDropped(t *testing.T) {
	e := newCrashEnv(t)
	p := selfPolicy("CN=p")
	p.Issuer.Name = arca.IssuerUnknown
	if _, err := e.s.CreateCertificate(e.ctx, e.v, "p", arca.CertificateCreate{Policy: p}); err != nil {
		t.Fatal(err)
	}
	e.cr.ReadErr = func(key string) error {
		if strings.HasPrefix(key, "co/") {
			return errDisk
		}
		return nil
	}
	if _, err := e.s.GetCertificatePolicy(e.ctx, e.v, "p"); !errors.Is(err, errDisk) {
		t.Errorf("policy of a pending certificate, operation unreadable = %v, want the cause", err)
	}
	if _, err := e.s.GetCertificate(e.ctx, e.v, "p", ""); !errors.Is(err, errDisk) {
		t.Errorf("pending certificate, operation unreadable = %v, want the cause", err)
	}
	if _, err := e.s.CreateCertificate(e.ctx, e.v, "p", arca.CertificateCreate{}); !errors.Is(err, errDisk) {
		t.Errorf("create without a policy, operation unreadable = %v, want the cause", err)
	}
}
