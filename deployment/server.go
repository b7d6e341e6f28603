package deployment

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"encoding/json"

	"github.com/arcakv/arca/attestation"
	"github.com/arcakv/arca/audit"
	"github.com/arcakv/arca/authz"
	"github.com/arcakv/arca/identity"
	"github.com/arcakv/arca/rest"
	"github.com/arcakv/arca/scheduler"
	"github.com/arcakv/arca/storage"
	"github.com/go-jose/go-jose/v4"
)

// Running is a started deployment: its App, its ports and the HTTP handler.
type Running struct {
	App        *App
	Port       int // the port listened on
	PublicPort int // the port clients use (Config.PublicPort, or Port)
	Handler    *rest.Server
	servers    []*http.Server
	audit      *audit.Logger
	cancel     context.CancelFunc
	done       chan struct{}
}

func listenAll(addrs []string, port int) ([]net.Listener, int, error) {
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", net.JoinHostPort(a, strconv.Itoa(port)))
		if err != nil {
			if a == "::1" && len(lns) > 0 {
				continue // no IPv6 loopback on this machine
			}
			for _, l := range lns {
				l.Close()
			}
			return nil, 0, err
		}
		if port == 0 {
			port = ln.Addr().(*net.TCPAddr).Port
		}
		lns = append(lns, ln)
	}
	return lns, port, nil
}

// Start validates c, opens the deployment (as Open does: a bolt data
// directory is initialised on first start, an etcd cluster never is) and
// serves it until Close. It listens on c.Port but writes c.PublicPort into
// vault URLs, the token issuer and the audiences it accepts, so nodes behind
// one load balancer issue tokens every node accepts. Errors: an invalid
// Config, a port that cannot be listened on, a deployment that cannot be
// opened (Open's errors: ErrNotInitialised, ErrNoRootKey, a wrong root key).
func Start(ctx context.Context, o Config) (*Running, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	log := o.logger()
	lns, port, err := listenAll(o.Listen, o.Port)
	if err != nil {
		return nil, err
	}
	public := o.PublicPort
	if public == 0 {
		public = port
	}
	cfg := rest.Config{DNSSuffix: o.DNSSuffix, Port: public, IMDS: o.IMDS}
	cfg.AuthorityURL = "https://localhost" + cfg.PortSuffix()
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	release, testAuthority, err := o.release(cfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	app, err := Open(ctx, o.Data, Options{Clock: o.Clock, DefaultVault: o.DefaultVault, Storage: o.Storage, Etcd: o.Etcd,
		DNSSuffix: o.DNSSuffix, Port: public, Authority: cfg.AuthorityURL, VaultURL: cfg.VaultURL, Release: release, Log: log})
	if err != nil {
		closeAll()
		return nil, err
	}
	app.Facts.ListenPort = 0
	if port != public {
		app.Facts.ListenPort = port
	}
	if err := app.SaveFacts(); err != nil {
		app.Close()
		closeAll()
		return nil, err
	}
	cert, err := o.certificate(app, port)
	if err != nil {
		app.Close()
		closeAll()
		return nil, err
	}
	auditLog, err := o.openAudit(log)
	if err != nil {
		app.Close()
		closeAll()
		return nil, err
	}
	resources := allowedResources(cfg)
	h := &rest.Server{
		Config: cfg, Vaults: app.Vaults, Management: app.Management, Secrets: app.Secrets, Keys: app.Keys, Certificates: app.Certs,
		Authorizer: &authz.Engine{Source: &authzSource{vaults: app.Vaults, mgmt: app.Management, dir: app.Directory}},
		Clock:      o.Clock, Log: log, Audit: auditLog, TestAttestation: testAuthority, StoreHealth: app.storeHealth,
		Identity: &identity.Service{Dir: app.Directory, Tokens: app.Tokens, Clock: o.Clock, ResourceOK: func(res string) bool {
			return resources[strings.ToLower(strings.TrimSuffix(res, "/"))]
		}},
	}
	tlsCfg := rest.TLSConfig(*cert)
	runCtx, cancel := context.WithCancel(context.Background())
	r := &Running{App: app, Port: port, PublicPort: public, Handler: h, cancel: cancel, done: make(chan struct{}), audit: auditLog}
	limits := o.connLimits()
	for _, ln := range lns {
		// ReadTimeout bounds the headers and body together, WriteTimeout the
		// handler and the answer: a stalled or never-reading client lets
		// go of its connection within them.
		srv := &http.Server{Handler: h, TLSConfig: tlsCfg.Clone(), // each server configures HTTP/2 on its own copy
			ReadHeaderTimeout: 10 * time.Second, ReadTimeout: o.BodyTimeout, WriteTimeout: o.BodyTimeout + 2*time.Minute,
			IdleTimeout: 120 * time.Second,
			ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
		r.servers = append(r.servers, srv)
		go func(ln net.Listener) {
			if err := srv.ServeTLS(limits.Limit(ln), "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("serve", "err", err)
			}
		}(ln)
	}
	if o.PprofAddr != "" {
		if err := servePprof(runCtx, o.PprofAddr); err != nil {
			r.Close()
			return nil, err
		}
	}
	jobs := &scheduler.Scheduler{Every: o.PurgeInterval, Log: log, Elector: app.Store, Role: "background-jobs", Jobs: []scheduler.Job{
		{Name: "purge soft-deleted objects past retention", Run: app.PurgeExpired},
		{Name: "rotate keys per their rotation policy", Run: app.RotateDue},
		{Name: "renew certificates per their lifetime actions", Run: app.RenewDue},
		{Name: "remove expired sign-in codes", Run: h.Identity.PurgeExpiredSignIns},
	}}
	var bg sync.WaitGroup
	bg.Add(1)
	go func() { defer bg.Done(); jobs.Run(runCtx) }()
	for _, c := range []struct {
		name   string
		follow func(context.Context) error
	}{
		{"vaults", app.Vaults.Follow}, {"role assignments", app.Management.Follow},
		{"directory", app.Directory.Follow}, {"token signing keys", app.Tokens.Follow},
	} {
		bg.Add(1)
		go func() { defer bg.Done(); follow(runCtx, log, c.name, c.follow) }()
	}
	go func() { bg.Wait(); close(r.done) }()
	return r, nil
}

// follow keeps a cache following the store's changes (writes made by other
// nodes), restarting it with a backoff after an error, until ctx ends or the
// store cannot watch (one node: its own writes invalidate at once).
func follow(ctx context.Context, log *slog.Logger, name string, f func(context.Context) error) {
	backoff := 100 * time.Millisecond
	for {
		err := f(ctx)
		if ctx.Err() != nil || errors.Is(err, errors.ErrUnsupported) || errors.Is(err, storage.ErrClosed) {
			return
		}
		log.Error("cache stopped following the store; restarting", "cache", name, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Close stops serving, the background jobs and the cache followers, then
// closes the audit log and the store.
func (r *Running) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, s := range r.servers {
		_ = s.Shutdown(ctx)
	}
	r.cancel()
	<-r.done
	if err := r.audit.Close(); err != nil {
		r.App.Close()
		return err
	}
	return r.App.Close()
}

func (o *Config) certificate(app *App, port int) (*tls.Certificate, error) {
	if o.TLSCert != "" || o.TLSKey != "" {
		c, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		return &c, nil
	}
	names := []string{"localhost", "127.0.0.1", "::1", o.DNSSuffix, "*." + o.DNSSuffix}
	if o.DNSSuffix != "vault.localhost" {
		names = append(names, "vault.localhost", "*.vault.localhost")
	}
	names = append(names, o.TLSSANs...)
	return app.CA.ServerCertificate(names, app.Clock.Now())
}

// allowedResources lists the audiences the token service issues tokens for:
// the vault service, the management endpoint and Graph, in their local and
// Azure spellings.
func allowedResources(c rest.Config) map[string]bool {
	p := c.PortSuffix()
	out := map[string]bool{}
	for _, r := range []string{
		"https://" + c.DNSSuffix + p, "https://vault.localhost" + p, "https://vault.azure.net",
		"https://localhost" + p, "https://management.localhost" + p, "https://graph.localhost" + p,
		"https://management.azure.com", "https://management.core.windows.net", "https://graph.microsoft.com",
	} {
		out[strings.ToLower(r)] = true
	}
	return out
}

// wireRelease sets up secure key release: the trusted attestation
// authorities and Arca's signature on release results.
// release builds the attestation verifier for secure key release from the
// configured authorities, and the test authority when --test-attestation
// asks for one (nil otherwise).
func (o *Config) release(cfg rest.Config) (*attestation.Verifier, *attestation.TestAuthority, error) {
	v := &attestation.Verifier{Clock: o.Clock}
	for _, spec := range o.AttestAuth {
		url, file, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, nil, fmt.Errorf("--attestation-authority %q: want URL=JWKS-FILE", spec)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 {
			return nil, nil, fmt.Errorf("--attestation-authority %s: %s is not a JWKS", url, file)
		}
		v.Trust(&attestation.Authority{URL: url, Keys: set})
	}
	var ta *attestation.TestAuthority
	if o.TestAttest {
		var err error
		if ta, err = attestation.NewTestAuthority(cfg.AuthorityURL+"/attestation", o.Clock); err != nil {
			return nil, nil, err
		}
		v.Trust(ta.Authority())
	}
	return v, ta, nil
}

// servePprof exposes the profiler on a loopback address only.
func servePprof(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--pprof %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--pprof %s: only loopback addresses are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); srv.Close() }()
	go srv.Serve(ln)
	return nil
}

// connLimits are the connection limits of every listener: the configured
// per-address limit, but at most a quarter of the file descriptors, and in
// all the descriptors less a reserve for the store, the audit log and
// outgoing calls, so accepting never fails for want of a descriptor.
func (o *Config) connLimits() *rest.ConnLimits {
	l := &rest.ConnLimits{PerIP: o.MaxConnsPerIP}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur > 0 && rl.Cur < 1<<20 {
		fds := int(rl.Cur)
		l.Total = max(fds-64, fds/2)
		if l.PerIP > 0 {
			l.PerIP = min(l.PerIP, max(fds/4, 4))
		}
	}
	return l
}

// openAudit opens the audit sinks: the rotating file (unless "off") and
// optionally stdout.
func (o *Config) openAudit(log *slog.Logger) (*audit.Logger, error) {
	var sinks []audit.Sink
	path := o.AuditLog
	if path == "" {
		path = filepath.Join(o.Data, "audit", "audit.log")
	}
	if path != "off" {
		f, err := audit.OpenFile(path, 100<<20, 5)
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, f)
	}
	if o.AuditStdout {
		sinks = append(sinks, audit.WriterSink{W: os.Stdout})
	}
	return audit.New(log, sinks...), nil
}
