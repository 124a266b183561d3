package mech_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
	"github.com/saslkit/saslkit/mech"
)

// The fuzz targets check properties of each mechanism, not only that it
// does not panic:
//
//   - an error comes with no credentials and wraps the documented sentinel;
//   - an error's text never holds an input of 8 bytes or more, unless that
//     input is part of the fixed text errors are made of;
//   - a server's credentials hold what the message said, and verify only
//     against the password that was sent;
//   - what a client sends, the server parses back to the same fields.

// fixedErrorText holds every text a mechanism error can have: each
// mechanism name with each sentinel and each reason. An input found in it
// is not a leak.
var fixedErrorText = func() string {
	names := []string{"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "EXTERNAL"}
	sentinels := []error{mech.ErrInvalidResponse, mech.ErrInvalidChallenge, mech.ErrUnexpectedChallenge,
		mech.ErrNoInitialResponse, mech.ErrAuthFailed, mech.ErrInvalidCredentials}
	reasons := []string{"",
		"NUL in authzid", "NUL in field", "NUL in user name", "NUL in password", "authzid too long",
		"control character in user", "digest is not lower-case hex", "duplicate auth", "duplicate user",
		"empty authcid", "empty challenge", "empty field", "empty password", "empty user name",
		"field too long", "initial response refused", "invalid UTF-8", "invalid user", "malformed field",
		"message too long", "missing auth", "missing separator", "missing terminator", "missing user",
		"non-empty reply to error", "password fails SASLprep", "reading randomness failed",
		"response too long", "response too short", "too many separators", "unexpected response",
		"unusable token", "user too long", "user name too long", "password too long",
		"unexpected additional data", "malformed JSON error", "auth is not a bearer token",
		"bad token length", "token is not printable ASCII",
	}
	var b strings.Builder
	for _, n := range names {
		for _, s := range sentinels {
			for _, r := range reasons {
				b.WriteString((&mech.Error{Mechanism: n, Reason: r, Err: s}).Error())
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}()

// checkNoLeak fails if err's text holds one of inputs.
func checkNoLeak(t *testing.T, err error, inputs ...string) {
	t.Helper()
	text := err.Error()
	for _, in := range inputs {
		if len(in) >= 8 && strings.Contains(text, in) && !strings.Contains(fixedErrorText, in) {
			t.Fatalf("error %q holds the input %q", text, in)
		}
	}
}

// checkFailed checks an attempt that failed: no credentials, the sentinel
// wanted, no input in the text.
func checkFailed(t *testing.T, res mech.ServerResult, err error, sentinels []error, inputs ...string) {
	t.Helper()
	if res.Creds != nil {
		t.Fatalf("error %v with credentials %v", err, res.Creds)
	}
	checkError(t, err, sentinels, inputs...)
}

// checkError fails unless err wraps one of sentinels and quotes none of
// inputs.
func checkError(t *testing.T, err error, sentinels []error, inputs ...string) {
	t.Helper()
	ok := false
	for _, s := range sentinels {
		ok = ok || errors.Is(err, s)
	}
	if !ok {
		t.Fatalf("error %v wraps none of %v", err, sentinels)
	}
	checkNoLeak(t, err, inputs...)
}

// checkPasswordCreds checks credentials that carry a password: they
// verify with the password sent (when it can be prepared to something
// non-empty), and never with another one.
func checkPasswordCreds(t *testing.T, c *creds.Server, authcid, password string) {
	t.Helper()
	if c.Authcid() != authcid {
		t.Fatalf("authcid %q, want %q", c.Authcid(), authcid)
	}
	for _, id := range []creds.Identity{
		creds.ClearIdentity{Name: authcid, Password: "not-" + password},
		creds.ClearIdentity{Name: authcid, Password: "not-" + password, NoPrep: true},
		creds.ClearIdentity{Name: authcid},
		creds.ClearIdentity{Name: "not-" + authcid, Password: password},
		nil,
	} {
		if err := c.Verify(id); err == nil {
			t.Fatalf("credentials for %q verify against %#v", password, id)
		}
	}
	if p, err := prep.Stored(password); err == nil && p != "" {
		if err := c.Verify(creds.ClearIdentity{Name: authcid, Password: password}); err != nil {
			t.Fatalf("credentials do not verify with the password sent: %v", err)
		}
	}
}

// serverInput builds the input of a single-response server attempt.
func serverInput(resp []byte, initial bool) *mech.ServerInput {
	in := &mech.ServerInput{Channel: &mech.Channel{}}
	if initial {
		in.Pairs = []mech.Pair{{Response: resp, Initial: true}}
	} else {
		in.Pairs = []mech.Pair{{Challenge: []byte{}, Response: resp}}
	}
	return in
}

func FuzzPlainServer(f *testing.F) {
	for _, s := range []string{
		"abc\x00def\x00ghi", "\x00def\x00ghi", "abcdefghi", "\x00\x00ghi", "a\x00b\x00c\x00d",
		"abc\x00def", "", "\x00def\x00", "\x00d\xffef\x00ghi", "\x00tim\x00tanstaaftanstaaf",
		"testzid\x00testuser\x00testpass", "\x00user\u00ADname\x00pass\u00ADword",
		"\x00" + strings.Repeat("u", 255) + "\x00p", "\x00u\x00" + strings.Repeat("p", 256),
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, resp []byte, initial bool) {
		res, err := mech.Plain{}.ServerAttempt(ctx, serverInput(resp, initial))
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(resp))
			return
		}
		c := res.Creds
		if c == nil {
			t.Fatal("no error and no credentials")
		}
		if c.Mechanism() != "PLAIN" {
			t.Fatalf("mechanism %q", c.Mechanism())
		}
		// The fields are the message's, byte for byte.
		parts := bytes.Split(resp, []byte{0})
		if len(parts) != 3 {
			t.Fatalf("accepted a message with %d fields", len(parts))
		}
		if c.Authzid() != string(parts[0]) || c.Authcid() != string(parts[1]) {
			t.Fatalf("fields %q %q, message %q", c.Authzid(), c.Authcid(), resp)
		}
		checkPasswordCreds(t, c, string(parts[1]), string(parts[2]))
	})
}

func FuzzLoginServer(f *testing.F) {
	for _, s := range [][2]string{
		{"testuser", "testpass"}, {"", "p"}, {"u", ""}, {"a\x00b", "p"}, {"\xff", "p"},
		{strings.Repeat("u", 256), "p"}, {"u", strings.Repeat("p", 255)}, {"ünïcode", "pässwörd"},
	} {
		f.Add([]byte(s[0]), []byte(s[1]), false)
		f.Add([]byte(s[0]), []byte(s[1]), true)
	}
	f.Fuzz(func(t *testing.T, user, pass []byte, initial bool) {
		first := mech.Pair{Challenge: []byte("Username:"), Response: user}
		if initial {
			first = mech.Pair{Initial: true, Response: user}
		}
		in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{first}}
		res, err := mech.Login{}.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(user))
			return
		}
		if res.Creds != nil || string(res.Challenge) != "Password:" {
			t.Fatalf("after the user name: %+v", res)
		}
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, Response: pass})
		res, err = mech.Login{}.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(user), string(pass))
			return
		}
		if res.Creds == nil {
			t.Fatal("no error and no credentials")
		}
		if res.Creds.HasAuthzid() {
			t.Fatalf("LOGIN credentials with authzid %q", res.Creds.Authzid())
		}
		checkPasswordCreds(t, res.Creds, string(user), string(pass))
	})
}

func cramDigestHex(key, challenge string) string {
	h := hmac.New(md5.New, []byte(key))
	h.Write([]byte(challenge))
	return hex.EncodeToString(h.Sum(nil))
}

func FuzzCRAMMD5Server(f *testing.F) {
	const rfcChallenge = "<1896.697170952@postoffice.reston.mci.net>"
	f.Add([]byte(rfcChallenge), []byte("tim b913a602c7eda7a495b4e6e7334d3890"))
	f.Add([]byte("<abc123.1234@testhost>"), []byte("testuser 3a569c3950e95c490fd42f5d89e1ef67"))
	f.Add([]byte("<abc123.1234@testhost>"), []byte("testuser "+cramDigestHex("secret", "<abc123.1234@testhost>")))
	f.Add([]byte("<x@y>"), []byte("u "+cramDigestHex("", "<x@y>")))
	for _, resp := range []string{
		"testing", "testuser 3A569C3950E95C490FD42F5D89E1EF67", " 3a569c3950e95c490fd42f5d89e1ef67",
		"testuser\t3a569c3950e95c490fd42f5d89e1ef67", "\xff 3a569c3950e95c490fd42f5d89e1ef67", "",
		"te\x00tuser 3a569c3950e95c490fd42f5d89e1ef67", strings.Repeat("u", 300) + " 3a569c3950e95c490fd42f5d89e1ef67",
	} {
		f.Add([]byte(rfcChallenge), []byte(resp))
	}
	f.Add([]byte{}, []byte("tim b913a602c7eda7a495b4e6e7334d3890"))
	f.Fuzz(func(t *testing.T, challenge, resp []byte) {
		in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Challenge: challenge, Response: resp}}}
		res, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse, mech.ErrNoInitialResponse}, string(resp))
			if len(challenge) == 0 && !errors.Is(err, mech.ErrNoInitialResponse) {
				t.Fatalf("no challenge: %v, want ErrNoInitialResponse", err)
			}
			return
		}
		c := res.Creds
		if c == nil || len(challenge) == 0 {
			t.Fatalf("credentials %v for challenge %q", c, challenge)
		}
		if want := string(resp[:len(resp)-33]); c.Authcid() != want {
			t.Fatalf("authcid %q, want %q", c.Authcid(), want)
		}
		// The credentials verify against the password "secret" exactly when
		// the digest is the one "secret" gives: an oracle for the HMAC.
		digest := string(resp[len(resp)-32:])
		err = c.Verify(creds.ClearIdentity{Name: c.Authcid(), Password: "secret"})
		if good := digest == cramDigestHex("secret", string(challenge)); good != (err == nil) {
			t.Fatalf("Verify(secret) = %v, digest matches %v", err, good)
		}
		// An empty password never matches, though anyone can compute its
		// HMAC.
		for _, id := range []creds.Identity{
			creds.ClearIdentity{Name: c.Authcid()},
			creds.ClearIdentity{Name: c.Authcid(), NoPrep: true},
			nil,
		} {
			if err := c.Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
				t.Fatalf("Verify(%#v) = %v, want ErrBadCredentials", id, err)
			}
		}
	})
}

func FuzzXOAuth2Server(f *testing.F) {
	for _, s := range []string{
		"user=testuser\x01auth=Bearer testtoken\x01\x01", "user=testuser\x01auth=Bearer good\x01\x01",
		"user=u\x01auth=bEARER t\x01\x01", "abcdefghi", "user=u\x01auth=Bearer t\x01",
		"auth=Bearer t\x01\x01", "user=u\x01\x01", "user=u\x01auth=Bearer \x01\x01",
		"user=u\x01auth=Basic dTpw\x01\x01", "user=u\x01auth=Bearer a b\x01\x01",
		"user=u\x01user=v\x01auth=Bearer t\x01\x01", "user=u\x01a-b=c\x01auth=Bearer t\x01\x01", "",
		"user=\xff\x01auth=Bearer t\x01\x01", "host=x\x01user=u\x01auth=Bearer t\x01\x01",
	} {
		f.Add([]byte(s), false, []byte{})
		f.Add([]byte(s), true, []byte{})
		f.Add([]byte(s), true, []byte("x"))
	}
	validator := mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
		if r.User == "testuser" && r.Token == "good" {
			return nil
		}
		return mech.ErrAuthFailed
	})
	f.Fuzz(func(t *testing.T, resp []byte, validate bool, reply []byte) {
		m := mech.XOAuth2{Scope: "s"}
		if validate {
			m.Validator = validator
		}
		in := serverInput(resp, true)
		res, err := m.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(resp))
			return
		}
		if c := res.Creds; c != nil {
			if c.HasAuthzid() {
				t.Fatalf("authzid %q", c.Authzid())
			}
			if !bytes.Contains(resp, []byte("user="+c.Authcid()+"\x01")) {
				t.Fatalf("user %q not in %q", c.Authcid(), resp)
			}
			if validate {
				if !c.Verified() || c.Authcid() != "testuser" || !bytes.Contains(resp, []byte(" good\x01")) {
					t.Fatalf("accepted %q for %q", resp, c.Authcid())
				}
				return
			}
			var ee *creds.ExternalError
			if err := c.Verify(creds.ClearIdentity{Name: c.Authcid(), Password: "p"}); !errors.As(err, &ee) {
				t.Fatalf("Verify = %v, want *ExternalError", err)
			}
			if ee.Token == "" || !bytes.Contains(resp, []byte(" "+ee.Token+"\x01")) {
				t.Fatalf("token %q not in %q", ee.Token, resp)
			}
			checkNoLeak(t, ee, ee.Token)
			return
		}
		// Refused: the JSON error, then the client's reply.
		if !validate {
			t.Fatalf("no validator, yet no credentials: %+v", res)
		}
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, State: res.State, Response: reply})
		res2, err := m.ServerAttempt(ctx, in)
		var te *mech.TokenError
		switch {
		case len(reply) != 0:
			checkFailed(t, res2, err, []error{mech.ErrInvalidResponse}, string(resp), string(reply))
		case !errors.As(err, &te) || !errors.Is(err, mech.ErrAuthFailed) || res2.Creds != nil:
			t.Fatalf("after the reply: %v, want a *TokenError", err)
		case te.Status != "401" || te.Scope != "s":
			t.Fatalf("TokenError %+v", te)
		}
	})
}

func FuzzExternalServer(f *testing.F) {
	for _, s := range []string{"testuser", "", "a\x00b", "\xff", strings.Repeat("a", 256), strings.Repeat("a", 255)} {
		f.Add([]byte(s), "CN=user", true)
		f.Add([]byte(s), "", false)
	}
	f.Fuzz(func(t *testing.T, resp []byte, ext string, initial bool) {
		in := serverInput(resp, initial)
		in.Channel.External = ext
		res, err := mech.External{}.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(resp))
			return
		}
		c := res.Creds
		if c == nil {
			t.Fatal("no error and no credentials")
		}
		if c.Authzid() != string(resp) || c.Authcid() != ext {
			t.Fatalf("authcid %q authzid %q; want %q %q", c.Authcid(), c.Authzid(), ext, resp)
		}
		// The transport's identity is verified; without one the caller
		// must establish it.
		if ext != "" {
			if !c.Verified() {
				t.Fatal("transport identity not verified")
			}
			return
		}
		var ee *creds.ExternalError
		if err := c.Verify(creds.ClearIdentity{Name: string(resp), Password: "p"}); c.Verified() || !errors.As(err, &ee) || ee.Token != "" {
			t.Fatalf("Verify = %v, want *ExternalError without token", err)
		}
	})
}

// checkClientFailed checks a client attempt that failed.
func checkClientFailed(t *testing.T, res mech.ClientResult, err error, sentinels []error, inputs ...string) {
	t.Helper()
	if res.Response != nil {
		t.Fatalf("error %v with response %q", err, res.Response)
	}
	checkError(t, err, sentinels, inputs...)
}

func FuzzPlainClient(f *testing.F) {
	for _, c := range []creds.Client{
		{Authcid: "testuser", Password: "testpass", Authzid: "testzid"},
		{Authcid: "tim", Password: "tanstaaftanstaaf"},
		{Authcid: "", Password: "p"}, {Authcid: "u", Password: ""}, {Authcid: "u\x00", Password: "p"},
		{Authcid: "u", Password: "p", Authzid: "z\x00"}, {Authcid: strings.Repeat("u", 256), Password: "p"},
		{Authcid: "ü", Password: "\u00AD"}, {Authcid: "u", Password: "\xff"},
	} {
		f.Add(c.Authcid, c.Password, c.Authzid)
	}
	f.Fuzz(func(t *testing.T, authcid, password, authzid string) {
		c := &creds.Client{Authcid: authcid, Password: password, Authzid: authzid}
		res, err := mech.Plain{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
		if err != nil {
			checkClientFailed(t, res, err, []error{mech.ErrInvalidCredentials}, authcid, password, authzid)
			return
		}
		// The server parses back what the client sent.
		sres, err := mech.Plain{}.ServerAttempt(ctx, serverInput(res.Response, true))
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		if sres.Creds.Authcid() != authcid || sres.Creds.Authzid() != authzid {
			t.Fatalf("round trip: %v", sres.Creds)
		}
		checkPasswordCreds(t, sres.Creds, authcid, password)
	})
}

func FuzzLoginClient(f *testing.F) {
	f.Add("testuser", "testpass", []byte("Username:"), []byte("Password:"))
	f.Add("", "p", []byte("Username:"), []byte("Password:"))
	f.Add("u", "", []byte("Username:"), []byte("Password:"))
	f.Add("u\x00", "p\xff", []byte{}, []byte{})
	f.Add("ünïcode", "pässwörd", []byte("VXNlcm5hbWU6"), []byte("x"))
	f.Fuzz(func(t *testing.T, authcid, password string, ch1, ch2 []byte) {
		c := &creds.Client{Authcid: authcid, Password: password}
		in := &mech.ClientInput{Creds: c, Challenge: ch1}
		r1, err := mech.Login{}.ClientAttempt(ctx, in)
		if err != nil {
			checkClientFailed(t, r1, err, []error{mech.ErrInvalidCredentials}, authcid, password, string(ch1))
			return
		}
		in.Pairs = []mech.Pair{{Challenge: ch1, Response: r1.Response}}
		in.Challenge = ch2
		r2, err := mech.Login{}.ClientAttempt(ctx, in)
		if err != nil {
			checkClientFailed(t, r2, err, []error{mech.ErrInvalidCredentials}, authcid, password, string(ch1), string(ch2))
			return
		}
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: ch2, Response: r2.Response})
		in.Challenge = []byte("more")
		if _, err := (mech.Login{}).ClientAttempt(ctx, in); !errors.Is(err, mech.ErrUnexpectedChallenge) {
			t.Fatalf("third challenge: %v", err)
		}
		sin := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{
			{Challenge: []byte("Username:"), Response: r1.Response},
			{Challenge: []byte("Password:"), Response: r2.Response},
		}}
		sres, err := mech.Login{}.ServerAttempt(ctx, sin)
		if err != nil {
			t.Fatalf("server refused the client's %q, %q: %v", r1.Response, r2.Response, err)
		}
		checkPasswordCreds(t, sres.Creds, authcid, password)
	})
}

func FuzzCRAMMD5Client(f *testing.F) {
	f.Add("tim", "tanstaaftanstaaf", []byte("<1896.697170952@postoffice.reston.mci.net>"))
	f.Add("testuser", "testpass", []byte("<abc123.1234@testhost>"))
	f.Add("u", "", []byte("<x@y>"))
	f.Add("u", "\u00AD", []byte("<x@y>"))
	f.Add("", "p", []byte("<x@y>"))
	f.Add("u", "p", []byte{})
	f.Add("u", "\u0007bad", []byte("<x@y>"))
	f.Add("ü ser", "pässwörd", []byte("<x@y>"))
	f.Fuzz(func(t *testing.T, authcid, password string, challenge []byte) {
		c := &creds.Client{Authcid: authcid, Password: password}
		res, err := mech.CRAMMD5{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Challenge: challenge})
		if err != nil {
			checkClientFailed(t, res, err, []error{mech.ErrInvalidCredentials, mech.ErrInvalidChallenge}, authcid, password, string(challenge))
			if len(challenge) == 0 && !errors.Is(err, mech.ErrInvalidChallenge) {
				t.Fatalf("empty challenge: %v", err)
			}
			return
		}
		in := &mech.ServerInput{Channel: &mech.Channel{}, Pairs: []mech.Pair{{Challenge: challenge, Response: res.Response}}}
		sres, err := mech.CRAMMD5{}.ServerAttempt(ctx, in)
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		checkPasswordCreds(t, sres.Creds, authcid, password)
	})
}

func FuzzXOAuth2Client(f *testing.F) {
	f.Add("testuser", "testtoken", []byte(`{"status":"401","schemes":"bearer mac","scope":"https://mail.google.com/"}`))
	f.Add("u", "", []byte(`{"status":"401"}`))
	f.Add("u", "a b", []byte(`{}`))
	f.Add("u\x01", "t", []byte(`not json`))
	f.Add("", "t", []byte(`{"status":""}`))
	f.Add("ü", "ya29.token", []byte(`{"status":"invalid_token","openid-configuration":"https://x/"}`))
	f.Fuzz(func(t *testing.T, authcid, token string, errChallenge []byte) {
		c := &creds.Client{Authcid: authcid, Token: token}
		res, err := mech.XOAuth2{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
		if err != nil {
			checkClientFailed(t, res, err, []error{mech.ErrInvalidCredentials}, authcid, token)
			return
		}
		sres, err := mech.XOAuth2{}.ServerAttempt(ctx, serverInput(res.Response, true))
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		var ee *creds.ExternalError
		if sres.Creds.Authcid() != authcid || !errors.As(sres.Creds.Verify(nil), &ee) || ee.Token != token {
			t.Fatalf("round trip: %v, %v", sres.Creds, ee)
		}
		// Any error challenge gets the empty reply and a failure.
		in := &mech.ClientInput{Creds: c, Pairs: []mech.Pair{{Initial: true, Response: res.Response}}, Challenge: errChallenge}
		r2, err := mech.XOAuth2{}.ClientAttempt(ctx, in)
		if err != nil || r2.Response == nil || len(r2.Response) != 0 {
			t.Fatalf("reply to the error: %q, %v", r2.Response, err)
		}
		var te *mech.TokenError
		switch {
		case errors.As(r2.Failure, &te):
			if te.Status == "" || !errors.Is(r2.Failure, mech.ErrAuthFailed) {
				t.Fatalf("failure %+v", te)
			}
		case !errors.Is(r2.Failure, mech.ErrInvalidChallenge):
			t.Fatalf("failure %v, want a *TokenError or ErrInvalidChallenge", r2.Failure)
		default:
			checkNoLeak(t, r2.Failure, string(errChallenge))
		}
	})
}

func FuzzExternalClient(f *testing.F) {
	for _, s := range []string{"testuser", "", "a\x00b", "\xff", strings.Repeat("a", 256), "ünïcode"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, authzid string) {
		c := &creds.Client{Authzid: authzid}
		res, err := mech.External{}.ClientAttempt(ctx, &mech.ClientInput{Creds: c, Initial: true})
		if err != nil {
			checkClientFailed(t, res, err, []error{mech.ErrInvalidCredentials}, authzid)
			return
		}
		in := serverInput(res.Response, true)
		in.Channel.External = "CN=x"
		sres, err := mech.External{}.ServerAttempt(ctx, in)
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		if sres.Creds.Authzid() != authzid || sres.Creds.Authcid() != "CN=x" {
			t.Fatalf("round trip: %v", sres.Creds)
		}
	})
}
