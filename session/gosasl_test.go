package session_test

import (
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// goSASLServer is go-sasl's sasl.Server, declared here so that the test
// proves the method set matches without importing go-sasl.
type goSASLServer interface {
	Next(response []byte) (challenge []byte, done bool, err error)
}

var _ goSASLServer = (*session.GoSASL)(nil)

func TestGoSASLPlain(t *testing.T) {
	cfg := testConfig(t)

	// nil: no initial response; the empty challenge comes first.
	g := newServer(t, mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	ch, done, err := g.Next(nil)
	if err != nil || done || len(ch) != 0 {
		t.Fatalf("start: %q %v %v", ch, done, err)
	}
	if _, done, err = g.Next([]byte("\x00user\x00pencil")); err != nil || !done {
		t.Fatalf("response: %v %v", done, err)
	}
	if st := g.Step(); !st.Done || st.Principal == nil || st.Principal.Account() != "user" {
		t.Errorf("step %+v", st)
	}

	// Non-nil: the initial response.
	g = newServer(t, mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, done, err = g.Next([]byte("\x00user\x00pencil")); err != nil || !done {
		t.Fatalf("initial response: %v %v", done, err)
	}
	// An empty, non-nil initial response is one, and PLAIN refuses it.
	g = newServer(t, mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, _, err = g.Next([]byte{}); !errors.Is(err, mech.ErrInvalidResponse) {
		t.Errorf("empty initial response: %v", err)
	}
	g = newServer(t, mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, done, err := g.Next([]byte("\x00user\x00wrong")); !errors.Is(err, creds.ErrBadCredentials) || done {
		t.Errorf("wrong password: %v %v", done, err)
	}
	if st := g.Step(); st.Done || st.Principal != nil {
		t.Errorf("step after a wrong password: %+v", st)
	}
}

// TestGoSASLFinalData: SCRAM's v= never comes back together with done,
// which go-smtp and go-imap would drop, and e= comes as a challenge before
// the error.
func TestGoSASLFinalData(t *testing.T) {
	cfg := testConfig(t)
	m := scram.Mechanism{}
	for _, password := range []string{"pencil", "wrong"} {
		g := newServer(t, m, mech.Channel{}, cfg).GoSASL(ctx)
		cli := session.NewClient(m, creds.Client{Authcid: "user", Password: password}, mech.Channel{}, nil)
		ir, _, _ := cli.Start(ctx)
		ch, done, err := g.Next(ir)
		for err == nil && !done {
			var resp []byte
			resp, err = cli.Next(ctx, ch)
			if err != nil {
				t.Fatalf("client: %v", err)
			}
			ch, done, err = g.Next(resp)
			if done && len(ch) != 0 {
				t.Fatal("challenge returned with done")
			}
		}
		if password == "pencil" {
			if err != nil || !done || cli.Success(ctx) != nil {
				t.Errorf("good password: %v %v", err, cli.Success(ctx))
			}
			if st := g.Step(); !st.Done || st.Principal == nil || st.Principal.Account() != "user" || st.HasFinal {
				t.Errorf("good password: step %+v", st)
			}
			continue
		}
		if done || g.Step().Done {
			t.Errorf("wrong password: done %v, step %+v", done, g.Step())
		}
		var se *scram.ServerError
		if !errors.Is(err, creds.ErrBadCredentials) || !errors.As(cli.Failure(), &se) || se.Value != "invalid-proof" {
			t.Errorf("wrong password: server %v, client saw %v", err, cli.Failure())
		}
	}
}

// TestStepFailure: with FinalAsChallenge, the step carrying e= says so.
func TestStepFailure(t *testing.T) {
	cfg := testConfig(t)
	cfg.FinalAsChallenge = true
	m := scram.Mechanism{}
	srv := newServer(t, m, mech.Channel{}, cfg)
	cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "wrong"}, mech.Channel{}, nil)
	ir, _, _ := cli.Start(ctx)
	step, err := srv.StartInitial(ctx, ir)
	if err != nil || step.Failure != nil {
		t.Fatalf("server-first: %+v %v", step, err)
	}
	resp, _ := cli.Next(ctx, step.Challenge)
	step, err = srv.Next(ctx, resp)
	if err != nil || step.Done || step.Principal != nil || !errors.Is(step.Failure, creds.ErrBadCredentials) || string(step.Challenge) != "e=invalid-proof" {
		t.Fatalf("failure step: %+v %v", step, err)
	}
	if _, err := srv.Next(ctx, nil); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("after the reply: %v", err)
	}
}

// TestGoSASLUnexpectedReply: a non-empty reply to the final data sent as a
// challenge fails the exchange, and nothing reports it done.
func TestGoSASLUnexpectedReply(t *testing.T) {
	g := newServer(t, succeedAfter(1, []byte("v=proof"), true), mech.Channel{}, nil).GoSASL(ctx)
	ch, done, err := g.Next([]byte("ir"))
	if err != nil || done || string(ch) != "v=proof" {
		t.Fatalf("final data: %q %v %v; want it as a challenge", ch, done, err)
	}
	if g.Step().Done {
		t.Errorf("step %+v before the reply", g.Step())
	}
	_, done, err = g.Next([]byte("junk"))
	if !errors.Is(err, session.ErrUnexpectedReply) || done {
		t.Errorf("non-empty reply: %v %v; want ErrUnexpectedReply", done, err)
	}
	if _, done, err := g.Next(nil); !errors.Is(err, session.ErrFinished) || done {
		t.Errorf("Next after the failure: %v %v; want ErrFinished", done, err)
	}
	if st := g.Step(); st.Done || st.Principal != nil {
		t.Errorf("Step() = %+v after ErrUnexpectedReply; want the zero Step", st)
	}
}

// TestGoSASLEmptyChallengeIsNil: an empty challenge goes out as nil, as
// go-sasl's own mechanisms return it, since go-imap v2 writes a non-nil
// empty one as "+ =", which gsasl refuses as bad base64.
func TestGoSASLEmptyChallengeIsNil(t *testing.T) {
	srv := newServer(t, mech.Plain{}, mech.Channel{Secure: true}, testConfig(t))
	g := srv.GoSASL(ctx)
	challenge, done, err := g.Next(nil) // no initial response
	if err != nil || done {
		t.Fatalf("Next(nil) = %q, %v, %v", challenge, done, err)
	}
	if challenge != nil {
		t.Errorf("empty challenge = %#v, want nil", challenge)
	}
	if _, done, err := g.Next([]byte("\x00" + clearUser + "\x00" + clearPassword)); err != nil || !done {
		t.Errorf("Next(response) = %v, %v", done, err)
	}
}

// TestGoSASLFailure: once SCRAM's e= has gone out as a challenge, the
// adapter reports the failure before the client replies (gsasl hangs up
// instead), with or without the session's FinalAsChallenge.
func TestGoSASLFailure(t *testing.T) {
	for _, fac := range []bool{false, true} {
		cfg := testConfig(t)
		cfg.FinalAsChallenge = fac
		m := scram.Mechanism{}
		g := newServer(t, m, mech.Channel{}, cfg).GoSASL(ctx)
		cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "wrong"}, mech.Channel{}, nil)
		ir, _, _ := cli.Start(ctx)
		chal, _, err := g.Next(ir)
		if err != nil || g.Failure() != nil {
			t.Fatalf("server-first: %v, failure %v", err, g.Failure())
		}
		resp, _ := cli.Next(ctx, chal)
		chal, done, err := g.Next(resp)
		if err != nil || done || string(chal) != "e=invalid-proof" || !errors.Is(g.Failure(), creds.ErrBadCredentials) {
			t.Fatalf("FinalAsChallenge %v: %q %v %v, failure %v", fac, chal, done, err, g.Failure())
		}
		if _, _, err := g.Next([]byte{}); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("after the reply: %v", err)
		}
	}
}
