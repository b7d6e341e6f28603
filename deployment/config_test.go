package deployment

import (
	"strings"
	"testing"
)

// TestConfigValidate: every problem is reported at once, by flag name; a
// complete configuration passes.
func TestConfigValidate(t *testing.T) {
	ok := Config{Data: "d", DNSSuffix: "vault.localhost", Port: 8443, Listen: []string{"127.0.0.1", "::1"}, LogLevel: "warn"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := Config{DNSSuffix: "localhost", Port: 70000, Listen: []string{"localhost"}, TLSCert: "c.pem", LogLevel: "loud",
		BodyTimeout: -1, AttestAuth: []string{"no-equals"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"--data", "--dns-suffix", "--port", "--listen", "--tls-cert", "--log-level", "--request-timeout", "--attestation-authority"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no complaint about %s in %v", want, err)
		}
	}
}
