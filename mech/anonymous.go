package mech

import (
	"context"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
)

// MaxTrace is the longest ANONYMOUS trace token, in characters (RFC 4505
// section 2).
const MaxTrace = 255

// Anonymous is the ANONYMOUS mechanism (RFC 4505), client and server. The
// client may send a trace token ([creds.Client.Trace]): an email address or
// up to 255 UTF-8 characters without control characters, which the server
// validates. The zero value is ready to use.
//
// The server's principal is anonymous ([creds.Principal.Anonymous]): it
// names no account, so it can never be mistaken for a real one. Offering
// ANONYMOUS is the opt-in: registries leave it out of their defaults.
type Anonymous struct{}

// Name returns "ANONYMOUS".
func (Anonymous) Name() string { return "ANONYMOUS" }

// Properties: client-first, anonymous.
func (Anonymous) Properties() Properties { return Properties{Anonymous: true, Uses: UsesNothing} }

// ServerAttempt implements [Server].
func (Anonymous) ServerAttempt(_ context.Context, in *ServerInput) (ServerResult, error) {
	if len(in.Pairs) == 0 {
		return ServerResult{Challenge: []byte{}}, nil
	}
	trace := in.Pairs[len(in.Pairs)-1].Response
	if !validTrace(trace) {
		return ServerResult{}, invalid("ANONYMOUS", "bad trace token")
	}
	return ServerResult{Principal: creds.NewAnonymous("ANONYMOUS", string(trace))}, nil
}

// validTrace reports whether t is empty or 1 to MaxTrace UTF-8 characters
// with no control character. An email address (RFC 4505's other form) fits
// the same rule.
func validTrace(t []byte) bool {
	if len(t) > 4*MaxTrace || !utf8.Valid(t) {
		return false
	}
	n := 0
	for _, r := range string(t) {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return false
		}
		n++
	}
	return n <= MaxTrace
}

// ClientAttempt implements [Client]: it sends [creds.Client.Trace].
func (Anonymous) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	if len(in.Pairs) > 0 {
		return ClientResult{}, unexpected("ANONYMOUS")
	}
	trace := in.Creds.Trace
	if !validTrace([]byte(trace)) {
		return ClientResult{}, &Error{Mechanism: "ANONYMOUS", Reason: "bad trace token", Err: ErrInvalidCredentials}
	}
	return ClientResult{Response: []byte(trace), Last: true}, nil
}

// ClientFinal implements [Client]: ANONYMOUS expects no additional data.
func (Anonymous) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("ANONYMOUS", final, hasFinal)
}
