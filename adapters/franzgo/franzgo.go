// Package franzgo runs saslkit's SASL (RFC 4422) client mechanisms inside
// franz-go (github.com/twmb/franz-go), the Kafka client: [New] wraps a
// mech.Client and its credentials as a franz-go sasl.Mechanism, which
// kgo.SASL takes.
//
//	m, err := franzgo.New(scram.Mechanism{Hash: scram.SHA512},
//		creds.Client{Authcid: "user", Password: "pencil"}, nil)
//	...
//	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.SASL(m))
//
// # How franz-go drives a mechanism
//
// This is what franz-go v1.22.3 does (pkg/kgo/broker.go, brokerCxn.sasl and
// doSasl), and what the adapter relies on:
//
//   - For every connection, and again whenever the broker's session
//     lifetime (KIP-368) runs out, franz-go sends SaslHandshake with the
//     mechanism's Name, then calls Authenticate with the client's context
//     and the broker's "host:port". One Mechanism is shared by every
//     connection of a client, so Authenticate runs concurrently.
//   - The message Authenticate returns is the first one sent. It must not
//     be empty: franz-go refuses an empty one ("unexpected server-write
//     sasl"), so Kafka has no server-first mechanisms and no empty initial
//     responses.
//   - With SaslHandshake v1 each message goes in a SaslAuthenticate
//     request, and the broker answers every request: with an error code
//     (SASL_AUTHENTICATION_FAILED and a message), which franz-go returns
//     without calling the Session, or with the broker's bytes, which go to
//     Challenge. With v0 the messages go raw, each behind a 4-byte
//     big-endian length, and a broker that refuses the client closes the
//     connection. kfake, which the tests run against, speaks only v1, and
//     closes the connection on a refused login too: franz-go then returns
//     io.EOF.
//   - Challenge gets each message of the broker in turn. done=true ends the
//     exchange: a message returned with it is still written, and its reply
//     (v1) read and checked for an error code, but Challenge is not called
//     again. The adapter never returns a message with done.
//   - An error from Authenticate or Challenge ends the connection; franz-go
//     returns it, wrapped, from the request that needed the connection.
//
// # The mapping
//
// The first message is the session's initial response (session.Client.Start).
// On each message of the broker, if session.Client.Last reports that the
// client's previous message was the mechanism's last, the broker's message
// is the outcome: the adapter calls session.Client.SuccessData with it when
// it is not empty (SCRAM checks the server's signature, "v=", there) or
// session.Client.Success when it is, and reports done once the mechanism
// accepts the server. Otherwise the message is a challenge for
// session.Client.Next, and the response goes back with done=false.
//
// There is one exception: a mechanism without mutual authentication (PLAIN,
// OAUTHBEARER) defines no success data, so a non-empty message after its
// last one is a challenge, as Kafka's OAUTHBEARER sends its JSON error (RFC
// 7628 section 3.2.2). The adapter gives it to Next and returns the failure
// it reports, a *mech.TokenError, rather than a complaint about unexpected
// success data.
//
// The errors of Authenticate and Challenge wrap saslkit's, so errors.Is(err,
// mech.ErrAuthFailed) holds for a server whose SCRAM signature is wrong, for
// example; franz-go returns them, wrapped, from the dial or request that
// needed the connection.
package franzgo

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// ErrNoInitialResponse means the mechanism cannot send a first message, or
// sent an empty one, which franz-go cannot carry: every Kafka exchange
// starts with the client's message. It wraps mech.ErrNoInitialResponse.
var ErrNoInitialResponse = fmt.Errorf("saslkit/franzgo: Kafka needs a non-empty initial response: %w", mech.ErrNoInitialResponse)

// Mechanism is a franz-go sasl.Mechanism that runs a saslkit client
// mechanism. It is safe for concurrent use: each Authenticate runs its own
// session.Client.
type Mechanism struct {
	m   mech.Client
	c   creds.Client
	cfg *session.Config
}

var _ sasl.Mechanism = (*Mechanism)(nil)

// New returns a Mechanism that authenticates with mechanism m and
// credentials c. cfg, if not nil, sets the limits of each exchange (a nil
// cfg means the zero session.Config); it must not be modified afterwards.
// New returns an error wrapping ErrNoInitialResponse for a server-first
// mechanism (CRAM-MD5), which Kafka cannot run, and an error for a nil m.
func New(m mech.Client, c creds.Client, cfg *session.Config) (*Mechanism, error) {
	if m == nil {
		return nil, errors.New("saslkit/franzgo: nil mechanism")
	}
	if m.Properties().ServerFirst {
		return nil, fmt.Errorf("%w: %s is server-first", ErrNoInitialResponse, m.Name())
	}
	return &Mechanism{m: m, c: c, cfg: cfg}, nil
}

// Name returns the mechanism's name, which franz-go sends in SaslHandshake:
// PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER for Kafka.
func (m *Mechanism) Name() string { return m.m.Name() }

// Authenticate implements sasl.Mechanism: it starts a session with the
// broker at host ("host:port", which becomes mech.Channel.Host and Port,
// sent by OAUTHBEARER) and returns it with the initial response. The
// session keeps ctx for its steps, as franz-go's contract allows. An error
// wraps the session's, or ErrNoInitialResponse.
func (m *Mechanism) Authenticate(ctx context.Context, host string) (sasl.Session, []byte, error) {
	var ch mech.Channel
	if h, p, err := net.SplitHostPort(host); err == nil {
		ch.Host, ch.Port = h, p
	} else {
		ch.Host = host
	}
	s := session.NewClient(m.m, m.c, ch, m.cfg)
	ir, ok, err := s.Start(ctx)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("saslkit/franzgo: %w", err)
	case !ok || len(ir) == 0:
		return nil, nil, fmt.Errorf("%w: %s sent none", ErrNoInitialResponse, m.m.Name())
	}
	return &exchange{ctx: ctx, s: s, mutual: m.m.Properties().Mutual}, ir, nil
}

// exchange is one authentication, a franz-go sasl.Session.
type exchange struct {
	// ctx is Authenticate's: franz-go's Challenge takes none.
	ctx      context.Context
	s        *session.Client
	mutual   bool // the mechanism may get success data
	answered bool // a challenge has been answered
}

// Challenge implements sasl.Session (see the package doc for the mapping).
func (e *exchange) Challenge(data []byte) (done bool, msg []byte, err error) {
	if e.s.Last() && (len(data) == 0 || e.mutual) {
		if len(data) > 0 {
			err = e.s.SuccessData(e.ctx, data)
		} else {
			err = e.s.Success(e.ctx)
		}
		if err != nil {
			return false, nil, fmt.Errorf("saslkit/franzgo: %w", err)
		}
		return true, nil, nil
	}
	if len(data) == 0 && !e.answered {
		// session.Client.Next would take an empty first challenge for a
		// server that did not get the initial response and send that
		// again, but Kafka always delivers it.
		return false, nil, fmt.Errorf("saslkit/franzgo: %s: empty challenge after the initial response: %w", e.s.Mechanism(), mech.ErrInvalidChallenge)
	}
	e.answered = true
	last := e.s.Last()
	resp, err := e.s.Next(e.ctx, data)
	if err != nil {
		return false, nil, fmt.Errorf("saslkit/franzgo: %w", err)
	}
	if last {
		// Data after the last message of a mechanism that defines no
		// success data: the server's failure (OAUTHBEARER's JSON error).
		if f := e.s.Failure(); f != nil {
			return false, nil, fmt.Errorf("saslkit/franzgo: %w", f)
		}
		return false, nil, fmt.Errorf("saslkit/franzgo: %s: %w", e.s.Mechanism(), mech.ErrUnexpectedChallenge)
	}
	return false, resp, nil
}
