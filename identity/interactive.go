package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/arcakv/arca/storage"
)

// Interactive sign-in: the device authorization grant (RFC 8628, `az login
// --use-device-code`) and the authorization code grant with PKCE (RFC 7636,
// interactive `az login`). Pending codes live in memory only: they are
// short-lived and a restart simply asks the person to sign in again.

// Lifetimes of pending interactive codes.
const (
	DeviceCodeLifetime = 15 * time.Minute
	AuthCodeLifetime   = 10 * time.Minute
	devicePollInterval = 1 // seconds
)

// GrantDeviceCode is the device-code grant type.
const GrantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

type pendingDevice struct {
	userCode string
	clientID string
	scope    string
	expires  time.Time
	userOID  string // set once a person approved
}

type pendingAuthCode struct {
	clientID    string
	redirectURI string
	scope       string
	challenge   string
	method      string
	nonce       string
	userOID     string
	expires     time.Time
}

type interactive struct {
	mu        sync.Mutex
	devices   map[string]*pendingDevice // by device code
	userCodes map[string]string         // user code -> device code
	codes     map[string]*pendingAuthCode
}

func (s *Service) pending() *interactive {
	s.interactiveOnce.Do(func() {
		s.ia = &interactive{devices: map[string]*pendingDevice{}, userCodes: map[string]string{}, codes: map[string]*pendingAuthCode{}}
	})
	return s.ia
}

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCodeAlphabet avoids look-alike characters.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ23456789"

func newUserCode() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i := 0; i < 8; i++ {
		out = append(out, userCodeAlphabet[int(b[i])%len(userCodeAlphabet)])
	}
	return string(out)
}

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

func (p *interactive) sweep(now time.Time) {
	for dc, d := range p.devices {
		if now.After(d.expires) {
			delete(p.devices, dc)
			delete(p.userCodes, d.userCode)
		}
	}
	for c, a := range p.codes {
		if now.After(a.expires) {
			delete(p.codes, c)
		}
	}
}

// DeviceAuthorization starts a device flow; verificationURI is the sign-in
// page the person opens.
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
	p := s.pending()
	now := s.Clock.Now()
	dc := randToken(32)
	uc := newUserCode()
	scope := form.Get("scope")
	if scope == "" && form.Get("resource") != "" {
		scope = strings.TrimSuffix(form.Get("resource"), "/") + "/.default"
	}
	p.mu.Lock()
	p.sweep(now)
	p.devices[dc] = &pendingDevice{userCode: uc, clientID: form.Get("client_id"), scope: scope, expires: now.Add(DeviceCodeLifetime)}
	p.userCodes[uc] = dc
	p.mu.Unlock()
	msg := "To sign in, use a web browser to open the page " + verificationURI + " and enter the code " + uc + " to authenticate."
	return map[string]any{"device_code": dc, "user_code": uc, "verification_uri": verificationURI,
		"verification_url": verificationURI, "expires_in": int(DeviceCodeLifetime / time.Second),
		"interval": devicePollInterval, "message": msg}, nil
}

// ErrSignIn is returned for a wrong user name, password or code; the page
// shows one message for all of them.
var ErrSignIn = errors.New("identity: the code, user name or password is not correct")

// ErrThrottled is returned (wrapped in a *throttleError) when a user name
// or the caller's address has used up its failed sign-ins for now.
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

// ApproveDevice signs a person in on the device-code page.
func (s *Service) ApproveDevice(ctx context.Context, userCode, upn, password string) error {
	u, err := s.checkUser(ctx, upn, password)
	if err != nil {
		return err
	}
	p := s.pending()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep(s.Clock.Now())
	d := p.devices[p.userCodes[NormalizeUserCode(userCode)]]
	if d == nil {
		return ErrSignIn
	}
	d.userOID = u.ObjectID
	return nil
}

func (s *Service) deviceToken(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	dc := req.Form.Get("device_code")
	p := s.pending()
	p.mu.Lock()
	p.sweep(s.Clock.Now())
	d := p.devices[dc]
	if d != nil && d.userOID != "" {
		delete(p.devices, dc) // single use
		delete(p.userCodes, d.userCode)
	}
	p.mu.Unlock()
	switch {
	case d == nil:
		return nil, oauthErr(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid or has expired.")
	case d.userOID == "":
		return nil, oauthErr(400, "authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	case req.Form.Get("client_id") != "" && !strings.EqualFold(req.Form.Get("client_id"), d.clientID):
		return nil, oauthErr(400, "invalid_grant", 70000, "The device code was issued to a different client.")
	}
	u, err := s.Dir.User(ctx, d.userOID)
	if err != nil {
		return nil, oauthErr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if req.Form.Get("scope") == "" && req.Form.Get("resource") == "" {
		req.Form.Set("scope", d.scope)
	}
	req.Form.Set("client_id", d.clientID)
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
	}
	return nil
}

// AuthorizeCode signs a person in for an authorization request and returns
// the authorization code to send to redirect_uri.
func (s *Service) AuthorizeCode(ctx context.Context, tenantSeg string, q url.Values, upn, password string) (string, error) {
	if oerr := s.ValidateAuthorize(ctx, tenantSeg, q); oerr != nil {
		return "", oerr
	}
	u, err := s.checkUser(ctx, upn, password)
	if err != nil {
		return "", err
	}
	code := randToken(32)
	now := s.Clock.Now()
	p := s.pending()
	p.mu.Lock()
	p.sweep(now)
	p.codes[code] = &pendingAuthCode{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"),
		challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"), nonce: q.Get("nonce"), userOID: u.ObjectID,
		expires: now.Add(AuthCodeLifetime)}
	p.mu.Unlock()
	return code, nil
}

func (s *Service) authCodeToken(ctx context.Context, req TokenRequest) (*TokenResponse, *OAuthError) {
	t, oerr := s.ResolveTenant(ctx, req.Tenant)
	if oerr != nil {
		return nil, oerr
	}
	code := req.Form.Get("code")
	p := s.pending()
	p.mu.Lock()
	p.sweep(s.Clock.Now())
	a := p.codes[code]
	delete(p.codes, code) // single use, even when the redemption fails
	p.mu.Unlock()
	bad := oauthErr(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity or was already used.")
	if a == nil {
		return nil, bad
	}
	if !strings.EqualFold(req.Form.Get("client_id"), a.clientID) || req.Form.Get("redirect_uri") != a.redirectURI {
		return nil, oauthErr(400, "invalid_grant", 50148, "The client_id or redirect_uri does not match the authorization request.")
	}
	verifier := req.Form.Get("code_verifier")
	want := verifier
	if a.method != "plain" {
		h := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(h[:])
	}
	if verifier == "" || subtle.ConstantTimeCompare([]byte(want), []byte(a.challenge)) != 1 {
		return nil, oauthErr(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	u, err := s.Dir.User(ctx, a.userOID)
	if err != nil {
		return nil, oauthErr(400, "invalid_grant", 50034, "The user account does not exist in the directory.")
	}
	if req.Form.Get("scope") == "" {
		req.Form.Set("scope", a.scope)
	}
	return s.userTokens(ctx, t, u, req, "", a.nonce)
}
