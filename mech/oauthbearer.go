package mech

import (
	"context"
	"strings"

	"github.com/saslkit/saslkit/mech/gs2"
)

// OAuthBearer is the OAUTHBEARER mechanism (RFC 7628), client and server.
// The client sends a GS2 header with an optional authzid, then
// ^A-separated key=value pairs: host, port and auth=Bearer <token>, ended by
// ^A^A. The zero value is ready to use.
//
// A client sends host= and port= from [Channel.Host] and [Channel.Port]
// when they are set.
//
// The server accepts any other key that follows RFC 7628's grammar and
// ignores it. It checks the token with the server's [TokenValidator]
// ([ServerInput.Tokens]), which CheckConfig requires: a valid token gives
// the principal of the token's subject ([TokenRequest.Subject]), with the
// client's "a=" as the authzid for the authorization policy to judge; a
// refused one is answered with the JSON error challenge of RFC 7628
// section 3.2.2, the server expects the client's "^A" reply (anything else
// is an invalid response), and the exchange fails with the [*TokenError].
// A bearer token is a reusable secret: registries offer OAUTHBEARER only
// over TLS.
type OAuthBearer struct {
	// Scope and OpenIDConfiguration go into the JSON error when the
	// validator gives none.
	Scope, OpenIDConfiguration string
}

// Name returns "OAUTHBEARER".
func (OAuthBearer) Name() string { return "OAUTHBEARER" }

// Properties: client-first, sends a bearer token, a reusable secret.
func (OAuthBearer) Properties() Properties { return Properties{ClearSecret: true, Uses: UsesToken} }

// CheckConfig implements [ConfigChecker]: OAUTHBEARER needs a token
// validator.
func (OAuthBearer) CheckConfig(in *ServerInput) error { return checkTokens("OAUTHBEARER", in) }

// ServerAttempt implements [Server].
func (m OAuthBearer) ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error) {
	switch len(in.Pairs) {
	case 0:
		return ServerResult{Challenge: []byte{}}, nil
	case 1:
	default:
		te, _ := in.Pairs[1].State.(*TokenError)
		if te == nil {
			return ServerResult{}, invalid("OAUTHBEARER", "unexpected response")
		}
		if r := in.Pairs[len(in.Pairs)-1].Response; len(r) != 1 || r[0] != 0x01 {
			return ServerResult{}, invalid("OAUTHBEARER", "reply to error is not ^A")
		}
		return ServerResult{}, te
	}
	r, err := parseOAuthBearer(in.Pairs[0].Response)
	if err != nil {
		return ServerResult{}, err
	}
	refused, err := validateToken(ctx, in.Tokens, r, TokenError{Status: "invalid_token", Scope: m.Scope, OpenIDConfiguration: m.OpenIDConfiguration})
	switch {
	case err != nil:
		return ServerResult{}, err
	case refused != nil:
		if refused.Scope == "" {
			refused.Scope = m.Scope
		}
		if refused.OpenIDConfiguration == "" {
			refused.OpenIDConfiguration = m.OpenIDConfiguration
		}
		return ServerResult{Challenge: refused.marshal(), State: refused}, nil
	}
	return ServerResult{Principal: tokenPrincipal("OAUTHBEARER", r)}, nil
}

// parseOAuthBearer parses the client's message (RFC 7628 section 3.1):
//
//	gs2-header kvsep *kvpair kvsep
//	kvpair = key "=" value kvsep
//	key    = 1*(ALPHA)
//	value  = *(VCHAR / SP / HTAB / CR / LF)
func parseOAuthBearer(msg []byte) (*TokenRequest, error) {
	if len(msg) > MaxField*2+MaxToken+256 {
		return nil, invalid("OAUTHBEARER", "message too long")
	}
	h, n, err := gs2.Parse(msg)
	if err != nil {
		return nil, invalid("OAUTHBEARER", "malformed GS2 header")
	}
	if h.Flag == gs2.Binding {
		return nil, invalid("OAUTHBEARER", "channel binding is not supported")
	}
	if len(h.Authzid) > MaxField {
		return nil, invalid("OAUTHBEARER", "authzid too long")
	}
	s := string(msg[n:])
	body, ok := strings.CutPrefix(s, "\x01")
	if !ok {
		return nil, invalid("OAUTHBEARER", "missing separator")
	}
	body, ok = strings.CutSuffix(body, "\x01")
	if !ok || body != "" && !strings.HasSuffix(body, "\x01") {
		return nil, invalid("OAUTHBEARER", "missing terminator")
	}
	r := &TokenRequest{Mechanism: "OAUTHBEARER", User: h.Authzid}
	var auth string
	var haveAuth, haveHost, havePort bool
	for body != "" {
		var kv string
		kv, body, _ = strings.Cut(body, "\x01")
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !isKey(k) || !isKVValue(v) {
			return nil, invalid("OAUTHBEARER", "malformed key/value pair")
		}
		switch k {
		case "auth":
			if haveAuth {
				return nil, invalid("OAUTHBEARER", "duplicate auth")
			}
			auth, haveAuth = v, true
		case "host":
			if haveHost || len(v) > MaxField {
				return nil, invalid("OAUTHBEARER", "bad host")
			}
			r.Host, haveHost = v, true
		case "port":
			if havePort || !validPort(v) {
				return nil, invalid("OAUTHBEARER", "bad port")
			}
			r.Port, havePort = v, true
		}
	}
	if !haveAuth {
		return nil, invalid("OAUTHBEARER", "missing auth")
	}
	if r.Token, err = parseBearer("OAUTHBEARER", auth); err != nil {
		return nil, err
	}
	return r, nil
}

// validPort reports whether p is 1*DIGIT (RFC 7628 section 3.1), at most
// five digits.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
	}
	return true
}

// isKVValue reports whether v is *(VCHAR / SP / HTAB / CR / LF).
func isKVValue(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c >= 0x20 && c <= 0x7e, c == '\t', c == '\r', c == '\n':
		default:
			return false
		}
	}
	return true
}

// ClientAttempt implements [Client]. The authzid sent is
// [creds.Client.Authzid], or the Authcid when that is empty. To a JSON error
// challenge it answers "^A" and reports the server's [*TokenError] in
// [ClientResult.Failure].
func (OAuthBearer) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	switch len(in.Pairs) {
	case 0:
		c := in.Creds
		user := c.Authzid
		if user == "" {
			user = c.Authcid
		}
		if err := checkClientField("OAUTHBEARER", user, true); err != nil {
			return ClientResult{}, err
		}
		if _, err := parseBearer("OAUTHBEARER", "Bearer "+c.Token); err != nil {
			return ClientResult{}, &Error{Mechanism: "OAUTHBEARER", Reason: "unusable token", Err: ErrInvalidCredentials}
		}
		var host, port string
		if in.Channel != nil {
			host, port = in.Channel.Host, in.Channel.Port
		}
		if !isKVValue(host) || len(host) > MaxField || port != "" && !validPort(port) {
			return ClientResult{}, &Error{Mechanism: "OAUTHBEARER", Reason: "bad host or port", Err: ErrInvalidCredentials}
		}
		msg := gs2.Header{Flag: gs2.NoBinding, Authzid: user}.Append(make([]byte, 0, 64+len(user)+len(c.Token)))
		msg = append(msg, 0x01)
		if host != "" {
			msg = append(msg, "host="...)
			msg = append(msg, host...)
			msg = append(msg, 0x01)
		}
		if port != "" {
			msg = append(msg, "port="...)
			msg = append(msg, port...)
			msg = append(msg, 0x01)
		}
		msg = append(msg, "auth=Bearer "...)
		msg = append(msg, c.Token...)
		msg = append(msg, 0x01, 0x01)
		return ClientResult{Response: msg, Last: true}, nil
	case 1:
		res := ClientResult{Response: []byte{0x01}, Last: true}
		te, err := parseTokenError("OAUTHBEARER", in.Challenge)
		if err != nil {
			res.Failure = err
		} else {
			res.Failure = te
		}
		return res, nil
	}
	return ClientResult{}, unexpected("OAUTHBEARER")
}

// ClientFinal implements [Client]: OAUTHBEARER expects no additional data.
func (OAuthBearer) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("OAUTHBEARER", final, hasFinal)
}
