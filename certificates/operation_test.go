package certificates

import (
	"context"
	"reflect"
	"testing"

	"github.com/arcakv/arca"
)

func opPolicy(issuer, subject string) *arca.CertificatePolicy {
	return &arca.CertificatePolicy{
		Issuer:    &arca.IssuerParameters{Name: issuer},
		X509Props: &arca.X509Properties{Subject: subject},
		KeyProps:  &arca.CertKeyProperties{Kty: "EC", Curve: "P-256"},
	}
}

// wantNotInProgress checks Key Vault's refusal of PATCH …/pending on an
// operation that is no longer in progress: 403 Forbidden "Pending status
// must be in progress to allow update."
func wantNotInProgress(t *testing.T, err error) {
	t.Helper()
	e, ok := err.(*arca.Error)
	if !ok || e.Kind != arca.KindForbidden || e.Code != "Forbidden" || e.Message != "Pending status must be in progress to allow update." {
		t.Fatalf("update of a finished operation = %#v, want 403 Forbidden \"Pending status must be in progress to allow update.\"", err)
	}
}

// TestUpdateCertificateOperationCompleted: once issuance has completed,
// neither a cancel nor a no-op update is accepted, and the operation keeps
// cancellation_requested false.
func TestUpdateCertificateOperationCompleted(t *testing.T) {
	s, v := newTestService(t)
	ctx := context.Background()
	if _, err := s.CreateCertificate(ctx, v, "done", arca.CertificateCreate{Policy: opPolicy(arca.IssuerSelf, "CN=done")}); err != nil {
		t.Fatal(err)
	}
	op, err := s.GetCertificateOperation(ctx, v, "done")
	if err != nil || op.Status != arca.OpCompleted || !op.Target || op.CancellationRequested {
		t.Fatalf("operation after issuance = %+v, %v; want completed with a target", op, err)
	}
	for _, cancel := range []bool{true, false} {
		_, err := s.UpdateCertificateOperation(ctx, v, "done", cancel)
		wantNotInProgress(t, err)
	}
	op, err = s.GetCertificateOperation(ctx, v, "done")
	if err != nil || op.Status != arca.OpCompleted || op.CancellationRequested {
		t.Fatalf("operation after refused updates = %+v, %v; want it unchanged", op, err)
	}
}

// TestUpdateCertificateOperationFailed: a failed operation refuses updates too.
func TestUpdateCertificateOperationFailed(t *testing.T) {
	s, v := newTestService(t)
	ctx := context.Background()
	rec := opRecord{Op: arca.CertificateOperation{Name: "bad", Version: "0123456789abcdef0123456789abcdef", Issuer: arca.IssuerParameters{Name: "Unknown"},
		Status: arca.OpFailed, Error: &arca.CertificateError{Code: "Request rejected", Message: "rejected"}, RequestID: "r"}}
	if err := s.put(ctx, opKey(v, "bad"), &rec); err != nil {
		t.Fatal(err)
	}
	for _, cancel := range []bool{true, false} {
		_, err := s.UpdateCertificateOperation(ctx, v, "bad", cancel)
		wantNotInProgress(t, err)
	}
	op, err := s.GetCertificateOperation(ctx, v, "bad")
	if err != nil || op.Status != arca.OpFailed || op.CancellationRequested {
		t.Fatalf("failed operation after refused updates = %+v, %v", op, err)
	}
}

// TestUpdateCertificateOperationInProgress: a no-op update leaves an
// operation in progress alone; a cancel cancels it, and repeating the
// cancel (or a no-op update) answers the same operation.
func TestUpdateCertificateOperationInProgress(t *testing.T) {
	s, v := newTestService(t)
	ctx := context.Background()
	if _, err := s.CreateCertificate(ctx, v, "csr", arca.CertificateCreate{Policy: opPolicy(arca.IssuerUnknown, "CN=csr")}); err != nil {
		t.Fatal(err)
	}
	op, err := s.UpdateCertificateOperation(ctx, v, "csr", false)
	if err != nil || op.Status != arca.OpInProgress || op.CancellationRequested {
		t.Fatalf("no-op update = %+v, %v; want inProgress, not cancelled", op, err)
	}
	first, err := s.UpdateCertificateOperation(ctx, v, "csr", true)
	if err != nil || first.Status != arca.OpCancelled || !first.CancellationRequested {
		t.Fatalf("cancel = %+v, %v; want cancelled with cancellation_requested", first, err)
	}
	for _, cancel := range []bool{true, false} {
		again, err := s.UpdateCertificateOperation(ctx, v, "csr", cancel)
		if err != nil || !reflect.DeepEqual(again, first) {
			t.Fatalf("update(cancel=%t) after a cancel = %+v, %v; want %+v", cancel, again, err, first)
		}
	}
	if _, err := s.UpdateCertificateOperation(ctx, v, "none", true); arca.KindOf(err) != arca.KindNotFound {
		t.Fatalf("cancel without an operation = %v, want not found", err)
	}
}

// TestCreateCertificateWithoutPolicy: Key Vault requires a policy for a
// certificate's first version ("When a Key Vault certificate is created from
// scratch, a policy needs to be supplied"), and a later create without one
// reuses the established policy.
func TestCreateCertificateWithoutPolicy(t *testing.T) {
	s, v := newTestService(t)
	ctx := context.Background()
	_, err := s.CreateCertificate(ctx, v, "fresh", arca.CertificateCreate{})
	if e, ok := err.(*arca.Error); !ok || e.Kind != arca.KindInvalid || e.Code != "BadParameter" {
		t.Fatalf("first create without a policy = %v, want 400 BadParameter", err)
	}
	if _, err := s.CreateCertificate(ctx, v, "again", arca.CertificateCreate{Policy: opPolicy(arca.IssuerSelf, "CN=again")}); err != nil {
		t.Fatal(err)
	}
	v1, err := s.GetCertificate(ctx, v, "again", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCertificate(ctx, v, "again", arca.CertificateCreate{}); err != nil {
		t.Fatalf("second create without a policy: %v", err)
	}
	v2, err := s.GetCertificate(ctx, v, "again", "")
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version == v1.Version || v2.Policy == nil || v2.Policy.X509Props.Subject != "CN=again" || v2.Policy.KeyProps.Kty != "EC" {
		t.Fatalf("second version %s (first %s) policy %+v; want a new version under the first policy", v2.Version, v1.Version, v2.Policy)
	}
}
