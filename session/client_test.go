package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// checkClientOver checks that every call on a finished client session
// returns an error wrapping ErrFinished.
func checkClientOver(t *testing.T, c *session.Client) {
	t.Helper()
	ir, ok, err := c.Start(ctx)
	wantErr(t, "Start after the end", err, session.ErrFinished)
	if ir != nil || ok {
		t.Errorf("Start after the end = %q, %v", ir, ok)
	}
	resp, err := c.Next(ctx, []byte("x"))
	wantErr(t, "Next after the end", err, session.ErrFinished)
	if resp != nil {
		t.Errorf("Next after the end = %q", resp)
	}
	wantErr(t, "Success after the end", c.Success(ctx), session.ErrFinished)
	wantErr(t, "SuccessData after the end", c.SuccessData(ctx, nil), session.ErrFinished)
}

func TestClientStart(t *testing.T) {
	alice := creds.Client{Authcid: "alice", Password: "pw", Token: "tok"}
	tests := []struct {
		name   string
		m      mech.Client
		wantIR []byte
		wantOK bool
		// then, the server's challenges and the client's answers
		challenges []string
		responses  []string
	}{
		{"PLAIN", mech.Plain{}, []byte("\x00alice\x00pw"), true, nil, nil},
		{"EXTERNAL empty", mech.External{}, []byte{}, true, nil, nil},
		{"XOAUTH2", mech.XOAuth2{}, []byte("user=alice\x01auth=Bearer tok\x01\x01"), true, nil, nil},
		{"LOGIN", mech.Login{}, nil, false, []string{"Username:", "Password:"}, []string{"alice", "pw"}},
		{"CRAM-MD5", mech.CRAMMD5{}, nil, false,
			[]string{"<1896.697170952@postoffice.reston.mci.net>"}, []string{"alice 6b2eb8a4a6d0c1d2ba6f2a3b2e2d6a0b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := session.NewClient(tc.m, alice, mech.Channel{}, nil)
			if got := c.Mechanism(); got != tc.m.Name() {
				t.Errorf("Mechanism = %q", got)
			}
			ir, ok, err := c.Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK || !bytes.Equal(ir, tc.wantIR) || (ir == nil) != (tc.wantIR == nil) {
				t.Fatalf("Start = %q, %v; want %q, %v", ir, ok, tc.wantIR, tc.wantOK)
			}
			if tc.wantOK {
				_, _, err := c.Start(ctx)
				wantErr(t, "Start twice", err, session.ErrStarted)
			}
			for i, ch := range tc.challenges {
				resp, err := c.Next(ctx, []byte(ch))
				if err != nil {
					t.Fatalf("Next(%q): %v", ch, err)
				}
				if tc.name == "CRAM-MD5" {
					// Only the shape: the digest is checked by the mech tests.
					if !bytes.HasPrefix(resp, []byte("alice ")) || len(resp) != len("alice ")+32 {
						t.Errorf("Next = %q", resp)
					}
					continue
				}
				if diff := cmp.Diff(tc.responses[i], string(resp)); diff != "" {
					t.Errorf("Next(%q) (-want +got):\n%s", ch, diff)
				}
			}
			if err := c.Success(ctx); err != nil {
				t.Errorf("Success: %v", err)
			}
			checkClientOver(t, c)
		})
	}
}

// TestClientWithoutStart: a caller that cannot send an initial response
// answers the server's first, empty, challenge with Next.
func TestClientWithoutStart(t *testing.T) {
	c := session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice", Password: "pw"}, mech.Channel{}, nil)
	resp, err := c.Next(ctx, []byte{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("\x00alice\x00pw", string(resp)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	_, _, err = c.Start(ctx)
	wantErr(t, "Start after Next", err, session.ErrStarted)
	if err := c.SuccessData(ctx, []byte{}); err != nil {
		t.Errorf("SuccessData(empty): %v", err)
	}
	checkClientOver(t, c)
}

func TestClientSuccessBeforeStart(t *testing.T) {
	c := session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice", Password: "pw"}, mech.Channel{}, nil)
	wantErr(t, "Success before Start", c.Success(ctx), session.ErrNotStarted)
	// That was no protocol failure: the session can still run.
	if _, ok, err := c.Start(ctx); err != nil || !ok {
		t.Fatalf("Start after an early Success: %v, %v", ok, err)
	}
}

func TestClientSuccessData(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		has     bool
		wantErr error
	}{
		{"none", nil, false, nil},
		{"empty", []byte{}, true, nil},
		{"unexpected", []byte("v=x"), true, mech.ErrInvalidChallenge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice", Password: "pw"}, mech.Channel{}, nil)
			if _, _, err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var err error
			if tc.has {
				err = c.SuccessData(ctx, tc.data)
			} else {
				err = c.Success(ctx)
			}
			if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			checkClientOver(t, c)
		})
	}
}

func TestClientFailure(t *testing.T) {
	c := session.NewClient(mech.XOAuth2{}, creds.Client{Authcid: "alice", Token: "tok"}, mech.Channel{}, nil)
	if _, _, err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Failure(); err != nil {
		t.Errorf("Failure before any error = %v", err)
	}
	resp, err := c.Next(ctx, []byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))
	if err != nil {
		t.Fatal(err)
	}
	if resp == nil || len(resp) != 0 {
		t.Errorf("reply to the JSON error = %#v, want empty", resp)
	}
	var te *mech.TokenError
	if err := c.Failure(); !errors.As(err, &te) || !errors.Is(err, mech.ErrAuthFailed) {
		t.Fatalf("Failure = %v, want a *mech.TokenError", err)
	}
	want := &mech.TokenError{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"}
	if diff := cmp.Diff(want, te); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// A malformed JSON error is reported too.
	c = session.NewClient(mech.XOAuth2{}, creds.Client{Authcid: "alice", Token: "tok"}, mech.Channel{}, nil)
	c.Start(ctx)
	if _, err := c.Next(ctx, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Failure after a malformed error", c.Failure(), mech.ErrInvalidChallenge)
}

func TestClientMaxSteps(t *testing.T) {
	tests := []struct {
		name        string
		cfg         *session.Config
		serverFirst bool
		want        int
	}{
		{"nil config", nil, false, session.DefaultMaxSteps},
		{"zero config", &session.Config{}, true, session.DefaultMaxSteps},
		{"two, client-first", &session.Config{MaxSteps: 2}, false, 2},
		// Start on a server-first mechanism is no step.
		{"two, server-first", &session.Config{MaxSteps: 2}, true, 2},
		{"one, server-first", &session.Config{MaxSteps: 1}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &testClient{serverFirst: tc.serverFirst}
			c := session.NewClient(m, creds.Client{}, mech.Channel{}, tc.cfg)
			ir, ok, err := c.Start(ctx)
			if err != nil || ok == tc.serverFirst {
				t.Fatalf("Start = %q, %v, %v", ir, ok, err)
			}
			steps := 0
			if ok {
				steps++
			}
			for ; steps < tc.want; steps++ {
				if _, err := c.Next(ctx, []byte("ch")); err != nil {
					t.Fatalf("step %d of %d: %v", steps+1, tc.want, err)
				}
			}
			_, err = c.Next(ctx, []byte("ch"))
			wantLimit(t, "one step past the limit", err, session.ErrTooManySteps, tc.want)
			checkClientOver(t, c)
		})
	}
}

func TestClientMaxMessage(t *testing.T) {
	tests := []struct {
		name  string
		cfg   *session.Config
		limit int
	}{
		{"nil config", nil, session.DefaultMaxMessage},
		{"five", &session.Config{MaxMessage: 5}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := bytes.Repeat([]byte("c"), tc.limit)
			over := bytes.Repeat([]byte("c"), tc.limit+1)

			m := &testClient{serverFirst: true}
			c := session.NewClient(m, creds.Client{}, mech.Channel{}, tc.cfg)
			if _, err := c.Next(ctx, at); err != nil {
				t.Fatalf("challenge at the limit: %v", err)
			}
			calls := m.calls
			_, err := c.Next(ctx, over)
			wantLimit(t, "challenge past the limit", err, session.ErrTooLarge, tc.limit)
			if m.calls != calls {
				t.Error("mechanism called for an oversize challenge")
			}
			checkClientOver(t, c)

			m = &testClient{serverFirst: true}
			c = session.NewClient(m, creds.Client{}, mech.Channel{}, tc.cfg)
			c.Next(ctx, nil)
			if err := c.SuccessData(ctx, at); err != nil {
				t.Fatalf("success data at the limit: %v", err)
			}
			m = &testClient{serverFirst: true}
			c = session.NewClient(m, creds.Client{}, mech.Channel{}, tc.cfg)
			c.Next(ctx, nil)
			wantLimit(t, "success data past the limit", c.SuccessData(ctx, over), session.ErrTooLarge, tc.limit)
			if m.finals != 0 {
				t.Error("mechanism called for oversize success data")
			}
			checkClientOver(t, c)
		})
	}
}

func TestClientContext(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	alice := creds.Client{Authcid: "alice", Password: "pw"}

	c := session.NewClient(mech.Plain{}, alice, mech.Channel{}, nil)
	_, _, err := c.Start(cctx)
	wantErr(t, "Start", err, context.Canceled)
	checkClientOver(t, c)

	c = session.NewClient(mech.Login{}, alice, mech.Channel{}, nil)
	_, err = c.Next(cctx, []byte("Username:"))
	wantErr(t, "Next", err, context.Canceled)
	checkClientOver(t, c)

	c = session.NewClient(mech.Plain{}, alice, mech.Channel{}, nil)
	c.Start(ctx)
	wantErr(t, "Success", c.Success(cctx), context.Canceled)
	checkClientOver(t, c)
}

func TestClientErrorEnds(t *testing.T) {
	// Invalid credentials end the exchange at Start.
	c := session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice"}, mech.Channel{}, nil)
	_, _, err := c.Start(ctx)
	wantErr(t, "Start without a password", err, mech.ErrInvalidCredentials)
	checkClientOver(t, c)

	// An unexpected challenge ends it at Next.
	c = session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice", Password: "pw"}, mech.Channel{}, nil)
	c.Start(ctx)
	_, err = c.Next(ctx, []byte("more?"))
	wantErr(t, "second challenge", err, mech.ErrUnexpectedChallenge)
	checkClientOver(t, c)
}

// TestClientServer runs each built-in mechanism's client against its
// server through sessions.
func TestClientServer(t *testing.T) {
	var store creds.MemoryStore
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "päss", nil, creds.MinSCRAMIterations, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Add(creds.Account{Name: "alice", Password: "{PLAIN}päss", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	tokens := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.Token != "tok" {
			return mech.ErrAuthFailed
		}
		r.Subject = "alice"
		return nil
	})
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}, Tokens: tokens}
	alice := creds.Client{Authcid: "alice", Password: "päss", Token: "tok"}
	for _, tc := range []struct {
		m interface {
			mech.Server
			mech.Client
		}
		cfg     *session.Config
		account string
	}{
		{mech.Plain{}, cfg, "alice"},
		{mech.Login{}, cfg, "alice"},
		{mech.CRAMMD5{}, cfg, "alice"},
		{scram.Mechanism{}, cfg, "alice"},
		{mech.XOAuth2{}, cfg, "alice"},
		{mech.OAuthBearer{}, cfg, "alice"},
		{mech.External{}, nil, "CN=alice"},
	} {
		for _, useIR := range []bool{true, false} {
			name := tc.m.Name()
			if !useIR {
				name += " without initial response"
			}
			t.Run(name, func(t *testing.T) {
				cli := session.NewClient(tc.m, alice, mech.Channel{}, nil)
				srv := newServer(t, tc.m, mech.Channel{External: "CN=alice"}, tc.cfg)
				var step session.Step
				var err error
				var ir []byte
				var ok bool
				if useIR {
					var cerr error
					if ir, ok, cerr = cli.Start(ctx); cerr != nil {
						t.Fatal(cerr)
					}
				}
				if ok {
					step, err = srv.StartInitial(ctx, ir)
				} else {
					step, err = srv.Start(ctx)
				}
				for n := 0; err == nil && !step.Done; n++ {
					if n > 3 {
						t.Fatal("too many rounds")
					}
					resp, cerr := cli.Next(ctx, step.Challenge)
					if cerr != nil {
						t.Fatalf("client: %v", cerr)
					}
					step, err = srv.Next(ctx, resp)
				}
				if err != nil {
					t.Fatalf("server: %v", err)
				}
				if step.HasFinal {
					err = cli.SuccessData(ctx, step.Final)
				} else {
					err = cli.Success(ctx)
				}
				if err != nil {
					t.Errorf("client Success: %v", err)
				}
				if step.Principal == nil {
					t.Fatal("Done without a principal")
				}
				if got := []string{step.Principal.Account(), step.Principal.Effective(), step.Principal.Mechanism()}; !cmp.Equal(got, []string{tc.account, tc.account, tc.m.Name()}) {
					t.Errorf("Account, Effective, Mechanism = %q; want %s, %s, %s", got, tc.account, tc.account, tc.m.Name())
				}
			})
		}
	}
}

// TestClientServerWrongSecret: with a wrong secret, no mechanism's server
// completes.
func TestClientServerWrongSecret(t *testing.T) {
	cfg := testConfig(t)
	cfg.Tokens = tokenValidator
	wrong := creds.Client{Authcid: "user", Password: "wrong", Token: "wrong"}
	for _, m := range []interface {
		mech.Server
		mech.Client
	}{mech.Plain{}, mech.Login{}, mech.CRAMMD5{}, scram.Mechanism{}, scram.Mechanism{Hash: scram.SHA1}, mech.XOAuth2{}, mech.OAuthBearer{}} {
		t.Run(m.Name(), func(t *testing.T) {
			cli := session.NewClient(m, wrong, mech.Channel{}, nil)
			srv := newServer(t, m, mech.Channel{}, cfg)
			step, err := srv.Start(ctx)
			for n := 0; err == nil && !step.Done; n++ {
				if n > 3 {
					t.Fatal("too many rounds")
				}
				resp, cerr := cli.Next(ctx, step.Challenge)
				if cerr != nil {
					t.Fatalf("client: %v", cerr)
				}
				step, err = srv.Next(ctx, resp)
			}
			if step.Done || step.Principal != nil {
				t.Fatalf("wrong secret: step %+v, %v; want a failure", step, err)
			}
			if !errors.Is(err, creds.ErrBadCredentials) && !errors.Is(err, mech.ErrAuthFailed) {
				t.Errorf("wrong secret: %v, want ErrBadCredentials or ErrAuthFailed", err)
			}
		})
	}
}

// TestClientStartNotSent: a caller that called Start but could not send the
// initial response (the server takes none) answers the server's empty
// first challenge with Next, which gives the initial response again, and
// the exchange completes. Before, PLAIN failed with "unexpected challenge"
// and SCRAM with "missing or bad nonce".
func TestClientStartNotSent(t *testing.T) {
	cfg := testConfig(t)
	for _, tc := range []struct {
		m interface {
			mech.Server
			mech.Client
		}
		user, password string
	}{
		{mech.Plain{}, clearUser, clearPassword},
		{scram.Mechanism{Hash: scram.SHA256}, scramUser, "pencil"},
		{mech.External{}, "", ""},
	} {
		t.Run(tc.m.Name(), func(t *testing.T) {
			ch := mech.Channel{Secure: true, External: "carol"}
			cli := session.NewClient(tc.m, creds.Client{Authcid: tc.user, Password: tc.password}, ch, nil)
			ir, ok, err := cli.Start(ctx)
			if err != nil || !ok {
				t.Fatalf("Start: %v %v", ok, err)
			}
			srv := newServer(t, tc.m, ch, cfg)
			step, err := srv.Start(ctx) // the initial response never went out
			if err != nil || len(step.Challenge) != 0 {
				t.Fatalf("server Start: %q, %v", step.Challenge, err)
			}
			resp, err := cli.Next(ctx, step.Challenge)
			if err != nil {
				t.Fatalf("Next(empty challenge) after Start: %v", err)
			}
			if !bytes.Equal(resp, ir) {
				t.Errorf("Next(empty challenge) = %q, want the initial response %q", resp, ir)
			}
			for err == nil && !step.Done {
				if step, err = srv.Next(ctx, resp); err == nil && !step.Done {
					resp, err = cli.Next(ctx, step.Challenge)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if step.HasFinal {
				err = cli.SuccessData(ctx, step.Final)
			} else {
				err = cli.Success(ctx)
			}
			if err != nil {
				t.Errorf("client refused the outcome: %v", err)
			}
		})
	}
	// A non-empty challenge right after Start is answered by the
	// mechanism, as before: PLAIN has nothing more to say.
	cli := session.NewClient(mech.Plain{}, creds.Client{Authcid: clearUser, Password: clearPassword}, mech.Channel{Secure: true}, nil)
	if _, _, err := cli.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Next(ctx, []byte("x")); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("PLAIN Next(non-empty) after Start: %v", err)
	}
}

// TestClientReset: a reset Client runs a new exchange, with nothing of the
// last one, and the responses it returned stay as they were.
func TestClientReset(t *testing.T) {
	c := session.NewClient(mech.Plain{}, creds.Client{Authcid: "alice", Password: "pw"}, mech.Channel{}, nil)
	ir1, _, err := c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Success(ctx); err != nil {
		t.Fatal(err)
	}
	c.Reset(mech.Login{}, creds.Client{Authcid: "bob", Password: "secret"}, mech.Channel{})
	if c.Mechanism() != "LOGIN" || c.Last() {
		t.Fatalf("after Reset: %s, Last %v", c.Mechanism(), c.Last())
	}
	if _, ok, err := c.Start(ctx); ok || err != nil {
		t.Fatalf("LOGIN Start after Reset: %v, %v", ok, err)
	}
	if r, err := c.Next(ctx, []byte("Username:")); err != nil || string(r) != "bob" {
		t.Fatalf("LOGIN user: %q, %v", r, err)
	}
	if string(ir1) != "\x00alice\x00pw" {
		t.Errorf("the first exchange's response changed: %q", ir1)
	}
}
