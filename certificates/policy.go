package certificates

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/arcakv/arca"
)

func badParam(format string, args ...any) error {
	return arca.Errorf(arca.KindInvalid, "BadParameter", format, args...)
}

func ptr[T any](v T) *T { return &v }

// Key usages as Key Vault spells them (KeyUsageType) and their X.509 bits.
var keyUsageBits = []struct {
	name string
	bit  x509.KeyUsage
}{
	{"digitalSignature", x509.KeyUsageDigitalSignature},
	{"nonRepudiation", x509.KeyUsageContentCommitment},
	{"keyEncipherment", x509.KeyUsageKeyEncipherment},
	{"dataEncipherment", x509.KeyUsageDataEncipherment},
	{"keyAgreement", x509.KeyUsageKeyAgreement},
	{"keyCertSign", x509.KeyUsageCertSign},
	{"cRLSign", x509.KeyUsageCRLSign},
	{"encipherOnly", x509.KeyUsageEncipherOnly},
	{"decipherOnly", x509.KeyUsageDecipherOnly},
}

func keyUsage(names []string) (x509.KeyUsage, error) {
	var ku x509.KeyUsage
	for _, n := range names {
		found := false
		for _, k := range keyUsageBits {
			if strings.EqualFold(k.name, n) {
				ku |= k.bit
				found = true
			}
		}
		if !found {
			return 0, badParam("Property x509_props.key_usage has invalid value: %q is not a key usage.", n)
		}
	}
	return ku, nil
}

func keyUsageNames(ku x509.KeyUsage) []string {
	var out []string
	for _, k := range keyUsageBits {
		if ku&k.bit != 0 {
			out = append(out, k.name)
		}
	}
	return out
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, badParam("Property x509_props.ekus has invalid value: %q is not an object identifier.", s)
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, badParam("Property x509_props.ekus has invalid value: %q is not an object identifier.", s)
		}
		oid[i] = n
	}
	if oid[0] > 2 || (oid[0] < 2 && oid[1] >= 40) {
		return nil, badParam("Property x509_props.ekus has invalid value: %q is not an object identifier.", s)
	}
	return oid, nil
}

// Default EKUs: server and client authentication.
var defaultEKUs = []string{"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}

// issuerKind classifies a policy's issuer name.
type issuerKind int

const (
	kindSelf issuerKind = iota
	kindCA
	kindManual // Unknown and third-party providers: CSR, then merge
)

// normalizeLifetimeActions validates actions and canonicalises action_type.
func normalizeLifetimeActions(as []arca.CertLifetimeAction) error {
	if len(as) > 2 {
		return badParam("Property lifetime_actions has invalid value: at most one AutoRenew and one EmailContacts action are allowed.")
	}
	seen := map[string]bool{}
	for i := range as {
		a := &as[i]
		switch {
		case strings.EqualFold(a.Action.ActionType, arca.ActionAutoRenew):
			a.Action.ActionType = arca.ActionAutoRenew
		case strings.EqualFold(a.Action.ActionType, arca.ActionEmailContacts):
			a.Action.ActionType = arca.ActionEmailContacts
		default:
			return badParam("Property lifetime_actions.action.action_type has invalid value: %q; use AutoRenew or EmailContacts.", a.Action.ActionType)
		}
		if seen[a.Action.ActionType] {
			return badParam("Property lifetime_actions has invalid value: duplicate %s action.", a.Action.ActionType)
		}
		seen[a.Action.ActionType] = true
		t := a.Trigger
		if (t.LifetimePercentage == nil) == (t.DaysBeforeExpiry == nil) {
			return badParam("Property lifetime_actions.trigger must set exactly one of lifetime_percentage and days_before_expiry.")
		}
		if p := t.LifetimePercentage; p != nil && (*p < 1 || *p > 99) {
			return badParam("Property lifetime_actions.trigger.lifetime_percentage has invalid value %d: it must be between 1 and 99.", *p)
		}
		if d := t.DaysBeforeExpiry; d != nil && *d < 1 {
			return badParam("Property lifetime_actions.trigger.days_before_expiry has invalid value %d: it must be positive.", *d)
		}
	}
	return nil
}

// checkPolicy validates what a policy sets. forIssue additionally requires
// what issuing a certificate needs.
func checkPolicy(p *arca.CertificatePolicy, forIssue bool) error {
	if k := p.KeyProps; k != nil {
		switch k.Kty {
		case "", "RSA", "RSA-HSM", "EC", "EC-HSM":
		default:
			return badParam("Property key_props.kty has invalid value: %s is not supported for certificates.", k.Kty)
		}
		if strings.HasPrefix(k.Kty, "RSA") {
			if k.KeySize != nil && *k.KeySize != 2048 && *k.KeySize != 3072 && *k.KeySize != 4096 {
				return badParam("Property key_props.key_size has invalid value: RSA key size %d is not supported; use 2048, 3072 or 4096.", *k.KeySize)
			}
			if k.Curve != "" {
				return badParam("Property key_props.crv is not valid for RSA keys.")
			}
		}
		switch k.Curve {
		case "", "P-256", "P-384", "P-521", "P-256K":
		default:
			return badParam("Property key_props.crv has invalid value: %s is not a supported curve.", k.Curve)
		}
		if forIssue && k.Curve == "P-256K" {
			return badParam("Property key_props.crv has invalid value: P-256K keys cannot be used for X.509 certificates.")
		}
	}
	if s := p.SecretProps; s != nil && s.ContentType != "" && s.ContentType != arca.ContentTypePKCS12 && s.ContentType != arca.ContentTypePEM {
		return badParam("Property secret_props.contentType has invalid value: %s; use application/x-pkcs12 or application/x-pem-file.", s.ContentType)
	}
	if x := p.X509Props; x != nil {
		if x.Subject != "" {
			if _, err := parseSubject(x.Subject); err != nil {
				return err
			}
		}
		for _, e := range x.EKUs {
			if _, err := parseOID(e); err != nil {
				return err
			}
		}
		if _, err := keyUsage(x.KeyUsage); err != nil {
			return err
		}
		if v := x.ValidityMonths; v != nil && (*v < 0 || forIssue && (*v == 0 || *v > 1200)) {
			return badParam("Property x509_props.validity_months has invalid value %d.", *v)
		}
		if _, err := buildSANs(x.SANs); err != nil {
			return err
		}
	}
	if err := normalizeLifetimeActions(p.LifetimeActions); err != nil {
		return err
	}
	if forIssue {
		if p.Issuer == nil || p.Issuer.Name == "" {
			return badParam("Property policy.issuer.name is required.")
		}
		if p.X509Props == nil || p.X509Props.Subject == "" && p.X509Props.SANs.Empty() {
			return badParam("Property policy.x509_props must set a subject or subject alternative names.")
		}
	}
	return nil
}

// withDefaults fills what a new policy leaves out with Azure's defaults.
func withDefaults(p *arca.CertificatePolicy, kind issuerKind, now int64) {
	if p.KeyProps == nil {
		p.KeyProps = &arca.CertKeyProperties{}
	}
	k := p.KeyProps
	if k.Exportable == nil {
		k.Exportable = ptr(true)
	}
	if k.Kty == "" {
		k.Kty = "RSA"
		if k.Curve != "" {
			k.Kty = "EC"
		}
	}
	if strings.HasPrefix(k.Kty, "RSA") && k.KeySize == nil {
		k.KeySize = ptr(2048)
	}
	if strings.HasPrefix(k.Kty, "EC") && k.Curve == "" {
		k.Curve = "P-256"
		if k.KeySize != nil {
			switch *k.KeySize {
			case 384:
				k.Curve = "P-384"
			case 521:
				k.Curve = "P-521"
			}
		}
	}
	if k.ReuseKey == nil {
		k.ReuseKey = ptr(false)
	}
	if p.SecretProps == nil {
		p.SecretProps = &arca.CertSecretProperties{}
	}
	if p.SecretProps.ContentType == "" {
		p.SecretProps.ContentType = arca.ContentTypePKCS12
	}
	if p.X509Props == nil {
		p.X509Props = &arca.X509Properties{}
	}
	x := p.X509Props
	if x.EKUs == nil {
		x.EKUs = slices.Clone(defaultEKUs)
	}
	if x.KeyUsage == nil {
		x.KeyUsage = []string{"digitalSignature", "keyEncipherment"}
	}
	if x.ValidityMonths == nil {
		x.ValidityMonths = ptr(12)
	}
	if p.LifetimeActions == nil {
		act := arca.ActionAutoRenew
		if kind == kindManual {
			act = arca.ActionEmailContacts
		}
		p.LifetimeActions = []arca.CertLifetimeAction{{Trigger: arca.LifetimeTrigger{LifetimePercentage: ptr(80)}, Action: arca.LifetimeActionType{ActionType: act}}}
	}
	if p.Attributes == nil {
		p.Attributes = &arca.Attributes{Enabled: ptr(true)}
	}
	if p.Attributes.Created == 0 {
		p.Attributes.Created = now
	}
	p.Attributes.Updated = now
}

// mergePolicy applies the members u sets to p (PATCH semantics).
func mergePolicy(p *arca.CertificatePolicy, u *arca.CertificatePolicy) {
	if k := u.KeyProps; k != nil {
		if p.KeyProps == nil {
			p.KeyProps = &arca.CertKeyProperties{}
		}
		d := p.KeyProps
		if k.Kty != "" && k.Kty != d.Kty {
			d.Kty = k.Kty
			d.Curve, d.KeySize = "", nil
		}
		if k.Exportable != nil {
			d.Exportable = k.Exportable
		}
		if k.KeySize != nil {
			d.KeySize = k.KeySize
		}
		if k.ReuseKey != nil {
			d.ReuseKey = k.ReuseKey
		}
		if k.Curve != "" {
			d.Curve = k.Curve
		}
	}
	if s := u.SecretProps; s != nil && s.ContentType != "" {
		p.SecretProps = &arca.CertSecretProperties{ContentType: s.ContentType}
	}
	if x := u.X509Props; x != nil {
		if p.X509Props == nil {
			p.X509Props = &arca.X509Properties{}
		}
		d := p.X509Props
		if x.Subject != "" {
			d.Subject = x.Subject
		}
		if x.EKUs != nil {
			d.EKUs = x.EKUs
		}
		if x.SANs != nil {
			d.SANs = x.SANs
		}
		if x.KeyUsage != nil {
			d.KeyUsage = x.KeyUsage
		}
		if x.ValidityMonths != nil {
			d.ValidityMonths = x.ValidityMonths
		}
		if x.BasicConstraints != nil {
			d.BasicConstraints = x.BasicConstraints
		}
	}
	if u.LifetimeActions != nil {
		p.LifetimeActions = u.LifetimeActions
	}
	if i := u.Issuer; i != nil {
		if p.Issuer == nil {
			p.Issuer = &arca.IssuerParameters{}
		}
		if i.Name != "" {
			p.Issuer.Name = i.Name
		}
		if i.CertType != "" {
			p.Issuer.CertType = i.CertType
		}
		if i.CertTransparency != nil {
			p.Issuer.CertTransparency = i.CertTransparency
		}
	}
	if a := u.Attributes; a != nil {
		if p.Attributes == nil {
			p.Attributes = &arca.Attributes{}
		}
		if a.Enabled != nil {
			p.Attributes.Enabled = a.Enabled
		}
		if a.NotBefore != nil {
			p.Attributes.NotBefore = a.NotBefore
		}
		if a.Expires != nil {
			p.Attributes.Expires = a.Expires
		}
	}
}

// Subject attribute names (RFC 4514 and the Windows spellings Azure accepts).
var subjectOIDs = map[string]asn1.ObjectIdentifier{
	"CN": {2, 5, 4, 3}, "SERIALNUMBER": {2, 5, 4, 5}, "C": {2, 5, 4, 6}, "L": {2, 5, 4, 7},
	"S": {2, 5, 4, 8}, "ST": {2, 5, 4, 8}, "STREET": {2, 5, 4, 9}, "O": {2, 5, 4, 10}, "OU": {2, 5, 4, 11},
	"T": {2, 5, 4, 12}, "TITLE": {2, 5, 4, 12}, "G": {2, 5, 4, 42}, "GIVENNAME": {2, 5, 4, 42}, "SN": {2, 5, 4, 4},
	"POSTALCODE": {2, 5, 4, 17}, "DC": {0, 9, 2342, 19200300, 100, 1, 25}, "UID": {0, 9, 2342, 19200300, 100, 1, 1},
	"E": {1, 2, 840, 113549, 1, 9, 1}, "EMAIL": {1, 2, 840, 113549, 1, 9, 1}, "EMAILADDRESS": {1, 2, 840, 113549, 1, 9, 1},
}

// splitRDNs splits "CN=a, O=b" on unescaped, unquoted commas or semicolons.
func splitRDNs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
		case c == '"':
			quoted = !quoted
		case (c == ',' || c == ';') && !quoted:
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, badParam("Property x509_props.subject has invalid value: unterminated quote.")
	}
	return append(out, cur.String()), nil
}

// parseSubject parses an RFC 4514-ish distinguished name ("CN=a, O=b") into
// the DER of its RDN sequence, in the order written.
func parseSubject(s string) ([]byte, error) {
	parts, err := splitRDNs(s)
	if err != nil {
		return nil, err
	}
	var seq pkix.RDNSequence
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		k, v = strings.ToUpper(strings.TrimSpace(k)), strings.TrimSpace(v)
		oid, known := subjectOIDs[k]
		if !known && ok {
			if o, err := parseOID(k); err == nil {
				oid, known = o, true
			}
		}
		if !ok || !known || v == "" || len(v) > 1024 {
			return nil, badParam("Property x509_props.subject has invalid value: %q is not a valid distinguished name.", s)
		}
		var val any = v
		if oid.Equal(subjectOIDs["E"]) || oid.Equal(subjectOIDs["DC"]) {
			val = asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(v)}
		} else if oid.Equal(subjectOIDs["C"]) {
			val = asn1.RawValue{Tag: asn1.TagPrintableString, Bytes: []byte(v)}
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: oid, Value: val}})
	}
	if len(seq) == 0 {
		return nil, badParam("Property x509_props.subject has invalid value: %q is not a valid distinguished name.", s)
	}
	b, err := asn1.Marshal(seq)
	if err != nil {
		return nil, badParam("Property x509_props.subject has invalid value: %q is not a valid distinguished name.", s)
	}
	return b, nil
}

var (
	oidSAN = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}
)

// buildSANs encodes the subjectAltName extension (nil when empty),
// including UPNs as otherName, which crypto/x509 cannot write itself.
func buildSANs(s *arca.SubjectAlternativeNames) (*pkix.Extension, error) {
	if s.Empty() {
		return nil, nil
	}
	var names []asn1.RawValue
	for _, e := range s.Emails {
		if e == "" || !isASCII(e) {
			return nil, badParam("Property x509_props.sans.emails has invalid value %q.", e)
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, Bytes: []byte(e)})
	}
	for _, d := range s.DNSNames {
		if d == "" || !isASCII(d) || strings.ContainsAny(d, " /") {
			return nil, badParam("Property x509_props.sans.dns_names has invalid value %q.", d)
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(d)})
	}
	for _, u := range s.UPNs {
		if u == "" {
			return nil, badParam("Property x509_props.sans.upns has invalid value %q.", u)
		}
		val, err := asn1.MarshalWithParams(u, "utf8")
		if err != nil {
			return nil, badParam("Property x509_props.sans.upns has invalid value %q.", u)
		}
		explicit, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: val})
		oid, _ := asn1.Marshal(oidUPN)
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: append(oid, explicit...)})
	}
	for _, u := range s.URIs {
		pu, err := url.Parse(u)
		if err != nil || pu.Scheme == "" || !isASCII(u) {
			return nil, badParam("Property x509_props.sans.uris has invalid value %q.", u)
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(u)})
	}
	for _, i := range s.IPAddresses {
		ip := net.ParseIP(i)
		if ip == nil {
			return nil, badParam("Property x509_props.sans.ipAddresses has invalid value %q.", i)
		}
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		names = append(names, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 7, Bytes: ip})
	}
	b, err := asn1.Marshal(names)
	if err != nil {
		return nil, badParam("Property x509_props.sans has invalid value.")
	}
	return &pkix.Extension{Id: oidSAN, Value: b}, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}
