package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-sasl"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/internal/authserver"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// handshakeTimeout bounds an implicit-TLS handshake.
const handshakeTimeout = 30 * time.Second

// Attempt is one finished AUTHENTICATE or LOGIN command, as the server saw
// it.
type Attempt struct {
	// Mechanism is the SASL mechanism, or "LOGIN command".
	Mechanism string
	// TLS reports whether the connection ran over TLS.
	TLS bool
	// Outcome is how the attempt ended.
	Outcome outcome.Kind
	// User is the identity the client acts as when Outcome is OK, and
	// empty otherwise.
	User string
}

// Server is an IMAP server whose authentication is served by a
// authserver.Backend. It is safe for concurrent use.
type Server struct {
	b      *authserver.Backend
	log    *slog.Logger
	imap   *imapserver.Server
	report func(Attempt)
}

// NewServer returns a go-imap server that authenticates with b, logs to
// logger, and, if report is not nil, calls it after every AUTHENTICATE and
// LOGIN command, from the connection's goroutine. STARTTLS uses b's TLS
// configuration; serve implicit TLS by giving Serve a listener from
// tls.NewListener with that configuration.
func NewServer(b *authserver.Backend, logger *slog.Logger, report func(Attempt)) *Server {
	s := &Server{b: b, log: logger, report: report}
	s.imap = imapserver.New(&imapserver.Options{
		NewSession: s.newSession,
		Caps:       imap.CapSet{imap.CapIMAP4rev1: {}},
		Logger:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		TLSConfig:  b.TLSConfig(),
		// go-imap's own rule would refuse every mechanism, and every
		// AUTH= capability, without TLS. The registry decides instead:
		// SCRAM without TLS, PLAIN, LOGIN and OAUTHBEARER only with it.
		// The price: go-imap never advertises LOGINDISABLED, and the
		// LOGIN command without TLS gets NO [PRIVACYREQUIRED] from Login.
		InsecureAuth: true,
	})
	return s
}

// Serve accepts connections on ln until Close.
func (s *Server) Serve(ln net.Listener) error { return s.imap.Serve(ln) }

// Close closes the listeners and the connections.
func (s *Server) Close() error { return s.imap.Close() }

func (s *Server) newSession(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	ctx, cancel := context.WithCancel(context.Background())
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		// Finish an implicit-TLS handshake before the greeting, whose
		// capabilities depend on it: the client certificate (EXTERNAL)
		// and the channel bindings (-PLUS).
		tc.SetDeadline(time.Now().Add(handshakeTimeout))
		err := tc.HandshakeContext(ctx)
		tc.SetDeadline(time.Time{})
		if err != nil {
			cancel()
			s.log.Info("TLS handshake failed", "remote", c.NetConn().RemoteAddr().String(), "err", err)
			return nil, nil, &imap.Error{Type: imap.StatusResponseTypeBye, Text: "TLS handshake failed"}
		}
	}
	return &conn{s: s, c: c, ctx: ctx, cancel: cancel}, nil, nil
}

// conn is one IMAP connection. go-imap calls its methods from the
// connection's goroutine only.
type conn struct {
	s        *Server
	c        *imapserver.Conn
	ctx      context.Context // the connection's, for the SASL exchanges
	cancel   context.CancelFunc
	user     string // the authenticated identity; empty before
	failures int
}

// channel describes the connection to the registry, as it is now: after
// STARTTLS, go-imap's NetConn is the TLS connection, and its handshake is
// complete by the time a command has been read over it.
func (x *conn) channel() mech.Channel { return x.s.b.Channel(x.c.NetConn()) }

func (x *conn) tls() bool {
	_, ok := x.c.NetConn().(*tls.Conn)
	return ok
}

// AuthenticateMechanisms implements imapserver.SessionSASL: the mechanisms
// the registry offers on this connection.
func (x *conn) AuthenticateMechanisms() []string { return x.s.b.Advertise(x.channel()) }

// Authenticate implements imapserver.SessionSASL. saslkit's go-sasl adapter
// runs the exchange; auth wraps it to turn saslkit's errors into IMAP
// replies and to record who logged in.
func (x *conn) Authenticate(name string) (sasl.Server, error) {
	if err := x.tooMany(); err != nil {
		return nil, err
	}
	srv, err := x.s.b.Registry().NewServer(name, x.channel())
	if err != nil {
		return nil, x.fail(name, err)
	}
	return &auth{x: x, mech: srv.Mechanism(), g: srv.GoSASL(x.ctx)}, nil
}

// auth is one AUTHENTICATE exchange.
type auth struct {
	x      *conn
	mech   string
	g      *session.GoSASL
	failed error // the reply, once the exchange has failed
}

// errSCRAMServerError is a SCRAM exchange the server ended with "e=".
var errSCRAMServerError = fmt.Errorf("goimap: SCRAM server-error sent: %w", mech.ErrAuthFailed)

// Next implements go-sasl's sasl.Server.
func (a *auth) Next(response []byte) (challenge []byte, done bool, err error) {
	if a.failed != nil {
		return nil, false, a.failed
	}
	challenge, done, err = a.g.Next(response)
	switch {
	case err != nil:
		return nil, false, a.x.fail(a.mech, err)
	case !done:
		if strings.HasPrefix(a.mech, "SCRAM-") && bytes.HasPrefix(challenge, []byte("e=")) {
			// SCRAM's server-final message is a server-error (RFC 5802
			// section 7): failure data, sent as a challenge. GoSASL
			// returns the failure only after the client's reply, and
			// does not show it in Step, but gsasl hangs up instead of
			// replying; the failure is counted now.
			a.failed = a.x.fail(a.mech, errSCRAMServerError)
		}
		return challenge, false, nil
	}
	p := a.g.Step().Principal
	if a.mech == "EXTERNAL" {
		// The CA vouched for the certificate's name; the account must
		// exist too, as Dovecot's passdb requires.
		if _, err := a.x.s.b.Verifier().Store.Lookup(a.x.ctx, p.Account()); err != nil {
			if errors.Is(err, creds.ErrUnknownUser) {
				err = fmt.Errorf("goimap: EXTERNAL: no account for the certificate: %w", creds.ErrBadCredentials)
			}
			return nil, false, a.x.fail(a.mech, err)
		}
	}
	// Done: the Verifier, the token validator or the client certificate
	// authenticated the account, and the authorization policy allowed the
	// identity it acts as.
	a.x.succeed(a.mech, p.Effective())
	return nil, true, nil
}

// Login implements imapserver.Session: the LOGIN command, checked through
// the Verifier that PLAIN and SCRAM use, over TLS only.
func (x *conn) Login(username, password string) error {
	const what = "LOGIN command"
	if err := x.tooMany(); err != nil {
		return err
	}
	if !x.s.b.ClearAllowed(x.channel()) {
		return x.fail(what, registry.ErrEncryptionRequired)
	}
	account, err := x.s.b.Verifier().CheckPassword(x.ctx, username, password)
	if err != nil {
		return x.fail(what, err)
	}
	x.succeed(what, account)
	return nil
}

func (x *conn) succeed(what, user string) {
	x.user = user
	x.s.log.Info("authentication", "proto", "imap", "remote", x.c.NetConn().RemoteAddr().String(),
		"mech", what, "outcome", outcome.OK.String(), "user", user)
	if x.s.report != nil {
		x.s.report(Attempt{Mechanism: what, TLS: x.tls(), Outcome: outcome.OK, User: user})
	}
}

// fail logs and counts a failed attempt and returns its reply. The reason
// stays in the log for the server's own failures; the client gets only
// the outcome's fixed reply.
func (x *conn) fail(what string, err error) error {
	k := outcome.Of(err)
	attrs := []any{"proto", "imap", "remote", x.c.NetConn().RemoteAddr().String(), "mech", what, "outcome", k.String()}
	level := slog.LevelInfo
	switch k {
	case outcome.Misconfigured:
		level = slog.LevelError
		attrs = append(attrs, "err", err)
	case outcome.Temporary:
		attrs = append(attrs, "err", err)
	}
	x.s.log.Log(x.ctx, level, "authentication", attrs...)
	x.failures++
	if x.s.report != nil {
		x.s.report(Attempt{Mechanism: what, TLS: x.tls(), Outcome: k})
	}
	r := k.IMAP()
	return &imap.Error{Type: imap.StatusResponseType(r.Status), Code: imap.ResponseCode(r.Code), Text: r.Text}
}

// tooMany says goodbye to a client that has used up its failures, and
// returns the reply to its command (which the closed connection will not
// carry).
func (x *conn) tooMany() error {
	if x.failures < authserver.MaxFailures {
		return nil
	}
	x.c.Bye("Too many authentication failures")
	return &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Too many authentication failures"}
}

// Close implements imapserver.Session.
func (x *conn) Close() error {
	x.cancel()
	return nil
}

// The mailbox: one empty INBOX, enough for clients that list or select
// after logging in (curl). go-imap calls these only once authenticated.

const inbox = "INBOX"

var errNoMailbox = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent, Text: "No such mailbox"}

var errReadOnly = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeCannot, Text: "This server stores no mail"}

// Select implements imapserver.Session.
func (x *conn) Select(mailbox string, _ *imap.SelectOptions) (*imap.SelectData, error) {
	if !strings.EqualFold(mailbox, inbox) {
		return nil, errNoMailbox
	}
	return &imap.SelectData{Flags: []imap.Flag{imap.FlagSeen}, UIDNext: 1, UIDValidity: 1}, nil
}

// List implements imapserver.Session.
func (x *conn) List(w *imapserver.ListWriter, ref string, patterns []string, _ *imap.ListOptions) error {
	for _, p := range patterns {
		if p == "" {
			// The hierarchy delimiter (RFC 3501 section 6.3.8).
			return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
		}
	}
	if len(patterns) > 0 {
		return w.WriteList(&imap.ListData{Delim: '/', Mailbox: inbox})
	}
	return nil
}

// Status implements imapserver.Session.
func (x *conn) Status(mailbox string, _ *imap.StatusOptions) (*imap.StatusData, error) {
	if !strings.EqualFold(mailbox, inbox) {
		return nil, errNoMailbox
	}
	var zero uint32
	return &imap.StatusData{Mailbox: inbox, NumMessages: &zero, UIDNext: 1, UIDValidity: 1}, nil
}

// Create implements imapserver.Session.
func (x *conn) Create(string, *imap.CreateOptions) error { return errReadOnly }

// Delete implements imapserver.Session.
func (x *conn) Delete(string) error { return errReadOnly }

// Rename implements imapserver.Session.
func (x *conn) Rename(string, string, *imap.RenameOptions) error { return errReadOnly }

// Subscribe implements imapserver.Session.
func (x *conn) Subscribe(string) error { return nil }

// Unsubscribe implements imapserver.Session.
func (x *conn) Unsubscribe(string) error { return nil }

// Append implements imapserver.Session.
func (x *conn) Append(string, imap.LiteralReader, *imap.AppendOptions) (*imap.AppendData, error) {
	return nil, errReadOnly
}

// Poll implements imapserver.Session.
func (x *conn) Poll(*imapserver.UpdateWriter, bool) error { return nil }

// Idle implements imapserver.Session: nothing ever happens.
func (x *conn) Idle(_ *imapserver.UpdateWriter, stop <-chan struct{}) error {
	select {
	case <-stop:
	case <-x.ctx.Done():
	}
	return nil
}

// Unselect implements imapserver.Session.
func (x *conn) Unselect() error { return nil }

// Expunge implements imapserver.Session.
func (x *conn) Expunge(*imapserver.ExpungeWriter, *imap.UIDSet) error { return nil }

// Search implements imapserver.Session: the INBOX is empty.
func (x *conn) Search(imapserver.NumKind, *imap.SearchCriteria, *imap.SearchOptions) (*imap.SearchData, error) {
	return &imap.SearchData{}, nil
}

// Fetch implements imapserver.Session.
func (x *conn) Fetch(*imapserver.FetchWriter, imap.NumSet, *imap.FetchOptions) error { return nil }

// Store implements imapserver.Session.
func (x *conn) Store(*imapserver.FetchWriter, imap.NumSet, *imap.StoreFlags, *imap.StoreOptions) error {
	return nil
}

// Copy implements imapserver.Session.
func (x *conn) Copy(imap.NumSet, string) (*imap.CopyData, error) { return nil, errReadOnly }

var _ imapserver.SessionSASL = (*conn)(nil)
