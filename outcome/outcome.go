// Package outcome sorts the errors of an authentication exchange into the
// outcomes protocol code answers, and gives each outcome's reply in IMAP
// (RFC 9051 with RFC 5530's response codes), SMTP (RFC 4954 with RFC 3463's
// enhanced codes), XMPP (RFC 6120 section 6.5) and LDAP (RFC 4511 result
// codes, RFC 4513).
//
// A server calls [Of] with whatever error the registry, the session or its
// own checks returned, logs the error, and sends the outcome's fixed reply:
// never the error's text, which names internals. docs/errors.md holds the
// same mapping as a table, which this package's tests check against [Of]
// and the reply methods.
//
// Two rules shape the outcomes. An unknown user is not told apart from a
// wrong password: both are [BadCredentials]. A refused authorization
// identity is: [Unauthorized] comes only after the credentials verified,
// so telling it apart leaks nothing.
package outcome

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// Kind is how an authentication attempt ended.
type Kind int

// The outcomes of an authentication attempt.
const (
	// OK: the client is authenticated and authorized.
	OK Kind = iota
	// BadCredentials: a wrong password, an unknown user, a bad SCRAM proof,
	// a refused bearer token, channel bindings that differ, or no identity
	// from the transport for EXTERNAL. The cases are deliberately not told
	// apart.
	BadCredentials
	// Unauthorized: the credentials verified, but the client may not act
	// as the authorization identity it asked for.
	Unauthorized
	// TooWeak: the application's policy wants a stronger mechanism for
	// this account. saslkit never returns it; an application's own check
	// after the exchange returns [ErrTooWeak].
	TooWeak
	// Malformed: a response the mechanism cannot parse, an initial
	// response for a mechanism that takes none, or a non-empty reply to
	// final data.
	Malformed
	// BadEncoding: a response that is not valid base64.
	BadEncoding
	// Cancelled: the client cancelled the exchange ([ErrCancelled]).
	Cancelled
	// LimitExceeded: a message longer than the session's limit, or too
	// many steps.
	LimitExceeded
	// UnknownMechanism: the mechanism is not registered.
	UnknownMechanism
	// EncryptionRequired: the mechanism sends a secret in the clear, and
	// the connection has no TLS.
	EncryptionRequired
	// NotOffered: the mechanism cannot run on this connection (-PLUS
	// without channel binding, EXTERNAL without a client certificate).
	NotOffered
	// Misconfigured: the server's configuration cannot serve the
	// mechanism ([creds.ErrMisconfigured]). The server's fault, never the
	// client's: log it. The client sees a temporary failure.
	Misconfigured
	// Temporary: any other error, such as an unreachable store or token
	// issuer. The client may try again later.
	Temporary
)

// Errors for outcomes that protocol code, not saslkit, detects.
var (
	// ErrCancelled is the client's cancellation: IMAP's and SMTP's "*",
	// XMPP's <abort/>. Protocol code sees it before any session does, and
	// returns it (or wraps it) so that one [Of] sorts every outcome.
	ErrCancelled = errors.New("saslkit/outcome: exchange cancelled by the client")
	// ErrTooWeak is an application's refusal of a verified login whose
	// mechanism is too weak for the account, such as PLAIN for an account
	// that must use SCRAM-SHA-256-PLUS.
	ErrTooWeak = errors.New("saslkit/outcome: mechanism too weak for this account")
)

var names = [...]string{
	OK:                 "ok",
	BadCredentials:     "bad credentials",
	Unauthorized:       "unauthorized",
	TooWeak:            "mechanism too weak",
	Malformed:          "malformed",
	BadEncoding:        "bad encoding",
	Cancelled:          "cancelled",
	LimitExceeded:      "limit exceeded",
	UnknownMechanism:   "unknown mechanism",
	EncryptionRequired: "encryption required",
	NotOffered:         "not offered",
	Misconfigured:      "misconfigured",
	Temporary:          "temporary failure",
}

// String returns a short description of k, for logs: "bad credentials".
func (k Kind) String() string {
	if k < 0 || int(k) >= len(names) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return names[k]
}

// Of returns the outcome that err, from a registry, a session, a
// [creds.Verifier] or protocol code, stands for. A nil err is OK; an error
// Of does not know is Temporary, so that a new failure is never taken for
// the client's fault.
func Of(err error) Kind {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, creds.ErrMisconfigured):
		// First: a configuration error may wrap anything.
		return Misconfigured
	case errors.Is(err, ErrCancelled):
		return Cancelled
	case errors.Is(err, creds.ErrUnauthorized):
		return Unauthorized
	case errors.Is(err, ErrTooWeak):
		return TooWeak
	case errors.Is(err, registry.ErrEncryptionRequired):
		return EncryptionRequired
	case errors.Is(err, registry.ErrUnknown):
		return UnknownMechanism
	case errors.Is(err, registry.ErrNotOffered):
		return NotOffered
	case errors.Is(err, session.ErrTooLarge), errors.Is(err, session.ErrTooManySteps):
		return LimitExceeded
	case errors.Is(err, session.ErrBase64):
		return BadEncoding
	case errors.Is(err, creds.ErrBadCredentials), errors.Is(err, mech.ErrAuthFailed):
		return BadCredentials
	case errors.Is(err, mech.ErrInvalidResponse), errors.Is(err, mech.ErrNoInitialResponse),
		errors.Is(err, session.ErrUnexpectedReply):
		return Malformed
	}
	return Temporary
}

// IMAPReply is the tagged reply to AUTHENTICATE or LOGIN.
type IMAPReply struct {
	// Status is "OK", "NO" or "BAD".
	Status string
	// Code is the RFC 5530 response code, without brackets; empty for none.
	Code string
	// Text is human-readable text for the reply.
	Text string
}

// String returns the reply after the tag: "NO [AUTHENTICATIONFAILED]
// Authentication failed".
func (r IMAPReply) String() string {
	if r.Code == "" {
		return r.Status + " " + r.Text
	}
	return r.Status + " [" + r.Code + "] " + r.Text
}

// SMTPReply is the reply to AUTH (RFC 4954).
type SMTPReply struct {
	// Code is the reply code, such as 535.
	Code int
	// Enhanced is the RFC 3463 enhanced status code, such as {5, 7, 8}.
	Enhanced [3]int
	// Text is human-readable text for the reply.
	Text string
}

// String returns the reply line: "535 5.7.8 Authentication credentials
// invalid".
func (r SMTPReply) String() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Text)
}

// reply is one row of the table: an outcome's reply in each protocol.
type reply struct {
	imap IMAPReply
	smtp SMTPReply
	xmpp string
	ldap int // -1: no reply (the client abandons the bind)
}

var (
	imapFailed      = IMAPReply{"NO", "AUTHENTICATIONFAILED", "Authentication failed"}
	imapUnavailable = IMAPReply{"NO", "UNAVAILABLE", "Temporary authentication failure, try again later"}
	imapCannot      = IMAPReply{"NO", "CANNOT", "Mechanism not supported on this connection"}
	smtpFailed      = SMTPReply{535, [3]int{5, 7, 8}, "Authentication credentials invalid"}
	smtpTemporary   = SMTPReply{454, [3]int{4, 7, 0}, "Temporary authentication failure"}
	smtpUnknown     = SMTPReply{504, [3]int{5, 5, 4}, "Unrecognized authentication type"}
)

// LDAP result codes (RFC 4511 appendix A).
const (
	ldapSuccess                 = 0
	ldapProtocolError           = 2
	ldapAuthMethodNotSupported  = 7
	ldapStrongerAuthRequired    = 8
	ldapAdminLimitExceeded      = 11
	ldapConfidentialityRequired = 13
	ldapInvalidCredentials      = 49
	ldapInsufficientAccess      = 50
	ldapUnavailable             = 52
)

var replies = [...]reply{
	OK:                 {IMAPReply{"OK", "", "Authentication completed"}, SMTPReply{235, [3]int{2, 7, 0}, "Authentication successful"}, "success", ldapSuccess},
	BadCredentials:     {imapFailed, smtpFailed, "not-authorized", ldapInvalidCredentials},
	Unauthorized:       {IMAPReply{"NO", "AUTHORIZATIONFAILED", "Not authorized to act as the requested identity"}, SMTPReply{535, [3]int{5, 7, 8}, "Not authorized to act as the requested identity"}, "invalid-authzid", ldapInsufficientAccess},
	TooWeak:            {IMAPReply{"NO", "CANNOT", "Mechanism too weak for this account"}, SMTPReply{534, [3]int{5, 7, 9}, "Authentication mechanism is too weak"}, "mechanism-too-weak", ldapStrongerAuthRequired},
	Malformed:          {IMAPReply{"BAD", "", "Invalid response"}, SMTPReply{501, [3]int{5, 5, 2}, "Invalid response"}, "malformed-request", ldapInvalidCredentials},
	BadEncoding:        {IMAPReply{"BAD", "", "Invalid base64"}, SMTPReply{501, [3]int{5, 5, 2}, "Cannot decode response"}, "incorrect-encoding", ldapProtocolError},
	Cancelled:          {IMAPReply{"BAD", "", "Authentication cancelled"}, SMTPReply{501, [3]int{5, 7, 0}, "Authentication cancelled"}, "aborted", -1},
	LimitExceeded:      {IMAPReply{"BAD", "", "Response too long or too many steps"}, SMTPReply{500, [3]int{5, 5, 6}, "Authentication exchange line is too long"}, "malformed-request", ldapAdminLimitExceeded},
	UnknownMechanism:   {imapCannot, smtpUnknown, "invalid-mechanism", ldapAuthMethodNotSupported},
	EncryptionRequired: {IMAPReply{"NO", "PRIVACYREQUIRED", "This requires TLS"}, SMTPReply{538, [3]int{5, 7, 11}, "Encryption required for requested authentication mechanism"}, "encryption-required", ldapConfidentialityRequired},
	NotOffered:         {imapCannot, smtpUnknown, "invalid-mechanism", ldapAuthMethodNotSupported},
	Misconfigured:      {imapUnavailable, smtpTemporary, "temporary-auth-failure", ldapUnavailable},
	Temporary:          {imapUnavailable, smtpTemporary, "temporary-auth-failure", ldapUnavailable},
}

func (k Kind) reply() reply {
	if k < 0 || int(k) >= len(replies) {
		return replies[Temporary]
	}
	return replies[k]
}

// IMAP returns the tagged reply to AUTHENTICATE or LOGIN for k. An unknown
// Kind gets Temporary's reply.
func (k Kind) IMAP() IMAPReply { return k.reply().imap }

// SMTP returns the reply to AUTH for k. An unknown Kind gets Temporary's
// reply.
func (k Kind) SMTP() SMTPReply { return k.reply().smtp }

// XMPP returns the name of the SASL element for k: "success" for OK, and
// otherwise the condition inside <failure/> (RFC 6120 section 6.5), such as
// "not-authorized". An unknown Kind gets Temporary's.
func (k Kind) XMPP() string { return k.reply().xmpp }

// LDAP returns the BindResponse result code for k (RFC 4511), and false
// when there is no reply: a cancelled SASL bind is abandoned by the
// client's next BindRequest (RFC 4513 section 5.2.1.2). An unknown Kind
// gets Temporary's.
func (k Kind) LDAP() (code int, ok bool) {
	r := k.reply()
	return r.ldap, r.ldap >= 0
}
