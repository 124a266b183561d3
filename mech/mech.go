// Package mech implements SASL (RFC 4422) mechanisms as stateless attempt
// functions, in the model of Python's pysasl.
//
// A server mechanism ([Server]) is given the whole exchange so far, every
// challenge it sent and every response it received, and returns either the
// next challenge or the final credentials. A client mechanism ([Client]) is
// given the challenges it received and the responses it sent, and returns
// its next response. Neither keeps state between calls: the exchange lives in
// a session (package [github.com/saslkit/saslkit/session]), so one mechanism
// value serves any number of concurrent exchanges.
//
// The mechanisms here are PLAIN (RFC 4616), LOGIN
// (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195), XOAUTH2 (Google's
// XOAUTH2 protocol), OAUTHBEARER (RFC 7628), ANONYMOUS (RFC 4505) and
// EXTERNAL (RFC 4422 appendix A). The SCRAM family is in package
// [github.com/saslkit/saslkit/mech/scram].
//
// # Where a secret is checked
//
// A server mechanism parses the exchange and checks what the client sent
// through the server's one [creds.Verifier], given to it in
// [ServerInput.Verifier]: PLAIN and LOGIN with
// [creds.Verifier.CheckPassword], CRAM-MD5 with [creds.Verifier.CheckClear],
// SCRAM with [creds.Verifier.LookupSCRAM]. XOAUTH2 and OAUTHBEARER hand the
// token to the server's [TokenValidator] ([ServerInput.Tokens]), and
// EXTERNAL takes the identity the transport vouched for
// ([Channel.External]). A server mechanism returns a [creds.Principal]
// only for an account verified in one of these ways, or, for ANONYMOUS, an
// anonymous one ([creds.Principal.Anonymous]); everything else is an error. What a mechanism needs from the server's configuration it checks
// in [ConfigChecker.CheckConfig], so that a missing store or validator is
// an error when a server is built, not a failed login.
//
// Mechanisms see raw bytes. Base64 and the framing rules of a protocol
// ("=" for an empty response, "*" to cancel) belong to protocol code.
package mech

import (
	"context"
	"errors"
	"strings"

	"github.com/saslkit/saslkit/creds"
)

// Properties describe what a mechanism does, so that a registry can decide
// whether to offer it on a connection and whether a client can run it.
type Properties struct {
	// ClearSecret reports that the mechanism sends a reusable secret in the
	// clear: a password (PLAIN, LOGIN) or a bearer token (OAUTHBEARER,
	// XOAUTH2; RFC 6750 requires tokens to be protected in transport).
	// Such mechanisms are offered and chosen only over TLS unless the
	// registry is told otherwise.
	ClearSecret bool
	// Anonymous reports that the mechanism authenticates nobody (ANONYMOUS).
	Anonymous bool
	// Mutual reports that the server proves itself to the client (SCRAM).
	Mutual bool
	// ChannelBinding reports that the mechanism binds the exchange to the
	// secure channel under it (the SCRAM -PLUS variants).
	ChannelBinding bool
	// ServerFirst reports that the server sends the first challenge, so the
	// client has no initial response (CRAM-MD5). Otherwise the mechanism is
	// client-first.
	ServerFirst bool
	// External reports that the mechanism relies on an identity established
	// outside SASL, such as a TLS client certificate (EXTERNAL).
	External bool
	// Uses says which client credential the mechanism needs.
	Uses Credential
}

// Credential names the kind of secret a client mechanism needs.
type Credential uint8

const (
	// UsesNothing means the mechanism needs no secret (EXTERNAL, ANONYMOUS).
	UsesNothing Credential = iota
	// UsesPassword means the mechanism needs [creds.Client.Password].
	UsesPassword
	// UsesToken means the mechanism needs [creds.Client.Token].
	UsesToken
)

// Pair is one round of an exchange: a challenge and the response to it.
type Pair struct {
	// Challenge is what the server sent. It is nil when Initial is set.
	Challenge []byte
	// Response is what the client answered.
	Response []byte
	// Initial reports that Response is the client's initial response, sent
	// before any challenge.
	Initial bool
	// State is whatever the server mechanism returned along with Challenge
	// in [ServerResult.State]; the session hands it back unchanged. It lets
	// a mechanism keep what it derived for a challenge (a credential-store
	// lookup, say) without keeping state of its own. In a client's
	// transcript it is what the client returned in [ClientResult.State]
	// (SCRAM's client keeps its nonce, its channel binding and the server
	// signature it expects there).
	State any
}

// Binding is channel-binding data (RFC 5056) for one binding type.
type Binding struct {
	// Type is the channel-binding type, such as "tls-exporter" (RFC 9266),
	// "tls-server-end-point" or "tls-unique" (RFC 5929).
	Type string
	// Data is the channel-binding data for Type.
	Data []byte
}

// Channel describes the connection under an exchange. The zero value is a
// plain connection with no TLS, no channel binding and no external identity.
type Channel struct {
	// Secure reports that the connection is confidential (TLS, or a local
	// socket the application trusts).
	Secure bool
	// Bindings lists the channel bindings the connection can provide, in
	// order of preference. Nil means none.
	Bindings []Binding
	// External is the identity the transport vouches for: on a server, the
	// subject of the client's verified TLS certificate (see
	// [VerifiedClientCN]); on a client, the identity its own certificate
	// presents. Empty means none.
	External string
	// Host and Port are, on a client, the server name and port it connected
	// to, which OAUTHBEARER sends (RFC 7628 section 3.1). Empty means not
	// sent.
	Host, Port string
	// User is, on a server, the user name the protocol carried outside
	// SASL, such as PostgreSQL's startup message. Only mechanisms told to
	// use it read it (scram.Mechanism's PostgreSQL variant); empty means
	// none.
	User string
}

// Binding returns the channel-binding data of type typ, or false if the
// channel does not provide it.
func (c *Channel) Binding(typ string) ([]byte, bool) {
	for _, b := range c.Bindings {
		if b.Type == typ {
			return b.Data, true
		}
	}
	return nil, false
}

// ServerInput is what a server mechanism is given on each attempt. The
// session owns it; a mechanism must not keep it, or any slice in it, after
// returning.
type ServerInput struct {
	// Pairs holds every round so far. The newest response is the last
	// pair's Response. Pairs is empty when the exchange starts without an
	// initial response: the mechanism then returns its first challenge.
	Pairs []Pair
	// Channel is the connection under the exchange.
	Channel *Channel
	// Verifier is the server's one path to its accounts: mechanisms that
	// check a secret check it here. Nil when the server has no account
	// store; a mechanism that needs one says so in CheckConfig.
	Verifier *creds.Verifier
	// Tokens checks bearer tokens (XOAUTH2, OAUTHBEARER). Nil when the
	// server has no token validator.
	Tokens TokenValidator
}

// ServerResult is what a server attempt returns: either a challenge or, with
// Principal set, the end of the exchange.
type ServerResult struct {
	// Challenge is the next challenge to send. It is used only when
	// Principal is nil; an empty challenge is valid.
	Challenge []byte
	// State is kept with Challenge in the transcript and returned in
	// [Pair.State] on later attempts.
	State any
	// Principal, when not nil, ends the exchange successfully: the
	// account the mechanism verified, by its canonical name, and the
	// authzid the client asked for, as the client sent it (the session
	// prepares it and applies the authorization policy).
	Principal *creds.Principal
	// Final is additional data to send with success (SCRAM's "v="). It is
	// meaningful only when HasFinal is set; HasFinal with an empty Final is
	// empty additional data, which differs from none.
	Final []byte
	// HasFinal reports that Final is to be sent, possibly empty.
	HasFinal bool
}

// Server is a server mechanism. Implementations must be safe for
// concurrent use and must keep no state between attempts.
type Server interface {
	// Name returns the mechanism's registered name, in upper case.
	Name() string
	// Properties describes the mechanism.
	Properties() Properties
	// ServerAttempt returns the next challenge or the verified principal
	// for the exchange in in. It returns an error wrapping
	// [ErrInvalidResponse] for a malformed response,
	// [creds.ErrBadCredentials] for a wrong secret or an unknown user,
	// [ErrAuthFailed] when the exchange fails authentication in another
	// way (a refused token, channel bindings that differ), and a
	// [*FailureError] when the failure carries data for the client. Any
	// other error is a failure of something the mechanism depends on (the
	// store, the validator, the random source). ctx is for those and is
	// not kept.
	ServerAttempt(ctx context.Context, in *ServerInput) (ServerResult, error)
}

// ConfigChecker is implemented by server mechanisms that need part of the
// server's configuration: an account store, a token validator, keys of
// some kind in the store. Registries and sessions call CheckConfig when a
// server is built, with in's Verifier and Tokens set as every attempt will
// see them and no Pairs; an error there refuses the server, so that a
// missing part never shows as a failed login.
type ConfigChecker interface {
	// CheckConfig returns nil if the mechanism can run with in, and
	// otherwise an error wrapping [creds.ErrMisconfigured] that names the
	// mechanism and what it lacks.
	CheckConfig(in *ServerInput) error
}

// FailureReader is implemented by client mechanisms whose servers may send
// data with a failure, such as SCRAM's "e=" server-final message.
// ClientFailure returns the failure the data reports, wrapping
// [ErrAuthFailed], or an error wrapping [ErrInvalidChallenge] when the data
// is malformed.
type FailureReader interface {
	ClientFailure(ctx context.Context, in *ClientInput, data []byte) error
}

// ClientInput is what a client mechanism is given on each attempt. The
// session owns it; a mechanism must not keep it after returning.
type ClientInput struct {
	// Creds are the client's credentials.
	Creds *creds.Client
	// Pairs holds the earlier rounds: each challenge received and the
	// response sent to it, starting with the initial response if one was
	// sent.
	Pairs []Pair
	// Initial is set when the client is asked for an initial response,
	// before any challenge. Challenge is then nil.
	Initial bool
	// Challenge is the newest challenge, to respond to.
	Challenge []byte
	// Channel is the connection under the exchange.
	Channel *Channel
}

// ClientResult is what a client attempt returns.
type ClientResult struct {
	// Response is the response to send. An empty response is valid.
	Response []byte
	// Failure, when not nil, is a failure the server reported in its
	// challenge, such as an OAUTHBEARER or XOAUTH2 JSON error. The client
	// still sends Response, which lets the server end the exchange; the
	// session keeps Failure for the caller.
	Failure error
	// Last reports that Response is the mechanism's last message: whatever
	// the server sends next ends the exchange. That is the outcome (success,
	// possibly with additional data such as SCRAM's server-final message, or
	// failure), or, in protocols that cannot carry data with success, the
	// additional data sent as one more challenge, whose answer (empty) is
	// Last again. Frameworks that ask the client whether the exchange is
	// over (franz-go, kafka-go, mellium) read it through
	// session.Client.Last; it never changes what the session does.
	Last bool
	// State is kept with Response in the transcript and returned in
	// [Pair.State] on later attempts, as for servers: a client can keep
	// what it derived (SCRAM's nonce, channel binding and expected server
	// signature) without state of its own.
	State any
}

// Client is a client mechanism. Implementations must be safe for concurrent
// use and must keep no state between attempts.
type Client interface {
	// Name returns the mechanism's registered name, in upper case.
	Name() string
	// Properties describes the mechanism.
	Properties() Properties
	// ClientAttempt returns the response to in.Challenge, or the initial
	// response when in.Initial is set. A server-first mechanism asked for an
	// initial response returns [ErrNoInitialResponse]. A challenge the
	// mechanism does not expect gives an error wrapping
	// [ErrUnexpectedChallenge], and a malformed one an error wrapping
	// [ErrInvalidChallenge].
	ClientAttempt(ctx context.Context, in *ClientInput) (ClientResult, error)
	// ClientFinal is called when the server reports success, with the
	// additional data that came with it (hasFinal false: none). It returns
	// nil if the client accepts the outcome; a mechanism with mutual
	// authentication returns an error wrapping [ErrAuthFailed] if the server
	// has not proven itself. in.Challenge is nil.
	ClientFinal(ctx context.Context, in *ClientInput, final []byte, hasFinal bool) error
}

// Errors returned by mechanisms, wrapped with the mechanism's name and a
// reason. Match them with errors.Is. The reasons never contain peer input or
// secrets.
var (
	// ErrInvalidResponse means a client response is malformed.
	ErrInvalidResponse = errors.New("saslkit/mech: invalid response")
	// ErrInvalidChallenge means a server challenge is malformed.
	ErrInvalidChallenge = errors.New("saslkit/mech: invalid challenge")
	// ErrUnexpectedChallenge means the server sent a challenge after the
	// client mechanism had nothing more to say.
	ErrUnexpectedChallenge = errors.New("saslkit/mech: unexpected challenge")
	// ErrNoInitialResponse means a server-first mechanism was asked for an
	// initial response, or a server that refuses initial responses
	// (CRAM-MD5) was given one.
	ErrNoInitialResponse = errors.New("saslkit/mech: mechanism has no initial response")
	// ErrAuthFailed means the exchange failed authentication: a bad proof, a
	// rejected token, a server that did not prove itself.
	ErrAuthFailed = errors.New("saslkit/mech: authentication failed")
	// ErrInvalidCredentials means the client's credentials cannot be sent
	// by the mechanism: an empty user name, a NUL inside a field, a field
	// too long, a password that fails SASLprep.
	ErrInvalidCredentials = errors.New("saslkit/mech: invalid client credentials")
)

// Error is the error mechanisms return: the mechanism, a fixed reason and
// the error it stands for. Match it with errors.As, and Err with errors.Is.
type Error struct {
	// Mechanism is the mechanism's name.
	Mechanism string
	// Reason says what was wrong, without quoting the input.
	Reason string
	// Err is one of the package's sentinel errors, [creds.ErrBadCredentials]
	// or [creds.ErrMisconfigured]; or, when something the mechanism
	// depends on failed (the account store, the token validator, the
	// random source), that error.
	Err error
}

// Error returns "saslkit/mech: <mechanism>: <error>: <reason>".
func (e *Error) Error() string {
	msg := e.Err.Error()
	if strings.HasPrefix(msg, "saslkit/") {
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
	}
	s := "saslkit/mech: " + e.Mechanism + ": " + msg
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	return s
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// FailureError is a failure whose data must reach the peer, such as SCRAM's
// "e=" server-final message. (The token mechanisms send their JSON error as
// a challenge themselves and then fail with a [*TokenError].) Protocols that
// cannot carry data with a failure send Data as a last challenge first.
type FailureError struct {
	// Data is what to send to the peer.
	Data []byte
	// Err is the failure itself, as a mechanism would return it without
	// data: an error wrapping [ErrInvalidResponse],
	// [creds.ErrBadCredentials] or [ErrAuthFailed].
	Err error
}

// Error returns the text of e.Err.
func (e *FailureError) Error() string { return e.Err.Error() }

// Unwrap returns e.Err.
func (e *FailureError) Unwrap() error { return e.Err }

func invalid(mech, reason string) error {
	return &Error{Mechanism: mech, Reason: reason, Err: ErrInvalidResponse}
}

func invalidChallenge(mech, reason string) error {
	return &Error{Mechanism: mech, Reason: reason, Err: ErrInvalidChallenge}
}

func unexpected(mech string) error {
	return &Error{Mechanism: mech, Err: ErrUnexpectedChallenge}
}

// badCredentials is the error of a wrong secret or an unknown user, or the
// store's error when the lookup failed.
func badCredentials(mech string, err error) error {
	if errors.Is(err, creds.ErrBadCredentials) {
		return &Error{Mechanism: mech, Err: creds.ErrBadCredentials}
	}
	return &Error{Mechanism: mech, Reason: "account store failed", Err: err}
}

// needStore is the CheckConfig of mechanisms that check a password.
func needStore(mech string, in *ServerInput) error {
	if in.Verifier == nil || in.Verifier.Store == nil {
		return &Error{Mechanism: mech, Reason: "needs an account store (session.Config.Verifier)", Err: creds.ErrMisconfigured}
	}
	if _, err := in.Verifier.Profile(); err != nil {
		return &Error{Mechanism: mech, Err: err}
	}
	return nil
}
