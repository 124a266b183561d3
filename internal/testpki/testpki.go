// Package testpki makes throwaway X.509 certificates for saslkit's tests:
// a CA, a server certificate for localhost and 127.0.0.1, and client
// certificates, with ECDSA P-256 keys, written as PEM files that real peers
// (curl, gsasl, Dovecot) can read. It is for tests only.
package testpki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a CA and the certificates it signed, with their PEM files in Dir.
type PKI struct {
	// Dir holds the files: ca.pem, server.pem, server.key, and NAME.pem
	// and NAME.key for each client certificate.
	Dir string
	// CAFile is the CA certificate's file; CA the certificate itself, and
	// Roots a pool holding it.
	CAFile string
	CA     *x509.Certificate
	Roots  *x509.CertPool
	// CertFile and KeyFile are the server certificate and key files;
	// Server is the chain (leaf, CA) and key, for a tls.Config, and Leaf
	// the server certificate, for mech.ServerTLSChannel.
	CertFile, KeyFile string
	Server            tls.Certificate
	Leaf              *x509.Certificate

	caKey  *ecdsa.PrivateKey
	serial int64
}

// New makes a CA and a server certificate for localhost and 127.0.0.1 in
// dir (a new temporary directory when dir is empty), valid from an hour ago
// for a day.
func New(t testing.TB, dir string) *PKI {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	p := &PKI{Dir: dir, Roots: x509.NewCertPool(), caKey: newKey(t), serial: 1}
	caDER := p.sign(t, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "saslkit test CA"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, p.caKey, nil)
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p.CA = ca
	p.Roots.AddCert(ca)
	p.CAFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)

	p.Server, p.CertFile, p.KeyFile = p.leaf(t, "server", &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	p.Leaf = p.Server.Leaf
	return p
}

// Client makes a client certificate with common name cn and extended key
// usage clientAuth, written to NAME.pem and NAME.key, where NAME is name.
func (p *PKI) Client(t testing.TB, name, cn string) (cert tls.Certificate, certFile, keyFile string) {
	t.Helper()
	return p.leaf(t, name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// Impostor makes another certificate for localhost and 127.0.0.1, signed
// by the same CA and good both as a server and as a client certificate
// (extended key usages serverAuth and clientAuth), written to NAME.pem and
// NAME.key: what a man in the middle holds who got a certificate for the
// server's name, to test that channel binding catches him.
func (p *PKI) Impostor(t testing.TB, name string) tls.Certificate {
	t.Helper()
	cert, _, _ := p.leaf(t, name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	return cert
}

func (p *PKI) leaf(t testing.TB, name string, tmpl *x509.Certificate) (tls.Certificate, string, string) {
	t.Helper()
	key := newKey(t)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der := p.sign(t, tmpl, key, p.CA)
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := writePEM(t, p.Dir, name+".pem", "CERTIFICATE", der)
	keyFile := writePEM(t, p.Dir, name+".key", "PRIVATE KEY", kder)
	chain := [][]byte{der, p.CA.Raw}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, certFile, keyFile
}

// sign signs tmpl, for key's public key, by parent (self-signed when parent
// is nil) with the CA key.
func (p *PKI) sign(t testing.TB, tmpl *x509.Certificate, key *ecdsa.PrivateKey, parent *x509.Certificate) []byte {
	t.Helper()
	now := time.Now()
	tmpl.SerialNumber = big.NewInt(p.serial)
	p.serial++
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(24*time.Hour)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writePEM writes der as PEM to dir/name, readable by its owner only:
// Dovecot reads its key as root, before it drops privileges.
func writePEM(t testing.TB, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Handshake runs a TLS handshake between a client with config client and a
// server with config server over an in-memory pipe, and returns both
// sides' connection states. It fails t if either side fails. The pipe is
// closed when the test ends.
func Handshake(t testing.TB, server, client *tls.Config) (cs, ss tls.ConnectionState) {
	t.Helper()
	a, b := net.Pipe()
	// Close the pipe, not the TLS conns: close_notify on an unread pipe
	// would block.
	t.Cleanup(func() { a.Close(); b.Close() })
	srv, cli := tls.Server(a, server), tls.Client(b, client)
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	return cli.ConnectionState(), srv.ConnectionState()
}
