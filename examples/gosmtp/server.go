package main

import (
	"context"
	"errors"
	"io"
	"log"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// newRegistry returns the server's mechanisms, in preference order:
// SCRAM-SHA-256 with keys derived from password, then PLAIN and LOGIN
// verified against the same password. It holds the one user named user.
//
// PLAIN and LOGIN are offered without TLS (InsecureClearSecret), which is
// safe only on loopback: this example has no TLS.
func newRegistry(user, password string) (*registry.Registry, error) {
	var ids creds.MapStore
	ids.Add(creds.ClearIdentity{Name: user, Password: password})
	var keys scram.MemoryStore
	if err := keys.SetPassword(user, password, scram.DefaultMinIterations, scram.SHA256); err != nil {
		return nil, err
	}
	return registry.Named(&registry.Config{
		Session:             session.Config{Identities: &ids},
		SCRAMStore:          &keys,
		InsecureClearSecret: true,
	}, "SCRAM-SHA-256", "PLAIN", "LOGIN")
}

// newServer returns a go-smtp server whose AUTH is served by reg. Messages
// are accepted from authenticated clients only, and discarded.
func newServer(reg *registry.Registry, logger *log.Logger) *smtp.Server {
	s := smtp.NewServer(&backend{reg: reg, log: logger})
	s.Domain = "localhost"
	s.MaxMessageBytes = 1 << 20
	s.MaxRecipients = 10
	// go-smtp refuses AUTH without TLS unless told otherwise. This example
	// listens on loopback only.
	s.AllowInsecureAuth = true
	s.ErrorLog = logger
	return s
}

// backend creates a session per connection.
type backend struct {
	reg *registry.Registry
	log *log.Logger
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
// channel bindings (this example has no TLS, but a server given a
// TLSConfig gets STARTTLS from go-smtp, and -PLUS mechanisms with it).
func (s *conn) channel() mech.Channel {
	if cs, ok := s.c.TLSConnectionState(); ok {
		return mech.TLSChannel(&cs, nil)
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
	srv, err := s.b.reg.Server(name, s.channel())
	switch {
	case errors.Is(err, registry.ErrEncryptionRequired):
		return nil, &smtp.SMTPError{Code: 538, EnhancedCode: smtp.EnhancedCode{5, 7, 11}, Message: "Encryption required for requested authentication mechanism"}
	case err != nil:
		return nil, smtp.ErrAuthUnknownMechanism
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
		a.s.b.log.Printf("AUTH %s from %s failed: %v", a.mech, a.s.c.Conn().RemoteAddr(), err)
		return nil, false, reply(err)
	}
	if !done {
		return challenge, false, nil
	}
	step := a.g.Step()
	if !step.Verified {
		// Not reached: every mechanism here is verified by the session
		// (Config.Identities) or by itself (SCRAM).
		return nil, false, errAuthFailed
	}
	a.s.user = step.Creds.Effective()
	a.s.b.log.Printf("AUTH %s from %s: logged in as %q", a.mech, a.s.c.Conn().RemoteAddr(), a.s.user)
	return nil, true, nil
}

var (
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errMalformed  = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Malformed authentication response"}
	errTemporary  = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Temporary authentication failure"}
	errAuthFirst  = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
)

// reply returns the SMTP reply (RFC 4954 section 6) for a failed exchange.
// go-smtp sends an error's text to the client unless it is an
// *smtp.SMTPError, so every error becomes one.
func reply(err error) *smtp.SMTPError {
	var le *session.LimitError
	switch {
	case errors.Is(err, creds.ErrBadCredentials), errors.Is(err, mech.ErrAuthFailed),
		errors.Is(err, creds.ErrUnauthorized), errors.Is(err, creds.ErrUnusable):
		return errAuthFailed
	case errors.Is(err, mech.ErrInvalidResponse), errors.Is(err, mech.ErrNoInitialResponse),
		errors.Is(err, session.ErrUnexpectedReply), errors.As(err, &le):
		return errMalformed
	}
	return errTemporary
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
