package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/arcakv/arca"
)

// ReadBody reads at most limit bytes; a larger body is a 413.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, arca.Errorf(arca.KindInvalid, "BadParameter", "The request body could not be read.")
	}
	if int64(len(b)) > limit {
		return nil, arca.Errorf(arca.KindTooLarge, "RequestTooLarge", "The request body exceeds the maximum allowed size of %d bytes.", limit)
	}
	return b, nil
}

// DecodeBody parses a JSON object body of at most limit bytes into v.
// Unknown members are ignored (as Azure does); wrong types, malformed JSON
// and bytes that are not UTF-8 (which a lenient decoder would silently turn
// into U+FFFD) are 400s.
func DecodeBody(r *http.Request, limit int64, v any) error {
	b, err := ReadBody(r, limit)
	if err != nil {
		return err
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return arca.Errorf(arca.KindInvalid, "BadParameter", "The request body is required and must be a JSON object.")
	}
	if b[0] != '{' {
		return arca.Errorf(arca.KindInvalid, "BadParameter", "The request body must be a JSON object.")
	}
	if !utf8.Valid(b) {
		return arca.Errorf(arca.KindInvalid, "BadParameter", "The request body is not valid JSON: it contains bytes that are not UTF-8.")
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return arca.Errorf(arca.KindInvalid, "BadParameter", "Property %s has invalid value: expected %s.", te.Field, jsonTypeName(te.Type))
		}
		return arca.Errorf(arca.KindInvalid, "BadParameter", "The request body is not valid JSON.")
	}
	return nil
}

// OptInt64 is a JSON integer member (a Unix time in seconds) that records
// whether it was present and whether it was null.
type OptInt64 struct {
	Set   bool
	Null  bool
	Value int64
}

// UnmarshalJSON accepts null or an integer Unix time within years 1-9999.
func (o *OptInt64) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < -62135596800 || n > 253402300799 { // 0001-01-01 .. 9999-12-31T23:59:59Z
		return &json.UnmarshalTypeError{Value: "number " + string(b), Type: unixTimeType}
	}
	o.Value = n
	return nil
}

// Ptr returns the value, or nil when the member was absent or null.
func (o *OptInt64) Ptr() *int64 {
	if !o.Set || o.Null {
		return nil
	}
	v := o.Value
	return &v
}

// unixTime and base64URL name the expected type in error messages.
type (
	unixTime  int64
	base64URL string
)

var (
	unixTimeType = reflect.TypeOf(unixTime(0))
	b64Type      = reflect.TypeOf(base64URL(""))
)

// jsonTypeName describes a Go type in JSON terms for error messages.
func jsonTypeName(t reflect.Type) string {
	switch t {
	case unixTimeType:
		return "an integer Unix time in seconds"
	case b64Type:
		return "a base64url string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Pointer:
		return jsonTypeName(t.Elem())
	}
	return "a value of another type"
}
