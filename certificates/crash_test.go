package certificates

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/keys"
	"github.com/arcakv/arca/keystore/soft"
	"github.com/arcakv/arca/objects/objectstest"
	"github.com/arcakv/arca/secrets"
	"github.com/arcakv/arca/storage"
	"github.com/arcakv/arca/storage/memory"
)

// crashEnv is a certificates service whose store can crash at any write,
// over the barrier and the in-memory backend as in a deployment.
type crashEnv struct {
	s     *Service
	v     *arca.Vault
	store storage.Backend // the barrier, without faults: what a restart finds
	cr    *objectstest.Crasher
	ctx   context.Context
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	ctx := context.Background()
	store, err := barrier.Open(ctx, memory.New(), bytes.Repeat([]byte{7}, 32), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cr := objectstest.NewCrasher(store, 0)
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	v := &arca.Vault{Name: "v", TenantID: "t", SKU: "standard", RetentionDays: 7}
	return &crashEnv{s: newServiceOver(cr, store, clock), v: v, store: store, cr: cr, ctx: ctx}
}

// objState is what a restart finds of one object.
type objState struct {
	State    string // "active", "deleted" or "" (absent)
	Versions int
	Latest   string            // cleared once compared: ids differ between environments
	Tags     map[string]string `json:",omitempty"`
	Enabled  bool
	Purges   int // purge schedule entries
}

// snapshot is the state of a certificate name, comparable across two
// environments (no version ids, keys or signatures).
type snapshot struct {
	Cert, Key, Secret objState
	Aligned           bool   // the active latest versions of certificate, key and secret are one version
	Policy            string // the stored policy (JSON)
	Op                string // the operation's status, "" without one
	OpKey             bool   // the operation holds a pending key
	OpTarget          bool
	KeyPolicy         bool // a key rotation policy
}

func readObj(t *testing.T, r storage.Reader, prefix, vault, name string) objState {
	t.Helper()
	base := prefix + "/" + vault + "/"
	var o objState
	var h struct {
		Latest string `json:"latest"`
		Item   struct {
			Tags       map[string]string `json:"tags"`
			Attributes struct {
				Enabled *bool `json:"enabled"`
			} `json:"attributes"`
		} `json:"item"`
	}
	for _, st := range []string{"h", "d"} {
		b, err := r.Get(base + st + "/" + name)
		if err == storage.ErrNotFound {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.State != "" {
			t.Fatalf("%s %s is both active and deleted", prefix, name)
		}
		o.State = map[string]string{"h": "active", "d": "deleted"}[st]
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		o.Latest, o.Tags = h.Latest, h.Item.Tags
		o.Enabled = h.Item.Attributes.Enabled != nil && *h.Item.Attributes.Enabled
	}
	if err := r.Scan(base+"v/"+name+"/", "", func(string, []byte) bool { o.Versions++; return true }); err != nil {
		t.Fatal(err)
	}
	if err := r.Scan("pd/", "", func(k string, _ []byte) bool {
		if strings.HasSuffix(k, "/"+prefix+"/"+vault+"/"+name) {
			o.Purges++
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *crashEnv) snapshot(t *testing.T, name string) snapshot {
	t.Helper()
	var s snapshot
	err := e.store.View(e.ctx, func(r storage.Reader) error {
		s.Cert = readObj(t, r, "c", e.v.Name, name)
		s.Key = readObj(t, r, "k", e.v.Name, name)
		s.Secret = readObj(t, r, "s", e.v.Name, name)
		s.Aligned = s.Cert.Latest != "" && s.Cert.Latest == s.Key.Latest && s.Cert.Latest == s.Secret.Latest
		s.Cert.Latest, s.Key.Latest, s.Secret.Latest = "", "", ""
		if b, err := r.Get("cp/" + e.v.Name + "/" + name); err == nil {
			s.Policy = string(b)
		} else if err != storage.ErrNotFound {
			return err
		}
		if b, err := r.Get("co/" + e.v.Name + "/" + name); err == nil {
			var rec opRecord
			if err := json.Unmarshal(b, &rec); err != nil {
				return err
			}
			s.Op, s.OpKey, s.OpTarget = rec.Op.Status, rec.Key != nil, rec.Op.Target
		} else if err != storage.ErrNotFound {
			return err
		}
		if _, err := r.Get("kp/" + e.v.Name + "/" + name); err == nil {
			s.KeyPolicy = true
		} else if err != storage.ErrNotFound {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func selfPolicy(subject string) *arca.CertificatePolicy {
	return &arca.CertificatePolicy{
		Issuer:    &arca.IssuerParameters{Name: arca.IssuerSelf},
		X509Props: &arca.X509Properties{Subject: subject},
		KeyProps:  &arca.CertKeyProperties{Kty: "EC", Curve: "P-256"},
	}
}

// signCSR certifies the pending operation's CSR with a throwaway CA.
func signCSR(t *testing.T, csrDER []byte) []byte {
	t.Helper()
	req, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Unix(1_700_000_000, 0), NotAfter: time.Unix(1_900_000_000, 0), KeyUsage: x509.KeyUsageCertSign}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: req.Subject, NotBefore: ca.NotBefore, NotAfter: ca.NotAfter}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, req.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func importPEM(t *testing.T) string {
	t.Helper()
	k, c := testPair(t)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// crashCase is one domain change on certificate "c": setup brings the
// store to the state before it, op makes it.
type crashCase struct {
	name  string
	setup func(t *testing.T, e *crashEnv) any
	op    func(e *crashEnv, state any) error
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func created(t *testing.T, e *crashEnv) any {
	_, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Policy: selfPolicy("CN=c"), Tags: map[string]string{"a": "1"}})
	must(t, err)
	return nil
}

func deletedCert(t *testing.T, e *crashEnv) any {
	created(t, e)
	_, err := e.s.DeleteCertificate(e.ctx, e.v, "c")
	must(t, err)
	return nil
}

var crashCases = []crashCase{
	{"create/Self", func(*testing.T, *crashEnv) any { return nil }, func(e *crashEnv, _ any) error {
		_, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Policy: selfPolicy("CN=c")})
		return err
	}},
	{"create/new version", created, func(e *crashEnv, _ any) error {
		_, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Tags: map[string]string{"b": "2"}})
		return err
	}},
	{"create/Unknown", func(*testing.T, *crashEnv) any { return nil }, func(e *crashEnv, _ any) error {
		p := selfPolicy("CN=c")
		p.Issuer.Name = arca.IssuerUnknown
		_, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Policy: p})
		return err
	}},
	{"merge", func(t *testing.T, e *crashEnv) any {
		p := selfPolicy("CN=c")
		p.Issuer.Name = arca.IssuerUnknown
		op, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Policy: p})
		must(t, err)
		return signCSR(t, op.CSR)
	}, func(e *crashEnv, der any) error {
		_, err := e.s.MergeCertificate(e.ctx, e.v, "c", arca.CertificateMerge{X5C: [][]byte{der.([]byte)}})
		return err
	}},
	{"import", func(t *testing.T, e *crashEnv) any { return importPEM(t) }, func(e *crashEnv, value any) error {
		_, err := e.s.ImportCertificate(e.ctx, e.v, "c", arca.CertificateImport{Value: value.(string)})
		return err
	}},
	{"update with policy", created, func(e *crashEnv, _ any) error {
		_, err := e.s.UpdateCertificate(e.ctx, e.v, "c", "", arca.CertificateUpdate{Tags: map[string]string{"u": "1"},
			Policy: &arca.CertificatePolicy{X509Props: &arca.X509Properties{Subject: "CN=updated"}}})
		return err
	}},
	{"delete", created, func(e *crashEnv, _ any) error {
		_, err := e.s.DeleteCertificate(e.ctx, e.v, "c")
		return err
	}},
	{"recover", deletedCert, func(e *crashEnv, _ any) error {
		_, err := e.s.RecoverCertificate(e.ctx, e.v, "c")
		return err
	}},
	{"purge", deletedCert, func(e *crashEnv, _ any) error {
		return e.s.PurgeCertificate(e.ctx, e.v, "c")
	}},
	{"restore", func(t *testing.T, e *crashEnv) any {
		created(t, e)
		blob, err := e.s.BackupCertificate(e.ctx, e.v, "c")
		must(t, err)
		deletedCert(t, e)
		must(t, e.s.PurgeCertificate(e.ctx, e.v, "c"))
		return blob
	}, func(e *crashEnv, blob any) error {
		_, err := e.s.RestoreCertificate(e.ctx, e.v, blob.([]byte))
		return err
	}},
	{"renew", func(t *testing.T, e *crashEnv) any {
		p := selfPolicy("CN=c")
		p.LifetimeActions = []arca.CertLifetimeAction{{Trigger: arca.LifetimeTrigger{LifetimePercentage: ptr(50)},
			Action: arca.LifetimeActionType{ActionType: arca.ActionAutoRenew}}}
		_, err := e.s.CreateCertificate(e.ctx, e.v, "c", arca.CertificateCreate{Policy: p})
		must(t, err)
		e.s.Clock.(*arca.ManualClock).Advance(200 * 24 * time.Hour)
		return nil
	}, func(e *crashEnv, _ any) error {
		n, err := e.s.RenewDue(e.ctx, oneVault{v: e.v})
		if err == nil && n != 1 {
			return arca.Errorf(arca.KindInternal, "", "renewed %d", n)
		}
		return err
	}},
}

// TestCrashLeavesWholeCertificate: a crash at any write of a certificate's
// domain change leaves the state fully before or fully after it, never a
// certificate without its key or secret, a key or secret without their
// certificate, or an operation without what it describes. Each change is
// one transaction.
func TestCrashLeavesWholeCertificate(t *testing.T) {
	for _, tc := range crashCases {
		t.Run(tc.name, func(t *testing.T) {
			ref := newCrashEnv(t)
			st := tc.setup(t, ref)
			before := ref.snapshot(t, "c")
			ref.cr.Reset(0)
			if err := tc.op(ref, st); err != nil {
				t.Fatalf("without a crash: %v", err)
			}
			after := ref.snapshot(t, "c")
			if reflect.DeepEqual(before, after) {
				t.Fatalf("the change changed nothing: %+v", after)
			}
			if n := ref.cr.Updates(); n != 1 {
				t.Errorf("the change ran %d transactions, want 1", n)
			}
			writes := ref.cr.Writes()
			for n := 1; n <= writes; n++ {
				e := newCrashEnv(t)
				st := tc.setup(t, e)
				e.cr.Reset(n)
				if err := tc.op(e, st); err == nil {
					t.Fatalf("crash at write %d/%d: the change reported success", n, writes)
				}
				got := e.snapshot(t, "c")
				if !reflect.DeepEqual(got, before) && !reflect.DeepEqual(got, after) {
					t.Errorf("crash at write %d/%d left a partial state:\n got    %+v\n before %+v\n after  %+v", n, writes, got, before, after)
				}
			}
			e := newCrashEnv(t)
			st = tc.setup(t, e)
			e.cr.Reset(0)
			e.cr.Replay = true
			if err := tc.op(e, st); err != nil {
				t.Fatalf("with replayed transactions: %v", err)
			}
			if got := e.snapshot(t, "c"); !reflect.DeepEqual(got, after) {
				t.Errorf("with replayed transactions:\n got   %+v\n want  %+v", got, after)
			}
		})
	}
}

// oneVault is an arca.VaultService with one vault, for RenewDue.
type oneVault struct {
	arca.VaultService
	v *arca.Vault
}

func (o oneVault) ListVaults(context.Context) ([]*arca.Vault, error) { return []*arca.Vault{o.v}, nil }

// newServiceOver returns a Service writing through store; sealer seals backups.
func newServiceOver(store barrier.Sealed, sealer secrets.Sealer, clock arca.Clock) *Service {
	ks := keys.New(store, soft.New(rand.Reader), sealer, clock, rand.Reader)
	ss := secrets.New(store, sealer, clock, rand.Reader)
	return New(store, ks.Keystore, ks, ss, sealer, clock, rand.Reader)
}
