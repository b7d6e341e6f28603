package certificates

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
)

func issuerPrefix(v *arca.Vault) string        { return "ci/" + lower(v.Name) + "/" }
func issuerKey(v *arca.Vault, n string) string { return issuerPrefix(v) + lower(n) }
func contactsKey(v *arca.Vault) string         { return "cc/" + lower(v.Name) }
func issuerNotFound(name string) error {
	return arca.Errorf(arca.KindNotFound, "CertificateIssuerNotFound", "Issuer not found: %s", name)
}

func checkIssuerName(name string) error {
	if !arca.ValidObjectName(name) {
		return badParam("The request URI contains an invalid issuer name: %s", name)
	}
	return nil
}

// GetIssuer implements arca.CertificateService.
func (s *Service) GetIssuer(ctx context.Context, vault *arca.Vault, name string) (*arca.Issuer, error) {
	if err := checkIssuerName(name); err != nil {
		return nil, err
	}
	var is arca.Issuer
	ok, err := s.get(ctx, issuerKey(vault, name), &is)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, issuerNotFound(name)
	}
	return &is, nil
}

// SetIssuer implements arca.CertificateService (create or replace).
func (s *Service) SetIssuer(ctx context.Context, vault *arca.Vault, in arca.Issuer) (*arca.Issuer, error) {
	if err := checkIssuerName(in.Name); err != nil {
		return nil, err
	}
	if strings.EqualFold(in.Name, arca.IssuerSelf) || strings.EqualFold(in.Name, arca.IssuerUnknown) {
		return nil, badParam("Issuer name %s is reserved.", in.Name)
	}
	if in.Provider == "" {
		return nil, badParam("Property provider is required.")
	}
	now := s.Clock.Now().Unix()
	if in.Attributes.Enabled == nil {
		in.Attributes.Enabled = ptr(true)
	}
	in.Attributes.Updated = now
	err := s.update(ctx, func(tx storage.Tx) error {
		var old arca.Issuer
		in.Attributes.Created = now
		if ok, err := getTx(tx, issuerKey(vault, in.Name), &old); err != nil {
			return err
		} else if ok {
			in.Attributes.Created = old.Attributes.Created
		}
		return storage.PutJSON(tx, issuerKey(vault, in.Name), &in)
	})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// UpdateIssuer implements arca.CertificateService.
func (s *Service) UpdateIssuer(ctx context.Context, vault *arca.Vault, name string, u arca.IssuerUpdate) (*arca.Issuer, error) {
	if err := checkIssuerName(name); err != nil {
		return nil, err
	}
	now := s.Clock.Now().Unix()
	var is arca.Issuer
	err := s.update(ctx, func(tx storage.Tx) error {
		is = arca.Issuer{}
		if ok, err := getTx(tx, issuerKey(vault, name), &is); err != nil {
			return err
		} else if !ok {
			return issuerNotFound(name)
		}
		if u.Provider != nil {
			if *u.Provider == "" {
				return badParam("Property provider must not be empty.")
			}
			is.Provider = *u.Provider
		}
		if u.Credentials != nil {
			is.Credentials = u.Credentials
		}
		if u.OrgDetails != nil {
			is.OrgDetails = u.OrgDetails
		}
		if u.Enabled != nil {
			is.Attributes.Enabled = u.Enabled
		}
		is.Attributes.Updated = now
		return storage.PutJSON(tx, issuerKey(vault, name), &is)
	})
	if err != nil {
		return nil, err
	}
	return &is, nil
}

// DeleteIssuer implements arca.CertificateService.
func (s *Service) DeleteIssuer(ctx context.Context, vault *arca.Vault, name string) (*arca.Issuer, error) {
	if err := checkIssuerName(name); err != nil {
		return nil, err
	}
	var is arca.Issuer
	err := s.update(ctx, func(tx storage.Tx) error {
		is = arca.Issuer{}
		if ok, err := getTx(tx, issuerKey(vault, name), &is); err != nil {
			return err
		} else if !ok {
			return issuerNotFound(name)
		}
		return tx.Delete(issuerKey(vault, name))
	})
	if err != nil {
		return nil, err
	}
	return &is, nil
}

// ListIssuers implements arca.CertificateService.
func (s *Service) ListIssuers(ctx context.Context, vault *arca.Vault, max int, token string) (arca.Page[*arca.Issuer], error) {
	var page arca.Page[*arca.Issuer]
	if max <= 0 {
		max = objects.DefaultPageSize
	}
	prefix := issuerPrefix(vault)
	after := ""
	if token != "" {
		after = prefix + lower(token)
	}
	err := s.Store.View(ctx, func(r storage.Reader) error {
		var derr error
		err := r.Scan(prefix, after, func(k string, b []byte) bool {
			if len(page.Items) == max {
				page.Next = page.Items[len(page.Items)-1].Name
				return false
			}
			var is arca.Issuer
			if derr = json.Unmarshal(b, &is); derr != nil {
				return false
			}
			page.Items = append(page.Items, &is)
			return true
		})
		return errors.Join(err, derr)
	})
	return page, objects.Wrap(err)
}

func contactsNotFound() error {
	return arca.Errorf(arca.KindNotFound, "ContactsNotFound", "Contacts not found")
}

// GetContacts implements arca.CertificateService.
func (s *Service) GetContacts(ctx context.Context, vault *arca.Vault) (*arca.Contacts, error) {
	var c arca.Contacts
	ok, err := s.get(ctx, contactsKey(vault), &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, contactsNotFound()
	}
	return &c, nil
}

// SetContacts implements arca.CertificateService.
func (s *Service) SetContacts(ctx context.Context, vault *arca.Vault, c arca.Contacts) (*arca.Contacts, error) {
	if len(c.Contacts) == 0 {
		return nil, badParam("Property contacts is required and must hold at least one contact.")
	}
	for _, x := range c.Contacts {
		if x.Email == "" {
			return nil, badParam("Property contacts.email is required.")
		}
	}
	if err := s.put(ctx, contactsKey(vault), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// DeleteContacts implements arca.CertificateService.
func (s *Service) DeleteContacts(ctx context.Context, vault *arca.Vault) (*arca.Contacts, error) {
	var c arca.Contacts
	err := s.update(ctx, func(tx storage.Tx) error {
		c = arca.Contacts{}
		if ok, err := getTx(tx, contactsKey(vault), &c); err != nil {
			return err
		} else if !ok {
			return contactsNotFound()
		}
		return tx.Delete(contactsKey(vault))
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}
