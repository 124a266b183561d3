package mech

import (
	"bytes"
	"context"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
)

// Login is the LOGIN mechanism (draft-murchison-sasl-login), client and
// server. The server asks "Username:" and then "Password:"; an initial
// response is taken as the user name, as curl and Python's smtplib send it.
// It checks the password with [creds.Verifier.CheckPassword], so it needs an
// account store. The zero value is ready to use.
//
// LOGIN is obsolete; prefer PLAIN, or SCRAM where the client supports it.
type Login struct{}

// Name returns "LOGIN".
func (Login) Name() string { return "LOGIN" }

// Properties: server-first, sends the password in the clear.
func (Login) Properties() Properties {
	return Properties{ClearSecret: true, ServerFirst: true, Uses: UsesPassword}
}

// CheckConfig implements [ConfigChecker]: LOGIN needs an account store.
func (Login) CheckConfig(in *ServerInput) error { return needStore("LOGIN", in) }

// ServerAttempt implements [Server].
func (Login) ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error) {
	switch len(in.Pairs) {
	case 0:
		return ServerResult{Challenge: []byte("Username:")}, nil
	case 1:
		if err := checkLoginField(in.Pairs[0].Response, "user name"); err != nil {
			return ServerResult{}, err
		}
		return ServerResult{Challenge: []byte("Password:")}, nil
	}
	user, pass := in.Pairs[0].Response, in.Pairs[1].Response
	if err := checkLoginField(pass, "password"); err != nil {
		return ServerResult{}, err
	}
	account, err := in.Verifier.CheckPassword(ctx, string(user), string(pass))
	if err != nil {
		return ServerResult{}, badCredentials("LOGIN", err)
	}
	return ServerResult{Principal: creds.NewPrincipal("LOGIN", account, "")}, nil
}

func checkLoginField(b []byte, what string) error {
	switch {
	case len(b) == 0:
		return invalid("LOGIN", "empty "+what)
	case len(b) > MaxField:
		return invalid("LOGIN", what+" too long")
	case bytes.IndexByte(b, 0) >= 0:
		return invalid("LOGIN", "NUL in "+what)
	case !utf8.Valid(b):
		return invalid("LOGIN", "invalid UTF-8")
	}
	return nil
}

// ClientAttempt implements [Client]: the user name to the first challenge,
// the password to the second. It sends no initial response.
func (Login) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	if in.Initial {
		return ClientResult{}, &Error{Mechanism: "LOGIN", Err: ErrNoInitialResponse}
	}
	c := in.Creds
	switch len(in.Pairs) {
	case 0:
		if err := checkClientField("LOGIN", c.Authcid, false); err != nil {
			return ClientResult{}, err
		}
		return ClientResult{Response: []byte(c.Authcid)}, nil
	case 1:
		if err := checkClientField("LOGIN", c.Password, false); err != nil {
			return ClientResult{}, err
		}
		return ClientResult{Response: []byte(c.Password), Last: true}, nil
	}
	return ClientResult{}, unexpected("LOGIN")
}

// ClientFinal implements [Client]: LOGIN expects no additional data.
func (Login) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("LOGIN", final, hasFinal)
}
