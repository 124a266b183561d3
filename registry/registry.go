// Package registry maps SASL (RFC 4422) mechanism names to mechanisms and
// creates a session for each exchange. It decides which mechanisms a server
// advertises on a connection, and which one a client should pick from a
// server's list.
//
// Names follow RFC 4422 section 3.1: 1 to 20 characters of A-Z, 0-9, "-"
// and "_". Lookups ignore case. A registry's order is its preference order.
//
// There is no package-level registry: build one with [New], [Defaults] or
// [Named], and share it. A Registry is safe for concurrent use, including
// [Registry.Register] while sessions are being created.
//
// # Servers
//
// A server registry's [Config] holds the session settings, among them the
// [creds.Verifier] that every mechanism checking a secret checks it
// through, and the token validator. A registry built with either checks,
// there and then, that every server mechanism it holds has what it needs
// ([mech.ConfigChecker]): SCRAM without SCRAM keys in the store, CRAM-MD5
// without clear passwords, OAUTHBEARER without a validator are errors
// naming the mechanism, never failed logins; [Registry.Register] checks a
// mechanism added later the same way. [Registry.Advertise] leaves out, and
// [Registry.NewServer] refuses, any mechanism that cannot run, so a
// registry built without them (for clients, say) cannot run a server that
// would let anybody in.
package registry

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// Mechanism is what a registry holds: a mechanism that implements
// [mech.Server], [mech.Client], or both.
type Mechanism interface {
	// Name returns the mechanism's name, in upper case.
	Name() string
	// Properties describes the mechanism.
	Properties() mech.Properties
}

// Errors returned by registries. Match them with errors.Is.
var (
	// ErrInvalidName means a name does not follow RFC 4422 section 3.1.
	ErrInvalidName = errors.New("saslkit/registry: invalid mechanism name")
	// ErrDuplicate means a mechanism of that name is already registered.
	ErrDuplicate = errors.New("saslkit/registry: mechanism already registered")
	// ErrUnknown means no mechanism of that name is registered, or it does
	// not have the side (server or client) asked for.
	ErrUnknown = errors.New("saslkit/registry: unknown mechanism")
	// ErrEncryptionRequired means the mechanism sends a reusable secret in
	// the clear and the connection is not secure (IMAP [PRIVACYREQUIRED],
	// SMTP 538).
	ErrEncryptionRequired = errors.New("saslkit/registry: mechanism requires encryption")
	// ErrNotOffered means the mechanism is registered but cannot run on
	// this connection: no channel binding, or no external identity.
	ErrNotOffered = errors.New("saslkit/registry: mechanism not offered on this connection")
	// ErrNoMechanism means a client found no advertised mechanism it can
	// run with its credentials.
	ErrNoMechanism = errors.New("saslkit/registry: no usable mechanism")
)

// SelectError is the error of [Registry.Select] when no mechanism fits: it
// wraps [ErrNoMechanism] and says, for each mechanism the registry has
// that the server advertised, why it was skipped.
type SelectError struct {
	// Skipped lists the advertised mechanisms the registry has, in its
	// order of preference, each with the reason it was skipped.
	Skipped []Skipped
}

// Skipped is a mechanism [Registry.Select] passed over, and why.
type Skipped struct {
	// Mechanism is the mechanism's name.
	Mechanism string
	// Reason is a short fixed text, such as "needs TLS" or "no password".
	Reason string
}

// Error lists the skipped mechanisms and their reasons.
func (e *SelectError) Error() string {
	s := ErrNoMechanism.Error()
	if len(e.Skipped) == 0 {
		return s + ": the server advertised none of this registry's mechanisms"
	}
	for i, k := range e.Skipped {
		if i == 0 {
			s += ": "
		} else {
			s += "; "
		}
		s += k.Mechanism + " " + k.Reason
	}
	return s
}

// Unwrap returns [ErrNoMechanism].
func (e *SelectError) Unwrap() error { return ErrNoMechanism }

// Config holds a registry's settings. The zero value is the safe default:
// a registry for clients, whose NewServer refuses every mechanism that
// checks a secret.
type Config struct {
	// Session configures every session the registry creates: on a server,
	// the Verifier and token validator that mechanisms check against, and
	// the authorization policy.
	Session session.Config
	// InsecureClearSecret offers mechanisms that send a reusable secret in
	// the clear (PLAIN, LOGIN, and the bearer tokens of OAUTHBEARER and
	// XOAUTH2) on connections that are not secure, and lets clients pick
	// them there. Off by default: such mechanisms appear only over TLS.
	InsecureClearSecret bool
}

// Registry holds mechanisms by name, in preference order.
type Registry struct {
	cfg Config

	mu    sync.Mutex                  // serializes Register
	mechs atomic.Pointer[[]Mechanism] // replaced whole by Register, never modified: lookups take no lock
}

// snapshot returns the registered mechanisms, in preference order. The
// slice must not be modified.
func (r *Registry) snapshot() []Mechanism {
	if p := r.mechs.Load(); p != nil {
		return *p
	}
	return nil
}

// New returns a registry holding mechs, in that order of preference. A nil
// cfg means the zero Config. It returns an error wrapping [ErrInvalidName]
// or [ErrDuplicate] if a mechanism cannot be registered. When cfg sets a
// Verifier or a token validator, the registry is a server's, and New also
// returns an error, wrapping [creds.ErrMisconfigured], for a server
// mechanism that cannot run with them; the error names the mechanism and
// what it lacks.
func New(cfg *Config, mechs ...Mechanism) (*Registry, error) {
	r := &Registry{}
	if cfg != nil {
		r.cfg = *cfg
	}
	for _, m := range mechs {
		if err := r.Register(m); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// server reports whether r is a server's registry: one whose session
// settings have a Verifier or a token validator.
func (r *Registry) server() bool {
	return r.cfg.Session.Verifier != nil || r.cfg.Session.Tokens != nil
}

// checkConfig runs m's CheckConfig, if it is a server mechanism that has
// one, against the registry's session settings.
func (r *Registry) checkConfig(m Mechanism) error {
	c, ok := m.(mech.ConfigChecker)
	if !ok {
		return nil
	}
	if _, ok := m.(mech.Server); !ok {
		return nil
	}
	return c.CheckConfig(&mech.ServerInput{Verifier: r.cfg.Session.Verifier, Tokens: r.cfg.Session.Tokens})
}

// Register adds m at the end of the preference order. It returns an error
// wrapping [ErrInvalidName] if m's name breaks RFC 4422 section 3.1 or m is
// neither a [mech.Server] nor a [mech.Client], and one wrapping
// [ErrDuplicate] if the name is taken. On a server's registry (see [New])
// it also refuses, with an error wrapping [creds.ErrMisconfigured], a
// server mechanism that cannot run with the registry's session settings.
func (r *Registry) Register(m Mechanism) error {
	if m == nil {
		return fmt.Errorf("%w: nil mechanism", ErrInvalidName)
	}
	name := m.Name()
	if !ValidName(name) {
		return fmt.Errorf("%w: want 1 to 20 characters of A-Z, 0-9, - and _", ErrInvalidName)
	}
	if name != upper(name) {
		return fmt.Errorf("%w: %q must be upper case (%q)", ErrInvalidName, name, upper(name))
	}
	_, isServer := m.(mech.Server)
	_, isClient := m.(mech.Client)
	if !isServer && !isClient {
		return fmt.Errorf("%w: %s is neither a server nor a client mechanism", ErrInvalidName, name)
	}
	if r.server() {
		if err := r.checkConfig(m); err != nil {
			return err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.snapshot()
	for _, have := range old {
		if have.Name() == name {
			return fmt.Errorf("%w: %s", ErrDuplicate, name)
		}
	}
	mechs := append(old[:len(old):len(old)], m)
	r.mechs.Store(&mechs)
	return nil
}

// Lookup returns the mechanism registered under name, ignoring case.
func (r *Registry) Lookup(name string) (Mechanism, bool) {
	if !ValidName(name) {
		return nil, false
	}
	name = upper(name)
	mechs := r.snapshot()
	for _, m := range mechs {
		if m.Name() == name {
			return m, true
		}
	}
	return nil, false
}

// Names returns the registered names in preference order.
func (r *Registry) Names() []string {
	mechs := r.snapshot()
	names := make([]string, len(mechs))
	for i, m := range mechs {
		names[i] = m.Name()
	}
	return names
}

// NewServer returns a server session for the mechanism named name
// (ignoring case) over channel ch. It refuses mechanisms the registry would
// not advertise on ch: an error wrapping [ErrUnknown],
// [ErrEncryptionRequired] or [ErrNotOffered], naming the mechanism when
// the name is valid. It refuses, with an error wrapping
// [creds.ErrMisconfigured], a mechanism the registry's session settings
// cannot support (see [session.NewServer]). When the registry offers no
// channel-binding mechanism, the session sees ch without its bindings, so
// that a client's "y" flag (it could bind, and saw no -PLUS) is not taken
// for a downgrade.
func (r *Registry) NewServer(name string, ch mech.Channel) (*session.Server, error) {
	m, ok := r.Lookup(name)
	if !ok {
		return nil, unknown(name)
	}
	sm, ok := m.(mech.Server)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no server side", ErrUnknown, m.Name())
	}
	p := m.Properties()
	if err := r.usable(p, &ch); err != nil {
		return nil, fmt.Errorf("%w: %s", err, m.Name())
	}
	if !p.ChannelBinding && len(ch.Bindings) > 0 && !r.offersBinding() {
		// The channel could bind, but no -PLUS mechanism is offered: a
		// client's "y" flag is then no sign of a downgrade, and a SCRAM
		// server must not see bindings that would make it one.
		ch.Bindings = nil
	}
	return session.NewServer(sm, ch, &r.cfg.Session)
}

// unknown is the error for a mechanism name the registry lacks; the name is
// repeated only when it is a valid one.
func unknown(name string) error {
	if !ValidName(name) {
		return fmt.Errorf("%w: invalid name", ErrUnknown)
	}
	return fmt.Errorf("%w: %s", ErrUnknown, upper(name))
}

// offersBinding reports whether the registry holds a server mechanism with
// channel binding.
func (r *Registry) offersBinding() bool {
	mechs := r.snapshot()
	for _, m := range mechs {
		if _, ok := m.(mech.Server); ok && m.Properties().ChannelBinding {
			return true
		}
	}
	return false
}

// NewClient returns a client session for the mechanism named name
// (ignoring case), with credentials c, over channel ch. It returns an error
// wrapping [ErrUnknown] if there is no such client mechanism, and
// [ErrEncryptionRequired] or [ErrNotOffered] if it cannot run on ch.
func (r *Registry) NewClient(name string, c creds.Client, ch mech.Channel) (*session.Client, error) {
	m, ok := r.Lookup(name)
	if !ok {
		return nil, unknown(name)
	}
	cm, ok := m.(mech.Client)
	if !ok {
		return nil, fmt.Errorf("%w: %s has no client side", ErrUnknown, m.Name())
	}
	if err := r.usable(m.Properties(), &ch); err != nil {
		return nil, fmt.Errorf("%w: %s", err, m.Name())
	}
	return session.NewClient(cm, c, ch, &r.cfg.Session), nil
}

// Advertise returns the names of the server mechanisms to offer on channel
// ch, in preference order: those that send a reusable secret in the clear
// (PLAIN, LOGIN, OAUTHBEARER, XOAUTH2) only when ch is secure (or
// [Config.InsecureClearSecret] is set), channel-binding mechanisms only
// when ch has bindings, and EXTERNAL-like mechanisms only when ch carries
// an external identity. A mechanism the registry's session settings cannot
// support (see [Registry.NewServer]) is never advertised.
func (r *Registry) Advertise(ch mech.Channel) []string {
	mechs := r.snapshot()
	var names []string
	for _, m := range mechs {
		if _, ok := m.(mech.Server); !ok {
			continue
		}
		if r.usable(m.Properties(), &ch) == nil && r.checkConfig(m) == nil {
			names = append(names, m.Name())
		}
	}
	return names
}

// Select returns the name of the best client mechanism to use against a
// server that advertised the names in advertised: the first, in the
// registry's preference order, that the server offers, that can run on ch,
// and that c has the credentials for. ANONYMOUS-like mechanisms are picked
// only when c holds no user name, password or token. When none fits it
// returns a [*SelectError], wrapping [ErrNoMechanism], that says why each
// advertised mechanism was skipped.
func (r *Registry) Select(advertised []string, c creds.Client, ch mech.Channel) (string, error) {
	offered := make(map[string]bool, len(advertised))
	for _, a := range advertised {
		if ValidName(a) {
			offered[upper(a)] = true
		}
	}
	mechs := r.snapshot()
	var skipped []Skipped
	for _, m := range mechs {
		if _, ok := m.(mech.Client); !ok || !offered[m.Name()] {
			continue
		}
		p := m.Properties()
		why := ""
		if err := r.usable(p, &ch); err != nil {
			why = reasons[err]
		} else {
			why = cannotRun(p, &c)
		}
		if why == "" {
			return m.Name(), nil
		}
		skipped = append(skipped, Skipped{Mechanism: m.Name(), Reason: why})
	}
	return "", &SelectError{Skipped: skipped}
}

// reasons are the Skipped reasons for the errors of usable.
var reasons = map[error]string{
	ErrEncryptionRequired: "sends a reusable secret and needs TLS",
	errNoBinding:          "needs channel binding",
	errNoExternal:         "needs an identity from the transport",
}

// cannotRun says why a client with credentials c cannot run a mechanism
// with properties p, or "".
func cannotRun(p mech.Properties, c *creds.Client) string {
	switch {
	case p.Anonymous:
		if c.Authcid != "" || c.Password != "" || c.Token != "" {
			return "is for clients without credentials"
		}
	case p.Uses == mech.UsesPassword:
		if c.Authcid == "" || c.Password == "" {
			return "needs a user name and a password"
		}
	case p.Uses == mech.UsesToken:
		if c.Token == "" {
			return "needs a token"
		}
	}
	return ""
}

// Reasons a mechanism is not offered on a channel; both wrap ErrNotOffered.
var (
	errNoBinding  = fmt.Errorf("%w (no channel binding)", ErrNotOffered)
	errNoExternal = fmt.Errorf("%w (no identity from the transport)", ErrNotOffered)
)

// usable reports why a mechanism with properties p cannot run on ch, or nil.
func (r *Registry) usable(p mech.Properties, ch *mech.Channel) error {
	switch {
	case p.ClearSecret && !ch.Secure && !r.cfg.InsecureClearSecret:
		return ErrEncryptionRequired
	case p.ChannelBinding && len(ch.Bindings) == 0:
		return errNoBinding
	case p.External && ch.External == "":
		return errNoExternal
	}
	return nil
}

// ValidName reports whether name is a valid mechanism name (RFC 4422
// section 3.1), ignoring case: 1 to 20 characters of A-Z, 0-9, "-", "_".
func ValidName(name string) bool {
	if len(name) < 1 || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// upper maps ASCII a-z to A-Z; name is already known to be ASCII.
func upper(name string) string {
	for i := 0; i < len(name); i++ {
		if 'a' <= name[i] && name[i] <= 'z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return name
}
