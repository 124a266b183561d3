package registry

import (
	"fmt"

	"github.com/saslkit/saslkit/mech"
)

// Builtin returns a new value of the built-in mechanism named name
// (ignoring case), with its zero configuration, or false.
func Builtin(name string) (Mechanism, bool) {
	if !ValidName(name) {
		return nil, false
	}
	switch upper(name) {
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
	}
	return nil, false
}

// BuiltinNames lists the names [Builtin] knows, in the order [Named] would
// prefer them.
func BuiltinNames() []string {
	return []string{"EXTERNAL", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2"}
}

// DefaultNames lists the mechanisms [Defaults] registers, in preference
// order. Mechanisms that need configuration to be safe (XOAUTH2 needs a
// token validator, EXTERNAL a transport identity) or that need clear-text
// secrets on the server (CRAM-MD5) are left out; add them with [Named] or
// [Registry.Register].
var DefaultNames = []string{"PLAIN", "LOGIN"}

// Defaults returns a registry of the [DefaultNames] mechanisms with a zero
// Config.
func Defaults() *Registry {
	r, err := Named(nil, DefaultNames...)
	if err != nil {
		panic(err) // the built-in list is known to be valid
	}
	return r
}

// Named returns a registry of the built-in mechanisms named, in that order,
// each with its zero configuration. An unknown name is an error wrapping
// [ErrUnknown] that names it.
func Named(cfg *Config, names ...string) (*Registry, error) {
	mechs := make([]Mechanism, 0, len(names))
	for _, n := range names {
		m, ok := Builtin(n)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknown, n)
		}
		mechs = append(mechs, m)
	}
	return New(cfg, mechs...)
}
