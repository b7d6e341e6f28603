package graph

import (
	"strings"
	"testing"
)

func TestParseGraphFilter(t *testing.T) {
	props := func(n string) []string {
		return map[string][]string{"displayname": {"Key Vault Readers"}, "mailnickname": {"kv-readers"}, "id": {"ID1"}}[n]
	}
	for filter, want := range map[string]bool{
		"":                                   true,
		"displayName eq 'Key Vault Readers'": true,
		"displayName eq 'key vault readers' and mailNickname eq 'kv-readers'": true,
		"displayName eq 'Key Vault Readers' and mailNickname eq 'other'":      false,
		"startswith(displayName,'Key')":                                       true,
		"startswith(displayName, 'Vault')":                                    false,
		"id eq 'id1'":                                                         true,
		"unknownProp eq 'x'":                                                  false,
	} {
		f, err := parseGraphFilter(filter)
		if err != nil {
			t.Fatalf("%q: %v", filter, err)
		}
		if got := f.match(props); got != want {
			t.Errorf("%q matched %v, want %v", filter, got, want)
		}
	}
	f, err := parseGraphFilter("displayName eq 'Rock and Roll' and mailNickname eq 'it''s'")
	if err != nil || len(f) != 2 || f[0].Value != "Rock and Roll" || f[1].Value != "it's" {
		t.Fatalf("quoted 'and' and escaped quote: %+v %v", f, err)
	}
	for _, bad := range []string{"displayName ne 'x'", "displayName eq 'x' or id eq 'y'", "eq 'x'", "displayName eq 'x", strings.Repeat("a", 3000)} {
		if _, err := parseGraphFilter(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func FuzzParseGraphFilter(f *testing.F) {
	for _, s := range []string{"displayName eq 'a' and mailNickname eq 'b'", "startswith(displayName,'x')",
		"servicePrincipalNames/any(c:c eq 'id')", "a eq 'it''s'", "' and '", strings.Repeat("\u212a", 10) + " a b c d e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, err := parseGraphFilter(s)
		if err != nil {
			return
		}
		for _, c := range g {
			if c.Prop == "" || strings.ContainsAny(c.Prop, " '") {
				t.Fatalf("bad clause %+v from %q", c, s)
			}
		}
		g.match(func(string) []string { return []string{"v"} })
	})
}
