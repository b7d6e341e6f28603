package identity_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/barrier"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/storage/memory"
)

func newService(t testing.TB) (*identity.Service, *identity.Tenant, *identity.ServicePrincipal, string, *arca.ManualClock) {
	ctx := context.Background()
	clock := arca.NewManualClock(time.Unix(1_800_000_000, 0))
	store, _ := barrier.Open(ctx, memory.New(), make([]byte, 32), rand.Reader)
	dir := &identity.Directory{Store: store, Clock: clock, Rand: rand.Reader}
	ten, err := dir.InitTenant(ctx)
	if err != nil {
		t.Fatal(err)
	}
	toks := &identity.Tokens{Store: store, Clock: clock, Authority: "https://localhost:8443"}
	if err := toks.Load(ctx); err != nil {
		t.Fatal(err)
	}
	sp, secret, err := dir.CreateServicePrincipal(ctx, "app", true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Service{Dir: dir, Tokens: toks, Clock: clock}, ten, sp, secret, clock
}

func audOK(a string) bool { return strings.TrimSuffix(a, "/") == "https://vault.localhost:8443" }

func TestIssueVerifyRotate(t *testing.T) {
	s, ten, _, secret, clock := newService(t)
	ctx := context.Background()
	sps, _ := s.Dir.ServicePrincipals(ctx)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sps[0].AppID}, "client_secret": {secret},
		"scope": {"https://vault.localhost:8443//.default openid profile offline_access"}}
	resp, oerr := s.ClientCredentials(ctx, identity.TokenRequest{Tenant: "adfs", V2: false, Form: form})
	if oerr != nil {
		t.Fatal(oerr)
	}
	if resp.ExpiresIn != 3599 || resp.TokenType != "Bearer" {
		t.Fatalf("%+v", resp)
	}
	p, err := s.Tokens.Verify(resp.AccessToken, ten.ID, audOK, "")
	if err != nil || p.ObjectID != sps[0].ObjectID || p.AppID != sps[0].AppID {
		t.Fatalf("verify: %+v %v", p, err)
	}
	// Old tokens survive a key rotation; new ones use the new key.
	if err := s.Tokens.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tokens.Verify(resp.AccessToken, ten.ID, audOK, ""); err != nil {
		t.Fatalf("old token after rotation: %v", err)
	}
	if n := len(s.Tokens.JWKS().Keys); n != 2 {
		t.Fatalf("jwks has %d keys", n)
	}
	// Secrets are stored only as hashes.
	if strings.Contains(string(mustJSON(sps[0])), secret) {
		t.Fatal("client secret stored in clear")
	}
	clock.Advance(identity.TokenLifetime + identity.ClockSkew + time.Second)
	if _, err := s.Tokens.Verify(resp.AccessToken, ten.ID, audOK, ""); arca.KindOf(err) != arca.KindUnauthorized {
		t.Fatalf("expired token: %v", err)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func FuzzVerify(f *testing.F) {
	s, ten, _, _, _ := newService(f)
	f.Add("eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.")
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, raw string) {
		if p, err := s.Tokens.Verify(raw, ten.ID, audOK, ""); err == nil {
			t.Fatalf("forged token accepted: %+v", p)
		} else if arca.KindOf(err) != arca.KindUnauthorized {
			t.Fatalf("wrong error kind: %v", err)
		}
	})
}

func FuzzTokenRequest(f *testing.F) {
	s, _, _, _, _ := newService(f)
	f.Add("grant_type=client_credentials&client_id=x&client_secret=y&scope=https://vault.localhost:8443/.default")
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=e30.e30.")
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		resp, oerr := s.ClientCredentials(context.Background(), identity.TokenRequest{Tenant: "adfs", Form: form, Endpoint: "https://localhost:8443/adfs/oauth2/token"})
		if oerr == nil && resp.AccessToken != "" {
			t.Fatalf("token issued for fuzzed credentials: %q", body)
		}
		if oerr != nil && (oerr.Status < 400 || oerr.Status >= 500 || !strings.HasPrefix(oerr.Description, "AADSTS")) {
			t.Fatalf("bad error %+v", oerr)
		}
	})
}
