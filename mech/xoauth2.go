package mech

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
)

// XOAuth2 is Google's XOAUTH2 mechanism, client and server. The client
// sends "user=" user ^A "auth=Bearer " token ^A ^A, and the server accepts
// exactly that form, with the scheme in any case. The zero value is ready to
// use.
//
// The server checks the token with the server's [TokenValidator]
// ([ServerInput.Tokens]), which CheckConfig requires. A valid token gives
// the principal of the validator's [TokenRequest.Subject]; a "user=" that
// names another account is the authorization identity. A refused token is
// answered with the JSON error challenge
// {"status":"401","schemes":"bearer",...}, the server expects the client's
// empty reply, and the exchange fails with the [*TokenError]. A bearer
// token is a reusable secret: registries offer XOAUTH2 only over TLS.
type XOAuth2 struct {
	// Scope is sent in the JSON error when the validator gives none.
	Scope string
}

// Name returns "XOAUTH2".
func (XOAuth2) Name() string { return "XOAUTH2" }

// tokenPrincipal returns the principal of a validated token: the account
// is whom the validator says the token belongs to, and the user the client
// named, when it is another, is the authzid, which the session prepares
// and hands to the authorization policy.
func tokenPrincipal(mech string, r *TokenRequest) *creds.Principal {
	if r.User == r.Subject {
		return creds.NewPrincipal(mech, r.Subject, "")
	}
	return creds.NewPrincipal(mech, r.Subject, r.User)
}

// Properties: client-first, sends a bearer token, a reusable secret.
func (XOAuth2) Properties() Properties { return Properties{ClearSecret: true, Uses: UsesToken} }

// CheckConfig implements [ConfigChecker]: XOAUTH2 needs a token validator.
func (XOAuth2) CheckConfig(in *ServerInput) error { return checkTokens("XOAUTH2", in) }

// ServerAttempt implements [Server].
func (m XOAuth2) ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error) {
	switch len(in.Pairs) {
	case 0:
		return ServerResult{Challenge: []byte{}}, nil
	case 1:
	default:
		// The client's reply to the JSON error.
		p := in.Pairs[1]
		te, _ := p.State.(*TokenError)
		if te == nil {
			return ServerResult{}, invalid("XOAUTH2", "unexpected response")
		}
		if len(in.Pairs[len(in.Pairs)-1].Response) != 0 {
			return ServerResult{}, invalid("XOAUTH2", "non-empty reply to error")
		}
		return ServerResult{}, te
	}
	user, token, err := parseXOAuth2(in.Pairs[0].Response)
	if err != nil {
		return ServerResult{}, err
	}
	r := &TokenRequest{Mechanism: "XOAUTH2", User: user, Token: token}
	refused, err := validateToken(ctx, in.Tokens, r, TokenError{Status: "401", Schemes: "bearer", Scope: m.Scope})
	switch {
	case err != nil:
		return ServerResult{}, err
	case refused != nil:
		if refused.Schemes == "" {
			refused.Schemes = "bearer"
		}
		if refused.Scope == "" {
			refused.Scope = m.Scope
		}
		return ServerResult{Challenge: refused.marshal(), State: refused}, nil
	}
	return ServerResult{Principal: tokenPrincipal("XOAUTH2", r)}, nil
}

func parseXOAuth2(msg []byte) (user, token string, err error) {
	// The format is fixed: "user=" user ^A "auth=" scheme SP token ^A ^A,
	// nothing else, in that order. Being strict here means no two messages
	// mean the same thing.
	if len(msg) > MaxField+MaxToken+32 {
		return "", "", invalid("XOAUTH2", "message too long")
	}
	s := string(msg)
	body, ok := strings.CutPrefix(s, "user=")
	if !ok {
		return "", "", invalid("XOAUTH2", "missing user")
	}
	user, body, ok = strings.Cut(body, "\x01")
	if !ok {
		return "", "", invalid("XOAUTH2", "missing separator")
	}
	auth, ok := strings.CutPrefix(body, "auth=")
	if !ok {
		return "", "", invalid("XOAUTH2", "missing auth")
	}
	auth, ok = strings.CutSuffix(auth, "\x01\x01")
	if !ok || strings.IndexByte(auth, 0x01) >= 0 {
		return "", "", invalid("XOAUTH2", "missing or misplaced terminator")
	}
	switch {
	case user == "":
		return "", "", invalid("XOAUTH2", "empty user")
	case len(user) > MaxField:
		return "", "", invalid("XOAUTH2", "user too long")
	case !utf8.ValidString(user) || strings.IndexByte(user, 0) >= 0:
		return "", "", invalid("XOAUTH2", "invalid user")
	}
	token, err = parseBearer("XOAUTH2", auth)
	return user, token, err
}

// parseBearer parses "Bearer" SP token, the scheme case-insensitive
// (RFC 7235 section 2.1), the token printable ASCII.
func parseBearer(mech, auth string) (string, error) {
	const scheme = "bearer "
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return "", invalid(mech, "auth is not a bearer token")
	}
	token := auth[len(scheme):]
	if token == "" || len(token) > MaxToken {
		return "", invalid(mech, "bad token length")
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c < 0x21 || c > 0x7e {
			return "", invalid(mech, "token is not printable ASCII")
		}
	}
	return token, nil
}

// isKey reports whether k is 1*ALPHA (RFC 7628 section 3.1).
func isKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// ClientAttempt implements [Client]. To a JSON error challenge it answers
// with the empty response and reports the server's [*TokenError] in
// [ClientResult.Failure].
func (XOAuth2) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	switch len(in.Pairs) {
	case 0:
		c := in.Creds
		if err := checkClientField("XOAUTH2", c.Authcid, false); err != nil {
			return ClientResult{}, err
		}
		if strings.IndexByte(c.Authcid, 1) >= 0 {
			return ClientResult{}, &Error{Mechanism: "XOAUTH2", Reason: "control character in user", Err: ErrInvalidCredentials}
		}
		if _, err := parseBearer("XOAUTH2", "Bearer "+c.Token); err != nil {
			return ClientResult{}, &Error{Mechanism: "XOAUTH2", Reason: "unusable token", Err: ErrInvalidCredentials}
		}
		msg := make([]byte, 0, len(c.Authcid)+len(c.Token)+21)
		msg = append(msg, "user="...)
		msg = append(msg, c.Authcid...)
		msg = append(msg, "\x01auth=Bearer "...)
		msg = append(msg, c.Token...)
		msg = append(msg, "\x01\x01"...)
		return ClientResult{Response: msg, Last: true}, nil
	case 1:
		res := ClientResult{Response: []byte{}, Last: true}
		te, err := parseTokenError("XOAUTH2", in.Challenge)
		if err != nil {
			res.Failure = err
		} else {
			res.Failure = te
		}
		return res, nil
	}
	return ClientResult{}, unexpected("XOAUTH2")
}

// ClientFinal implements [Client]: XOAUTH2 expects no additional data.
func (XOAuth2) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("XOAUTH2", final, hasFinal)
}
