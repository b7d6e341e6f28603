package identity_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/arcakv/arca/identity"
)

func benchToken(b *testing.B) (*identity.Service, string, string) {
	s, ten, _, secret, _ := newService(b)
	sps, _ := s.Dir.ServicePrincipals(context.Background())
	resp, oerr := s.ClientCredentials(context.Background(), identity.TokenRequest{Tenant: "adfs", Form: url.Values{
		"grant_type": {"client_credentials"}, "client_id": {sps[0].AppID}, "client_secret": {secret},
		"scope": {"https://vault.localhost:8443/.default"}}})
	if oerr != nil {
		b.Fatal(oerr)
	}
	return s, ten.ID, resp.AccessToken
}

// BenchmarkVerifyCached is the per-request cost once a token was seen.
func BenchmarkVerifyCached(b *testing.B) {
	s, tid, tok := benchToken(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Tokens.Verify(tok, tid, audOK, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFirstSeen is a full RS256 verification (cache cleared by rotation is not
// needed: a fresh Tokens shares the keys but not the cache).
func BenchmarkVerifyFirstSeen(b *testing.B) {
	s, tid, tok := benchToken(b)
	b.ReportAllocs()
	for b.Loop() {
		fresh := &identity.Tokens{Store: s.Tokens.Store, Clock: s.Tokens.Clock, Authority: s.Tokens.Authority}
		b.StopTimer()
		if err := fresh.Load(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := fresh.Verify(tok, tid, audOK, ""); err != nil {
			b.Fatal(err)
		}
	}
}
