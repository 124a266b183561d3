package session_test

import (
	"context"
	"errors"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

var ctx = context.Background()

// pair is a comparable copy of a mech.Pair, without State.
type pair struct {
	Challenge, Response string
	NilResponse         bool
	Initial             bool
}

// testServer is a server mechanism driven by a function. It records how
// often it was called and a copy of each transcript it saw. It is not safe
// for concurrent use, which the tests here do not need.
type testServer struct {
	props mech.Properties
	f     func(in *mech.ServerInput) (mech.ServerResult, error)
	calls int
	seen  [][]pair
}

func (*testServer) Name() string                  { return "X-TEST" }
func (m *testServer) Properties() mech.Properties { return m.props }
func (m *testServer) ServerAttempt(_ context.Context, in *mech.ServerInput) (mech.ServerResult, error) {
	m.calls++
	ps := make([]pair, len(in.Pairs))
	for i, p := range in.Pairs {
		ps[i] = pair{Challenge: string(p.Challenge), Response: string(p.Response), NilResponse: p.Response == nil, Initial: p.Initial}
	}
	m.seen = append(m.seen, ps)
	return m.f(in)
}

// alwaysChallenge never ends the exchange.
func alwaysChallenge() *testServer {
	return &testServer{f: func(*mech.ServerInput) (mech.ServerResult, error) {
		return mech.ServerResult{Challenge: []byte("more")}, nil
	}}
}

// succeedAfter succeeds on the n-th response (counting an initial
// response), with additional data final when hasFinal.
func succeedAfter(n int, final []byte, hasFinal bool) *testServer {
	return &testServer{f: func(in *mech.ServerInput) (mech.ServerResult, error) {
		// Each attempt after a response sees one pair per response.
		if len(in.Pairs) < n {
			return mech.ServerResult{Challenge: []byte("more")}, nil
		}
		return mech.ServerResult{Principal: creds.NewPrincipal("X-TEST", "alice", ""), Final: final, HasFinal: hasFinal}, nil
	}}
}

// failWith fails on the first response with err.
func failWith(err error) *testServer {
	return &testServer{f: func(in *mech.ServerInput) (mech.ServerResult, error) {
		if len(in.Pairs) == 0 {
			return mech.ServerResult{Challenge: []byte{}}, nil
		}
		return mech.ServerResult{}, err
	}}
}

// testClient is a client mechanism that answers every challenge with
// "resp", and sends "ir" as its initial response unless serverFirst.
type testClient struct {
	serverFirst bool
	calls       int
	finals      int
}

func (*testClient) Name() string { return "X-TEST" }
func (m *testClient) Properties() mech.Properties {
	return mech.Properties{ServerFirst: m.serverFirst}
}
func (m *testClient) ClientAttempt(_ context.Context, in *mech.ClientInput) (mech.ClientResult, error) {
	m.calls++
	if in.Initial {
		if m.serverFirst {
			return mech.ClientResult{}, &mech.Error{Mechanism: "X-TEST", Err: mech.ErrNoInitialResponse}
		}
		return mech.ClientResult{Response: []byte("ir")}, nil
	}
	return mech.ClientResult{Response: []byte("resp")}, nil
}
func (m *testClient) ClientFinal(context.Context, *mech.ClientInput, []byte, bool) error {
	m.finals++
	return nil
}

// newServer returns session.NewServer(m, ch, cfg), failing the test on an
// error.
func newServer(t testing.TB, m mech.Server, ch mech.Channel, cfg *session.Config) *session.Server {
	t.Helper()
	s, err := session.NewServer(m, ch, cfg)
	if err != nil {
		t.Fatalf("NewServer(%s): %v", m.Name(), err)
	}
	if s == nil {
		t.Fatalf("NewServer(%s): nil session", m.Name())
	}
	return s
}

// Accounts of testStore.
const (
	clearUser     = "alice" // clear password "alicepass": PLAIN, LOGIN, CRAM-MD5
	hashedUser    = "bob"   // PBKDF2 of "bobpass": PLAIN, LOGIN
	scramUser     = "user"  // SCRAM-SHA-256 and SCRAM-SHA-1 keys of "pencil", PBKDF2 of "pencil"
	clearPassword = "alicepass"
)

// testStore returns a store of the accounts above.
func testStore(t testing.TB) *creds.MemoryStore {
	t.Helper()
	var store creds.MemoryStore
	bob, err := creds.HashPassword("bobpass", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	pencil, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var keys []creds.SCRAMKeys
	for _, h := range []string{"SHA-256", "SHA-1"} {
		k, err := creds.DeriveSCRAMKeys(h, "pencil", nil, creds.MinSCRAMIterations, false)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, a := range []creds.Account{
		{Name: clearUser, Password: "{PLAIN}" + clearPassword},
		{Name: hashedUser, Password: bob},
		{Name: scramUser, Password: pencil, SCRAM: keys},
	} {
		if err := store.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return &store
}

// testConfig returns a Config whose Verifier is over testStore.
func testConfig(t testing.TB) *session.Config {
	t.Helper()
	return &session.Config{Verifier: &creds.Verifier{Store: testStore(t)}}
}

// wantErr fails the test unless err wraps want (errors.Is).
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want one wrapping %v", what, err, want)
	}
}

// wantLimit fails the test unless err is a *session.LimitError wrapping
// sentinel with the given limit.
func wantLimit(t *testing.T, what string, err, sentinel error, limit int) {
	t.Helper()
	var le *session.LimitError
	if !errors.As(err, &le) || !errors.Is(err, sentinel) {
		t.Fatalf("%s: error %v, want a *LimitError wrapping %v", what, err, sentinel)
	}
	if le.Limit != limit {
		t.Errorf("%s: Limit = %d, want %d", what, le.Limit, limit)
	}
}

// checkServerOver checks that every call on a finished server session
// returns an error wrapping ErrFinished.
func checkServerOver(t *testing.T, s *session.Server) {
	t.Helper()
	_, err := s.Start(ctx)
	wantErr(t, "Start after the end", err, session.ErrFinished)
	_, err = s.StartInitial(ctx, []byte("x"))
	wantErr(t, "StartInitial after the end", err, session.ErrFinished)
	for _, r := range [][]byte{nil, {}, []byte("x")} {
		step, err := s.Next(ctx, r)
		wantErr(t, "Next after the end", err, session.ErrFinished)
		if step.Done {
			t.Error("Next after the end: Done step")
		}
	}
}
