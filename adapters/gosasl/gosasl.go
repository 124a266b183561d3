package gosasl

import (
	"context"
	"fmt"

	"github.com/emersion/go-sasl"

	"github.com/saslkit/saslkit/session"
)

// Client adapts a saslkit session.Client to go-sasl's sasl.Client. It is
// single-use, like the session it wraps, and not safe for concurrent use.
//
// A Client alone never learns whether the server accepted the exchange:
// see [NewClient].
type Client struct {
	// ctx is the context of the whole exchange. It is kept in the struct,
	// against the usual rule, because go-sasl's Start and Next take none.
	ctx context.Context
	s   *session.Client
}

var _ sasl.Client = (*Client)(nil)

// NewClient returns a go-sasl client running session s, with ctx bounding
// every call into the session's mechanism.
//
// WARNING: go-sasl's sasl.Client has no success hook, so neither a Client
// nor go-imap v2 nor go-smtp ever tells the session that the server said
// OK. A caller who uses a Client without [Authenticate] must call
// s.Success(ctx) once the framework reports success, and treat the
// connection as failed unless it returns nil. Skipping that call skips the
// check of the server's proof: with SCRAM, a server that never sends its
// signature ("v="), because it does not know the password, would pass as
// authenticated. Authenticate makes that call; prefer it.
func NewClient(ctx context.Context, s *session.Client) *Client {
	return &Client{ctx: ctx, s: s}
}

// Start implements sasl.Client. It returns the session's mechanism name and
// its initial response: nil for a server-first mechanism (no initial
// response), a non-nil slice otherwise, []byte{} for an empty initial
// response, which IMAP and SMTP send as "=".
func (c *Client) Start() (mech string, ir []byte, err error) {
	ir, ok, err := c.s.Start(c.ctx)
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return c.s.Mechanism(), nil, nil
	}
	if ir == nil {
		ir = []byte{}
	}
	return c.s.Mechanism(), ir, nil
}

// Next implements sasl.Client: it returns the session's response to
// challenge, never nil ([]byte{} for an empty response), since go-smtp
// takes a nil response as the end of the exchange. A SCRAM server-final
// message is verified here and answered with an empty response; a wrong
// server signature is an error wrapping mech.ErrAuthFailed.
func (c *Client) Next(challenge []byte) (response []byte, err error) {
	resp, err := c.s.Next(c.ctx, challenge)
	if err != nil {
		return nil, err
	}
	if resp == nil {
		resp = []byte{}
	}
	return resp, nil
}

// Authenticate runs one exchange of session s through authenticate, which
// is a framework's method value such as imapclient.Client.Authenticate or
// smtp.Client.Auth, and, if authenticate returns nil (the server said OK),
// tells the session with s.Success(ctx). It returns nil only if both
// succeed: the server accepted the client and, for a mechanism with mutual
// authentication (SCRAM), proved itself. A server that says OK without a
// valid proof gives an error wrapping mech.ErrAuthFailed; the connection
// must then not be used.
//
// When authenticate fails and the server reported a failure inside the
// mechanism (session.Client.Failure, such as a *mech.TokenError), the
// error wraps both.
func Authenticate(ctx context.Context, s *session.Client, authenticate func(sasl.Client) error) error {
	if err := authenticate(NewClient(ctx, s)); err != nil {
		if f := s.Failure(); f != nil {
			return fmt.Errorf("%w (%s: %w)", err, s.Mechanism(), f)
		}
		return err
	}
	if err := s.Success(ctx); err != nil {
		return fmt.Errorf("gosasl: %s: server said OK, but: %w", s.Mechanism(), err)
	}
	return nil
}
