package session_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

func TestServerMaxSteps(t *testing.T) {
	tests := []struct {
		name    string
		cfg     *session.Config
		initial bool
		want    int
	}{
		{"nil config", nil, false, session.DefaultMaxSteps},
		{"zero config", &session.Config{}, false, session.DefaultMaxSteps},
		{"negative", &session.Config{MaxSteps: -1}, false, session.DefaultMaxSteps},
		{"one", &session.Config{MaxSteps: 1}, false, 1},
		{"three", &session.Config{MaxSteps: 3}, false, 3},
		{"three with initial response", &session.Config{MaxSteps: 3}, true, 3},
		{"one with initial response", &session.Config{MaxSteps: 1}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := alwaysChallenge()
			s := newServer(t, m, mech.Channel{}, tc.cfg)
			var err error
			if tc.initial {
				_, err = s.StartInitial(ctx, []byte("ir"))
			} else {
				_, err = s.Start(ctx)
			}
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			// Exactly want attempts succeed: the start and want-1 responses.
			for i := 1; i < tc.want; i++ {
				if _, err := s.Next(ctx, []byte("r")); err != nil {
					t.Fatalf("response %d of %d: %v", i, tc.want-1, err)
				}
			}
			_, err = s.Next(ctx, []byte("r"))
			wantLimit(t, "one step past the limit", err, session.ErrTooManySteps, tc.want)
			if m.calls != tc.want {
				t.Errorf("mechanism called %d times, want %d", m.calls, tc.want)
			}
			checkServerOver(t, s)
			if m.calls != tc.want {
				t.Errorf("mechanism called %d times after the end, want %d", m.calls, tc.want)
			}
		})
	}
}

func TestServerMaxMessage(t *testing.T) {
	tests := []struct {
		name  string
		cfg   *session.Config
		limit int
	}{
		{"nil config", nil, session.DefaultMaxMessage},
		{"zero config", &session.Config{}, session.DefaultMaxMessage},
		{"ten", &session.Config{MaxMessage: 10}, 10},
		{"one", &session.Config{MaxMessage: 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := bytes.Repeat([]byte("a"), tc.limit)
			over := bytes.Repeat([]byte("a"), tc.limit+1)

			t.Run("initial", func(t *testing.T) {
				m := alwaysChallenge()
				s := newServer(t, m, mech.Channel{}, tc.cfg)
				if _, err := s.StartInitial(ctx, at); err != nil {
					t.Fatalf("StartInitial at the limit: %v", err)
				}
				m = alwaysChallenge()
				s = newServer(t, m, mech.Channel{}, tc.cfg)
				_, err := s.StartInitial(ctx, over)
				wantLimit(t, "StartInitial past the limit", err, session.ErrTooLarge, tc.limit)
				if m.calls != 0 {
					t.Errorf("mechanism called %d times for an oversize message", m.calls)
				}
				checkServerOver(t, s)
			})
			t.Run("next", func(t *testing.T) {
				m := alwaysChallenge()
				s := newServer(t, m, mech.Channel{}, tc.cfg)
				if _, err := s.Start(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Next(ctx, at); err != nil {
					t.Fatalf("Next at the limit: %v", err)
				}
				if diff := cmp.Diff(string(at), m.seen[1][0].Response); diff != "" {
					t.Errorf("response the mechanism saw (-want +got):\n%s", diff)
				}
				_, err := s.Next(ctx, over)
				wantLimit(t, "Next past the limit", err, session.ErrTooLarge, tc.limit)
				if m.calls != 2 {
					t.Errorf("mechanism called %d times, want 2: not for the oversize message", m.calls)
				}
				checkServerOver(t, s)
			})
		})
	}
}

// TestServerInitialResponse: no initial response, a nil one and an empty
// one reach the mechanism differently.
func TestServerInitialResponse(t *testing.T) {
	tests := []struct {
		name  string
		start func(*session.Server) (session.Step, error)
		want  []pair
	}{
		{"Start", func(s *session.Server) (session.Step, error) { return s.Start(ctx) }, []pair{}},
		{"StartInitial nil", func(s *session.Server) (session.Step, error) { return s.StartInitial(ctx, nil) },
			[]pair{{Initial: true, NilResponse: true}}},
		{"StartInitial empty", func(s *session.Server) (session.Step, error) { return s.StartInitial(ctx, []byte{}) },
			[]pair{{Initial: true}}},
		{"StartInitial data", func(s *session.Server) (session.Step, error) { return s.StartInitial(ctx, []byte("ir")) },
			[]pair{{Initial: true, Response: "ir"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := alwaysChallenge()
			if _, err := tc.start(newServer(t, m, mech.Channel{}, nil)); err != nil {
				t.Fatal(err)
			}
			// Whether the empty response is nil is not the point: Initial is.
			got := m.seen[0]
			for i := range got {
				got[i].NilResponse = tc.want[i].NilResponse
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("transcript (-want +got):\n%s", diff)
			}
		})
	}

	// With PLAIN the difference shows: no initial response gets the empty
	// challenge, an empty initial response is a malformed message.
	cfg := testConfig(t)
	s := newServer(t, mech.Plain{}, mech.Channel{}, cfg)
	step, err := s.Start(ctx)
	if err != nil || step.Done || step.Challenge == nil || len(step.Challenge) != 0 {
		t.Errorf("PLAIN Start = %+v, %v; want the empty challenge", step, err)
	}
	for _, ir := range [][]byte{nil, {}} {
		s = newServer(t, mech.Plain{}, mech.Channel{}, cfg)
		_, err = s.StartInitial(ctx, ir)
		wantErr(t, fmt.Sprintf("PLAIN StartInitial(%#v)", ir), err, mech.ErrInvalidResponse)
	}
}

func TestServerMisuse(t *testing.T) {
	s := newServer(t, alwaysChallenge(), mech.Channel{}, nil)
	_, err := s.Next(ctx, []byte("x"))
	wantErr(t, "Next before Start", err, session.ErrNotStarted)
	// That was no protocol failure: the session can still start.
	if _, err := s.Start(ctx); err != nil {
		t.Fatalf("Start after an early Next: %v", err)
	}
	_, err = s.Start(ctx)
	wantErr(t, "Start twice", err, session.ErrStarted)
	_, err = s.StartInitial(ctx, nil)
	wantErr(t, "StartInitial after Start", err, session.ErrStarted)
	if _, err := s.Next(ctx, []byte("x")); err != nil {
		t.Errorf("Next after misuse: %v", err)
	}
	if got := s.Mechanism(); got != "X-TEST" {
		t.Errorf("Mechanism = %q", got)
	}
}

// TestServerFinished: whatever ended the exchange, every later call returns
// ErrFinished and none panics.
func TestServerFinished(t *testing.T) {
	boom := errors.New("boom")
	store := testConfig(t)
	tests := []struct {
		name string
		m    mech.Server
		cfg  *session.Config
		run  func(*session.Server) error
	}{
		{"success at start", succeedAfter(1, nil, false), nil,
			func(s *session.Server) error { _, err := s.StartInitial(ctx, []byte("x")); return err }},
		{"success after a challenge", succeedAfter(1, nil, false), nil,
			func(s *session.Server) error { s.Start(ctx); _, err := s.Next(ctx, []byte("x")); return err }},
		{"success with final data", succeedAfter(1, []byte("v"), true), nil,
			func(s *session.Server) error { _, err := s.StartInitial(ctx, []byte("x")); return err }},
		{"success with final as challenge", succeedAfter(1, []byte("v"), true), &session.Config{FinalAsChallenge: true},
			func(s *session.Server) error {
				s.StartInitial(ctx, []byte("x"))
				_, err := s.Next(ctx, nil)
				return err
			}},
		{"mechanism error", failWith(boom), nil,
			func(s *session.Server) error { _, err := s.StartInitial(ctx, []byte("x")); return err }},
		{"failure data", failWith(&mech.FailureError{Data: []byte("e=x"), Err: mech.ErrAuthFailed}), nil,
			func(s *session.Server) error { s.StartInitial(ctx, []byte("x")); return nil }},
		{"failure data as challenge", failWith(&mech.FailureError{Data: []byte("e=x"), Err: mech.ErrAuthFailed}), &session.Config{FinalAsChallenge: true},
			func(s *session.Server) error {
				s.StartInitial(ctx, []byte("x"))
				s.Next(ctx, []byte("junk"))
				return nil
			}},
		{"unexpected reply", succeedAfter(1, []byte("v"), true), &session.Config{FinalAsChallenge: true},
			func(s *session.Server) error {
				s.StartInitial(ctx, []byte("x"))
				s.Next(ctx, []byte("junk"))
				return nil
			}},
		{"too many steps", alwaysChallenge(), &session.Config{MaxSteps: 1},
			func(s *session.Server) error { s.Start(ctx); s.Next(ctx, nil); return nil }},
		{"too large", alwaysChallenge(), &session.Config{MaxMessage: 1},
			func(s *session.Server) error { s.Start(ctx); s.Next(ctx, []byte("xx")); return nil }},
		{"PLAIN malformed", mech.Plain{}, store,
			func(s *session.Server) error { s.StartInitial(ctx, []byte("junk")); return nil }},
		{"PLAIN wrong password", mech.Plain{}, store,
			func(s *session.Server) error { s.StartInitial(ctx, []byte("\x00alice\x00wrong")); return nil }},
		{"PLAIN unknown user", mech.Plain{}, store,
			func(s *session.Server) error { s.StartInitial(ctx, []byte("\x00carol\x00alicepass")); return nil }},
		{"PLAIN unauthorized", mech.Plain{}, store,
			func(s *session.Server) error { s.StartInitial(ctx, []byte("z\x00alice\x00alicepass")); return nil }},
		{"PLAIN success", mech.Plain{}, store,
			func(s *session.Server) error {
				_, err := s.StartInitial(ctx, []byte("\x00alice\x00alicepass"))
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.m, mech.Channel{}, tc.cfg)
			_ = tc.run(s)
			checkServerOver(t, s)
		})
	}
}

func TestServerContext(t *testing.T) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	m := alwaysChallenge()
	s := newServer(t, m, mech.Channel{}, nil)
	_, err := s.Start(cctx)
	wantErr(t, "Start with a cancelled context", err, context.Canceled)
	if m.calls != 0 {
		t.Errorf("mechanism called %d times", m.calls)
	}
	checkServerOver(t, s)

	s = newServer(t, m, mech.Channel{}, nil)
	if _, err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = s.Next(cctx, []byte("x"))
	wantErr(t, "Next with a cancelled context", err, context.Canceled)
	checkServerOver(t, s)
}

func ptr(s string) *string { return &s }

func TestFinalAsChallenge(t *testing.T) {
	failure := &mech.FailureError{Data: []byte("e=other-error"), Err: fmt.Errorf("scram: %w", mech.ErrAuthFailed)}
	tests := []struct {
		name      string
		m         *testServer
		on        bool
		reply     []byte
		challenge *string      // the data sent as a challenge, if any
		wantStep  session.Step // after the initial response, or after the reply
		wantErr   error
	}{
		{name: "success data off", m: succeedAfter(1, []byte("v=proof"), true),
			wantStep: session.Step{Done: true, Final: []byte("v=proof"), HasFinal: true}},
		{name: "empty success data off", m: succeedAfter(1, []byte{}, true),
			wantStep: session.Step{Done: true, Final: []byte{}, HasFinal: true}},
		{name: "no success data off", m: succeedAfter(1, nil, false),
			wantStep: session.Step{Done: true}},
		{name: "no success data on", m: succeedAfter(1, nil, false), on: true,
			wantStep: session.Step{Done: true}},
		{name: "success data on, empty reply", m: succeedAfter(1, []byte("v=proof"), true), on: true, reply: []byte{}, challenge: ptr("v=proof"),
			wantStep: session.Step{Done: true}},
		{name: "success data on, nil reply", m: succeedAfter(1, []byte("v=proof"), true), on: true, reply: nil, challenge: ptr("v=proof"),
			wantStep: session.Step{Done: true}},
		{name: "empty success data on, empty reply", m: succeedAfter(1, []byte{}, true), on: true, reply: []byte{}, challenge: ptr(""),
			wantStep: session.Step{Done: true}},
		{name: "success data on, non-empty reply", m: succeedAfter(1, []byte("v=proof"), true), on: true, reply: []byte("x"), challenge: ptr("v=proof"),
			wantErr: session.ErrUnexpectedReply},
		{name: "failure data off", m: failWith(failure), wantErr: failure},
		{name: "failure data on, empty reply", m: failWith(failure), on: true, reply: []byte{}, challenge: ptr("e=other-error"), wantErr: mech.ErrAuthFailed},
		{name: "failure data on, non-empty reply", m: failWith(failure), on: true, reply: []byte("junk"), challenge: ptr("e=other-error"), wantErr: mech.ErrAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.m, mech.Channel{}, &session.Config{FinalAsChallenge: tc.on})
			step, err := s.StartInitial(ctx, []byte("ir"))
			if tc.challenge != nil {
				// The data went as a challenge.
				if err != nil || step.Done || step.HasFinal {
					t.Fatalf("got %+v, %v; want a challenge", step, err)
				}
				if diff := cmp.Diff(*tc.challenge, string(step.Challenge)); diff != "" {
					t.Errorf("challenge (-want +got):\n%s", diff)
				}
				step, err = s.Next(ctx, tc.reply)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want one wrapping %v", err, tc.wantErr)
				}
				var fe *mech.FailureError
				switch {
				case tc.on && errors.As(err, &fe):
					t.Errorf("error %v is still a *FailureError after its data went as a challenge", err)
				case !tc.on && errors.Is(tc.wantErr, failure):
					if !errors.As(err, &fe) {
						t.Fatalf("error %v, want a *FailureError", err)
					}
					if diff := cmp.Diff("e=other-error", string(fe.Data)); diff != "" {
						t.Errorf("failure data (-want +got):\n%s", diff)
					}
				}
				if step.Done {
					t.Error("Done step with an error")
				}
				checkServerOver(t, s)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if step.Principal == nil {
				t.Fatal("Done without a principal")
			}
			if got := step.Principal.String(); got != `X-TEST account="alice"` {
				t.Errorf("principal %s, want the mechanism's", got)
			}
			step.Principal = nil
			if diff := cmp.Diff(tc.wantStep, step); diff != "" {
				t.Errorf("step (-want +got):\n%s", diff)
			}
			checkServerOver(t, s)
		})
	}
}

// TestServerCopiesResponses: the session keeps its own copy of each
// response; a caller reusing its read buffer does not change the
// transcript.
func TestServerCopiesResponses(t *testing.T) {
	m := succeedAfter(4, nil, false)
	s := newServer(t, m, mech.Channel{}, nil)
	buf := []byte("first")
	if _, err := s.StartInitial(ctx, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	buf = append(buf[:0], "second"...)
	if _, err := s.Next(ctx, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "YYYYYY")
	buf = append(buf[:0], "third"...)
	if _, err := s.Next(ctx, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "ZZZZZ")
	if _, err := s.Next(ctx, []byte("fourth")); err != nil {
		t.Fatal(err)
	}
	want := []pair{
		{Initial: true, Response: "first"},
		{Challenge: "more", Response: "second"},
		{Challenge: "more", Response: "third"},
		{Challenge: "more", Response: "fourth"},
	}
	if diff := cmp.Diff(want, m.seen[len(m.seen)-1]); diff != "" {
		t.Errorf("last transcript (-want +got):\n%s", diff)
	}
}

// failingStore is an account store whose lookups fail.
type failingStore struct{ err error }

func (f failingStore) Lookup(context.Context, string) (creds.Identity, error) { return nil, f.err }
func (f failingStore) Profile() creds.Profile                                 { return creds.Profile{ClearSecrets: true} }

// countingStore counts lookups.
type countingStore struct {
	creds.Store
	mu sync.Mutex
	n  int
}

func (c *countingStore) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Store.Lookup(ctx, name)
}

// tokenValidator accepts the token "t" as issued to alice, and "nosubject"
// without saying to whom.
var tokenValidator = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
	switch r.Token {
	case "t":
		r.Subject = "alice"
		return nil
	case "nosubject":
		return nil
	}
	return &mech.TokenError{Status: "invalid_token"}
})

// TestServerIdentities: the session's mechanisms check passwords through
// the Config's Verifier, once per exchange, and a done step names the
// account by its canonical name.
func TestServerIdentities(t *testing.T) {
	store := testStore(t)
	down := errors.New("directory down")

	type result struct {
		Done    bool
		Account string
		Steps   int
	}
	tests := []struct {
		name    string
		m       mech.Server
		store   creds.Store
		msgs    []string // the initial response, then responses
		want    result
		wantErr error
	}{
		{"PLAIN good", mech.Plain{}, store, []string{"\x00alice\x00alicepass"}, result{true, "alice", 1}, nil},
		{"PLAIN good hashed", mech.Plain{}, store, []string{"\x00bob\x00bobpass"}, result{true, "bob", 1}, nil},
		{"PLAIN canonical name", mech.Plain{}, store, []string{"\x00ａｌｉｃｅ\x00alicepass"}, result{true, "alice", 1}, nil},
		{"PLAIN wrong password", mech.Plain{}, store, []string{"\x00alice\x00wrong"}, result{Steps: 1}, creds.ErrBadCredentials},
		{"PLAIN unknown user", mech.Plain{}, store, []string{"\x00carol\x00alicepass"}, result{Steps: 1}, creds.ErrBadCredentials},
		{"PLAIN store down", mech.Plain{}, failingStore{down}, []string{"\x00alice\x00alicepass"}, result{Steps: 1}, down},
		{"LOGIN good", mech.Login{}, store, []string{"alice", "alicepass"}, result{true, "alice", 2}, nil},
		{"LOGIN canonical name", mech.Login{}, store, []string{"al\u00ADice", "alicepass"}, result{true, "alice", 2}, nil},
		{"LOGIN wrong password", mech.Login{}, store, []string{"alice", "wrong"}, result{Steps: 2}, creds.ErrBadCredentials},
		{"LOGIN unknown user", mech.Login{}, store, []string{"carol", "alicepass"}, result{Steps: 2}, creds.ErrBadCredentials},
		{"LOGIN store down", mech.Login{}, failingStore{down}, []string{"alice", "alicepass"}, result{Steps: 2}, down},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs := &countingStore{Store: tc.store}
			s := newServer(t, tc.m, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: cs}})
			step, err := s.StartInitial(ctx, []byte(tc.msgs[0]))
			steps := 1
			for _, msg := range tc.msgs[1:] {
				if err != nil {
					break
				}
				step, err = s.Next(ctx, []byte(msg))
				steps++
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error %v, want one wrapping %v", err, tc.wantErr)
			}
			if tc.wantErr == down && errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("store failure %v reported as bad credentials", err)
			}
			got := result{Done: step.Done, Steps: steps}
			if step.Principal != nil {
				got.Account = step.Principal.Account()
			}
			if step.Done != (step.Principal != nil) {
				t.Errorf("step %+v: Done without a principal, or a principal without Done", step)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if cs.n != 1 {
				t.Errorf("store looked up %d times, want 1", cs.n)
			}
		})
	}

	// Wrong password and unknown user cannot be told apart.
	run := func(msg string) string {
		s := newServer(t, mech.Plain{}, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: store}})
		_, err := s.StartInitial(ctx, []byte(msg))
		return fmt.Sprint(err)
	}
	if diff := cmp.Diff(run("\x00alice\x00wrong"), run("\x00carol\x00alicepass")); diff != "" {
		t.Errorf("wrong password and unknown user differ (-wrong +unknown):\n%s", diff)
	}

	// Tokens are checked by the token validator, not the store.
	cs := &countingStore{Store: failingStore{down}}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: cs}, Tokens: tokenValidator}
	s := newServer(t, mech.XOAuth2{}, mech.Channel{}, cfg)
	step, err := s.StartInitial(ctx, []byte("user=alice\x01auth=Bearer t\x01\x01"))
	if err != nil || !step.Done || step.Principal == nil || step.Principal.Account() != "alice" || cs.n != 0 {
		t.Errorf("token: %+v, %v, %d lookups; want Done as alice without a lookup", step, err, cs.n)
	}
	// A validator that accepts a token without naming its subject lets
	// nobody in.
	s = newServer(t, mech.XOAuth2{}, mech.Channel{}, cfg)
	step, err = s.StartInitial(ctx, []byte("user=alice\x01auth=Bearer nosubject\x01\x01"))
	if !errors.Is(err, creds.ErrMisconfigured) || step.Done || step.Principal != nil {
		t.Errorf("token without a subject: %+v, %v; want ErrMisconfigured", step, err)
	}
}

// TestServerMisconfigured: a session cannot be built for a mechanism that
// lacks what it checks against, so that no misconfiguration lets a client
// in or shows as a failed login.
func TestServerMisconfigured(t *testing.T) {
	hashed, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var hashedOnly creds.MemoryStore
	if err := hashedOnly.Add(creds.Account{Name: "alice", Password: hashed}); err != nil {
		t.Fatal(err)
	}
	full := testConfig(t)
	hashedCfg := &session.Config{Verifier: &creds.Verifier{Store: &hashedOnly}, Tokens: tokenValidator}
	tokensOnly := &session.Config{Tokens: tokenValidator}
	noStore := &session.Config{Verifier: &creds.Verifier{}, Tokens: tokenValidator}
	sha512 := scram.Mechanism{Hash: scram.SHA512}
	tests := []struct {
		name string
		m    mech.Server
		cfg  *session.Config
		ok   bool
	}{
		{"PLAIN nil config", mech.Plain{}, nil, false},
		{"PLAIN zero config", mech.Plain{}, &session.Config{}, false},
		{"PLAIN tokens only", mech.Plain{}, tokensOnly, false},
		{"PLAIN Verifier without Store", mech.Plain{}, noStore, false},
		{"PLAIN", mech.Plain{}, full, true},
		{"LOGIN nil config", mech.Login{}, nil, false},
		{"LOGIN Verifier without Store", mech.Login{}, noStore, false},
		{"LOGIN", mech.Login{}, full, true},
		{"CRAM-MD5 nil config", mech.CRAMMD5{}, nil, false},
		{"CRAM-MD5 without clear passwords", mech.CRAMMD5{}, hashedCfg, false},
		{"CRAM-MD5", mech.CRAMMD5{}, full, true},
		{"SCRAM nil config", scram.Mechanism{}, nil, false},
		{"SCRAM without keys", scram.Mechanism{}, hashedCfg, false},
		{"SCRAM-SHA-512 with SHA-256 keys only", sha512, full, false},
		{"SCRAM-SHA-256", scram.Mechanism{}, full, true},
		{"SCRAM-SHA-1", scram.Mechanism{Hash: scram.SHA1}, full, true},
		{"XOAUTH2 nil config", mech.XOAuth2{}, nil, false},
		{"XOAUTH2 without tokens", mech.XOAuth2{}, full, false},
		{"XOAUTH2", mech.XOAuth2{}, tokensOnly, true},
		{"OAUTHBEARER without tokens", mech.OAuthBearer{}, full, false},
		{"OAUTHBEARER", mech.OAuthBearer{}, tokensOnly, true},
		{"EXTERNAL needs nothing", mech.External{}, nil, true},
		{"ANONYMOUS needs nothing", mech.Anonymous{}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := session.NewServer(tc.m, mech.Channel{Secure: true}, tc.cfg)
			if tc.ok {
				if err != nil || s == nil {
					t.Fatalf("NewServer = %v, %v", s, err)
				}
				return
			}
			if !errors.Is(err, creds.ErrMisconfigured) || s != nil {
				t.Fatalf("NewServer = %v, %v; want ErrMisconfigured", s, err)
			}
			if !strings.Contains(err.Error(), tc.m.Name()) {
				t.Errorf("error %q does not name %s", err, tc.m.Name())
			}
		})
	}
}

// TestServerAuthenticatesFirst: authorization runs only once the password
// was verified, so a wrong password never reaches the policy, and a right
// one with a refused authzid fails with ErrUnauthorized.
func TestServerAuthenticatesFirst(t *testing.T) {
	var calls int
	cfg := testConfig(t)
	cfg.Authorizer = creds.AuthorizerFunc(func(context.Context, string, string) error {
		calls++
		return creds.ErrUnauthorized
	})
	s := newServer(t, mech.Plain{}, mech.Channel{}, cfg)
	step, err := s.StartInitial(ctx, []byte("bob\x00alice\x00wrong"))
	if !errors.Is(err, creds.ErrBadCredentials) || errors.Is(err, creds.ErrUnauthorized) || step.Done || calls != 0 {
		t.Errorf("wrong password: %+v, %v, %d policy calls; want ErrBadCredentials and no call", step, err, calls)
	}
	checkServerOver(t, s)
	s = newServer(t, mech.Plain{}, mech.Channel{}, cfg)
	step, err = s.StartInitial(ctx, []byte("bob\x00alice\x00alicepass"))
	if !errors.Is(err, creds.ErrUnauthorized) || errors.Is(err, creds.ErrBadCredentials) || step.Done || calls != 1 {
		t.Errorf("right password: %+v, %v, %d policy calls; want ErrUnauthorized after one call", step, err, calls)
	}
	checkServerOver(t, s)
}

func TestServerAuthorizer(t *testing.T) {
	down := errors.New("policy down")
	type call struct{ Account, Authzid string }
	tests := []struct {
		name      string
		ir        string
		custom    func(account, authzid string) error
		wantErr   error
		wantCalls []call
		effective string // on success
	}{
		{name: "self only, no authzid", ir: "\x00alice\x00alicepass", effective: "alice"},
		{name: "self only, same", ir: "alice\x00alice\x00alicepass", effective: "alice"},
		{name: "self only, same after SASLprep", ir: "al\u00ADice\x00alice\x00alicepass", effective: "alice"},
		{name: "self only, same fullwidth", ir: "ａｌｉｃｅ\x00alice\x00alicepass", effective: "alice"},
		{name: "self only, same as the canonical name", ir: "alice\x00ａｌｉｃｅ\x00alicepass", effective: "alice"},
		{name: "self only, other", ir: "bob\x00alice\x00alicepass", wantErr: creds.ErrUnauthorized},
		{name: "self only, wrong password", ir: "bob\x00alice\x00wrong", wantErr: creds.ErrBadCredentials},
		{name: "custom allows", ir: "bob\x00alice\x00alicepass",
			custom: func(string, string) error { return nil }, wantCalls: []call{{"alice", "bob"}}, effective: "bob"},
		{name: "custom sees canonical names", ir: "ｇｕｅｓｔ\x00ａｌｉｃｅ\x00alicepass",
			custom: func(string, string) error { return nil }, wantCalls: []call{{"alice", "guest"}}, effective: "guest"},
		{name: "custom refuses", ir: "bob\x00alice\x00alicepass",
			custom:  func(string, string) error { return fmt.Errorf("no: %w", creds.ErrUnauthorized) },
			wantErr: creds.ErrUnauthorized, wantCalls: []call{{"alice", "bob"}}},
		{name: "custom temporary failure", ir: "bob\x00alice\x00alicepass",
			custom: func(string, string) error { return down }, wantErr: down, wantCalls: []call{{"alice", "bob"}}},
		{name: "custom not called without authzid", ir: "\x00alice\x00alicepass",
			custom: func(string, string) error { return down }, effective: "alice"},
		{name: "custom not called for the account itself", ir: "alice\x00alice\x00alicepass",
			custom: func(string, string) error { return down }, effective: "alice"},
		{name: "custom not called after a wrong password", ir: "bob\x00alice\x00wrong",
			custom: func(string, string) error { return nil }, wantErr: creds.ErrBadCredentials},
		{name: "custom not called for an unknown user", ir: "bob\x00carol\x00alicepass",
			custom: func(string, string) error { return nil }, wantErr: creds.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			var calls []call
			if tc.custom != nil {
				cfg.Authorizer = creds.AuthorizerFunc(func(_ context.Context, account, authzid string) error {
					calls = append(calls, call{account, authzid})
					return tc.custom(account, authzid)
				})
			}
			s := newServer(t, mech.Plain{}, mech.Channel{}, cfg)
			step, err := s.StartInitial(ctx, []byte(tc.ir))
			if tc.wantErr == nil {
				if err != nil || !step.Done {
					t.Fatalf("got %+v, %v; want Done", step, err)
				}
				p := step.Principal
				if got := []string{p.Account(), p.Effective()}; !cmp.Equal(got, []string{"alice", tc.effective}) {
					t.Errorf("Account, Effective = %q, want alice, %s", got, tc.effective)
				}
				if p.Effective() == p.Account() && p.Authzid() != "" {
					t.Errorf("Authzid = %q for the account itself", p.Authzid())
				}
			} else {
				wantErr(t, "StartInitial", err, tc.wantErr)
				if step.Done || step.Principal != nil {
					t.Error("Done step with an error")
				}
			}
			if diff := cmp.Diff(tc.wantCalls, calls); diff != "" {
				t.Errorf("authorizer calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServerReset: one Server serves successive exchanges on a connection,
// each as a new session: nothing of the last one carries over, and a Step
// it returned keeps its Principal.
func TestServerReset(t *testing.T) {
	cfg := testConfig(t)
	s, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartInitial(ctx, []byte("\x00user\x00wrong")); !errors.Is(err, creds.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := s.Reset(mech.Plain{}, mech.Channel{Secure: true}); err != nil {
		t.Fatal(err)
	}
	first, err := s.StartInitial(ctx, []byte("\x00user\x00pencil"))
	if err != nil || !first.Done {
		t.Fatalf("after Reset: %+v, %v", first, err)
	}
	// A SCRAM exchange next, started without an initial response.
	if err := s.Reset(scram.Mechanism{}, mech.Channel{}); err != nil {
		t.Fatal(err)
	}
	cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, nil)
	p, err := session.Run(ctx, cli, s, nil)
	if err != nil || p.Mechanism() != "SCRAM-SHA-256" || first.Principal.Mechanism() != "PLAIN" || first.Principal.Account() != "user" {
		t.Fatalf("SCRAM after Reset: %v, %v; first principal %v", p, err, first.Principal)
	}
	// A mechanism the configuration cannot run: an error, and the
	// session is over.
	if err := s.Reset(mech.OAuthBearer{}, mech.Channel{Secure: true}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Fatalf("Reset to OAUTHBEARER without a validator: %v", err)
	}
	if _, err := s.Start(ctx); !errors.Is(err, session.ErrFinished) {
		t.Errorf("Start after a failed Reset: %v, want ErrFinished", err)
	}
}
