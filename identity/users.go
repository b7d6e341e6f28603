package identity

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/arcakv/arca/storage"
	"golang.org/x/crypto/bcrypt"
)

// Storage keys of people and their sessions.
const (
	userPrefix = "id/user/" // id/user/<lower upn>
	rtPrefix   = "id/rt/"   // id/rt/<hex sha256 of the refresh token>
)

// RefreshTokenLifetime is the inactivity lifetime of a refresh token.
const RefreshTokenLifetime = 90 * 24 * time.Hour

// User is a person of the tenant who signs in with a password.
type User struct {
	ObjectID    string    `json:"objectId"`
	UPN         string    `json:"userPrincipalName"`
	DisplayName string    `json:"displayName"`
	Hash        []byte    `json:"hash"`
	Created     time.Time `json:"created"`
}

// CheckPassword reports whether password is u's.
func (u *User) CheckPassword(password string) bool {
	return bcrypt.CompareHashAndPassword(u.Hash, []byte(password)) == nil
}

// ErrUserExists is returned by CreateUser for a taken UPN.
var ErrUserExists = errors.New("identity: a user with this userPrincipalName exists")

// CreateUser adds a user whose password is kept as a bcrypt hash.
func (d *Directory) CreateUser(ctx context.Context, upn, password, displayName string) (*User, error) {
	upn = strings.TrimSpace(upn)
	if upn == "" || strings.ContainsAny(upn, "/ ") {
		return nil, fmt.Errorf("identity: invalid userPrincipalName %q", upn)
	}
	if len(password) < 8 {
		return nil, errors.New("identity: the password must have at least 8 characters")
	}
	oid, err := NewUUID(d.Rand)
	if err != nil {
		return nil, err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), BcryptCost)
	if err != nil {
		return nil, err
	}
	if displayName == "" {
		displayName, _, _ = strings.Cut(upn, "@")
	}
	u := &User{ObjectID: oid, UPN: upn, DisplayName: displayName, Hash: h, Created: d.Clock.Now().UTC()}
	b, _ := json.Marshal(u)
	err = d.Store.Update(ctx, func(tx storage.Tx) error {
		if _, err := tx.Get(userPrefix + strings.ToLower(upn)); err == nil {
			return ErrUserExists
		}
		return tx.Put(userPrefix+strings.ToLower(upn), b)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// Users lists every user.
func (d *Directory) Users(ctx context.Context) ([]*User, error) {
	var out []*User
	err := d.Store.View(ctx, func(r storage.Reader) error {
		return r.Scan(userPrefix, "", func(_ string, b []byte) bool {
			var u User
			if json.Unmarshal(b, &u) == nil {
				out = append(out, &u)
			}
			return true
		})
	})
	return out, err
}

// User finds a user by userPrincipalName or object id; storage.ErrNotFound
// if none matches.
func (d *Directory) User(ctx context.Context, upnOrID string) (*User, error) {
	var u User
	err := d.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(userPrefix + strings.ToLower(upnOrID))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &u)
	})
	if err == nil {
		return &u, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	us, err := d.Users(ctx)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if strings.EqualFold(u.ObjectID, upnOrID) {
			return u, nil
		}
	}
	return nil, storage.ErrNotFound
}

// DeleteUser removes a user and its refresh tokens.
func (d *Directory) DeleteUser(ctx context.Context, upn string) error {
	u, err := d.User(ctx, upn)
	if err != nil {
		return err
	}
	return d.Store.Update(ctx, func(tx storage.Tx) error {
		var drop []string
		if err := tx.Scan(rtPrefix, "", func(k string, b []byte) bool {
			var rt refreshRecord
			if json.Unmarshal(b, &rt) == nil && rt.ObjectID == u.ObjectID {
				drop = append(drop, k)
			}
			return true
		}); err != nil {
			return err
		}
		for _, k := range append(drop, userPrefix+strings.ToLower(u.UPN)) {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// refreshRecord is what a refresh token stands for; only its hash is a key.
type refreshRecord struct {
	ObjectID string    `json:"oid"`
	ClientID string    `json:"clientId"`
	Expires  time.Time `json:"expires"`
}

func rtKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return rtPrefix + hex.EncodeToString(h[:])
}

// clientInfo is MSAL's client_info: base64url {"uid","utid"}.
func clientInfo(oid, tenant string) string {
	b, _ := json.Marshal(map[string]string{"uid": oid, "utid": tenant})
	return base64.RawURLEncoding.EncodeToString(b)
}

// userTokens issues the access, id and (rotated) refresh tokens of u.
// prev, when set, is the refresh token being redeemed; it is deleted in
// the same transaction that stores its successor.
func (s *Service) userTokens(ctx context.Context, t *Tenant, u *User, req TokenRequest, prev, nonce string) (*TokenResponse, *OAuthError) {
	res, oerr := resource(req)
	if oerr != nil {
		return nil, oerr
	}
	if s.ResourceOK != nil && !s.ResourceOK(res) {
		return nil, oauthErr(400, "invalid_resource", 500011,
			"The resource principal named %s was not found in the tenant named %s.", res, t.ID)
	}
	clientID := req.Form.Get("client_id")
	raw, exp, err := s.Tokens.IssueUser(t.ID, u, clientID, res, req.V2)
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The token could not be issued.")
	}
	idt, err := s.Tokens.IDToken(t.ID, u, clientID, nonce)
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The token could not be issued.")
	}
	rt, err := randomSecret(s.Dir.Rand)
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The token could not be issued.")
	}
	rt = "0.A" + rt
	now := s.Clock.Now()
	rec, _ := json.Marshal(refreshRecord{ObjectID: u.ObjectID, ClientID: clientID, Expires: now.Add(RefreshTokenLifetime).UTC()})
	err = s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
		if prev != "" {
			if _, err := tx.Get(rtKey(prev)); err != nil {
				return err // redeemed concurrently
			}
			if err := tx.Delete(rtKey(prev)); err != nil {
				return err
			}
		}
		return tx.Put(rtKey(rt), rec)
	})
	if errors.Is(err, storage.ErrNotFound) {
		return nil, oauthErr(400, "invalid_grant", 70008, "The refresh token has expired or was already used.")
	}
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The token could not be issued.")
	}
	in := int(exp.Unix()-now.Unix()) - 1
	out := &TokenResponse{TokenType: "Bearer", ExpiresIn: in, ExtExpiresIn: in, AccessToken: raw,
		RefreshToken: rt, IDToken: idt, Scope: res + "/user_impersonation", ClientInfo: clientInfo(u.ObjectID, t.ID)}
	if !req.V2 {
		out.ExpiresOn, out.NotBefore, out.Resource = fmt.Sprint(exp.Unix()), fmt.Sprint(now.Unix()), res
	}
	return out, nil
}

// Password runs the resource-owner password credentials grant (public
// clients such as the az CLI; any client id is accepted as a public client).
func (s *Service) Password(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	if req.Form.Get("client_id") == "" {
		return nil, oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	name, pw := req.Form.Get("username"), req.Form.Get("password")
	if name == "" || pw == "" {
		return nil, oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameters: 'username' and 'password'.")
	}
	u, err := s.checkUser(ctx, name, pw)
	switch {
	case errors.Is(err, ErrThrottled):
		var te *throttleError
		errors.As(err, &te)
		if te.user {
			return nil, errLocked(te.wait)
		}
		return nil, errThrottled(te.wait)
	case errors.Is(err, ErrSignIn):
		return nil, oauthErr(400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
	case err != nil:
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The directory could not be read.")
	}
	return s.userTokens(ctx, t, u, req, "", "")
}

// Refresh redeems a refresh token (single use: a new one is returned).
func (s *Service) Refresh(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	rt := req.Form.Get("refresh_token")
	var rec refreshRecord
	err := s.Dir.Store.View(ctx, func(r storage.Reader) error {
		b, err := r.Get(rtKey(rt))
		if err != nil {
			return err
		}
		return json.Unmarshal(b, &rec)
	})
	if rt == "" || errors.Is(err, storage.ErrNotFound) || (err == nil && s.Clock.Now().After(rec.Expires)) {
		return nil, oauthErr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity or was already used.")
	}
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The directory could not be read.")
	}
	if c := req.Form.Get("client_id"); c != "" && !strings.EqualFold(c, rec.ClientID) {
		return nil, oauthErr(400, "invalid_grant", 70000, "The refresh token was issued to a different client.")
	}
	u, err := s.Dir.User(ctx, rec.ObjectID)
	if err != nil {
		return nil, oauthErr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if req.Form.Get("client_id") == "" {
		req.Form.Set("client_id", rec.ClientID)
	}
	return s.userTokens(ctx, t, u, req, rt, "")
}

// Token dispatches a token request on its grant_type.
func (s *Service) Token(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	switch req.Form.Get("grant_type") {
	case "password":
		return s.Password(ctx, req)
	case "refresh_token":
		return s.Refresh(ctx, req)
	case GrantDeviceCode, "device_code":
		return s.deviceToken(ctx, req)
	case "authorization_code":
		return s.authCodeToken(ctx, req)
	}
	return s.ClientCredentials(ctx, req)
}
