package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"slices"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
)

// opRecord is a stored certificate operation and, while it is pending, the
// key it certifies and the request's settings.
type opRecord struct {
	Op      arca.CertificateOperation `json:"op"`
	Policy  *arca.CertificatePolicy   `json:"policy,omitempty"`
	Key     *keystore.Key             `json:"key,omitempty"`
	Enabled *bool                     `json:"enabled,omitempty"`
	Tags    map[string]string         `json:"tags,omitempty"`
}

const pendingDetails = "Pending certificate created. Certificate request is in progress. This may take some time based on the issuer provider. Please check again later."

// issuer resolves a policy's issuer name.
func (s *Service) issuer(ctx context.Context, vault *arca.Vault, name string) (issuerKind, error) {
	switch {
	case strings.EqualFold(name, arca.IssuerSelf):
		return kindSelf, nil
	case strings.EqualFold(name, arca.IssuerUnknown):
		return kindManual, nil
	case strings.EqualFold(name, arca.IssuerArca):
		if s.CA == nil {
			return 0, badParam("The Arca issuer is not available in this deployment.")
		}
		return kindCA, nil
	}
	var is arca.Issuer
	ok, err := s.get(ctx, issuerKey(vault, name), &is)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, badParam("Issuer %s is not found. Create the issuer first, or use Self or Unknown.", name)
	}
	if strings.EqualFold(is.Provider, arca.IssuerArca) {
		if s.CA == nil {
			return 0, badParam("The Arca issuer is not available in this deployment.")
		}
		return kindCA, nil
	}
	return kindManual, nil
}

// newKey creates (or, with reuse_key, reuses) the key a policy describes.
func (s *Service) newKey(ctx context.Context, vault *arca.Vault, name string, p *arca.CertificatePolicy) (*keystore.Key, error) {
	k := p.KeyProps
	base := strings.TrimSuffix(k.Kty, "-HSM")
	if base != k.Kty && !strings.EqualFold(vault.SKU, "premium") {
		return nil, badParam("Key type %s is not supported by a %s vault: HSM-protected keys require the premium SKU.", k.Kty, vault.SKU)
	}
	if k.ReuseKey != nil && *k.ReuseKey {
		var kv *arca.KeyVersion
		err := s.view(ctx, func(r storage.Reader) error {
			var err error
			kv, err = s.Keys.GetManagedTx(r, vault, name, "")
			return ignoreNotFound(err)
		})
		if err != nil {
			return nil, err
		}
		if kv != nil && kv.Managed && strings.TrimSuffix(kv.Key.Kty, "-HSM") == base && (base != "EC" || kv.Key.Crv == k.Curve) {
			return &keystore.Key{Material: kv.Material, Public: keystore.PublicJWK{Kty: base, N: kv.Key.N, E: kv.Key.E, Crv: kv.Key.Crv, X: kv.Key.X, Y: kv.Key.Y}}, nil
		}
	}
	spec := keystore.Spec{Kty: base}
	if base == "RSA" {
		if k.KeySize != nil {
			spec.Size = *k.KeySize
		}
	} else {
		spec.Curve = k.Curve
	}
	key, err := s.ks().Create(ctx, spec)
	if err != nil {
		return nil, mapSignErr(err)
	}
	return key, nil
}

// CreateCertificate implements arca.CertificateService. Self and Arca
// issuers complete at once; other issuers leave the operation in progress
// with a CSR until a merge.
func (s *Service) CreateCertificate(ctx context.Context, vault *arca.Vault, name string, in arca.CertificateCreate) (*arca.CertificateOperation, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if err := s.deletedConflict(ctx, vault, name); err != nil {
		return nil, err
	}
	if err := objects.CheckTags(in.Tags); err != nil {
		return nil, err
	}
	var p *arca.CertificatePolicy
	if in.Policy != nil {
		p = in.Policy
		if err := checkPolicy(p, true); err != nil {
			return nil, err
		}
	} else {
		var old *arca.CertificatePolicy
		err := s.view(ctx, func(r storage.Reader) error {
			var err error
			old, err = s.knownPolicyTx(r, vault, name)
			return ignoreNotFound(err)
		})
		if err != nil {
			return nil, err
		}
		if old == nil {
			return nil, badParam("Property policy is required: certificate %s has no policy.", name)
		}
		p = old
		if err := checkPolicy(p, true); err != nil {
			return nil, err
		}
	}
	if err := s.view(ctx, func(r storage.Reader) error { return opInProgressTx(r, vault, name) }); err != nil {
		return nil, err
	}
	op, err := s.issue(ctx, vault, name, p, in.Enabled, in.Tags, in.PreserveCertOrder, "")
	if err != nil {
		return nil, err
	}
	// Like Key Vault, the 202 reports the operation in progress even when the
	// issuer completes it at once: SDK pollers (Python's) fetch the
	// certificate only after seeing the operation go from inProgress to
	// completed on GET /pending.
	created := *op
	created.Status, created.StatusDetails, created.Target = arca.OpInProgress, pendingDetails, false
	return &created, nil
}

// opInProgressTx refuses a name whose operation is in progress.
func opInProgressTx(r storage.Reader, vault *arca.Vault, name string) error {
	var rec opRecord
	if ok, err := getTx(r, opKey(vault, name), &rec); err != nil {
		return err
	} else if ok && rec.Op.Status == arca.OpInProgress {
		return arca.Errorf(arca.KindConflict, "Conflict", "There is a pending certificate operation for %s; cancel or delete it first.", name)
	}
	return nil
}

// issue starts (and for Self and Arca, finishes) a new version under p. The
// key is created and the certificate signed first; then the policy, the
// key, secret and certificate versions and the operation are stored in one
// transaction. With onlyIf set (a renewal), that transaction first checks
// that onlyIf is still the certificate's latest version and otherwise
// fails with errNotLatest: a renewal judged due by two nodes at once (a
// leadership handed over mid-round) happens once.
func (s *Service) issue(ctx context.Context, vault *arca.Vault, name string, p *arca.CertificatePolicy, enabled *bool, tags map[string]string, preserve bool, onlyIf string) (*arca.CertificateOperation, error) {
	kind, err := s.issuer(ctx, vault, p.Issuer.Name)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	withDefaults(p, kind, now.Unix())
	key, err := s.newKey(ctx, vault, name, p)
	if err != nil {
		return nil, err
	}
	signer, err := newSigner(ctx, s.ks(), key)
	if err != nil {
		return nil, err
	}
	req, err := csr(p, signer)
	if err != nil {
		return nil, err
	}
	ver, err := objects.NewVersion(s.Clock.Now(), s.Rand)
	if err != nil {
		return nil, err
	}
	reqID, err := newVersion(s.Rand)
	if err != nil {
		return nil, err
	}
	op := arca.CertificateOperation{Name: name, Version: ver, Issuer: *p.Issuer, CSR: req, Status: arca.OpInProgress,
		StatusDetails: pendingDetails, PreserveCertOrder: preserve, RequestID: reqID}
	if enabled == nil && p.Attributes != nil {
		enabled = p.Attributes.Enabled
	}
	rec := opRecord{Op: op, Policy: p, Key: key, Enabled: enabled, Tags: tags}
	var n *newVersions
	if kind != kindManual {
		tmpl, err := template(p, now)
		if err != nil {
			return nil, err
		}
		tmpl.SignatureAlgorithm = sigAlg(signer.Public())
		parent, sign := tmpl, crypto.Signer(signer)
		var chain [][]byte
		if kind == kindCA {
			parent, sign = s.CA.Certificate(), s.CA.Signer()
			tmpl.SignatureAlgorithm = 0
			chain = [][]byte{parent.Raw}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, signer.Public(), sign)
		if err != nil {
			return nil, mapSignErr(err)
		}
		if n, err = s.prepare(ctx, vault, name, ver, key, p, der, chain, enabled, tags, preserve); err != nil {
			return nil, err
		}
		rec.Op.Status, rec.Op.StatusDetails, rec.Op.Target = arca.OpCompleted, "The certificate has been issued.", true
		rec.Key = nil
	}
	err = s.update(ctx, func(tx storage.Tx) error {
		if err := deletedConflictTx(tx, &s.c, vault, name); err != nil {
			return err
		}
		if err := opInProgressTx(tx, vault, name); err != nil {
			return err
		}
		if onlyIf != "" {
			if latest, err := s.c.LatestTx(tx, vault, name); err != nil {
				return err
			} else if latest != onlyIf {
				return errNotLatest
			}
		}
		if err := storage.PutJSON(tx, policyKey(vault, name), p); err != nil {
			return err
		}
		if n != nil {
			if err := s.putTx(tx, vault, n); err != nil {
				return err
			}
		}
		return storage.PutJSON(tx, opKey(vault, name), &rec)
	})
	if err != nil {
		return nil, err
	}
	return &rec.Op, nil
}

// newVersions is a new version of a certificate with its key and secret,
// built before the transaction that stores them.
type newVersions struct {
	kv *arca.KeyVersion
	sv *arca.SecretVersion
	cv *arca.CertificateVersion
}

// putTx stores a new version of the key, the secret and the certificate.
func (s *Service) putTx(tx storage.Tx, vault *arca.Vault, n *newVersions) error {
	if err := s.Keys.PutManagedTx(tx, vault, n.kv); err != nil {
		return err
	}
	if err := s.Secrets.PutManagedTx(tx, vault, n.sv); err != nil {
		return err
	}
	return s.c.AddVersionTx(tx, vault, n.cv, false)
}

// prepare builds a new version of the key, the secret and the certificate
// (the keystore exports the key for the secret here, outside any
// transaction). chain holds the other certificates (DER) in the order to
// keep.
func (s *Service) prepare(ctx context.Context, vault *arca.Vault, name, ver string, key *keystore.Key, p *arca.CertificatePolicy,
	der []byte, chain [][]byte, enabled *bool, tags map[string]string, preserve bool) (*newVersions, error) {
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, badParam("The X.509 certificate content is not valid: %v", err)
	}
	certs := []*x509.Certificate{leaf}
	for _, c := range chain {
		x, err := x509.ParseCertificate(c)
		if err != nil {
			return nil, badParam("The X.509 certificate chain is not valid: %v", err)
		}
		certs = append(certs, x)
	}
	now := s.Clock.Now().Unix()
	en := true
	if enabled != nil {
		en = *enabled
	}
	nbf, exp := leaf.NotBefore.Unix(), leaf.NotAfter.Unix()
	attrs := arca.Attributes{Enabled: &en, NotBefore: &nbf, Expires: &exp, Created: now, Updated: now}
	kty := p.KeyProps.Kty
	if kty == "" {
		kty = key.Public.Kty
	}
	kv := &arca.KeyVersion{Name: name, Version: ver, Material: key.Material, Attributes: attrs, Tags: tags, Managed: true,
		Key: arca.JSONWebKey{Kty: kty, KeyOps: keyOps(key.Public.Kty, p), N: key.Public.N, E: key.Public.E, Crv: key.Public.Crv, X: key.Public.X, Y: key.Public.Y}}
	if strings.HasSuffix(kty, "-HSM") {
		kv.HSMPlatform = "2"
	}
	var priv crypto.PrivateKey
	if p.KeyProps.Exportable == nil || *p.KeyProps.Exportable {
		jwk, err := s.ks().Export(ctx, key)
		if err != nil {
			return nil, mapSignErr(err)
		}
		if priv, err = keystore.PrivateKey(*jwk); err != nil {
			return nil, mapSignErr(err)
		}
	}
	ct := p.SecretProps.ContentType
	value, err := encodeSecret(ct, priv, certs)
	if err != nil {
		return nil, err
	}
	kid := "keys/" + name + "/" + ver
	sv := &arca.SecretVersion{Name: name, Version: ver, Value: value, ContentType: &ct, Attributes: attrs, Tags: tags, Managed: true}
	if s.VaultURL != nil {
		sv.KeyID = s.VaultURL(vault.Name) + "/" + kid
	}
	cv := &arca.CertificateVersion{Name: name, Version: ver, CER: der, Chain: chain, ContentType: ct, Attributes: attrs, Tags: tags,
		PreserveCertOrder: preserve, KeyID: kid, SecretID: "secrets/" + name + "/" + ver}
	return &newVersions{kv: kv, sv: sv, cv: cv}, nil
}

// keyOps derives the key's operations from the policy's key usage.
func keyOps(kty string, p *arca.CertificatePolicy) []string {
	rsa := strings.HasPrefix(kty, "RSA")
	var ops []string
	add := func(o ...string) {
		for _, x := range o {
			if !slices.Contains(ops, x) {
				ops = append(ops, x)
			}
		}
	}
	for _, u := range p.X509Props.KeyUsage {
		switch strings.ToLower(u) {
		case "digitalsignature", "nonrepudiation", "keycertsign", "crlsign":
			add("sign", "verify")
		case "keyencipherment":
			if rsa {
				add("wrapKey", "unwrapKey")
			}
		case "dataencipherment":
			if rsa {
				add("encrypt", "decrypt")
			}
		}
	}
	if len(ops) == 0 {
		if rsa {
			return []string{"sign", "verify", "wrapKey", "unwrapKey", "encrypt", "decrypt"}
		}
		return []string{"sign", "verify"}
	}
	return ops
}

func loadOpTx(r storage.Reader, vault *arca.Vault, name string) (*opRecord, error) {
	var rec opRecord
	ok, err := getTx(r, opKey(vault, name), &rec)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, arca.Errorf(arca.KindNotFound, "PendingCertificateNotFound", "Pending certificate not found: %s", name)
	}
	return &rec, nil
}

func (s *Service) loadOp(ctx context.Context, vault *arca.Vault, name string) (*opRecord, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var rec *opRecord
	err := s.view(ctx, func(r storage.Reader) error {
		var err error
		rec, err = loadOpTx(r, vault, name)
		return err
	})
	return rec, err
}

// GetCertificateOperation implements arca.CertificateService.
func (s *Service) GetCertificateOperation(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificateOperation, error) {
	rec, err := s.loadOp(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	return &rec.Op, nil
}

// errNotInProgress is Key Vault's answer to PATCH …/pending on an operation
// that is no longer in progress.
func errNotInProgress() error {
	return arca.Errorf(arca.KindForbidden, "Forbidden", "Pending status must be in progress to allow update.")
}

// UpdateCertificateOperation implements arca.CertificateService. Key Vault
// accepts an update only while the operation is in progress: with cancel it
// sets cancellation_requested, and Arca cancels at once (status
// "cancelled", the pending key dropped); without, nothing changes. On an
// operation that has completed or failed either is refused with 403
// Forbidden. Key Vault leaves a cancelled operation "inProgress" until its
// issuer stops, so a repeated request right after a cancel succeeds there:
// an operation cancelled on request therefore accepts further updates
// unchanged (idempotent), while one whose issuance finished does not.
func (s *Service) UpdateCertificateOperation(ctx context.Context, vault *arca.Vault, name string, cancel bool) (*arca.CertificateOperation, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var op arca.CertificateOperation
	err := s.update(ctx, func(tx storage.Tx) error {
		rec, err := loadOpTx(tx, vault, name)
		if err != nil {
			return err
		}
		op = rec.Op
		switch {
		case rec.Op.Status == arca.OpCancelled && rec.Op.CancellationRequested:
			return nil
		case rec.Op.Status != arca.OpInProgress:
			return errNotInProgress()
		case !cancel:
			return nil
		}
		rec.Op.CancellationRequested = true
		rec.Op.Status, rec.Op.StatusDetails, rec.Key = arca.OpCancelled, "The certificate operation was cancelled.", nil
		op = rec.Op
		return storage.PutJSON(tx, opKey(vault, name), rec)
	})
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// DeleteCertificateOperation implements arca.CertificateService.
func (s *Service) DeleteCertificateOperation(ctx context.Context, vault *arca.Vault, name string) (*arca.CertificateOperation, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	var op arca.CertificateOperation
	err := s.update(ctx, func(tx storage.Tx) error {
		rec, err := loadOpTx(tx, vault, name)
		if err != nil {
			return err
		}
		op = rec.Op
		return tx.Delete(opKey(vault, name))
	})
	if err != nil {
		return nil, err
	}
	return &op, nil
}

// parseX5C decodes merge or import certificates: DER, or PEM text.
func parseX5C(in [][]byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, b := range in {
		if bytes.Contains(b, []byte("-----BEGIN")) {
			certs, _, err := parsePEM(b)
			if err != nil {
				return nil, err
			}
			out = append(out, certs...)
			continue
		}
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, badParam("Property x5c has invalid value: the certificate could not be parsed.")
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, badParam("Property x5c is required and must hold at least one certificate.")
	}
	return out, nil
}

// MergeCertificate implements arca.CertificateService: x5c[0] must certify
// the pending operation's key.
func (s *Service) MergeCertificate(ctx context.Context, vault *arca.Vault, name string, in arca.CertificateMerge) (*arca.CertificateBundle, error) {
	rec, err := s.loadOp(ctx, vault, name)
	if err != nil {
		return nil, err
	}
	if rec.Op.Status != arca.OpInProgress || rec.Key == nil || rec.Policy == nil {
		return nil, arca.Errorf(arca.KindForbidden, "Forbidden", "Certificate %s has no pending operation in progress to merge into.", name)
	}
	if err := objects.CheckTags(in.Tags); err != nil {
		return nil, err
	}
	certs, err := parseX5C(in.X5C)
	if err != nil {
		return nil, err
	}
	pub, err := keystore.PublicKey(rec.Key.Public)
	if err != nil {
		return nil, arca.Internal(err)
	}
	if eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(certs[0].PublicKey) {
		return nil, badParam("Public key from x509 certificate and key of this instance doesn't match.")
	}
	var chain [][]byte
	for _, c := range certs[1:] {
		chain = append(chain, c.Raw)
	}
	enabled, tags := rec.Enabled, rec.Tags
	if in.Enabled != nil {
		enabled = in.Enabled
	}
	if in.Tags != nil {
		tags = in.Tags
	}
	n, err := s.prepare(ctx, vault, name, rec.Op.Version, rec.Key, rec.Policy, certs[0].Raw, chain, enabled, tags, rec.Op.PreserveCertOrder)
	if err != nil {
		return nil, err
	}
	var b arca.CertificateBundle
	err = s.update(ctx, func(tx storage.Tx) error {
		// The operation merged into must still be the one checked above.
		cur, err := loadOpTx(tx, vault, name)
		if err != nil {
			return err
		}
		if cur.Op.Status != arca.OpInProgress || cur.Key == nil || cur.Op.Version != rec.Op.Version {
			return arca.Errorf(arca.KindForbidden, "Forbidden", "Certificate %s has no pending operation in progress to merge into.", name)
		}
		if err := s.putTx(tx, vault, n); err != nil {
			return err
		}
		cur.Op.Status, cur.Op.StatusDetails, cur.Op.Target, cur.Key = arca.OpCompleted, "The certificate has been merged.", true, nil
		if err := storage.PutJSON(tx, opKey(vault, name), cur); err != nil {
			return err
		}
		p, err := policyTx(tx, vault, name)
		b = arca.CertificateBundle{CertificateVersion: *n.cv, Policy: p}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// validity returns a certificate version's X.509 validity.
func validity(cv *arca.CertificateVersion) (time.Time, time.Time, bool) {
	c, err := x509.ParseCertificate(cv.CER)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return c.NotBefore, c.NotAfter, true
}

func (s *Service) deletedConflict(ctx context.Context, vault *arca.Vault, name string) error {
	return s.view(ctx, func(r storage.Reader) error { return deletedConflictTx(r, &s.c, vault, name) })
}

// deletedConflictTx refuses a name whose certificate is soft-deleted.
func deletedConflictTx(r storage.Reader, c *objects.Collection[arca.CertificateVersion, *arca.CertificateVersion], vault *arca.Vault, name string) error {
	if _, err := c.GetDeletedTx(r, vault, name); err == nil {
		return arca.Errorf(arca.KindConflict, "Conflict",
			"Certificate %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the certificate can only be recovered or purged.", name).WithInner("ObjectIsDeletedButRecoverable")
	} else if arca.KindOf(err) != arca.KindNotFound {
		return err
	}
	return nil
}
