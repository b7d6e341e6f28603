package arca

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The rest package holds the one table that maps a
// Kind to an HTTP status; services never pick status codes.
type Kind int

// Kinds. New kinds are appended; the order is not significant on the wire.
const (
	KindInternal     Kind = iota // a bug or an infrastructure failure
	KindInvalid                  // bad input from the caller (400)
	KindUnauthorized             // missing or invalid credentials (401)
	KindForbidden                // authenticated but not allowed (403)
	KindNotFound                 // the object does not exist (404)
	KindMethod                   // the method is not allowed on the path (405)
	KindConflict                 // the object's state forbids the request (409)
	KindTooLarge                 // the request body is too large (413)
	KindUnavailable              // a dependency is down (503)
)

// Error is the domain error. Code is the Azure error code shown to clients
// (for example "SecretNotFound"); when empty the edge derives one from Kind.
// Inner is an optional Azure inner error code. Message is safe to show to
// clients and never contains secret material; Err is for logs only.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Inner   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind k with the given Azure code and message.
func Errorf(k Kind, code, format string, args ...any) *Error {
	return &Error{Kind: k, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithInner sets the inner error code and returns e.
func (e *Error) WithInner(code string) *Error { e.Inner = code; return e }

// Internal wraps an unexpected error; its details are never shown to clients.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Code: "InternalError", Message: "An internal error occurred.", Err: err}
}

// KindOf returns the Kind of err, KindInternal for foreign errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
