package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// newRegistry returns the server's mechanisms, in preference order:
// SCRAM-SHA-256-PLUS and SCRAM-SHA-256, then PLAIN and LOGIN. It holds the
// one user named user, as one account record that keeps no password, only
// the SCRAM-SHA-256 keys derived from it: PLAIN and LOGIN check the
// password against them, through the same Verifier as SCRAM.
// SCRAM-SHA-256-PLUS is offered only over TLS, which needs a server given a
// TLS configuration (newServer).
//
// PLAIN and LOGIN are offered without TLS (InsecureClearSecret), which is
// safe only on loopback: this example's command has no TLS.
func newRegistry(user, password string) (*registry.Registry, error) {
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, nil, creds.MinSCRAMIterations, false)
	if err != nil {
		return nil, err
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: user, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		return nil, err
	}
	return registry.Named(&registry.Config{
		Session:             session.Config{Verifier: &creds.Verifier{Store: &store}},
		InsecureClearSecret: true,
	}, "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "PLAIN", "LOGIN")
}

// newServer returns a go-smtp server whose AUTH is served by reg. Messages
// are accepted from authenticated clients only, and discarded. With tc not
// nil the server offers STARTTLS with it, and the channel bindings of a
// TLS connection take tls-server-end-point from the server's own
// certificate, tc's first.
func newServer(reg *registry.Registry, logger *log.Logger, tc *tls.Config) (*smtp.Server, error) {
	b := &backend{reg: reg, log: logger}
	s := smtp.NewServer(b)
	s.Domain = "localhost"
	s.MaxMessageBytes = 1 << 20
	s.MaxRecipients = 10
	// go-smtp refuses AUTH without TLS unless told otherwise. This example
	// listens on loopback only.
	s.AllowInsecureAuth = true
	s.ErrorLog = logger
	if tc != nil {
		if len(tc.Certificates) == 0 || len(tc.Certificates[0].Certificate) == 0 {
			return nil, errors.New("TLS configuration without a certificate")
		}
		leaf := tc.Certificates[0].Leaf
		if leaf == nil {
			var err error
			if leaf, err = x509.ParseCertificate(tc.Certificates[0].Certificate[0]); err != nil {
				return nil, err
			}
		}
		b.leaf = leaf
		s.TLSConfig = tc
	}
	return s, nil
}

// backend creates a session per connection.
type backend struct {
	reg  *registry.Registry
	log  *log.Logger
	leaf *x509.Certificate // the server's own certificate, with TLS
}

// NewSession implements smtp.Backend.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	// go-smtp gives a session no context; this one lives until Logout.
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{b: b, c: c, ctx: ctx, cancel: cancel}, nil
}

// conn is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only.
type conn struct {
	b      *backend
	c      *smtp.Conn
	ctx    context.Context // the connection's, for the SASL exchanges
	cancel context.CancelFunc
	user   string // the authenticated identity; empty before AUTH
}

// channel describes the connection to the registry: plain, or TLS with its
// channel bindings (the command has no TLS, but a server given a TLS
// configuration gets STARTTLS from go-smtp, and -PLUS mechanisms with it).
// tls-server-end-point is the hash of the server's own certificate: a
// server's ConnectionState does not hold it, and the peer's certificate
// would be the client's.
func (s *conn) channel() mech.Channel {
	if cs, ok := s.c.TLSConnectionState(); ok {
		return mech.ServerTLSChannel(&cs, s.b.leaf)
	}
	return mech.Channel{}
}

// AuthMechanisms implements smtp.AuthSession: the mechanisms the registry
// offers on this connection.
func (s *conn) AuthMechanisms() []string {
	return s.b.reg.Advertise(s.channel())
}

// Auth implements smtp.AuthSession. The saslkit adapter returned by
// GoSASL has go-sasl's method set; auth wraps it to turn saslkit's errors
// into SMTP replies and to record who logged in.
func (s *conn) Auth(name string) (sasl.Server, error) {
	srv, err := s.b.reg.NewServer(name, s.channel())
	if err != nil {
		if outcome.Of(err) == outcome.Misconfigured {
			// The registry cannot run the mechanism it holds: the
			// server's fault, not the client's.
			s.b.log.Printf("AUTH %s from %s: server misconfigured: %v", name, s.c.Conn().RemoteAddr(), err)
		}
		return nil, reply(err)
	}
	return &auth{s: s, mech: srv.Mechanism(), g: srv.GoSASL(s.ctx)}, nil
}

// auth is one exchange: saslkit's go-sasl adapter, with errors made into
// SMTP replies.
type auth struct {
	s    *conn
	mech string
	g    *session.GoSASL
}

// Next implements go-sasl's sasl.Server.
func (a *auth) Next(response []byte) (challenge []byte, done bool, err error) {
	challenge, done, err = a.g.Next(response)
	if err != nil {
		// The reason stays in the server's log; the client gets a code.
		what := "failed"
		if errors.Is(err, creds.ErrMisconfigured) {
			what = "failed: server misconfigured"
		}
		a.s.b.log.Printf("AUTH %s from %s %s: %v", a.mech, a.s.c.Conn().RemoteAddr(), what, err)
		return nil, false, reply(err)
	}
	if !done {
		return challenge, false, nil
	}
	// Done: the Verifier checked the password or the SCRAM proof, and the
	// authorization policy allowed the identity.
	a.s.user = a.g.Step().Principal.Effective()
	a.s.b.log.Printf("AUTH %s from %s: logged in as %q", a.mech, a.s.c.Conn().RemoteAddr(), a.s.user)
	return nil, true, nil
}

var errAuthFirst = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

// reply returns the SMTP reply (RFC 4954 section 6) for a failed exchange,
// as package outcome sorts it. go-smtp sends an error's text to the client
// unless it is an *smtp.SMTPError, so every error becomes one, with the
// outcome's fixed text. A misconfigured server (creds.ErrMisconfigured) is
// a temporary failure, as any other of the server's own.
func reply(err error) *smtp.SMTPError {
	r := outcome.Of(err).SMTP()
	return &smtp.SMTPError{Code: r.Code, EnhancedCode: smtp.EnhancedCode(r.Enhanced), Message: r.Text}
}

// Reset implements smtp.Session.
func (s *conn) Reset() {}

// Logout implements smtp.Session.
func (s *conn) Logout() error {
	s.cancel()
	return nil
}

// Mail implements smtp.Session: only authenticated clients may send.
func (s *conn) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return errAuthFirst
	}
	return nil
}

// Rcpt implements smtp.Session.
func (s *conn) Rcpt(to string, _ *smtp.RcptOptions) error { return nil }

// Data implements smtp.Session: the message is discarded.
func (s *conn) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
