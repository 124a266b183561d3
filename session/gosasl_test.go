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
	store := &creds.MapStore{}
	store.Add(creds.ClearIdentity{Name: "user", Password: "pencil"})
	cfg := &session.Config{Identities: store}

	// nil: no initial response; the empty challenge comes first.
	g := session.NewServer(mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	ch, done, err := g.Next(nil)
	if err != nil || done || len(ch) != 0 {
		t.Fatalf("start: %q %v %v", ch, done, err)
	}
	if _, done, err = g.Next([]byte("\x00user\x00pencil")); err != nil || !done {
		t.Fatalf("response: %v %v", done, err)
	}
	if g.Step().Creds.Authcid() != "user" || !g.Step().Verified {
		t.Errorf("step %+v", g.Step())
	}

	// Non-nil: the initial response.
	g = session.NewServer(mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, done, err = g.Next([]byte("\x00user\x00pencil")); err != nil || !done {
		t.Fatalf("initial response: %v %v", done, err)
	}
	// An empty, non-nil initial response is one, and PLAIN refuses it.
	g = session.NewServer(mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, _, err = g.Next([]byte{}); !errors.Is(err, mech.ErrInvalidResponse) {
		t.Errorf("empty initial response: %v", err)
	}
	g = session.NewServer(mech.Plain{}, mech.Channel{}, cfg).GoSASL(ctx)
	if _, _, err = g.Next([]byte("\x00user\x00wrong")); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
}

// TestGoSASLFinalData: SCRAM's v= never comes back together with done,
// which go-smtp and go-imap would drop, and e= comes as a challenge before
// the error.
func TestGoSASLFinalData(t *testing.T) {
	store := &scram.MemoryStore{}
	if err := store.SetPassword("user", "pencil", 4096, scram.SHA256); err != nil {
		t.Fatal(err)
	}
	m := scram.Mechanism{Store: store}
	for _, password := range []string{"pencil", "wrong"} {
		g := session.NewServer(m, mech.Channel{}, nil).GoSASL(ctx)
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
			continue
		}
		var se *scram.ServerError
		if !errors.Is(err, mech.ErrAuthFailed) || !errors.As(cli.Failure(), &se) || se.Value != "invalid-proof" {
			t.Errorf("wrong password: server %v, client saw %v", err, cli.Failure())
		}
	}
}

// TestStepFailure: with FinalAsChallenge, the step carrying e= says so.
func TestStepFailure(t *testing.T) {
	store := &scram.MemoryStore{}
	if err := store.SetPassword("user", "pencil", 4096, scram.SHA256); err != nil {
		t.Fatal(err)
	}
	m := scram.Mechanism{Store: store}
	srv := session.NewServer(m, mech.Channel{}, &session.Config{FinalAsChallenge: true})
	cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "wrong"}, mech.Channel{}, nil)
	ir, _, _ := cli.Start(ctx)
	step, err := srv.StartInitial(ctx, ir)
	if err != nil || step.Failure != nil {
		t.Fatalf("server-first: %+v %v", step, err)
	}
	resp, _ := cli.Next(ctx, step.Challenge)
	step, err = srv.Next(ctx, resp)
	if err != nil || step.Done || !errors.Is(step.Failure, mech.ErrAuthFailed) || string(step.Challenge) != "e=invalid-proof" {
		t.Fatalf("failure step: %+v %v", step, err)
	}
	if _, err := srv.Next(ctx, nil); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("after the reply: %v", err)
	}
}
