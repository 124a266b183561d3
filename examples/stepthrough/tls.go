package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/saslkit/saslkit/mech"
)

// tlsChannels makes a TLS connection over an in-memory pipe and returns the
// server's and the client's channels, each from its own end, with the
// client offering only the binding type cb. tls-unique exists only up to
// TLS 1.2, so it runs over TLS 1.2; the others over TLS 1.3.
func tlsChannels(cb string) (srv, cli mech.Channel, desc string, err error) {
	version := uint16(tls.VersionTLS13)
	switch cb {
	case mech.TLSExporter, mech.TLSServerEndPoint:
	case mech.TLSUnique:
		version = tls.VersionTLS12
	default:
		return srv, cli, "", fmt.Errorf("-cb: unknown channel-binding type %q", cb)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return srv, cli, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return srv, cli, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return srv, cli, "", err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)

	a, b := net.Pipe()
	// Closing the pipe, not the TLS connections: nobody reads a
	// close_notify.
	defer a.Close()
	defer b.Close()
	sc := tls.Server(a, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   version, MaxVersion: version,
	})
	cc := tls.Client(b, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		return srv, cli, "", err
	}
	if err := <-errc; err != nil {
		return srv, cli, "", err
	}
	scs, ccs := sc.ConnectionState(), cc.ConnectionState()
	srv = mech.ServerTLSChannel(&scs, cert)
	cli = mech.ClientTLSChannel(&ccs)
	data, ok := cli.Binding(cb)
	if !ok {
		return srv, cli, "", fmt.Errorf("-cb: the connection has no %s binding", cb)
	}
	cli.Bindings = []mech.Binding{{Type: cb, Data: data}}
	return srv, cli, fmt.Sprintf("%s over %s, in memory", cb, tls.VersionName(version)), nil
}
