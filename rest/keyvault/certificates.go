package keyvault

import (
	"context"
	"crypto/sha1"
	"net/http"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// Wire shapes of the certificates API (ARS data-plane Certificates
// 2026-04-01). cer, csr and x5c are standard base64 ([]byte in
// encoding/json); x5t is base64url.

type policyJSON struct {
	ID string `json:"id"`
	*arca.CertificatePolicy
}

type certBundle struct {
	ID                string            `json:"id"`
	KID               string            `json:"kid,omitempty"`
	SID               string            `json:"sid,omitempty"`
	X5T               httpx.B64URL      `json:"x5t,omitempty"`
	CER               []byte            `json:"cer,omitempty"`
	ContentType       string            `json:"contentType,omitempty"`
	Attributes        attributesJSON    `json:"attributes"`
	Tags              map[string]string `json:"tags,omitempty"`
	Policy            *policyJSON       `json:"policy,omitempty"`
	PreserveCertOrder *bool             `json:"preserveCertOrder,omitempty"`
}

type deletedCertBundle struct {
	RecoveryID         string `json:"recoveryId"`
	DeletedDate        int64  `json:"deletedDate"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate"`
	certBundle
}

type certItem struct {
	ID         string            `json:"id"`
	X5T        httpx.B64URL      `json:"x5t,omitempty"`
	Attributes attributesJSON    `json:"attributes"`
	Tags       map[string]string `json:"tags,omitempty"`
}

type deletedCertItem struct {
	RecoveryID         string `json:"recoveryId"`
	DeletedDate        int64  `json:"deletedDate"`
	ScheduledPurgeDate int64  `json:"scheduledPurgeDate"`
	certItem
}

type certOpJSON struct {
	ID                    string                 `json:"id"`
	Issuer                *arca.IssuerParameters `json:"issuer,omitempty"`
	CSR                   []byte                 `json:"csr,omitempty"`
	CancellationRequested bool                   `json:"cancellation_requested"`
	Status                string                 `json:"status"`
	StatusDetails         string                 `json:"status_details,omitempty"`
	Error                 *arca.CertificateError `json:"error,omitempty"`
	Target                string                 `json:"target,omitempty"`
	PreserveCertOrder     *bool                  `json:"preserveCertOrder,omitempty"`
	RequestID             string                 `json:"request_id"`
}

type policyIn struct {
	arca.CertificatePolicy
	Attributes *attributesIn `json:"attributes"`
}

func (p *policyIn) policy() *arca.CertificatePolicy {
	if p == nil {
		return nil
	}
	out := p.CertificatePolicy
	if a := p.Attributes; a != nil {
		out.Attributes = &arca.Attributes{Enabled: a.Enabled, NotBefore: a.NotBefore.Ptr(), Expires: a.Expires.Ptr()}
	}
	return &out
}

type certCreateIn struct {
	Policy            *policyIn         `json:"policy"`
	Attributes        *attributesIn     `json:"attributes"`
	Tags              map[string]string `json:"tags"`
	PreserveCertOrder *bool             `json:"preserveCertOrder"`
}

type certImportIn struct {
	Value             *string           `json:"value"`
	Pwd               string            `json:"pwd"`
	Policy            *policyIn         `json:"policy"`
	Attributes        *attributesIn     `json:"attributes"`
	Tags              map[string]string `json:"tags"`
	PreserveCertOrder *bool             `json:"preserveCertOrder"`
}

type certUpdateIn struct {
	Policy     *policyIn         `json:"policy"`
	Attributes *attributesIn     `json:"attributes"`
	Tags       map[string]string `json:"tags"`
}

type certMergeIn struct {
	X5C        [][]byte          `json:"x5c"`
	Attributes *attributesIn     `json:"attributes"`
	Tags       map[string]string `json:"tags"`
}

type certOpUpdateIn struct {
	CancellationRequested *bool `json:"cancellation_requested"`
}

type issuerJSON struct {
	ID          string                    `json:"id"`
	Provider    string                    `json:"provider,omitempty"`
	Credentials *issuerCredsJSON          `json:"credentials,omitempty"`
	OrgDetails  *arca.OrganizationDetails `json:"org_details,omitempty"`
	Attributes  *arca.IssuerAttributes    `json:"attributes,omitempty"`
}

type issuerCredsJSON struct {
	AccountID string `json:"account_id,omitempty"`
}

type issuerIn struct {
	Provider    *string                   `json:"provider"`
	Credentials *arca.IssuerCredentials   `json:"credentials"`
	OrgDetails  *arca.OrganizationDetails `json:"org_details"`
	Attributes  *struct {
		Enabled *bool `json:"enabled"`
	} `json:"attributes"`
}

type issuerItem struct {
	ID       string `json:"id"`
	Provider string `json:"provider,omitempty"`
}

type contactsJSON struct {
	ID       string         `json:"id"`
	Contacts []arca.Contact `json:"contacts,omitempty"`
}

func (q *vaultRequest) certID(name, version string) string {
	id := q.baseURL() + "/certificates/" + name
	if version != "" {
		id += "/" + version
	}
	return id
}

func thumbprint(der []byte) httpx.B64URL {
	if len(der) == 0 {
		return nil
	}
	h := sha1.Sum(der)
	return h[:]
}

func (q *vaultRequest) certPolicyOut(name string, p *arca.CertificatePolicy) *policyJSON {
	if p == nil {
		return nil
	}
	return &policyJSON{ID: q.certID(name, "") + "/policy", CertificatePolicy: p}
}

func (q *vaultRequest) certBundle(b *arca.CertificateBundle) certBundle {
	cv := &b.CertificateVersion
	out := certBundle{ID: q.certID(cv.Name, cv.Version), X5T: thumbprint(cv.CER), CER: cv.CER, ContentType: cv.ContentType,
		Attributes: q.attributes(cv.Attributes), Tags: cv.Tags, Policy: q.certPolicyOut(cv.Name, b.Policy)}
	if cv.KeyID != "" {
		out.KID = q.baseURL() + "/" + cv.KeyID
	}
	if cv.SecretID != "" {
		out.SID = q.baseURL() + "/" + cv.SecretID
	}
	if q.level >= level76 || cv.PreserveCertOrder {
		p := cv.PreserveCertOrder
		out.PreserveCertOrder = &p
	}
	return out
}

func (q *vaultRequest) deletedCert(d *arca.DeletedCertificate) deletedCertBundle {
	return deletedCertBundle{RecoveryID: q.baseURL() + "/deletedcertificates/" + d.Name, DeletedDate: d.DeletedDate,
		ScheduledPurgeDate: d.ScheduledPurgeDate, certBundle: q.certBundle(&d.CertificateBundle)}
}

func (q *vaultRequest) certItem(cv *arca.CertificateVersion, versioned bool) certItem {
	v := ""
	if versioned {
		v = cv.Version
	}
	return certItem{ID: q.certID(cv.Name, v), X5T: thumbprint(cv.CER), Attributes: q.attributes(cv.Attributes), Tags: cv.Tags}
}

func (q *vaultRequest) certOp(op *arca.CertificateOperation) certOpJSON {
	out := certOpJSON{ID: q.certID(op.Name, "") + "/pending", CSR: op.CSR, CancellationRequested: op.CancellationRequested,
		Status: op.Status, StatusDetails: op.StatusDetails, Error: op.Error, RequestID: op.RequestID}
	is := op.Issuer
	out.Issuer = &is
	if op.Target {
		out.Target = q.certID(op.Name, "")
	}
	if q.level >= level76 || op.PreserveCertOrder {
		p := op.PreserveCertOrder
		out.PreserveCertOrder = &p
	}
	return out
}

func (q *vaultRequest) issuerOut(is *arca.Issuer) issuerJSON {
	out := issuerJSON{ID: q.baseURL() + "/certificates/issuers/" + is.Name, Provider: is.Provider, OrgDetails: is.OrgDetails}
	if is.Credentials != nil {
		out.Credentials = &issuerCredsJSON{AccountID: is.Credentials.AccountID}
	}
	a := is.Attributes
	out.Attributes = &a
	return out
}

func (q *vaultRequest) contactsOut(c *arca.Contacts) contactsJSON {
	return contactsJSON{ID: q.baseURL() + "/certificates/contacts", Contacts: c.Contacts}
}

func (q *vaultRequest) routeCertificates() {
	segs, m := q.segs, q.r.Method
	n := len(segs)
	notFound := func() { q.fail(arca.Errorf(arca.KindNotFound, "NotFound", "The requested resource was not found.")) }
	if q.h.Certificates == nil {
		notFound()
		return
	}
	if strings.EqualFold(segs[0], "deletedcertificates") {
		switch {
		case n == 1 && m == http.MethodGet:
			q.listDeletedCerts()
		case n == 2 && segs[1] != "" && m == http.MethodGet:
			q.getDeletedCert(segs[1])
		case n == 2 && segs[1] != "" && m == http.MethodDelete:
			q.purgeCert(segs[1])
		case n == 3 && strings.EqualFold(segs[2], "recover") && m == http.MethodPost:
			q.recoverCert(segs[1])
		case n <= 3:
			q.fail(methodNotAllowed(m))
		default:
			notFound()
		}
		return
	}
	lit := ""
	if n >= 2 {
		lit = strings.ToLower(segs[1])
	}
	switch {
	case n == 1:
		if m != http.MethodGet {
			q.fail(methodNotAllowed(m))
			return
		}
		q.listCerts()
	case n == 2 && lit == "contacts":
		switch m {
		case http.MethodGet:
			q.getContacts()
		case http.MethodPut:
			q.setContacts()
		case http.MethodDelete:
			q.deleteContacts()
		default:
			q.fail(methodNotAllowed(m))
		}
	case n == 2 && lit == "issuers":
		if m != http.MethodGet {
			q.fail(methodNotAllowed(m))
			return
		}
		q.listIssuers()
	case n == 2 && lit == "restore" && m == http.MethodPost:
		q.restoreCert()
	case n == 2 && segs[1] == "":
		q.fail(methodNotAllowed(m))
	case n == 2:
		switch m {
		case http.MethodGet:
			q.getCert(segs[1], "")
		case http.MethodPatch:
			q.updateCert(segs[1], "")
		case http.MethodDelete:
			q.deleteCert(segs[1])
		default:
			q.fail(methodNotAllowed(m))
		}
	case n == 3 && lit == "issuers":
		switch m {
		case http.MethodGet:
			q.getIssuer(segs[2])
		case http.MethodPut:
			q.setIssuer(segs[2])
		case http.MethodPatch:
			q.updateIssuer(segs[2])
		case http.MethodDelete:
			q.deleteIssuer(segs[2])
		default:
			q.fail(methodNotAllowed(m))
		}
	case n == 3:
		name := segs[1]
		switch strings.ToLower(segs[2]) {
		case "versions":
			if m != http.MethodGet {
				q.fail(methodNotAllowed(m))
				return
			}
			q.listCertVersions(name)
		case "create":
			if m != http.MethodPost {
				q.fail(methodNotAllowed(m))
				return
			}
			q.createCert(name)
		case "import":
			if m != http.MethodPost {
				q.fail(methodNotAllowed(m))
				return
			}
			q.importCert(name)
		case "backup":
			if m != http.MethodPost {
				q.fail(methodNotAllowed(m))
				return
			}
			q.backupCert(name)
		case "pending":
			switch m {
			case http.MethodGet:
				q.getCertOp(name)
			case http.MethodPatch:
				q.updateCertOp(name)
			case http.MethodDelete:
				q.deleteCertOp(name)
			default:
				q.fail(methodNotAllowed(m))
			}
		case "policy":
			switch m {
			case http.MethodGet:
				q.getCertPolicy(name)
			case http.MethodPatch:
				q.updateCertPolicy(name)
			default:
				q.fail(methodNotAllowed(m))
			}
		default:
			switch m {
			case http.MethodGet:
				q.getCert(name, segs[2])
			case http.MethodPatch:
				q.updateCert(name, segs[2])
			default:
				q.fail(methodNotAllowed(m))
			}
		}
	case n == 4 && strings.EqualFold(segs[2], "pending") && strings.EqualFold(segs[3], "merge"):
		if m != http.MethodPost {
			q.fail(methodNotAllowed(m))
			return
		}
		q.mergeCert(segs[1])
	default:
		notFound()
	}
}

func (q *vaultRequest) certsSvc() arca.CertificateService { return q.h.Certificates }

func (q *vaultRequest) createCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateCreate, name) {
		return
	}
	var in certCreateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	c := arca.CertificateCreate{Policy: in.Policy.policy(), Tags: in.Tags}
	if in.Attributes != nil {
		c.Enabled = in.Attributes.Enabled
	}
	if in.PreserveCertOrder != nil {
		c.PreserveCertOrder = *in.PreserveCertOrder
	}
	op, err := q.certsSvc().CreateCertificate(q.r.Context(), q.vault, name, c)
	if err != nil {
		q.fail(err)
		return
	}
	q.w.Header().Set("Location", q.certID(name, "")+"/pending?api-version="+q.query.Get("api-version")+"&request_id="+op.RequestID)
	q.w.Header().Set("Retry-After", "10")
	httpx.WriteJSON(q.w, http.StatusAccepted, q.certOp(op))
}

func (q *vaultRequest) importCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateImport, name) {
		return
	}
	var in certImportIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Value == nil || *in.Value == "" {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property value is required."))
		return
	}
	imp := arca.CertificateImport{Value: *in.Value, Password: in.Pwd, Policy: in.Policy.policy(), Tags: in.Tags}
	if a := in.Attributes; a != nil {
		imp.Enabled, imp.NotBefore, imp.Expires = a.Enabled, a.NotBefore.Ptr(), a.Expires.Ptr()
	}
	if in.PreserveCertOrder != nil {
		imp.PreserveCertOrder = *in.PreserveCertOrder
	}
	b, err := q.certsSvc().ImportCertificate(q.r.Context(), q.vault, name, imp)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certBundle(b))
}

func (q *vaultRequest) getCert(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateGet, name) {
		return
	}
	b, err := q.certsSvc().GetCertificate(q.r.Context(), q.vault, name, version)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certBundle(b))
}

func (q *vaultRequest) updateCert(name, version string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateUpdate, name) {
		return
	}
	var in certUpdateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	u := arca.CertificateUpdate{Tags: in.Tags, Policy: in.Policy.policy()}
	if a := in.Attributes; a != nil {
		u.Attr.Enabled, u.Attr.NotBefore, u.Attr.Expires = a.Enabled, a.NotBefore.Ptr(), a.Expires.Ptr()
		u.Attr.ClearNotBefore, u.Attr.ClearExpires = a.NotBefore.Null, a.Expires.Null
	}
	b, err := q.certsSvc().UpdateCertificate(q.r.Context(), q.vault, name, version, u)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certBundle(b))
}

func (q *vaultRequest) listCerts() {
	if !q.authorize(arca.OpCertificateList, "") {
		return
	}
	pending := strings.EqualFold(q.query.Get("includePending"), "true")
	list(q, "/certificates", func(ctx context.Context, max int, tok string) (arca.Page[*arca.CertificateVersion], error) {
		return q.certsSvc().ListCertificates(ctx, q.vault, max, tok, pending)
	}, func(cv *arca.CertificateVersion) certItem { return q.certItem(cv, false) })
}

func (q *vaultRequest) listCertVersions(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateListVersions, name) {
		return
	}
	list(q, "/certificates/"+name+"/versions", func(ctx context.Context, max int, tok string) (arca.Page[*arca.CertificateVersion], error) {
		return q.certsSvc().ListCertificateVersions(ctx, q.vault, name, max, tok)
	}, func(cv *arca.CertificateVersion) certItem { return q.certItem(cv, true) })
}

func (q *vaultRequest) getCertPolicy(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePolicyGet, name) {
		return
	}
	p, err := q.certsSvc().GetCertificatePolicy(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certPolicyOut(name, p))
}

func (q *vaultRequest) updateCertPolicy(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePolicyUpdate, name) {
		return
	}
	var in policyIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	p, err := q.certsSvc().UpdateCertificatePolicy(q.r.Context(), q.vault, name, *in.policy())
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certPolicyOut(name, p))
}

func (q *vaultRequest) getCertOp(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePendingGet, name) {
		return
	}
	op, err := q.certsSvc().GetCertificateOperation(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certOp(op))
}

func (q *vaultRequest) updateCertOp(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePendingUpdate, name) {
		return
	}
	var in certOpUpdateIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.CancellationRequested == nil {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property cancellation_requested is required."))
		return
	}
	op, err := q.certsSvc().UpdateCertificateOperation(q.r.Context(), q.vault, name, *in.CancellationRequested)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certOp(op))
}

func (q *vaultRequest) deleteCertOp(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePendingDelete, name) {
		return
	}
	op, err := q.certsSvc().DeleteCertificateOperation(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certOp(op))
}

func (q *vaultRequest) mergeCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePendingMerge, name) {
		return
	}
	var in certMergeIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if len(in.X5C) == 0 {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property x5c is required."))
		return
	}
	mg := arca.CertificateMerge{X5C: in.X5C, Tags: in.Tags}
	if in.Attributes != nil {
		mg.Enabled = in.Attributes.Enabled
	}
	b, err := q.certsSvc().MergeCertificate(q.r.Context(), q.vault, name, mg)
	if err != nil {
		q.fail(err)
		return
	}
	httpx.WriteJSON(q.w, http.StatusCreated, q.certBundle(b))
}

func (q *vaultRequest) deleteCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateDelete, name) {
		return
	}
	d, err := q.certsSvc().DeleteCertificate(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedCert(d))
}

func (q *vaultRequest) getDeletedCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateGetDeleted, name) {
		return
	}
	d, err := q.certsSvc().GetDeletedCertificate(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.deletedCert(d))
}

func (q *vaultRequest) listDeletedCerts() {
	if !q.authorize(arca.OpCertificateListDeleted, "") {
		return
	}
	list(q, "/deletedcertificates", func(ctx context.Context, max int, tok string) (arca.Page[*arca.DeletedCertificate], error) {
		return q.certsSvc().ListDeletedCertificates(ctx, q.vault, max, tok)
	}, func(d *arca.DeletedCertificate) deletedCertItem {
		return deletedCertItem{RecoveryID: q.baseURL() + "/deletedcertificates/" + d.Name, DeletedDate: d.DeletedDate,
			ScheduledPurgeDate: d.ScheduledPurgeDate, certItem: q.certItem(&d.CertificateVersion, false)}
	})
}

func (q *vaultRequest) recoverCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificateRecover, name) {
		return
	}
	b, err := q.certsSvc().RecoverCertificate(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certBundle(b))
}

func (q *vaultRequest) purgeCert(name string) {
	if !q.checkName(name) || !q.authorize(arca.OpCertificatePurge, name) {
		return
	}
	if err := q.certsSvc().PurgeCertificate(q.r.Context(), q.vault, name); err != nil {
		q.fail(err)
		return
	}
	q.w.WriteHeader(http.StatusNoContent)
}

func (q *vaultRequest) backupCert(name string) {
	q.backup(arca.OpCertificateBackup, name, func(ctx context.Context) ([]byte, error) {
		return q.certsSvc().BackupCertificate(ctx, q.vault, name)
	})
}

func (q *vaultRequest) restoreCert() {
	blob, ok := q.restoreBlob(arca.OpCertificateRestore)
	if !ok {
		return
	}
	b, err := q.certsSvc().RestoreCertificate(q.r.Context(), q.vault, blob)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.certBundle(b))
}

func (q *vaultRequest) getIssuer(name string) {
	if !q.authorize(arca.OpCertificateIssuerGet, name) {
		return
	}
	is, err := q.certsSvc().GetIssuer(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.issuerOut(is))
}

func (q *vaultRequest) setIssuer(name string) {
	if !q.authorize(arca.OpCertificateIssuerSet, name) {
		return
	}
	var in issuerIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	if in.Provider == nil || *in.Provider == "" {
		q.fail(arca.Errorf(arca.KindInvalid, "BadParameter", "Property provider is required."))
		return
	}
	is := arca.Issuer{Name: name, Provider: *in.Provider, Credentials: in.Credentials, OrgDetails: in.OrgDetails}
	if in.Attributes != nil {
		is.Attributes.Enabled = in.Attributes.Enabled
	}
	out, err := q.certsSvc().SetIssuer(q.r.Context(), q.vault, is)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.issuerOut(out))
}

func (q *vaultRequest) updateIssuer(name string) {
	if !q.authorize(arca.OpCertificateIssuerUpdate, name) {
		return
	}
	var in issuerIn
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	u := arca.IssuerUpdate{Provider: in.Provider, Credentials: in.Credentials, OrgDetails: in.OrgDetails}
	if in.Attributes != nil {
		u.Enabled = in.Attributes.Enabled
	}
	out, err := q.certsSvc().UpdateIssuer(q.r.Context(), q.vault, name, u)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.issuerOut(out))
}

func (q *vaultRequest) deleteIssuer(name string) {
	if !q.authorize(arca.OpCertificateIssuerDelete, name) {
		return
	}
	out, err := q.certsSvc().DeleteIssuer(q.r.Context(), q.vault, name)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.issuerOut(out))
}

func (q *vaultRequest) listIssuers() {
	if !q.authorize(arca.OpCertificateIssuerList, "") {
		return
	}
	list(q, "/certificates/issuers", func(ctx context.Context, max int, tok string) (arca.Page[*arca.Issuer], error) {
		return q.certsSvc().ListIssuers(ctx, q.vault, max, tok)
	}, func(is *arca.Issuer) issuerItem {
		return issuerItem{ID: q.baseURL() + "/certificates/issuers/" + is.Name, Provider: is.Provider}
	})
}

func (q *vaultRequest) getContacts() {
	if !q.authorize(arca.OpCertificateContactsGet, "") {
		return
	}
	c, err := q.certsSvc().GetContacts(q.r.Context(), q.vault)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.contactsOut(c))
}

func (q *vaultRequest) setContacts() {
	if !q.authorize(arca.OpCertificateContactsSet, "") {
		return
	}
	var in arca.Contacts
	if err := httpx.DecodeBody(q.r, maxBody, &in); err != nil {
		q.fail(err)
		return
	}
	c, err := q.certsSvc().SetContacts(q.r.Context(), q.vault, in)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.contactsOut(c))
}

func (q *vaultRequest) deleteContacts() {
	if !q.authorize(arca.OpCertificateContactsDelete, "") {
		return
	}
	c, err := q.certsSvc().DeleteContacts(q.r.Context(), q.vault)
	if err != nil {
		q.fail(err)
		return
	}
	q.ok(q.contactsOut(c))
}
