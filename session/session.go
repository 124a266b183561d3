// Package session runs one SASL (RFC 4422) exchange: a [Server] or a
// [Client] wraps a mechanism from package
// [github.com/saslkit/saslkit/mech], keeps the transcript of the exchange,
// and is driven one message at a time.
//
// # Server
//
// Start an exchange with [Server.Start] when the client sent no initial
// response, or [Server.StartInitial] when it did; an empty initial response
// is still an initial response. Then call [Server.Next] with each response
// until the returned [Step] is Done:
//
//	step, err := sess.Start(ctx) // or sess.StartInitial(ctx, ir)
//	for err == nil && !step.Done {
//		resp := sendAndRead(step.Challenge)
//		step, err = sess.Next(ctx, resp)
//	}
//
// A done step means the client authenticated and is authorized: its
// [creds.Principal] names the account, by its canonical name, that the
// server's [creds.Verifier], token validator or transport verified, and
// the authorization identity the [Config.Authorizer] allowed. There is no
// other way for a step to be done. It may carry additional data to send
// with success.
//
// A failure is an error, matched with errors.Is against the sentinels of
// this package and of packages creds and mech; a wrong password and an
// unknown user are both [creds.ErrBadCredentials]. A failure whose data must
// reach the client (SCRAM's "e=") is an [*mech.FailureError], or, with
// [Config.FinalAsChallenge], a step whose Challenge carries the data and
// whose Failure holds the error that the next call returns. The token
// mechanisms send their JSON error as an ordinary challenge and fail with a
// [*mech.TokenError] after the client's reply.
//
// A server session needs what its mechanism checks against: [NewServer]
// refuses, with an error wrapping [creds.ErrMisconfigured], a mechanism
// whose account store or token validator is missing.
//
// # Client
//
// A [Client] answers challenges with [Client.Next]; [Client.Start] gives the
// initial response for protocols that can send one. When the server reports
// success, [Client.Success] or [Client.SuccessData] lets the mechanism check
// the server's proof (SCRAM's "v=").
//
// # Limits
//
// Every session bounds the number of steps and the size of each message
// ([Config]); input past a limit is refused before any mechanism sees it.
//
// # Concurrency
//
// A session is single-use and not safe for concurrent use. Once it has
// completed or failed, every further call returns an error wrapping
// [ErrFinished]; none panics.
//
// # Protocol framing
//
// Mechanisms deal in raw bytes. [Decode] and [Encode] handle base64;
// protocol rules such as IMAP's and SMTP's "=" for an empty initial
// response and "*" to cancel stay in protocol code.
package session

import (
	"errors"
	"fmt"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// Default limits, used when a [Config] field is zero.
const (
	// DefaultMaxSteps is the default number of mechanism steps a session
	// runs. With an initial response PLAIN needs one, SCRAM two, LOGIN two
	// and a refused XOAUTH2 or OAUTHBEARER token two; without one, each
	// needs one more.
	DefaultMaxSteps = 8
	// DefaultMaxMessage is the default size limit, in octets, of one
	// decoded message: room for an 8 KiB bearer token and its framing.
	DefaultMaxMessage = 16 << 10
)

// Config holds a session's settings. A nil *Config means the zero Config.
// A Config may be shared by any number of sessions and must not be modified
// after it is first used.
type Config struct {
	// MaxSteps is the most times the session calls its mechanism. Zero
	// means DefaultMaxSteps; values above 2^20 mean 2^20.
	MaxSteps int
	// MaxMessage is the size limit, in octets, of each message a session
	// accepts from its peer. Zero means DefaultMaxMessage.
	MaxMessage int
	// FinalAsChallenge makes a server session send additional data as a
	// last challenge instead of with the outcome, and expect an empty reply
	// before it reports the outcome. Protocols whose success reply cannot
	// carry data (IMAP, SMTP, POP3) need it for SCRAM's "v=". It applies to
	// failure data ([mech.FailureError]) too: the data goes as a challenge,
	// and after the reply the session returns the failure's inner error.
	FinalAsChallenge bool
	// Verifier is the server's one path to its accounts: every mechanism
	// that checks a password or a key checks it there (PLAIN, LOGIN,
	// CRAM-MD5, SCRAM). If nil, those mechanisms cannot run, and
	// [NewServer] refuses them.
	Verifier *creds.Verifier
	// Tokens checks the bearer tokens of XOAUTH2 and OAUTHBEARER. If nil,
	// those mechanisms cannot run, and NewServer refuses them.
	Tokens mech.TokenValidator
	// Authorizer decides whether the client may act as the authzid it asked
	// for, once it has authenticated; it never sees an authzid that names
	// the client's own account. A refusal is an error wrapping
	// [creds.ErrUnauthorized]. If nil, [creds.SelfOnly] is used: a client
	// may act only as itself.
	Authorizer creds.Authorizer
}

func (c *Config) maxSteps() int {
	if c == nil || c.MaxSteps <= 0 {
		return DefaultMaxSteps
	}
	return min(c.MaxSteps, maxMaxSteps)
}

// maxMaxSteps caps Config.MaxSteps: no mechanism needs more, and the step
// counter stays far from overflowing.
const maxMaxSteps = 1 << 20

func (c *Config) maxMessage() int {
	if c == nil || c.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return c.MaxMessage
}

func (c *Config) finalAsChallenge() bool { return c != nil && c.FinalAsChallenge }

func (c *Config) verifier() *creds.Verifier {
	if c == nil {
		return nil
	}
	return c.Verifier
}

func (c *Config) tokens() mech.TokenValidator {
	if c == nil {
		return nil
	}
	return c.Tokens
}

func (c *Config) authorizer() creds.Authorizer {
	if c == nil {
		return nil
	}
	return c.Authorizer
}

// Errors returned by sessions. Match them with errors.Is.
var (
	// ErrFinished means the session has already completed or failed.
	ErrFinished = errors.New("saslkit/session: exchange is over")
	// ErrNotStarted means a server's Next was called before Start, or a
	// client's Success, SuccessData or FailureData before Start or Next.
	ErrNotStarted = errors.New("saslkit/session: exchange not started")
	// ErrStarted means Start was called twice.
	ErrStarted = errors.New("saslkit/session: exchange already started")
	// ErrTooManySteps means the peer kept the exchange going past
	// [Config.MaxSteps].
	ErrTooManySteps = errors.New("saslkit/session: too many steps")
	// ErrTooLarge means a message exceeded [Config.MaxMessage].
	ErrTooLarge = errors.New("saslkit/session: message too large")
	// ErrUnexpectedReply means the reply to a final-data challenge was not
	// empty (see [Config.FinalAsChallenge]).
	ErrUnexpectedReply = errors.New("saslkit/session: non-empty reply to final data")
)

// LimitError reports a limit the peer exceeded. It wraps [ErrTooManySteps]
// or [ErrTooLarge].
type LimitError struct {
	// Err is ErrTooManySteps or ErrTooLarge.
	Err error
	// Limit is the limit in force.
	Limit int
}

// Error returns the limit's error and the limit.
func (e *LimitError) Error() string { return fmt.Sprintf("%v (limit %d)", e.Err, e.Limit) }

// Unwrap returns e.Err.
func (e *LimitError) Unwrap() error { return e.Err }

type state uint8

const (
	stateNew     state = iota
	stateWaiting       // a challenge is out; waiting for the response
	stateFinal         // final data is out as a challenge; waiting for the empty reply
	stateFailing       // failure data is out as a challenge; waiting for any reply
	stateDone          // completed or failed
)

// inline is how many transcript pairs a session stores without allocating:
// enough for every built-in mechanism (SCRAM, LOGIN and the token error
// flows keep two).
const inline = 2
