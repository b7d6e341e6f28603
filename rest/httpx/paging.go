package httpx

import (
	"encoding/base64"
	"net/url"
	"strconv"

	"github.com/arcakv/arca"
)

// ListResult is Azure's page of a list: {"value": [...], "nextLink": ...}.
type ListResult[T any] struct {
	Value    []T     `json:"value"`
	NextLink *string `json:"nextLink"`
}

// Paging reads Key Vault's paging parameters from query: maxresults (1 to
// 25; 0 when absent) and $skiptoken (the base64url name or version the next
// page starts after; "" when absent).
func Paging(query url.Values) (max int, token string, err error) {
	if m := query.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 25 {
			return 0, "", arca.Errorf(arca.KindInvalid, "BadParameter", "Invalid maxresults value %q: it must be an integer between 1 and 25.", m)
		}
		max = n
	}
	if t := query.Get("$skiptoken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		if err != nil || len(b) == 0 || !arca.ValidObjectName(string(b)) && !arca.ValidVersion(string(b)) {
			return 0, "", arca.Errorf(arca.KindInvalid, "BadParameter", "The $skiptoken value is not valid.")
		}
		token = string(b)
	}
	return max, token, nil
}

// NextLink builds the absolute link of the next page, base+path with the
// request's api-version, the token next and maxresults when max > 0; nil
// when there is no next page.
func NextLink(base, path, apiVersion, next string, max int) *string {
	if next == "" {
		return nil
	}
	l := base + path + "?api-version=" + apiVersion +
		"&$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(next))
	if max > 0 {
		l += "&maxresults=" + strconv.Itoa(max)
	}
	return &l
}
