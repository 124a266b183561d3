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
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// result is what run returns: the server's last step and error, the
// client's error, the number of server steps and the final data the
// server sent (v= or e=).
type result struct {
	step      session.Step
	srvErr    error
	cliErr    error
	srvSteps  int
	sentFinal []byte
}

// run runs a full exchange between a client and a server session, the
// server configured with cfg.
func run(t testing.TB, cfg *session.Config, srvMech, cliMech scram.Mechanism, c creds.Client, srvCh, cliCh mech.Channel) result {
	t.Helper()
	srv, err := session.NewServer(srvMech, srvCh, cfg)
	if err != nil {
		t.Fatal(err)
	}
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

// newKeys derives the keys of password for each hash.
func newKeys(t testing.TB, password string, iterations int, hashes ...scram.Hash) []creds.SCRAMKeys {
	t.Helper()
	var keys []creds.SCRAMKeys
	for _, h := range hashes {
		k, err := creds.DeriveSCRAMKeys(h.Name(), password, nil, iterations, false)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return keys
}

// newConfig returns a session configuration whose store holds the account
// "user", password "pencil", with SCRAM keys for hashes.
func newConfig(t testing.TB, iterations int, hashes ...scram.Hash) *session.Config {
	t.Helper()
	return configOf(t, creds.Account{Name: "user", SCRAM: newKeys(t, "pencil", iterations, hashes...)})
}

// configOf returns a session configuration whose store holds accounts.
func configOf(t testing.TB, accounts ...creds.Account) *session.Config {
	t.Helper()
	store := &creds.MemoryStore{}
	for _, a := range accounts {
		if err := store.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return &session.Config{Verifier: &creds.Verifier{Store: store}}
}

// checkInvalidProof fails unless err is the failure of a wrong password
// or an unknown user: e=invalid-proof, wrapping a *mech.Error that wraps
// creds.ErrBadCredentials.
func checkInvalidProof(t *testing.T, err error) {
	t.Helper()
	var fe *mech.FailureError
	var me *mech.Error
	if !errors.As(err, &fe) || string(fe.Data) != "e=invalid-proof" || !errors.As(fe.Err, &me) || !errors.Is(err, creds.ErrBadCredentials) {
		t.Fatalf("got %v, want e=invalid-proof wrapping ErrBadCredentials", err)
	}
}

// testHasher is a cheap password hasher, so that tests stay fast.
var testHasher = hash.PBKDF2{Digest: "sha256", Rounds: 1000}

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
	cfg := newConfig(t, 4096, allHashes...)
	for _, h := range allHashes {
		for _, plus := range []bool{false, true} {
			m := scram.Mechanism{Hash: h, Plus: plus}
			t.Run(m.Name(), func(t *testing.T) {
				var ch mech.Channel
				if plus {
					ch = mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("ekm")}}}
				}
				r := run(t, cfg, m, m, creds.Client{Authcid: "user", Password: "pencil"}, ch, ch)
				if r.srvErr != nil || r.cliErr != nil || !r.step.Done {
					t.Fatalf("server %v, client %v", r.srvErr, r.cliErr)
				}
				p := r.step.Principal
				if got, want := []string{p.Mechanism(), p.Account(), p.Authzid()}, []string{m.Name(), "user", ""}; !cmp.Equal(got, want) {
					t.Errorf("principal %q, want %q", got, want)
				}
			})
		}
	}
}

// TestUnknownUser: an unknown user and a wrong password fail the same way:
// same number of steps, same error, same e= value.
func TestUnknownUser(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	m := scram.Mechanism{Hash: scram.SHA256}
	wrong := run(t, cfg, m, m, creds.Client{Authcid: "user", Password: "wrong"}, mech.Channel{}, mech.Channel{})
	unknown := run(t, cfg, m, m, creds.Client{Authcid: "nobody", Password: "pencil"}, mech.Channel{}, mech.Channel{})
	for name, r := range map[string]result{"wrong password": wrong, "unknown user": unknown} {
		t.Run(name, func(t *testing.T) {
			checkInvalidProof(t, r.srvErr)
			if r.step.Done || r.step.Principal != nil {
				t.Errorf("step %+v", r.step)
			}
		})
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

	// An unknown user's mock keys take the store's shape: its salt length
	// and iteration count. The mock salt is stable for a user, for every
	// spelling of the name and across restarts with the same Verifier
	// secret, and differs between users and between secrets.
	secret := []byte("the server secret, 32 octets long")
	keys := newKeys(t, "pencil", 10000, scram.SHA256)
	store := &creds.MemoryStore{}
	if err := store.Add(creds.Account{Name: "user", SCRAM: keys}); err != nil {
		t.Fatal(err)
	}
	first := func(secret []byte, user string) string {
		t.Helper()
		cfg := &session.Config{Verifier: &creds.Verifier{Store: store, Secret: secret}}
		step, err := serverFirstStep(scram.Mechanism{}, cfg, mech.Channel{}, "n,,n="+user+",r=abc")
		if err != nil {
			t.Fatal(err)
		}
		s := string(step.Challenge)
		return s[strings.Index(s, ",s="):]
	}
	if a, b := first(secret, "alice"), first(secret, "alice"); a != b {
		t.Errorf("mock salt not stable: %s vs %s", a, b)
	}
	if a, b := first(secret, "alice"), first(append([]byte(nil), secret...), "al\u00ADice"); a != b {
		t.Errorf("mock salt differs for another spelling or another Verifier with the secret: %s vs %s", a, b)
	}
	if a, b := first(secret, "alice"), first(secret, "bob"); a == b {
		t.Errorf("mock salts equal for two users: %s", a)
	}
	if a, b := first(secret, "alice"), first([]byte("another secret of 32 octets......"), "alice"); a == b {
		t.Errorf("mock salts equal for two secrets: %s", a)
	}
	if !strings.HasSuffix(first(secret, "alice"), ",i=10000") {
		t.Errorf("mock iterations: %s", first(secret, "alice"))
	}
	real, mock := first(secret, "user"), first(secret, "alice")
	if len(real) != len(mock) {
		t.Errorf("mock salt %s and real salt %s differ in length", mock, real)
	}
}

// serverFirstStep feeds a client-first message to a server.
func serverFirstStep(m scram.Mechanism, cfg *session.Config, ch mech.Channel, msg string) (session.Step, error) {
	srv, err := session.NewServer(m, ch, cfg)
	if err != nil {
		return session.Step{}, err
	}
	return srv.StartInitial(ctx, []byte(msg))
}

func TestServerFirstErrors(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	plain := scram.Mechanism{}
	plus := scram.Mechanism{Plus: true}
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
			step, err := serverFirstStep(tc.m, cfg, tc.ch, tc.msg)
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
		if _, err := serverFirstStep(plain, cfg, mech.Channel{}, msg); err != nil {
			t.Errorf("%q: %v", msg, err)
		}
	}
}

// clientFinalCase runs a good client-first, then lets mutate change the
// client-final message before the server sees it.
func clientFinalCase(t *testing.T, cfg *session.Config, m scram.Mechanism, ch mech.Channel, mutate func(string) string) (session.Step, error) {
	t.Helper()
	cli := session.NewClient(scram.Mechanism{Hash: m.Hash, Plus: m.Plus}, creds.Client{Authcid: "user", Password: "pencil"}, ch, nil)
	srv, err := session.NewServer(m, ch, cfg)
	if err != nil {
		t.Fatal(err)
	}
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
	cfg := newConfig(t, 4096, scram.SHA256)
	m := scram.Mechanism{}
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
			step, err := clientFinalCase(t, cfg, m, mech.Channel{}, tc.mutate)
			var fe *mech.FailureError
			if !errors.As(err, &fe) || step.Done || step.Principal != nil {
				t.Fatalf("got %+v, %v; want a FailureError", step, err)
			}
			if diff := cmp.Diff("e="+tc.evalue, string(fe.Data)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	step, err := clientFinalCase(t, cfg, m, mech.Channel{}, func(s string) string {
		i := strings.Index(s, ",p=")
		return s[:i] + ",x=ext" + s[i:]
	})
	// The proof covers the message without the proof, so an extension
	// added in transit changes AuthMessage and the proof fails.
	checkInvalidProof(t, err)
	if step.Done {
		t.Errorf("extension changes AuthMessage: done")
	}
}

func TestChannelBinding(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	ch := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("0123456789abcdef0123456789abcdef")}}}
	other := mech.Channel{Secure: true, Bindings: []mech.Binding{{Type: "tls-exporter", Data: []byte("fedcba9876543210fedcba9876543210")}}}
	c := creds.Client{Authcid: "user", Password: "pencil"}
	plus := scram.Mechanism{Plus: true}
	plain := scram.Mechanism{}

	r := run(t, cfg, plus, plus, c, ch, ch)
	if r.srvErr != nil || r.cliErr != nil || !r.step.Done || r.step.Principal.Mechanism() != "SCRAM-SHA-256-PLUS" {
		t.Fatalf("PLUS: server %v, client %v", r.srvErr, r.cliErr)
	}
	r = run(t, cfg, plus, plus, c, ch, other)
	if !errors.Is(r.srvErr, mech.ErrAuthFailed) || !bytes.Equal(r.sentFinal, []byte("e=channel-bindings-dont-match")) {
		t.Errorf("mismatched binding: %v, %q", r.srvErr, r.sentFinal)
	}
	// A client that can bind, running a non-PLUS mechanism, sends "y"; a
	// server that has bindings refuses it.
	r = run(t, cfg, plain, plain, c, ch, ch)
	if !bytes.Equal(r.sentFinal, []byte("e=server-does-support-channel-binding")) {
		t.Errorf("downgrade: %v, %q", r.srvErr, r.sentFinal)
	}
	// ...and one that has none accepts it.
	r = run(t, cfg, plain, plain, c, mech.Channel{}, ch)
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
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := start(tc.m).Next(ctx, []byte(tc.sf)); !errors.Is(err, mech.ErrInvalidChallenge) {
				t.Errorf("got %v, want ErrInvalidChallenge", err)
			}
		})
	}
	// An empty challenge right after the client-first message asks for it
	// again (the server did not get it as an initial response), once; a
	// second empty challenge is the mechanism's, and malformed.
	again := start(scram.Mechanism{})
	if resp, err := again.Next(ctx, nil); err != nil || !strings.HasPrefix(string(resp), "n,,n=user,r=") {
		t.Errorf("empty challenge after Start: %q, %v; want the client-first message again", resp, err)
	}
	if _, err := again.Next(ctx, nil); !errors.Is(err, mech.ErrInvalidChallenge) {
		t.Errorf("second empty challenge: %v, want ErrInvalidChallenge", err)
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
		_, cliMech, _ := vectorMechs(t, v)
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
	_, cliMech, _ := vectorMechs(t, v)
	c2 := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
	if _, _, err := c2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c2.Success(ctx); !errors.Is(err, mech.ErrAuthFailed) {
		t.Errorf("success after client-first: %v", err)
	}
}

func TestAuthzid(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	m := scram.Mechanism{}
	for _, tc := range []struct {
		authzid string
		ok      bool
	}{{"", true}, {"user", true}, {"us\u00ADer", true}, {"admin", false}, {"a,b=c", false}} {
		srv, err := session.NewServer(m, mech.Channel{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
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
		// An authzid that names the account itself is no authzid.
		if tc.ok && (err != nil || step.Principal.Authzid() != "" || step.Principal.Effective() != "user") {
			t.Errorf("authzid %q: %v, %v", tc.authzid, step.Principal, err)
		}
		if !tc.ok && (!errors.Is(err, creds.ErrUnauthorized) || step.Done || step.Principal != nil) {
			t.Errorf("authzid %q: %+v, %v, want ErrUnauthorized", tc.authzid, step, err)
		}
	}
}

func TestSASLprepClient(t *testing.T) {
	// The server's keys are of the prepared password; the client prepares
	// "pen\u00ADcil" to "pencil" unless told not to.
	cfg := newConfig(t, 4096, scram.SHA256)
	srv := scram.Mechanism{}
	c := creds.Client{Authcid: "us\u00ADer", Password: "pen\u00ADcil"}
	r := run(t, cfg, srv, scram.Mechanism{}, c, mech.Channel{}, mech.Channel{})
	if r.srvErr != nil || r.cliErr != nil || r.step.Principal.Account() != "user" {
		t.Errorf("prepared: %v %v", r.srvErr, r.cliErr)
	}
	r = run(t, cfg, srv, scram.Mechanism{NoPrepPassword: true}, c, mech.Channel{}, mech.Channel{})
	checkInvalidProof(t, r.srvErr)
	// The server prepares the user name itself, through the store: a
	// client that does not still logs in to the account.
	r = run(t, cfg, srv, scram.Mechanism{NoPrepUser: true}, c, mech.Channel{}, mech.Channel{})
	if r.srvErr != nil || r.cliErr != nil || r.step.Principal.Account() != "user" {
		t.Errorf("NoPrepUser: %v %v", r.srvErr, r.cliErr)
	}
	// ...but not to an account that opted out of SASLprep.
	raw, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, true)
	if err != nil {
		t.Fatal(err)
	}
	noprep := configOf(t, creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{raw}, NoPrep: true})
	r = run(t, noprep, srv, scram.Mechanism{NoPrepUser: true}, c, mech.Channel{}, mech.Channel{})
	checkInvalidProof(t, r.srvErr)
	r = run(t, noprep, srv, scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{})
	if r.srvErr != nil || r.cliErr != nil {
		t.Errorf("NoPrep account, exact name: %v %v", r.srvErr, r.cliErr)
	}

	// U+2168 ROMAN NUMERAL NINE is "IX" after SASLprep: sent prepared or
	// not, it logs in to the account IX, by that name.
	nine := configOf(t, creds.Account{Name: "IX", SCRAM: newKeys(t, "pencil", 4096, scram.SHA256)})
	for _, cli := range []scram.Mechanism{{}, {NoPrepUser: true}} {
		r := run(t, nine, srv, cli, creds.Client{Authcid: "\u2168", Password: "pencil"}, mech.Channel{}, mech.Channel{})
		if r.srvErr != nil || r.cliErr != nil || r.step.Principal.Account() != "IX" {
			t.Errorf("\u2168 (NoPrepUser %v): %v %v", cli.NoPrepUser, r.srvErr, r.cliErr)
		}
	}
}

func TestKeyCache(t *testing.T) {
	cfg := newConfig(t, 4096, scram.SHA256)
	cache := &scram.KeyCache{Max: 2}
	cli := scram.Mechanism{Cache: cache}
	srv := scram.Mechanism{}
	c := creds.Client{Authcid: "user", Password: "pencil"}
	for i := 0; i < 3; i++ {
		if r := run(t, cfg, srv, cli, c, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil {
			t.Fatalf("run %d: %v %v", i, r.srvErr, r.cliErr)
		}
	}
	if cache.Len() != 1 {
		t.Errorf("cache holds %d entries, want 1", cache.Len())
	}
	// A wrong password is a different entry and still fails.
	r := run(t, cfg, srv, cli, creds.Client{Authcid: "user", Password: "x"}, mech.Channel{}, mech.Channel{})
	checkInvalidProof(t, r.srvErr)
	for _, pw := range []string{"a", "b", "c"} {
		run(t, cfg, srv, cli, creds.Client{Authcid: "user", Password: pw}, mech.Channel{}, mech.Channel{})
	}
	if cache.Len() != 2 {
		t.Errorf("cache holds %d entries, want its Max, 2", cache.Len())
	}
}

// TestStoredKeyFormats: keys read from a Dovecot or RFC 5803 string, as
// stored by Dovecot, gsasl --mkpasswd or PostgreSQL, serve the RFC 5802
// exchange byte for byte.
func TestStoredKeyFormats(t *testing.T) {
	v := loadVectors(t)[0]
	for _, s := range []string{
		"{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		"SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	} {
		k, err := creds.ParseSCRAMKeys(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if h, plus, ok := scram.HashByName("SCRAM-" + k.Hash); !ok || plus || h.Name() != scram.SHA1.Name() {
			t.Errorf("%s: hash %q is not SCRAM-SHA-1's", s, k.Hash)
		}
		srvMech, cliMech, ver := vectorMechsWith(t, v, k)
		cfg := &session.Config{Verifier: ver}
		srv, err := session.NewServer(srvMech, mech.Channel{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
		ir, _, _ := cli.Start(ctx)
		step, err := srv.StartInitial(ctx, ir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, "server-first", v.ServerFirst, step.Challenge)
		resp, _ := cli.Next(ctx, step.Challenge)
		step, err = srv.Next(ctx, resp)
		if err != nil || !step.Done {
			t.Fatalf("%s: %+v, %v", s, step, err)
		}
		check(t, "server-final", v.ServerFinal, step.Final)
		if err := cli.SuccessData(ctx, step.Final); err != nil || step.Principal.Account() != v.User {
			t.Errorf("%s: %v, %v", s, step.Principal, err)
		}
	}
}

// TestPlainAndSCRAM: one account record serves PLAIN and SCRAM. Keys
// derived from the password a PLAIN login checked (what a server does to
// move its users to SCRAM) let the user log in with SCRAM.
func TestPlainAndSCRAM(t *testing.T) {
	pw, err := creds.HashPassword("pencil", testHasher)
	if err != nil {
		t.Fatal(err)
	}
	plainOnly := configOf(t, creds.Account{Name: "user", Password: pw})
	srv, err := session.NewServer(mech.Plain{}, mech.Channel{}, plainOnly)
	if err != nil {
		t.Fatal(err)
	}
	step, err := srv.StartInitial(ctx, []byte("\x00user\x00pencil"))
	if err != nil || !step.Done || step.Principal.Account() != "user" {
		t.Fatalf("PLAIN: %+v, %v", step, err)
	}
	// No SCRAM keys yet: a SCRAM server cannot be built.
	if _, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, plainOnly); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("SCRAM without keys: %v, want ErrMisconfigured", err)
	}

	both := configOf(t, creds.Account{Name: "user", Password: pw, SCRAM: newKeys(t, "pencil", 4096, scram.SHA1, scram.SHA256)})
	for _, h := range []scram.Hash{scram.SHA1, scram.SHA256} {
		m := scram.Mechanism{Hash: h}
		if r := run(t, both, m, m, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil || r.step.Principal.Account() != "user" {
			t.Errorf("%s after upgrade: %v %v", h.Name(), r.srvErr, r.cliErr)
		}
	}
	srv, err = session.NewServer(mech.Plain{}, mech.Channel{}, both)
	if err != nil {
		t.Fatal(err)
	}
	if step, err := srv.StartInitial(ctx, []byte("\x00user\x00pencil")); err != nil || !step.Done {
		t.Errorf("PLAIN after upgrade: %+v, %v", step, err)
	}
	// Keys for SHA-1 and SHA-256 do not make SCRAM-SHA-512 possible.
	if _, err := session.NewServer(scram.Mechanism{Hash: scram.SHA512}, mech.Channel{}, both); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("SCRAM-SHA-512 with SHA-1 and SHA-256 keys: %v, want ErrMisconfigured", err)
	}
}

// identityFunc is a Store whose lookups return what f returns.
type identityFunc func(name string) (creds.Identity, error)

func (f identityFunc) Lookup(_ context.Context, name string) (creds.Identity, error) { return f(name) }
func (f identityFunc) Profile() creds.Profile {
	return creds.Profile{SCRAM: []creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 16, Iterations: 4096}}}
}

// keysIdentity is an account with the given keys, whatever hash they are
// asked for.
type keysIdentity struct{ keys creds.SCRAMKeys }

func (k keysIdentity) AccountName() string                      { return "user" }
func (k keysIdentity) SCRAMKeys(string) (creds.SCRAMKeys, bool) { return k.keys, true }

// TestStoreErrors: a store failure aborts the exchange; it is not turned
// into an unknown user. Keys that cannot be used are.
func TestStoreErrors(t *testing.T) {
	boom := errors.New("database down")
	cfgOf := func(s creds.Store) *session.Config { return &session.Config{Verifier: &creds.Verifier{Store: s}} }
	failing := cfgOf(identityFunc(func(string) (creds.Identity, error) { return nil, boom }))
	step, err := serverFirstStep(scram.Mechanism{}, failing, mech.Channel{}, "n,,n=user,r=abc")
	var fe *mech.FailureError
	if !errors.Is(err, boom) || errors.Is(err, creds.ErrBadCredentials) || errors.As(err, &fe) || step.Challenge != nil {
		t.Errorf("failing store: %v", err)
	}
	// Malformed keys from a store are no keys: the exchange fails at the
	// proof, as for an unknown user, even with the right password.
	good := newKeys(t, "pencil", 4096, scram.SHA256)[0]
	short := good
	short.StoredKey = short.StoredKey[:10]
	for name, k := range map[string]creds.SCRAMKeys{
		"no salt":          {Hash: "SHA-256", Iterations: 4096, StoredKey: good.StoredKey, ServerKey: good.ServerKey},
		"zero iterations":  {Hash: "SHA-256", Salt: good.Salt, StoredKey: good.StoredKey, ServerKey: good.ServerKey},
		"short stored key": short,
	} {
		cfg := cfgOf(identityFunc(func(string) (creds.Identity, error) { return keysIdentity{k}, nil }))
		r := run(t, cfg, scram.Mechanism{}, scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{})
		t.Run(name, func(t *testing.T) { checkInvalidProof(t, r.srvErr) })
	}
	// Keys of another hash are a misconfiguration of the store.
	sha1 := newKeys(t, "pencil", 4096, scram.SHA1)[0]
	wrongHash := cfgOf(identityFunc(func(string) (creds.Identity, error) { return keysIdentity{sha1}, nil }))
	if _, err := serverFirstStep(scram.Mechanism{}, wrongHash, mech.Channel{}, "n,,n=user,r=abc"); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("SHA-1 keys for SCRAM-SHA-256: %v, want ErrMisconfigured", err)
	}
	// The keys as they should be log in.
	right := cfgOf(identityFunc(func(string) (creds.Identity, error) { return keysIdentity{good}, nil }))
	if r := run(t, right, scram.Mechanism{}, scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"}, mech.Channel{}, mech.Channel{}); r.srvErr != nil || r.cliErr != nil {
		t.Errorf("good keys: %v %v", r.srvErr, r.cliErr)
	}
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

// TestSCRAMAccount: an account that holds only SCRAM keys serves PLAIN,
// checked against the keys, but not CRAM-MD5, which needs the password in
// the clear.
func TestSCRAMAccount(t *testing.T) {
	v := loadVectors(t)[1]
	cfg := configOf(t, creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{vectorKeys(t, v)}})
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"pencil", true}, {"pen\u00ADcil", true}, {"pencil2", false}, {"Pencil", false}} {
		srv, err := session.NewServer(mech.Plain{}, mech.Channel{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		step, err := srv.StartInitial(ctx, []byte("\x00user\x00"+tc.password))
		if tc.ok && (err != nil || step.Principal.Account() != "user") {
			t.Errorf("PLAIN %q against SCRAM keys: %v", tc.password, err)
		}
		if !tc.ok && (!errors.Is(err, creds.ErrBadCredentials) || step.Done) {
			t.Errorf("PLAIN %q against SCRAM keys: %v, want ErrBadCredentials", tc.password, err)
		}
	}
	if _, err := session.NewServer(mech.CRAMMD5{}, mech.Channel{}, cfg); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("CRAM-MD5 with SCRAM keys only: %v, want ErrMisconfigured", err)
	}
	// Keys that do not fit their hash are refused by the store.
	bad := vectorKeys(t, v)
	bad.Hash = "SHA-1"
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: "user", SCRAM: []creds.SCRAMKeys{bad}}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("SHA-256 keys as SHA-1: %v, want ErrMisconfigured", err)
	}
}

// TestCheckConfig: a SCRAM server needs a store with keys for its hash.
func TestCheckConfig(t *testing.T) {
	sha1Only := newConfig(t, 4096, scram.SHA1)
	sha256 := newConfig(t, 4096, scram.SHA256)
	for _, tc := range []struct {
		name string
		m    scram.Mechanism
		cfg  *session.Config
		ok   bool
	}{
		{"no Verifier", scram.Mechanism{}, nil, false},
		{"Verifier without store", scram.Mechanism{}, &session.Config{Verifier: &creds.Verifier{}}, false},
		{"empty store", scram.Mechanism{}, configOf(t), false},
		{"SHA-1 keys only", scram.Mechanism{Hash: scram.SHA256}, sha1Only, false},
		{"SHA-1 keys only, PLUS", scram.Mechanism{Hash: scram.SHA256, Plus: true}, sha1Only, false},
		{"passwords only", scram.Mechanism{}, configOf(t, creds.Account{Name: "user", Password: "{PLAIN}pencil"}), false},
		{"SHA-1 keys for SHA-1", scram.Mechanism{Hash: scram.SHA1}, sha1Only, true},
		{"SHA-256 keys", scram.Mechanism{}, sha256, true},
		{"SHA-256 keys, PLUS", scram.Mechanism{Plus: true}, sha256, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in mech.ServerInput
			if tc.cfg != nil {
				in.Verifier = tc.cfg.Verifier
			}
			err := tc.m.CheckConfig(&in)
			_, serr := session.NewServer(tc.m, mech.Channel{}, tc.cfg)
			if tc.ok {
				if err != nil || serr != nil {
					t.Fatalf("CheckConfig = %v, NewServer = %v; want nil", err, serr)
				}
				return
			}
			for _, e := range []error{err, serr} {
				if !errors.Is(e, creds.ErrMisconfigured) || !strings.Contains(e.Error(), tc.m.Name()) {
					t.Errorf("%v: want an error wrapping ErrMisconfigured that names %s", e, tc.m.Name())
				}
			}
		})
	}
}

// TestServerError: the client reports the e= values of RFC 5802 as they
// are, and any other as "unknown", which it does not repeat.
func TestServerError(t *testing.T) {
	for _, tc := range []struct{ data, want string }{
		{"e=invalid-proof", "invalid-proof"},
		{"e=unknown-user", "unknown-user"},
		{"e=no-resources", "no-resources"},
		{"e=other-error", "other-error"},
		{"e=channel-bindings-dont-match", "channel-bindings-dont-match"},
		{"e=made-up-error", "unknown"},
		{"e=Invalid-Proof", "unknown"},
		{"e=unknown", "unknown"},
	} {
		v := loadVectors(t)[1]
		var got []string
		// As the server-final data, as a server-first message and as
		// failure data.
		for _, how := range []string{"final", "server-first", "failure data"} {
			_, cliMech, _ := vectorMechs(t, v)
			cli := session.NewClient(cliMech, creds.Client{Authcid: v.User, Password: v.Password}, mech.Channel{}, nil)
			if _, _, err := cli.Start(ctx); err != nil {
				t.Fatal(err)
			}
			var err error
			switch how {
			case "server-first":
				_, err = cli.Next(ctx, []byte(tc.data))
				if err == nil {
					err = cli.Failure()
				}
			case "final":
				if _, err := cli.Next(ctx, []byte(v.ServerFirst)); err != nil {
					t.Fatal(err)
				}
				err = cli.SuccessData(ctx, []byte(tc.data))
			default:
				if _, err := cli.Next(ctx, []byte(v.ServerFirst)); err != nil {
					t.Fatal(err)
				}
				err = cli.FailureData(ctx, []byte(tc.data))
				if cli.Failure() != nil {
					err = cli.Failure()
				}
			}
			var se *scram.ServerError
			if !errors.As(err, &se) || !errors.Is(err, mech.ErrAuthFailed) {
				t.Fatalf("%s %q: %v, want a *ServerError", how, tc.data, err)
			}
			if tc.want == "unknown" && strings.Contains(se.Error(), strings.TrimPrefix(tc.data, "e=")) && tc.data != "e=unknown" {
				t.Errorf("%s %q: error %q repeats the value", how, tc.data, se)
			}
			got = append(got, se.Value)
		}
		if diff := cmp.Diff([]string{tc.want, tc.want, tc.want}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tc.data, diff)
		}
	}
}

func TestClientFailureData(t *testing.T) {
	v := loadVectors(t)[1]
	for _, tc := range []struct {
		data  string
		value string
		err   error
	}{{"e=invalid-proof", "invalid-proof", mech.ErrAuthFailed}, {"v=abc", "", mech.ErrInvalidChallenge}, {"e=", "", mech.ErrInvalidChallenge}} {
		_, cliMech, _ := vectorMechs(t, v)
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

// TestPostgreSQL runs PostgreSQL's variant: the user comes from the
// connection (the startup message), and the client-first message names
// nobody (libpq, pgx), "*" (pgjdbc) or that user.
func TestPostgreSQL(t *testing.T) {
	cfg := configOf(t,
		creds.Account{Name: "alice", SCRAM: newKeys(t, "pencil", 4096, scram.SHA256)},
		creds.Account{Name: "bob", SCRAM: newKeys(t, "secret", 4096, scram.SHA256)})
	pg := scram.Mechanism{PostgreSQL: true}
	startup := mech.Channel{User: "alice"}

	// saslkit's client in PostgreSQL mode sends "n,,n=,r=" and needs no
	// user name.
	cli := session.NewClient(pg, creds.Client{Password: "pencil"}, mech.Channel{}, nil)
	ir, _, err := cli.Start(ctx)
	if err != nil || !strings.HasPrefix(string(ir), "n,,n=,r=") {
		t.Fatalf("client-first %q, %v; want n,,n=,r=…", ir, err)
	}

	tests := []struct {
		name    string
		cli     scram.Mechanism
		c       creds.Client
		ch      mech.Channel
		wantErr error
	}{
		{"empty n=", pg, creds.Client{Password: "pencil"}, startup, nil},
		{"same user in n=", scram.Mechanism{}, creds.Client{Authcid: "alice", Password: "pencil"}, startup, nil},
		{"n=*", scram.Mechanism{}, creds.Client{Authcid: "*", Password: "pencil"}, startup, nil},
		{"wrong password", pg, creds.Client{Password: "secret"}, startup, creds.ErrBadCredentials},
		// bob's password does not log in as alice, whatever n= says.
		{"other user in n=", scram.Mechanism{}, creds.Client{Authcid: "bob", Password: "secret"}, startup, mech.ErrInvalidResponse},
		{"unknown startup user", pg, creds.Client{Password: "pencil"}, mech.Channel{User: "carol"}, creds.ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, cfg, pg, tt.cli, tt.c, tt.ch, mech.Channel{})
			if tt.wantErr == nil {
				if r.srvErr != nil || r.cliErr != nil || r.step.Principal.Account() != tt.ch.User {
					t.Fatalf("got %v, %v; want %s logged in", r.srvErr, r.cliErr, tt.ch.User)
				}
				return
			}
			if !errors.Is(r.srvErr, tt.wantErr) {
				t.Fatalf("server: %v, want %v", r.srvErr, tt.wantErr)
			}
		})
	}

	// Without the variant, the empty n= is refused, as RFC 5802 says.
	if r := run(t, cfg, scram.Mechanism{}, pg, creds.Client{Password: "pencil"}, startup, mech.Channel{}); !errors.Is(r.srvErr, mech.ErrInvalidResponse) {
		t.Errorf("RFC server, empty n=: %v, want ErrInvalidResponse", r.srvErr)
	}
	// The variant without the connection's user cannot be built.
	if _, err := session.NewServer(pg, mech.Channel{}, cfg); !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), "Channel.User") {
		t.Errorf("no Channel.User: %v, want ErrMisconfigured naming it", err)
	}
}
