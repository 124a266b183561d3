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
// With a nil Validator the server returns credentials whose Verify reports
// an [*creds.ExternalError] carrying the token, as pysasl does. With a
// Validator it checks the token during the exchange: a valid token gives
// verified credentials ([creds.Server.Verified]); a refused one is answered
// with the JSON error challenge {"status":"401","schemes":"bearer",...}, the
// server expects the client's empty reply, and the exchange fails with the
// [*TokenError].
type XOAuth2 struct {
	// Validator, if not nil, checks tokens during the exchange.
	Validator TokenValidator
	// Scope is sent in the JSON error when the validator gives none.
	Scope string
}

// Name returns "XOAUTH2".
func (XOAuth2) Name() string { return "XOAUTH2" }

// tokenCreds returns verified credentials for a validated token: the
// authcid is whom the validator says the token belongs to, and the authzid
// is the user the client named when that differs, so that the
// authorization policy decides.
func tokenCreds(mech string, r *TokenRequest, authzid string) *creds.Server {
	authcid := r.Subject
	if authcid == "" {
		authcid = r.User
	}
	if authzid == "" && r.User != authcid {
		authzid = r.User
	}
	return creds.NewVerifiedServer(mech, authcid, authzid)
}

// Properties: client-first, uses a bearer token.
func (XOAuth2) Properties() Properties { return Properties{Uses: UsesToken} }

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
	if m.Validator == nil {
		return ServerResult{Creds: creds.NewTokenServer("XOAUTH2", user, "", token)}, nil
	}
	r := &TokenRequest{Mechanism: "XOAUTH2", User: user, Token: token}
	refused, err := validateToken(ctx, m.Validator, r, TokenError{Status: "401", Schemes: "bearer", Scope: m.Scope})
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
	return ServerResult{Creds: tokenCreds("XOAUTH2", r, "")}, nil
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
		return ClientResult{Response: msg}, nil
	case 1:
		res := ClientResult{Response: []byte{}}
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
