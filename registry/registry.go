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
package registry

import (
	"errors"
	"fmt"
	"sync"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// Mechanism is what a registry holds: a mechanism that implements
// [mech.Server], [mech.Client], or both.
type Mechanism interface {
	Name() string
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

// Config holds a registry's settings. The zero value is the safe default.
type Config struct {
	// Session configures every session the registry creates.
	Session session.Config
	// InsecureClearSecret offers mechanisms that send a reusable secret in
	// the clear (PLAIN, LOGIN) on connections that are not secure, and lets
	// clients pick them there. Off by default: such mechanisms appear only
	// over TLS.
	InsecureClearSecret bool
	// SCRAMStore holds the users' SCRAM keys, for the SCRAM mechanisms
	// that [Named] creates. If nil, they fail every exchange at the proof.
	SCRAMStore scram.Store
	// SCRAMMockIterations and SCRAMSecret configure how those mechanisms
	// answer for unknown users ([scram.Mechanism.MockIterations] and
	// [scram.Mechanism.Secret]): set the iteration count to what most
	// stored keys use, so that "i=" does not tell unknown users apart.
	SCRAMMockIterations int
	SCRAMSecret         []byte
	// TokenValidator checks bearer tokens for the XOAUTH2 and OAUTHBEARER
	// mechanisms that [Named] creates. If nil, their credentials come back
	// unverified, with an [*creds.ExternalError] holding the token.
	TokenValidator mech.TokenValidator
}

// Registry holds mechanisms by name, in preference order.
type Registry struct {
	cfg Config

	mu    sync.RWMutex // guards mechs
	mechs []Mechanism
}

// New returns a registry holding mechs, in that order of preference. A nil
// cfg means the zero Config. It returns an error wrapping [ErrInvalidName]
// or [ErrDuplicate] if a mechanism cannot be registered.
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

// Register adds m at the end of the preference order. It returns an error
// wrapping [ErrInvalidName] if m's name breaks RFC 4422 section 3.1 or m is
// neither a [mech.Server] nor a [mech.Client], and one wrapping
// [ErrDuplicate] if the name is taken.
func (r *Registry) Register(m Mechanism) error {
	if m == nil {
		return fmt.Errorf("%w: nil mechanism", ErrInvalidName)
	}
	name := m.Name()
	if !ValidName(name) || name != upper(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	_, isServer := m.(mech.Server)
	_, isClient := m.(mech.Client)
	if !isServer && !isClient {
		return fmt.Errorf("%w: %s is neither a server nor a client mechanism", ErrInvalidName, name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.mechs {
		if have.Name() == name {
			return fmt.Errorf("%w: %s", ErrDuplicate, name)
		}
	}
	r.mechs = append(r.mechs, m)
	return nil
}

// Lookup returns the mechanism registered under name, ignoring case.
func (r *Registry) Lookup(name string) (Mechanism, bool) {
	if !ValidName(name) {
		return nil, false
	}
	name = upper(name)
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.mechs {
		if m.Name() == name {
			return m, true
		}
	}
	return nil, false
}

// Names returns the registered names in preference order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, len(r.mechs))
	for i, m := range r.mechs {
		names[i] = m.Name()
	}
	return names
}

// Server returns a server session for the mechanism named name (ignoring
// case) over channel ch. It refuses mechanisms the registry would not
// advertise on ch: an error wrapping [ErrUnknown], [ErrEncryptionRequired]
// or [ErrNotOffered]. When the registry offers no channel-binding
// mechanism, the session sees ch without its bindings, so that SCRAM does
// not take a binding-capable client's "y" for a downgrade.
func (r *Registry) Server(name string, ch mech.Channel) (*session.Server, error) {
	m, ok := r.Lookup(name)
	if !ok {
		return nil, ErrUnknown
	}
	sm, ok := m.(mech.Server)
	if !ok {
		return nil, ErrUnknown
	}
	p := m.Properties()
	if err := r.usable(p, &ch); err != nil {
		return nil, err
	}
	if !p.ChannelBinding && len(ch.Bindings) > 0 && !r.offersBinding() {
		// The channel could bind, but no -PLUS mechanism is offered: a
		// client's "y" flag is then no sign of a downgrade, and a SCRAM
		// server must not see bindings that would make it one.
		ch.Bindings = nil
	}
	return session.NewServer(sm, ch, &r.cfg.Session), nil
}

// offersBinding reports whether the registry holds a server mechanism with
// channel binding.
func (r *Registry) offersBinding() bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.mechs {
		if _, ok := m.(mech.Server); ok && m.Properties().ChannelBinding {
			return true
		}
	}
	return false
}

// Client returns a client session for the mechanism named name (ignoring
// case), with credentials c, over channel ch. It returns an error wrapping
// [ErrUnknown] if there is no such client mechanism, and
// [ErrEncryptionRequired] or [ErrNotOffered] if it cannot run on ch.
func (r *Registry) Client(name string, c creds.Client, ch mech.Channel) (*session.Client, error) {
	m, ok := r.Lookup(name)
	if !ok {
		return nil, ErrUnknown
	}
	cm, ok := m.(mech.Client)
	if !ok {
		return nil, ErrUnknown
	}
	if err := r.usable(m.Properties(), &ch); err != nil {
		return nil, err
	}
	return session.NewClient(cm, c, ch, &r.cfg.Session), nil
}

// Advertise returns the names of the server mechanisms to offer on channel
// ch, in preference order: those that send a secret in the clear only when
// ch is secure (or [Config.InsecureClearSecret] is set), channel-binding
// mechanisms only when ch has bindings, and EXTERNAL-like mechanisms only
// when ch carries an external identity.
func (r *Registry) Advertise(ch mech.Channel) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var names []string
	for _, m := range r.mechs {
		if _, ok := m.(mech.Server); !ok {
			continue
		}
		if r.usable(m.Properties(), &ch) == nil {
			names = append(names, m.Name())
		}
	}
	return names
}

// Select returns the name of the best client mechanism to use against a
// server that advertised the names in advertised: the first, in the
// registry's preference order, that the server offers, that can run on ch,
// and that c has the credentials for. ANONYMOUS-like mechanisms are picked
// only when c holds no user name, password or token. It returns an error
// wrapping [ErrNoMechanism] when none fits.
func (r *Registry) Select(advertised []string, c creds.Client, ch mech.Channel) (string, error) {
	offered := make(map[string]bool, len(advertised))
	for _, a := range advertised {
		if ValidName(a) {
			offered[upper(a)] = true
		}
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range r.mechs {
		if _, ok := m.(mech.Client); !ok || !offered[m.Name()] {
			continue
		}
		p := m.Properties()
		if r.usable(p, &ch) != nil || !canRun(p, &c) {
			continue
		}
		return m.Name(), nil
	}
	return "", ErrNoMechanism
}

func canRun(p mech.Properties, c *creds.Client) bool {
	switch {
	case p.Anonymous:
		return c.Authcid == "" && c.Password == "" && c.Token == ""
	case p.Uses == mech.UsesPassword:
		return c.Authcid != "" && c.Password != ""
	case p.Uses == mech.UsesToken:
		return c.Token != ""
	}
	return true
}

// usable reports why a mechanism with properties p cannot run on ch, or nil.
func (r *Registry) usable(p mech.Properties, ch *mech.Channel) error {
	switch {
	case p.ClearSecret && !ch.Secure && !r.cfg.InsecureClearSecret:
		return ErrEncryptionRequired
	case p.ChannelBinding && len(ch.Bindings) == 0:
		return ErrNotOffered
	case p.External && ch.External == "":
		return ErrNotOffered
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
