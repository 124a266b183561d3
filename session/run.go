package session

import (
	"context"
	"errors"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// MessageKind says what a [Message] of an exchange run by [Run] is.
type MessageKind int

// The kinds of message in an exchange.
const (
	// InitialResponse is the client's initial response, sent with the
	// authentication command.
	InitialResponse MessageKind = iota + 1
	// Challenge is a server challenge, possibly empty.
	Challenge
	// Response is a client response to a challenge.
	Response
	// Success is the server's success reply; Message.Data is its
	// additional data when Message.HasData is set.
	Success
	// Failure is the server's failure reply; Message.Data is its failure
	// data (SCRAM's "e=") when Message.HasData is set.
	Failure
)

// Message is one message of an exchange run by [Run], as its observer sees
// it. Data is only valid during the call.
type Message struct {
	Kind MessageKind
	// Data is the message's bytes, unencoded.
	Data []byte
	// HasData is set for Success and Failure messages that carry data;
	// the other kinds always do, possibly empty.
	HasData bool
}

// FromServer reports whether the server sent m.
func (m Message) FromServer() bool {
	return m.Kind == Challenge || m.Kind == Success || m.Kind == Failure
}

// RunError is the error [Run] returns, saying which side ended the
// exchange.
type RunError struct {
	// Client reports that the client session ended the exchange: it could
	// not send its credentials, refused a challenge, or refused the
	// server's proof (a mutual mechanism's server that did not prove
	// itself). Otherwise the server failed the exchange.
	Client bool
	// Err is the side's error.
	Err error
}

func (e *RunError) Error() string {
	if e.Client {
		return "client: " + e.Err.Error()
	}
	return "server: " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *RunError) Unwrap() error { return e.Err }

// Run runs client c against server s in process, as a protocol would carry
// the exchange, and returns who authenticated. It sends the initial response
// when the client has one; it hands the server's success data (SCRAM's
// "v=") to the client, which must accept it; and it hands failure data
// (SCRAM's "e=") to the client's [Client.FailureData], so that
// [Client.Failure] reports it afterwards. observe, if not nil, sees every
// message in order.
//
// Run returns a principal only when both sides accept the exchange. Any
// error is a *RunError naming the side that ended it and wrapping that
// side's error, so errors.Is(err, creds.ErrBadCredentials) and the like
// still work. Run ends: both sessions bound their steps ([Config.MaxSteps]).
// Use it in tests, in tools such as examples/stepthrough, and to check a
// mechanism's client against its server.
func Run(ctx context.Context, c *Client, s *Server, observe func(Message)) (*creds.Principal, error) {
	see := func(k MessageKind, data []byte, has bool) {
		if observe != nil {
			observe(Message{Kind: k, Data: data, HasData: has})
		}
	}
	var step Step
	ir, ok, err := c.Start(ctx)
	switch {
	case err != nil:
		return nil, &RunError{Client: true, Err: err}
	case ok:
		see(InitialResponse, ir, true)
		step, err = s.StartInitial(ctx, ir)
	default:
		step, err = s.Start(ctx)
	}
	for err == nil && !step.Done {
		see(Challenge, step.Challenge, true)
		resp, cerr := c.Next(ctx, step.Challenge)
		if cerr != nil {
			return nil, &RunError{Client: true, Err: cerr}
		}
		see(Response, resp, true)
		step, err = s.Next(ctx, resp)
	}
	if err != nil {
		var fe *mech.FailureError
		if errors.As(err, &fe) {
			see(Failure, fe.Data, true)
			// What the client makes of the data is for Client.Failure;
			// the server's error is the outcome.
			_ = c.FailureData(ctx, fe.Data)
		} else {
			see(Failure, nil, false)
		}
		return nil, &RunError{Err: err}
	}
	see(Success, step.Final, step.HasFinal)
	if step.HasFinal {
		err = c.SuccessData(ctx, step.Final)
	} else {
		err = c.Success(ctx)
	}
	if err != nil {
		return nil, &RunError{Client: true, Err: err}
	}
	return step.Principal, nil
}
