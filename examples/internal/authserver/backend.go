package authserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// DefaultMechanisms is what the servers offer without -mechs, in preference
// order. EXTERNAL is put first when client certificates are verified, and
// OAUTHBEARER and XOAUTH2 before PLAIN when there are tokens. CRAM-MD5 and
// ANONYMOUS are offered only when -mechs names them.
var DefaultMechanisms = []string{
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN",
}

// The embedded default accounts, used without -users.
const (
	defaultUsers  = "user:{PLAIN}pencil\n"
	defaultTokens = "user:tok123\n"
)

// Backend is what the servers authenticate with: the mechanisms, the
// accounts and the TLS configuration. It is safe for concurrent use.
type Backend struct {
	cfg    Config
	reg    *registry.Registry
	sess   *session.Config
	users  *Users
	tokens *Tokens
	tls    *tls.Config
	leaf   *x509.Certificate
	plus   bool // a channel-binding mechanism is offered
	log    *slog.Logger
}

// New loads the accounts, the certificates and the mechanisms cfg names.
// log, if not nil, receives one line per authentication and the internal
// errors that clients are never shown.
func New(cfg Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Backend{cfg: cfg, log: log}
	var err error
	switch {
	case cfg.TokensFile != "":
		b.tokens, err = loadFile(cfg.TokensFile, ParseTokens)
	case cfg.UsersFile == "":
		b.tokens, err = ParseTokens(strings.NewReader(defaultTokens))
	default:
		b.tokens = &Tokens{}
	}
	if err != nil {
		return nil, err
	}
	var derive []scram.Hash
	seen := make(map[string]bool)
	for _, n := range b.mechanismNames() {
		if h, _, ok := scram.HashByName(n); ok && !seen[h.Name()] {
			seen[h.Name()] = true
			derive = append(derive, h)
		}
	}
	if b.users, err = loadUsers(cfg.UsersFile, derive); err != nil {
		return nil, err
	}
	if b.tls, b.leaf, err = tlsConfig(&cfg); err != nil {
		return nil, err
	}
	if err := b.buildRegistry(); err != nil {
		return nil, err
	}
	return b, nil
}

func loadUsers(path string, derive []scram.Hash) (*Users, error) {
	parse := func(r io.Reader) (*Users, error) { return ParseUsers(r, derive) }
	if path == "" {
		return parse(strings.NewReader(defaultUsers))
	}
	return loadFile(path, parse)
}

func loadFile[T any](path string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, err
	}
	defer f.Close()
	return parse(f)
}

// mechanismNames returns the names to register, in preference order.
func (b *Backend) mechanismNames() []string {
	if b.cfg.Mechs != "" {
		var names []string
		for _, n := range strings.Split(b.cfg.Mechs, ",") {
			if n = strings.ToUpper(strings.TrimSpace(n)); n != "" {
				names = append(names, n)
			}
		}
		return names
	}
	var names []string
	if b.cfg.ClientCAFile != "" {
		names = append(names, "EXTERNAL")
	}
	for _, n := range DefaultMechanisms {
		if n == "PLAIN" && b.tokens.Len() > 0 {
			names = append(names, "OAUTHBEARER", "XOAUTH2")
		}
		names = append(names, n)
	}
	return names
}

func (b *Backend) buildRegistry() error {
	rc := registry.Config{
		Session: session.Config{
			// IMAP and SMTP cannot carry data with success: SCRAM's v=
			// goes as a last challenge, answered by an empty line.
			FinalAsChallenge: true,
			Identities:       b.users,
		},
		InsecureClearSecret: b.cfg.InsecureAuth,
		SCRAMStore:          b.users,
		TokenValidator:      b.tokens,
	}
	names := b.mechanismNames()
	if len(names) == 0 {
		return errors.New("-mechs names no mechanism")
	}
	named, err := registry.Named(&rc, names...)
	if err != nil {
		return fmt.Errorf("-mechs: %w", err)
	}
	// registry.Config has no setting for the iteration count SCRAM gives
	// unknown users, so the SCRAM mechanisms are rebuilt with the count
	// most users have: otherwise "i=" would tell unknown users apart.
	mechs := make([]registry.Mechanism, 0, len(names))
	for _, n := range named.Names() {
		m, _ := named.Lookup(n)
		if h, plus, ok := scram.HashByName(n); ok {
			m = scram.Mechanism{Hash: h, Plus: plus, Store: b.users, MockIterations: b.users.MockIterations(h)}
		}
		if m.Properties().ChannelBinding {
			b.plus = true
		}
		mechs = append(mechs, m)
	}
	if b.reg, err = registry.New(&rc, mechs...); err != nil {
		return err
	}
	b.sess = &rc.Session
	return nil
}

// Registry returns the registry of offered mechanisms.
func (b *Backend) Registry() *registry.Registry { return b.reg }

// TLSConfig returns the server's TLS configuration. The caller must not
// modify it.
func (b *Backend) TLSConfig() *tls.Config { return b.tls }

// Certificate returns the server's leaf certificate.
func (b *Backend) Certificate() *x509.Certificate { return b.leaf }

// Accounts lists the users and token holders, without secrets.
func (b *Backend) Accounts() []Account {
	return append(b.users.Accounts(), b.tokens.Accounts()...)
}

// DefaultAccounts reports whether the embedded default accounts are served.
func (b *Backend) DefaultAccounts() bool { return b.cfg.UsersFile == "" }

// SASLIR reports whether the IMAP server advertises SASL-IR.
func (b *Backend) SASLIR() bool { return !b.cfg.NoSASLIR }

// PrintBanner writes what a server serves: its addresses, mechanisms and
// accounts. The embedded default account's password and token are
// printed, since they are documented; a file's secrets never are.
func (b *Backend) PrintBanner(w io.Writer, proto string, addrs ...string) {
	for _, a := range addrs {
		fmt.Fprintf(w, "%s listening on %s\n", proto, a)
	}
	fmt.Fprintf(w, "mechanisms (preference order): %s\n", strings.Join(b.reg.Names(), " "))
	if b.cfg.InsecureAuth {
		fmt.Fprintln(w, "clear-text mechanisms are offered without TLS (-insecure-auth)")
	}
	if b.DefaultAccounts() {
		fmt.Fprintln(w, "account: user user, password pencil, token tok123 (embedded default)")
		return
	}
	for _, a := range b.Accounts() {
		fmt.Fprintf(w, "account: %s (%s)\n", a.Name, a.Scheme)
	}
}

// Channel returns the SASL channel of connection nc: the zero Channel for
// a plain connection; for TLS, the connection's channel bindings (only when
// a -PLUS mechanism is offered: a SCRAM server with bindings refuses a
// client that could bind but did not, as a downgrade) and, when the client
// sent a verified certificate, its common name as the external identity.
func (b *Backend) Channel(nc net.Conn) mech.Channel {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return mech.Channel{}
	}
	cs := tc.ConnectionState()
	ch := mech.TLSChannel(&cs, b.leaf)
	if !b.plus {
		ch.Bindings = nil
	}
	if len(cs.VerifiedChains) > 0 && len(cs.VerifiedChains[0]) > 0 {
		ch.External = cs.VerifiedChains[0][0].Subject.CommonName
	}
	return ch
}

// Advertise returns the mechanisms to offer on ch, in preference order.
func (b *Backend) Advertise(ch mech.Channel) []string { return b.reg.Advertise(ch) }

// ClearAllowed reports whether a password may be sent in the clear on ch:
// ch is secure, or -insecure-auth is set. It decides the IMAP LOGIN
// command, as the registry decides PLAIN and LOGIN.
func (b *Backend) ClearAllowed(ch mech.Channel) bool { return ch.Secure || b.cfg.InsecureAuth }

// verifyPassword checks a user name and password against the accounts, as
// the IMAP LOGIN command needs: the same identities PLAIN verifies against.
func (b *Backend) verifyPassword(ctx context.Context, user, password string) (*creds.Server, error) {
	if user == "" || password == "" || len(user) > mech.MaxField || len(password) > mech.MaxField {
		return nil, creds.ErrBadCredentials
	}
	c := creds.NewPasswordServer("LOGIN", user, "", password)
	id, err := b.users.Identity(ctx, user)
	if err != nil {
		return nil, err
	}
	if err := c.Verify(id); err != nil {
		return nil, err
	}
	return c, nil
}

// Outcome is how an authentication attempt ended, for protocol code to
// turn into its reply.
type Outcome int

// The outcomes of an authentication attempt.
const (
	// OK: the client is authenticated.
	OK Outcome = iota
	// AuthFailed: wrong password, unknown user, refused token, a malformed
	// or out-of-order response. The cases are deliberately not told apart.
	AuthFailed
	// Unauthorized: the credentials were good, but the client may not act
	// as the authorization identity it asked for.
	Unauthorized
	// EncryptionRequired: the mechanism sends a password in the clear and
	// the connection has no TLS.
	EncryptionRequired
	// UnknownMechanism: the mechanism is unknown, not offered, or cannot
	// run on this connection (-PLUS without TLS, EXTERNAL without a
	// client certificate).
	UnknownMechanism
	// Cancelled: the client sent "*".
	Cancelled
	// Syntax: a response was not base64, or an initial response was sent
	// for a mechanism that has none.
	Syntax
	// TooLarge: a response exceeded the session's size limit.
	TooLarge
	// Temporary: an internal failure, such as a store error. The client
	// may try again later.
	Temporary
)

var outcomeNames = [...]string{"ok", "authentication failed", "authorization failed", "encryption required",
	"unknown mechanism", "cancelled", "syntax error", "too large", "temporary failure"}

// String returns a short description, for logs.
func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return fmt.Sprintf("Outcome(%d)", int(o))
	}
	return outcomeNames[o]
}

// Classify returns the outcome that err, from a registry or a session,
// stands for. A nil err is OK.
func Classify(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, errCancelled):
		return Cancelled
	case errors.Is(err, creds.ErrUnauthorized):
		return Unauthorized
	case errors.Is(err, registry.ErrEncryptionRequired):
		return EncryptionRequired
	case errors.Is(err, registry.ErrUnknown), errors.Is(err, registry.ErrNotOffered):
		return UnknownMechanism
	case errors.Is(err, session.ErrTooLarge):
		return TooLarge
	case errors.Is(err, session.ErrBase64), errors.Is(err, mech.ErrNoInitialResponse):
		return Syntax
	case errors.Is(err, mech.ErrAuthFailed), errors.Is(err, creds.ErrBadCredentials),
		errors.Is(err, creds.ErrUnusable), errors.Is(err, mech.ErrInvalidResponse),
		errors.Is(err, session.ErrTooManySteps), errors.Is(err, session.ErrUnexpectedReply):
		return AuthFailed
	}
	var ee *creds.ExternalError
	if errors.As(err, &ee) {
		// Credentials nobody here can verify: EXTERNAL without a client
		// certificate, a token without a validator.
		return AuthFailed
	}
	return Temporary
}
