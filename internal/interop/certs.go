package interop

import (
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/saslkit/saslkit/internal/testpki"
)

// Certs is a throwaway CA and a server certificate it signed for
// "localhost" and 127.0.0.1.
type Certs struct {
	// CAFile is the path of the CA certificate in PEM, for peers'
	// --x509-ca-file or --cacert.
	CAFile string
	// Server is the server's certificate chain and key, for tls.Config.
	Server tls.Certificate
	// Leaf is the server's certificate, for mech.ServerTLSChannel.
	Leaf *x509.Certificate
}

// NewCerts makes a CA and a server certificate (package testpki) and
// writes them under dir; the CA certificate is dir/ca.pem.
func NewCerts(t testing.TB, dir string) *Certs {
	t.Helper()
	p := testpki.New(t, dir)
	return &Certs{CAFile: p.CAFile, Server: p.Server, Leaf: p.Leaf}
}
