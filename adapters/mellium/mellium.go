// Package mellium runs saslkit client mechanisms (SASL, RFC 4422) inside
// mellium.im/xmpp's SASL stream feature (RFC 6120 section 6), by adapting a
// [mech.Client] to a mellium.im/sasl [sasl.Mechanism].
//
//	feature := xmpp.SASL("", password,
//		mellium.Mechanism(scram.Mechanism{Hash: scram.SHA256, Plus: true}, nil),
//		mellium.Mechanism(scram.Mechanism{Hash: scram.SHA256}, nil),
//	)
//
// # How mellium drives a mechanism
//
// mellium's client calls Start once and sends its response in <auth/>,
// always as an initial response ("=" when empty). It then reads one element
// at a time: a <challenge/> or a <success/> payload is handed to Next, a
// <failure/> ends the exchange with an error. The "more" a mechanism
// returns means "I need to see the server's next message": after Start,
// more == false makes mellium read the outcome and drop any data that came
// with <success/>; after Next, more == false on a <success/> ends the
// exchange successfully, and on a <challenge/> makes mellium send the
// response and report success without reading the outcome at all. Next is
// not told which of the two elements the payload came in.
//
// The adapter therefore always answers more == true until it has seen the
// message that follows the mechanism's last response ([session.Client.Last]).
// That message, which after the last response can only be the outcome, goes
// to [session.Client.SuccessData] (or [session.Client.Success] when empty),
// so SCRAM's server signature ("v=") is checked on every path that ends in
// success: a server that sends a wrong "v=", none at all, or an early
// <success/> fails the exchange. RFC 6120 section 6.3.10 puts such data in
// <success/>; a server that sends it as a final <challenge/> (as IMAP does)
// is still verified, but mellium then sends an empty response and reports
// success without waiting for the server's <success/>, and the stream
// restart that follows fails.
//
// # What mellium cannot carry
//
// Server-first mechanisms (CRAM-MD5, LOGIN) cannot run: mellium always sends
// an initial response, and an empty one is not the absence of one. Start
// refuses them with an error wrapping [ErrServerFirst].
//
// Mechanism funcs are given no context; the adapter's sessions run with
// [context.Background], and mellium checks the negotiation's context
// between messages.
package mellium

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"mellium.im/sasl"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// Errors returned by the adapter's mechanisms. Match them with errors.Is.
var (
	// ErrServerFirst means the mechanism has no initial response (CRAM-MD5,
	// LOGIN): mellium cannot run it, since it always sends one. It wraps
	// mech.ErrNoInitialResponse.
	ErrServerFirst = fmt.Errorf("saslkit/mellium: server-first mechanism: mellium always sends an initial response: %w", mech.ErrNoInitialResponse)
	// ErrBadState means mellium handed Next a cache value that is not the
	// adapter's: the negotiator was misused (Next before Start).
	ErrBadState = errors.New("saslkit/mellium: negotiator state is not the adapter's")
)

// Config configures a Mechanism. The zero value, and nil, take the
// credentials and the TLS state from the mellium Negotiator. A Config must
// not be modified once passed to Mechanism.
type Config struct {
	// Credentials, if not nil, are used for every exchange instead of the
	// Negotiator's (the user name, password and identity given to
	// xmpp.SASL and the session's JID).
	Credentials *creds.Client
	// Session configures each exchange's session (limits). Nil means the
	// zero session.Config.
	Session *session.Config
	// ChannelBinding, if not empty, is the only channel-binding type a
	// -PLUS mechanism may use (mech.TLSExporter, mech.TLSUnique,
	// mech.TLSServerEndPoint); a connection without it makes the exchange
	// fail before anything is sent. Empty means the connection's first:
	// tls-unique on TLS 1.2, tls-exporter on TLS 1.3.
	ChannelBinding string
	// Host and Port are the server name and port OAUTHBEARER sends (RFC
	// 7628 section 3.1). Empty means not sent.
	Host, Port string
}

// Mechanism returns a mellium sasl.Mechanism, named m.Name(), that runs m
// through a saslkit client session, one per exchange.
//
// The credentials are cfg.Credentials or, if nil, the Negotiator's: the
// user name becomes Authcid, the identity Authzid, and the password
// Password, or Token for a mechanism that uses a token (OAUTHBEARER,
// XOAUTH2). The channel is the Negotiator's TLS state
// ([mech.ClientTLSChannel]); without TLS it is a plain channel, on which a
// -PLUS mechanism fails. A mechanism without channel binding run against a
// server that advertises its -PLUS variant is given no bindings, so that
// SCRAM sends the "n" flag: "y" would tell such a server that the client
// believes it has none, which it must refuse (RFC 5802 section 6).
//
// The returned value keeps nothing between exchanges: each exchange's
// session lives in the Negotiator's cache, so it may be shared by any
// number of connections, as mellium expects. m must be safe for concurrent
// use, as every mech.Client is.
func Mechanism(m mech.Client, cfg *Config) sasl.Mechanism {
	if cfg == nil {
		cfg = &Config{}
	}
	a := &adapter{m: m, cfg: cfg}
	return sasl.Mechanism{Name: m.Name(), Start: a.start, Next: a.next}
}

// adapter holds a Mechanism's configuration; it is read-only.
type adapter struct {
	m   mech.Client
	cfg *Config
}

func (a *adapter) start(n *sasl.Negotiator) (more bool, resp []byte, cache interface{}, err error) {
	props := a.m.Properties()
	if props.ServerFirst {
		return false, nil, nil, ErrServerFirst
	}
	c := session.NewClient(a.m, a.credentials(n, props), a.channel(n, props), a.cfg.Session)
	ir, ok, err := c.Start(context.Background())
	if err != nil {
		return false, nil, nil, err
	}
	if !ok {
		return false, nil, nil, ErrServerFirst
	}
	// Always more: even when ir is the last response (PLAIN), the outcome
	// must reach Next, where the session accepts or refuses it.
	return true, ir, c, nil
}

func (a *adapter) next(_ *sasl.Negotiator, challenge []byte, cache interface{}) (more bool, resp []byte, _ interface{}, err error) {
	c, ok := cache.(*session.Client)
	if !ok || c == nil {
		return false, nil, nil, ErrBadState
	}
	ctx := context.Background()
	if c.Last() {
		// The newest response was the mechanism's last, so this message
		// ends the exchange: mellium calls Next only for <challenge/> and
		// <success/>, and anything after the last response is the outcome.
		// mellium does not distinguish <success/> from <success>=</success>;
		// both come as an empty payload and mean no additional data.
		if len(challenge) == 0 {
			err = c.Success(ctx)
		} else {
			err = c.SuccessData(ctx, challenge)
		}
		if err != nil {
			return false, nil, nil, err
		}
		return false, nil, nil, nil
	}
	resp, err = c.Next(ctx, challenge)
	if err != nil {
		return false, nil, nil, err
	}
	return true, resp, c, nil
}

// credentials returns the exchange's client credentials.
func (a *adapter) credentials(n *sasl.Negotiator, props mech.Properties) creds.Client {
	if a.cfg.Credentials != nil {
		return *a.cfg.Credentials
	}
	user, password, identity := n.Credentials()
	c := creds.Client{Authcid: string(user), Authzid: string(identity)}
	if props.Uses == mech.UsesToken {
		c.Token = string(password)
	} else {
		c.Password = string(password)
	}
	return c
}

// channel returns the exchange's channel, from the Negotiator's TLS state.
func (a *adapter) channel(n *sasl.Negotiator, props mech.Properties) mech.Channel {
	var ch mech.Channel
	if cs := n.TLSState(); cs != nil {
		ch = mech.ClientTLSChannel(cs)
	}
	ch.Host, ch.Port = a.cfg.Host, a.cfg.Port
	if t := a.cfg.ChannelBinding; t != "" {
		ch.Bindings = slices.DeleteFunc(ch.Bindings, func(b mech.Binding) bool { return b.Type != t })
	}
	if !props.ChannelBinding && slices.Contains(n.RemoteMechanisms(), a.m.Name()+"-PLUS") {
		ch.Bindings = nil
	}
	return ch
}
