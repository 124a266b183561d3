// Package creds holds the credentials of a SASL (RFC 4422) exchange: what a
// client sends, what a server mechanism produces, and the identities a server
// verifies them against.
//
// A client holds a [Client]: an authentication identity (authcid), a password
// or a bearer token, and an optional authorization identity (authzid).
//
// A server mechanism produces a [Server] once an exchange completes. The
// application looks up the [Identity] named by [Server.Authcid] and calls
// [Server.Verify]. Verification reports its outcome as an error: nil means
// the credentials are good, [ErrBadCredentials] means they are not,
// [ErrUnusable] means the mechanism cannot verify against that kind of
// identity (CRAM-MD5 against a hashed password), and an [*ExternalError]
// means the mechanism's credentials must be checked outside saslkit (a
// bearer token, or a TLS client certificate for EXTERNAL).
//
// Passwords and user names are prepared with SASLprep (RFC 4013, package
// [github.com/saslkit/saslkit/creds/prep]) on both sides of a comparison
// unless an identity opts out.
package creds

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
)

// Errors returned by [Server.Verify] and [Identity.Compare]. Match them with
// errors.Is.
var (
	// ErrBadCredentials means the credentials do not match the identity, or
	// that there is no identity (an unknown user). The two are deliberately
	// indistinguishable.
	ErrBadCredentials = errors.New("saslkit/creds: invalid credentials")

	// ErrUnusable means the mechanism cannot verify its credentials against
	// this kind of identity, for example CRAM-MD5 against an identity that
	// holds only a password hash (pysasl's MechanismUnusable).
	ErrUnusable = errors.New("saslkit/creds: mechanism cannot verify this identity")
)

// ExternalError reports that the credentials must be verified outside of
// saslkit: a bearer token (XOAUTH2, OAUTHBEARER) by the token issuer, or an
// EXTERNAL authorization by the transport (pysasl's
// ExternalVerificationRequired). Match it with errors.As.
//
// The token is deliberately not part of Error's text.
type ExternalError struct {
	// Token is the bearer token to verify, or empty for EXTERNAL.
	Token string
}

func (e *ExternalError) Error() string {
	if e.Token != "" {
		return "saslkit/creds: token requires external verification"
	}
	return "saslkit/creds: external verification required"
}

// Client holds the credentials a client authenticates with.
//
// Which fields a mechanism uses is stated by the mechanism: PLAIN, LOGIN,
// CRAM-MD5 and SCRAM use Password; XOAUTH2 and OAUTHBEARER use Token;
// EXTERNAL uses only Authzid. Keeping the password and the token apart lets
// a client pick a mechanism it can actually run.
type Client struct {
	// Authcid is the authentication identity: the user name.
	Authcid string
	// Password is the user's password, if the client has one.
	Password string
	// Token is a bearer token (RFC 6750), if the client has one.
	Token string
	// Authzid is the authorization identity the client asks to act as. Empty
	// means no authorization identity is requested: act as Authcid.
	Authzid string
	// Trace is the trace token ANONYMOUS sends (RFC 4505): an email address
	// or up to 255 characters. Empty sends none.
	Trace string
}

// Verifier checks a mechanism's final credentials against an identity.
// Mechanisms create one for each [Server] they produce. Verify is called only
// with a non-nil identity whose name matches the credentials; it returns nil,
// or an error wrapping [ErrBadCredentials] or [ErrUnusable], or an
// [*ExternalError].
type Verifier interface {
	Verify(id Identity) error
}

// VerifierFunc adapts a function to a [Verifier].
type VerifierFunc func(id Identity) error

// Verify calls f(id).
func (f VerifierFunc) Verify(id Identity) error { return f(id) }

// Server holds the credentials a server mechanism produced at the end of a
// successful exchange. A Server is immutable and safe for concurrent use.
type Server struct {
	mech    string
	authcid string
	authzid string
	kind    kind
	secret  string // password or token, by kind
	v       Verifier
}

type kind uint8

const (
	kindVerifier kind = iota
	kindPassword
	kindToken
	kindExternal
	kindAnonymous
	kindVerified
)

// NewServer returns the credentials produced by mechanism mech for authcid,
// which asked to act as authzid (empty: no authorization identity). v checks
// them against an identity; if v is nil, [Server.Verify] always fails.
func NewServer(mech, authcid, authzid string, v Verifier) *Server {
	return &Server{mech: mech, authcid: authcid, authzid: authzid, v: v}
}

// NewPasswordServer returns credentials that verify by comparing password
// with the identity's secret ([Identity.Compare]), as PLAIN and LOGIN do.
func NewPasswordServer(mech, authcid, authzid, password string) *Server {
	return &Server{mech: mech, authcid: authcid, authzid: authzid, kind: kindPassword, secret: password}
}

// NewTokenServer returns credentials carrying a bearer token. Verify returns
// an [*ExternalError] holding the token: the token's issuer must check it.
func NewTokenServer(mech, authcid, authzid, token string) *Server {
	return &Server{mech: mech, authcid: authcid, authzid: authzid, kind: kindToken, secret: token}
}

// NewAnonymousServer returns anonymous credentials (ANONYMOUS, RFC 4505)
// with the client's trace token, possibly empty. They name no user: Authcid
// is empty, [Server.Anonymous] reports true, and Verify returns
// [ErrUnusable], since there is nothing to verify.
func NewAnonymousServer(mech, trace string) *Server {
	return &Server{mech: mech, kind: kindAnonymous, secret: trace}
}

// Anonymous reports whether the credentials are anonymous: they name no
// user, and the application decides what an anonymous client may do.
func (s *Server) Anonymous() bool { return s.kind == kindAnonymous }

// Trace returns the trace token of anonymous credentials, or "".
func (s *Server) Trace() string {
	if s.kind != kindAnonymous {
		return ""
	}
	return s.secret
}

// NewVerifiedServer returns credentials that the mechanism already verified
// during the exchange, against a credential store (SCRAM) or a token
// validator. Verify returns nil whatever the identity; [Server.Verified]
// reports true.
func NewVerifiedServer(mech, authcid, authzid string) *Server {
	return &Server{mech: mech, authcid: authcid, authzid: authzid, kind: kindVerified}
}

// Password returns the clear password the client sent, and true, for
// credentials from [NewPasswordServer] (PLAIN, LOGIN); otherwise "" and
// false. It exists for upgrading stored credentials after a verified login
// (see package scram's Upgrade); never log it.
func (s *Server) Password() (string, bool) {
	if s.kind != kindPassword {
		return "", false
	}
	return s.secret, true
}

// Verified reports whether the mechanism already verified the credentials
// during the exchange, so that no identity is needed.
func (s *Server) Verified() bool { return s.kind == kindVerified }

// NewExternalServer returns credentials for an identity established outside
// SASL, such as a TLS client certificate (EXTERNAL). authcid is the identity
// the transport vouches for, or empty when it vouches for none. Verify
// returns an [*ExternalError] with no token.
func NewExternalServer(mech, authcid, authzid string) *Server {
	return &Server{mech: mech, authcid: authcid, authzid: authzid, kind: kindExternal}
}

// Mechanism returns the name of the mechanism that produced the credentials.
func (s *Server) Mechanism() string { return s.mech }

// Authcid returns the authentication identity as the client sent it.
func (s *Server) Authcid() string { return s.authcid }

// Authzid returns the authorization identity the client asked for, or the
// empty string when it asked for none. Use [Server.Effective] for the
// identity the session acts as.
func (s *Server) Authzid() string { return s.authzid }

// HasAuthzid reports whether the client asked for an authorization identity.
func (s *Server) HasAuthzid() bool { return s.authzid != "" }

// Effective returns the identity the session acts as once authorized: the
// authzid, or the authcid when the client asked for no authzid.
func (s *Server) Effective() string {
	if s.authzid != "" {
		return s.authzid
	}
	return s.authcid
}

// String describes the credentials without any secret.
func (s *Server) String() string {
	if s.kind == kindAnonymous {
		return s.mech + " anonymous"
	}
	return fmt.Sprintf("%s authcid=%q authzid=%q", s.mech, s.authcid, s.authzid)
}

// Verify checks the credentials against id.
//
// Credentials from [NewTokenServer] and [NewExternalServer] always return an
// [*ExternalError], and those from [NewVerifiedServer] always return nil,
// whatever id is.
//
// A nil id stands for an unknown user: Verify does the same work it would
// for a wrong password and returns [ErrBadCredentials], so the two cannot be
// told apart. An id whose name does not match [Server.Authcid] after
// SASLprep also gives ErrBadCredentials. Otherwise Verify returns what the
// mechanism's [Verifier] returns: nil, an error wrapping ErrBadCredentials or
// [ErrUnusable], or an [*ExternalError].
//
// Verify checks authentication only. Whether the authcid may act as the
// authzid is a separate decision.
func (s *Server) Verify(id Identity) error {
	if s == nil {
		return ErrBadCredentials
	}
	switch s.kind {
	case kindToken, kindExternal, kindVerified, kindAnonymous:
		// The identity plays no part: the token issuer or the transport
		// decides.
		return s.check(nil)
	}
	if _, ok := id.(decoyIdentity); ok {
		// id, not the asserted value: boxing that again would allocate,
		// and the decoy path must cost what the real one costs.
		_ = s.check(id)
		return ErrBadCredentials
	}
	if id == nil {
		// Run the mechanism's check against a decoy so that an unknown user
		// costs what a wrong password costs.
		_ = s.check(decoy)
		return ErrBadCredentials
	}
	if !NamesEqual(s.authcid, id.Authcid()) {
		_ = s.check(decoy)
		return ErrBadCredentials
	}
	return s.check(id)
}

// check runs the mechanism's own check against id.
func (s *Server) check(id Identity) error {
	switch s.kind {
	case kindPassword:
		return id.Compare(s.secret)
	case kindToken:
		return &ExternalError{Token: s.secret}
	case kindExternal:
		return &ExternalError{}
	case kindAnonymous:
		return ErrUnusable
	case kindVerified:
		return nil
	}
	if s.v == nil {
		return ErrBadCredentials
	}
	return s.v.Verify(id)
}

// equalConstantTime reports whether a and b are equal, in time that depends
// on neither their contents nor which is longer: both are hashed first, so
// that comparing does not reveal the stored secret's length either.
func equalConstantTime(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
