package graph

// The $filter expressions Graph list requests accept.

import (
	"errors"
	"regexp"
	"strings"

	"github.com/arcakv/arca/identity"
)

// graphFilter is a parsed $filter: clauses joined by "and", each
// `prop eq 'value'`, `startswith(prop,'value')` or
// `servicePrincipalNames/any(x:x eq 'value')`.
type graphFilter []graphClause

type graphClause struct {
	Prop   string // lower case
	Value  string
	Prefix bool // startswith
}

var (
	clauseEqRE  = regexp.MustCompile(`(?i)^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$`)
	clauseSwRE  = regexp.MustCompile(`(?i)^\s*startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\)\s*$`)
	clauseAnyRE = regexp.MustCompile(`(?i)^\s*(\w+)/any\(\s*(\w+)\s*:\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*\)\s*$`)
)

// errUnsupportedFilter is Graph's 400 for a $filter this deployment does
// not evaluate.
var errUnsupportedFilter = errors.New("unsupported filter")

// parseGraphFilter parses an OData $filter of the supported shape.
func parseGraphFilter(filter string) (graphFilter, error) {
	if strings.TrimSpace(filter) == "" {
		return nil, nil
	}
	if len(filter) > 2048 {
		return nil, errUnsupportedFilter
	}
	var out graphFilter
	for _, part := range splitAnd(filter) {
		var c graphClause
		if m := clauseEqRE.FindStringSubmatch(part); m != nil {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[2]}
		} else if m := clauseSwRE.FindStringSubmatch(part); m != nil {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[2], Prefix: true}
		} else if m := clauseAnyRE.FindStringSubmatch(part); m != nil && eq(m[2], m[3]) {
			c = graphClause{Prop: strings.ToLower(m[1]), Value: m[4]}
		} else {
			return nil, errUnsupportedFilter
		}
		c.Value = strings.ReplaceAll(c.Value, "''", "'")
		out = append(out, c)
	}
	return out, nil
}

// splitAnd splits s on the keyword "and" outside single-quoted strings.
func splitAnd(s string) []string {
	var parts []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inQuote = !inQuote
		case !inQuote && i > 0 && i+4 < len(s) && (s[i] == ' ' || s[i] == '\t') && strings.EqualFold(s[i+1:i+4], "and") && (s[i+4] == ' ' || s[i+4] == '\t'):
			parts = append(parts, s[start:i])
			start = i + 4
			i += 3
		}
	}
	return append(parts, s[start:])
}

// match reports whether every clause holds; props gives an object's
// values of a property (several for multi-valued ones).
func (f graphFilter) match(props func(name string) []string) bool {
	for _, c := range f {
		ok := false
		for _, v := range props(c.Prop) {
			if (c.Prefix && len(v) >= len(c.Value) && eq(v[:len(c.Value)], c.Value)) || (!c.Prefix && eq(v, c.Value)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func userProps(u *identity.User) func(string) []string {
	return func(n string) []string {
		switch n {
		case "userprincipalname", "mail":
			return []string{u.UPN}
		case "displayname":
			return []string{u.DisplayName}
		case "id":
			return []string{u.ObjectID}
		}
		return nil
	}
}

func spProps(sp *identity.ServicePrincipal) func(string) []string {
	return func(n string) []string {
		switch n {
		case "appid":
			return []string{sp.AppID}
		case "displayname":
			return []string{sp.DisplayName}
		case "id":
			return []string{sp.ObjectID}
		case "serviceprincipalnames":
			return []string{sp.AppID, sp.DisplayName}
		}
		return nil
	}
}

func groupProps(g *identity.Group) func(string) []string {
	return func(n string) []string {
		switch n {
		case "displayname":
			return []string{g.DisplayName}
		case "mailnickname":
			return []string{g.MailNickname}
		case "id":
			return []string{g.ObjectID}
		case "securityenabled":
			return []string{"true"}
		}
		return nil
	}
}
