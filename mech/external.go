package mech

import (
	"bytes"
	"context"
	"unicode/utf8"

	"github.com/saslkit/saslkit/creds"
)

// External is the EXTERNAL mechanism (RFC 4422 appendix A), client and
// server. The client sends only the authorization identity it asks for,
// possibly empty; the identity itself comes from outside SASL, such as a TLS
// client certificate, and reaches the server mechanism as
// [Channel.External]. The zero value is ready to use.
//
// The server needs [Channel.External], the identity the transport vouched
// for: the principal's account is that identity, and the requested
// authzid (empty: none) is for the authorization policy to judge. Without
// it the exchange fails with [ErrAuthFailed]; registries do not offer
// EXTERNAL on such a channel.
type External struct{}

// Name returns "EXTERNAL".
func (External) Name() string { return "EXTERNAL" }

// Properties: client-first, relies on an external identity.
func (External) Properties() Properties {
	return Properties{External: true, Uses: UsesNothing}
}

// ServerAttempt implements [Server].
func (External) ServerAttempt(_ context.Context, in *ServerInput) (ServerResult, error) {
	if len(in.Pairs) == 0 {
		return ServerResult{Challenge: []byte{}}, nil
	}
	resp := in.Pairs[len(in.Pairs)-1].Response
	switch {
	case len(resp) > MaxField:
		return ServerResult{}, invalid("EXTERNAL", "authzid too long")
	case bytes.IndexByte(resp, 0) >= 0:
		return ServerResult{}, invalid("EXTERNAL", "NUL in authzid")
	case !utf8.Valid(resp):
		return ServerResult{}, invalid("EXTERNAL", "invalid UTF-8")
	}
	if in.Channel == nil || in.Channel.External == "" {
		return ServerResult{}, &Error{Mechanism: "EXTERNAL", Reason: "no identity from the transport", Err: ErrAuthFailed}
	}
	return ServerResult{Principal: creds.NewPrincipal("EXTERNAL", in.Channel.External, string(resp))}, nil
}

// ClientAttempt implements [Client]: it sends [creds.Client.Authzid],
// possibly empty.
func (External) ClientAttempt(_ context.Context, in *ClientInput) (ClientResult, error) {
	if len(in.Pairs) > 0 {
		return ClientResult{}, unexpected("EXTERNAL")
	}
	if err := checkClientField("EXTERNAL", in.Creds.Authzid, true); err != nil {
		return ClientResult{}, err
	}
	return ClientResult{Response: []byte(in.Creds.Authzid), Last: true}, nil
}

// ClientFinal implements [Client]: EXTERNAL expects no additional data.
func (External) ClientFinal(_ context.Context, _ *ClientInput, final []byte, hasFinal bool) error {
	return noFinal("EXTERNAL", final, hasFinal)
}
