// Package authtest holds test helpers for the example servers that use
// package authserver: a throwaway PKI, a server started on a loopback port,
// and client sessions of the library's mechanisms (SASL, RFC 4422) to
// authenticate with. It is imported only by tests.
package authtest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// AllMechs is a -mechs value naming every mechanism the servers can run.
const AllMechs = "EXTERNAL,SCRAM-SHA-256-PLUS,SCRAM-SHA-256,SCRAM-SHA-1-PLUS,SCRAM-SHA-1,SCRAM-SHA-512," +
	"OAUTHBEARER,XOAUTH2,CRAM-MD5,PLAIN,LOGIN,ANONYMOUS"

// PKI is a throwaway CA, a server certificate it signed for localhost and
// 127.0.0.1, and a client certificate with the common name "user", all
// written in PEM under a test's temporary directory.
type PKI struct {
	// CAFile, CertFile and KeyFile are the CA certificate and the server's
	// certificate and key, for -client-ca, -cert and -key.
	CAFile, CertFile, KeyFile string
	// Roots holds the CA, for clients.
	Roots *x509.CertPool
	// Client is the client certificate, CN=user, and ClientCertFile and
	// ClientKeyFile its PEM files.
	Client                        tls.Certificate
	ClientCertFile, ClientKeyFile string
}

// NewPKI makes the certificates (package testpki).
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	tp := testpki.New(t, "")
	p := &PKI{CAFile: tp.CAFile, CertFile: tp.CertFile, KeyFile: tp.KeyFile, Roots: tp.Roots}
	p.Client, p.ClientCertFile, p.ClientKeyFile = tp.Client(t, "client", "user")
	return p
}

// ClientTLS returns a client TLS configuration that trusts the CA, for
// "localhost", presenting the client certificate when withCert is set.
func (p *PKI) ClientTLS(withCert bool) *tls.Config {
	c := &tls.Config{RootCAs: p.Roots, ServerName: "localhost"}
	if withCert {
		c.Certificates = []tls.Certificate{p.Client}
	}
	return c
}

// Config returns a server configuration for tests: plain and implicit TLS
// on loopback ports of the system's choosing, the PKI's certificates,
// client certificates verified, every mechanism offered, the default
// accounts, and a 5 s timeout.
func (p *PKI) Config() authserver.Config {
	return authserver.Config{
		Listen:       "127.0.0.1:0",
		CertFile:     p.CertFile,
		KeyFile:      p.KeyFile,
		ClientCAFile: p.CAFile,
		Mechs:        AllMechs,
		AuthTimeout:  5 * time.Second,
	}
}

// WriteFile writes content to a new file in a temporary directory and
// returns its path.
func WriteFile(t testing.TB, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Addrs are where a test server listens.
type Addrs struct {
	// Plain takes plain connections, with STARTTLS.
	Plain string
	// TLS takes implicit-TLS connections.
	TLS string
}

// Start loads a backend from cfg, makes a server with newServer, serves it
// on two loopback listeners, plain and implicit TLS, and closes it when the
// test ends.
func Start(t testing.TB, cfg authserver.Config, newServer func(*authserver.Backend) *authserver.Server) (Addrs, *authserver.Server) {
	t.Helper()
	b, err := authserver.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newServer(b)
	var a Addrs
	for _, implicit := range []bool{false, true} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serve := s.Serve
		if implicit {
			a.TLS = ln.Addr().String()
			serve = s.ServeTLS
		} else {
			a.Plain = ln.Addr().String()
		}
		go serve(ln)
	}
	t.Cleanup(func() { s.Close() })
	return a, s
}

// Client returns a client session for the built-in mechanism named name,
// with credentials c over channel ch. It does not ask whether the
// mechanism suits ch, as a registry's Client would: whether the server
// allows it is what tests check, and a registry refuses EXTERNAL to any
// client, whose channel has no external identity.
func Client(t testing.TB, name string, c creds.Client, ch mech.Channel) *session.Client {
	t.Helper()
	m, ok := registry.Builtin(name)
	if !ok {
		t.Fatalf("no mechanism %s", name)
	}
	cm, ok := m.(mech.Client)
	if !ok {
		t.Fatalf("%s has no client", name)
	}
	return session.NewClient(cm, c, ch, nil)
}

// Context returns a context that ends with the test, or after 10 s.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
