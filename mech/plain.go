package mech

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
)

// MaxField is the longest authcid, authzid or password, in octets, that
// PLAIN (RFC 4616 section 2), LOGIN and EXTERNAL accept.
const MaxField = 255

// Plain is the PLAIN mechanism (RFC 4616), client and server. The message is
// authzid NUL authcid NUL password. The zero value is ready to use.
//
// The server enforces RFC 4616: valid UTF-8, exactly two NUL separators, a
// non-empty authcid and password, and at most [MaxField] octets per field.
// It checks the password with [creds.Verifier.CheckPassword], so it needs
// an account store.
type Plain struct{}

// Name returns "PLAIN".
func (Plain) Name() string { return "PLAIN" }

// Properties: client-first, sends the password in the clear.
func (Plain) Properties() Properties {
	return Properties{ClearSecret: true, Uses: UsesPassword}
}

// CheckConfig implements [ConfigChecker]: PLAIN needs an account store.
func (Plain) CheckConfig(in *ServerInput) error { return needStore("PLAIN", in) }

// ServerAttempt implements [Server].
func (Plain) ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error) {
	if len(in.Pairs) == 0 {
		return ServerResult{Challenge: []byte{}}, nil
	}
	authzid, authcid, password, err := parsePlain(in.Pairs[len(in.Pairs)-1].Response)
	if err != nil {
		return ServerResult{}, err
	}
	account, err := in.Verifier.CheckPassword(ctx, authcid, password)
	if err != nil {
		return ServerResult{}, badCredentials("PLAIN", err)
	}
	return ServerResult{Principal: creds.NewPrincipal("PLAIN", account, authzid)}, nil
}

func parsePlain(msg []byte) (authzid, authcid, password string, err error) {
	if len(msg) > 3*MaxField+2 {
		return "", "", "", invalid("PLAIN", "message too long")
	}
	// One conversion; the fields are substrings of it.
	s := string(msg)
	i := strings.IndexByte(s, 0)
	if i < 0 {
		return "", "", "", invalid("PLAIN", "missing separator")
	}
	j := strings.IndexByte(s[i+1:], 0)
	if j < 0 {
		return "", "", "", invalid("PLAIN", "missing separator")
	}
	j += i + 1
	authzid, authcid, password = s[:i], s[i+1:j], s[j+1:]
	switch {
	case strings.IndexByte(password, 0) >= 0:
		return "", "", "", invalid("PLAIN", "too many separators")
	case authcid == "":
		return "", "", "", invalid("PLAIN", "empty authcid")
	case password == "":
		return "", "", "", invalid("PLAIN", "empty password")
	case len(authzid) > MaxField || len(authcid) > MaxField || len(password) > MaxField:
		return "", "", "", invalid("PLAIN", "field too long")
	case !utf8.ValidString(s):
		return "", "", "", invalid("PLAIN", "invalid UTF-8")
	}
	return authzid, authcid, password, nil
}

// ClientAttempt implements [Client]. It sends the message as the initial
// response, or in answer to the server's first (empty) challenge.
func (Plain) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	if len(in.Pairs) > 0 {
		return ClientResult{}, unexpected("PLAIN")
	}
	c := in.Creds
	if err := checkClientField("PLAIN", c.Authcid, false); err != nil {
		return ClientResult{}, err
	}
	if err := checkClientField("PLAIN", c.Password, false); err != nil {
		return ClientResult{}, err
	}
	if err := checkClientField("PLAIN", c.Authzid, true); err != nil {
		return ClientResult{}, err
	}
	msg := make([]byte, 0, len(c.Authzid)+len(c.Authcid)+len(c.Password)+2)
	msg = append(msg, c.Authzid...)
	msg = append(msg, 0)
	msg = append(msg, c.Authcid...)
	msg = append(msg, 0)
	msg = append(msg, c.Password...)
	return ClientResult{Response: msg, Last: true}, nil
}

// ClientFinal implements [Client]: PLAIN expects no additional data.
func (Plain) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("PLAIN", final, hasFinal)
}

func checkClientField(mech, v string, mayBeEmpty bool) error {
	switch {
	case v == "" && !mayBeEmpty:
		return &Error{Mechanism: mech, Reason: "empty field", Err: ErrInvalidCredentials}
	case len(v) > MaxField:
		return &Error{Mechanism: mech, Reason: "field too long", Err: ErrInvalidCredentials}
	case strings.IndexByte(v, 0) >= 0:
		return &Error{Mechanism: mech, Reason: "NUL in field", Err: ErrInvalidCredentials}
	case !utf8.ValidString(v):
		return &Error{Mechanism: mech, Reason: "invalid UTF-8", Err: ErrInvalidCredentials}
	}
	return nil
}

// noFinal refuses non-empty additional data with success, which a mechanism
// without a server-final message never expects.
func noFinal(mech string, final []byte, hasFinal bool) error {
	if hasFinal && len(final) > 0 {
		return invalidChallenge(mech, "unexpected additional data")
	}
	return nil
}
