package registry

import (
	"fmt"

	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// Builtin returns a new value of the built-in mechanism named name
// (ignoring case), with its zero configuration, or false. A server
// mechanism checks secrets through the session's Verifier and tokens with
// its token validator, so the zero configuration is complete.
func Builtin(name string) (Mechanism, bool) {
	if !ValidName(name) {
		return nil, false
	}
	name = upper(name)
	switch name {
	case "PLAIN":
		return mech.Plain{}, true
	case "LOGIN":
		return mech.Login{}, true
	case "CRAM-MD5":
		return mech.CRAMMD5{}, true
	case "XOAUTH2":
		return mech.XOAuth2{}, true
	case "EXTERNAL":
		return mech.External{}, true
	case "OAUTHBEARER":
		return mech.OAuthBearer{}, true
	case "ANONYMOUS":
		return mech.Anonymous{}, true
	}
	if h, plus, ok := scram.HashByName(name); ok {
		return scram.Mechanism{Hash: h, Plus: plus}, true
	}
	return nil, false
}

// BuiltinNames lists the names [Builtin] knows, in a recommended order of
// preference to pass to [Named] (which keeps the order it is given):
// channel binding first, then the SCRAM family by strength, then the rest.
func BuiltinNames() []string {
	return []string{
		"EXTERNAL",
		"SCRAM-SHA3-512-PLUS", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
		"SCRAM-SHA3-512", "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1",
		"OAUTHBEARER", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN", "ANONYMOUS",
	}
}

// Defaults returns a client registry of PLAIN, then LOGIN, with a zero
// Config: what a client can run with a user name and a password against
// most servers. Its NewServer refuses both, since a zero Config has no
// account store; a server uses [Named] or [New] with a Verifier.
func Defaults() *Registry {
	r, err := Named(nil, "PLAIN", "LOGIN")
	if err != nil {
		panic(err) // the built-in list is known to be valid
	}
	return r
}

// Named returns a registry of the built-in mechanisms named, in that order,
// with [New]'s checks: a server registry (cfg sets a Verifier or token
// validator) is refused if a mechanism cannot run with cfg, with an error
// naming it. An unknown name is an error wrapping [ErrUnknown] that names
// it.
func Named(cfg *Config, names ...string) (*Registry, error) {
	mechs := make([]Mechanism, 0, len(names))
	for _, n := range names {
		m, ok := Builtin(n)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a built-in mechanism", ErrUnknown, n)
		}
		mechs = append(mechs, m)
	}
	return New(cfg, mechs...)
}
