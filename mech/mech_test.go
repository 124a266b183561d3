package mech_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
)

var ctx = context.Background()

// serverOnce runs a server attempt on a single response, as the initial
// response when initial is set, with v as the server's Verifier and tokens
// as its token validator.
func serverOnce(m mech.Server, v *creds.Verifier, tokens mech.TokenValidator, resp string, initial bool) (mech.ServerResult, error) {
	in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Tokens: tokens}
	if initial {
		in.Pairs = []mech.Pair{{Response: []byte(resp), Initial: true}}
	} else {
		in.Pairs = []mech.Pair{{Challenge: []byte{}, Response: []byte(resp)}}
	}
	return m.ServerAttempt(ctx, in)
}

// checkBadCredentials fails unless err is the error of a wrong secret or
// an unknown user: a *mech.Error of mechanism name wrapping
// creds.ErrBadCredentials, with no principal.
func checkBadCredentials(t *testing.T, name string, res mech.ServerResult, err error) {
	t.Helper()
	var me *mech.Error
	if !errors.Is(err, creds.ErrBadCredentials) || !errors.As(err, &me) || me.Mechanism != name || res.Principal != nil {
		t.Fatalf("got %v, %v; want a %s *mech.Error wrapping ErrBadCredentials and no principal", res.Principal, err, name)
	}
}

func TestPlainServer(t *testing.T) {
	res, err := mech.Plain{}.ServerAttempt(ctx, &mech.ServerInput{Channel: &mech.Channel{}})
	if err != nil || res.Principal != nil || len(res.Challenge) != 0 {
		t.Fatalf("no response: got %+v, %v; want the empty challenge", res, err)
	}
	v := newVerifier(t,
		creds.Account{Name: "def", Password: clearPW("ghi")},
		creds.Account{Name: strings.Repeat("u", 255), Password: hashed(t, "p")},
	)
	tests := []struct {
		name, resp       string
		authzid, account string
		effective        string
		wantErr          error
	}{
		{name: "authzid", resp: "abc\x00def\x00ghi", authzid: "abc", account: "def", effective: "abc"},
		{name: "no authzid", resp: "\x00def\x00ghi", account: "def", effective: "def"},
		{name: "authcid 255", resp: "\x00" + strings.Repeat("u", 255) + "\x00p", account: strings.Repeat("u", 255), effective: strings.Repeat("u", 255)},
		{name: "wrong password", resp: "abc\x00def\x00ghj", wantErr: creds.ErrBadCredentials},
		{name: "unknown user", resp: "\x00ghi\x00ghi", wantErr: creds.ErrBadCredentials},
		{name: "no separator", resp: "abcdefghi", wantErr: mech.ErrInvalidResponse},
		{name: "empty authcid", resp: "\x00\x00ghi", wantErr: mech.ErrInvalidResponse},
		{name: "three separators", resp: "a\x00b\x00c\x00d", wantErr: mech.ErrInvalidResponse},
		{name: "one separator", resp: "abc\x00def", wantErr: mech.ErrInvalidResponse},
		{name: "empty", resp: "", wantErr: mech.ErrInvalidResponse},
		{name: "empty password", resp: "\x00def\x00", wantErr: mech.ErrInvalidResponse},
		{name: "invalid UTF-8", resp: "\x00d\xffef\x00ghi", wantErr: mech.ErrInvalidResponse},
		{name: "authcid 256", resp: "\x00" + strings.Repeat("u", 256) + "\x00p", wantErr: mech.ErrInvalidResponse},
		{name: "password 256", resp: "\x00u\x00" + strings.Repeat("p", 256), wantErr: mech.ErrInvalidResponse},
		{name: "authzid 256", resp: strings.Repeat("z", 256) + "\x00u\x00p", wantErr: mech.ErrInvalidResponse},
	}
	for _, tc := range tests {
		for _, initial := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := serverOnce(mech.Plain{}, v, nil, tc.resp, initial)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || res.Principal != nil {
						t.Fatalf("got %v, %v; want %v and no principal", res.Principal, err, tc.wantErr)
					}
					if strings.Contains(err.Error(), "ghi") || strings.Contains(err.Error(), "ghj") {
						t.Errorf("error %q quotes the input", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				want := []string{"PLAIN", tc.account, tc.authzid, tc.effective}
				if diff := cmp.Diff(want, principal(res.Principal)); diff != "" {
					t.Errorf("mech, account, authzid, effective (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// TestPlainVerify checks one PLAIN message against stores of every kind:
// it logs in only to the account whose password it carries.
func TestPlainVerify(t *testing.T) {
	keys, err := creds.DeriveSCRAMKeys("SHA-256", "ghi", nil, creds.MinSCRAMIterations, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		accounts []creds.Account
		wantErr  error
	}{
		{"clear", []creds.Account{{Name: "def", Password: clearPW("ghi")}}, nil},
		{"hashed", []creds.Account{{Name: "def", Password: hashed(t, "ghi")}}, nil},
		{"SCRAM keys only", []creds.Account{{Name: "def", SCRAM: []creds.SCRAMKeys{keys}}}, nil},
		{"wrong password", []creds.Account{{Name: "def", Password: clearPW("invalid")}}, creds.ErrBadCredentials},
		{"wrong hashed password", []creds.Account{{Name: "def", Password: hashed(t, "invalid")}}, creds.ErrBadCredentials},
		{"wrong user", []creds.Account{{Name: "invalid", Password: clearPW("ghi")}}, creds.ErrBadCredentials},
		{"unknown user", nil, creds.ErrBadCredentials},
		{"no password", []creds.Account{{Name: "def"}}, creds.ErrBadCredentials},
		// The decoy of an unknown user is one of the store's accounts;
		// that its password is the one sent logs nobody in.
		{"decoy", []creds.Account{{Name: "other", Password: hashed(t, "ghi")}}, creds.ErrBadCredentials},
	}
	var texts []string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := serverOnce(mech.Plain{}, newVerifier(t, tc.accounts...), nil, "abc\x00def\x00ghi", true)
			if tc.wantErr != nil {
				checkBadCredentials(t, "PLAIN", res, err)
				texts = append(texts, err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"PLAIN", "def", "abc", "abc"}, principal(res.Principal)); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}
	// A wrong password and an unknown user are indistinguishable.
	for _, s := range texts {
		if s != texts[0] {
			t.Errorf("errors differ: %q vs %q", s, texts[0])
		}
	}

	// A failing store is not a wrong password, and no store at all is a
	// misconfiguration.
	boom := errors.New("database down")
	res, err := serverOnce(mech.Plain{}, &creds.Verifier{Store: failingStore{boom}}, nil, "abc\x00def\x00ghi", true)
	if !errors.Is(err, boom) || errors.Is(err, creds.ErrBadCredentials) || res.Principal != nil {
		t.Errorf("failing store: %v, %v; want the store's error", res.Principal, err)
	}
	res, err = serverOnce(mech.Plain{}, nil, nil, "abc\x00def\x00ghi", true)
	if !errors.Is(err, creds.ErrMisconfigured) || res.Principal != nil {
		t.Errorf("no Verifier: %v, %v; want ErrMisconfigured", res.Principal, err)
	}
}

// TestSASLprepBothSides is the vector: soft hyphen and zero-width
// space both map to nothing, on the client's and on the stored side.
func TestSASLprepBothSides(t *testing.T) {
	const msg = "\x00user\u00ADname\x00pass\u00ADword"
	rawHash, err := testHasher.Hash("pa\u200Bssword")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		acct creds.Account
		ok   bool
	}{
		{"clear", creds.Account{Name: "us\u200Bername", Password: clearPW("pa\u200Bssword")}, true},
		{"clear prepared", creds.Account{Name: "us\u200Bername", Password: clearPW("password")}, true},
		{"hashed", creds.Account{Name: "us\u200Bername", Password: hashed(t, "pa\u200Bssword")}, true},
		{"clear noprep", creds.Account{Name: "us\u200Bername", Password: clearPW("pa\u200Bssword"), NoPrep: true}, false},
		{"hashed noprep", creds.Account{Name: "us\u200Bername", Password: rawHash, NoPrep: true}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := serverOnce(mech.Plain{}, newVerifier(t, tc.acct), nil, msg, true)
			if !tc.ok {
				checkBadCredentials(t, "PLAIN", res, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The principal names the account as stored, not as sent.
			if got := res.Principal.Account(); got != "us\u200Bername" {
				t.Errorf("account %q, want the stored name", got)
			}
		})
	}

	// A name in another form logs in to the account's canonical name:
	// U+2168 ROMAN NUMERAL NINE is "IX" after SASLprep.
	v := newVerifier(t, creds.Account{Name: "IX", Password: hashed(t, "pencil")})
	for _, m := range []mech.Server{mech.Plain{}, mech.Login{}} {
		in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v}
		if m.Name() == "PLAIN" {
			in.Pairs = []mech.Pair{{Initial: true, Response: []byte("\x00\u2168\x00pencil")}}
		} else {
			in.Pairs = []mech.Pair{{Challenge: []byte("Username:"), Response: []byte("\u2168")}, {Challenge: []byte("Password:"), Response: []byte("pencil")}}
		}
		res, err := m.ServerAttempt(ctx, in)
		if err != nil || res.Principal.Account() != "IX" {
			t.Errorf("%s as \u2168: %v, %v; want account IX", m.Name(), res.Principal, err)
		}
	}
}

func TestPlainClient(t *testing.T) {
	c := &creds.Client{Authcid: "testuser", Password: "testpass", Authzid: "testzid"}
	res, err := mech.Plain{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("testzid\x00testuser\x00testpass", string(res.Response)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	in := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: res.Response}}, Challenge: []byte{}}
	if _, err := (mech.Plain{}).ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("second challenge: %v, want ErrUnexpectedChallenge", err)
	}
	for _, bad := range []creds.Client{
		{Authcid: "", Password: "p"},
		{Authcid: "u", Password: ""},
		{Authcid: "u\x00", Password: "p"},
		{Authcid: "u", Password: "p", Authzid: "z\x00"},
		{Authcid: strings.Repeat("u", 256), Password: "p"},
	} {
		if _, err := (mech.Plain{}).ClientAttempt(ctx, &mech.ClientInput{Creds: &bad, Initial: true}); !errors.Is(err, mech.ErrInvalidCredentials) {
			t.Errorf("%q: %v, want ErrInvalidCredentials", bad.Authcid, err)
		}
	}
}

func TestLoginServer(t *testing.T) {
	m := mech.Login{}
	v := newVerifier(t, creds.Account{Name: "testuser", Password: hashed(t, "testpass")})
	in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v}
	res, err := m.ServerAttempt(ctx, in)
	if err != nil || string(res.Challenge) != "Username:" {
		t.Fatalf("first: %q, %v", res.Challenge, err)
	}
	in.Pairs = []mech.Pair{{Challenge: res.Challenge, Response: []byte("testuser")}}
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || string(res.Challenge) != "Password:" {
		t.Fatalf("second: %q, %v", res.Challenge, err)
	}
	in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, Response: []byte("testpass")})
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || res.Principal == nil {
		t.Fatalf("third: %v", err)
	}
	if diff := cmp.Diff([]string{"LOGIN", "testuser", "", "testuser"}, principal(res.Principal)); diff != "" {
		t.Errorf("mech, account, authzid, effective (-want +got):\n%s", diff)
	}
	var texts []string
	for _, up := range [][2]string{{"testuser", "badpass"}, {"baduser", "testpass"}} {
		in.Pairs = []mech.Pair{
			{Challenge: []byte("Username:"), Response: []byte(up[0])},
			{Challenge: []byte("Password:"), Response: []byte(up[1])},
		}
		res, err := m.ServerAttempt(ctx, in)
		checkBadCredentials(t, "LOGIN", res, err)
		texts = append(texts, err.Error())
	}
	if texts[0] != texts[1] {
		t.Errorf("wrong password and unknown user differ: %q vs %q", texts[0], texts[1])
	}

	// An initial response is the user name.
	in.Pairs = []mech.Pair{{Initial: true, Response: []byte("testuser")}}
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || string(res.Challenge) != "Password:" {
		t.Fatalf("after initial response: %q, %v", res.Challenge, err)
	}
	in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, Response: []byte("testpass")})
	if res, err := m.ServerAttempt(ctx, in); err != nil || res.Principal.Account() != "testuser" {
		t.Errorf("after initial response: %v, %v", res.Principal, err)
	}

	for name, pairs := range map[string][]mech.Pair{
		"empty user":     {{Challenge: []byte("Username:"), Response: nil}},
		"NUL in user":    {{Challenge: []byte("Username:"), Response: []byte("a\x00b")}},
		"bad UTF-8":      {{Challenge: []byte("Username:"), Response: []byte("\xff")}},
		"long user":      {{Challenge: []byte("Username:"), Response: bytes.Repeat([]byte("u"), 256)}},
		"empty password": {{Challenge: []byte("Username:"), Response: []byte("u")}, {Challenge: []byte("Password:")}},
	} {
		in.Pairs = pairs
		if _, err := m.ServerAttempt(ctx, in); !errors.Is(err, mech.ErrInvalidResponse) {
			t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
		}
	}
}

func TestLoginClient(t *testing.T) {
	c := &creds.Client{Authcid: "testuser", Password: "testpass"}
	m := mech.Login{}
	if _, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true}); !errors.Is(err, mech.ErrNoInitialResponse) {
		t.Errorf("initial: %v, want ErrNoInitialResponse", err)
	}
	in := &mech.ClientInput{Creds: c, Challenge: []byte("Username:")}
	var got []string
	for i := 0; i < 2; i++ {
		res, err := m.ClientAttempt(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(res.Response))
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: in.Challenge, Response: res.Response})
	}
	if diff := cmp.Diff([]string{"testuser", "testpass"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := m.ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("third challenge: %v, want ErrUnexpectedChallenge", err)
	}
}

func cramServer(t *testing.T, v *creds.Verifier, challenge, resp string) (*creds.Principal, error) {
	t.Helper()
	in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{{Challenge: []byte(challenge), Response: []byte(resp)}}}
	res, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
	return res.Principal, err
}

func TestCRAMMD5Server(t *testing.T) {
	const ch = "<abc123.1234@testhost>"
	const resp = "testuser 3a569c3950e95c490fd42f5d89e1ef67"
	tests := []struct {
		name     string
		accounts []creds.Account
		wantErr  error
	}{
		{"good", []creds.Account{{Name: "testuser", Password: clearPW("testpass")}}, nil},
		{"bad password", []creds.Account{{Name: "testuser", Password: clearPW("badpass")}}, creds.ErrBadCredentials},
		{"bad user", []creds.Account{{Name: "baduser", Password: clearPW("testpass")}}, creds.ErrBadCredentials},
		{"unknown user", nil, creds.ErrBadCredentials},
		// A hashed password cannot give the HMAC key: the account fails
		// as a wrong password does.
		{"hashed password", []creds.Account{{Name: "testuser", Password: hashed(t, "testpass")}}, creds.ErrBadCredentials},
		{"hashed among clear", []creds.Account{{Name: "testuser", Password: hashed(t, "testpass")}, {Name: "other", Password: clearPW("testpass")}}, creds.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := cramServer(t, newVerifier(t, tc.accounts...), ch, resp)
			if tc.wantErr != nil {
				checkBadCredentials(t, "CRAM-MD5", mech.ServerResult{Principal: p}, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"CRAM-MD5", "testuser", "", "testuser"}, principal(p)); diff != "" {
				t.Errorf("principal (-want +got):\n%s", diff)
			}
		})
	}

	// RFC 2195 section 2.
	rfc := newVerifier(t, creds.Account{Name: "tim", Password: clearPW("tanstaaftanstaaf")})
	if p, err := cramServer(t, rfc, "<1896.697170952@postoffice.reston.mci.net>", "tim b913a602c7eda7a495b4e6e7334d3890"); err != nil || p.Account() != "tim" {
		t.Errorf("RFC 2195: %v, %v", p, err)
	}

	v := newVerifier(t, creds.Account{Name: "testuser", Password: clearPW("testpass")})
	for name, resp := range map[string]string{
		"no digest":       "testing",
		"upper-case hex":  "testuser 3A569C3950E95C490FD42F5D89E1EF67",
		"short digest":    "testuser 3a569c3950e95c490fd42f5d89e1ef6",
		"no user":         " 3a569c3950e95c490fd42f5d89e1ef67",
		"tab separator":   "testuser\t3a569c3950e95c490fd42f5d89e1ef67",
		"bad UTF-8 user":  "\xff 3a569c3950e95c490fd42f5d89e1ef67",
		"trailing space":  "testuser 3a569c3950e95c490fd42f5d89e1ef67 ",
		"non-hex digest":  "testuser 3a569c3950e95c490fd42f5d89e1ef6g",
		"empty":           "",
		"very long user":  strings.Repeat("u", 300) + " 3a569c3950e95c490fd42f5d89e1ef67",
		"NUL in username": "te\x00tuser 3a569c3950e95c490fd42f5d89e1ef67",
	} {
		if p, err := cramServer(t, v, ch, resp); !errors.Is(err, mech.ErrInvalidResponse) || p != nil {
			t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
		}
	}

	// No initial response: it would be a replayable response.
	in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{{Initial: true, Response: []byte(resp)}}}
	if _, err := (mech.CRAMMD5{}).ServerAttempt(ctx, in); !errors.Is(err, mech.ErrNoInitialResponse) {
		t.Errorf("initial response: %v, want ErrNoInitialResponse", err)
	}

	// A failing store is not a wrong password.
	boom := errors.New("database down")
	if p, err := cramServer(t, &creds.Verifier{Store: failingStore{boom}}, ch, resp); !errors.Is(err, boom) || errors.Is(err, creds.ErrBadCredentials) || p != nil {
		t.Errorf("failing store: %v, %v", p, err)
	}
}

func TestCRAMMD5Challenge(t *testing.T) {
	m := mech.CRAMMD5{
		Hostname: "testhost",
		Rand:     bytes.NewReader(bytes.Repeat([]byte{0xab}, 16)),
		Now:      func() time.Time { return time.Unix(1234, 0) },
	}
	res, err := m.ServerAttempt(ctx, &mech.ServerInput{Channel: &mech.Channel{}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("<abababababababababababababababab.1234@testhost>", string(res.Challenge)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A failing random source is an error, not a predictable challenge.
	m.Rand = bytes.NewReader(nil)
	if _, err := m.ServerAttempt(ctx, &mech.ServerInput{Channel: &mech.Channel{}}); err == nil {
		t.Error("empty random source: no error")
	}
	// The default challenge is random.
	a, _ := mech.CRAMMD5{}.ServerAttempt(ctx, &mech.ServerInput{})
	b, _ := mech.CRAMMD5{}.ServerAttempt(ctx, &mech.ServerInput{})
	if bytes.Equal(a.Challenge, b.Challenge) {
		t.Error("two default challenges are equal")
	}
}

func TestCRAMMD5Client(t *testing.T) {
	c := &creds.Client{Authcid: "tim", Password: "tanstaaftanstaaf"}
	m := mech.CRAMMD5{}
	if _, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true}); !errors.Is(err, mech.ErrNoInitialResponse) {
		t.Errorf("initial: %v", err)
	}
	in := &mech.ClientInput{Creds: c, Challenge: []byte("<1896.697170952@postoffice.reston.mci.net>")}
	res, err := m.ClientAttempt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("tim b913a602c7eda7a495b4e6e7334d3890", string(res.Response)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	in.Pairs = []mech.Pair{{Challenge: in.Challenge, Response: res.Response}}
	if _, err := m.ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("second challenge: %v", err)
	}
	if _, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Challenge: []byte{}}); !errors.Is(err, mech.ErrInvalidChallenge) {
		t.Errorf("empty challenge: %v", err)
	}
}

// acceptAll is a token validator that takes every token as issued to the
// user the client names.
var acceptAll = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
	r.Subject = r.User
	if r.Subject == "" {
		r.Subject = "subject"
	}
	return nil
})

func TestXOAuth2Server(t *testing.T) {
	var seen *mech.TokenRequest
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		c := *r
		seen = &c
		if r.Token != "testtoken" {
			return mech.ErrAuthFailed
		}
		r.Subject = r.User
		return nil
	})
	res, err := serverOnce(mech.XOAuth2{}, nil, v, "user=testuser\x01auth=Bearer testtoken\x01\x01", true)
	if err != nil {
		t.Fatal(err)
	}
	// The validator sees the user and the token; the principal is the
	// validator's subject, with no authzid, since the user the client
	// named is that account.
	want := &mech.TokenRequest{Mechanism: "XOAUTH2", User: "testuser", Token: "testtoken"}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("token request (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"XOAUTH2", "testuser", "", "testuser"}, principal(res.Principal)); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	if strings.Contains(res.Principal.String(), "testtoken") {
		t.Errorf("principal %q holds the token", res.Principal)
	}
	// The scheme is case-insensitive.
	if _, err := serverOnce(mech.XOAuth2{}, nil, acceptAll, "user=u\x01auth=bEARER t\x01\x01", true); err != nil {
		t.Errorf("bEARER: %v", err)
	}
	// Without a validator there is nothing to check the token with.
	res, err = serverOnce(mech.XOAuth2{}, nil, nil, "user=testuser\x01auth=Bearer testtoken\x01\x01", true)
	if !errors.Is(err, creds.ErrMisconfigured) || res.Principal != nil || strings.Contains(err.Error(), "testtoken") {
		t.Errorf("no validator: %v, %v; want ErrMisconfigured", res.Principal, err)
	}
	for name, resp := range map[string]string{
		"garbage":        "abcdefghi",
		"no terminator":  "user=u\x01auth=Bearer t\x01",
		"no user":        "auth=Bearer t\x01\x01",
		"no auth":        "user=u\x01\x01",
		"empty token":    "user=u\x01auth=Bearer \x01\x01",
		"basic scheme":   "user=u\x01auth=Basic dTpw\x01\x01",
		"space in token": "user=u\x01auth=Bearer a b\x01\x01",
		"duplicate user": "user=u\x01user=v\x01auth=Bearer t\x01\x01",
		"bad key":        "user=u\x01a-b=c\x01auth=Bearer t\x01\x01",
		"empty":          "",
		"bad UTF-8 user": "user=\xff\x01auth=Bearer t\x01\x01",
	} {
		for _, tokens := range []mech.TokenValidator{acceptAll, nil} {
			if res, err := serverOnce(mech.XOAuth2{}, nil, tokens, resp, true); !errors.Is(err, mech.ErrInvalidResponse) || res.Principal != nil {
				t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
			}
		}
	}
}

// TestXOAuth2ErrorFlow: a refused token is answered with the JSON error, the
// client's empty reply is expected, and the exchange fails with the fields.
func TestXOAuth2ErrorFlow(t *testing.T) {
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.User == "testuser" && r.Token == "good" {
			r.Subject = "testuser"
			return nil
		}
		return mech.ErrAuthFailed
	})
	m := mech.XOAuth2{Scope: "https://mail.google.com/"}
	in := &mech.ServerInput{Channel: &mech.Channel{}, Tokens: v, Pairs: []mech.Pair{{Initial: true, Response: []byte("user=testuser\x01auth=Bearer good\x01\x01")}}}
	res, err := m.ServerAttempt(ctx, in)
	if err != nil || res.Principal == nil || res.Principal.Account() != "testuser" {
		t.Fatalf("good token: %v, %v", res.Principal, err)
	}
	in.Pairs[0].Response = []byte("user=testuser\x01auth=Bearer bad\x01\x01")
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || res.Principal != nil {
		t.Fatalf("bad token: %v, %v", res.Principal, err)
	}
	if diff := cmp.Diff(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`, string(res.Challenge)); diff != "" {
		t.Errorf("error challenge (-want +got):\n%s", diff)
	}
	in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, State: res.State, Response: []byte{}})
	_, err = m.ServerAttempt(ctx, in)
	var te *mech.TokenError
	if !errors.As(err, &te) || !errors.Is(err, mech.ErrAuthFailed) || te.Status != "401" {
		t.Errorf("after the reply: %v, want TokenError 401", err)
	}
	if strings.Contains(err.Error(), "bad") {
		t.Errorf("error %q holds the token", err)
	}
	in.Pairs[1].Response = []byte("x")
	if _, err := m.ServerAttempt(ctx, in); !errors.Is(err, mech.ErrInvalidResponse) {
		t.Errorf("non-empty reply: %v, want ErrInvalidResponse", err)
	}
	in.Pairs[1].Response = nil
	in.Pairs[1].State = nil
	if _, err := m.ServerAttempt(ctx, in); !errors.Is(err, mech.ErrInvalidResponse) {
		t.Errorf("second response without an error challenge: %v", err)
	}
	// An internal validator failure aborts without a JSON error.
	boom := errors.New("issuer unreachable")
	in.Tokens = mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return boom })
	in.Pairs = in.Pairs[:1]
	if res, err := m.ServerAttempt(ctx, in); !errors.Is(err, boom) || res.Principal != nil || len(res.Challenge) != 0 {
		t.Errorf("internal error: %v, %q", err, res.Challenge)
	}
	// A validator that accepts a token without naming its subject fails
	// closed: it is a misconfiguration, not a login.
	in.Tokens = mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return nil })
	if res, err := m.ServerAttempt(ctx, in); !errors.Is(err, creds.ErrMisconfigured) || res.Principal != nil || len(res.Challenge) != 0 {
		t.Errorf("token naming nobody: %v, %v, %q; want ErrMisconfigured", res.Principal, err, res.Challenge)
	}
}

func TestXOAuth2Client(t *testing.T) {
	c := &creds.Client{Authcid: "testuser", Token: "testtoken"}
	m := mech.XOAuth2{}
	res, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("user=testuser\x01auth=Bearer testtoken\x01\x01", string(res.Response)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	in := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: res.Response}},
		Challenge: []byte(`{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}`)}
	res, err = m.ClientAttempt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Response) != 0 || res.Response == nil {
		t.Errorf("reply to the error: %q, want empty", res.Response)
	}
	want := &mech.TokenError{Status: "401", Schemes: "bearer mac", Scope: "https://mail.google.com/"}
	if diff := cmp.Diff(want, res.Failure); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
	in.Pairs = append(in.Pairs, mech.Pair{Challenge: in.Challenge, Response: res.Response})
	if _, err := m.ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("second challenge: %v", err)
	}
	for _, bad := range []creds.Client{{Authcid: "u", Token: ""}, {Authcid: "u", Token: "a b"}, {Authcid: "u\x01", Token: "t"}, {Token: "t"}} {
		if _, err := m.ClientAttempt(ctx, &mech.ClientInput{Creds: &bad, Initial: true}); !errors.Is(err, mech.ErrInvalidCredentials) {
			t.Errorf("%+v: %v, want ErrInvalidCredentials", bad, err)
		}
	}
}

func TestExternal(t *testing.T) {
	in := &mech.ServerInput{Channel: &mech.Channel{External: "CN=user"}, Pairs: []mech.Pair{{Initial: true, Response: []byte("testuser")}}}
	res, err := mech.External{}.ServerAttempt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// The transport vouched for the account; the client's authzid is for
	// the authorization policy.
	if diff := cmp.Diff([]string{"EXTERNAL", "CN=user", "testuser", "testuser"}, principal(res.Principal)); diff != "" {
		t.Errorf("principal (-want +got):\n%s", diff)
	}
	in.Pairs[0].Response = []byte{}
	if res, err := (mech.External{}).ServerAttempt(ctx, in); err != nil || res.Principal.Authzid() != "" || res.Principal.Effective() != "CN=user" {
		t.Errorf("empty authzid: %v, %v", res.Principal, err)
	}
	// Without an external identity there is nobody to log in.
	in.Channel = &mech.Channel{}
	for _, resp := range []string{"testuser", ""} {
		in.Pairs[0].Response = []byte(resp)
		res, err := mech.External{}.ServerAttempt(ctx, in)
		var me *mech.Error
		if !errors.Is(err, mech.ErrAuthFailed) || !errors.As(err, &me) || me.Mechanism != "EXTERNAL" || res.Principal != nil {
			t.Errorf("no external identity, authzid %q: %v, %v; want ErrAuthFailed", resp, res.Principal, err)
		}
	}
	in.Channel = nil
	if res, err := (mech.External{}).ServerAttempt(ctx, in); !errors.Is(err, mech.ErrAuthFailed) || res.Principal != nil {
		t.Errorf("no channel: %v, %v; want ErrAuthFailed", res.Principal, err)
	}
	// A malformed authzid is an invalid response, with or without an
	// external identity.
	for _, ch := range []*mech.Channel{{}, {External: "CN=user"}} {
		in.Channel = ch
		for _, bad := range []string{"a\x00b", "\xff", strings.Repeat("a", 256)} {
			in.Pairs[0].Response = []byte(bad)
			if res, err := (mech.External{}).ServerAttempt(ctx, in); !errors.Is(err, mech.ErrInvalidResponse) || res.Principal != nil {
				t.Errorf("%q: %v", bad, err)
			}
		}
	}
	c := &creds.Client{Authzid: "testuser"}
	r, err := mech.External{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
	if err != nil || string(r.Response) != "testuser" {
		t.Errorf("client: %q, %v", r.Response, err)
	}
	ci := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: r.Response}}, Challenge: []byte{}}
	if _, err := (mech.External{}).ClientAttempt(ctx, ci); !errors.Is(err, mech.ErrUnexpectedChallenge) {
		t.Errorf("second challenge: %v", err)
	}
}

func TestClientFinal(t *testing.T) {
	for name, m := range testMechs {
		if err := m.ClientFinal(ctx, &mech.ClientInput{}, nil, false); err != nil {
			t.Errorf("%s: no data: %v", name, err)
		}
		if err := m.ClientFinal(ctx, &mech.ClientInput{}, []byte{}, true); err != nil {
			t.Errorf("%s: empty data: %v", name, err)
		}
		if err := m.ClientFinal(ctx, &mech.ClientInput{}, []byte("x"), true); !errors.Is(err, mech.ErrInvalidChallenge) {
			t.Errorf("%s: unexpected data: %v", name, err)
		}
	}
}

// TestXOAuth2Strict: the message has one form; reordered, repeated or extra
// fields are refused (found by internal/hardening's corruption test).
func TestXOAuth2Strict(t *testing.T) {
	for _, msg := range []string{
		"auth=Bearer t\x01user=u\x01\x01",
		"user=u\x01auth=Bearer t\x01\x01\x01",
		"user=u\x01auth=Bearer t\x01x=y\x01\x01",
		"user=u\x01\x01auth=Bearer t\x01\x01",
	} {
		if _, err := serverOnce(mech.XOAuth2{}, nil, acceptAll, msg, true); !errors.Is(err, mech.ErrInvalidResponse) {
			t.Errorf("%q: %v, want ErrInvalidResponse", msg, err)
		}
	}
}
