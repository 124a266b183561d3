package session

import (
	"context"
	"errors"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// Client runs the client side of one exchange. Create one per exchange with
// [NewClient]; it is not safe for concurrent use.
type Client struct {
	m       mech.Client
	cfg     *Config
	creds   creds.Client
	ch      mech.Channel
	in      mech.ClientInput
	buf     [inline]mech.Pair
	state   state
	steps   int32
	last    bool
	failure error
}

// NewClient returns a session running mechanism m with credentials c over
// channel ch. A nil cfg means the zero Config.
func NewClient(m mech.Client, c creds.Client, ch mech.Channel, cfg *Config) *Client {
	s := &Client{m: m, cfg: cfg, creds: c, ch: ch} // built in place, as NewServer's
	s.setup()
	return s
}

// Reset makes s a new session running mechanism m with credentials c over
// channel ch, with s's Config, as [NewClient] would, reusing s's memory.
// Nothing of the previous exchange remains, but responses it returned stay
// valid.
func (c *Client) Reset(m mech.Client, cr creds.Client, ch mech.Channel) {
	*c = Client{m: m, cfg: c.cfg, creds: cr, ch: ch}
	c.setup()
}

// setup readies a Client whose m, cfg, creds and ch are set.
func (c *Client) setup() {
	c.in.Pairs = c.buf[:0]
	c.in.Creds = &c.creds
	c.in.Channel = &c.ch
}

// Mechanism returns the session's mechanism name.
func (c *Client) Mechanism() string { return c.m.Name() }

// Start returns the initial response, for protocols that can send one with
// the authentication command, and true. For server-first mechanisms it
// returns nil and false: send the command alone and wait for the first
// challenge. An empty initial response with true is still an initial
// response (IMAP and SMTP send it as "=").
//
// Start is optional: a caller that cannot send an initial response skips it
// and answers the server's first challenge, usually empty, with Next. A
// caller that called Start and then could not send ir (the server turned
// out not to take initial responses) needs nothing special either: an
// empty challenge right after Start is the server asking for the initial
// response (RFC 4422 section 5), and Next answers it with ir again.
func (c *Client) Start(ctx context.Context) (ir []byte, ok bool, err error) {
	if c.state != stateNew {
		return nil, false, c.misuse()
	}
	c.in.Initial = true
	res, err := c.attempt(ctx, nil)
	c.in.Initial = false
	if errors.Is(err, mech.ErrNoInitialResponse) {
		c.steps--
		return nil, false, nil
	}
	if err != nil {
		c.state = stateDone
		return nil, false, err
	}
	c.in.Pairs = append(c.in.Pairs, mech.Pair{Response: res.Response, Initial: true, State: res.State})
	c.state = stateWaiting
	c.last = res.Last
	return res.Response, true, nil
}

// Next returns the response to the server's challenge. An empty challenge
// right after [Client.Start] asks for the initial response, and Next
// returns it again, without running the mechanism.
func (c *Client) Next(ctx context.Context, challenge []byte) ([]byte, error) {
	if c.state != stateNew && c.state != stateWaiting {
		return nil, c.misuse()
	}
	if p := &c.in.Pairs; len(challenge) == 0 && len(*p) == 1 && (*p)[0].Initial {
		// The server did not get the initial response, or the caller
		// did not send it: the first message becomes the answer to the
		// server's empty challenge, as if Start had not been called.
		(*p)[0].Initial = false
		(*p)[0].Challenge = []byte{}
		return (*p)[0].Response, nil
	}
	if max := c.cfg.maxMessage(); len(challenge) > max {
		c.state = stateDone
		return nil, &LimitError{Err: ErrTooLarge, Limit: max}
	}
	res, err := c.attempt(ctx, challenge)
	if err != nil {
		c.state = stateDone
		return nil, err
	}
	c.in.Pairs = append(c.in.Pairs, mech.Pair{Challenge: append([]byte(nil), challenge...), Response: res.Response, State: res.State})
	c.state = stateWaiting
	c.last = res.Last
	return res.Response, nil
}

// Last reports whether the newest response from [Client.Start] or
// [Client.Next] was the mechanism's last (see [mech.ClientResult.Last]):
// the server's next message ends the exchange. A client framework that asks
// "is the exchange done?" after each response (franz-go's Challenge,
// kafka-go's Next, mellium's "more") answers with Last, and then hands the
// server's final message, if any, to [Client.SuccessData] rather than to
// Next. In protocols that carry SCRAM's server-final message as a challenge
// (IMAP, SMTP), Next answers it with an empty response and Last stays true.
//
// Last is false before the first response and once the session has ended
// (an error, or Success, SuccessData or FailureData called). It never
// means the exchange succeeded: only [Client.Success] or
// [Client.SuccessData] returning nil says the server was accepted.
func (c *Client) Last() bool { return c.state == stateWaiting && c.last }

func (c *Client) attempt(ctx context.Context, challenge []byte) (mech.ClientResult, error) {
	if max := c.cfg.maxSteps(); int(c.steps) >= max {
		return mech.ClientResult{}, &LimitError{Err: ErrTooManySteps, Limit: max}
	}
	c.steps++
	if err := ctx.Err(); err != nil {
		return mech.ClientResult{}, err
	}
	c.in.Challenge = challenge
	res, err := c.m.ClientAttempt(ctx, &c.in)
	c.in.Challenge = nil
	if err != nil {
		return mech.ClientResult{}, err
	}
	if res.Failure != nil {
		c.failure = res.Failure
	}
	if res.Response == nil {
		res.Response = []byte{}
	}
	return res, nil
}

// Success tells the session that the server reported success with no
// additional data. It returns nil if the mechanism accepts that outcome; a
// mechanism with mutual authentication returns an error wrapping
// [mech.ErrAuthFailed] if the server has not proven itself.
func (c *Client) Success(ctx context.Context) error {
	return c.final(ctx, nil, false)
}

// SuccessData tells the session that the server reported success with
// additional data (which may be empty), for the mechanism to check.
func (c *Client) SuccessData(ctx context.Context, data []byte) error {
	return c.final(ctx, data, true)
}

func (c *Client) final(ctx context.Context, data []byte, has bool) error {
	if c.state != stateWaiting {
		return c.misuse()
	}
	c.state = stateDone
	if max := c.cfg.maxMessage(); len(data) > max {
		return &LimitError{Err: ErrTooLarge, Limit: max}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.m.ClientFinal(ctx, &c.in, data, has)
}

// FailureData tells the session that the server reported failure with
// additional data (SCRAM's "e=" in protocols that carry data with a
// failure). It returns the failure the data reports, such as a
// *scram.ServerError, which [Client.Failure] returns from then on; for
// mechanisms that define no failure data it returns an error wrapping
// [mech.ErrAuthFailed]. The session is over afterwards.
func (c *Client) FailureData(ctx context.Context, data []byte) error {
	if c.state != stateWaiting {
		return c.misuse()
	}
	c.state = stateDone
	if max := c.cfg.maxMessage(); len(data) > max {
		return &LimitError{Err: ErrTooLarge, Limit: max}
	}
	fr, ok := c.m.(mech.FailureReader)
	if !ok {
		return &mech.Error{Mechanism: c.m.Name(), Reason: "server failed the exchange", Err: mech.ErrAuthFailed}
	}
	err := fr.ClientFailure(ctx, &c.in, data)
	if err != nil && errors.Is(err, mech.ErrAuthFailed) {
		c.failure = err
	}
	return err
}

// Failure returns the failure the server reported during the exchange, such
// as an [*mech.TokenError] from an OAUTHBEARER or XOAUTH2 JSON error, or nil
// if it reported none. Call it once the server has failed the exchange.
func (c *Client) Failure() error { return c.failure }

func (c *Client) misuse() error {
	switch c.state {
	case stateNew:
		// Success or SuccessData before the exchange started.
		return ErrNotStarted
	case stateDone:
		return ErrFinished
	}
	return ErrStarted
}
