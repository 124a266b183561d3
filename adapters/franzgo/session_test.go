package franzgo_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/adapters/franzgo"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// scramServer returns a saslkit SCRAM-SHA-256 server session for user with
// password, to script the broker's side of an exchange.
func scramServer(t *testing.T, user, password string) *session.Server {
	t.Helper()
	keys, err := creds.DeriveSCRAMKeys("SHA-256", password, nil, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	var store creds.MemoryStore
	if err := store.Add(creds.Account{Name: user, SCRAM: []creds.SCRAMKeys{keys}}); err != nil {
		t.Fatal(err)
	}
	s, err := session.NewServer(scram.Mechanism{}, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: &store}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestServerFinal runs SCRAM-SHA-256 against a saslkit server and hands
// the adapter's session the server-final message, as is or altered.
func TestServerFinal(t *testing.T) {
	tests := []struct {
		name    string
		final   func(v []byte) []byte
		wantErr error // nil: done
	}{
		{"valid", func(v []byte) []byte { return v }, nil},
		{"bad signature", func(v []byte) []byte {
			v = bytes.Clone(v)
			v[len(v)-3] ^= 1 // still base64, another signature
			return v
		}, mech.ErrAuthFailed},
		{"no signature", func([]byte) []byte { return nil }, mech.ErrAuthFailed},
		{"server error", func([]byte) []byte { return []byte("e=invalid-proof") }, mech.ErrAuthFailed},
		{"garbage", func([]byte) []byte { return []byte("x=1") }, mech.ErrInvalidChallenge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			srv := scramServer(t, "user", "pencil")
			m, err := franzgo.New(scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			sess, ir, err := m.Authenticate(ctx, "broker:9092")
			if err != nil {
				t.Fatal(err)
			}
			step, err := srv.StartInitial(ctx, ir)
			if err != nil {
				t.Fatal(err)
			}
			done, clientFinal, err := sess.Challenge(step.Challenge)
			if err != nil || done {
				t.Fatalf("Challenge(server-first) = %v, _, %v; want false, nil", done, err)
			}
			step, err = srv.Next(ctx, clientFinal)
			if err != nil || !step.Done || !step.HasFinal {
				t.Fatalf("server Next = %+v, %v; want done with a server-final", step, err)
			}
			done, msg, err := sess.Challenge(tt.final(step.Final))
			if !errors.Is(err, tt.wantErr) || (err == nil) != done || msg != nil {
				t.Fatalf("Challenge(server-final) = %v, %q, %v; want done=%v, no message, error %v",
					done, msg, err, tt.wantErr == nil, tt.wantErr)
			}
		})
	}
}

// TestChallenge scripts the broker's messages for each mechanism and
// checks what the adapter's session answers, byte for byte.
func TestChallenge(t *testing.T) {
	type step struct {
		Server string
		Done   bool
		Client string
	}
	tests := []struct {
		name   string
		m      mech.Client
		c      creds.Client
		host   string
		ir     string
		script []step
		// wantErr is the error of the last step; nil means none.
		wantErr error
	}{{
		name:   "PLAIN success",
		m:      mech.Plain{},
		c:      creds.Client{Authcid: "user", Password: "pencil"},
		ir:     "\x00user\x00pencil",
		script: []step{{Server: "", Done: true}},
	}, {
		name:    "PLAIN data with success",
		m:       mech.Plain{},
		c:       creds.Client{Authcid: "user", Password: "pencil"},
		ir:      "\x00user\x00pencil",
		script:  []step{{Server: "surprise"}},
		wantErr: mech.ErrUnexpectedChallenge,
	}, {
		name:   "OAUTHBEARER host and port",
		m:      mech.OAuthBearer{},
		c:      creds.Client{Token: "tok"},
		host:   "broker1.example:9093",
		ir:     "n,,\x01host=broker1.example\x01port=9093\x01auth=Bearer tok\x01\x01",
		script: []step{{Server: "", Done: true}},
	}, {
		name:   "OAUTHBEARER host only",
		m:      mech.OAuthBearer{},
		c:      creds.Client{Token: "tok", Authzid: "admin"},
		host:   "broker1",
		ir:     "n,a=admin,\x01host=broker1\x01auth=Bearer tok\x01\x01",
		script: []step{{Server: "", Done: true}},
	}, {
		name:    "OAUTHBEARER refused token",
		m:       mech.OAuthBearer{},
		c:       creds.Client{Token: "tok"},
		host:    "[::1]:9092",
		ir:      "n,,\x01host=::1\x01port=9092\x01auth=Bearer tok\x01\x01",
		script:  []step{{Server: `{"status":"invalid_token"}`}},
		wantErr: &mech.TokenError{Status: "invalid_token"},
	}, {
		name:    "SCRAM empty server-first",
		m:       scram.Mechanism{Rand: sevens{}},
		c:       creds.Client{Authcid: "user", Password: "pencil"},
		ir:      "n,,n=user,r=NNNNNNNNNNNNNNNNNNNNNNNN",
		script:  []step{{Server: ""}},
		wantErr: mech.ErrInvalidChallenge,
	}, {
		name:    "SCRAM malformed server-first",
		m:       scram.Mechanism{Rand: sevens{}},
		c:       creds.Client{Authcid: "user", Password: "pencil"},
		ir:      "n,,n=user,r=NNNNNNNNNNNNNNNNNNNNNNNN",
		script:  []step{{Server: "r=other,s=c2FsdA==,i=4096"}},
		wantErr: mech.ErrInvalidChallenge,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := franzgo.New(tt.m, tt.c, nil)
			if err != nil {
				t.Fatal(err)
			}
			sess, ir, err := m.Authenticate(context.Background(), tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.ir, string(ir)); diff != "" {
				t.Errorf("initial response (-want +got):\n%s", diff)
			}
			var got []step
			for i, s := range tt.script {
				done, msg, err := sess.Challenge([]byte(s.Server))
				got = append(got, step{Server: s.Server, Done: done, Client: string(msg)})
				if i < len(tt.script)-1 || tt.wantErr == nil {
					if err != nil {
						t.Fatalf("Challenge(%q): %v", s.Server, err)
					}
					continue
				}
				var te *mech.TokenError
				if want, ok := tt.wantErr.(*mech.TokenError); ok {
					if !errors.As(err, &te) || *te != *want || !errors.Is(err, mech.ErrAuthFailed) {
						t.Fatalf("Challenge(%q) = %v, want %v", s.Server, err, want)
					}
				} else if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Challenge(%q) = %v, want %v", s.Server, err, tt.wantErr)
				}
			}
			if diff := cmp.Diff(tt.script, got); diff != "" {
				t.Errorf("exchange (-want +got):\n%s", diff)
			}
		})
	}
}

// sevens is an endless source of N, for a fixed SCRAM nonce.
type sevens struct{}

func (sevens) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'N'
	}
	return len(p), nil
}

func TestNew(t *testing.T) {
	tests := []struct {
		m       mech.Client
		name    string
		wantErr error
	}{
		{mech.Plain{}, "PLAIN", nil},
		{scram.Mechanism{}, "SCRAM-SHA-256", nil},
		{scram.Mechanism{Hash: scram.SHA512}, "SCRAM-SHA-512", nil},
		{mech.OAuthBearer{}, "OAUTHBEARER", nil},
		{mech.CRAMMD5{}, "", franzgo.ErrNoInitialResponse},
		{nil, "", errors.New("any")},
	}
	for _, tt := range tests {
		m, err := franzgo.New(tt.m, creds.Client{Authcid: "user", Password: "pencil"}, nil)
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("New(%T): %v", tt.m, err)
		case tt.wantErr == nil:
			if diff := cmp.Diff(tt.name, m.Name()); diff != "" {
				t.Errorf("New(%T).Name() (-want +got):\n%s", tt.m, diff)
			}
		case err == nil:
			t.Errorf("New(%T) succeeded, want an error", tt.m)
		case errors.Is(tt.wantErr, franzgo.ErrNoInitialResponse):
			if !errors.Is(err, franzgo.ErrNoInitialResponse) || !errors.Is(err, mech.ErrNoInitialResponse) {
				t.Errorf("New(%T) = %v, want ErrNoInitialResponse", tt.m, err)
			}
		}
	}
}

// TestEmptyInitialResponse: EXTERNAL without an authzid has an empty
// initial response, which franz-go cannot send.
func TestEmptyInitialResponse(t *testing.T) {
	m, err := franzgo.New(mech.External{}, creds.Client{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = m.Authenticate(context.Background(), "broker:9092")
	if !errors.Is(err, franzgo.ErrNoInitialResponse) {
		t.Fatalf("Authenticate = %v, want ErrNoInitialResponse", err)
	}
}

// TestLimits: the Config's limits apply to each exchange.
func TestLimits(t *testing.T) {
	m, err := franzgo.New(scram.Mechanism{}, creds.Client{Authcid: "user", Password: "pencil"},
		&session.Config{MaxMessage: 16})
	if err != nil {
		t.Fatal(err)
	}
	sess, _, err := m.Authenticate(context.Background(), "broker:9092")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = sess.Challenge(bytes.Repeat([]byte("a"), 17))
	if !errors.Is(err, session.ErrTooLarge) {
		t.Fatalf("Challenge(17 octets) = %v, want ErrTooLarge", err)
	}
}
