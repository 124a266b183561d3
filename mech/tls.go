package mech

import (
	"crypto"
	_ "crypto/sha256" // registers crypto.SHA256
	_ "crypto/sha512" // registers crypto.SHA384 and SHA512
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// Channel-binding types (RFC 5056) that [ServerTLSChannel] and
// [ClientTLSChannel] provide.
const (
	// TLSExporter is "tls-exporter" (RFC 9266): 32 octets of keying
	// material exported with the label "EXPORTER-Channel-Binding". The
	// default on TLS 1.3.
	TLSExporter = "tls-exporter"
	// TLSUnique is "tls-unique" (RFC 5929 section 3): the first Finished
	// message. Defined for TLS 1.2 and earlier only.
	TLSUnique = "tls-unique"
	// TLSServerEndPoint is "tls-server-end-point" (RFC 5929 section 4): a
	// hash of the server's certificate.
	TLSServerEndPoint = "tls-server-end-point"
)

// ErrNoCertHash means a certificate's signature algorithm has no hash
// function (Ed25519), so it has no tls-server-end-point binding.
var ErrNoCertHash = errors.New("saslkit/mech: certificate signature has no hash for tls-server-end-point")

// ServerTLSChannel returns, on a server, the [Channel] of a TLS connection
// whose state is cs: Secure, the channel bindings in order of preference,
// and no external identity (set [Channel.External] from a verified client
// certificate, with [VerifiedClientCN] or otherwise).
//
// own is the server's own leaf certificate, the one it presented on this
// connection, for tls-server-end-point (RFC 5929 section 4): a server's
// ConnectionState does not hold it. The peer's certificate is never used,
// so a client certificate cannot stand in for the server's; a nil own
// leaves tls-server-end-point out.
//
// On TLS 1.3 the bindings are tls-exporter, then tls-server-end-point; on
// TLS 1.2 they are tls-unique, then tls-exporter (only with the extended
// master secret), then tls-server-end-point. tls-server-end-point is left
// out for a certificate whose signature has no hash (Ed25519). A SCRAM
// server finds the type the client names among them, whatever the order.
//
// A server that picks its certificate per connection
// (tls.Config.GetCertificate) passes the leaf of the certificate it
// returned for this connection, for instance recorded by that callback for
// the connection's ClientHelloInfo.Conn.
func ServerTLSChannel(cs *tls.ConnectionState, own *x509.Certificate) Channel {
	return tlsChannel(cs, own)
}

// ClientTLSChannel returns, on a client, the [Channel] of a TLS connection
// whose state is cs: Secure and the channel bindings in order of
// preference, with tls-server-end-point taken from the certificate the
// server presented (cs.PeerCertificates). Set [Channel.Host], [Channel.Port]
// and [Channel.External] yourself.
//
// A -PLUS client binds with the first binding. To bind with another type,
// as PostgreSQL clients must with tls-server-end-point (libpq uses no
// other), keep only that one in Bindings.
func ClientTLSChannel(cs *tls.ConnectionState) Channel {
	var server *x509.Certificate
	if cs != nil && len(cs.PeerCertificates) > 0 {
		server = cs.PeerCertificates[0]
	}
	return tlsChannel(cs, server)
}

// tlsChannel returns the channel of cs, with server's certificate for
// tls-server-end-point.
func tlsChannel(cs *tls.ConnectionState, server *x509.Certificate) Channel {
	ch := Channel{Secure: true}
	if cs == nil {
		return ch
	}
	if cs.Version < tls.VersionTLS13 && len(cs.TLSUnique) > 0 {
		ch.Bindings = append(ch.Bindings, Binding{Type: TLSUnique, Data: cs.TLSUnique})
	}
	if ekm, ok := exportBinding(cs); ok {
		ch.Bindings = append(ch.Bindings, Binding{Type: TLSExporter, Data: ekm})
	}
	if server != nil {
		if d, err := ServerEndPoint(server); err == nil {
			ch.Bindings = append(ch.Bindings, Binding{Type: TLSServerEndPoint, Data: d})
		}
	}
	return ch
}

// exportBinding returns the tls-exporter binding of cs. A ConnectionState
// not made by a handshake has no exporter, and calling it panics; such a
// state has no binding.
func exportBinding(cs *tls.ConnectionState) (ekm []byte, ok bool) {
	if !cs.HandshakeComplete {
		return nil, false
	}
	defer func() {
		if recover() != nil {
			ekm, ok = nil, false
		}
	}()
	ekm, err := cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	return ekm, err == nil
}

// ServerEndPoint returns the tls-server-end-point binding of a server's
// certificate (RFC 5929 section 4.1): its hash with the hash function of its
// signature algorithm, or SHA-256 when that is MD5 or SHA-1. It returns
// [ErrNoCertHash] for signatures without a hash function, such as Ed25519.
func ServerEndPoint(cert *x509.Certificate) ([]byte, error) {
	var h crypto.Hash
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.ECDSAWithSHA1, x509.DSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.ECDSAWithSHA256, x509.DSAWithSHA256:
		h = crypto.SHA256
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = crypto.SHA384
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = crypto.SHA512
	default:
		return nil, ErrNoCertHash
	}
	hh := h.New()
	hh.Write(cert.Raw)
	return hh.Sum(nil), nil
}

// VerifiedClientCN returns, on a server, the common name of the client's
// TLS certificate when the handshake verified it (cs.VerifiedChains is not
// empty), for [Channel.External]; otherwise "". Call it only on a server's
// ConnectionState: on a client the peer is the server.
//
// A server that asks for a certificate with tls.RequestClientCert and
// verifies it itself has no VerifiedChains, and gets "": take the name
// from the certificate it verified. GnuTLS clients (gsasl) need that mode
// for RSA certificates on TLS 1.3; see docs/interop.md.
func VerifiedClientCN(cs *tls.ConnectionState) string {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.PeerCertificates) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].Subject.CommonName
}
