package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage"
)

// statusOf is the one table from domain error kinds to HTTP status codes.
var statusOf = map[arca.Kind]int{
	arca.KindInternal:     http.StatusInternalServerError,
	arca.KindInvalid:      http.StatusBadRequest,
	arca.KindUnauthorized: http.StatusUnauthorized,
	arca.KindForbidden:    http.StatusForbidden,
	arca.KindNotFound:     http.StatusNotFound,
	arca.KindMethod:       http.StatusMethodNotAllowed,
	arca.KindConflict:     http.StatusConflict,
	arca.KindTooLarge:     http.StatusRequestEntityTooLarge,
	arca.KindUnavailable:  http.StatusServiceUnavailable,
}

// defaultCode is the Azure error code of a kind when the error has none.
var defaultCode = map[arca.Kind]string{
	arca.KindInternal:     "InternalError",
	arca.KindInvalid:      "BadParameter",
	arca.KindUnauthorized: "Unauthorized",
	arca.KindForbidden:    "Forbidden",
	arca.KindNotFound:     "NotFound",
	arca.KindMethod:       "MethodNotAllowed",
	arca.KindConflict:     "Conflict",
	arca.KindTooLarge:     "RequestTooLarge",
	arca.KindUnavailable:  "ServiceUnavailable",
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string       `json:"code"`
	Message    string       `json:"message"`
	InnerError *innerDetail `json:"innererror,omitempty"`
}

type innerDetail struct {
	Code string `json:"code"`
}

// WriteError renders err as Azure's {"error":{"code","message"}} envelope.
// Errors that are not *arca.Error become a 500 whose details go to the log
// only.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *arca.Error
	if !errors.As(err, &e) {
		e = arca.Internal(err)
	}
	if e.Kind == arca.KindInternal {
		e = storageError(err, e)
	}
	if e.Kind == arca.KindUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if e.Kind == arca.KindInternal {
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	code := e.Code
	if code == "" {
		code = defaultCode[e.Kind]
	}
	body := errorBody{Error: errorDetail{Code: code, Message: e.Message}}
	if e.Inner != "" {
		body.Error.InnerError = &innerDetail{Code: e.Inner}
	}
	WriteJSON(w, statusOf[e.Kind], body)
}

// WriteJSON answers status with v as JSON; a v that cannot be encoded is a
// 500 InternalError instead.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalError","message":"An internal error occurred."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// storageError turns the store's transient and size refusals, which reach
// the edge as internal errors of whatever service met them, into what they
// are for the client: 503 (retry later) and 413 (nothing was written).
func storageError(err error, e *arca.Error) *arca.Error {
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		return &arca.Error{Kind: arca.KindUnavailable, Code: "ServiceUnavailable",
			Message: "The service is temporarily unavailable: its store cannot be reached. Retry later.", Err: err}
	case errors.Is(err, storage.ErrTooLarge):
		return &arca.Error{Kind: arca.KindTooLarge, Code: "RequestTooLarge",
			Message: "The request would write more than the store accepts in one transaction.", Err: err}
	}
	return e
}
