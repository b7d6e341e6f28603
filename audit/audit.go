// Package audit writes Arca's audit log: one JSON line per request, in the
// shape of Azure Key Vault's AuditEvent diagnostic log. Events carry
// identities, URIs and outcomes only: never a secret value, key material,
// password, client secret or token (callers pass none, and Record strips
// query parameters that could carry credentials).
package audit

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Event is one audit record (Azure's AuditEvent schema).
type Event struct {
	Time              time.Time      `json:"time"`
	Category          string         `json:"category"`
	OperationName     string         `json:"operationName"`
	OperationVersion  string         `json:"operationVersion,omitempty"`
	ResourceID        string         `json:"resourceId"`
	ResultType        string         `json:"resultType"`
	ResultSignature   string         `json:"resultSignature"`
	ResultDescription string         `json:"resultDescription,omitempty"`
	DurationMs        int64          `json:"durationMs"`
	CallerIPAddress   string         `json:"callerIpAddress"`
	CorrelationID     string         `json:"correlationId"`
	Identity          *Identity      `json:"identity,omitempty"`
	Properties        map[string]any `json:"properties"`
}

// Identity is the caller's claims.
type Identity struct {
	Claim map[string]string `json:"claim"`
}

// Sink receives encoded events.
type Sink interface {
	Write(line []byte) error
	Close() error
}

// HealthChecker is an optional Sink capability: Healthy reports a problem
// that will make the next writes fail (a disk about to fill) although the
// last one succeeded. The Logger then refuses new requests while the records
// of those already running still fit.
type HealthChecker interface {
	Healthy() error
}

// Logger serialises events to sinks. Safe for concurrent use. Record
// encodes the event, queues its line and waits until the writer goroutine
// has handed it to every sink: records that queue while a write is under
// way are combined into the next write, so a busy server makes one write per
// group of records. A record is acknowledged only once written, which lets
// the caller refuse to serve a request whose record was lost (fail closed).
type Logger struct {
	// Timeout bounds how long Record waits for its write, and how long a
	// write may take before the log counts as failing (a sink that hangs,
	// such as a stalled pipe, must not hang every request). Zero: 10 s.
	Timeout time.Duration

	mu      sync.Mutex
	buf     []byte // lines waiting for the writer
	pending *batch // the records in buf; nil when buf is empty
	spare   []byte // the writer's last buffer, reused when small
	closed  bool
	failing error     // the last write's error, or a sink's health problem; nil when all is well
	since   time.Time // when the write under way started; zero when idle
	sinks   []Sink
	wake    chan struct{} // capacity 1: "there are lines"
	done    chan struct{} // closed when the writer has exited
	log     *slog.Logger
}

// batch is the outcome of one write, shared by the records it carried.
type batch struct {
	done    chan struct{} // closed when err is set
	err     error
	stalled chan struct{} // closed when the batch has waited the Logger's Timeout
	timer   *time.Timer   // closes stalled; one per batch, not per record
}

// New returns a Logger writing to sinks. log receives one line when the
// sinks start failing and one when they work again (never a record).
func New(log *slog.Logger, sinks ...Sink) *Logger {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Logger{sinks: sinks, wake: make(chan struct{}, 1), done: make(chan struct{}), log: log}
	go l.writer()
	return l
}

// credentialParams are query parameters never written to the log.
var credentialParams = map[string]bool{"code": true, "client_secret": true, "client_assertion": true, "password": true,
	"refresh_token": true, "access_token": true, "sig": true, "token": true}

// RedactURI drops query parameters that could carry credentials.
func RedactURI(u *url.URL) string {
	if !mayCarryCredentials(u.RawQuery) && u.User == nil {
		return u.String() // the common case: nothing to redact, no re-encoding
	}
	q := u.Query()
	for k := range q {
		if credentialParams[strings.ToLower(k)] {
			q.Set(k, "REDACTED")
		}
	}
	out := *u
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		for j, v := range q[k] {
			if j > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	out.RawQuery = b.String()
	out.User = nil
	return out.String()
}

func mayCarryCredentials(rawQuery string) bool {
	lq := strings.ToLower(rawQuery)
	if strings.IndexByte(lq, '%') >= 0 { // a percent-encoded name (client%5Fsecret) is the same parameter
		u, err := url.QueryUnescape(lq)
		if err != nil {
			return true
		}
		lq = u
	}
	for k := range credentialParams {
		if strings.Contains(lq, k) {
			return true
		}
	}
	return false
}

// ResultType maps an HTTP status to the AuditEvent result type.
func ResultType(status int) string {
	switch {
	case status < 400:
		return "Success"
	case status == 401:
		return "Unauthorized"
	case status == 403:
		return "Forbidden"
	case status == 404:
		return "NotFound"
	case status < 500:
		return "BadRequest"
	}
	return "Failure"
}

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: logger closed")

// ErrStalled is returned when the sinks have not finished a write within
// the Logger's Timeout.
var ErrStalled = errors.New("audit: the audit sink has not finished writing")

// ErrBacklog is returned when more records wait than maxQueued bytes.
var ErrBacklog = errors.New("audit: too many records waiting for the audit sink")

// maxQueued bounds the bytes of records waiting for the writer.
const maxQueued = 16 << 20

func (l *Logger) timeout() time.Duration {
	if l.Timeout <= 0 {
		return 10 * time.Second
	}
	return l.Timeout
}

// maxSpare bounds the buffer kept for reuse between writes.
const maxSpare = 1 << 20

// scratch holds encoding buffers, so records are encoded outside the lock.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// Record writes e to the sinks and returns once the write is done: nil when
// every sink took the line, else the first sink error (or ErrClosed after
// Close). A request whose record fails must not be answered as served.
func (l *Logger) Record(e *Event) error {
	if l == nil {
		return nil
	}
	if e.Category == "" {
		e.Category = "AuditEvent"
	}
	bp := scratch.Get().(*[]byte)
	line := append(e.AppendJSON((*bp)[:0]), '\n')
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if len(l.buf)+len(line) > maxQueued {
		l.mu.Unlock()
		return ErrBacklog
	}
	l.buf = append(l.buf, line...)
	b := l.pending
	if b == nil {
		b = &batch{done: make(chan struct{}), stalled: make(chan struct{})}
		b.timer = time.AfterFunc(l.timeout(), func() { close(b.stalled) })
		l.pending = b
	}
	select {
	case l.wake <- struct{}{}:
	default: // already signalled
	}
	l.mu.Unlock()
	if cap(line) <= maxSpare { // the line was copied into l.buf: its buffer can be reused
		*bp = line
		scratch.Put(bp)
	}
	select {
	case <-b.done:
		return b.err
	case <-b.stalled:
		return ErrStalled
	}
}

// Err is the error of the last write, nil while the sinks work. Callers use
// it to refuse work before doing it while the audit log is failing.
func (l *Logger) Err() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if !l.since.IsZero() && time.Since(l.since) > l.timeout() {
		return ErrStalled
	}
	return l.failing
}

func (l *Logger) writer() {
	defer close(l.done)
	for range l.wake {
		for {
			l.mu.Lock()
			out, b := l.buf, l.pending
			if len(out) == 0 {
				l.mu.Unlock()
				break
			}
			l.buf, l.pending = l.spare[:0], nil
			l.spare = nil
			l.since = time.Now()
			l.mu.Unlock()
			err := l.write(out)
			health := err
			if health == nil {
				health = l.health()
			}
			l.mu.Lock()
			l.since = time.Time{}
			was := l.failing
			l.failing = health
			if cap(out) <= maxSpare {
				l.spare = out[:0] // l.buf never shares this array: it was taken above
			}
			l.mu.Unlock()
			switch {
			case health != nil && was == nil:
				l.log.Error("audit log cannot be written: refusing requests until it can", "err", health)
			case health == nil && was != nil:
				l.log.Warn("audit log writable again: serving requests")
			}
			b.timer.Stop()
			b.err = err
			close(b.done)
		}
	}
}

// health asks the sinks that can tell whether the next writes will fail.
func (l *Logger) health() error {
	for _, s := range l.sinks {
		if h, ok := s.(HealthChecker); ok {
			if err := h.Healthy(); err != nil {
				return err
			}
		}
	}
	return nil
}

// write sends out to every sink; a panicking sink is an error, not a crash
// of the writer.
func (l *Logger) write(out []byte) (first error) {
	defer func() {
		if p := recover(); p != nil {
			first = fmt.Errorf("audit: sink panicked: %v", p)
		}
	}()
	for _, s := range l.sinks {
		if err := s.Write(out); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close writes the queued records, stops the writer and closes the sinks.
// It waits for a hanging sink at most the Logger's Timeout (then returns
// ErrStalled and leaves the sinks open). It may be called more than once.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	already := l.closed
	if !already {
		l.closed = true
		close(l.wake)
	}
	l.mu.Unlock()
	select {
	case <-l.done:
	case <-time.After(l.timeout()):
		return ErrStalled
	}
	if already {
		return nil
	}
	var first error
	for _, s := range l.sinks {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// WriterSink writes lines to an io.Writer (e.g. os.Stdout).
type WriterSink struct{ W io.Writer }

func (s WriterSink) Write(line []byte) error { _, err := s.W.Write(line); return err }
func (s WriterSink) Close() error            { return nil }

// FileSink appends to a file, rotating it to path.1 … path.N when it
// reaches MaxBytes. It keeps Reserve bytes allocated beyond the end of the
// file (where the filesystem supports it), so that when the disk fills up
// the records of requests already running still fit: Healthy reports the
// lack of space at once, and the Logger refuses new requests.
type FileSink struct {
	Path     string
	MaxBytes int64
	Keep     int
	Reserve  int64 // bytes kept allocated ahead of the file's end; 0: 1 MiB

	f        *os.File // nil after a failed rotation: reopened by the next Write
	size     int64
	reserved int64 // the file's allocated end (size + what is reserved)
	noAlloc  bool  // the filesystem cannot reserve space
	lowSpace error // the last failure to reserve space
}

// OpenFile opens (appending) a rotating file sink with mode 0600.
func OpenFile(path string, maxBytes int64, keep int) (*FileSink, error) {
	s := &FileSink{Path: path, MaxBytes: maxBytes, Keep: keep}
	return s, s.open()
}

func (s *FileSink) open() error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(s.Path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.size, s.reserved = f, st.Size(), st.Size()
	s.reserve()
	return nil
}

func (s *FileSink) reserveBytes() int64 {
	if s.Reserve <= 0 {
		return 1 << 20
	}
	return s.Reserve
}

// reserve tops the space allocated past the end of the file back up to
// reserveBytes once a sixteenth of it has been written into (one fallocate
// per 64 KiB of records with the default reserve: per write it cost a
// seventh of a get-secret request's CPU), so a disk that fills is reported
// within that much while the rest of the reserve still takes the records
// of the requests running; a failure is remembered for Healthy and retried
// after every write.
func (s *FileSink) reserve() {
	if s.noAlloc || s.f == nil {
		return
	}
	want := s.reserveBytes()
	if s.lowSpace == nil && s.reserved-s.size > want-want/16 {
		return
	}
	switch err := allocate(s.f, s.size, want); {
	case err == nil:
		s.reserved, s.lowSpace = s.size+want, nil
	case errors.Is(err, errNoAllocate):
		s.noAlloc, s.lowSpace = true, nil
	default:
		s.lowSpace = fmt.Errorf("audit: cannot reserve space for the audit log: %w", err)
	}
}

// Healthy implements HealthChecker: an error while space for the next
// records cannot be reserved.
func (s *FileSink) Healthy() error { return s.lowSpace }

func (s *FileSink) rotate() error {
	err := s.f.Close()
	s.f = nil // whatever happens next, the next Write reopens
	if err != nil {
		return err
	}
	for i := s.Keep - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", s.Path, i), fmt.Sprintf("%s.%d", s.Path, i+1))
	}
	if s.Keep > 0 {
		if err := os.Rename(s.Path, s.Path+".1"); err != nil {
			return err
		}
	} else if err := os.Remove(s.Path); err != nil {
		return err
	}
	return s.open()
}

// Write implements Sink: one write(2) per call (a record, or a group of
// records combined by Logger), split at line boundaries where the file
// must rotate, so no file grows past MaxBytes except by a single record. A
// write that fails part-way is cut off, so the file never holds a torn line.
func (s *FileSink) Write(p []byte) error {
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	for len(p) > 0 {
		n := len(p)
		if s.MaxBytes > 0 {
			n = 0 // whole lines that fit (at least one in an empty file)
			for n < len(p) {
				end := bytes.IndexByte(p[n:], '\n') + 1
				if end == 0 {
					end = len(p) - n
				}
				if s.size+int64(n+end) > s.MaxBytes && (n > 0 || s.size > 0) {
					break
				}
				n += end
			}
			if n == 0 {
				if err := s.rotate(); err != nil {
					return err
				}
				continue
			}
		}
		w, err := s.f.Write(p[:n])
		if err != nil {
			if w > 0 { // a partial line would corrupt the next record: cut it off
				if terr := s.f.Truncate(s.size); terr != nil {
					return errors.Join(err, terr)
				}
			}
			return err
		}
		s.size += int64(w)
		p = p[n:]
	}
	s.reserve()
	return nil
}

// Close implements Sink.
func (s *FileSink) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
