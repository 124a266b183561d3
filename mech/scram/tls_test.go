package scram_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/testpki"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// tlsPair makes a TLS connection over an in-memory pipe at version v and
// returns both sides' connection states and the server's certificate.
func tlsPair(t *testing.T, v uint16) (client, server tls.ConnectionState, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	client, server = testpki.Handshake(t, &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   v, MaxVersion: v,
	}, &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: v, MaxVersion: v})
	return client, server, cert
}

func bindingTypes(ch mech.Channel) []string {
	var ts []string
	for _, b := range ch.Bindings {
		ts = append(ts, b.Type)
	}
	return ts
}

// TestTLS runs SCRAM-SHA-256-PLUS over real TLS 1.2 (tls-unique) and 1.3
// (tls-exporter) connections, and with tls-server-end-point.
func TestTLS(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	m := scram.Mechanism{Plus: true}
	c := creds.Client{Authcid: "user", Password: "pencil"}
	for _, tc := range []struct {
		name    string
		version uint16
		want    []string
	}{
		{"TLS 1.3", tls.VersionTLS13, []string{"tls-exporter", "tls-server-end-point"}},
		{"TLS 1.2", tls.VersionTLS12, []string{"tls-unique", "tls-exporter", "tls-server-end-point"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ccs, scs, cert := tlsPair(t, tc.version)
			cch := mech.ClientTLSChannel(&ccs)
			sch := mech.ServerTLSChannel(&scs, cert)
			if got := bindingTypes(cch); !equal(got, tc.want) {
				t.Errorf("client bindings %v, want %v", got, tc.want)
			}
			if got := bindingTypes(sch); !equal(got, tc.want) {
				t.Errorf("server bindings %v, want %v", got, tc.want)
			}
			for i := range cch.Bindings {
				// Run with each binding type the client may choose first.
				cli := cch
				cli.Bindings = cch.Bindings[i:]
				r := run(t, cfg, m, m, c, sch, cli)
				if r.srvErr != nil || r.cliErr != nil || !r.step.Done {
					t.Errorf("%s: server %v, client %v", cli.Bindings[0].Type, r.srvErr, r.cliErr)
				}
			}
			// Another connection's binding does not match.
			other, _, _ := tlsPair(t, tc.version)
			och := mech.ClientTLSChannel(&other)
			if r := run(t, cfg, m, m, c, sch, och); !errors.Is(r.srvErr, mech.ErrAuthFailed) {
				t.Errorf("foreign binding: %v", r.srvErr)
			}
			// Without its own certificate, the server has no
			// tls-server-end-point.
			noCert := mech.ServerTLSChannel(&scs, nil)
			if got := bindingTypes(noCert); !equal(got, tc.want[:len(tc.want)-1]) {
				t.Errorf("server without cert: %v", got)
			}
			// ...so a client that binds to it is refused.
			ep := cch
			ep.Bindings = cch.Bindings[len(cch.Bindings)-1:]
			if r := run(t, cfg, m, m, c, noCert, ep); !errors.Is(r.srvErr, mech.ErrAuthFailed) || string(r.sentFinal) != "e=unsupported-channel-binding-type" {
				t.Errorf("tls-server-end-point to a server without cert: %v, %q", r.srvErr, r.sentFinal)
			}
		})
	}
}

func TestServerEndPointEd25519(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := mech.ServerEndPoint(cert); !errors.Is(err, mech.ErrNoCertHash) {
		t.Errorf("Ed25519: %v, want ErrNoCertHash", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVerifiedClientCN(t *testing.T) {
	if got := mech.VerifiedClientCN(nil); got != "" {
		t.Errorf("nil: %q", got)
	}
	// A client-side state: the peer is the server, whose chain the client
	// verified; a server must not call it so, but without client
	// certificates a server's state has no verified chains.
	_, scs, _ := tlsPair(t, tls.VersionTLS13)
	if got := mech.VerifiedClientCN(&scs); got != "" {
		t.Errorf("no client certificate: %q", got)
	}
	cert := &x509.Certificate{Subject: pkix.Name{CommonName: "user"}}
	cs := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
	if got := mech.VerifiedClientCN(cs); got != "" {
		t.Errorf("unverified certificate: %q", got)
	}
	cs.VerifiedChains = [][]*x509.Certificate{{cert}}
	if got := mech.VerifiedClientCN(cs); got != "user" {
		t.Errorf("verified certificate: %q", got)
	}
}
