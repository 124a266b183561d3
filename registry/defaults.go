package registry

import (
	"fmt"

	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// Builtin returns a new value of the built-in mechanism named name
// (ignoring case), with its zero configuration, or false. A SCRAM server
// with zero configuration has no store and fails every exchange; use
// [Named] with a [Config] that sets SCRAMStore.
func Builtin(name string) (Mechanism, bool) { return builtin(name, nil) }

// builtin returns the built-in mechanism named name, configured from cfg.
func builtin(name string, cfg *Config) (Mechanism, bool) {
	if !ValidName(name) {
		return nil, false
	}
	if cfg == nil {
		cfg = &Config{}
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
		return mech.XOAuth2{Validator: cfg.TokenValidator}, true
	case "EXTERNAL":
		return mech.External{}, true
	case "OAUTHBEARER":
		return mech.OAuthBearer{Validator: cfg.TokenValidator}, true
	case "ANONYMOUS":
		return mech.Anonymous{}, true
	}
	if h, plus, ok := scram.HashByName(name); ok {
		return scram.Mechanism{Hash: h, Plus: plus, Store: cfg.SCRAMStore,
			MockIterations: cfg.SCRAMMockIterations, Secret: cfg.SCRAMSecret}, true
	}
	return nil, false
}

// BuiltinNames lists the names [Builtin] knows, in the order [Named] would
// prefer them: channel binding first, then the SCRAM family by strength,
// then the rest.
func BuiltinNames() []string {
	return []string{
		"EXTERNAL",
		"SCRAM-SHA3-512-PLUS", "SCRAM-SHA-512-PLUS", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
		"SCRAM-SHA3-512", "SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1",
		"OAUTHBEARER", "XOAUTH2", "CRAM-MD5", "PLAIN", "LOGIN", "ANONYMOUS",
	}
}

// DefaultNames lists the mechanisms [Defaults] registers, in preference
// order. Mechanisms that need configuration to be safe (SCRAM needs a key
// store, XOAUTH2 a token validator, EXTERNAL a transport identity) or that
// need clear-text secrets on the server (CRAM-MD5) are left out; add them
// with [Named] or [Registry.Register].
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

// Named returns a registry of the built-in mechanisms named, in that order.
// The mechanisms take their settings from cfg: SCRAM its SCRAMStore, XOAUTH2
// and OAUTHBEARER its TokenValidator. An unknown name is an error wrapping [ErrUnknown] that
// names it.
func Named(cfg *Config, names ...string) (*Registry, error) {
	mechs := make([]Mechanism, 0, len(names))
	for _, n := range names {
		m, ok := builtin(n, cfg)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnknown, n)
		}
		mechs = append(mechs, m)
	}
	return New(cfg, mechs...)
}
