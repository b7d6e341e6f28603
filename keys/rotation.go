package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// readPolicy returns the stored rotation policy of a key; nil without one.
func readPolicy(r storage.Reader, vault *arca.Vault, name string) (*arca.RotationPolicy, error) {
	var p arca.RotationPolicy
	if err := storage.GetJSON(r, policyKey(vault, name), &p); errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &p, nil
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
	var p *arca.RotationPolicy
	err := s.Store.View(ctx, func(r storage.Reader) error {
		if _, err := s.c.LatestTx(r, vault, name); err != nil {
			return err
		}
		var err error
		p, err = readPolicy(r, vault, name)
		return err
	})
	if err != nil {
		return nil, objects.Wrap(err)
	}
	if p == nil {
		return DefaultRotationPolicy(), nil
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
	p.Updated = now.Unix()
	err := s.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := s.c.LatestTx(tx, vault, name); err != nil {
			return err
		}
		old, err := readPolicy(tx, vault, name)
		if err != nil {
			return err
		}
		p.Created = now.Unix()
		if old != nil && old.Created != 0 {
			p.Created = old.Created
		}
		return storage.PutJSON(tx, policyKey(vault, name), &p)
	})
	if err != nil {
		return nil, objects.Wrap(err)
	}
	return &p, nil
}

// RotateKey implements arca.KeyService: a new version with the latest
// version's type, size or curve, operations, tags and release policy; the
// policy's expiryTime sets its expiry.
func (s *Service) RotateKey(ctx context.Context, vault *arca.Vault, name string) (*arca.KeyVersion, error) {
	return s.rotate(ctx, vault, name, "")
}

// errNotLatest: the version a scheduled rotation judged due is no longer
// the latest (another node, or a user, rotated the key meanwhile).
var errNotLatest = errors.New("keys: the key has a newer version than the one due for rotation")

// rotate is RotateKey; with onlyIf set, the new version is added only if
// onlyIf is still the latest version, checked in the transaction that adds
// it (errNotLatest otherwise). That makes a due rotation happen once even
// when two nodes run the rotation job at the same time (a leadership
// handed over while the old leader is still finishing its round).
func (s *Service) rotate(ctx context.Context, vault *arca.Vault, name, onlyIf string) (*arca.KeyVersion, error) {
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
	exportable := cur.Exportable
	kv, err := s.newVersion(cur.Name, cur.Key.Kty, cur.HSMPlatform != "", cur.Key.KeyOps, k, nil, nil, nil, &exportable, cur.Tags, cur.ReleasePolicy)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	err = s.Store.Update(ctx, func(tx storage.Tx) error {
		p, err := readPolicy(tx, vault, name)
		if err != nil {
			return err
		}
		if onlyIf != "" {
			latest, err := s.c.LatestTx(tx, vault, name)
			if err != nil {
				return err
			}
			if latest != onlyIf {
				return errNotLatest
			}
		}
		kv.Attributes.Expires = nil
		if p != nil && p.ExpiryTime != "" {
			if d, err := ParseDuration(p.ExpiryTime); err == nil { // validated when set
				e := d.AddTo(now).Unix()
				kv.Attributes.Expires = &e
			}
		}
		return s.c.AddVersionTx(tx, vault, kv, false)
	})
	if err != nil {
		return nil, objects.Wrap(err)
	}
	return kv, nil
}

// RotateDue rotates every key whose policy's Rotate trigger has passed on
// the service clock, and returns how many keys it rotated. A key it cannot
// read or rotate does not hold the others back: their errors are joined.
func (s *Service) RotateDue(ctx context.Context, vaults arca.VaultService) (int, error) {
	type item struct {
		vault, name string
		p           arca.RotationPolicy
	}
	var todo []item
	var errs []error
	err := s.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan("kp/", "", func(k string, b []byte) bool {
			parts := strings.SplitN(strings.TrimPrefix(k, "kp/"), "/", 2)
			var p arca.RotationPolicy
			if len(parts) != 2 {
				return true
			}
			if err := json.Unmarshal(b, &p); err != nil {
				errs = append(errs, fmt.Errorf("keys: rotation policy %s: %w", k, err))
				return true
			}
			todo = append(todo, item{parts[0], parts[1], p})
			return true
		})
	})
	if err != nil {
		return 0, objects.Wrap(err)
	}
	now := s.Clock.Now()
	n := 0
	for _, it := range todo {
		rotated, err := s.rotateOne(ctx, vaults, it.vault, it.name, &it.p, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("keys: rotation of %s/%s: %w", it.vault, it.name, err))
		}
		if rotated {
			n++
		}
	}
	return n, errors.Join(errs...)
}

// rotateOne runs the lifetime actions of one key's policy p that are due at
// now: Notify once per version, then Rotate.
func (s *Service) rotateOne(ctx context.Context, vaults arca.VaultService, vault, name string, p *arca.RotationPolicy, now time.Time) (bool, error) {
	var rot, notify *arca.LifetimeAction
	for i := range p.LifetimeActions {
		switch p.LifetimeActions[i].Action {
		case "Rotate":
			rot = &p.LifetimeActions[i]
		case "Notify":
			notify = &p.LifetimeActions[i]
		}
	}
	v, err := vaults.Vault(ctx, vault)
	if arca.KindOf(err) == arca.KindNotFound {
		return false, nil // the vault is gone; its purge takes the policy
	} else if err != nil {
		return false, err
	}
	cur, err := s.c.Get(ctx, v, name, "")
	if arca.KindOf(err) == arca.KindNotFound {
		return false, nil // deleted keys neither rotate nor notify
	} else if err != nil {
		return false, err
	}
	if notify != nil && cur.Attributes.Expires != nil && p.NotifiedVersion != cur.Version {
		if d, err := ParseDuration(notify.TimeBeforeExpiry); err == nil {
			exp := time.Unix(*cur.Attributes.Expires, 0)
			if !now.Before(d.SubFrom(exp)) {
				if s.Notify != nil {
					s.Notify(v.Name, cur.Name, cur.Version, exp)
				}
				if err := s.markNotified(ctx, v, cur.Name, cur.Version); err != nil {
					return false, err
				}
			}
		}
	}
	if rot == nil {
		return false, nil
	}
	var due time.Time
	if rot.TimeAfterCreate != "" {
		d, err := ParseDuration(rot.TimeAfterCreate)
		if err != nil {
			return false, nil
		}
		due = d.AddTo(time.Unix(cur.Attributes.Created, 0))
	} else {
		d, err := ParseDuration(rot.TimeBeforeExpiry)
		if err != nil || cur.Attributes.Expires == nil {
			return false, nil
		}
		due = d.SubFrom(time.Unix(*cur.Attributes.Expires, 0))
	}
	if now.Before(due) {
		return false, nil
	}
	if _, err := s.rotate(ctx, v, cur.Name, cur.Version); arca.KindOf(err) == arca.KindNotFound || errors.Is(err, errNotLatest) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// markNotified records in the key's current rotation policy that version
// has been notified (a read-modify-write: a policy set since the scan
// keeps its changes).
func (s *Service) markNotified(ctx context.Context, vault *arca.Vault, name, version string) error {
	return objects.Wrap(s.Store.Update(ctx, func(tx storage.Tx) error {
		p, err := readPolicy(tx, vault, name)
		if err != nil || p == nil {
			return err
		}
		p.NotifiedVersion = version
		return storage.PutJSON(tx, policyKey(vault, name), p)
	}))
}
