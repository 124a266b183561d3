package gosasl

import (
	"bytes"
	"context"
	"net"
	"sync/atomic"

	"github.com/emersion/go-sasl"

	"github.com/saslkit/saslkit/session"
)

// IMAPConn is a connection for go-imap v2's imapclient.New that sends an
// empty SASL response as an empty line, as IMAP requires (RFC 9051
// section 6.2.2: a response is a line of base64, and the base64 of nothing
// is nothing), where imapclient sends "=" (go-imap v2.0.0-beta.8 and
// beta.9, internal.EncodeSASL; go-imap issue #760). "=" means an empty
// response only as the initial response of SASL-IR (RFC 4959). Dovecot
// refuses "=" as a continuation with "BAD Invalid base64 data in continued
// response", which breaks SCRAM over go-imap v2, whose last response, to
// the server's "v=", is empty.
//
// Run the exchange with [IMAPConn.Authenticate]. While it runs, the
// connection rewrites a write of exactly "=\r\n" to "\r\n": imapclient
// holds its command lock for the whole AUTHENTICATE, and writes each
// response line with one write, so during the exchange such a write is an
// empty response and nothing else. Outside it, an IMAPConn passes every
// write through unchanged.
//
// An IMAPConn must see the plaintext: wrap a *tls.Conn (IMAP over TLS, RFC
// 8314) or a connection already upgraded with STARTTLS, not a connection
// that imapclient.NewStartTLS will upgrade itself. It is safe for
// concurrent use as a net.Conn is.
type IMAPConn struct {
	net.Conn
	active atomic.Int32 // exchanges running through Authenticate
}

// NewIMAPConn returns conn wrapped for imapclient.New.
func NewIMAPConn(conn net.Conn) *IMAPConn { return &IMAPConn{Conn: conn} }

// Write implements net.Conn. During an exchange run by
// [IMAPConn.Authenticate] it writes "\r\n" in place of "=\r\n", and
// reports len(p) written when it wrote the whole line.
func (c *IMAPConn) Write(p []byte) (int, error) {
	if c.active.Load() > 0 && bytes.Equal(p, []byte("=\r\n")) {
		n, err := c.Conn.Write(p[1:])
		if n == len(p)-1 {
			n = len(p)
		}
		return n, err
	}
	return c.Conn.Write(p)
}

// Authenticate is the package's [Authenticate], for an imapclient running
// on c: authenticate is the client's Authenticate method value, and s's
// empty responses go out as empty lines.
func (c *IMAPConn) Authenticate(ctx context.Context, s *session.Client, authenticate func(sasl.Client) error) error {
	c.active.Add(1)
	defer c.active.Add(-1)
	return Authenticate(ctx, s, authenticate)
}
