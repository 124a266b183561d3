package authserver

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/cache"
	"github.com/saslkit/saslkit/limit"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/outcome"
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
// accounts, the one [creds.Verifier] every password and key is checked
// through, and the TLS configuration. It is safe for concurrent use.
type Backend struct {
	cfg      Config
	reg      *registry.Registry
	sess     *session.Config
	users    *Users
	tokens   *Tokens
	verifier *creds.Verifier
	limiter  limit.Limiter // nil: none
	tls      *tls.Config
	leaf     *x509.Certificate
	clientCA *x509.CertPool // nil: no client certificates
	log      *slog.Logger
}

// New loads the accounts, the server secret, the certificates and the
// mechanisms cfg names. log, if not nil, receives one line per
// authentication and the internal errors that clients are never shown.
//
// A mechanism named in cfg.Mechs that the accounts cannot serve (SCRAM
// without keys for its hash, CRAM-MD5 without clear passwords) is an
// error; without cfg.Mechs, such mechanisms are left out of the defaults.
func New(cfg Config, log *slog.Logger) (*Backend, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxVerify < 0 {
		return nil, errors.New("-max-verify must not be negative")
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
	var store creds.Store
	if cfg.Store != nil {
		store, b.users = cfg.Store, &Users{}
	} else {
		if b.users, err = loadUsers(cfg.UsersFile, derive); err != nil {
			return nil, err
		}
		store = b.users
	}
	if cfg.CacheTTL > 0 {
		store = cache.New(store, &cache.Config{HitTTL: cfg.CacheTTL, MissTTL: cfg.CacheMissTTL})
	}
	switch cfg.Limit {
	case "", "off":
	case "memory":
		b.limiter = &limit.Memory{Config: cfg.LimitConfig}
	default:
		return nil, fmt.Errorf("-limit %q: want off or memory", cfg.Limit)
	}
	if cfg.Limiter != nil {
		b.limiter = cfg.Limiter
	}
	if b.limiter != nil {
		store = &limitedStore{Store: store, lim: b.limiter}
	}
	var secret []byte
	if cfg.SecretFile != "" {
		if secret, err = LoadSecret(cfg.SecretFile, log); err != nil {
			return nil, err
		}
	}
	var upgrade []string
	if cfg.Upgrade != "" {
		upgrade = strings.Split(cfg.Upgrade, ",")
	}
	b.verifier = &creds.Verifier{Store: store, Secret: secret, MaxConcurrent: cfg.MaxVerify, Upgrade: upgrade}
	if b.tls, b.leaf, b.clientCA, err = tlsConfig(&cfg); err != nil {
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

// SecretSize is the size, in octets, of the server secret [LoadSecret]
// creates, and the least it accepts.
const SecretSize = 32

// LoadSecret returns the server secret held in the file at path, or, if
// there is no such file, creates it with [SecretSize] random octets,
// readable and writable by its owner only (mode 0600), and returns those.
// The file's content is used as it is, and must be at least SecretSize
// octets. A file that others may read is used, with a warning to log.
// Errors never hold the secret.
//
// The file appears whole or not at all: it is written under a temporary
// name and linked into place, so that servers starting together on one new
// path agree on one secret and none reads a file half written.
func LoadSecret(path string, log *slog.Logger) ([]byte, error) {
	err := createSecret(path)
	if err == nil {
		log.Info("created the server secret", "file", path)
	}
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("-secret-file: %w", err)
	}
	secret, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("-secret-file: %w", err)
	}
	if len(secret) < SecretSize {
		return nil, fmt.Errorf("-secret-file %s: holds %d octets, want at least %d", path, len(secret), SecretSize)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		log.Warn("the server secret file may be read by others", "file", path, "mode", fi.Mode().Perm().String())
	}
	return secret, nil
}

// createSecret writes SecretSize random octets to a temporary file beside
// path and links it to path, failing with fs.ErrExist if path exists.
func createSecret(path string) error {
	if _, err := os.Stat(path); err == nil {
		return fs.ErrExist
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	secret := make([]byte, SecretSize)
	if _, err := rand.Read(secret); err != nil {
		f.Close()
		return err
	}
	_, err = f.Write(secret)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// CreateTemp made it 0600; Link fails if path appeared meanwhile.
	return os.Link(tmp, path)
}

// mechanismNames returns the names cfg asks for, in preference order.
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
			// The one path to the accounts: PLAIN, LOGIN, CRAM-MD5 and
			// SCRAM check through it, and so does the IMAP LOGIN
			// command.
			Verifier: b.verifier,
			Tokens:   b.tokens,
			// IMAP and SMTP cannot carry data with success: SCRAM's v=
			// goes as a last challenge, answered by an empty line.
			FinalAsChallenge: true,
		},
		InsecureClearSecret: b.cfg.InsecureAuth,
	}
	names := b.mechanismNames()
	if len(names) == 0 {
		return errors.New("-mechs names no mechanism")
	}
	if b.cfg.Mechs == "" {
		names = b.servable(names, &rc.Session)
	}
	var err error
	if b.reg, err = registry.Named(&rc, names...); err != nil {
		return fmt.Errorf("-mechs: %w", err)
	}
	b.sess = &rc.Session
	return nil
}

// servable returns the names of the mechanisms that can run with the
// session settings cfg: the default list without, say, SCRAM-SHA-1 for a
// users file that holds only SCRAM-SHA-256 keys.
func (b *Backend) servable(names []string, cfg *session.Config) []string {
	in := &mech.ServerInput{Verifier: cfg.Verifier, Tokens: cfg.Tokens}
	var ok []string
	for _, n := range names {
		m, known := registry.Builtin(n)
		if c, has := m.(mech.ConfigChecker); known && has {
			if err := c.CheckConfig(in); err != nil {
				b.log.Info("mechanism not offered", "mech", n, "reason", err)
				continue
			}
		}
		ok = append(ok, n)
	}
	return ok
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
// a plain connection; for TLS, the connection's channel bindings, with
// tls-server-end-point from the server's own certificate (the registry
// hides them from the sessions when no -PLUS mechanism is offered: a SCRAM
// server with bindings refuses a client that could bind but did not, as a
// downgrade) and, when the client sent a verified certificate, its common
// name as the external identity.
func (b *Backend) Channel(nc net.Conn) mech.Channel {
	tc, ok := nc.(*tls.Conn)
	if !ok {
		return mech.Channel{}
	}
	cs := tc.ConnectionState()
	ch := mech.ServerTLSChannel(&cs, b.leaf)
	// The handshake refused a certificate that does not verify, but it
	// does not record the chains (tlsConfig verifies it itself), so the
	// certificate is verified again before its name is trusted.
	if b.clientCA != nil && len(cs.PeerCertificates) > 0 && verifyClient(b.clientCA, cs.PeerCertificates) == nil {
		ch.External = cs.PeerCertificates[0].Subject.CommonName
	}
	return ch
}

// Advertise returns the mechanisms to offer on ch, in preference order.
func (b *Backend) Advertise(ch mech.Channel) []string { return b.reg.Advertise(ch) }

// ClearAllowed reports whether a password may be sent in the clear on ch:
// ch is secure, or -insecure-auth is set. It decides the IMAP LOGIN
// command, as the registry decides PLAIN and LOGIN.
func (b *Backend) ClearAllowed(ch mech.Channel) bool { return ch.Secure || b.cfg.InsecureAuth }

// Verifier returns the verifier every password and key is checked
// through.
func (b *Backend) Verifier() *creds.Verifier { return b.verifier }

// checkPassword checks a user name and password for the IMAP LOGIN
// command, through the Verifier that PLAIN uses, and returns the principal
// of the account.
func (b *Backend) checkPassword(ctx context.Context, user, password string) (*creds.Principal, error) {
	if user == "" || password == "" || len(user) > mech.MaxField || len(password) > mech.MaxField {
		// What PLAIN refuses as malformed; the length is no secret.
		return nil, creds.ErrBadCredentials
	}
	account, err := b.verifier.CheckPassword(ctx, user, password)
	if err != nil {
		return nil, err
	}
	return creds.NewPrincipal("LOGIN", account, ""), nil
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
// stands for: package outcome's sorting ([outcome.Of]), answered as this
// package's servers answer. They differ from docs/errors.md's table in two
// ways, on purpose and tested: a malformed response and too many steps are
// a failed authentication (NO [AUTHENTICATIONFAILED], 535 5.7.8), as
// Dovecot answers them, rather than BAD and 501; and an initial response
// for a mechanism that takes none is a syntax error. A configuration error
// ([creds.ErrMisconfigured]) is Temporary: the client is not to blame, and
// the server logs it.
func Classify(err error) Outcome {
	switch outcome.Of(err) {
	case outcome.OK:
		return OK
	case outcome.Unauthorized:
		return Unauthorized
	case outcome.EncryptionRequired:
		return EncryptionRequired
	case outcome.UnknownMechanism, outcome.NotOffered:
		return UnknownMechanism
	case outcome.Cancelled:
		return Cancelled
	case outcome.BadEncoding:
		return Syntax
	case outcome.LimitExceeded:
		if errors.Is(err, session.ErrTooManySteps) {
			return AuthFailed
		}
		return TooLarge
	case outcome.Malformed:
		if errors.Is(err, mech.ErrNoInitialResponse) {
			return Syntax
		}
		return AuthFailed
	case outcome.BadCredentials:
		return AuthFailed
	}
	return Temporary
}
