package mech_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
)

// newCert returns a self-signed certificate for cn, usable by a TLS
// server or client.
func newCert(t *testing.T, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     []string{cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert
}

// mutualTLS makes a TLS connection at version v over an in-memory pipe, in
// which the client presents a certificate too, and returns both sides'
// connection states and both certificates.
func mutualTLS(t *testing.T, v uint16) (client, server tls.ConnectionState, clientCert, serverCert *x509.Certificate) {
	t.Helper()
	srvPair, serverCert := newCert(t, "localhost")
	cliPair, clientCert := newCert(t, "user")
	srvPool, cliPool := x509.NewCertPool(), x509.NewCertPool()
	srvPool.AddCert(clientCert)
	cliPool.AddCert(serverCert)
	client, server = testpki.Handshake(t, &tls.Config{
		Certificates: []tls.Certificate{srvPair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    srvPool,
		MinVersion:   v, MaxVersion: v,
	}, &tls.Config{
		Certificates: []tls.Certificate{cliPair},
		RootCAs:      cliPool, ServerName: "localhost",
		MinVersion: v, MaxVersion: v,
	})
	return client, server, clientCert, serverCert
}

func bindingTypes(ch mech.Channel) []string {
	var ts []string
	for _, b := range ch.Bindings {
		ts = append(ts, b.Type)
	}
	return ts
}

// TestTLSChannels: tls-server-end-point is the hash of the server's
// certificate on both sides. A server takes it from its own certificate,
// never from the peer's: a client certificate in the server's
// ConnectionState must not stand in for it.
func TestTLSChannels(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		want    []string
	}{
		{"TLS 1.3", tls.VersionTLS13, []string{mech.TLSExporter, mech.TLSServerEndPoint}},
		{"TLS 1.2", tls.VersionTLS12, []string{mech.TLSUnique, mech.TLSExporter, mech.TLSServerEndPoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccs, scs, clientCert, serverCert := mutualTLS(t, tc.version)
			if len(scs.PeerCertificates) == 0 || !scs.PeerCertificates[0].Equal(clientCert) {
				t.Fatal("the server's state does not hold the client's certificate")
			}
			want, err := mech.ServerEndPoint(serverCert)
			if err != nil {
				t.Fatal(err)
			}
			peer, err := mech.ServerEndPoint(clientCert)
			if err != nil {
				t.Fatal(err)
			}

			cch := mech.ClientTLSChannel(&ccs)
			sch := mech.ServerTLSChannel(&scs, serverCert)
			for name, ch := range map[string]mech.Channel{"client": cch, "server": sch} {
				if !ch.Secure || ch.External != "" {
					t.Errorf("%s channel %+v: want Secure and no external identity", name, ch)
				}
				if diff := cmp.Diff(tc.want, bindingTypes(ch)); diff != "" {
					t.Errorf("%s bindings (-want +got):\n%s", name, diff)
				}
				if got, _ := ch.Binding(mech.TLSServerEndPoint); !bytes.Equal(got, want) {
					t.Errorf("%s tls-server-end-point is not the server certificate's", name)
				}
			}
			// Both sides see the same bindings.
			if diff := cmp.Diff(cch.Bindings, sch.Bindings); diff != "" {
				t.Errorf("client and server bindings differ (-client +server):\n%s", diff)
			}

			// Without its own certificate the server has no
			// tls-server-end-point, though its state holds the peer's.
			own := mech.ServerTLSChannel(&scs, nil)
			if diff := cmp.Diff(tc.want[:len(tc.want)-1], bindingTypes(own)); diff != "" {
				t.Errorf("server without its certificate (-want +got):\n%s", diff)
			}
			for _, b := range own.Bindings {
				if bytes.Equal(b.Data, peer) {
					t.Errorf("server binding %s is the client certificate's hash", b.Type)
				}
			}
		})
	}
	// A nil state is a secure channel without bindings.
	for name, ch := range map[string]mech.Channel{"server": mech.ServerTLSChannel(nil, nil), "client": mech.ClientTLSChannel(nil)} {
		if !ch.Secure || len(ch.Bindings) != 0 {
			t.Errorf("%s of nil state: %+v", name, ch)
		}
	}
}

// TestVerifiedClientCNMutual: a server's state after a verified client
// certificate gives the certificate's common name.
func TestVerifiedClientCNMutual(t *testing.T) {
	_, scs, _, _ := mutualTLS(t, tls.VersionTLS13)
	if got := mech.VerifiedClientCN(&scs); got != "user" {
		t.Errorf("VerifiedClientCN = %q, want user", got)
	}
}
