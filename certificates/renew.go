package certificates

import (
	"context"
	"errors"
	"time"

	"github.com/arcakv/arca"
)

// due reports whether a lifetime trigger has fired at now for a
// certificate valid from nbf to exp.
func due(t arca.LifetimeTrigger, nbf, exp, now time.Time) bool {
	switch {
	case t.LifetimePercentage != nil:
		life := exp.Sub(nbf)
		return !now.Before(nbf.Add(life * time.Duration(*t.LifetimePercentage) / 100))
	case t.DaysBeforeExpiry != nil:
		return !now.Before(exp.Add(-time.Duration(*t.DaysBeforeExpiry) * 24 * time.Hour))
	}
	return false
}

// RenewDue runs the lifetime actions that are due on the service's clock:
// AutoRenew issues a new version through the policy's issuer (reuse_key
// honoured; manual issuers get a pending operation), EmailContacts is
// reported once per version through Notify. It returns how many
// certificates it renewed.
func (s *Service) RenewDue(ctx context.Context, vaults arca.VaultService) (int, error) {
	vs, err := vaults.ListVaults(ctx)
	if err != nil {
		return 0, err
	}
	now := s.Clock.Now()
	n := 0
	for _, v := range vs {
		token := ""
		for {
			page, err := s.c.List(ctx, v, 0, token)
			if err != nil {
				return n, err
			}
			for _, cv := range page.Items {
				r, err := s.renewOne(ctx, v, cv, now)
				if err != nil {
					return n, err
				}
				if r {
					n++
				}
			}
			if page.Next == "" {
				break
			}
			token = page.Next
		}
	}
	return n, nil
}

// errNotLatest: the version a renewal was judged due for is no longer the
// latest (another node renewed it meanwhile).
var errNotLatest = errors.New("certificates: the certificate has a newer version than the one due for renewal")

func (s *Service) renewOne(ctx context.Context, v *arca.Vault, cv *arca.CertificateVersion, now time.Time) (bool, error) {
	nbf, exp, ok := validity(cv)
	if !ok {
		return false, nil
	}
	p, err := s.policy(ctx, v, cv.Name)
	if err != nil || p == nil {
		return false, err
	}
	for _, a := range p.LifetimeActions {
		if !due(a.Trigger, nbf, exp, now) {
			continue
		}
		switch a.Action.ActionType {
		case arca.ActionEmailContacts:
			var last string
			if _, err := s.get(ctx, noteKey(v, cv.Name), &last); err != nil {
				return false, err
			}
			if last == cv.Version {
				continue
			}
			if s.Notify != nil {
				ev := Event{Vault: v.Name, Name: cv.Name, Version: cv.Version, Action: arca.ActionEmailContacts, Expires: exp}
				c, err := s.GetContacts(ctx, v)
				if err == nil {
					ev.Contacts = c.Contacts
				} else if arca.KindOf(err) != arca.KindNotFound {
					return false, err
				}
				s.Notify(ev)
			}
			if err := s.put(ctx, noteKey(v, cv.Name), cv.Version); err != nil {
				return false, err
			}
		case arca.ActionAutoRenew:
			var rec opRecord
			if ok, err := s.get(ctx, opKey(v, cv.Name), &rec); err != nil {
				return false, err
			} else if ok && rec.Op.Status == arca.OpInProgress {
				continue
			}
			if checkPolicy(p, true) != nil {
				continue
			}
			if _, err := s.issue(ctx, v, cv.Name, p, cv.Attributes.Enabled, cv.Tags, cv.PreserveCertOrder, cv.Version); err != nil {
				if errors.Is(err, errNotLatest) {
					return false, nil // renewed by another node meanwhile
				}
				if arca.KindOf(err) == arca.KindInternal {
					return false, err
				}
				continue
			}
			return true, nil
		}
	}
	return false, nil
}
