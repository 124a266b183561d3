package authserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// tlsConfig builds the server's TLS configuration from c, and returns the
// leaf certificate too, for the tls-server-end-point channel binding, and
// the pool client certificates are verified against (nil without
// c.ClientCAFile).
func tlsConfig(c *Config) (*tls.Config, *x509.Certificate, *x509.CertPool, error) {
	var cert tls.Certificate
	var err error
	switch {
	case c.CertFile == "" && c.KeyFile == "":
		cert, err = SelfSigned(time.Now())
	case c.CertFile == "" || c.KeyFile == "":
		return nil, nil, nil, errors.New("-cert and -key go together")
	default:
		cert, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server certificate: %w", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, nil, fmt.Errorf("server certificate: %w", err)
		}
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if c.ClientCAFile == "" {
		return tc, leaf, nil, nil
	}
	pem, err := os.ReadFile(c.ClientCAFile)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, nil, fmt.Errorf("client CA: no certificate in %s", c.ClientCAFile)
	}
	// The server asks for a certificate without naming the CAs it takes
	// (tls.Config.ClientCAs would put them in the CertificateRequest's
	// certificate_authorities), and verifies it itself. GnuTLS clients
	// (gsasl, GnuTLS 3.7) pick the certificate to send from that list and
	// the request's signature_algorithms, which crypto/tls fills, on TLS
	// 1.3, with RSA-PSS, ECDSA and Ed25519 only: GnuTLS takes RSA-PSS for
	// a key type, so it never sends an RSA (rsaEncryption) certificate,
	// whatever its issuer. With no CA named, a client holding one
	// certificate sends it. A client without a certificate can still use
	// the other mechanisms; one with a certificate that does not verify is
	// refused at the handshake.
	tc.ClientAuth = tls.RequestClientCert
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil
		}
		return verifyClient(pool, cs.PeerCertificates)
	}
	return tc, leaf, pool, nil
}

// verifyClient verifies a client's certificate chain, leaf first, against
// roots for client authentication, as crypto/tls does for ClientCAs.
func verifyClient(roots *x509.CertPool, chain []*x509.Certificate) error {
	opts := x509.VerifyOptions{
		Roots:         roots,
		Intermediates: x509.NewCertPool(),
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	_, err := chain[0].Verify(opts)
	return err
}

// SelfSigned makes a self-signed ECDSA P-256 certificate for "localhost",
// 127.0.0.1 and ::1, valid from an hour before now for a year.
// Clients will not trust it without being told to (curl -k, gsasl
// --x509-ca-file with the certificate written out).
func SelfSigned(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true, // so that it can be given as its own CA
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}
