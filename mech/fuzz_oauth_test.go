package mech_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

// checkTyped fails unless err is one of the documented mechanism errors.
func checkTyped(t *testing.T, err error) {
	t.Helper()
	var me *mech.Error
	var te *mech.TokenError
	if !errors.As(err, &me) && !errors.As(err, &te) {
		t.Fatalf("untyped error %T: %v", err, err)
	}
}

// FuzzOAuthBearerServer: arbitrary first messages, and arbitrary replies to
// the JSON error. Only the right token succeeds; only ^A ends the error
// flow; nothing panics (go-sasl panicked on an empty reply).
func FuzzOAuthBearerServer(f *testing.F) {
	f.Add([]byte(rfc7628IR), []byte{0x01})
	f.Add([]byte("n,,\x01auth=Bearer good\x01\x01"), []byte{})
	f.Add([]byte("n,a=u,\x01host=h\x01port=1\x01auth=bearer bad\x01\x01"), []byte("\x01\x01"))
	f.Add([]byte("y,,\x01x=y\x01auth=Bearer t\x01\x01"), []byte("x"))
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.Token != "good" {
			return mech.ErrAuthFailed
		}
		r.Subject = "user"
		return nil
	})
	m := mech.OAuthBearer{}
	f.Fuzz(func(t *testing.T, msg, reply []byte) {
		// Without a validator, nothing logs in.
		nv := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Initial: true, Response: msg}}}
		if res, err := m.ServerAttempt(ctx, nv); err == nil || res.Principal != nil {
			t.Fatalf("no validator: %v, %v", res.Principal, err)
		} else {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse, creds.ErrMisconfigured}, string(msg))
		}
		in := &mech.ServerInput{Channel: &mech.Channel{}, Tokens: v, Pairs: []mech.Pair{{Initial: true, Response: msg}}}
		res, err := m.ServerAttempt(ctx, in)
		if err != nil {
			if res.Principal != nil {
				t.Fatal("error with a principal")
			}
			checkTyped(t, err)
			checkNoLeak(t, err, string(msg))
			return
		}
		if p := res.Principal; p != nil {
			if !strings.Contains(string(msg), "auth=") || !strings.Contains(string(msg), " good\x01") || p.Account() != "user" || p.Mechanism() != "OAUTHBEARER" {
				t.Fatalf("principal %v from %q", p, msg)
			}
			return
		}
		// The JSON error: the reply decides between ErrInvalidResponse and
		// the TokenError.
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, State: res.State, Response: reply})
		res2, err := m.ServerAttempt(ctx, in)
		if err == nil || res2.Principal != nil {
			t.Fatalf("error flow succeeded: %v", res2.Principal)
		}
		var te *mech.TokenError
		if isA := len(reply) == 1 && reply[0] == 1; isA != errors.As(err, &te) {
			t.Fatalf("reply %q gave %v", reply, err)
		}
	})
}

// FuzzOAuthBearerClient: arbitrary credentials and error challenges. What
// the client sends, the server parses back; to any challenge it answers ^A.
func FuzzOAuthBearerClient(f *testing.F) {
	f.Add("user@example.com", "", "tok123", "server.example.com", "143", []byte(`{"status":"invalid_token"}`))
	f.Add("", "", "t", "", "", []byte("not json"))
	f.Add("a,b=c", "z", "t=", "h", "p", []byte(`{"status":"401","scope":"x"}`))
	f.Fuzz(func(t *testing.T, user, authzid, token, host, port string, challenge []byte) {
		c := &creds.Client{Authcid: user, Authzid: authzid, Token: token}
		ch := &mech.Channel{Host: host, Port: port}
		res, err := mech.OAuthBearer{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true, Channel: ch})
		if err != nil {
			if !errors.Is(err, mech.ErrInvalidCredentials) {
				t.Fatalf("error %v", err)
			}
			checkNoLeak(t, err, token, user)
			return
		}
		var seen *mech.TokenRequest
		v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			cp := *r
			seen = &cp
			r.Subject = "someone"
			return nil
		})
		sres, err := mech.OAuthBearer{}.ServerAttempt(ctx, &mech.ServerInput{Tokens: v, Pairs: []mech.Pair{{Initial: true, Response: res.Response}}})
		if err != nil {
			// The server must accept whatever the client agreed to send.
			t.Fatalf("server refused the client's message %q: %v", res.Response, err)
		}
		want := authzid
		if want == "" {
			want = user
		}
		if seen == nil || seen.Token != token || seen.User != want || seen.Host != host || seen.Port != port {
			t.Fatalf("round trip: sent %q, server saw %+v", res.Response, seen)
		}
		if p := sres.Principal; p == nil || p.Account() != "someone" || p.Authzid() != want {
			t.Fatalf("round trip: principal %v, want someone as %q", p, want)
		}
		in := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: res.Response}}, Challenge: challenge, Channel: ch}
		r2, err := mech.OAuthBearer{}.ClientAttempt(ctx, in)
		if err != nil || string(r2.Response) != "\x01" || r2.Failure == nil {
			t.Fatalf("reply to a challenge: %q, %v, %v", r2.Response, r2.Failure, err)
		}
	})
}

// FuzzAnonymousServer: any valid trace is accepted as anonymous, never as a
// user; anything else is an invalid response.
func FuzzAnonymousServer(f *testing.F) {
	for _, s := range []string{"", "trace@example.org", "sirhc", "a\x00b", "\xff", strings.Repeat("é", 256)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		res, err := mech.Anonymous{}.ServerAttempt(ctx, &mech.ServerInput{Pairs: []mech.Pair{{Initial: true, Response: msg}}})
		if err != nil {
			if res.Principal != nil || !errors.Is(err, mech.ErrInvalidResponse) {
				t.Fatalf("error %v with %v", err, res.Principal)
			}
			checkNoLeak(t, err, string(msg))
			return
		}
		p := res.Principal
		if p == nil || !p.Anonymous() || p.Account() != "" || p.Effective() != "" || p.Authzid() != "" || p.Trace() != string(msg) {
			t.Fatalf("principal %v", p)
		}
	})
}

// FuzzAnonymousClient: a trace the client sends, the server accepts.
func FuzzAnonymousClient(f *testing.F) {
	f.Add("trace@example.org")
	f.Add("")
	f.Add("a\x01")
	f.Fuzz(func(t *testing.T, trace string) {
		res, err := mech.Anonymous{}.ClientAttempt(ctx, &mech.ClientInput{Creds: &creds.Client{Trace: trace}, Initial: true})
		if err != nil {
			if !errors.Is(err, mech.ErrInvalidCredentials) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if _, err := (mech.Anonymous{}).ServerAttempt(ctx, &mech.ServerInput{Pairs: []mech.Pair{{Initial: true, Response: res.Response}}}); err != nil {
			t.Fatalf("server refused %q: %v", res.Response, err)
		}
	})
}
