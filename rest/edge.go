package rest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/rest/httpx"
)

// maxDrain is how much of a request body the edge reads past what its
// handler read, so that an HTTP/2 response is not cut off by the stream
// reset a server sends for an unread body, and an HTTP/1.1 connection can be
// reused. A longer remainder closes the connection instead.
const maxDrain = 256 << 10

// bufferedResponse holds a handler's status and body until the request's
// audit record is written: a request whose record cannot be written is
// answered 503 instead, and nothing of the handler's answer leaves the
// server. Headers go straight to the real writer's map (they are reset on
// refusal).
type bufferedResponse struct {
	w      http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.w.Header() }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// flush sends the held answer.
func (b *bufferedResponse) flush() {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.w.WriteHeader(b.status)
	if b.body.Len() > 0 {
		b.w.Write(b.body.Bytes())
	}
}

// trackedBody records whether a handler reached the end of the body.
type trackedBody struct {
	io.ReadCloser
	eof bool
}

func (t *trackedBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

// hasBody reports whether r declared a body (a length, or chunked).
func hasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// finishBody deals with what the handler left of the request body. The
// body of a request that did not authenticate (no token, a bad one, an
// unknown host, a refusal) is never read: its connection is closed instead,
// so a caller without a token cannot hold it by stalling the body. An
// authenticated request's short remainder is read (bounded by the server's
// read timeout); a long one closes the connection.
func finishBody(w http.ResponseWriter, r *http.Request, body *trackedBody, authenticated bool) {
	if body == nil || body.eof {
		return
	}
	if !authenticated {
		// Not a byte more. Over HTTP/1.1 the server would otherwise try to
		// read the rest before reusing the connection: an expired read
		// deadline makes that fail at once and the connection closes after
		// the answer. HTTP/2 resets the stream alone (a Connection header
		// would end the client's whole connection).
		if r.ProtoMajor == 1 {
			w.Header().Set("Connection", "close")
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
		return
	}
	n, err := io.Copy(io.Discard, io.LimitReader(body, maxDrain+1))
	if (err != nil || n > maxDrain) && r.ProtoMajor == 1 {
		w.Header().Set("Connection", "close")
	}
}

// resetHeaders drops every header but those a replacement answer keeps.
func resetHeaders(h http.Header) {
	for k := range h {
		if !keepOnRefusal[strings.ToLower(k)] {
			delete(h, k)
		}
	}
}

// refuseUnaudited replaces a held answer by 503: its audit record could not
// be written, so the request is not reported as served.
func (s *Server) refuseUnaudited(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	resetHeaders(h)
	h.Set("Retry-After", "5")
	httpx.WriteError(w, r, s.Log, errAuditUnavailable())
}

// keepOnRefusal are the headers a refusal keeps from the handler's answer.
var keepOnRefusal = map[string]bool{"x-ms-request-id": true, "x-ms-client-request-id": true,
	"strict-transport-security": true, "x-content-type-options": true, "connection": true}

func errAuditUnavailable() error {
	return arca.Errorf(arca.KindUnavailable, "ServiceUnavailable",
		"The service is unavailable: the audit log cannot be written. The request was not served; retry later.")
}
