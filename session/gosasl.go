package session

import (
	"context"
	"errors"

	"github.com/saslkit/saslkit/mech"
)

// GoSASL adapts a [Server] to the method set of emersion/go-sasl's
// sasl.Server, which go-smtp and go-imap v2 take from their auth hooks:
//
//	Next(response []byte) (challenge []byte, done bool, err error)
//
// It does so without importing go-sasl. Their conventions differ from this
// package's, and GoSASL bridges them:
//
//   - The first Next gets the initial response: nil means none, a non-nil
//     empty slice an empty one (go-smtp decodes "=" to []byte{}).
//   - Those callers drop a challenge returned together with done, so
//     additional data with success is sent as a last challenge, and done is
//     reported after the client's (empty) reply, whatever the session's
//     Config.FinalAsChallenge. Failure data ([mech.FailureError]) is sent the
//     same way before the error.
//   - An empty challenge is returned as nil, as go-sasl's own mechanisms
//     return it: go-imap v2 writes a non-nil empty challenge as "+ =",
//     which strict clients (gsasl) refuse as bad base64, and nil as "+ ".
//     Base64 is the caller's.
//
// done is true only once the session's [Step] is Done, which means the
// client authenticated and is authorized; [GoSASL.Step] then holds its
// Principal. A GoSASL is not safe for concurrent use.
type GoSASL struct {
	// ctx is held for the exchange because go-sasl's interface carries
	// none; it is the context of the connection that owns the session.
	ctx     context.Context
	s       *Server
	started bool
	step    Step  // the outcome, once done
	pending *Step // success held back while its final data is out
	fail    error // failure held back while its data is out
	failure error // the failure, once its data has gone out
}

// GoSASL returns an adapter that runs s with ctx, the context of the
// connection, for every step.
func (s *Server) GoSASL(ctx context.Context) *GoSASL { return &GoSASL{ctx: ctx, s: s} }

// Next implements go-sasl's sasl.Server.
func (g *GoSASL) Next(response []byte) (challenge []byte, done bool, err error) {
	if g.fail != nil {
		err, g.fail = g.fail, nil
		return nil, false, err
	}
	if g.pending != nil {
		pending := g.pending
		g.pending = nil
		if len(response) != 0 {
			return nil, false, ErrUnexpectedReply
		}
		g.step = *pending
		return nil, true, nil
	}
	var step Step
	switch {
	case g.started:
		step, err = g.s.Next(g.ctx, response)
	case response == nil:
		g.started = true
		step, err = g.s.Start(g.ctx)
	default:
		g.started = true
		step, err = g.s.StartInitial(g.ctx, response)
	}
	if err != nil {
		var fe *mech.FailureError
		if errors.As(err, &fe) {
			g.fail, g.failure = fe.Err, fe.Err
			return nilIfEmpty(fe.Data), false, nil
		}
		return nil, false, err
	}
	if step.Failure != nil {
		// Config.FinalAsChallenge: the session holds the failure itself.
		g.failure = step.Failure
	}
	if !step.Done {
		return nilIfEmpty(step.Challenge), false, nil
	}
	if step.HasFinal {
		final := step.Final
		step.Final, step.HasFinal = nil, false
		g.pending = &step
		return nilIfEmpty(final), false, nil
	}
	g.step = step
	return nil, true, nil
}

// Step returns the done step, with the credentials, once Next has reported
// done; the zero Step before.
func (g *GoSASL) Step() Step { return g.step }

// Failure returns the exchange's failure once Next has sent its failure
// data as a challenge (SCRAM's "e="), before the client's reply: protocol
// code can log it even if the client hangs up then, as gsasl does. It is
// nil otherwise; the error Next returns is the failure either way.
func (g *GoSASL) Failure() error { return g.failure }

// nilIfEmpty returns nil for an empty b: go-sasl's callers tell "no
// challenge" (nil) from an empty one only by spelling the latter "=".
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
