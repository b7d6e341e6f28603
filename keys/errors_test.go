package keys

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

var errDisk = errors.New("disk on fire")

// TestBackupKeyReportsPolicyReadFailure: a backup never silently leaves out
// the rotation policy because it could not be read.
func TestBackupKeyReportsPolicyReadFailure(t *testing.T) {
	e := newCrashEnv(t)
	keyWithPolicy(t, e)
	e.cr.ReadErr = func(key string) error {
		if strings.HasPrefix(key, "kp/") {
			return errDisk
		}
		return nil
	}
	if _, err := e.s.BackupKey(e.ctx, e.v, "k"); arca.KindOf(err) != arca.KindInternal || !errors.Is(err, errDisk) {
		t.Fatalf("backup with an unreadable rotation policy = %v, want an internal error carrying the cause", err)
	}
	// Rotation reads the policy (for the expiry) too.
	if _, err := e.s.RotateKey(e.ctx, e.v, "k"); !errors.Is(err, errDisk) {
		t.Fatalf("rotate with an unreadable rotation policy = %v, want the cause", err)
	}
	if _, err := e.s.SetRotationPolicy(e.ctx, e.v, "k", rotate30); !errors.Is(err, errDisk) {
		t.Fatalf("set rotation policy with an unreadable old one = %v, want the cause", err)
	}
}

// oneVault is an arca.VaultService with one vault.
type oneVault struct {
	arca.VaultService
	v *arca.Vault
}

func (o oneVault) Vault(_ context.Context, name string) (*arca.Vault, error) {
	if !strings.EqualFold(name, o.v.Name) {
		return nil, arca.Errorf(arca.KindNotFound, "VaultNotFound", "no vault %s", name)
	}
	return o.v, nil
}

// TestRotateDueReportsUnreadablePolicies: a rotation policy that cannot be
// decoded is reported, not skipped in silence, and does not hold back the
// other keys; policies of gone vaults or deleted keys are skipped.
func TestRotateDueReportsUnreadablePolicies(t *testing.T) {
	e := newCrashEnv(t)
	keyWithPolicy(t, e)
	if err := e.store.Update(e.ctx, func(tx storage.Tx) error {
		if err := tx.Put("kp/v/broken", []byte("{")); err != nil {
			return err
		}
		return storage.PutJSON(tx, "kp/gone/k", &rotate30)
	}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(31 * 24 * time.Hour)
	n, err := e.s.RotateDue(e.ctx, oneVault{v: e.v})
	if n != 1 || err == nil || !strings.Contains(err.Error(), "kp/v/broken") {
		t.Fatalf("rotate due = %d, %v; want one rotation and the broken policy reported", n, err)
	}
	if vs, err := e.s.ListKeyVersions(e.ctx, e.v, "k", 0, ""); err != nil || len(vs.Items) != 2 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	// A storage failure reading the key is reported too.
	e.cr.ReadErr = func(key string) error {
		if strings.HasPrefix(key, "k/") {
			return errDisk
		}
		return nil
	}
	if _, err := e.s.RotateDue(e.ctx, oneVault{v: e.v}); !errors.Is(err, errDisk) {
		t.Fatalf("rotate due with unreadable keys = %v, want the cause", err)
	}
}
