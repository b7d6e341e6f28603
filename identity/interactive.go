package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/arcakv/arca/storage"
)

// Interactive sign-in: the device authorization grant (RFC 8628, `az login
// --use-device-code`) and the authorization code grant with PKCE (RFC 7636,
// interactive `az login`). Pending codes live in the store (see pending.go),
// so that every node of a shared store can carry a flow on; they are
// short-lived, and one not finished in time asks the person to sign in
// again.

// Lifetimes of pending interactive codes.
const (
	DeviceCodeLifetime = 15 * time.Minute
	AuthCodeLifetime   = 10 * time.Minute
	devicePollInterval = 1 // seconds
)

// GrantDeviceCode is the device-code grant type.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// NormalizeUserCode upper-cases a user code and drops separators.
func NormalizeUserCode(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, c)
}

// DeviceAuthorization starts a device flow; verificationURI is the sign-in
// page the person opens. It stores the pending device code and its user
// code in one transaction. Errors: the tenant's (ResolveTenant),
// invalid_request without client_id or with parameters over
// maxPendingFields, the scope's (invalid_scope), 429 temporarily_unavailable
// with RetryAfter when the caller's address or this node has too many
// device codes pending, and 500 temporarily_unavailable when the store
// fails.
func (s *Service) DeviceAuthorization(ctx context.Context, tenantSeg string, form url.Values, verificationURI string) (map[string]any, *OAuthError) {
	if _, oerr := s.ResolveTenant(ctx, tenantSeg); oerr != nil {
		return nil, oerr
	}
	if form.Get("client_id") == "" {
		return nil, oauthErr(400, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if _, oerr := resource(TokenRequest{V2: true, Form: url.Values{"scope": {form.Get("scope")}, "resource": {form.Get("resource")}}}); oerr != nil {
		return nil, oerr
	}
	scope := form.Get("scope")
	if scope == "" && form.Get("resource") != "" {
		scope = strings.TrimSuffix(form.Get("resource"), "/") + "/.default"
	}
	if len(form.Get("client_id"))+len(scope) > maxPendingFields {
		return nil, errTooLong()
	}
	now := s.Clock.Now()
	if oerr := s.admitDevice(ctx, now); oerr != nil {
		return nil, oerr
	}
	dc, uc, err := s.storeDevice(ctx, now, deviceRecord{ClientID: form.Get("client_id"), Scope: scope, Expires: now.Add(DeviceCodeLifetime)})
	if err != nil {
		return nil, oauthErr(500, "temporarily_unavailable", 50000, "The device code could not be stored.")
	}
	msg := "To sign in, use a web browser to open the page " + verificationURI + " and enter the code " + uc + " to authenticate."
	return map[string]any{"device_code": dc, "user_code": uc, "verification_uri": verificationURI,
		"verification_url": verificationURI, "expires_in": int(DeviceCodeLifetime / time.Second),
		"interval": devicePollInterval, "message": msg}, nil
}

// errTooLong refuses request parameters a pending code would keep that
// are longer together than maxPendingFields.
func errTooLong() *OAuthError {
	return oauthErr(400, "invalid_request", 50000, "The request parameters are too long.")
}

// storeDevice stores d as a new pending device code with a new user code,
// in one transaction, and returns both codes. A user code still pending
// for another device is not reused (another is drawn, a few times at
// most); one that lapsed is taken over, and its device code removed.
func (s *Service) storeDevice(ctx context.Context, now time.Time, d deviceRecord) (string, string, error) {
	for try := 0; ; try++ {
		dc, err := randToken(s.random(), 32)
		if err != nil {
			return "", "", err
		}
		uc, err := newUserCode(s.random())
		if err != nil {
			return "", "", err
		}
		dkey, ukey := pendingKey(devicePrefix, dc), pendingKey(userCodePrefix, uc)
		d.UserCode = ukey
		var taken bool
		err = s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
			taken = false
			var old userCodeRecord
			found, err := getRecord(tx, ukey, &old)
			if err != nil {
				return err
			}
			if found && !now.After(old.Expires) {
				taken = true
				return nil
			}
			if found {
				if err := dropDevice(tx, old.Device, ukey); err != nil {
					return err
				}
			}
			if err := putRecord(tx, dkey, d); err != nil {
				return err
			}
			return putRecord(tx, ukey, userCodeRecord{Device: dkey, Expires: d.Expires})
		})
		if err != nil {
			return "", "", err
		}
		if !taken {
			return dc, uc, nil
		}
		if try == 3 {
			return "", "", errors.New("identity: no free user code")
		}
	}
}

// dropDevice deletes the device record under dkey if it is the one of the
// user code record ukey.
func dropDevice(tx storage.Tx, dkey, ukey string) error {
	var d deviceRecord
	found, err := getRecord(tx, dkey, &d)
	if err != nil || !found || d.UserCode != ukey {
		return err
	}
	return tx.Delete(dkey)
}

// dropUserCode deletes the user code record under ukey if it leads to the
// device record dkey.
func dropUserCode(tx storage.Tx, ukey, dkey string) error {
	var u userCodeRecord
	found, err := getRecord(tx, ukey, &u)
	if err != nil || !found || u.Device != dkey {
		return err
	}
	return tx.Delete(ukey)
}

// ErrSignIn is returned for a wrong user name, password or code; the page
// shows one message for all of them.
var ErrSignIn = errors.New("identity: the code, user name or password is not correct")

// ErrThrottled is returned (wrapped in a *throttleError) when a user name
// or the caller's address has used up its failed sign-ins for now, and by
// AuthorizeCode when this node has too many authorization codes pending.
var ErrThrottled = errors.New("identity: too many failed sign-in attempts")

type throttleError struct {
	wait time.Duration
	user bool // the user name is locked, not the address
}

func (e *throttleError) Error() string { return ErrThrottled.Error() }
func (e *throttleError) Unwrap() error { return ErrThrottled }

// checkUser checks a user's password under the failure throttle: a wrong
// user name or password is ErrSignIn (and charged to the user from this
// address, to the user from anywhere, and to the address), a user or address
// over its budget ErrThrottled. A user is keyed by object id, so its UPN and
// id share one budget.
func (s *Service) checkUser(ctx context.Context, upn, password string) (*User, error) {
	u, err := s.Dir.User(ctx, upn)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, err
	}
	who := "user:" + strings.ToLower(upn)
	if u != nil {
		who = "user:" + u.ObjectID
	}
	th := s.throttle()
	at, wait, byAddr := s.begin(ctx, bucketKey{th.user, who}, bucketKey{th.key, who + "|" + sourceAddr(ctx)})
	if at == nil {
		return nil, &throttleError{wait: wait, user: !byAddr}
	}
	if u == nil {
		return nil, ErrSignIn
	}
	ok, err := s.slowCheck(ctx, func() bool { return u.CheckPassword(password) })
	if errors.Is(err, errBusy) {
		at.succeeded()
		return nil, &throttleError{wait: time.Second}
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrSignIn
	}
	at.succeeded()
	return u, nil
}

// ApproveDevice signs a person in on the device-code page: it checks the
// password under the failure throttle (checkUser) and then, in one
// transaction, records the person on the pending device code of userCode
// (in any case, with or without separators). Errors: ErrSignIn for a wrong
// user name or password, or a user code that is unknown, redeemed or
// expired (an expired one is removed); ErrThrottled (a *throttleError)
// over the failure budget; the store's error otherwise.
func (s *Service) ApproveDevice(ctx context.Context, userCode, upn, password string) error {
	u, err := s.checkUser(ctx, upn, password)
	if err != nil {
		return err
	}
	ukey := pendingKey(userCodePrefix, NormalizeUserCode(userCode))
	now := s.Clock.Now()
	var approved bool
	err = s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
		approved = false
		var uc userCodeRecord
		found, err := getRecord(tx, ukey, &uc)
		if err != nil || !found {
			return err
		}
		var d deviceRecord
		dfound, err := getRecord(tx, uc.Device, &d)
		if err != nil {
			return err
		}
		if !dfound || d.UserCode != ukey || now.After(uc.Expires) || now.After(d.Expires) {
			// Redeemed or lapsed: remove what is left of it.
			if dfound && d.UserCode == ukey && now.After(d.Expires) {
				if err := tx.Delete(uc.Device); err != nil {
					return err
				}
			}
			return tx.Delete(ukey)
		}
		d.UserOID = u.ObjectID
		approved = true
		return putRecord(tx, uc.Device, d)
	})
	if err != nil {
		return err
	}
	if !approved {
		return ErrSignIn
	}
	return nil
}

// deviceToken polls a device code (RFC 8628 section 3.4): while nobody has
// approved it the answer is authorization_pending (read only, nothing is
// written); once approved, one transaction removes the code and its user
// code, so that of concurrent polls, on any nodes, only one gets tokens.
// An unknown, redeemed or expired code is expired_token (an expired one is
// removed); a code issued to another client is invalid_grant, and used up.
func (s *Service) deviceToken(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	expired := oauthErr(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid or has expired.")
	pending := oauthErr(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	dc := req.Form.Get("device_code")
	if dc == "" {
		return nil, expired
	}
	dkey := pendingKey(devicePrefix, dc)
	now := s.Clock.Now()
	var d deviceRecord
	found, err := s.readPending(ctx, dkey, &d)
	switch {
	case err != nil:
		return nil, errSignInState()
	case !found:
		return nil, expired
	case d.UserOID == "" && !now.After(d.Expires):
		return nil, pending
	}
	// Approved or expired: either way it goes, in one transaction.
	var got *deviceRecord
	err = s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
		got = nil
		var cur deviceRecord
		found, err := getRecord(tx, dkey, &cur)
		if err != nil || !found {
			return err // not found: redeemed concurrently
		}
		if cur.UserOID == "" && !now.After(cur.Expires) {
			got = &cur
			return nil
		}
		if err := tx.Delete(dkey); err != nil {
			return err
		}
		if err := dropUserCode(tx, cur.UserCode, dkey); err != nil {
			return err
		}
		if !now.After(cur.Expires) {
			got = &cur
		}
		return nil
	})
	switch {
	case err != nil:
		return nil, errSignInState()
	case got == nil:
		return nil, expired
	case got.UserOID == "":
		return nil, pending
	case req.Form.Get("client_id") != "" && !strings.EqualFold(req.Form.Get("client_id"), got.ClientID):
		return nil, oauthErr(400, "invalid_grant", 70000, "The device code was issued to a different client.")
	}
	u, err := s.Dir.User(ctx, got.UserOID)
	if err != nil {
		return nil, oauthErr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if req.Form.Get("scope") == "" && req.Form.Get("resource") == "" {
		req.Form.Set("scope", got.Scope)
	}
	req.Form.Set("client_id", got.ClientID)
	return s.userTokens(ctx, t, u, req, "", "")
}

// LoopbackRedirect reports whether uri is a redirect URI Arca accepts for a
// public client: the loopback interface (as the az CLI and MSAL use) or the
// native-client out-of-band URIs.
func LoopbackRedirect(uri string) bool {
	if uri == "urn:ietf:wg:oauth:2.0:oob" || uri == "https://login.microsoftonline.com/common/oauth2/nativeclient" {
		return true
	}
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Fragment != "" {
		return false
	}
	h := u.Hostname()
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// ValidateAuthorize checks the parameters of an authorization request
// before the sign-in page is shown.
func (s *Service) ValidateAuthorize(ctx context.Context, tenantSeg string, q url.Values) *OAuthError {
	if _, oerr := s.ResolveTenant(ctx, tenantSeg); oerr != nil {
		return oerr
	}
	switch {
	case q.Get("client_id") == "":
		return oauthErr(400, "invalid_request", 900144, "The request must contain the parameter 'client_id'.")
	case q.Get("response_type") != "code":
		return oauthErr(400, "unsupported_response_type", 70000, "Only response_type=code is supported.")
	case !LoopbackRedirect(q.Get("redirect_uri")):
		return oauthErr(400, "invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application: only loopback redirect URIs are accepted.", q.Get("redirect_uri"))
	case q.Get("code_challenge") == "":
		return oauthErr(400, "invalid_request", 9002325, "Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
	case q.Get("code_challenge_method") != "" && q.Get("code_challenge_method") != "S256" && q.Get("code_challenge_method") != "plain":
		return oauthErr(400, "invalid_request", 50000, "The code_challenge_method '%s' is not supported.", q.Get("code_challenge_method"))
	case len(q.Get("client_id"))+len(q.Get("redirect_uri"))+len(q.Get("scope"))+len(q.Get("code_challenge"))+len(q.Get("nonce")) > maxPendingFields:
		return errTooLong()
	}
	return nil
}

// AuthorizeCode signs a person in for an authorization request and returns
// the authorization code to send to redirect_uri; the code's request is
// stored (under the code's hash) for AuthCodeLifetime. Errors: the
// request's (*OAuthError, from ValidateAuthorize), checkUser's (ErrSignIn,
// ErrThrottled), ErrThrottled too when this node has maxPendingPerNode
// codes pending, and the store's.
func (s *Service) AuthorizeCode(ctx context.Context, tenantSeg string, q url.Values, upn, password string) (string, error) {
	if oerr := s.ValidateAuthorize(ctx, tenantSeg, q); oerr != nil {
		return "", oerr
	}
	u, err := s.checkUser(ctx, upn, password)
	if err != nil {
		return "", err
	}
	now := s.Clock.Now()
	if err := s.admitAuthCode(now); err != nil {
		return "", err
	}
	code, err := randToken(s.random(), 32)
	if err != nil {
		return "", err
	}
	rec := authCodeRecord{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Scope: q.Get("scope"),
		Challenge: q.Get("code_challenge"), Method: q.Get("code_challenge_method"), Nonce: q.Get("nonce"), UserOID: u.ObjectID,
		Expires: now.Add(AuthCodeLifetime)}
	key := pendingKey(authCodePrefix, code)
	if err := s.Dir.Store.Update(ctx, func(tx storage.Tx) error { return putRecord(tx, key, rec) }); err != nil {
		return "", err
	}
	return code, nil
}

// authCodeToken redeems an authorization code. One transaction removes
// the code before anything else is checked, so that a code is used up even
// when its redemption fails, and of concurrent redemptions, on any nodes,
// at most one gets it. An unknown, redeemed or expired code is
// invalid_grant 70008 (an expired one is removed).
func (s *Service) authCodeToken(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	bad := oauthErr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity or was already used.")
	code := req.Form.Get("code")
	if code == "" {
		return nil, bad
	}
	key := pendingKey(authCodePrefix, code)
	var a authCodeRecord
	if found, err := s.readPending(ctx, key, &a); err != nil {
		return nil, errSignInState()
	} else if !found {
		return nil, bad
	}
	now := s.Clock.Now()
	var got *authCodeRecord
	err := s.Dir.Store.Update(ctx, func(tx storage.Tx) error {
		got = nil
		var cur authCodeRecord
		found, err := getRecord(tx, key, &cur)
		if err != nil || !found {
			return err // not found: redeemed concurrently
		}
		if err := tx.Delete(key); err != nil { // single use, even when the redemption fails
			return err
		}
		if !now.After(cur.Expires) {
			got = &cur
		}
		return nil
	})
	if err != nil {
		return nil, errSignInState()
	}
	if got == nil {
		return nil, bad
	}
	if !strings.EqualFold(req.Form.Get("client_id"), got.ClientID) || req.Form.Get("redirect_uri") != got.RedirectURI {
		return nil, oauthErr(400, "invalid_grant", 50148, "The client_id or redirect_uri does not match the authorization request.")
	}
	verifier := req.Form.Get("code_verifier")
	want := verifier
	if got.Method != "plain" {
		h := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if verifier == "" || subtle.ConstantTimeCompare([]byte(want), []byte(got.Challenge)) != 1 {
		return nil, oauthErr(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	u, err := s.Dir.User(ctx, got.UserOID)
	if err != nil {
		return nil, oauthErr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if req.Form.Get("scope") == "" {
		req.Form.Set("scope", got.Scope)
	}
	return s.userTokens(ctx, t, u, req, "", got.Nonce)
}
