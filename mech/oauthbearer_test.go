package mech_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/session"
)

// RFC 7628 section 4.1.
const (
	rfc7628IR    = "n,a=user@example.com,\x01host=server.example.com\x01port=143\x01auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\x01\x01"
	rfc7628IRB64 = "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB"
	rfc7628Token = "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg=="
)

func TestOAuthBearerVector(t *testing.T) {
	if got := base64.StdEncoding.EncodeToString([]byte(rfc7628IR)); got != rfc7628IRB64 {
		t.Fatalf("vector's base64 is %s", got)
	}
	ch := &mech.Channel{Host: "server.example.com", Port: "143"}
	res, err := mech.OAuthBearer{}.ClientAttempt(ctx, &mech.ClientInput{Creds: &creds.Client{Authcid: "user@example.com", Token: rfc7628Token}, Initial: true, Channel: ch})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rfc7628IRB64, base64.StdEncoding.EncodeToString(res.Response)); diff != "" {
		t.Errorf("client initial response (-want +got):\n%s", diff)
	}

	var seen *mech.TokenRequest
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		c := *r
		seen = &c
		if r.Token != rfc7628Token {
			return mech.ErrAuthFailed
		}
		r.Subject = "user@example.com"
		return nil
	})
	sres, err := serverOnce(mech.OAuthBearer{}, nil, v, rfc7628IR, true)
	if err != nil {
		t.Fatal(err)
	}
	want := &mech.TokenRequest{Mechanism: "OAUTHBEARER", User: "user@example.com", Token: rfc7628Token, Host: "server.example.com", Port: "143"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("token request (-want +got):\n%s", diff)
	}
	// The account is the validator's subject; a= names it, so there is no
	// authzid.
	if diff := cmp.Diff([]string{"OAUTHBEARER", "user@example.com", "", "user@example.com"}, principal(sres.Principal)); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	// Without a validator nothing can check the token: the exchange fails
	// as a misconfiguration, and the error does not hold the token.
	sres, err = serverOnce(mech.OAuthBearer{}, nil, nil, rfc7628IR, true)
	if !errors.Is(err, creds.ErrMisconfigured) || sres.Principal != nil || strings.Contains(err.Error(), rfc7628Token) {
		t.Errorf("no validator: %v %v; want ErrMisconfigured", sres.Principal, err)
	}
}

func TestOAuthBearerParse(t *testing.T) {
	good := map[string]string{
		"no authzid":        "n,,\x01auth=Bearer tok\x01\x01",
		"unknown keys":      "n,a=u,\x01foo=bar baz\x01auth=Bearer tok\x01qs=a\tb\x01\x01",
		"y flag":            "y,,\x01auth=Bearer tok\x01\x01",
		"lower-case scheme": "n,,\x01auth=bearer tok\x01\x01",
		"escaped authzid":   "n,a=a=2Cb,\x01auth=Bearer tok\x01\x01",
	}
	for name, msg := range good {
		if res, err := serverOnce(mech.OAuthBearer{}, nil, acceptAll, msg, true); err != nil || res.Principal == nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	bad := map[string]string{
		"empty":             "",
		"no GS2 header":     "\x01auth=Bearer tok\x01\x01",
		"channel binding":   "p=tls-exporter,,\x01auth=Bearer tok\x01\x01",
		"no auth":           "n,,\x01host=x\x01\x01",
		"empty token":       "n,,\x01auth=Bearer \x01\x01",
		"no terminator":     "n,,\x01auth=Bearer tok\x01",
		"no separator":      "n,,auth=Bearer tok\x01\x01",
		"duplicate auth":    "n,,\x01auth=Bearer a\x01auth=Bearer b\x01\x01",
		"bad key":           "n,,\x01a_b=c\x01auth=Bearer tok\x01\x01",
		"control in value":  "n,,\x01foo=\x02\x01auth=Bearer tok\x01\x01",
		"basic scheme":      "n,,\x01auth=Basic dTpw\x01\x01",
		"bad authzid":       "n,a=a=b,\x01auth=Bearer tok\x01\x01",
		"bad UTF-8 authzid": "n,a=\xff,\x01auth=Bearer tok\x01\x01",
		"empty pair":        "n,,\x01\x01auth=Bearer tok\x01\x01",
		"long token":        "n,,\x01auth=Bearer " + strings.Repeat("t", mech.MaxToken+1) + "\x01\x01",
	}
	for name, msg := range bad {
		for _, tokens := range []mech.TokenValidator{acceptAll, nil} {
			if res, err := serverOnce(mech.OAuthBearer{}, nil, tokens, msg, true); !errors.Is(err, mech.ErrInvalidResponse) || res.Principal != nil {
				t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
			}
		}
	}
}

// TestOAuthBearerErrorFlow runs the failure exchange of RFC 7628 section
// 3.2.3 through sessions: JSON error, the client's ^A, failure with fields.
func TestOAuthBearerErrorFlow(t *testing.T) {
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.Token == "good" {
			r.Subject = "user"
			return nil
		}
		return &mech.TokenError{Status: "invalid_token", Scope: "mail"}
	})
	m := mech.OAuthBearer{OpenIDConfiguration: "https://example.com/.well-known/openid-configuration"}
	cfg := &session.Config{Tokens: v}
	newServer := func(cfg *session.Config) *session.Server {
		t.Helper()
		srv, err := session.NewServer(m, mech.Channel{}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return srv
	}
	for _, finalAsChallenge := range []bool{false, true} {
		srv := newServer(&session.Config{Tokens: v, FinalAsChallenge: finalAsChallenge})
		cli := session.NewClient(m, creds.Client{Authcid: "user", Token: "bad"}, mech.Channel{}, nil)
		ir, _, err := cli.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		step, err := srv.StartInitial(ctx, ir)
		if err != nil || step.Done {
			t.Fatalf("server: %+v %v", step, err)
		}
		want := `{"status":"invalid_token","scope":"mail","openid-configuration":"https://example.com/.well-known/openid-configuration"}`
		if diff := cmp.Diff(want, string(step.Challenge)); diff != "" {
			t.Errorf("JSON error (-want +got):\n%s", diff)
		}
		resp, err := cli.Next(ctx, step.Challenge)
		if err != nil || string(resp) != "\x01" {
			t.Fatalf("client reply %q %v", resp, err)
		}
		_, err = srv.Next(ctx, resp)
		var te *mech.TokenError
		if !errors.As(err, &te) || !errors.Is(err, mech.ErrAuthFailed) || te.Scope != "mail" {
			t.Errorf("server outcome %v", err)
		}
		var cte *mech.TokenError
		if !errors.As(cli.Failure(), &cte) || cte.Status != "invalid_token" || cte.OpenIDConfiguration == "" {
			t.Errorf("client Failure() = %v", cli.Failure())
		}
	}

	// Anything but ^A after the error is an invalid response, never a
	// panic (go-sasl panicked on an empty reply).
	for _, reply := range []string{"", "\x01\x01", "x", "\x00"} {
		srv := newServer(cfg)
		if _, err := srv.StartInitial(ctx, []byte("n,,\x01auth=Bearer bad\x01\x01")); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Next(ctx, []byte(reply)); !errors.Is(err, mech.ErrInvalidResponse) {
			t.Errorf("reply %q: %v", reply, err)
		}
	}

	// A good token: the subject is the account; the client's a= must be
	// allowed by the policy, unless it names that account.
	for _, tc := range []struct {
		authzid string
		err     error
	}{{"", nil}, {"user", nil}, {"admin", creds.ErrUnauthorized}} {
		srv := newServer(cfg)
		msg := "n,,\x01auth=Bearer good\x01\x01"
		if tc.authzid != "" {
			msg = "n,a=" + tc.authzid + ",\x01auth=Bearer good\x01\x01"
		}
		step, err := srv.StartInitial(ctx, []byte(msg))
		if !errors.Is(err, tc.err) {
			t.Errorf("authzid %q: %+v %v, want %v", tc.authzid, step, err, tc.err)
			continue
		}
		if tc.err == nil {
			if diff := cmp.Diff([]string{"OAUTHBEARER", "user", "", "user"}, principal(step.Principal)); !step.Done || diff != "" {
				t.Errorf("authzid %q: done %v, principal (-want +got):\n%s", tc.authzid, step.Done, diff)
			}
		} else if step.Done || step.Principal != nil {
			t.Errorf("authzid %q: refused, yet %+v", tc.authzid, step)
		}
	}

	// A validator that accepts a token without naming its subject fails
	// closed: no principal, no JSON error, a misconfiguration.
	anon := mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return nil })
	res, err := serverOnce(mech.OAuthBearer{}, nil, anon, "n,,\x01auth=Bearer x\x01\x01", true)
	if !errors.Is(err, creds.ErrMisconfigured) || res.Principal != nil || len(res.Challenge) != 0 {
		t.Errorf("token naming nobody: %v %v %q; want ErrMisconfigured", res.Principal, err, res.Challenge)
	}
	// So does a session: the exchange ends with the error.
	srv := newServer(&session.Config{Tokens: anon})
	if step, err := srv.StartInitial(ctx, []byte("n,a=user,\x01auth=Bearer x\x01\x01")); !errors.Is(err, creds.ErrMisconfigured) || step.Done {
		t.Errorf("session, token naming nobody: %+v %v", step, err)
	}
}

func TestOAuthBearerClient(t *testing.T) {
	m := mech.OAuthBearer{}
	c := &creds.Client{Authcid: "user", Token: "tok", Authzid: "other"}
	res, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
	if err != nil || string(res.Response) != "n,a=other,\x01auth=Bearer tok\x01\x01" {
		t.Errorf("%q %v", res.Response, err)
	}
	in := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: res.Response}}, Challenge: []byte("not json")}
	res, err = m.ClientAttempt(ctx, in)
	if err != nil || string(res.Response) != "\x01" || !errors.Is(res.Failure, mech.ErrInvalidChallenge) {
		t.Errorf("unparsable error: %q %v %v", res.Response, res.Failure, err)
	}
	in.Pairs = append(in.Pairs, mech.Pair{Challenge: in.Challenge, Response: res.Response})
	if _, err := m.ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("third step: %v", err)
	}
	for _, bad := range []creds.Client{{Authcid: "u"}, {Authcid: "u", Token: "a b"}, {Authcid: "u\x00", Token: "t"}} {
		if _, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: &bad, Initial: true}); !errors.Is(err, mech.ErrInvalidCredentials) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

func TestAnonymous(t *testing.T) {
	good := []string{"", "trace@example.org", "sirhc", "Ünïcödé", strings.Repeat("é", 255)}
	for _, trace := range good {
		res, err := serverOnce(mech.Anonymous{}, nil, nil, trace, true)
		if err != nil {
			t.Errorf("%q: %v", trace, err)
			continue
		}
		p := res.Principal
		if p == nil || !p.Anonymous() || p.Account() != "" || p.Effective() != "" || p.Authzid() != "" || p.Trace() != trace || p.Mechanism() != "ANONYMOUS" {
			t.Errorf("%q: principal %v", trace, p)
		}
	}
	for _, trace := range []string{"a\x00b", "a\nb", "\x7f", "\u0085", "\xff", strings.Repeat("a", 256)} {
		if res, err := serverOnce(mech.Anonymous{}, nil, nil, trace, true); !errors.Is(err, mech.ErrInvalidResponse) || res.Principal != nil {
			t.Errorf("%q: %v", trace, err)
		}
	}
	// Through a session with an account store: anonymous is done, names
	// no account, and is not mistaken for the account its trace names.
	v := newVerifier(t, creds.Account{Name: "trace", Password: clearPW("x")})
	srv, err := session.NewServer(mech.Anonymous{}, mech.Channel{}, &session.Config{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	step, err := srv.StartInitial(ctx, []byte("trace"))
	if err != nil || !step.Done || !step.Principal.Anonymous() || step.Principal.Account() != "" || step.Principal.Trace() != "trace" {
		t.Errorf("session: %+v %v", step, err)
	}
	res, err := mech.Anonymous{}.ClientAttempt(ctx, &mech.ClientInput{Creds: &creds.Client{Trace: "me@example.org"}, Initial: true})
	if err != nil || string(res.Response) != "me@example.org" {
		t.Errorf("client: %q %v", res.Response, err)
	}
	if _, err := (mech.Anonymous{}).ClientAttempt(ctx, &mech.ClientInput{Creds: &creds.Client{Trace: "a\x01"}, Initial: true}); !errors.Is(err, mech.ErrInvalidCredentials) {
		t.Errorf("bad trace: %v", err)
	}
}
