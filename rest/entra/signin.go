package entra

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/rest/httpx"
)

// Sign-in pages for people: the device-code page (/devicelogin) and the
// authorization endpoint's page for the authorization code + PKCE flow.

var signinPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to Arca</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1.2rem;padding:.6rem 1.2rem}.err{color:#a00}.ok{color:#070}</style></head>
<body><h1>Sign in to Arca</h1>
{{if .Done}}<p class="ok" id="done">{{.Done}}</p>{{else}}
{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{end}}
{{if .Intro}}<p>{{.Intro}}</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Hidden}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
{{if .AskCode}}<label for="code">Code</label><input id="code" name="user_code" value="{{.Code}}" autocomplete="off" required>{{end}}
<label for="username">User name</label><input id="username" name="username" type="email" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="submit" type="submit">Sign in</button>
</form>{{end}}
</body></html>`))

// formPostPage answers response_mode=form_post (what MSAL's loopback
// listener requires): a form that posts the code to the redirect URI.
var formPostPage = template.Must(template.New("formpost").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Signing in…</title></head><body>
<form method="post" name="hiddenform" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript>
</form><script nonce="{{.Nonce}}">document.forms[0].submit();</script></body></html>`))

func randomNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type signinView struct {
	Action, Intro, Error, Done, Code string
	AskCode                          bool
	Hidden                           map[string]string
}

func renderSignin(w http.ResponseWriter, status int, v signinView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = signinPage.Execute(w, v)
}

// deviceCode serves POST {tenant}/oauth2[/v2.0]/devicecode.
func (h *Handler) deviceCode(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	if r.Method != http.MethodPost {
		oauthError(w, &identity.OAuthError{Status: 405, Code: "invalid_request", ErrorCodes: []int{900561},
			Description: "AADSTS900561: The endpoint only accepts POST requests."})
		return
	}
	form, oerr := parseForm(r)
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	out, oerr := h.Identity.DeviceAuthorization(r.Context(), tenantSeg, form, httpx.Origin(r)+"/devicelogin")
	if oerr != nil {
		oauthError(w, oerr)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	httpx.WriteJSON(w, http.StatusOK, out)
}

// deviceLogin serves the page where a person enters a device code.
func (h *Handler) deviceLogin(w http.ResponseWriter, r *http.Request) {
	v := signinView{Action: "/devicelogin", AskCode: true, Intro: "Enter the code shown by the application, then sign in."}
	switch r.Method {
	case http.MethodGet:
		v.Code = r.URL.Query().Get("otc")
		renderSignin(w, http.StatusOK, v)
	case http.MethodPost:
		form, oerr := parseForm(r)
		if oerr != nil {
			renderSignin(w, http.StatusBadRequest, signinView{Error: "The request could not be read."})
			return
		}
		err := h.Identity.ApproveDevice(r.Context(), form.Get("user_code"), form.Get("username"), form.Get("password"))
		if err != nil {
			v.Code = form.Get("user_code")
			status, msg := signinFailure(err, "The code, user name or password is not correct, or the code has expired.")
			v.Error = msg
			renderSignin(w, status, v)
			return
		}
		renderSignin(w, http.StatusOK, signinView{Done: "You have signed in. You can close this window and return to the application."})
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

// authorizeParams are the authorization request parameters carried through
// the sign-in form.
var authorizeParams = []string{"client_id", "response_type", "redirect_uri", "scope", "state", "nonce",
	"code_challenge", "code_challenge_method", "response_mode", "prompt", "login_hint", "client_info"}

// authorize serves {tenant}/oauth2[/v2.0]/authorize: GET shows the sign-in
// page, POST signs in and redirects to the loopback redirect URI with a code.
func (h *Handler) authorize(w http.ResponseWriter, r *http.Request, tenantSeg string) {
	var params url.Values
	var creds url.Values
	switch r.Method {
	case http.MethodGet:
		params = r.URL.Query()
	case http.MethodPost:
		form, oerr := parseForm(r)
		if oerr != nil {
			oauthError(w, oerr)
			return
		}
		params, creds = url.Values{}, form
		for _, k := range authorizeParams {
			if v := form.Get(k); v != "" {
				params.Set(k, v)
			}
		}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if oerr := h.Identity.ValidateAuthorize(r.Context(), tenantSeg, params); oerr != nil {
		renderSignin(w, oerr.Status, signinView{Error: oerr.Description})
		return
	}
	hidden := map[string]string{}
	for _, k := range authorizeParams {
		if v := params.Get(k); v != "" {
			hidden[k] = v
		}
	}
	v := signinView{Action: r.URL.Path, Hidden: hidden, Intro: "An application asks you to sign in (" + params.Get("client_id") + ")."}
	if r.Method == http.MethodGet {
		renderSignin(w, http.StatusOK, v)
		return
	}
	code, err := h.Identity.AuthorizeCode(r.Context(), tenantSeg, params, creds.Get("username"), creds.Get("password"))
	if err != nil {
		status, msg := signinFailure(err, "The user name or password is not correct.")
		v.Error = msg
		renderSignin(w, status, v)
		return
	}
	redirect := params.Get("redirect_uri")
	if strings.HasPrefix(redirect, "urn:") || strings.Contains(redirect, "nativeclient") {
		renderSignin(w, http.StatusOK, signinView{Done: "Signed in. Your code: " + code})
		return
	}
	if params.Get("response_mode") == "form_post" {
		fields := map[string]string{"code": code}
		if st := params.Get("state"); st != "" {
			fields["state"] = st
		}
		nonce := randomNonce()
		hd := w.Header()
		hd.Set("Content-Type", "text/html; charset=utf-8")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; frame-ancestors 'none'")
		w.WriteHeader(http.StatusOK)
		_ = formPostPage.Execute(w, map[string]any{"Action": redirect, "Fields": fields, "Nonce": nonce})
		return
	}
	u, _ := url.Parse(redirect)
	q := u.Query()
	q.Set("code", code)
	if st := params.Get("state"); st != "" {
		q.Set("state", st)
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// signinFailure is the status and message of a sign-in page for err:
// wrong (the page's own wording for bad credentials), throttled, or the
// directory failing.
func signinFailure(err error, wrong string) (int, string) {
	switch {
	case errors.Is(err, identity.ErrThrottled):
		return http.StatusTooManyRequests, "Too many failed sign-in attempts. Wait a minute and try again."
	case errors.Is(err, identity.ErrSignIn):
		return http.StatusBadRequest, wrong
	}
	return http.StatusInternalServerError, "Sign-in is temporarily unavailable."
}
