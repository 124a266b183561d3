// Package mechtest holds a mechanism to the properties saslkit's built-in
// mechanisms are held to, so that a custom mechanism (a mech.Server and a
// mech.Client) can be tested the same way:
//
//   - a genuine exchange succeeds, with or without final data sent as a
//     challenge, names the expected account, and the client marks its last
//     message with ClientResult.Last;
//   - a wrong secret fails with an error [outcome.Of] sorts as
//     BadCredentials, and an unknown user fails exactly as a wrong secret:
//     same error text, same messages, same failure data;
//   - every message of the genuine exchange, in each direction, replaced by
//     each of its corruptions (empty, truncated, a flipped bit, trailing
//     garbage, oversized, invalid UTF-8, fields duplicated or swapped)
//     either fails with a typed error or, for a mechanism declared
//     tolerant, succeeds granting exactly what the genuine exchange did;
//     never a panic, never a misconfiguration error;
//   - a message over the session's limit, and a client that never stops,
//     end the exchange with a *session.LimitError;
//   - errors never contain the secrets;
//   - one mechanism value serves concurrent exchanges (run with -race).
//
// Call [Run] from a test, with a world in which the genuine exchange
// succeeds:
//
//	func TestConformance(t *testing.T) {
//		var store creds.MemoryStore
//		// … add alice, whose password is "pencil" …
//		mechtest.Run(t, mechtest.Setup{
//			Server: MyMech{}, Client: MyMech{},
//			Config:  &session.Config{Verifier: &creds.Verifier{Store: &store}},
//			Creds:   creds.Client{Authcid: "alice", Password: "pencil"},
//			Account: "alice",
//			Wrong:   &creds.Client{Authcid: "alice", Password: "wrong"},
//			Unknown: &creds.Client{Authcid: "nobody", Password: "pencil"},
//		})
//	}
//
// saslkit's own mechanisms run it in mech/conformance_test.go and
// mech/scram/conformance_test.go; internal/findings runs it on a custom
// mechanism written as an application would.
package mechtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/session"
)

// Setup describes a mechanism and a world in which its genuine exchange
// succeeds.
type Setup struct {
	// Server and Client are the mechanism's two sides. Both are required;
	// their names must match.
	Server mech.Server
	Client mech.Client
	// Config configures the server sessions: the Verifier, the token
	// validator, the authorization policy. Run sets MaxMessage and
	// FinalAsChallenge on copies of it. Nil means the zero Config.
	Config *session.Config
	// ServerChannel and ClientChannel are the channels of both sides.
	ServerChannel, ClientChannel mech.Channel

	// Creds are the client's credentials for the genuine exchange, which
	// must log in Account ("" means anonymous).
	Creds   creds.Client
	Account string
	// Wrong, if not nil, are credentials with a wrong secret, which must
	// fail as bad credentials; nil (EXTERNAL, ANONYMOUS) leaves that
	// property out. Unknown, if not nil, are the credentials of
	// an unknown user, which must fail exactly as Wrong does.
	Wrong, Unknown *creds.Client
	// Secrets are strings no error may contain: the password, the token.
	// Run adds the Creds' Password and Token.
	Secrets []string
	// Tolerant declares that parts of the client's messages prove nothing
	// (EXTERNAL's authzid, ANONYMOUS's trace, OAUTHBEARER's host=), so a
	// corrupted message may still succeed, granting exactly what the
	// genuine exchange did. Otherwise no corruption may succeed.
	Tolerant bool
	// SkipCorruption skips the corruption property, for mechanisms too
	// slow to run it (it runs a few thousand exchanges).
	SkipCorruption bool
}

// maxMessage is the session limit Run sets, small enough for oversized
// corruptions to cross it.
const maxMessage = 4096

// Run checks s's mechanism against every property, each in a subtest.
func Run(t *testing.T, s Setup) {
	t.Helper()
	if s.Server == nil || s.Client == nil {
		t.Fatal("mechtest: Setup needs a Server and a Client")
	}
	if s.Server.Name() != s.Client.Name() {
		t.Fatalf("mechtest: server %q and client %q differ", s.Server.Name(), s.Client.Name())
	}
	s.Secrets = append(s.Secrets, s.Creds.Password, s.Creds.Token)
	t.Run("Genuine", func(t *testing.T) { genuine(t, &s) })
	if s.Wrong != nil {
		t.Run("Wrong", func(t *testing.T) { wrong(t, &s) })
	}
	if !s.SkipCorruption {
		t.Run("Corruption", func(t *testing.T) { corruption(t, &s) })
	}
	t.Run("Limits", func(t *testing.T) { limits(t, &s) })
	t.Run("Concurrent", func(t *testing.T) { concurrent(t, &s) })
}

// transcript is one exchange as it went.
type transcript struct {
	kinds     []string // "I", "C", "R", "S", "F", with "+last" on client messages marked Last
	toServer  [][]byte // messages the server received
	toClient  [][]byte // challenges and final data the client received
	principal *creds.Principal
	err       error
	failure   []byte // failure data, if any
}

// mangle replaces the i-th message one side receives (counting from 0 for
// each side); nil leaves messages alone.
type mangle func(i int, msg []byte) []byte

func (s *Setup) config(finalAsChallenge bool) *session.Config {
	var c session.Config
	if s.Config != nil {
		c = *s.Config
	}
	c.MaxMessage = maxMessage
	c.FinalAsChallenge = finalAsChallenge
	return &c
}

// exchange runs one exchange with credentials c, mangling messages to the
// server and to the client if asked.
func (s *Setup) exchange(t testing.TB, c creds.Client, finalAsChallenge bool, toServer, toClient mangle) transcript {
	t.Helper()
	ctx := context.Background()
	var tr transcript
	srv, err := session.NewServer(s.Server, s.ServerChannel, s.config(finalAsChallenge))
	if err != nil {
		// Errorf, not Fatalf: exchange also runs on other goroutines.
		t.Errorf("NewServer: %v", err)
		tr.err = err
		return tr
	}
	cli := session.NewClient(s.Client, c, s.ClientChannel, nil)
	var nsrv, ncli int
	send := func(msg []byte) []byte {
		tr.toServer = append(tr.toServer, bytes.Clone(msg))
		if toServer != nil {
			msg = toServer(nsrv, msg)
		}
		nsrv++
		return msg
	}
	recv := func(msg []byte) []byte {
		tr.toClient = append(tr.toClient, bytes.Clone(msg))
		if toClient != nil {
			msg = toClient(ncli, msg)
		}
		ncli++
		return msg
	}
	mark := func(k string) string {
		if cli.Last() {
			return k + "+last"
		}
		return k
	}
	var step session.Step
	ir, ok, err := cli.Start(ctx)
	switch {
	case err != nil:
		tr.err = &session.RunError{Client: true, Err: err}
		return tr
	case ok:
		tr.kinds = append(tr.kinds, mark("I"))
		step, err = srv.StartInitial(ctx, send(ir))
	default:
		step, err = srv.Start(ctx)
	}
	for err == nil && !step.Done {
		tr.kinds = append(tr.kinds, "C")
		resp, cerr := cli.Next(ctx, recv(step.Challenge))
		if cerr != nil {
			tr.err = &session.RunError{Client: true, Err: cerr}
			return tr
		}
		tr.kinds = append(tr.kinds, mark("R"))
		step, err = srv.Next(ctx, send(resp))
	}
	if err != nil {
		if step.Done || step.Principal != nil {
			t.Errorf("server error %v came with a principal", err)
		}
		tr.kinds = append(tr.kinds, "F")
		var fe *mech.FailureError
		if errors.As(err, &fe) {
			tr.failure = fe.Data
		}
		tr.err = &session.RunError{Err: err}
		return tr
	}
	if step.Principal == nil {
		t.Errorf("done without a principal")
		tr.err = errors.New("mechtest: done without a principal")
		return tr
	}
	tr.kinds = append(tr.kinds, "S")
	if step.HasFinal {
		err = cli.SuccessData(ctx, recv(step.Final))
	} else {
		err = cli.Success(ctx)
	}
	if err != nil {
		tr.err = &session.RunError{Client: true, Err: err}
		return tr
	}
	tr.principal = step.Principal
	return tr
}

func genuine(t *testing.T, s *Setup) {
	for _, fac := range []bool{false, true} {
		tr := s.exchange(t, s.Creds, fac, nil, nil)
		if tr.err != nil {
			t.Fatalf("FinalAsChallenge=%v: the genuine exchange fails: %v", fac, tr.err)
		}
		p := tr.principal
		if p.Mechanism() != s.Server.Name() {
			t.Errorf("principal of mechanism %q, want %q", p.Mechanism(), s.Server.Name())
		}
		switch {
		case s.Account == "" && !p.Anonymous():
			t.Errorf("logged in %q, want anonymous", p.Account())
		case s.Account != "" && p.Account() != s.Account:
			t.Errorf("logged in %q, want %q", p.Account(), s.Account)
		}
		checkLast(t, fmt.Sprintf("FinalAsChallenge=%v", fac), tr.kinds)
	}
}

// checkLast checks the client's Last marks: its last message is marked,
// and once a message is marked, every later one is.
func checkLast(t *testing.T, what string, kinds []string) {
	t.Helper()
	last, marked := "", false
	for _, k := range kinds {
		if k[0] != 'I' && k[0] != 'R' {
			continue
		}
		m := strings.HasSuffix(k, "+last")
		if marked && !m {
			t.Errorf("%s: a client message after one marked Last is not: %v", what, kinds)
		}
		marked = marked || m
		last = k
	}
	if last != "" && !strings.HasSuffix(last, "+last") {
		t.Errorf("%s: the client's last message is not marked Last: %v", what, kinds)
	}
}

func wrong(t *testing.T, s *Setup) {
	for _, fac := range []bool{false, true} {
		w := s.exchange(t, *s.Wrong, fac, nil, nil)
		var re *session.RunError
		if w.err == nil || !errors.As(w.err, &re) || re.Client {
			t.Fatalf("wrong secret: %v; want the server to refuse it", w.err)
		}
		if k := outcome.Of(w.err); k != outcome.BadCredentials {
			t.Errorf("wrong secret: %v is %v, want bad credentials", w.err, k)
		}
		s.checkSecrets(t, "wrong secret", w.err)
		if s.Unknown == nil {
			continue
		}
		u := s.exchange(t, *s.Unknown, fac, nil, nil)
		if u.err == nil || w.err.Error() != u.err.Error() {
			t.Errorf("unknown user: %v; wrong secret: %v; want the same error", u.err, w.err)
		}
		if strings.Join(u.kinds, " ") != strings.Join(w.kinds, " ") {
			t.Errorf("unknown user: messages %v; wrong secret: %v", u.kinds, w.kinds)
		}
		if !bytes.Equal(u.failure, w.failure) {
			t.Errorf("unknown user: failure data %q; wrong secret: %q", u.failure, w.failure)
		}
		for i := range u.toClient {
			if i < len(w.toClient) && len(u.toClient[i]) != len(w.toClient[i]) {
				t.Errorf("unknown user: challenge %d of %d octets; wrong secret: %d", i, len(u.toClient[i]), len(w.toClient[i]))
			}
		}
	}
}

// Corruptions returns the corrupted variants of msg that the corruption
// property sends: empty, each truncation, each single-bit flip, trailing
// garbage, oversized (max octets more), invalid UTF-8, and each field
// duplicated or swapped with the next, for fields split on ',', 0x01, NUL
// and space. Variants equal to msg are left out.
func Corruptions(msg []byte, max int) map[string][]byte {
	out := map[string][]byte{"empty": {}}
	for n := 0; n < len(msg); n++ {
		out[fmt.Sprintf("truncate %d", n)] = msg[:n:n]
	}
	for i := range msg {
		c := bytes.Clone(msg)
		c[i] ^= 0x01
		out[fmt.Sprintf("flip %d", i)] = c
	}
	out["trailing garbage"] = append(bytes.Clone(msg), "garbage,=\x01"...)
	out["oversized"] = append(bytes.Clone(msg), bytes.Repeat([]byte{'A'}, max)...)
	bad := bytes.Clone(msg)
	if len(bad) > 0 {
		bad[len(bad)/2] = 0xff
	}
	out["invalid UTF-8"] = append(bad, 0xc3)
	for _, sep := range []byte{',', 0x01, 0x00, ' '} {
		fields := bytes.Split(msg, []byte{sep})
		if len(fields) < 2 {
			continue
		}
		for i := range fields {
			dup := append(append([][]byte{}, fields[:i+1]...), fields[i:]...)
			out[fmt.Sprintf("duplicate field %d/%q", i, sep)] = bytes.Join(dup, []byte{sep})
			if i+1 < len(fields) {
				sw := append([][]byte{}, fields...)
				sw[i], sw[i+1] = sw[i+1], sw[i]
				out[fmt.Sprintf("swap fields %d/%q", i, sep)] = bytes.Join(sw, []byte{sep})
			}
		}
	}
	for k, v := range out {
		if bytes.Equal(v, msg) {
			delete(out, k)
		}
	}
	return out
}

// Typed reports whether err is one of the errors saslkit documents: a
// *mech.Error, *mech.FailureError, *mech.TokenError or *session.LimitError,
// or one wrapping a sentinel of creds or session. Custom mechanisms must
// wrap their errors in one of these.
func Typed(err error) bool {
	var me *mech.Error
	var fe *mech.FailureError
	var te *mech.TokenError
	var le *session.LimitError
	switch {
	case errors.As(err, &me), errors.As(err, &fe), errors.As(err, &te), errors.As(err, &le):
		return true
	}
	for _, s := range []error{creds.ErrBadCredentials, creds.ErrUnauthorized, session.ErrFinished, session.ErrUnexpectedReply} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func corruption(t *testing.T, s *Setup) {
	mutual := s.Server.Properties().Mutual
	n := 0
	for _, fac := range []bool{false, true} {
		g := s.exchange(t, s.Creds, fac, nil, nil)
		if g.err != nil {
			t.Fatalf("the genuine exchange fails: %v", g.err)
		}
		run := func(dir string, toServer bool, step int, msg []byte) {
			for what, bad := range Corruptions(msg, maxMessage) {
				n++
				m := func(i int, msg []byte) []byte {
					if i == step {
						return bad
					}
					return msg
				}
				var o transcript
				if toServer {
					o = s.exchange(t, s.Creds, fac, m, nil)
				} else {
					o = s.exchange(t, s.Creds, fac, nil, m)
				}
				name := fmt.Sprintf("FinalAsChallenge=%v, %s message %d, %s", fac, dir, step, what)
				if o.err == nil {
					// A corrupted message to a client that does not
					// authenticate the server may succeed; to the server,
					// only a tolerant mechanism's, granting the same.
					if !toServer && !mutual {
						continue
					}
					p, gp := o.principal, g.principal
					if !s.Tolerant || p.Anonymous() != gp.Anonymous() || p.Account() != gp.Account() || p.Effective() != gp.Effective() {
						t.Errorf("%s: succeeded as %q/%q, the genuine exchange as %q/%q", name, p.Account(), p.Effective(), gp.Account(), gp.Effective())
					}
					continue
				}
				if !Typed(o.err) {
					t.Errorf("%s: untyped error %T %v", name, errors.Unwrap(o.err), o.err)
				}
				if errors.Is(o.err, creds.ErrMisconfigured) {
					t.Errorf("%s: misconfiguration error %v", name, o.err)
				}
				s.checkSecrets(t, name, o.err)
			}
		}
		for i, msg := range g.toServer {
			run("to server", true, i, msg)
		}
		for i, msg := range g.toClient {
			run("to client", false, i, msg)
		}
	}
	if n == 0 {
		t.Error("no corrupted exchange ran")
	}
	t.Logf("%d corrupted exchanges", n)
}

func limits(t *testing.T, s *Setup) {
	ctx := context.Background()
	g := s.exchange(t, s.Creds, false, nil, nil)
	if g.err != nil {
		t.Fatalf("the genuine exchange fails: %v", g.err)
	}
	// Each message of the genuine exchange, oversized.
	huge := bytes.Repeat([]byte{'A'}, maxMessage+1)
	for i := range g.toServer {
		o := s.exchange(t, s.Creds, false, func(j int, msg []byte) []byte {
			if j == i {
				return huge
			}
			return msg
		}, nil)
		var le *session.LimitError
		if !errors.As(o.err, &le) || !errors.Is(o.err, session.ErrTooLarge) {
			t.Errorf("message %d to the server over the limit: %v, want a *session.LimitError", i, o.err)
		}
	}
	// A client that never stops: the server gives up within its steps.
	srv, err := session.NewServer(s.Server, s.ServerChannel, s.config(false))
	if err != nil {
		t.Fatal(err)
	}
	resp := []byte{}
	if len(g.toServer) > 0 {
		resp = g.toServer[len(g.toServer)-1]
	}
	step, err := srv.Start(ctx)
	for i := 0; err == nil && !step.Done; i++ {
		if i > session.DefaultMaxSteps+1 {
			t.Fatalf("the server took %d responses without ending", i)
		}
		step, err = srv.Next(ctx, resp)
	}
	if err == nil {
		if step.Principal == nil {
			t.Fatal("done without a principal")
		}
		// The replayed message completed an exchange: it must be one
		// that proves nothing (EXTERNAL, ANONYMOUS) or a replay the
		// mechanism cannot tell (PLAIN).
	} else if !Typed(err) {
		t.Errorf("endless client: untyped error %v", err)
	}
	// After the end, nothing more.
	if _, err := srv.Next(ctx, resp); !errors.Is(err, session.ErrFinished) {
		t.Errorf("Next after the end: %v, want ErrFinished", err)
	}
}

func concurrent(t *testing.T, s *Setup) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tr := s.exchange(t, s.Creds, false, nil, nil); tr.err != nil {
				errs <- tr.err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent exchange: %v", err)
	}
}

func (s *Setup) checkSecrets(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	text := fmt.Sprintf("%v %+v", err, err)
	for _, sec := range s.Secrets {
		if len(sec) >= 4 && strings.Contains(text, sec) {
			t.Errorf("%s: error contains a secret: %v", what, err)
		}
	}
}
