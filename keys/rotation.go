package keys

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/keystore"
	"github.com/arcakv/arca/objects"
	"github.com/arcakv/arca/storage"
)

// Azure's rotation policy minimums.
const (
	MinExpiryDays       = 28
	MinTimeAfterCreate  = 7
	MinTimeBeforeExpiry = 7
)

func policyKey(vault *arca.Vault, name string) string {
	return "kp/" + strings.ToLower(vault.Name) + "/" + strings.ToLower(name)
}

// PurgeSideRecords removes a purged key's rotation policy (an
// objects.SideRecords for the "k" collection).
func PurgeSideRecords(tx storage.Tx, vault, name string) error {
	return tx.Delete("kp/" + strings.ToLower(vault) + "/" + strings.ToLower(name))
}

func (s *Service) storedPolicy(ctx context.Context, vault *arca.Vault, name string) (*arca.RotationPolicy, error) {
	var p arca.RotationPolicy
	err := s.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(policyKey(vault, name))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (s *Service) putPolicy(ctx context.Context, vault *arca.Vault, name string, p *arca.RotationPolicy) error {
	b, err := json.Marshal(p)
	if err != nil {
		return arca.Internal(err)
	}
	return objects.Wrap(s.Store.Update(ctx, func(tx storage.Tx) error { return tx.Put(policyKey(vault, name), b) }))
}

// DefaultRotationPolicy is what Key Vault reports for a key without one.
func DefaultRotationPolicy() *arca.RotationPolicy {
	return &arca.RotationPolicy{LifetimeActions: []arca.LifetimeAction{{TimeBeforeExpiry: "P30D", Action: "Notify"}}}
}

// GetRotationPolicy implements arca.KeyService.
func (s *Service) GetRotationPolicy(ctx context.Context, vault *arca.Vault, name string) (*arca.RotationPolicy, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if _, err := s.c.Latest(ctx, vault, name); err != nil {
		return nil, err
	}
	p, err := s.storedPolicy(ctx, vault, name)
	if errors.Is(err, storage.ErrNotFound) {
		return DefaultRotationPolicy(), nil
	}
	if err != nil {
		return nil, objects.Wrap(err)
	}
	return p, nil
}

// ValidatePolicy checks a rotation policy against Key Vault's rules and
// normalises action names.
func ValidatePolicy(p *arca.RotationPolicy, now time.Time) error {
	var expiry *Duration
	if p.ExpiryTime != "" {
		d, err := ParseDuration(p.ExpiryTime)
		if err != nil {
			return badParam("Property expiryTime has invalid value: %v.", err)
		}
		if !d.AtLeast(MinExpiryDays, now) {
			return badParam("Property expiryTime has invalid value: the expiry time must be at least %d days.", MinExpiryDays)
		}
		expiry = &d
	}
	if len(p.LifetimeActions) > 2 {
		return badParam("Property lifetimeActions has invalid value: at most two actions (one Rotate, one Notify) are allowed.")
	}
	seen := map[string]bool{}
	for i := range p.LifetimeActions {
		a := &p.LifetimeActions[i]
		switch strings.ToLower(a.Action) {
		case "rotate":
			a.Action = "Rotate"
		case "notify":
			a.Action = "Notify"
		default:
			return badParam("Property lifetimeActions has invalid value: action type %q must be Rotate or Notify.", a.Action)
		}
		if seen[a.Action] {
			return badParam("Property lifetimeActions has invalid value: only one %s action is allowed.", a.Action)
		}
		seen[a.Action] = true
		if (a.TimeAfterCreate == "") == (a.TimeBeforeExpiry == "") {
			return badParam("Property lifetimeActions has invalid value: a trigger needs exactly one of timeAfterCreate and timeBeforeExpiry.")
		}
		if a.TimeAfterCreate != "" {
			d, err := ParseDuration(a.TimeAfterCreate)
			if err != nil {
				return badParam("Property timeAfterCreate has invalid value: %v.", err)
			}
			if a.Action == "Notify" {
				return badParam("Property lifetimeActions has invalid value: a Notify action needs timeBeforeExpiry.")
			}
			if !d.AtLeast(MinTimeAfterCreate, now) {
				return badParam("Property timeAfterCreate has invalid value: it must be at least %d days.", MinTimeAfterCreate)
			}
			if expiry != nil && d.AddTo(now).After(expiry.AddTo(now).AddDate(0, 0, -MinTimeBeforeExpiry)) {
				return badParam("Property timeAfterCreate has invalid value: rotation must happen at least %d days before expiry.", MinTimeBeforeExpiry)
			}
		} else {
			d, err := ParseDuration(a.TimeBeforeExpiry)
			if err != nil {
				return badParam("Property timeBeforeExpiry has invalid value: %v.", err)
			}
			if !d.AtLeast(MinTimeBeforeExpiry, now) {
				return badParam("Property timeBeforeExpiry has invalid value: it must be at least %d days.", MinTimeBeforeExpiry)
			}
			if expiry != nil && !d.AddTo(now).Before(expiry.AddTo(now)) {
				return badParam("Property timeBeforeExpiry has invalid value: it must be shorter than expiryTime.")
			}
		}
	}
	return nil
}

// SetRotationPolicy implements arca.KeyService.
func (s *Service) SetRotationPolicy(ctx context.Context, vault *arca.Vault, name string, p arca.RotationPolicy) (*arca.RotationPolicy, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if err := ValidatePolicy(&p, now); err != nil {
		return nil, err
	}
	if _, err := s.c.Latest(ctx, vault, name); err != nil {
		return nil, err
	}
	p.Updated = now.Unix()
	if old, err := s.storedPolicy(ctx, vault, name); err == nil && old.Created != 0 {
		p.Created = old.Created
	} else {
		p.Created = now.Unix()
	}
	if err := s.putPolicy(ctx, vault, name, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// RotateKey implements arca.KeyService: a new version with the latest
// version's type, size or curve, operations, tags and release policy; the
// policy's expiryTime sets its expiry.
func (s *Service) RotateKey(ctx context.Context, vault *arca.Vault, name string) (*arca.KeyVersion, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	cur, err := s.c.Get(ctx, vault, name, "")
	if err != nil {
		return nil, err
	}
	if cur.Managed {
		return nil, arca.Errorf(arca.KindForbidden, "Forbidden", "Key %s is managed by a certificate and cannot be rotated through the keys API.", name)
	}
	spec := keystore.Spec{Kty: family(cur), Curve: cur.Key.Crv}
	if spec.Kty == "RSA" {
		spec.Size = len(cur.Key.N) * 8
		spec.PublicExponent = int(new(big.Int).SetBytes(cur.Key.E).Int64())
	}
	k, err := s.Keystore.Create(ctx, spec)
	if err != nil {
		return nil, mapKeystoreErr(err)
	}
	var exp *int64
	if p, err := s.storedPolicy(ctx, vault, name); err == nil && p.ExpiryTime != "" {
		if d, err := ParseDuration(p.ExpiryTime); err == nil {
			e := d.AddTo(s.Clock.Now()).Unix()
			exp = &e
		}
	}
	exportable := cur.Exportable
	kv, err := s.newVersion(cur.Name, cur.Key.Kty, cur.HSMPlatform != "", cur.Key.KeyOps, k, nil, nil, exp, &exportable, cur.Tags, cur.ReleasePolicy)
	if err != nil {
		return nil, err
	}
	if err := s.c.AddVersion(ctx, vault, kv, false); err != nil {
		return nil, err
	}
	return kv, nil
}

// RotateDue rotates every key whose policy's Rotate trigger has passed on
// the service clock, and returns how many keys it rotated.
func (s *Service) RotateDue(ctx context.Context, vaults arca.VaultService) (int, error) {
	type item struct {
		vault, name string
		p           arca.RotationPolicy
	}
	var todo []item
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan("kp/", "", func(k string, b []byte) bool {
			parts := strings.SplitN(strings.TrimPrefix(k, "kp/"), "/", 2)
			var p arca.RotationPolicy
			if len(parts) == 2 && json.Unmarshal(b, &p) == nil {
				todo = append(todo, item{parts[0], parts[1], p})
			}
			return true
		})
	})
	if err != nil {
		return 0, objects.Wrap(err)
	}
	now := s.Clock.Now()
	n := 0
	for _, it := range todo {
		var rot, notify *arca.LifetimeAction
		for i := range it.p.LifetimeActions {
			switch it.p.LifetimeActions[i].Action {
			case "Rotate":
				rot = &it.p.LifetimeActions[i]
			case "Notify":
				notify = &it.p.LifetimeActions[i]
			}
		}
		v, err := vaults.Vault(ctx, it.vault)
		if err != nil {
			continue
		}
		cur, err := s.c.Get(ctx, v, it.name, "")
		if err != nil {
			continue // deleted keys neither rotate nor notify
		}
		if notify != nil && cur.Attributes.Expires != nil && it.p.NotifiedVersion != cur.Version {
			if d, err := ParseDuration(notify.TimeBeforeExpiry); err == nil {
				exp := time.Unix(*cur.Attributes.Expires, 0)
				if !now.Before(d.SubFrom(exp)) {
					if s.Notify != nil {
						s.Notify(v.Name, cur.Name, cur.Version, exp)
					}
					p := it.p
					p.NotifiedVersion = cur.Version
					if err := s.putPolicy(ctx, v, cur.Name, &p); err != nil {
						return n, err
					}
				}
			}
		}
		if rot == nil {
			continue
		}
		var due time.Time
		if rot.TimeAfterCreate != "" {
			d, err := ParseDuration(rot.TimeAfterCreate)
			if err != nil {
				continue
			}
			due = d.AddTo(time.Unix(cur.Attributes.Created, 0))
		} else {
			d, err := ParseDuration(rot.TimeBeforeExpiry)
			if err != nil || cur.Attributes.Expires == nil {
				continue
			}
			due = d.SubFrom(time.Unix(*cur.Attributes.Expires, 0))
		}
		if now.Before(due) {
			continue
		}
		if _, err := s.RotateKey(ctx, v, cur.Name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
