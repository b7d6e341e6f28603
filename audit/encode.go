package audit

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e as encoding/json would marshal it (same fields,
// order, escaping and number formats), without reflection: an audit record
// is written for every request, so its encoding is on the hot path.
// FuzzAppendJSON holds it to encoding/json's output byte for byte.
func (e *Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"time":"`...)
	b = e.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","category":`...)
	b = appendString(b, e.Category)
	b = append(b, `,"operationName":`...)
	b = appendString(b, e.OperationName)
	if e.OperationVersion != "" {
		b = append(b, `,"operationVersion":`...)
		b = appendString(b, e.OperationVersion)
	}
	b = append(b, `,"resourceId":`...)
	b = appendString(b, e.ResourceID)
	b = append(b, `,"resultType":`...)
	b = appendString(b, e.ResultType)
	b = append(b, `,"resultSignature":`...)
	b = appendString(b, e.ResultSignature)
	if e.ResultDescription != "" {
		b = append(b, `,"resultDescription":`...)
		b = appendString(b, e.ResultDescription)
	}
	b = append(b, `,"durationMs":`...)
	b = strconv.AppendInt(b, e.DurationMs, 10)
	b = append(b, `,"callerIpAddress":`...)
	b = appendString(b, e.CallerIPAddress)
	b = append(b, `,"correlationId":`...)
	b = appendString(b, e.CorrelationID)
	if e.Identity != nil {
		b = append(b, `,"identity":{"claim":`...)
		if e.Identity.Claim == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, '{')
			for i, k := range sortedKeys(e.Identity.Claim) {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(b, k)
				b = append(b, ':')
				b = appendString(b, e.Identity.Claim[k])
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `,"properties":`...)
	if e.Properties == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, k := range sortedKeys(e.Properties) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, e.Properties[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendValue encodes the property value types Arca records directly and
// anything else through encoding/json.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// appendString quotes s as encoding/json does (HTML-safe escaping, invalid
// UTF-8 replaced); plain printable ASCII, the common case, is copied as is.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always marshals
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
