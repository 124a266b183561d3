package session

import (
	"context"
	"errors"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// Step is what a server session returns for each message.
type Step struct {
	// Challenge is the next challenge to send, when Done is false. It may
	// be empty; protocol code must still send it. The caller must not
	// modify it.
	Challenge []byte
	// Done reports that the exchange completed: the client authenticated
	// and is authorized as Principal says.
	Done bool
	// Principal is who authenticated, when Done is set.
	Principal *creds.Principal
	// Failure, when not nil, reports that Challenge carries failure data
	// (Config.FinalAsChallenge with a [mech.FailureError]): the exchange
	// has failed with this error, and the session waits only for the
	// client's reply before returning it. Protocol code can log it even if
	// the client hangs up.
	Failure error
	// Final is additional data to send with the success reply, when
	// HasFinal is set. HasFinal with an empty Final is empty additional
	// data, which differs from none. Never set when the session's
	// Config.FinalAsChallenge is on: the data then went as a challenge.
	Final []byte
	// HasFinal reports that Final is to be sent, possibly empty.
	HasFinal bool
}

// Server runs the server side of one exchange. Create one per exchange
// with [NewServer]; it is not safe for concurrent use.
type Server struct {
	m     mech.Server
	cfg   *Config
	ch    mech.Channel
	in    mech.ServerInput
	buf   [inline]mech.Pair
	state state
	steps int32
	held  *creds.Principal // the outcome, held while final data is out
	fail  error            // the failure, held while failure data is out
}

// NewServer returns a session running mechanism m over channel ch. A nil
// cfg means the zero Config. If m needs part of the configuration that cfg
// lacks ([mech.ConfigChecker]), such as an account store for PLAIN or a
// token validator for OAUTHBEARER, NewServer returns an error wrapping
// [creds.ErrMisconfigured] that names the mechanism and what it lacks.
func NewServer(m mech.Server, ch mech.Channel, cfg *Config) (*Server, error) {
	// A new Server is built in place: assigning a whole Server to a
	// fresh one would copy it again, under GC write barriers.
	s := &Server{m: m, cfg: cfg, ch: ch}
	if err := s.setup(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reset makes s a new session running mechanism m over channel ch with
// s's Config, as [NewServer] would, reusing s's memory: protocol code can
// keep one Server per connection for its successive exchanges. Nothing of
// the previous exchange remains, but a [Step] it returned stays valid (its
// Principal is not reused). On error, s is left finished.
func (s *Server) Reset(m mech.Server, ch mech.Channel) error {
	*s = Server{m: m, cfg: s.cfg, ch: ch}
	if err := s.setup(); err != nil {
		s.state = stateDone
		return err
	}
	return nil
}

// setup readies a Server whose m, cfg and ch are set, and checks that
// its configuration can run m.
func (s *Server) setup() error {
	cfg := s.cfg
	s.in.Pairs = s.buf[:0]
	s.in.Channel = &s.ch
	s.in.Verifier = cfg.verifier()
	s.in.Tokens = cfg.tokens()
	if c, ok := s.m.(mech.ConfigChecker); ok {
		if err := c.CheckConfig(&s.in); err != nil {
			return err
		}
	}
	return nil
}

// Mechanism returns the session's mechanism name.
func (s *Server) Mechanism() string { return s.m.Name() }

// Start begins an exchange in which the client sent no initial response.
// The returned step holds the first challenge: empty for client-first
// mechanisms, the mechanism's own for server-first ones.
func (s *Server) Start(ctx context.Context) (Step, error) {
	if s.state != stateNew {
		return Step{}, s.misuse()
	}
	return s.attempt(ctx)
}

// StartInitial begins an exchange with the client's initial response ir.
// An empty (or nil) ir is an empty initial response, which differs from
// none: call [Server.Start] when the client sent no initial response.
func (s *Server) StartInitial(ctx context.Context, ir []byte) (Step, error) {
	if s.state != stateNew {
		return Step{}, s.misuse()
	}
	if err := s.checkSize(ir); err != nil {
		return Step{}, err
	}
	s.in.Pairs = append(s.in.Pairs, mech.Pair{Response: ir, Initial: true})
	return s.attempt(ctx)
}

// Next gives the session the client's response to the last challenge.
func (s *Server) Next(ctx context.Context, response []byte) (Step, error) {
	switch s.state {
	case stateWaiting:
	case stateFinal:
		s.state = stateDone
		if len(response) != 0 {
			return Step{}, ErrUnexpectedReply
		}
		return Step{Done: true, Principal: s.held}, nil
	case stateFailing:
		s.state = stateDone
		return Step{}, s.fail
	default:
		return Step{}, s.misuse()
	}
	if err := s.checkSize(response); err != nil {
		return Step{}, err
	}
	s.in.Pairs[len(s.in.Pairs)-1].Response = response
	return s.attempt(ctx)
}

func (s *Server) misuse() error {
	if s.state == stateNew {
		return ErrNotStarted
	}
	if s.state == stateDone {
		return ErrFinished
	}
	return ErrStarted
}

func (s *Server) checkSize(msg []byte) error {
	if max := s.cfg.maxMessage(); len(msg) > max {
		s.state = stateDone
		return &LimitError{Err: ErrTooLarge, Limit: max}
	}
	return nil
}

func (s *Server) attempt(ctx context.Context) (Step, error) {
	if max := s.cfg.maxSteps(); int(s.steps) >= max {
		s.state = stateDone
		return Step{}, &LimitError{Err: ErrTooManySteps, Limit: max}
	}
	s.steps++
	if err := ctx.Err(); err != nil {
		s.state = stateDone
		return Step{}, err
	}
	res, err := s.m.ServerAttempt(ctx, &s.in)
	if err != nil {
		var fe *mech.FailureError
		if s.cfg.finalAsChallenge() && errors.As(err, &fe) {
			s.state = stateFailing
			s.fail = fe.Err
			return Step{Challenge: fe.Data, Failure: fe.Err}, nil
		}
		s.state = stateDone
		return Step{}, err
	}
	if res.Principal != nil {
		p, err := creds.Authorize(ctx, s.cfg.authorizer(), res.Principal)
		if err != nil {
			s.state = stateDone
			return Step{}, err
		}
		step := Step{Done: true, Principal: p, Final: res.Final, HasFinal: res.HasFinal}
		if res.HasFinal && s.cfg.finalAsChallenge() {
			s.state = stateFinal
			s.held = p
			return Step{Challenge: res.Final}, nil
		}
		s.state = stateDone
		return step, nil
	}
	// The exchange goes on: keep a copy of the response the caller lent us,
	// and record the challenge.
	if n := len(s.in.Pairs); n > 0 {
		p := &s.in.Pairs[n-1]
		p.Response = append([]byte(nil), p.Response...)
	}
	s.in.Pairs = append(s.in.Pairs, mech.Pair{Challenge: res.Challenge, State: res.State})
	s.state = stateWaiting
	return Step{Challenge: res.Challenge}, nil
}
