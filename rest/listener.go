package rest

import (
	"crypto/tls"
	"net"
	"sync"

	"github.com/arcakv/arca/identity"
)

// TLSConfig is the server TLS configuration of every Arca listener: TLS 1.2
// with AEAD cipher suites only (ECDHE with AES-GCM or ChaCha20-Poly1305),
// and TLS 1.3, whose suites are all AEAD.
func TLSConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
	}
}

// ConnLimits bound the connections a listener keeps open.
type ConnLimits struct {
	PerIP int // open connections one remote address may hold; <= 0: no limit
	// Total caps the connections of every listener sharing these limits
	// (set it below the process's file-descriptor limit, so that accepting
	// never fails for want of one); <= 0: no limit.
	Total int

	mu    sync.Mutex
	open  map[string]int
	total int
}

// Limit wraps ln: a connection beyond the limits is closed as soon as it is
// accepted, before its TLS handshake, so that one client cannot take every
// file descriptor and the others keep being served.
func (l *ConnLimits) Limit(ln net.Listener) net.Listener {
	if l == nil || (l.PerIP <= 0 && l.Total <= 0) {
		return ln
	}
	return &ipLimitListener{Listener: ln, l: l}
}

// take reserves a slot for ip.
func (l *ConnLimits) take(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]int{}
	}
	if (l.PerIP > 0 && l.open[ip] >= l.PerIP) || (l.Total > 0 && l.total >= l.Total) {
		return false
	}
	l.open[ip]++
	l.total++
	return true
}

func (l *ConnLimits) release(ip string) {
	l.mu.Lock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
	l.total--
	l.mu.Unlock()
}

type ipLimitListener struct {
	net.Listener
	l *ConnLimits
}

func (l *ipLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := identity.AddrKey(remoteIP(c)) // an IPv6 host holds a whole /64
		if !l.l.take(ip) {
			c.Close()
			continue
		}
		return &countedConn{Conn: c, release: func() { l.l.release(ip) }}, nil
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
	return host
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
