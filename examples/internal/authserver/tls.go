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
// leaf certificate too, for the tls-server-end-point channel binding.
func tlsConfig(c *Config) (*tls.Config, *x509.Certificate, error) {
	var cert tls.Certificate
	var err error
	switch {
	case c.CertFile == "" && c.KeyFile == "":
		cert, err = SelfSigned(time.Now())
	case c.CertFile == "" || c.KeyFile == "":
		return nil, nil, errors.New("-cert and -key go together")
	default:
		cert, err = tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("server certificate: %w", err)
	}
	leaf := cert.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("server certificate: %w", err)
		}
	}
	tc := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if c.ClientCAFile != "" {
		pem, err := os.ReadFile(c.ClientCAFile)
		if err != nil {
			return nil, nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("client CA: no certificate in %s", c.ClientCAFile)
		}
		tc.ClientCAs = pool
		// A client without a certificate can still use the other
		// mechanisms; one with a certificate that does not verify is
		// refused at the handshake.
		tc.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return tc, leaf, nil
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
