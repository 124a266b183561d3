package scram_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// exchange runs a full exchange between a client and a server session and
// returns the server's last step and error, the client's error, and the
// number of server steps.
type result struct {
	step      session.Step
	srvErr    error
	cliErr    error
	srvSteps  int
	sentFinal []byte
}

func run(t testing.TB, srvMech, cliMech scram.Mechanism, c creds.Client, srvCh, cliCh mech.Channel) result {
	t.Helper()
	srv := session.NewServer(srvMech, srvCh, nil)
	cli := session.NewClient(cliMech, c, cliCh, nil)
	var r result
	ir, _, err := cli.Start(ctx)
	if err != nil {
		r.cliErr = err
		return r
	}
	r.step, r.srvErr = srv.StartInitial(ctx, ir)
	r.srvSteps++
	for r.srvErr == nil && !r.step.Done {
		resp, err := cli.Next(ctx, r.step.Challenge)
		if err != nil {
			r.cliErr = err
			return r
		}
		r.step, r.srvErr = srv.Next(ctx, resp)
		r.srvSteps++
	}
	if r.srvErr != nil {
		var fe *mech.FailureError
		if errors.As(r.srvErr, &fe) {
			r.sentFinal = fe.Data
		}
		return r
	}
	r.sentFinal = r.step.Final
	r.cliErr = cli.SuccessData(ctx, r.step.Final)
	return r
}

func newStore(t testing.TB, iterations int, hashes ...scram.Hash) *scram.MemoryStore {
	t.Helper()
	s := &scram.MemoryStore{}
	if err := s.SetPassword("user", "pencil", iterations, hashes...); err != nil {
		t.Fatal(err)
	}
	return s
}

var allHashes = []scram.Hash{scram.SHA1, scram.SHA256, scram.SHA512, scram.SHA3_512}

func TestNames(t *testing.T) {
	var got []string
	for _, h := range allHashes {
		got = append(got, scram.Mechanism{Hash: h}.Name(), scram.Mechanism{Hash: h, Plus: true}.Name())
	}
	want := []string{"SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
		"SCRAM-SHA-512", "SCRAM-SHA-512-PLUS", "SCRAM-SHA3-512", "SCRAM-SHA3-512-PLUS"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := (scram.Mechanism{}).Name(); got != "SCRAM-SHA-256" {
		t.Errorf("zero Mechanism is %s", got)
	}
	p := scram.Mechanism{Plus: true}.Properties()
	if !p.Mutual || !p.ChannelBinding || p.ClearSecret || p.Uses != mech.UsesPassword {
		t.Errorf("properties %+v", p)
	}
}

func TestAllHashes(t *testing.T) {
	store := newStore(t, 4096, allHashes...)
	for _, h := range allHashes {
		t.Run(h.Name(), func(t *testing.T) {
			m := scram.Mechanism{Hash: h, Store: store}
			r := run(t, m, m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{})
			if r.srvErr != nil || r.cliErr != nil || !r.step.Done || !r.step.Verified {
				t.Fatalf("server %v, client %v", r.srvErr, r.cliErr)
			}
		})
	}
}

// TestUnknownUser: an unknown user and a wrong password fail the same way:
// same number of steps, same error, same e= value.
func TestUnknownUser(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	m := scram.Mechanism{Hash: scram.SHA256, Store: store}
	wrong := run(t, m, m, creds.Client{Authcid: "user", Password: "wrong"}, mech.Channel{}, mech.Channel{})
	unknown := run(t, m, m, creds.Client{Authcid: "nobody", Password: "pencil"}, mech.Channel{}, mech.Channel{})
	for name, r := range map[string]result{"wrong password": wrong, "unknown user": unknown} {
		if !errors.Is(r.srvErr, mech.ErrAuthFailed) {
			t.Errorf("%s: server error %v, want ErrAuthFailed", name, r.srvErr)
		}
	}
	if wrong.srvErr.Error() != unknown.srvErr.Error() {
		t.Errorf("errors differ: %q vs %q", wrong.srvErr, unknown.srvErr)
	}
	if wrong.srvSteps != unknown.srvSteps {
		t.Errorf("steps differ: %d vs %d", wrong.srvSteps, unknown.srvSteps)
	}
	if !bytes.Equal(wrong.sentFinal, []byte("e=invalid-proof")) || !bytes.Equal(unknown.sentFinal, wrong.sentFinal) {
		t.Errorf("e= values: %q vs %q", wrong.sentFinal, unknown.sentFinal)
	}

	// The mock salt is stable for a user and differs between users, and
	// the iteration count is the configured one.
	secret := []byte("server secret")
	m = scram.Mechanism{Hash: scram.SHA256, Secret: secret, MockIterations: 10000}
	first := func(user string) string {
		srv := session.NewServer(m, mech.Channel{}, nil)
		step, err := srv.StartInitial(ctx, []byte("n,,n="+user+",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		s := string(step.Challenge)
		return s[strings.Index(s, ",s="):]
	}
	if a, b := first("alice"), first("alice"); a != b {
		t.Errorf("mock salt not stable: %s vs %s", a, b)
	}
	if a, b := first("alice"), first("bob"); a == b {
		t.Errorf("mock salts equal for two users: %s", a)
	}
	if !strings.HasSuffix(first("alice"), ",i=10000") {
		t.Errorf("mock iterations: %s", first("alice"))
	}
}

// serverFirstStep feeds a client-first message to a server.
func serverFirstStep(m scram.Mechanism, ch mech.Channel, msg string) (session.Step, error) {
	return session.NewServer(m, ch, nil).StartInitial(ctx, []byte(msg))
}

func TestServerFirstErrors(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	plain := scram.Mechanism{Store: store}
	plus := scram.Mechanism{Store: store, Plus: true}
	bound := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("ekm")}}}
	tests := []struct {
		name   string
		m      scram.Mechanism
		ch     mech.Channel
		msg    string
		evalue string
		err    error
	}{
		{"mandatory extension", plain, mech.Channel{}, "n,,m=ext,n=user,r=abc", "extensions-not-supported", mech.ErrInvalidResponse},
		{"missing user", plain, mech.Channel{}, "n,,r=abc", "invalid-encoding", mech.ErrInvalidResponse},
		{"empty user", plain, mech.Channel{}, "n,,n=,r=abc", "invalid-encoding", mech.ErrInvalidResponse},
		{"missing nonce", plain, mech.Channel{}, "n,,n=user", "invalid-encoding", mech.ErrInvalidResponse},
		{"empty nonce", plain, mech.Channel{}, "n,,n=user,r=", "invalid-encoding", mech.ErrInvalidResponse},
		{"bad user escape", plain, mech.Channel{}, "n,,n=us=er,r=abc", "invalid-username-encoding", mech.ErrInvalidResponse},
		{"truncated escape", plain, mech.Channel{}, "n,,n=user=2,r=abc", "invalid-username-encoding", mech.ErrInvalidResponse},
		{"duplicate nonce", plain, mech.Channel{}, "n,,n=user,r=abc,r=def", "invalid-encoding", mech.ErrInvalidResponse},
		{"trailing comma", plain, mech.Channel{}, "n,,n=user,r=abc,", "invalid-encoding", mech.ErrInvalidResponse},
		{"out of order", plain, mech.Channel{}, "n,,r=abc,n=user", "invalid-encoding", mech.ErrInvalidResponse},
		{"bad GS2 flag", plain, mech.Channel{}, "x,,n=user,r=abc", "invalid-encoding", mech.ErrInvalidResponse},
		{"non-standard GS2 flag", plain, mech.Channel{}, "F,n,,n=user,r=abc", "invalid-encoding", mech.ErrInvalidResponse},
		{"no GS2 header", plain, mech.Channel{}, "n=user,r=abc", "invalid-encoding", mech.ErrInvalidResponse},
		{"binding on non-PLUS", plain, bound, "p=tls-exporter,,n=user,r=abc", "channel-binding-not-supported", mech.ErrInvalidResponse},
		{"downgrade", plain, bound, "y,,n=user,r=abc", "server-does-support-channel-binding", mech.ErrAuthFailed},
		{"PLUS without binding", plus, bound, "n,,n=user,r=abc", "other-error", mech.ErrInvalidResponse},
		{"PLUS with y", plus, bound, "y,,n=user,r=abc", "other-error", mech.ErrInvalidResponse},
		{"unsupported binding type", plus, bound, "p=tls-unique,,n=user,r=abc", "unsupported-channel-binding-type", mech.ErrAuthFailed},
		{"nonce with comma", plain, mech.Channel{}, "n,,n=user,r=a,b", "invalid-encoding", mech.ErrInvalidResponse},
		{"nonce with control", plain, mech.Channel{}, "n,,n=user,r=a\x01b", "invalid-encoding", mech.ErrInvalidResponse},
		{"invalid UTF-8 user", plain, mech.Channel{}, "n,,n=\xff,r=abc", "invalid-username-encoding", mech.ErrInvalidResponse},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := serverFirstStep(tc.m, tc.ch, tc.msg)
			var fe *mech.FailureError
			if !errors.As(err, &fe) || !errors.Is(err, tc.err) || step.Done {
				t.Fatalf("got %v, want a FailureError wrapping %v", err, tc.err)
			}
			if diff := cmp.Diff("e="+tc.evalue, string(fe.Data)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// "y" is fine when the server has no binding to offer, and extensions
	// are ignored.
	for _, msg := range []string{"y,,n=user,r=abc", "n,,n=user,r=abc,x=ext", "n,a=user,n=user,r=abc"} {
		if _, err := serverFirstStep(plain, mech.Channel{}, msg); err != nil {
			t.Errorf("%q: %v", msg, err)
		}
	}
}

// clientFinalCase runs a good client-first, then lets mutate change the
// client-final message before the server sees it.
func clientFinalCase(t *testing.T, m scram.Mechanism, ch mech.Channel, mutate func(string) string) (session.Step, error) {
	t.Helper()
	cli := session.NewClient(scram.Mechanism{Hash: m.Hash, Plus: m.Plus}, creds.Client{Authcid: "user", Password: "pencil"}, ch, nil)
	srv := session.NewServer(m, ch, nil)
	ir, _, err := cli.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step, err := srv.StartInitial(ctx, ir)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Next(ctx, step.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return srv.Next(ctx, []byte(mutate(string(resp))))
}

func TestClientFinalErrors(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	m := scram.Mechanism{Store: store}
	replaceAttr := func(name, val string) func(string) string {
		return func(s string) string {
			parts := strings.Split(s, ",")
			for i, p := range parts {
				if strings.HasPrefix(p, name+"=") {
					parts[i] = name + "=" + val
				}
			}
			return strings.Join(parts, ",")
		}
	}
	tests := []struct {
		name   string
		mutate func(string) string
		evalue string
	}{
		{"wrong GS2 echo", replaceAttr("c", "eSws"), "channel-bindings-dont-match"},
		{"GS2 echo with authzid", replaceAttr("c", base64.StdEncoding.EncodeToString([]byte("n,a=user,"))), "channel-bindings-dont-match"},
		{"bad c base64", replaceAttr("c", "b!ws"), "channel-bindings-dont-match"},
		{"wrong nonce", replaceAttr("r", "abc"), "other-error"},
		{"bad proof", replaceAttr("p", base64.StdEncoding.EncodeToString(make([]byte, 32))), "invalid-proof"},
		{"oversized proof", replaceAttr("p", base64.StdEncoding.EncodeToString(make([]byte, 33))), "invalid-encoding"},
		{"short proof", replaceAttr("p", base64.StdEncoding.EncodeToString(make([]byte, 31))), "invalid-encoding"},
		{"huge proof", replaceAttr("p", strings.Repeat("A", 10000)), "invalid-encoding"},
		{"missing proof", func(s string) string { return s[:strings.Index(s, ",p=")] }, "invalid-encoding"},
		{"proof not last", func(s string) string { return s + ",x=y" }, "invalid-encoding"},
		{"duplicated attribute", func(s string) string { i := strings.Index(s, ",p="); return s[:i] + ",r=x" + s[i:] }, "invalid-encoding"},
		{"out of order", func(s string) string {
			parts := strings.Split(s, ",")
			parts[0], parts[1] = parts[1], parts[0]
			return strings.Join(parts, ",")
		}, "invalid-encoding"},
		{"empty", func(string) string { return "" }, "invalid-encoding"},
		{"trailing garbage", func(s string) string { return s + "garbage" }, "invalid-encoding"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, err := clientFinalCase(t, m, mech.Channel{}, tc.mutate)
			var fe *mech.FailureError
			if !errors.As(err, &fe) || step.Done || step.Creds != nil {
				t.Fatalf("got %+v, %v; want a FailureError", step, err)
			}
			if diff := cmp.Diff("e="+tc.evalue, string(fe.Data)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	step, err := clientFinalCase(t, m, mech.Channel{}, func(s string) string {
		i := strings.Index(s, ",p=")
		return s[:i] + ",x=ext" + s[i:]
	})
	// The proof covers the message without the proof, so an extension
	// added in transit changes AuthMessage and the proof fails.
	if !errors.Is(err, mech.ErrAuthFailed) || step.Done {
		t.Errorf("extension changes AuthMessage: got %v, want ErrAuthFailed", err)
	}
}

func TestChannelBinding(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("0123456789abcdef0123456789abcdef")}}}
	other := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("fedcba9876543210fedcba9876543210")}}}
	c := creds.Client{Authcid: "user", Password: "pencil"}
	plus := scram.Mechanism{Store: store, Plus: true}
	plain := scram.Mechanism{Store: store}

	r := run(t, plus, plus, c, ch, ch)
	if r.srvErr != nil || r.cliErr != nil || !r.step.Done {
		t.Fatalf("PLUS: server %v, client %v", r.srvErr, r.cliErr)
	}
	r = run(t, plus, plus, c, ch, other)
	if !errors.Is(r.srvErr, mech.ErrAuthFailed) || !bytes.Equal(r.sentFinal, []byte("e=channel-bindings-dont-match")) {
		t.Errorf("mismatched binding: %v, %q", r.srvErr, r.sentFinal)
	}
	// A client that can bind, running a non-PLUS mechanism, sends "y"; a
	// server that has bindings refuses it.
	r = run(t, plain, plain, c, ch, ch)
	if !bytes.Equal(r.sentFinal, []byte("e=server-does-support-channel-binding")) {
		t.Errorf("downgrade: %v, %q", r.srvErr, r.sentFinal)
	}
	// ...and one that has none accepts it.
	r = run(t, plain, plain, c, mech.Channel{}, ch)
	if r.srvErr != nil || r.cliErr != nil {
		t.Errorf("y without server binding: %v %v", r.srvErr, r.cliErr)
	}
	// A -PLUS client without binding data refuses before sending anything.
	cli := session.NewClient(plus, c, mech.Channel{}, nil)
	if _, _, err := cli.Start(ctx); !errors.Is(err, scram.ErrNoBinding) {
		t.Errorf("PLUS client without binding: %v", err)
	}
}

// TestGS2Header checks the c= values of the issue: the base64 of the GS2
// header, before any binding data.
func TestGS2Header(t *testing.T) {
	for _, tc := range []struct {
		ch   mech.Channel
		plus bool
		want string
	}{
		{mech.Channel{}, false, "biws"},
		{mech.Channel{Bindings: []mech.Binding{{Type: "tls-exporter"}}}, false, "eSws"},
		{mech.Channel{Bindings: []mech.Binding{{Type: "tls-exporter"}}}, true, "cD10bHMtZXhwb3J0ZXIsLA=="},
	} {
		m := scram.Mechanism{Plus: tc.plus, Rand: strings.NewReader("abcdefghijklmnopqrstuvwx")}
		cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "pencil"}, tc.ch, nil)
		if _, _, err := cli.Start(ctx); err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Next(ctx, []byte("r=abcdefghijklmnopqrstuvwxSERVER,s=QSXCR+Q6sek8bf92,i=4096"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Split(strings.TrimPrefix(string(resp), "c="), ",")[0]; got != tc.want {
			t.Errorf("c=%s, want %s", got, tc.want)
		}
	}
}

func TestClientHostileServer(t *testing.T) {
	c := creds.Client{Authcid: "user", Password: "pencil"}
	start := func(m scram.Mechanism) *session.Client {
		m.Rand = strings.NewReader("abcdefghijklmnopqrstuvwx")
		cli := session.NewClient(m, c, mech.Channel{}, nil)
		if _, _, err := cli.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return cli
	}
	const nonce = "r=abcdefghijklmnopqrstuvwxSRV"
	tests := []struct {
		name, sf string
		m        scram.Mechanism
	}{
		{"too few iterations", nonce + ",s=QSXCR+Q6sek8bf92,i=4095", scram.Mechanism{}},
		{"too many iterations", nonce + ",s=QSXCR+Q6sek8bf92,i=10000001", scram.Mechanism{}},
		{"over the configured max", nonce + ",s=QSXCR+Q6sek8bf92,i=5000", scram.Mechanism{MaxIterations: 4999}},
		{"huge iterations", nonce + ",s=QSXCR+Q6sek8bf92,i=99999999999999999999", scram.Mechanism{}},
		{"negative iterations", nonce + ",s=QSXCR+Q6sek8bf92,i=-1", scram.Mechanism{}},
		{"zero-padded iterations", nonce + ",s=QSXCR+Q6sek8bf92,i=04096", scram.Mechanism{}},
		{"missing salt", nonce + ",i=4096", scram.Mechanism{}},
		{"empty salt", nonce + ",s=,i=4096", scram.Mechanism{}},
		{"bad salt", nonce + ",s=!!!!,i=4096", scram.Mechanism{}},
		{"missing iterations", nonce + ",s=QSXCR+Q6sek8bf92", scram.Mechanism{}},
		{"foreign nonce", "r=zzzdefghijklmnopqrstuvwxSRV,s=QSXCR+Q6sek8bf92,i=4096", scram.Mechanism{}},
		{"nonce not extended", "r=abcdefghijklmnopqrstuvwx,s=QSXCR+Q6sek8bf92,i=4096", scram.Mechanism{}},
		{"mandatory extension", "m=x," + nonce + ",s=QSXCR+Q6sek8bf92,i=4096", scram.Mechanism{}},
		{"trailing comma", nonce + ",s=QSXCR+Q6sek8bf92,i=4096,", scram.Mechanism{}},
		{"empty", "", scram.Mechanism{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := start(tc.m).Next(ctx, []byte(tc.sf)); !errors.Is(err, mech.ErrInvalidChallenge) {
				t.Errorf("got %v, want ErrInvalidChallenge", err)
			}
		})
	}
	// The lower bound is configurable.
	if _, err := start(scram.Mechanism{MinIterations: 1}).Next(ctx, []byte(nonce+",s=QSXCR+Q6sek8bf92,i=1")); err != nil {
		t.Errorf("MinIterations 1: %v", err)
	}
	// An e= in place of server-first is the server's failure.
	cli := start(scram.Mechanism{})
	if resp, err := cli.Next(ctx, []byte("e=other-error")); err != nil || len(resp) != 0 {
		t.Errorf("e= server-first: %q %v", resp, err)
	}
	var se *scram.ServerError
	if !errors.As(cli.Failure(), &se) || se.Value != "other-error" {
		t.Errorf("Failure() = %v", cli.Failure())
	}
}

// TestClientChecksServer: the client reports success only after it has
// verified v=.
func TestClientChecksServer(t *testing.T) {
	v := loadVectors(t)[1]
	prepare := func() *session.Client {
		_, cliMech := vectorMechs(t, v)
		cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
		if _, _, err := cli.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.Next(ctx, []byte(v.ServerFirst)); err != nil {
			t.Fatal(err)
		}
		return cli
	}
	if err := prepare().Success(ctx); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("success without v=: %v", err)
	}
	if err := prepare().SuccessData(ctx, []byte("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("wrong v=: %v", err)
	}
	if err := prepare().SuccessData(ctx, []byte("v=short")); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("short v=: %v", err)
	}
	if err := prepare().SuccessData(ctx, []byte("e=invalid-proof")); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("e=: %v", err)
	}
	if err := prepare().SuccessData(ctx, []byte(v.ServerFinal)); err != nil {
		t.Errorf("right v=: %v", err)
	}
	// v= as a challenge, then success without data.
	cli := prepare()
	if _, err := cli.Next(ctx, []byte("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("wrong v= challenge: %v", err)
	}
	// A client that never got server-first cannot succeed.
	_, cliMech := vectorMechs(t, v)
	c2 := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
	if _, _, err := c2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Success(ctx); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("success after client-first: %v", err)
	}
}

func TestAuthzid(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	m := scram.Mechanism{Store: store}
	for _, tc := range []struct {
		authzid string
		ok      bool
	}{{"", true}, {"user", true}, {"admin", false}, {"a,b=c", false}} {
		srv := session.NewServer(m, mech.Channel{}, nil)
		cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "pencil", Authzid: tc.authzid}, mech.Channel{}, nil)
		ir, _, _ := cli.Start(ctx)
		if tc.authzid == "a,b=c" && !bytes.HasPrefix(ir, []byte("n,a=a=2Cb=3Dc,")) {
			t.Errorf("authzid not escaped: %q", ir)
		}
		step, err := srv.StartInitial(ctx, ir)
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := cli.Next(ctx, step.Challenge)
		step, err = srv.Next(ctx, resp)
		if tc.ok && (err != nil || step.Creds.Authzid() != tc.authzid) {
			t.Errorf("authzid %q: %v", tc.authzid, err)
		}
		if !tc.ok && !errors.Is(err, creds.ErrUnauthorized) {
			t.Errorf("authzid %q: %v, want ErrUnauthorized", tc.authzid, err)
		}
	}
}

func TestSASLprepClient(t *testing.T) {
	// The server's keys are of the prepared password; the client prepares
	// "pen\u00ADcil" to "pencil" unless told not to.
	store := newStore(t, 4096, scram.SHA256)
	srv := scram.Mechanism{Store: store}
	c := creds.Client{Authcid: "us\u00ADer", Password: "pen\u00ADcil"}
	if r := run(t, srv, scram.Mechanism{}, c, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil {
		t.Errorf("prepared: %v %v", r.srvErr, r.cliErr)
	}
	if r := run(t, srv, scram.Mechanism{NoPrepPassword: true}, c, mech.Channel{}, mech.Channel{}); !errors.Is(r.srvErr, mech.ErrAuthFailed) {
		t.Errorf("NoPrepPassword: %v", r.srvErr)
	}
	if r := run(t, srv, scram.Mechanism{NoPrepUser: true}, c, mech.Channel{}, mech.Channel{}); !errors.Is(r.srvErr, mech.ErrAuthFailed) {
		t.Errorf("NoPrepUser: %v", r.srvErr)
	}
}

func TestKeyCache(t *testing.T) {
	store := newStore(t, 4096, scram.SHA256)
	cache := &scram.KeyCache{Max: 2}
	cli := scram.Mechanism{Cache: cache}
	srv := scram.Mechanism{Store: store}
	c := creds.Client{Authcid: "user", Password: "pencil"}
	for i := 0; i < 3; i++ {
		if r := run(t, srv, cli, c, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil {
			t.Fatalf("run %d: %v %v", i, r.srvErr, r.cliErr)
		}
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d entries, want 1", cache.Len())
	}
	// A wrong password is a different entry and still fails.
	if r := run(t, srv, cli, creds.Client{Authcid: "user", Password: "x"}, mech.Channel{}, mech.Channel{}); !errors.Is(r.srvErr, mech.ErrAuthFailed) {
		t.Errorf("wrong password with cache: %v", r.srvErr)
	}
	for _, pw := range []string{"a", "b", "c"} {
		run(t, srv, cli, creds.Client{Authcid: "user", Password: pw}, mech.Channel{}, mech.Channel{})
	}
	if cache.Len() != 2 {
		t.Errorf("cache holds %d entries, want its Max, 2", cache.Len())
	}
}

func TestParseStored(t *testing.T) {
	v := loadVectors(t)[0]
	want := scram.Keys{Salt: unb64(t, v.Salt), Iterations: 4096, StoredKey: unb64(t, v.StoredKey), ServerKey: unb64(t, v.ServerKey)}
	for _, s := range []string{
		"{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	} {
		h, k, err := scram.ParseStored(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if h.Name() != scram.SHA1.Name() {
			t.Errorf("%s: hash %s", s, h.Name())
		}
		if diff := cmp.Diff(want, k); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s, diff)
		}
	}
	if got := want.Format(scram.SHA1); got != "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=" {
		t.Errorf("Format: %s", got)
	}
	if got := want.FormatRFC5803(scram.SHA1); got != "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=" {
		t.Errorf("FormatRFC5803: %s", got)
	}
	for _, bad := range []string{
		"", "{SCRAM-SHA-1}", "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
		"{SCRAM-SHA-256}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=", // key sizes
		"{SCRAM-MD5}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1-PLUS}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1}0,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1}-1,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1}99999999999,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1}4096,,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"{SCRAM-SHA-1}4096,!!!,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=",
		"SCRAM-SHA-1$4096$QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	} {
		if _, _, err := scram.ParseStored(bad); !errors.Is(err, scram.ErrBadKeys) {
			t.Errorf("%q: %v, want ErrBadKeys", bad, err)
		}
	}
}

func TestUpgrade(t *testing.T) {
	plainRes, err := mech.Plain{}.ServerAttempt(ctx, &mech.ServerInput{Pairs: []mech.Pair{{Initial: true, Response: []byte("\x00user\x00pencil")}}})
	if err != nil {
		t.Fatal(err)
	}
	store := &scram.MemoryStore{}
	if err := scram.Upgrade(ctx, store, plainRes.Creds, 4096, scram.SHA1, scram.SHA256); err != nil {
		t.Fatal(err)
	}
	for _, h := range []scram.Hash{scram.SHA1, scram.SHA256} {
		m := scram.Mechanism{Hash: h, Store: store}
		if r := run(t, m, m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil {
			t.Errorf("%s after upgrade: %v %v", h.Name(), r.srvErr, r.cliErr)
		}
	}
	verified := creds.NewVerifiedServer("SCRAM-SHA-256", "user", "")
	if err := scram.Upgrade(ctx, store, verified, 4096, scram.SHA256); err == nil {
		t.Error("upgrade from credentials without a password succeeded")
	}
}

// TestStoreErrors: a store failure aborts the exchange; it is not turned
// into an unknown user.
func TestStoreErrors(t *testing.T) {
	boom := errors.New("database down")
	m := scram.Mechanism{Store: storeFunc(func(context.Context, scram.Hash, string) (scram.Keys, error) { return scram.Keys{}, boom })}
	if _, err := serverFirstStep(m, mech.Channel{}, "n,,n=user,r=abc"); !errors.Is(err, boom) {
		t.Errorf("got %v", err)
	}
	m.Store = storeFunc(func(context.Context, scram.Hash, string) (scram.Keys, error) { return scram.Keys{Iterations: 1}, nil })
	if _, err := serverFirstStep(m, mech.Channel{}, "n,,n=user,r=abc"); !errors.Is(err, scram.ErrBadKeys) {
		t.Errorf("bad keys from store: %v", err)
	}
}

type storeFunc func(context.Context, scram.Hash, string) (scram.Keys, error)

func (f storeFunc) Keys(ctx context.Context, h scram.Hash, u string) (scram.Keys, error) {
	return f(ctx, h, u)
}

func TestNonceSource(t *testing.T) {
	// A broken random source gives an error, not a weak nonce or a hang.
	m := scram.Mechanism{Rand: bytes.NewReader(make([]byte, 1<<20))}
	cli := session.NewClient(m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, nil)
	if _, _, err := cli.Start(ctx); err == nil {
		t.Error("all-zero random source: no error")
	}
	// Default nonces are 24 characters and differ.
	a := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "u", Password: "p"}, mech.Channel{}, nil)
	b := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "u", Password: "p"}, mech.Channel{}, nil)
	ia, _, _ := a.Start(ctx)
	ib, _, _ := b.Start(ctx)
	if bytes.Equal(ia, ib) || len(ia) != len("n,,n=u,r=")+24 {
		t.Errorf("nonces %q %q", ia, ib)
	}
}

func TestIdentity(t *testing.T) {
	v := loadVectors(t)[1]
	k := scram.Keys{Salt: unb64(t, v.Salt), Iterations: v.Iterations, StoredKey: unb64(t, v.StoredKey), ServerKey: unb64(t, v.ServerKey)}
	id := scram.Identity{Name: "user", Hash: scram.SHA256, Keys: k}
	if err := id.Compare("pencil"); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, pw := range []string{"", "pencil2", "Pencil"} {
		if err := id.Compare(pw); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("%q: %v", pw, err)
		}
	}
	if _, ok := id.Secret(); ok {
		t.Error("SCRAM identity has a clear secret")
	}
	// PLAIN credentials verify against it.
	res, err := mech.Plain{}.ServerAttempt(ctx, &mech.ServerInput{Pairs: []mech.Pair{{Initial: true, Response: []byte("\x00user\x00pencil")}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Creds.Verify(id); err != nil {
		t.Errorf("PLAIN against SCRAM keys: %v", err)
	}
	bad := scram.Identity{Name: "user", Hash: scram.SHA1, Keys: k}
	if err := bad.Compare("pencil"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("keys of the wrong size: %v", err)
	}
}

func TestClientFailureData(t *testing.T) {
	v := loadVectors(t)[1]
	for _, tc := range []struct {
		data  string
		value string
		err   error
	}{{"e=invalid-proof", "invalid-proof", mech.ErrAuthFailed}, {"v=abc", "", mech.ErrInvalidChallenge}, {"e=", "", mech.ErrInvalidChallenge}} {
		_, cliMech := vectorMechs(t, v)
		cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
		cli.Start(ctx)
		cli.Next(ctx, []byte(v.ServerFirst))
		err := cli.FailureData(ctx, []byte(tc.data))
		var se *scram.ServerError
		if !errors.Is(err, tc.err) || tc.value != "" && (!errors.As(cli.Failure(), &se) || se.Value != tc.value) {
			t.Errorf("%q: %v, Failure() = %v", tc.data, err, cli.Failure())
		}
	}
	// Mechanisms without failure data report a plain authentication
	// failure.
	cli := session.NewClient(mech.Plain{}, creds.Client{Authcid: "u", Password: "p"}, mech.Channel{}, nil)
	cli.Start(ctx)
	if err := cli.FailureData(ctx, []byte("x")); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("PLAIN: %v", err)
	}
}
