package findings

// The findings of the integration review (wiring saslkit into go-imap v2,
// go-sasl clients, franz-go, kafka-go, pgx and an XMPP client), one test
// each, as an application sees them. Each failed at ab610cd. The real
// peers' side of each is tested in the nested modules: examples/goimap
// (gsasl, imaplib and curl against go-imap v2), examples/pgauth (psql,
// pgx and PostgreSQL 15), adapters/gosasl (Dovecot), adapters/franzgo and
// adapters/kafkago (kfake), adapters/mellium (Prosody).

import (
	"bytes"
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/mechtest"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/outcome"
	"github.com/saslkit/saslkit/session"
)

// Integration finding 1: go-imap v2 writes a non-nil empty challenge as
// "+ =", which gsasl refuses as bad base64. GoSASL returned []byte{} for
// the empty first challenge of a client-first mechanism; go-sasl's own
// mechanisms return nil.
func TestIntegration1GoSASLEmptyChallengeIsNil(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "alice", Password: mustHash(t, "pencil"),
		SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16)}})
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	for _, m := range []mech.Server{mech.Plain{}, scram.Mechanism{}, mech.External{}} {
		srv, err := session.NewServer(m, mech.Channel{Secure: true, External: "alice"}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// go-imap v2: AUTHENTICATE without an initial response.
		challenge, done, err := srv.GoSASL(ctx).Next(nil)
		if err != nil || done || challenge != nil {
			t.Errorf("%s: first challenge %#v, done %v, %v; want nil (\"+ \" on the wire)", m.Name(), challenge, done, err)
		}
	}
}

// Integration finding 2: a session.Client could not say when the exchange
// was over, which franz-go, kafka-go and mellium ask after every server
// message; adapters guessed from the mechanism. Client.Last says it, and
// the server's next message, handed to SuccessData, is where SCRAM checks
// the server: a forged server-final fails.
func TestIntegration2ClientSaysWhenTheExchangeIsOver(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-512", "pencil", 16)}})
	m := scram.Mechanism{Hash: scram.SHA512}
	for _, forge := range []bool{false, true} {
		srv, err := session.NewServer(m, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: &store}})
		if err != nil {
			t.Fatal(err)
		}
		cli := session.NewClient(m, creds.Client{Authcid: "alice", Password: "pencil"}, mech.Channel{}, nil)
		// A Kafka client: SaslAuthenticate rounds until the mechanism
		// says done.
		var lasts []bool
		msg, _, err := cli.Start(ctx)
		lasts = append(lasts, cli.Last())
		step, err2 := srv.StartInitial(ctx, msg)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		var done bool
		for round := 0; !done && round < 5; round++ {
			reply := step.Challenge
			if step.Done {
				reply = bytes.Clone(step.Final)
				if forge {
					reply[len(reply)-2] ^= 1
				}
			}
			if cli.Last() {
				done, err = true, cli.SuccessData(ctx, reply)
				break
			}
			if msg, err = cli.Next(ctx, reply); err != nil {
				t.Fatal(err)
			}
			lasts = append(lasts, cli.Last())
			if step, err = srv.Next(ctx, msg); err != nil {
				t.Fatal(err)
			}
		}
		if !done {
			t.Fatal("the client never said the exchange was over")
		}
		if want := []bool{false, true}; len(lasts) != 2 || lasts[0] != want[0] || lasts[1] != want[1] {
			t.Errorf("Last after client-first and client-final: %v, want %v", lasts, want)
		}
		if forge != (err != nil) || forge && !errors.Is(err, mech.ErrAuthFailed) {
			t.Errorf("forged server-final %v: %v", forge, err)
		}
	}
}

// Integration finding 3: a client that called Start to learn whether there
// was an initial response, then could not send it (a server without
// SASL-IR), broke the next Next with a misleading error. The server's empty
// challenge now gets the initial response.
func TestIntegration3StartWithoutSendingIt(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "alice", Password: mustHash(t, "pencil"),
		SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16)}})
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	for _, m := range []interface {
		mech.Server
		mech.Client
	}{mech.Plain{}, scram.Mechanism{}, mech.OAuthBearer{}} {
		if m.Name() == "OAUTHBEARER" {
			cfg.Tokens = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
				r.Subject = "alice"
				return nil
			})
		}
		srv, err := session.NewServer(m, tlsChan, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cli := session.NewClient(m, creds.Client{Authcid: "alice", Password: "pencil", Token: "t"}, tlsChan, nil)
		if _, ok, err := cli.Start(ctx); err != nil || !ok {
			t.Fatalf("%s: Start: %v, %v", m.Name(), ok, err)
		}
		// The initial response is dropped: the server starts without it.
		step, err := srv.Start(ctx)
		for err == nil && !step.Done {
			var resp []byte
			if resp, err = cli.Next(ctx, step.Challenge); err != nil {
				break
			}
			step, err = srv.Next(ctx, resp)
		}
		if err == nil && step.HasFinal {
			err = cli.SuccessData(ctx, step.Final)
		}
		if err != nil || step.Principal.Account() != "alice" {
			t.Errorf("%s without its initial response: %v", m.Name(), err)
		}
	}
}

// Integration finding 4: pgx and libpq send SCRAM's client-first message
// with an empty user name ("n,,n=,r=…"), the user being in PostgreSQL's
// startup message, and saslkit refused it; the proof covers that message,
// so no wrapper could fix it.
func TestIntegration4PostgreSQLEmptyUserName(t *testing.T) {
	var store creds.MemoryStore
	// A verifier as PostgreSQL stores it.
	keys, err := creds.ParseSCRAMKeys("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$" +
		"nQpbZ77WudtqufPwikHXGRt6g2QJ4zns8bZLw273DRM=:jn2amWP1q1h+jgjy0YTO14S6/F02SV7taipOeB7ef20=")
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, &store, creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}})
	cfg := &session.Config{Verifier: &creds.Verifier{Store: &store}}
	pg := scram.Mechanism{PostgreSQL: true}
	srv, err := session.NewServer(pg, mech.Channel{User: "alice"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// libpq's client-first message, byte for byte but for the nonce.
	step, err := srv.StartInitial(ctx, []byte("n,,n=,r=Rs0GJb6PiHTZ7oTzkj5X+zjw"))
	if err != nil || !bytes.HasPrefix(step.Challenge, []byte("r=Rs0GJb6PiHTZ7oTzkj5X+zjw")) {
		t.Fatalf("server-first %q, %v", step.Challenge, err)
	}
	// And the whole exchange with saslkit's client in PostgreSQL mode.
	srv, err = session.NewServer(pg, mech.Channel{User: "alice"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := session.Run(ctx, session.NewClient(pg, creds.Client{Password: "pencil"}, mech.Channel{}, nil), srv, nil)
	if err != nil || p.Account() != "alice" {
		t.Fatalf("PostgreSQL SCRAM: %v", err)
	}
}

// xsecret is a custom mechanism, as an application would write one: the
// client sends "user NUL password" and the server checks it through the
// Verifier. It shows that mechtest holds a mechanism that is not saslkit's
// to the built-ins' properties.
type xsecret struct{}

func (xsecret) Name() string { return "X-SECRET" }
func (xsecret) Properties() mech.Properties {
	return mech.Properties{ClearSecret: true, Uses: mech.UsesPassword}
}

func (xsecret) ServerAttempt(ctx context.Context, in *mech.ServerInput) (mech.ServerResult, error) {
	if len(in.Pairs) == 0 {
		return mech.ServerResult{Challenge: []byte{}}, nil
	}
	user, pw, ok := bytes.Cut(in.Pairs[len(in.Pairs)-1].Response, []byte{0})
	if !ok || len(in.Pairs) > 1 {
		return mech.ServerResult{}, &mech.Error{Mechanism: "X-SECRET", Reason: "malformed", Err: mech.ErrInvalidResponse}
	}
	account, err := in.Verifier.CheckPassword(ctx, string(user), string(pw))
	if err != nil {
		return mech.ServerResult{}, &mech.Error{Mechanism: "X-SECRET", Err: err}
	}
	return mech.ServerResult{Principal: creds.NewPrincipal("X-SECRET", account, "")}, nil
}

func (xsecret) ClientAttempt(_ context.Context, in *mech.ClientInput) (mech.ClientResult, error) {
	if len(in.Pairs) > 0 {
		return mech.ClientResult{}, &mech.Error{Mechanism: "X-SECRET", Err: mech.ErrUnexpectedChallenge}
	}
	return mech.ClientResult{Response: []byte(in.Creds.Authcid + "\x00" + in.Creds.Password), Last: true}, nil
}

func (xsecret) ClientFinal(_ context.Context, _ *mech.ClientInput, final []byte, _ bool) error {
	if len(final) > 0 {
		return &mech.Error{Mechanism: "X-SECRET", Err: mech.ErrInvalidChallenge}
	}
	return nil
}

// Integration finding 6: every integrator rewrote the error-to-reply
// classification, a password check for non-SASL logins, an in-process
// driver, and had no way to hold a custom mechanism to the built-ins'
// properties. They are outcome.Of, Verifier.CheckPassword, session.Run and
// mech/mechtest.
func TestIntegration6Helpers(t *testing.T) {
	var store creds.MemoryStore
	mustAdd(t, &store, creds.Account{Name: "alice", Password: mustHash(t, "pencil")})
	v := &creds.Verifier{Store: &store, Secret: []byte("findings test secret, 32 octets!")}

	// IMAP LOGIN through the one store: a wrong password and an unknown
	// user are one outcome, with IMAP's reply.
	for _, c := range [][2]string{{"alice", "wrong"}, {"nobody", "pencil"}} {
		_, err := v.CheckPassword(ctx, c[0], c[1])
		if k := outcome.Of(err); k != outcome.BadCredentials || k.IMAP().String() != "NO [AUTHENTICATIONFAILED] Authentication failed" {
			t.Errorf("LOGIN %s: %v sorted as %v", c[0], err, k)
		}
	}
	if a, err := v.CheckPassword(ctx, "ａｌｉｃｅ", "pencil"); err != nil || a != "alice" {
		t.Errorf("LOGIN: %q, %v", a, err)
	}

	mechtest.Run(t, mechtest.Setup{
		Server: xsecret{}, Client: xsecret{},
		Config:  &session.Config{Verifier: v},
		Creds:   creds.Client{Authcid: "alice", Password: "pencil"},
		Account: "alice",
		Wrong:   &creds.Client{Authcid: "alice", Password: "wrong-password"},
		Unknown: &creds.Client{Authcid: "nobody", Password: "pencil"},
	})
}

// Integration finding 7: pkg.go.dev showed almost none of the integration
// paths; ExampleRegistry_Server used a package-level ctx from a test file,
// and the README's quick start lived in a test file. Every package has
// runnable examples, each self-contained, and the quick start is
// registry's package example.
func TestIntegration7Examples(t *testing.T) {
	want := map[string][]string{
		"session":    {"ExampleServer", "ExampleClient", "ExampleServer_GoSASL", "ExampleRun", "ExampleClient_Last", "ExampleConfig_finalAsChallenge"},
		"registry":   {"Example", "ExampleNamed", "ExampleNamed_oneStore", "ExampleRegistry_NewServer"},
		"mech/scram": {"ExampleMechanism", "ExampleMechanism_postgreSQL"},
		"creds":      {"ExampleVerifier_CheckPassword", "ExampleMemoryStore_Lookup", "ExampleDeriveSCRAMKeys"},
		"outcome":    {"ExampleOf"},
		"mech":       {"ExampleTokenValidator"},
	}
	for dir, names := range want {
		files, err := filepath.Glob(filepath.Join("..", "..", dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || !strings.HasPrefix(fn.Name.Name, "Example") {
					continue
				}
				found[fn.Name.Name] = true
				body := string(src[fn.Body.Pos()-1 : fn.Body.End()-1])
				if !strings.Contains(body, "// Output:") {
					t.Errorf("%s: %s has no // Output:", dir, fn.Name.Name)
				}
				// Self-contained: a ctx it uses is its own.
				if strings.Contains(body, "(ctx") && !strings.Contains(body, "ctx := ") {
					t.Errorf("%s: %s uses a ctx it does not declare", dir, fn.Name.Name)
				}
			}
		}
		for _, n := range names {
			if !found[n] {
				t.Errorf("%s: no %s", dir, n)
			}
		}
	}
}
