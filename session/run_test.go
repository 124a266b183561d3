package session_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// runConfig returns a configuration whose store holds alice with the
// password "pencil" (a hash and SCRAM-SHA-256 keys), whose token validator
// takes "good-token" for alice, and whose server sends additional data as
// a challenge when asChallenge is set. With clear set the password is kept
// in the clear, for CRAM-MD5.
func runConfig(t *testing.T, asChallenge, clear bool) *session.Config {
	t.Helper()
	pw, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if clear {
		pw = "{PLAIN}pencil"
	}
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	store := &creds.MemoryStore{}
	if err := store.Add(creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	return &session.Config{
		Verifier: &creds.Verifier{Store: store},
		Tokens: mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			if r.Token != "good-token" {
				return &mech.TokenError{Status: "invalid_token"}
			}
			r.Subject = "alice"
			return nil
		}),
		FinalAsChallenge: asChallenge,
	}
}

// TestRunLast runs each built-in mechanism through Run, with a right and a
// wrong secret, and checks which of the client's messages Last marks: only
// the one after which the server's next message ends the exchange.
func TestRunLast(t *testing.T) {
	good := creds.Client{Authcid: "alice", Password: "pencil", Token: "good-token", Trace: "guest"}
	bad := creds.Client{Authcid: "alice", Password: "wrong", Token: "bad-token", Trace: "guest"}
	ext := mech.Channel{External: "alice"}
	tests := []struct {
		name string
		m    interface {
			mech.Server
			mech.Client
		}
		asChallenge bool
		ch          mech.Channel
		// the kinds of message, and Last after each client message
		want, wantBad []string
	}{
		{"PLAIN", mech.Plain{}, false, mech.Channel{}, []string{"I last", "S"}, []string{"I last", "F"}},
		{"LOGIN", mech.Login{}, false, mech.Channel{}, []string{"C", "R", "C", "R last", "S"}, []string{"C", "R", "C", "R last", "F"}},
		{"CRAM-MD5", mech.CRAMMD5{}, false, mech.Channel{}, []string{"C", "R last", "S"}, []string{"C", "R last", "F"}},
		{"EXTERNAL", mech.External{}, false, ext, []string{"I last", "S"}, nil},
		{"ANONYMOUS", mech.Anonymous{}, false, mech.Channel{}, []string{"I last", "S"}, nil},
		{"XOAUTH2", mech.XOAuth2{}, false, mech.Channel{}, []string{"I last", "S"}, []string{"I last", "C", "R last", "F"}},
		{"OAUTHBEARER", mech.OAuthBearer{}, false, mech.Channel{}, []string{"I last", "S"}, []string{"I last", "C", "R last", "F"}},
		{"SCRAM, data with success", scram.Mechanism{}, false, mech.Channel{}, []string{"I", "C", "R last", "S+data"}, []string{"I", "C", "R last", "F+data"}},
		{"SCRAM, data as challenge", scram.Mechanism{}, true, mech.Channel{}, []string{"I", "C", "R last", "C", "R last", "S"}, []string{"I", "C", "R last", "C", "R last", "F"}},
	}
	kind := map[session.MessageKind]string{session.InitialResponse: "I", session.Challenge: "C", session.Response: "R", session.Success: "S", session.Failure: "F"}
	for _, tt := range tests {
		for _, wrong := range []bool{false, true} {
			want, c := tt.want, good
			if wrong {
				want, c = tt.wantBad, bad
			}
			if want == nil {
				continue
			}
			t.Run(fmt.Sprintf("%s/wrong=%v", tt.name, wrong), func(t *testing.T) {
				srv, err := session.NewServer(tt.m, tt.ch, runConfig(t, tt.asChallenge, tt.name == "CRAM-MD5"))
				if err != nil {
					t.Fatal(err)
				}
				cli := session.NewClient(tt.m, c, mech.Channel{}, nil)
				if cli.Last() {
					t.Error("Last before Start")
				}
				var got []string
				p, err := session.Run(ctx, cli, srv, func(m session.Message) {
					k := kind[m.Kind]
					switch {
					case !m.FromServer() && cli.Last():
						k += " last"
					case m.FromServer() && m.Kind != session.Challenge && m.HasData:
						k += "+data"
					}
					got = append(got, k)
				})
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("messages (-want +got):\n%s", diff)
				}
				if !wrong && cli.Last() {
					t.Error("Last after success")
				}
				var re *session.RunError
				switch {
				case !wrong && (err != nil || p.Account() != "alice" && !p.Anonymous()):
					t.Fatalf("Run = %v, %v; want alice", p, err)
				case wrong && (p != nil || !errors.As(err, &re) || re.Client || !errors.Is(err, creds.ErrBadCredentials) && !errors.Is(err, mech.ErrAuthFailed)):
					t.Fatalf("Run = %v, %v; want a server *RunError wrapping ErrBadCredentials or ErrAuthFailed", p, err)
				}
			})
		}
	}
}

// TestRunClientRefusesServer checks that Run reports a server that does not
// prove itself as the client's refusal: a store whose ServerKey is not the
// password's makes the server accept the proof and sign with the wrong
// key, and the exchange fails although the server said success.
func TestRunClientRefusesServer(t *testing.T) {
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	keys.ServerKey[0] ^= 1
	store := &creds.MemoryStore{}
	if err := store.Add(creds.Account{Name: "alice", SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	srv, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: store}})
	if err != nil {
		t.Fatal(err)
	}
	cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "alice", Password: "pencil"}, mech.Channel{}, nil)
	p, err := session.Run(ctx, cli, srv, nil)
	var re *session.RunError
	if p != nil || !errors.As(err, &re) || !re.Client || !errors.Is(err, mech.ErrAuthFailed) {
		t.Fatalf("Run = %v, %v; want the client's *RunError wrapping ErrAuthFailed", p, err)
	}
}
