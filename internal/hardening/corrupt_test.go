package hardening

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/mechtest"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

var ctx = context.Background()

const (
	user     = "user"
	password = "pencil"
	token    = "tok123"
)

// world is a server and client setup in which every built-in mechanism can
// complete an exchange for user/pencil/tok123.
type world struct {
	reg      *registry.Registry
	verifier *creds.Verifier
	keys     []creds.SCRAMKeys // the server's SCRAM keys for user
	srvCh    mech.Channel
	cliCh    mech.Channel
}

// tokenValidator accepts token for user, and nothing else.
func tokenValidator() mech.TokenValidator {
	return mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if subtle.ConstantTimeCompare([]byte(r.Token), []byte(token)) != 1 {
			return mech.ErrAuthFailed
		}
		r.Subject = user
		return nil
	})
}

func newWorld(t testing.TB, finalAsChallenge bool) *world {
	t.Helper()
	// One account serves every mechanism: the clear password for PLAIN,
	// LOGIN and CRAM-MD5, and SCRAM keys for every hash.
	acct := creds.Account{Name: user, Password: "{PLAIN}" + password}
	for _, h := range scram.Hashes {
		k, err := creds.DeriveSCRAMKeys(h.Name(), password, nil, 4096, false)
		if err != nil {
			t.Fatal(err)
		}
		acct.SCRAM = append(acct.SCRAM, k)
	}
	var store creds.MemoryStore
	if err := store.Add(acct); err != nil {
		t.Fatal(err)
	}
	v := &creds.Verifier{Store: &store, Secret: []byte("hardening test secret, 32 octets")}
	cfg := &registry.Config{Session: session.Config{
		Verifier:         v,
		Tokens:           tokenValidator(),
		FinalAsChallenge: finalAsChallenge,
		MaxMessage:       4096,
	}}
	// The built-ins, with SCRAM clients that cache their derived keys so
	// that thousands of corrupted exchanges cost no PBKDF2 each. New
	// checks every server mechanism against the Verifier and validator.
	cache := &scram.KeyCache{}
	var mechs []registry.Mechanism
	for _, name := range registry.BuiltinNames() {
		m, ok := registry.Builtin(name)
		if !ok {
			t.Fatalf("no built-in %s", name)
		}
		if sm, ok := m.(scram.Mechanism); ok {
			sm.Cache = cache
			m = sm
		}
		mechs = append(mechs, m)
	}
	reg, err := registry.New(cfg, mechs...)
	if err != nil {
		t.Fatal(err)
	}
	binding := []mech.Binding{{Type: mech.TLSExporter, Data: []byte("0123456789abcdef0123456789abcdef")}}
	return &world{
		reg:      reg,
		verifier: v,
		keys:     acct.SCRAM,
		srvCh:    mech.Channel{Secure: true, Bindings: binding, External: user},
		cliCh:    mech.Channel{Secure: true, Bindings: binding, External: user},
	}
}

// channels returns the channels for mechanism name: bindings only for
// -PLUS, since a SCRAM server with bindings refuses a non-PLUS client that
// could have bound.
func (w *world) channels(name string) (srv, cli mech.Channel) {
	srv, cli = w.srvCh, w.cliCh
	if m, _ := w.reg.Lookup(name); !m.Properties().ChannelBinding {
		srv.Bindings, cli.Bindings = nil, nil
	}
	return srv, cli
}

// outcome is how an exchange ended.
type outcome struct {
	ok        bool // the server reported success and the client accepted it
	account   string
	effective string
	anonymous bool
	srvErr    error
	cliErr    error
	serverMsg int // messages the server received
	clientMsg int // challenges and final data the client received
}

// corruptFunc replaces the i-th message one side receives, counting from 0
// for each side; returning the message unchanged means no corruption.
type corruptFunc func(i int, msg []byte) []byte

// exchange runs one exchange of name with the given corruption of messages
// to the server (toServer) or to the client (toClient).
func (w *world) exchange(t testing.TB, name string, toServer, toClient corruptFunc) outcome {
	t.Helper()
	srvCh, cliCh := w.channels(name)
	srv, err := w.reg.NewServer(name, srvCh)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := w.reg.NewClient(name, creds.Client{Authcid: user, Password: password, Token: token}, cliCh)
	if err != nil {
		t.Fatal(err)
	}
	var o outcome
	var step session.Step
	ir, hasIR, err := cli.Start(ctx)
	if err != nil {
		o.cliErr = err
		return o
	}
	if hasIR {
		step, err = srv.StartInitial(ctx, toServer(o.serverMsg, ir))
		o.serverMsg++
	} else {
		step, err = srv.Start(ctx)
	}
	for err == nil && !step.Done {
		resp, cerr := cli.Next(ctx, toClient(o.clientMsg, step.Challenge))
		o.clientMsg++
		if cerr != nil {
			o.cliErr = cerr
			return o
		}
		step, err = srv.Next(ctx, toServer(o.serverMsg, resp))
		o.serverMsg++
	}
	if err != nil {
		if step.Done || step.Principal != nil {
			t.Fatalf("%s: error %v came with credentials", name, err)
		}
		o.srvErr = err
		return o
	}
	if step.HasFinal {
		o.cliErr = cli.SuccessData(ctx, toClient(o.clientMsg, step.Final))
		o.clientMsg++
	} else {
		o.cliErr = cli.Success(ctx)
	}
	// A done step always carries the verified, authorized principal.
	p := step.Principal
	if p == nil {
		t.Fatalf("%s: done without a principal", name)
	}
	if p.Mechanism() != name {
		t.Fatalf("%s: principal of mechanism %q", name, p.Mechanism())
	}
	o.ok = o.cliErr == nil
	o.anonymous = p.Anonymous()
	o.account = p.Account()
	o.effective = p.Effective()
	return o
}

func noCorruption(_ int, msg []byte) []byte { return msg }

// corruptions returns every corrupted variant of msg, as package mechtest
// makes them for custom mechanisms.
var corruptions = mechtest.Corruptions

// tolerant lists the mechanisms whose messages carry parts that prove
// nothing, so that corrupting them may leave a successful exchange:
// EXTERNAL's authzid (empty means the same identity), ANONYMOUS's trace,
// OAUTHBEARER's host=, port= and unknown keys. In every other mechanism each
// byte the client sends is authenticated, and no corruption may succeed.
var tolerant = map[string]bool{"EXTERNAL": true, "ANONYMOUS": true, "OAUTHBEARER": true}

// allowed reports whether a corrupted exchange of name may still succeed:
// only for a tolerant mechanism, and only granting exactly what the genuine
// exchange did.
func allowed(name string, o, genuine outcome) bool {
	return tolerant[name] && o.anonymous == genuine.anonymous && o.account == genuine.account && o.effective == genuine.effective
}

// typed reports whether err is one of the errors saslkit documents.
func typed(err error) bool {
	var me *mech.Error
	var fe *mech.FailureError
	var te *mech.TokenError
	var le *session.LimitError
	var se *scram.ServerError
	switch {
	case errors.As(err, &me), errors.As(err, &fe), errors.As(err, &te), errors.As(err, &le), errors.As(err, &se):
		return true
	}
	for _, s := range []error{creds.ErrBadCredentials, creds.ErrUnauthorized,
		session.ErrFinished, session.ErrUnexpectedReply} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestCorruption records a good exchange for every built-in mechanism, then
// replaces each message, in each direction, with each corruption, and checks
// that the exchange fails with a typed error and yields nothing more than
// the genuine exchange would, without panicking. It writes the counts to
// testdata/corruption.txt when run with -update.
func TestCorruption(t *testing.T) {
	counts := map[string]int{}
	for _, finalAsChallenge := range []bool{false, true} {
		w := newWorld(t, finalAsChallenge)
		for _, name := range registry.BuiltinNames() {
			genuine := w.exchange(t, name, noCorruption, noCorruption)
			if !genuine.ok {
				t.Fatalf("%s: the genuine exchange fails: server %v, client %v", name, genuine.srvErr, genuine.cliErr)
			}
			if want := wantAccount(name); genuine.account != want || genuine.anonymous != (want == "") {
				t.Fatalf("%s: the genuine exchange logged in %q (anonymous %v), want %q", name, genuine.account, genuine.anonymous, want)
			}
			// Record the genuine messages in each direction.
			var toSrv, toCli [][]byte
			w.exchange(t, name,
				func(_ int, m []byte) []byte { toSrv = append(toSrv, bytes.Clone(m)); return m },
				func(_ int, m []byte) []byte { toCli = append(toCli, bytes.Clone(m)); return m })
			mutual := mustLookup(t, w.reg, name).Properties().Mutual
			for step, msg := range toSrv {
				for what, bad := range corruptions(msg, 4096) {
					if bytes.Equal(bad, msg) {
						continue
					}
					counts[name]++
					o := w.exchange(t, name, func(i int, m []byte) []byte {
						if i == step {
							return bad
						}
						return m
					}, noCorruption)
					check(t, name, fmt.Sprintf("to server, message %d, %s", step, what), o, genuine)
				}
			}
			for step, msg := range toCli {
				for what, bad := range corruptions(msg, 4096) {
					if bytes.Equal(bad, msg) {
						continue
					}
					counts[name]++
					o := w.exchange(t, name, noCorruption, func(i int, m []byte) []byte {
						if i == step {
							return bad
						}
						return m
					})
					if mutual {
						// The client authenticates the server: a corrupted
						// server message must not be accepted.
						check(t, name, fmt.Sprintf("to client, message %d, %s", step, what), o, genuine)
					} else if !o.ok && !typed(firstErr(o)) {
						t.Errorf("%s: to client, message %d, %s: untyped error %T %v", name, step, what, firstErr(o), firstErr(o))
					}
				}
			}
		}
	}
	var names []string
	total := 0
	for n, c := range counts {
		names = append(names, n)
		total += c
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintln(&b, "# corrupted exchanges run per mechanism, both final-data modes (go test ./internal/hardening -run TestCorruption -update)")
	for _, n := range names {
		fmt.Fprintf(&b, "%-20s %d\n", n, counts[n])
	}
	fmt.Fprintf(&b, "%-20s %d\n", "total", total)
	t.Logf("\n%s", b.String())
	for _, n := range registry.BuiltinNames() {
		if counts[n] == 0 {
			t.Errorf("%s: no corrupted exchange ran", n)
		}
	}
	if *update {
		if err := os.WriteFile("testdata/corruption.txt", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	// The counts are part of what the test claims (docs/security.md):
	// a change in them must be seen, and recorded with -update.
	want, err := os.ReadFile("testdata/corruption.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("case counts differ from testdata/corruption.txt (run with -update to record them):\ngot:\n%s\nwant:\n%s", got, want)
	}
}

// wantAccount is the account the genuine exchange of name logs in:
// "" for ANONYMOUS, user for every other mechanism.
func wantAccount(name string) string {
	if name == "ANONYMOUS" {
		return ""
	}
	return user
}

func firstErr(o outcome) error {
	if o.srvErr != nil {
		return o.srvErr
	}
	return o.cliErr
}

func check(t *testing.T, name, what string, o, genuine outcome) {
	t.Helper()
	if o.ok {
		if !allowed(name, o, genuine) {
			t.Errorf("%s: %s: succeeded as %q/%q (anonymous %v), the genuine exchange as %q/%q", name, what, o.account, o.effective, o.anonymous, genuine.account, genuine.effective)
		}
		return
	}
	err := firstErr(o)
	if !typed(err) {
		t.Errorf("%s: %s: untyped error %T %v", name, what, err, err)
	}
	// The configuration is sound: nothing the peer sends may make it
	// look otherwise.
	if errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("%s: %s: misconfiguration error %v", name, what, err)
	}
}

func mustLookup(t testing.TB, r *registry.Registry, name string) registry.Mechanism {
	m, ok := r.Lookup(name)
	if !ok {
		t.Fatalf("no %s", name)
	}
	return m
}
