package mech

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/saslkit/saslkit/creds"
)

// MaxToken is the longest bearer token, in octets, that XOAUTH2 and
// OAUTHBEARER accept.
const MaxToken = 8192

// TokenValidator checks bearer tokens for XOAUTH2 and OAUTHBEARER, so one
// validator serves both. It must be safe for concurrent use.
type TokenValidator interface {
	// ValidateToken returns nil if r.Token is valid, after setting
	// r.Subject to the account the token was issued to: a validator that
	// returns nil without setting Subject fails closed, and the exchange
	// ends with an error wrapping [creds.ErrMisconfigured]. To refuse the
	// token it returns a [*TokenError], whose fields go to the client in
	// the mechanism's JSON error, or any error wrapping [ErrAuthFailed],
	// which sends the default error. Any other error aborts the exchange
	// with no JSON error (a temporary failure, such as an unreachable
	// issuer).
	ValidateToken(ctx context.Context, r *TokenRequest) error
}

// TokenValidatorFunc adapts a function to a [TokenValidator].
type TokenValidatorFunc func(ctx context.Context, r *TokenRequest) error

// ValidateToken calls f(ctx, r).
func (f TokenValidatorFunc) ValidateToken(ctx context.Context, r *TokenRequest) error {
	return f(ctx, r)
}

// TokenRequest is a bearer token presented by a client.
type TokenRequest struct {
	// Mechanism is "XOAUTH2" or "OAUTHBEARER".
	Mechanism string
	// User is the user the client names: XOAUTH2's "user=", or
	// OAUTHBEARER's authzid ("a="), which may be empty.
	User string
	// Token is the bearer token.
	Token string
	// Host and Port are what an OAUTHBEARER client said it connected to;
	// empty when not sent.
	Host, Port string
	// Subject is the validator's answer: the account the token was issued
	// to, which becomes the principal's account. It must be set when the
	// token is valid. A User that differs from it is an authorization
	// identity, for the authorization policy to judge.
	Subject string
}

// TokenError is a refused bearer token: the fields of the JSON error
// (RFC 7628 section 3.2.2) the server sends, and the client reports. It
// wraps [ErrAuthFailed]. Empty fields are left out of the JSON.
type TokenError struct {
	// Status is the error code: an HTTP status such as "401" for XOAUTH2,
	// or an RFC 6750 code such as "invalid_token" for OAUTHBEARER.
	Status string `json:"status"`
	// Schemes lists the HTTP authentication schemes the server accepts
	// (XOAUTH2 sends "bearer").
	Schemes string `json:"schemes,omitempty"`
	// Scope is the OAuth scope the token needs.
	Scope string `json:"scope,omitempty"`
	// OpenIDConfiguration is the URL of the server's OpenID discovery
	// document.
	OpenIDConfiguration string `json:"openid-configuration,omitempty"`
}

// Error returns "saslkit/mech: token refused" and the status, cut short.
func (e *TokenError) Error() string {
	s := "saslkit/mech: token refused"
	if e.Status != "" {
		// The status is a short code chosen by the server, not a secret.
		s += ": status " + quoteShort(e.Status)
	}
	return s
}

// Unwrap returns [ErrAuthFailed].
func (e *TokenError) Unwrap() error { return ErrAuthFailed }

// marshal encodes e as the JSON error, fields in the order status, schemes,
// scope, openid-configuration.
func (e *TokenError) marshal() []byte {
	b, _ := json.Marshal(e)
	return b
}

// parseTokenError decodes a JSON error challenge. It returns an error
// wrapping ErrInvalidChallenge if data is not a JSON object with a string
// "status".
func parseTokenError(mech string, data []byte) (*TokenError, error) {
	var e TokenError
	if err := json.Unmarshal(data, &e); err != nil || e.Status == "" {
		return nil, invalidChallenge(mech, "malformed JSON error")
	}
	return &e, nil
}

// validateToken runs v and sorts its answer: ok, a refusal with the error to
// send (defaults filled in from def), or an internal error.
func validateToken(ctx context.Context, v TokenValidator, r *TokenRequest, def TokenError) (refused *TokenError, err error) {
	if v == nil {
		return nil, needTokens(r.Mechanism)
	}
	err = v.ValidateToken(ctx, r)
	if err == nil {
		if r.Subject == "" {
			return nil, &Error{Mechanism: r.Mechanism, Reason: "the token validator accepted a token without naming its subject", Err: creds.ErrMisconfigured}
		}
		return nil, nil
	}
	var te *TokenError
	if errors.As(err, &te) {
		e := *te
		if e.Status == "" {
			e.Status = def.Status
		}
		return &e, nil
	}
	if errors.Is(err, ErrAuthFailed) {
		return &def, nil
	}
	return nil, err
}

func needTokens(mech string) error {
	return &Error{Mechanism: mech, Reason: "needs a token validator (session.Config.Tokens)", Err: creds.ErrMisconfigured}
}

// checkTokens is the CheckConfig of the token mechanisms.
func checkTokens(mech string, in *ServerInput) error {
	if in.Tokens == nil {
		return needTokens(mech)
	}
	return nil
}

// quoteShort returns s quoted, cut to 32 bytes.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	b, _ := json.Marshal(s)
	return string(b)
}
