package mech_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// transcript is a golden exchange from testdata/transcripts.json. Messages
// are base64, as they travel in IMAP and SMTP.
type transcript struct {
	Name   string       `json:"name"`
	Mech   string       `json:"mech"`
	Client creds.Client `json:"client"`
	// Account is the server's account the client logs in to, with its
	// password.
	Account *struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	} `json:"account"`
	// Token is the one token the server's validator accepts, and whom it
	// was issued to.
	Token *struct {
		Token   string `json:"token"`
		Subject string `json:"subject"`
	} `json:"token"`
	// External is the identity the server's transport vouches for.
	External string `json:"external"`
	// Initial is the initial response; absent means none.
	Initial *string `json:"initial"`
	Rounds  []struct {
		S string `json:"s"`
		C string `json:"c"`
	} `json:"rounds"`
	// Principal is the session's outcome.
	Principal struct {
		Account string `json:"account"`
		Authzid string `json:"authzid"`
	} `json:"principal"`
}

// config returns the server configuration of tc: a store with its account
// (the password stored with enc), a validator of its token. The wire
// format is under test here, not the authorization policy.
func (tc *transcript) config(t *testing.T, enc func(string) string) *session.Config {
	t.Helper()
	cfg := &session.Config{Authorizer: allowAll}
	if tc.Account != nil {
		cfg.Verifier = newVerifier(t, creds.Account{Name: tc.Account.Name, Password: enc(tc.Account.Password)})
	}
	if tc.Token != nil {
		cfg.Tokens = tokenValidator(tc.Token.Token, tc.Token.Subject)
	}
	return cfg
}

// tokenValidator accepts only token, issued to subject.
func tokenValidator(token, subject string) mech.TokenValidator {
	return mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.Token != token {
			return mech.ErrAuthFailed
		}
		r.Subject = subject
		return nil
	})
}

var testMechs = map[string]interface {
	mech.Server
	mech.Client
}{
	"PLAIN":       mech.Plain{},
	"LOGIN":       mech.Login{},
	"CRAM-MD5":    mech.CRAMMD5{},
	"XOAUTH2":     mech.XOAuth2{},
	"OAUTHBEARER": mech.OAuthBearer{},
	"EXTERNAL":    mech.External{},
	"ANONYMOUS":   mech.Anonymous{},
}

var allowAll = creds.AuthorizerFunc(func(context.Context, string, string) error { return nil })

func loadTranscripts(t *testing.T) []transcript {
	t.Helper()
	b, err := os.ReadFile("testdata/transcripts.json")
	if err != nil {
		t.Fatal(err)
	}
	var ts []transcript
	if err := json.Unmarshal(b, &ts); err != nil {
		t.Fatal(err)
	}
	return ts
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("bad base64 in testdata: %v", err)
	}
	return b
}

// replayServer feeds tc's client messages to a server session over a
// channel with external identity ext, and returns the server's last step
// and error. Challenges up to a failure must be tc's.
func replayServer(t *testing.T, tc *transcript, cfg *session.Config, ext string) (session.Step, error) {
	t.Helper()
	srv, err := session.NewServer(testMechs[tc.Mech], mech.Channel{External: ext}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var step session.Step
	if tc.Initial != nil {
		step, err = srv.StartInitial(ctx, b64(t, *tc.Initial))
	} else {
		step, err = srv.Start(ctx)
	}
	for i, r := range tc.Rounds {
		if err != nil || step.Done {
			return step, err
		}
		if diff := cmp.Diff(r.S, base64.StdEncoding.EncodeToString(step.Challenge)); diff != "" {
			t.Errorf("round %d challenge (-want +got):\n%s", i, diff)
		}
		step, err = srv.Next(ctx, b64(t, r.C))
	}
	return step, err
}

// TestTranscripts replays each golden exchange through a client session and
// a server session and checks every message byte for byte.
func TestTranscripts(t *testing.T) {
	ctx := context.Background()
	for _, tc := range loadTranscripts(t) {
		t.Run(tc.Name, func(t *testing.T) {
			m := testMechs[tc.Mech]
			cli := session.NewClient(m, tc.Client, mech.Channel{}, nil)
			srv, err := session.NewServer(m, mech.Channel{External: tc.External}, tc.config(t, clearPW))
			if err != nil {
				t.Fatal(err)
			}

			var step session.Step
			if tc.Initial != nil {
				ir, ok, cerr := cli.Start(ctx)
				if cerr != nil || !ok {
					t.Fatalf("client Start = %v, %v", ok, cerr)
				}
				if diff := cmp.Diff(*tc.Initial, base64.StdEncoding.EncodeToString(ir)); diff != "" {
					t.Errorf("initial response (-want +got):\n%s", diff)
				}
				step, err = srv.StartInitial(ctx, b64(t, *tc.Initial))
			} else {
				step, err = srv.Start(ctx)
			}
			for i, r := range tc.Rounds {
				if err != nil {
					t.Fatalf("round %d: server: %v", i, err)
				}
				if step.Done {
					t.Fatalf("round %d: server done early", i)
				}
				if diff := cmp.Diff(r.S, base64.StdEncoding.EncodeToString(step.Challenge)); diff != "" {
					t.Errorf("round %d challenge (-want +got):\n%s", i, diff)
				}
				resp, cerr := cli.Next(ctx, b64(t, r.S))
				if cerr != nil {
					t.Fatalf("round %d: client: %v", i, cerr)
				}
				if diff := cmp.Diff(r.C, base64.StdEncoding.EncodeToString(resp)); diff != "" {
					t.Errorf("round %d response (-want +got):\n%s", i, diff)
				}
				step, err = srv.Next(ctx, b64(t, r.C))
			}
			if err != nil {
				t.Fatalf("server: %v", err)
			}
			if !step.Done {
				t.Fatalf("server not done after the transcript")
			}
			if err := cli.Success(ctx); err != nil {
				t.Errorf("client Success: %v", err)
			}
			want := []string{tc.Mech, tc.Principal.Account, tc.Principal.Authzid}
			got := []string{step.Principal.Mechanism(), step.Principal.Account(), step.Principal.Authzid()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mechanism, account, authzid (-want +got):\n%s", diff)
			}

			if tc.Account != nil {
				// The same messages log in to the account with its
				// password hashed, and to no other account.
				hashedPW := func(pw string) string { return hashed(t, pw) }
				if step, err := replayServer(t, &tc, tc.config(t, hashedPW), tc.External); err != nil || step.Principal.Account() != tc.Principal.Account {
					t.Errorf("hashed password: %+v, %v", step, err)
				}
				for name, acct := range map[string]creds.Account{
					"wrong password": {Name: tc.Account.Name, Password: clearPW("invalid")},
					"wrong user":     {Name: "invalid", Password: clearPW(tc.Account.Password)},
				} {
					cfg := &session.Config{Authorizer: allowAll, Verifier: newVerifier(t, acct)}
					step, err := replayServer(t, &tc, cfg, tc.External)
					if !errors.Is(err, creds.ErrBadCredentials) || step.Done || step.Principal != nil {
						t.Errorf("%s: %+v, %v; want ErrBadCredentials", name, step, err)
					}
				}
				cfg := &session.Config{Authorizer: allowAll, Verifier: newVerifier(t)}
				if step, err := replayServer(t, &tc, cfg, tc.External); !errors.Is(err, creds.ErrBadCredentials) || step.Done {
					t.Errorf("empty store: %+v, %v; want ErrBadCredentials", step, err)
				}
			}
			if tc.Token != nil {
				// Another token is refused with the JSON error.
				cfg := &session.Config{Authorizer: allowAll, Tokens: tokenValidator("other", tc.Token.Subject)}
				step, err := replayServer(t, &tc, cfg, tc.External)
				if err != nil || step.Done || len(step.Challenge) == 0 {
					t.Errorf("other token: %+v, %v; want the JSON error", step, err)
				}
			}
			if tc.External != "" {
				// Without the transport's identity nobody logs in.
				step, err := replayServer(t, &tc, tc.config(t, clearPW), "")
				if !errors.Is(err, mech.ErrAuthFailed) || step.Done {
					t.Errorf("no external identity: %+v, %v; want ErrAuthFailed", step, err)
				}
			}
		})
	}
}
