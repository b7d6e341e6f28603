package etcd

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Defaults of Config.
const (
	DefaultPrefix          = "arca/"
	DefaultDialTimeout     = 5 * time.Second
	DefaultSessionTTL      = 5 * time.Second
	DefaultRequestTimeout  = 5 * time.Second
	DefaultMaxTxnOps       = 128             // etcd's own default --max-txn-ops
	DefaultMaxRequestBytes = 1536 * 1024     // etcd's own default --max-request-bytes
	RecommendedMaxTxnOps   = 16384           // what Arca's scripts start etcd with
	RecommendedMaxRequest  = 8 * 1024 * 1024 // likewise, --max-request-bytes
)

// Config says how to reach an etcd cluster and how Arca uses it.
type Config struct {
	// Endpoints are the members' client URLs (http:// or https://).
	Endpoints []string
	// CACert verifies the members' certificates; Cert and Key are the
	// client certificate Arca presents (etcd's --client-cert-auth). All
	// three are PEM files; CACert alone gives TLS without a client
	// certificate.
	CACert, Cert, Key string
	// Prefix namespaces every key Arca writes, so several deployments
	// (or other programs) can share one cluster. Default "arca/".
	Prefix string
	// DialTimeout bounds connecting to the cluster. Default 5 s.
	DialTimeout time.Duration
	// SessionTTL is the lease of a leadership: a node that dies loses it
	// this long after its last renewal. Default 5 s.
	SessionTTL time.Duration
	// MaxTxnOps and MaxRequestBytes must not exceed the cluster's
	// --max-txn-ops and --max-request-bytes: an Update that would need
	// more is refused with storage.ErrTooLarge before it is sent.
	// Defaults: etcd's defaults (128 and 1.5 MiB).
	MaxTxnOps       int
	MaxRequestBytes int
	// RequestTimeout bounds every call to the cluster; a call cut off by it
	// fails with storage.ErrUnavailable. Default 5 s.
	RequestTimeout time.Duration
	// Log receives the backend's warnings; nil discards them.
	Log *slog.Logger
}

// Validate reports every problem at once: no endpoint, an endpoint that is
// not an http(s) URL, https endpoints without a CA, a certificate without
// its key, negative durations or limits.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(c.Endpoints) == 0 {
		bad("--etcd-endpoints: at least one endpoint is required")
	}
	for _, e := range c.Endpoints {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--etcd-endpoints %q: want http://HOST:PORT or https://HOST:PORT", e)
			continue
		}
		if u.Scheme == "https" && c.CACert == "" {
			bad("--etcd-endpoints %q: https needs --etcd-cacert", e)
		}
	}
	if (c.Cert == "") != (c.Key == "") {
		bad("--etcd-cert and --etcd-key go together")
	}
	if c.Prefix != "" && !strings.HasSuffix(c.Prefix, "/") {
		bad("--etcd-prefix %q: must end with /", c.Prefix)
	}
	if c.DialTimeout < 0 || c.RequestTimeout < 0 || c.SessionTTL < 0 || c.MaxTxnOps < 0 || c.MaxRequestBytes < 0 {
		bad("etcd: durations and limits must not be negative")
	}
	if c.SessionTTL > 0 && c.SessionTTL < time.Second {
		bad("etcd: the session TTL must be at least one second")
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	if c.MaxTxnOps == 0 {
		c.MaxTxnOps = DefaultMaxTxnOps
	}
	if c.MaxRequestBytes == 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	return c
}
