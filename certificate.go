package arca

import "context"

// Certificate policies, operations, issuers and contacts use Key Vault's
// wire member names (snake_case in policies) so the edge can render them
// as they are. Pointer and nil-slice members mean "not set": the policy a
// client gets back holds exactly what was set plus Azure's defaults.

// CertKeyProperties is a policy's key_props.
type CertKeyProperties struct {
	Exportable *bool  `json:"exportable,omitempty"`
	Kty        string `json:"kty,omitempty"`
	KeySize    *int   `json:"key_size,omitempty"`
	ReuseKey   *bool  `json:"reuse_key,omitempty"`
	Curve      string `json:"crv,omitempty"`
}

// CertSecretProperties is a policy's secret_props.
type CertSecretProperties struct {
	ContentType string `json:"contentType,omitempty"`
}

// SubjectAlternativeNames is x509_props.sans.
type SubjectAlternativeNames struct {
	DNSNames    []string `json:"dns_names,omitempty"`
	Emails      []string `json:"emails,omitempty"`
	UPNs        []string `json:"upns,omitempty"`
	IPAddresses []string `json:"ipAddresses,omitempty"`
	URIs        []string `json:"uris,omitempty"`
}

// Empty reports whether no alternative name is set.
func (s *SubjectAlternativeNames) Empty() bool {
	return s == nil || len(s.DNSNames)+len(s.Emails)+len(s.UPNs)+len(s.IPAddresses)+len(s.URIs) == 0
}

// BasicConstraints is x509_props.basic_constraints.
type BasicConstraints struct {
	CA bool `json:"ca"`
}

// X509Properties is a policy's x509_props.
type X509Properties struct {
	Subject          string                   `json:"subject,omitempty"`
	EKUs             []string                 `json:"ekus,omitempty"`
	SANs             *SubjectAlternativeNames `json:"sans,omitempty"`
	KeyUsage         []string                 `json:"key_usage,omitempty"`
	ValidityMonths   *int                     `json:"validity_months,omitempty"`
	BasicConstraints *BasicConstraints        `json:"basic_constraints,omitempty"`
}

// LifetimeTrigger fires at a percentage of the lifetime or a number of days
// before expiry (exactly one is set).
type LifetimeTrigger struct {
	LifetimePercentage *int `json:"lifetime_percentage,omitempty"`
	DaysBeforeExpiry   *int `json:"days_before_expiry,omitempty"`
}

// LifetimeActionType is a lifetime action's action.
type LifetimeActionType struct {
	ActionType string `json:"action_type"` // EmailContacts or AutoRenew
}

// CertLifetimeAction is one lifetime_actions entry.
type CertLifetimeAction struct {
	Trigger LifetimeTrigger    `json:"trigger"`
	Action  LifetimeActionType `json:"action"`
}

// Lifetime action types.
const (
	ActionAutoRenew     = "AutoRenew"
	ActionEmailContacts = "EmailContacts"
)

// IssuerParameters is a policy's issuer.
type IssuerParameters struct {
	Name             string `json:"name,omitempty"`
	CertType         string `json:"cty,omitempty"`
	CertTransparency *bool  `json:"cert_transparency,omitempty"`
}

// Well-known issuer names.
const (
	IssuerSelf    = "Self"
	IssuerUnknown = "Unknown"
	// IssuerArca is Arca's built-in provider: the deployment's CA.
	IssuerArca = "Arca"
)

// CertificatePolicy is a certificate's management policy.
type CertificatePolicy struct {
	KeyProps        *CertKeyProperties    `json:"key_props,omitempty"`
	SecretProps     *CertSecretProperties `json:"secret_props,omitempty"`
	X509Props       *X509Properties       `json:"x509_props,omitempty"`
	LifetimeActions []CertLifetimeAction  `json:"lifetime_actions,omitempty"`
	Issuer          *IssuerParameters     `json:"issuer,omitempty"`
	Attributes      *Attributes           `json:"attributes,omitempty"`
}

// Certificate content types.
const (
	ContentTypePKCS12 = "application/x-pkcs12"
	ContentTypePEM    = "application/x-pem-file"
)

// CertificateVersion is one version of a certificate. The key and secret of
// the same name and version hold the private key and the exportable bundle.
type CertificateVersion struct {
	Name              string            `json:"name"`
	Version           string            `json:"version"`
	CER               []byte            `json:"cer"`             // DER of the certificate
	Chain             [][]byte          `json:"chain,omitempty"` // DER of the other certificates, in stored order
	ContentType       string            `json:"contentType"`
	Attributes        Attributes        `json:"attributes"`
	Tags              map[string]string `json:"tags,omitempty"`
	PreserveCertOrder bool              `json:"preserveCertOrder,omitempty"`
	// KeyID and SecretID are the vault-relative paths of the linked
	// objects' versions ("keys/NAME/VERSION"); empty when absent.
	KeyID    string `json:"kid,omitempty"`
	SecretID string `json:"sid,omitempty"`
}

// ObjectName, ObjectVersion and IsManaged let the lifecycle store certificates.
func (c *CertificateVersion) ObjectName() string    { return c.Name }
func (c *CertificateVersion) ObjectVersion() string { return c.Version }
func (c *CertificateVersion) IsManaged() bool       { return false }

// CertificateBundle is a certificate version with its current policy.
type CertificateBundle struct {
	CertificateVersion
	Policy *CertificatePolicy
}

// DeletedCertificate is a soft-deleted certificate's latest version.
type DeletedCertificate struct {
	CertificateBundle
	Deletion
}

// CertificateError is an operation's error.
type CertificateError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Certificate operation states.
const (
	OpInProgress = "inProgress"
	OpCompleted  = "completed"
	OpCancelled  = "cancelled"
	OpFailed     = "failed"
)

// CertificateOperation is a certificate's pending (or last) creation.
type CertificateOperation struct {
	Name                  string            `json:"name"`
	Version               string            `json:"version"` // the version it creates
	Issuer                IssuerParameters  `json:"issuer"`
	CSR                   []byte            `json:"csr,omitempty"`
	CancellationRequested bool              `json:"cancellation_requested"`
	Status                string            `json:"status"`
	StatusDetails         string            `json:"status_details,omitempty"`
	Error                 *CertificateError `json:"error,omitempty"`
	// Target is set once the certificate exists.
	Target            bool   `json:"target,omitempty"`
	PreserveCertOrder bool   `json:"preserveCertOrder,omitempty"`
	RequestID         string `json:"request_id"`
}

// CertificateCreate is the input of CreateCertificate.
type CertificateCreate struct {
	Policy            *CertificatePolicy // nil: the existing certificate's policy
	Enabled           *bool
	Tags              map[string]string
	PreserveCertOrder bool
}

// CertificateImport is the input of ImportCertificate.
type CertificateImport struct {
	Value             string // base64 PKCS#12 or PEM (raw or base64)
	Password          string
	Policy            *CertificatePolicy
	Enabled           *bool
	NotBefore         *int64
	Expires           *int64
	Tags              map[string]string
	PreserveCertOrder bool
}

// CertificateUpdate is the input of UpdateCertificate.
type CertificateUpdate struct {
	Attr   SecretUpdate
	Tags   map[string]string
	Policy *CertificatePolicy
}

// CertificateMerge is the input of MergeCertificate.
type CertificateMerge struct {
	X5C     [][]byte // DER (or PEM) certificates, leaf first
	Enabled *bool
	Tags    map[string]string
}

// IssuerCredentials are an issuer's account credentials.
type IssuerCredentials struct {
	AccountID string `json:"account_id,omitempty"`
	Password  string `json:"pwd,omitempty"` // stored, never returned
}

// AdminContact is an issuer's administrator.
type AdminContact struct {
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
}

// OrganizationDetails are an issuer's org_details.
type OrganizationDetails struct {
	ID            string         `json:"id,omitempty"`
	AdminContacts []AdminContact `json:"admin_details,omitempty"`
}

// IssuerAttributes are an issuer's attributes.
type IssuerAttributes struct {
	Enabled *bool `json:"enabled,omitempty"`
	Created int64 `json:"created"`
	Updated int64 `json:"updated"`
}

// Issuer is a certificate issuer object.
type Issuer struct {
	Name        string               `json:"name"`
	Provider    string               `json:"provider"`
	Credentials *IssuerCredentials   `json:"credentials,omitempty"`
	OrgDetails  *OrganizationDetails `json:"org_details,omitempty"`
	Attributes  IssuerAttributes     `json:"attributes"`
}

// IssuerUpdate changes an issuer; nil members are unchanged.
type IssuerUpdate struct {
	Provider    *string
	Credentials *IssuerCredentials
	OrgDetails  *OrganizationDetails
	Enabled     *bool
}

// Contact is a certificate contact.
type Contact struct {
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Contacts are a vault's certificate contacts.
type Contacts struct {
	Contacts []Contact `json:"contacts"`
}

// CertificateService is the data-plane certificates API.
type CertificateService interface {
	CreateCertificate(ctx context.Context, vault *Vault, name string, in CertificateCreate) (*CertificateOperation, error)
	ImportCertificate(ctx context.Context, vault *Vault, name string, in CertificateImport) (*CertificateBundle, error)
	GetCertificate(ctx context.Context, vault *Vault, name, version string) (*CertificateBundle, error)
	UpdateCertificate(ctx context.Context, vault *Vault, name, version string, u CertificateUpdate) (*CertificateBundle, error)
	ListCertificates(ctx context.Context, vault *Vault, max int, token string, includePending bool) (Page[*CertificateVersion], error)
	ListCertificateVersions(ctx context.Context, vault *Vault, name string, max int, token string) (Page[*CertificateVersion], error)
	GetCertificatePolicy(ctx context.Context, vault *Vault, name string) (*CertificatePolicy, error)
	UpdateCertificatePolicy(ctx context.Context, vault *Vault, name string, p CertificatePolicy) (*CertificatePolicy, error)
	GetCertificateOperation(ctx context.Context, vault *Vault, name string) (*CertificateOperation, error)
	// UpdateCertificateOperation requests the cancellation of name's
	// operation (cancel) or leaves it as it is; either is refused with
	// KindForbidden once the operation has completed or failed.
	UpdateCertificateOperation(ctx context.Context, vault *Vault, name string, cancel bool) (*CertificateOperation, error)
	DeleteCertificateOperation(ctx context.Context, vault *Vault, name string) (*CertificateOperation, error)
	MergeCertificate(ctx context.Context, vault *Vault, name string, in CertificateMerge) (*CertificateBundle, error)
	DeleteCertificate(ctx context.Context, vault *Vault, name string) (*DeletedCertificate, error)
	GetDeletedCertificate(ctx context.Context, vault *Vault, name string) (*DeletedCertificate, error)
	ListDeletedCertificates(ctx context.Context, vault *Vault, max int, token string) (Page[*DeletedCertificate], error)
	RecoverCertificate(ctx context.Context, vault *Vault, name string) (*CertificateBundle, error)
	PurgeCertificate(ctx context.Context, vault *Vault, name string) error
	BackupCertificate(ctx context.Context, vault *Vault, name string) ([]byte, error)
	RestoreCertificate(ctx context.Context, vault *Vault, blob []byte) (*CertificateBundle, error)

	GetIssuer(ctx context.Context, vault *Vault, name string) (*Issuer, error)
	SetIssuer(ctx context.Context, vault *Vault, in Issuer) (*Issuer, error)
	UpdateIssuer(ctx context.Context, vault *Vault, name string, u IssuerUpdate) (*Issuer, error)
	DeleteIssuer(ctx context.Context, vault *Vault, name string) (*Issuer, error)
	ListIssuers(ctx context.Context, vault *Vault, max int, token string) (Page[*Issuer], error)

	GetContacts(ctx context.Context, vault *Vault) (*Contacts, error)
	SetContacts(ctx context.Context, vault *Vault, c Contacts) (*Contacts, error)
	DeleteContacts(ctx context.Context, vault *Vault) (*Contacts, error)
}
