package identity

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/arcakv/arca/storage"
)

// groupPrefix keys groups: id/group/<lower object id>.
const groupPrefix = "id/group/"

// MaxGroupMembers bounds one group's direct members.
const MaxGroupMembers = 10000

// Group is a security group of the tenant. Its members are object ids of
// users, service principals or other groups; membership is transitive, as
// Entra ID evaluates it for Azure RBAC and Key Vault access policies.
type Group struct {
	ObjectID     string    `json:"objectId"`
	DisplayName  string    `json:"displayName"`
	MailNickname string    `json:"mailNickname"`
	Description  string    `json:"description,omitempty"`
	Members      []string  `json:"members,omitempty"`
	Owners       []string  `json:"owners,omitempty"`
	Created      time.Time `json:"created"`
}

// Directory errors about groups.
var (
	ErrGroupNotFound   = errors.New("identity: no such group")
	ErrMemberExists    = errors.New("identity: already a member of the group")
	ErrMemberNotFound  = errors.New("identity: not a member of the group")
	ErrObjectNotFound  = errors.New("identity: no user, service principal or group has this object id")
	ErrGroupCycle      = errors.New("identity: a group cannot be a member of itself")
	ErrTooManyMembers  = errors.New("identity: the group has too many members")
	ErrInvalidGroupArg = errors.New("identity: displayName and mailNickname are required")
)

// Generation changes after every write that can change what a principal
// is a member of, so authorisation caches drop their decisions: at once for
// the writes made through d, and, while Follow runs, for those made by the
// other processes sharing the store.
func (d *Directory) Generation() uint64 { return d.gen.Load() }

// Follow moves Generation on whenever a group, a user or a service
// principal changes in the store, wherever the change was made, so that a
// membership granted or withdrawn through another Arca node sharing the
// store applies to this node's cached decisions as soon as the store
// reports it. (Users and service principals are included so that the
// deletion or re-creation of a principal drops the decisions taken for
// it.) It also moves Generation when it starts and whenever the store lost
// track of the changes (storage.ErrCompacted). Refresh tokens, the tenant
// and the signing keys (see Tokens.Follow) do not move it.
//
// Writes of groups made through d move Generation themselves, at once,
// whether or not Follow runs; their events move it again, harmlessly.
// Follow runs until ctx ends; it returns as storage.Follow does: ctx's
// error, an error wrapping errors.ErrUnsupported at once when the store
// cannot watch, or the error that stopped it, after which it may be called
// again.
func (d *Directory) Follow(ctx context.Context) error {
	return storage.Follow(ctx, d.Store, idPrefix,
		func(context.Context) error { d.gen.Add(1); return nil },
		func(e storage.Event) error {
			if decides(e.Key) {
				d.gen.Add(1)
			}
			return nil
		})
}

// decides reports whether the record under key can change an authorisation
// decision.
func decides(key string) bool {
	return strings.HasPrefix(key, groupPrefix) || strings.HasPrefix(key, userPrefix) || strings.HasPrefix(key, spPrefix)
}

// CreateGroup adds a security group owned by owner (the creating principal;
// may be empty).
func (d *Directory) CreateGroup(ctx context.Context, displayName, mailNickname, description, owner string) (*Group, error) {
	displayName, mailNickname = strings.TrimSpace(displayName), strings.TrimSpace(mailNickname)
	if displayName == "" || mailNickname == "" || len(displayName) > 256 || len(mailNickname) > 64 || len(description) > 1024 {
		return nil, ErrInvalidGroupArg
	}
	oid, err := NewUUID(d.Rand)
	if err != nil {
		return nil, err
	}
	g := &Group{ObjectID: oid, DisplayName: displayName, MailNickname: mailNickname, Description: description, Created: d.Clock.Now().UTC()}
	if owner != "" {
		g.Owners = []string{strings.ToLower(owner)}
	}
	if err := d.Store.Update(ctx, func(tx storage.Tx) error { return putGroup(tx, g) }); err != nil {
		return nil, err
	}
	return g, nil
}

// Group returns the group with object id id, or ErrGroupNotFound.
func (d *Directory) Group(ctx context.Context, id string) (*Group, error) {
	var g Group
	err := d.Store.View(ctx, func(r storage.Reader) error { return getGroup(r, id, &g) })
	if err != nil {
		return nil, err
	}
	return &g, nil
}

func getGroup(r storage.Reader, id string, g *Group) error {
	err := storage.GetJSON(r, groupPrefix+strings.ToLower(id), g)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrGroupNotFound
	}
	return err
}

// Groups lists every group.
func (d *Directory) Groups(ctx context.Context) ([]*Group, error) {
	var out []*Group
	err := d.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(groupPrefix, "", func(_ string, b []byte) bool {
			var g Group
			if json.Unmarshal(b, &g) == nil {
				out = append(out, &g)
			}
			return true
		})
	})
	return out, err
}

// DeleteGroup removes a group and its membership in other groups.
func (d *Directory) DeleteGroup(ctx context.Context, id string) error {
	id = strings.ToLower(id)
	err := d.Store.Update(ctx, func(tx storage.Tx) error {
		var g Group
		if err := getGroup(tx, id, &g); err != nil {
			return err
		}
		var parents []Group
		if err := tx.Scan(groupPrefix, "", func(_ string, b []byte) bool {
			var p Group
			if json.Unmarshal(b, &p) == nil && contains(p.Members, id) {
				parents = append(parents, p)
			}
			return true
		}); err != nil {
			return err
		}
		for _, p := range parents {
			p.Members = without(p.Members, id)
			if err := putGroup(tx, &p); err != nil {
				return err
			}
		}
		return tx.Delete(groupPrefix + id)
	})
	if err == nil {
		d.gen.Add(1)
	}
	return err
}

func putGroup(tx storage.Tx, g *Group) error {
	return storage.PutJSON(tx, groupPrefix+strings.ToLower(g.ObjectID), g)
}

// ObjectKind returns "user", "servicePrincipal" or "group" for an object id
// of the directory, or ErrObjectNotFound.
func (d *Directory) ObjectKind(ctx context.Context, id string) (string, error) {
	if _, err := d.Group(ctx, id); err == nil {
		return "group", nil
	} else if !errors.Is(err, ErrGroupNotFound) {
		return "", err
	}
	if _, err := d.User(ctx, id); err == nil {
		return "user", nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", err
	}
	sps, err := d.ServicePrincipals(ctx)
	if err != nil {
		return "", err
	}
	for _, sp := range sps {
		if strings.EqualFold(sp.ObjectID, id) {
			return "servicePrincipal", nil
		}
	}
	return "", ErrObjectNotFound
}

// AddMember makes the object member a direct member of group. The member
// must exist; a group may not contain itself, directly or transitively (the
// check runs in the same transaction as the write, so two concurrent adds
// cannot close a cycle).
func (d *Directory) AddMember(ctx context.Context, group, member string) error {
	group, member = strings.ToLower(group), strings.ToLower(member)
	kind, err := d.ObjectKind(ctx, member)
	if err != nil {
		return err
	}
	err = d.Store.Update(ctx, func(tx storage.Tx) error {
		var g Group
		if err := getGroup(tx, group, &g); err != nil {
			return err
		}
		if contains(g.Members, member) {
			return ErrMemberExists
		}
		if len(g.Members) >= MaxGroupMembers {
			return ErrTooManyMembers
		}
		if kind == "group" {
			if member == group {
				return ErrGroupCycle
			}
			inner, err := transitiveMembers(tx, member)
			if err != nil {
				return err
			}
			if inner[group] {
				return ErrGroupCycle
			}
		}
		g.Members = append(g.Members, member)
		return putGroup(tx, &g)
	})
	if err == nil {
		d.gen.Add(1)
	}
	return err
}

// RemoveMember removes a direct member of group.
func (d *Directory) RemoveMember(ctx context.Context, group, member string) error {
	member = strings.ToLower(member)
	err := d.Store.Update(ctx, func(tx storage.Tx) error {
		var g Group
		if err := getGroup(tx, group, &g); err != nil {
			return err
		}
		if !contains(g.Members, member) {
			return ErrMemberNotFound
		}
		g.Members = without(g.Members, member)
		return putGroup(tx, &g)
	})
	if err == nil {
		d.gen.Add(1)
	}
	return err
}

// MemberOf returns the object ids of every group objectID belongs to,
// directly or through nested groups (Entra's transitive memberOf).
func (d *Directory) MemberOf(ctx context.Context, objectID string) ([]string, error) {
	gs, err := d.Groups(ctx)
	if err != nil || len(gs) == 0 {
		return nil, err
	}
	parents := map[string][]string{} // member -> groups that list it
	for _, g := range gs {
		for _, m := range g.Members {
			parents[m] = append(parents[m], strings.ToLower(g.ObjectID))
		}
	}
	seen := map[string]bool{}
	queue := []string{strings.ToLower(objectID)}
	var out []string
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, p := range parents[x] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out, nil
}

// transitiveMembers returns every object reachable from group's members.
func transitiveMembers(r storage.Reader, group string) (map[string]bool, error) {
	byID := map[string][]string{}
	if err := r.Scan(groupPrefix, "", func(_ string, b []byte) bool {
		var g Group
		if json.Unmarshal(b, &g) == nil {
			byID[strings.ToLower(g.ObjectID)] = g.Members
		}
		return true
	}); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	queue := []string{group}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, m := range byID[x] {
			if !seen[m] {
				seen[m] = true
				queue = append(queue, m)
			}
		}
	}
	return seen, nil
}

func contains(list []string, id string) bool {
	for _, x := range list {
		if strings.EqualFold(x, id) {
			return true
		}
	}
	return false
}

func without(list []string, id string) []string {
	out := list[:0:0]
	for _, x := range list {
		if !strings.EqualFold(x, id) {
			out = append(out, x)
		}
	}
	return out
}
