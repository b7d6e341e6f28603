package deployment

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/arcakv/arca"
	"github.com/arcakv/arca/storage/etcd"
)

// Config configures a running deployment (the flags of `arca serve`). The
// zero values of PurgeInterval, BodyTimeout and Clock mean their defaults.
type Config struct {
	Data string
	// Storage is the backend: StorageBolt (or "") keeps the store in
	// Data/arca.db; StorageEtcd in the etcd cluster Etcd describes, shared
	// with the other nodes (Etcd is ignored otherwise).
	Storage string
	Etcd    etcd.Config
	Port    int // the port listened on (0: any free port)
	// PublicPort is the port clients use, written into vault URLs, the
	// token issuer and `arca env`: a TCP load balancer's port when the
	// nodes sit behind one. 0 means the port listened on.
	PublicPort    int
	Listen        []string
	DNSSuffix     string
	DefaultVault  string
	TLSSANs       []string
	TLSCert       string
	TLSKey        string
	IMDS          bool
	LogLevel      string
	PurgeInterval time.Duration
	TestAttest    bool
	PprofAddr     string
	AuditLog      string
	AuditStdout   bool
	AttestAuth    []string
	BodyTimeout   time.Duration // the most a request (headers and body) may take to arrive
	MaxConnsPerIP int           // open connections one remote address may hold; 0: no limit
	Clock         arca.Clock    // nil: the system clock
	LogOutput     io.Writer     // nil: stderr
}

// Validate reports every problem with c at once: the DNS suffix needs two
// labels, the ports must be 0..65535, the storage must be bolt or etcd (and
// for etcd, the etcd settings valid as etcd.Config.Validate says), listen
// addresses must be IP addresses,
// --tls-cert and --tls-key go together, the log level must be one slog
// knows, durations and limits must not be negative, attestation
// authorities are URL=JWKS-FILE, and the data directory must be given.
func (o Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Data == "" {
		bad("--data: a data directory is required")
	}
	if suffix := strings.Trim(o.DNSSuffix, "."); strings.Count(suffix, ".") < 1 {
		bad("--dns-suffix %q: need at least two labels (e.g. vault.localhost)", o.DNSSuffix)
	}
	if o.Port < 0 || o.Port > 65535 {
		bad("--port %d: not a TCP port", o.Port)
	}
	if o.PublicPort < 0 || o.PublicPort > 65535 {
		bad("--public-port %d: not a TCP port", o.PublicPort)
	}
	if err := CheckStorage(o.Storage, o.Etcd); err != nil {
		errs = append(errs, err)
	}
	if len(o.Listen) == 0 {
		bad("--listen: at least one address is required")
	}
	for _, a := range o.Listen {
		if _, err := netip.ParseAddr(a); err != nil {
			bad("--listen %q: not an IP address", a)
		}
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		bad("--tls-cert and --tls-key go together")
	}
	if o.LogLevel != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(o.LogLevel)); err != nil {
			bad("--log-level %q: want debug, info, warn or error", o.LogLevel)
		}
	}
	if o.PurgeInterval < 0 || o.BodyTimeout < 0 || o.MaxConnsPerIP < 0 {
		bad("--purge-interval, --request-timeout and --max-conns-per-ip must not be negative")
	}
	for _, spec := range o.AttestAuth {
		if u, f, ok := strings.Cut(spec, "="); !ok || u == "" || f == "" {
			bad("--attestation-authority %q: want URL=JWKS-FILE", spec)
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero values that have defaults.
func (o Config) withDefaults() Config {
	if o.Clock == nil {
		o.Clock = arca.SystemClock{}
	}
	if o.PurgeInterval <= 0 {
		o.PurgeInterval = time.Minute
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = 30 * time.Second
	}
	o.DNSSuffix = strings.ToLower(strings.Trim(o.DNSSuffix, "."))
	return o
}

func (o Config) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(o.LogLevel))
	out := o.LogOutput
	if out == nil {
		out = os.Stderr
	}
	return slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: lvl}))
}
