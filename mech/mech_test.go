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
// response when initial is set.
func serverOnce(m mech.Server, resp string, initial bool) (mech.ServerResult, error) {
	in := &mech.ServerInput{Channel: &mech.Channel{}}
	if initial {
		in.Pairs = []mech.Pair{{Response: []byte(resp), Initial: true}}
	} else {
		in.Pairs = []mech.Pair{{Challenge: []byte{}, Response: []byte(resp)}}
	}
	return m.ServerAttempt(ctx, in)
}

func TestPlainServer(t *testing.T) {
	res, err := mech.Plain{}.ServerAttempt(ctx, &mech.ServerInput{Channel: &mech.Channel{}})
	if err != nil || res.Creds != nil || len(res.Challenge) != 0 {
		t.Fatalf("no response: got %+v, %v; want the empty challenge", res, err)
	}
	tests := []struct {
		name, resp         string
		authzid, authcid   string
		effective          string
		wantErr            error
		verifies, wrongPwd bool
	}{
		{name: "authzid", resp: "abc\x00def\x00ghi", authzid: "abc", authcid: "def", effective: "abc"},
		{name: "no authzid", resp: "\x00def\x00ghi", authcid: "def", effective: "def"},
		{name: "no separator", resp: "abcdefghi", wantErr: mech.ErrInvalidResponse},
		{name: "empty authcid", resp: "\x00\x00ghi", wantErr: mech.ErrInvalidResponse},
		{name: "three separators", resp: "a\x00b\x00c\x00d", wantErr: mech.ErrInvalidResponse},
		{name: "one separator", resp: "abc\x00def", wantErr: mech.ErrInvalidResponse},
		{name: "empty", resp: "", wantErr: mech.ErrInvalidResponse},
		{name: "empty password", resp: "\x00def\x00", wantErr: mech.ErrInvalidResponse},
		{name: "invalid UTF-8", resp: "\x00d\xffef\x00ghi", wantErr: mech.ErrInvalidResponse},
		{name: "authcid 255", resp: "\x00" + strings.Repeat("u", 255) + "\x00p", authcid: strings.Repeat("u", 255), effective: strings.Repeat("u", 255)},
		{name: "authcid 256", resp: "\x00" + strings.Repeat("u", 256) + "\x00p", wantErr: mech.ErrInvalidResponse},
		{name: "password 256", resp: "\x00u\x00" + strings.Repeat("p", 256), wantErr: mech.ErrInvalidResponse},
		{name: "authzid 256", resp: strings.Repeat("z", 256) + "\x00u\x00p", wantErr: mech.ErrInvalidResponse},
	}
	for _, tc := range tests {
		for _, initial := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				res, err := serverOnce(mech.Plain{}, tc.resp, initial)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) || res.Creds != nil {
						t.Fatalf("got %v, %v; want %v and no credentials", res.Creds, err, tc.wantErr)
					}
					if strings.Contains(err.Error(), "ghi") {
						t.Errorf("error %q quotes the input", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := []string{res.Creds.Mechanism(), res.Creds.Authzid(), res.Creds.Authcid(), res.Creds.Effective()}
				want := []string{"PLAIN", tc.authzid, tc.authcid, tc.effective}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("mech, authzid, authcid, effective (-want +got):\n%s", diff)
				}
				if got, want := res.Creds.HasAuthzid(), tc.authzid != ""; got != want {
					t.Errorf("HasAuthzid = %v, want %v", got, want)
				}
			})
		}
	}
}

func TestPlainVerify(t *testing.T) {
	res, err := serverOnce(mech.Plain{}, "abc\x00def\x00ghi", true)
	if err != nil {
		t.Fatal(err)
	}
	c := res.Creds
	hashed, err := creds.NewHashedIdentity("def", "ghi", testHasher, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      creds.Identity
		wantErr error
	}{
		{"clear", creds.ClearIdentity{Name: "def", Password: "ghi"}, nil},
		{"hashed", hashed, nil},
		{"wrong password", creds.ClearIdentity{Name: "def", Password: "invalid"}, creds.ErrBadCredentials},
		{"wrong user", creds.ClearIdentity{Name: "invalid", Password: "ghi"}, creds.ErrBadCredentials},
		{"unknown user", nil, creds.ErrBadCredentials},
		{"decoy", creds.Decoy(hashed.Hash), creds.ErrBadCredentials},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Verify(tc.id)
			if tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestSASLprepBothSides is the vector: soft hyphen and zero-width
// space both map to nothing, on the client's and on the stored side.
func TestSASLprepBothSides(t *testing.T) {
	res, err := serverOnce(mech.Plain{}, "\x00user\u00ADname\x00pass\u00ADword", true)
	if err != nil {
		t.Fatal(err)
	}
	hashed, err := creds.NewHashedIdentity("us\u200Bername", "pa\u200Bssword", testHasher, false)
	if err != nil {
		t.Fatal(err)
	}
	rawHashed, err := creds.NewHashedIdentity("us\u200Bername", "pa\u200Bssword", testHasher, true)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		id   creds.Identity
		ok   bool
	}{
		{"clear", creds.ClearIdentity{Name: "us\u200Bername", Password: "pa\u200Bssword"}, true},
		{"hashed", hashed, true},
		{"clear noprep", creds.ClearIdentity{Name: "us\u200Bername", Password: "pa\u200Bssword", NoPrep: true}, false},
		{"hashed noprep", rawHashed, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := res.Creds.Verify(tc.id)
			if tc.ok && err != nil || !tc.ok && !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("Verify = %v, want ok=%v", err, tc.ok)
			}
		})
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
	in := &mech.ServerInput{Channel: &mech.Channel{}}
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
	if err != nil || res.Creds == nil {
		t.Fatalf("third: %v", err)
	}
	if got := []string{res.Creds.Authcid(), res.Creds.Effective()}; !cmp.Equal(got, []string{"testuser", "testuser"}) {
		t.Errorf("authcid, effective = %q", got)
	}
	if err := res.Creds.Verify(creds.ClearIdentity{Name: "testuser", Password: "testpass"}); err != nil {
		t.Errorf("Verify: %v", err)
	}
	for _, id := range []creds.Identity{
		creds.ClearIdentity{Name: "testuser", Password: "badpass"},
		creds.ClearIdentity{Name: "baduser", Password: "testpass"},
	} {
		if err := res.Creds.Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("Verify(%v) = %v, want ErrBadCredentials", id.Authcid(), err)
		}
	}

	// An initial response is the user name.
	in.Pairs = []mech.Pair{{Initial: true, Response: []byte("testuser")}}
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || string(res.Challenge) != "Password:" {
		t.Fatalf("after initial response: %q, %v", res.Challenge, err)
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

func cramServer(t *testing.T, challenge, resp string) (*creds.Server, error) {
	t.Helper()
	in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Challenge: []byte(challenge), Response: []byte(resp)}}}
	res, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
	return res.Creds, err
}

func TestCRAMMD5Server(t *testing.T) {
	const ch = "<abc123.1234@testhost>"
	c, err := cramServer(t, ch, "testuser 3a569c3950e95c490fd42f5d89e1ef67")
	if err != nil {
		t.Fatal(err)
	}
	if c.Authcid() != "testuser" {
		t.Errorf("authcid %q", c.Authcid())
	}
	hashed, err := creds.NewHashedIdentity("testuser", "testpass", testHasher, false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		id      creds.Identity
		wantErr error
	}{
		{"good", creds.ClearIdentity{Name: "testuser", Password: "testpass"}, nil},
		{"bad password", creds.ClearIdentity{Name: "testuser", Password: "badpass"}, creds.ErrBadCredentials},
		{"bad user", creds.ClearIdentity{Name: "baduser", Password: "testpass"}, creds.ErrBadCredentials},
		{"nil identity", nil, creds.ErrBadCredentials},
		{"hashed identity", hashed, creds.ErrUnusable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Verify(tc.id); tc.wantErr == nil && err != nil || !errors.Is(err, tc.wantErr) {
				t.Errorf("Verify = %v, want %v", err, tc.wantErr)
			}
		})
	}

	// RFC 2195 section 2.
	c, err = cramServer(t, "<1896.697170952@postoffice.reston.mci.net>", "tim b913a602c7eda7a495b4e6e7334d3890")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify(creds.ClearIdentity{Name: "tim", Password: "tanstaaftanstaaf"}); err != nil {
		t.Errorf("RFC 2195: %v", err)
	}

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
		if c, err := cramServer(t, ch, resp); !errors.Is(err, mech.ErrInvalidResponse) || c != nil {
			t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
		}
	}

	// No initial response: it would be a replayable response.
	in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Initial: true, Response: []byte("testuser 3a569c3950e95c490fd42f5d89e1ef67")}}}
	if _, err := (mech.CRAMMD5{}).ServerAttempt(ctx, in); !errors.Is(err, mech.ErrNoInitialResponse) {
		t.Errorf("initial response: %v, want ErrNoInitialResponse", err)
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

func TestXOAuth2Server(t *testing.T) {
	res, err := serverOnce(mech.XOAuth2{}, "user=testuser\x01auth=Bearer testtoken\x01\x01", true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Creds.Effective() != "testuser" {
		t.Errorf("effective %q", res.Creds.Effective())
	}
	var ee *creds.ExternalError
	if err := res.Creds.Verify(creds.ClearIdentity{Name: "testuser", Password: "x"}); !errors.As(err, &ee) || ee.Token != "testtoken" {
		t.Errorf("Verify = %v, want ExternalError with the token", err)
	}
	if strings.Contains(ee.Error(), "testtoken") {
		t.Error("ExternalError's text holds the token")
	}
	// The scheme is case-insensitive.
	if _, err := serverOnce(mech.XOAuth2{}, "user=u\x01auth=bEARER t\x01\x01", true); err != nil {
		t.Errorf("bEARER: %v", err)
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
		if res, err := serverOnce(mech.XOAuth2{}, resp, true); !errors.Is(err, mech.ErrInvalidResponse) || res.Creds != nil {
			t.Errorf("%s: %v, want ErrInvalidResponse", name, err)
		}
	}
}

// TestXOAuth2ErrorFlow: a refused token is answered with the JSON error, the
// client's empty reply is expected, and the exchange fails with the fields.
func TestXOAuth2ErrorFlow(t *testing.T) {
	v := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.User == "testuser" && r.Token == "good" {
			return nil
		}
		return mech.ErrAuthFailed
	})
	m := mech.XOAuth2{Validator: v, Scope: "https://mail.google.com/"}
	in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Initial: true, Response: []byte("user=testuser\x01auth=Bearer good\x01\x01")}}}
	res, err := m.ServerAttempt(ctx, in)
	if err != nil || res.Creds == nil || !res.Creds.Verified() {
		t.Fatalf("good token: %v, %v", res.Creds, err)
	}
	in.Pairs[0].Response = []byte("user=testuser\x01auth=Bearer bad\x01\x01")
	res, err = m.ServerAttempt(ctx, in)
	if err != nil || res.Creds != nil {
		t.Fatalf("bad token: %v, %v", res.Creds, err)
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
	m.Validator = mech.TokenValidatorFunc(func(context.Context, *mech.TokenRequest) error { return boom })
	in.Pairs = in.Pairs[:1]
	if _, err := m.ServerAttempt(ctx, in); !errors.Is(err, boom) {
		t.Errorf("internal error: %v", err)
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
	if got := []string{res.Creds.Authcid(), res.Creds.Authzid()}; !cmp.Equal(got, []string{"CN=user", "testuser"}) {
		t.Errorf("authcid, authzid = %q", got)
	}
	if !res.Creds.Verified() {
		t.Errorf("credentials vouched for by the transport are not verified")
	}
	// Without an external identity the caller must establish it (pysasl's
	// ExternalVerificationRequired).
	in.Channel = &mech.Channel{}
	res, err = mech.External{}.ServerAttempt(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	var ee *creds.ExternalError
	if err := res.Creds.Verify(nil); !errors.As(err, &ee) || ee.Token != "" || res.Creds.Authzid() != "testuser" {
		t.Errorf("Verify = %v, want ExternalError without token", err)
	}
	in.Pairs[0].Response = []byte{}
	if res, err := (mech.External{}).ServerAttempt(ctx, in); err != nil || res.Creds.HasAuthzid() {
		t.Errorf("empty authzid: %v", err)
	}
	for _, bad := range []string{"a\x00b", "\xff", strings.Repeat("a", 256)} {
		in.Pairs[0].Response = []byte(bad)
		if _, err := (mech.External{}).ServerAttempt(ctx, in); !errors.Is(err, mech.ErrInvalidResponse) {
			t.Errorf("%q: %v", bad, err)
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
		if _, err := serverOnce(mech.XOAuth2{}, msg, true); !errors.Is(err, mech.ErrInvalidResponse) {
			t.Errorf("%q: %v, want ErrInvalidResponse", msg, err)
		}
	}
}
