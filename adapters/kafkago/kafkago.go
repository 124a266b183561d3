// Package kafkago runs saslkit's SASL (RFC 4422) client mechanisms inside
// kafka-go (github.com/segmentio/kafka-go), the Kafka client: [New] wraps a
// mech.Client and its credentials as a kafka-go sasl.Mechanism, which
// kafka.Dialer's SASLMechanism and kafka.Transport's SASL take.
//
//	m, err := kafkago.New(scram.Mechanism{Hash: scram.SHA512},
//		creds.Client{Authcid: "user", Password: "pencil"}, nil)
//	...
//	dialer := &kafka.Dialer{SASLMechanism: m}
//	w := &kafka.Writer{Addr: kafka.TCP(addr), Transport: &kafka.Transport{SASL: m}}
//
// # How kafka-go drives a mechanism
//
// This is what kafka-go v0.4.51 does (Dialer.authenticateSASL in dialer.go
// for Conn and Reader, authenticateSASL in transport.go for Transport and
// Writer), and what the adapter relies on:
//
//   - For every connection, kafka-go sends SaslHandshake with the
//     mechanism's Name, then calls Start with the dial context, which
//     carries the broker's host and port (sasl.MetadataFromContext). One
//     Mechanism serves every connection, so Start runs concurrently.
//   - Whatever Start returns is sent as the first message, even a nil one,
//     so a server-first mechanism cannot run; an empty message is sent as
//     an empty one.
//   - Every message sent gets the broker's reply, which goes to Next,
//     until Next returns done=true; a response returned with done is
//     dropped, never sent.
//   - Conn (and so Reader) negotiates SaslHandshake v0 or v1: after v1 the
//     messages go in SaslAuthenticate v0 requests, after v0 raw, each
//     behind a 4-byte big-endian length. Transport (and so Writer) always
//     uses SaslAuthenticate. A refusal is an error code, which kafka-go
//     returns as a kafka.Error without calling Next, or a closed
//     connection, which it returns as kafka.SASLAuthenticationFailed.
//     kfake, which the tests run against, speaks only v1, and closes the
//     connection on a refused login.
//   - kafka-go does not reauthenticate (KIP-368): it opens a new connection.
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
// The errors of Start and Next wrap saslkit's, so errors.Is(err,
// mech.ErrAuthFailed) holds for a server whose SCRAM signature is wrong, for
// example; kafka-go returns them, wrapped, from the dial or request that
// needed the connection.
package kafkago

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmentio/kafka-go/sasl"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// ErrNoInitialResponse means the mechanism cannot send a first message:
// every Kafka exchange starts with the client's message. It wraps
// mech.ErrNoInitialResponse.
var ErrNoInitialResponse = fmt.Errorf("saslkit/kafkago: Kafka needs an initial response: %w", mech.ErrNoInitialResponse)

// Mechanism is a kafka-go sasl.Mechanism that runs a saslkit client
// mechanism. It is safe for concurrent use: each Start runs its own
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
		return nil, errors.New("saslkit/kafkago: nil mechanism")
	}
	if m.Properties().ServerFirst {
		return nil, fmt.Errorf("%w: %s is server-first", ErrNoInitialResponse, m.Name())
	}
	return &Mechanism{m: m, c: c, cfg: cfg}, nil
}

// Name returns the mechanism's name, which kafka-go sends in
// SaslHandshake: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER for
// Kafka.
func (m *Mechanism) Name() string { return m.m.Name() }

// Start implements sasl.Mechanism: it starts a session with the broker
// that ctx's sasl.Metadata names (its Host and Port become mech.Channel.Host
// and Port, sent by OAUTHBEARER; a zero Port is left out) and returns it
// with the initial response. An error wraps the session's, or
// ErrNoInitialResponse.
func (m *Mechanism) Start(ctx context.Context) (sasl.StateMachine, []byte, error) {
	var ch mech.Channel
	if md := sasl.MetadataFromContext(ctx); md != nil {
		ch.Host = md.Host
		if md.Port != 0 {
			ch.Port = strconv.Itoa(md.Port)
		}
	}
	s := session.NewClient(m.m, m.c, ch, m.cfg)
	ir, ok, err := s.Start(ctx)
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("saslkit/kafkago: %w", err)
	case !ok:
		return nil, nil, fmt.Errorf("%w: %s sent none", ErrNoInitialResponse, m.m.Name())
	}
	return &exchange{s: s, mutual: m.m.Properties().Mutual}, ir, nil
}

// exchange is one authentication, a kafka-go sasl.StateMachine.
type exchange struct {
	s        *session.Client
	mutual   bool // the mechanism may get success data
	answered bool // a challenge has been answered
}

// Next implements sasl.StateMachine (see the package doc for the mapping).
func (e *exchange) Next(ctx context.Context, data []byte) (done bool, resp []byte, err error) {
	if e.s.Last() && (len(data) == 0 || e.mutual) {
		if len(data) > 0 {
			err = e.s.SuccessData(ctx, data)
		} else {
			err = e.s.Success(ctx)
		}
		if err != nil {
			return false, nil, fmt.Errorf("saslkit/kafkago: %w", err)
		}
		return true, nil, nil
	}
	if len(data) == 0 && !e.answered {
		// session.Client.Next would take an empty first challenge for a
		// server that did not get the initial response and send that
		// again, but Kafka always delivers it.
		return false, nil, fmt.Errorf("saslkit/kafkago: %s: empty challenge after the initial response: %w", e.s.Mechanism(), mech.ErrInvalidChallenge)
	}
	e.answered = true
	last := e.s.Last()
	resp, err = e.s.Next(ctx, data)
	if err != nil {
		return false, nil, fmt.Errorf("saslkit/kafkago: %w", err)
	}
	if last {
		// Data after the last message of a mechanism that defines no
		// success data: the server's failure (OAUTHBEARER's JSON error).
		if f := e.s.Failure(); f != nil {
			return false, nil, fmt.Errorf("saslkit/kafkago: %w", f)
		}
		return false, nil, fmt.Errorf("saslkit/kafkago: %s: %w", e.s.Mechanism(), mech.ErrUnexpectedChallenge)
	}
	return false, resp, nil
}
