package mech_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
	"github.com/saslkit/saslkit/mech"
)

// The fuzz targets check properties of each mechanism, not only that it
// does not panic:
//
//   - an error comes with no principal and wraps the documented sentinel;
//   - an error's text never holds an input of 8 bytes or more, unless that
//     input is part of the fixed text errors are made of;
//   - a server's principal holds what the message said, and the message
//     logs in only to the account whose password it carries: any other
//     store gives creds.ErrBadCredentials, the same error for a wrong
//     password as for an unknown user;
//   - what a client sends, the server parses back to the same fields.

// fixedErrorText holds every text a mechanism error can have: each
// mechanism name with each sentinel and each reason. An input found in it
// is not a leak.
var fixedErrorText = func() string {
	names := []string{"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "EXTERNAL", "ANONYMOUS"}
	sentinels := []error{mech.ErrInvalidResponse, mech.ErrInvalidChallenge, mech.ErrUnexpectedChallenge,
		mech.ErrNoInitialResponse, mech.ErrAuthFailed, mech.ErrInvalidCredentials,
		creds.ErrBadCredentials, creds.ErrMisconfigured}
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
		"bad token length", "token is not printable ASCII", "account store failed",
		"no identity from the transport", "bad trace token",
		"needs an account store (session.Config.Verifier)",
		"needs a token validator (session.Config.Tokens)",
		"the token validator accepted a token without naming its subject",
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

// checkFailed checks an attempt that failed: no principal, the sentinel
// wanted, no input in the text.
func checkFailed(t *testing.T, res mech.ServerResult, err error, sentinels []error, inputs ...string) {
	t.Helper()
	if res.Principal != nil {
		t.Fatalf("error %v with principal %v", err, res.Principal)
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

// storeOf returns a Verifier over a store that holds a, or nil if a store
// refuses a.
func storeOf(a creds.Account) *creds.Verifier {
	store := new(creds.MemoryStore)
	if store.Add(a) != nil {
		return nil
	}
	return &creds.Verifier{Store: store}
}

// checkLogin checks how a server mechanism verifies an exchange it has
// parsed. login runs the exchange with a Verifier. The client named
// authcid and, for PLAIN, authzid; key is the secret the server must hold
// for the exchange to succeed: the password sent, or for CRAM-MD5 the HMAC
// key the client used.
//
// The exchange logs in to authcid, as stored, against a store that holds
// authcid with key in the clear: one of NoPrep (byte for byte) and, when
// the name and key prepare, one stored prepared. It fails with
// creds.ErrBadCredentials, one error for all, against a store with another
// password, no password, an empty prepared password, only another
// account, or none.
func checkLogin(t *testing.T, name string, login func(*creds.Verifier) (mech.ServerResult, error), authcid, authzid, key string) {
	t.Helper()
	var good []*creds.Verifier
	bad := []*creds.Verifier{
		storeOf(creds.Account{Name: authcid, Password: clearPW("not-" + key), NoPrep: true}),
		storeOf(creds.Account{Name: authcid, NoPrep: true}),
		storeOf(creds.Account{Name: "not-" + authcid, Password: clearPW(key), NoPrep: true}),
		storeOf(creds.Account{Name: "not-" + authcid, Password: clearPW("x")}),
		{Store: new(creds.MemoryStore)},
	}
	if key != "" {
		good = append(good, storeOf(creds.Account{Name: authcid, Password: clearPW(key), NoPrep: true}))
	}
	if _, err := prep.Stored(authcid); err == nil {
		switch p, err := prep.Stored(key); {
		case err == nil && p != "":
			good = append(good, storeOf(creds.Account{Name: authcid, Password: clearPW(p)}))
			bad = append(bad, storeOf(creds.Account{Name: authcid, Password: clearPW("not-" + p)}))
		case err == nil && key != "":
			// An empty password never matches, though a client can send
			// one that prepares to nothing.
			bad = append(bad, storeOf(creds.Account{Name: authcid, Password: clearPW(key)}))
		}
	}
	for _, v := range good {
		if v == nil {
			t.Fatalf("a store refused the account %q", authcid)
		}
		res, err := login(v)
		if err != nil {
			t.Fatalf("%s: no login to %q with its own password: %v", name, authcid, err)
		}
		want := []string{name, authcid, authzid}
		got := []string{res.Principal.Mechanism(), res.Principal.Account(), res.Principal.Authzid()}
		if !slices.Equal(want, got) {
			t.Fatalf("principal %q, want %q", got, want)
		}
	}
	var text string
	for _, v := range bad {
		if v == nil {
			continue
		}
		res, err := login(v)
		checkFailed(t, res, err, []error{creds.ErrBadCredentials}, authcid, key)
		var me *mech.Error
		if !errors.As(err, &me) || me.Mechanism != name {
			t.Fatalf("error %v is not a *mech.Error of %s", err, name)
		}
		if text == "" {
			text = err.Error()
		} else if err.Error() != text {
			t.Fatalf("two errors for bad credentials: %q and %q", text, err)
		}
	}
}

// serverInput builds the input of a single-response server attempt.
func serverInput(resp []byte, initial bool, v *creds.Verifier) *mech.ServerInput {
	in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v}
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
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			return mech.Plain{}.ServerAttempt(ctx, serverInput(resp, initial, v))
		}
		// Against an empty store, a message fails to parse or fails to
		// log in.
		res, err := login(&creds.Verifier{Store: new(creds.MemoryStore)})
		if !errors.Is(err, creds.ErrBadCredentials) {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(resp))
			return
		}
		// Without a store, a message that parses is a misconfiguration.
		if res, err := login(nil); !errors.Is(err, creds.ErrMisconfigured) || res.Principal != nil {
			t.Fatalf("no Verifier: %v, %v", res.Principal, err)
		}
		// The fields are the message's, byte for byte.
		parts := bytes.Split(resp, []byte{0})
		if len(parts) != 3 {
			t.Fatalf("accepted a message with %d fields", len(parts))
		}
		checkLogin(t, "PLAIN", login, string(parts[1]), string(parts[0]), string(parts[2]))
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
		if res.Principal != nil || string(res.Challenge) != "Password:" {
			t.Fatalf("after the user name: %+v", res)
		}
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{first, {Challenge: res.Challenge, Response: pass}}}
			return mech.Login{}.ServerAttempt(ctx, in)
		}
		res, err = login(&creds.Verifier{Store: new(creds.MemoryStore)})
		if !errors.Is(err, creds.ErrBadCredentials) {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(user), string(pass))
			return
		}
		checkLogin(t, "LOGIN", login, string(user), "", string(pass))
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
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{{Challenge: challenge, Response: resp}}}
			return mech.CRAMMD5{}.ServerAttempt(ctx, in)
		}
		res, err := login(&creds.Verifier{Store: new(creds.MemoryStore)})
		if !errors.Is(err, creds.ErrBadCredentials) {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse, mech.ErrNoInitialResponse}, string(resp))
			if len(challenge) == 0 && !errors.Is(err, mech.ErrNoInitialResponse) {
				t.Fatalf("no challenge: %v, want ErrNoInitialResponse", err)
			}
			return
		}
		if len(challenge) == 0 {
			t.Fatalf("verified a response to no challenge: %v", err)
		}
		user := string(resp[:len(resp)-33])
		digest := string(resp[len(resp)-32:])
		// The response logs in to an account whose password is "secret"
		// exactly when the digest is the one "secret" gives: an oracle
		// for the HMAC.
		for _, acct := range []creds.Account{
			{Name: user, Password: clearPW("secret"), NoPrep: true},
			{Name: user, Password: clearPW("secret")},
		} {
			v := storeOf(acct)
			if v == nil {
				continue
			}
			res, err := login(v)
			if good := digest == cramDigestHex("secret", string(challenge)); good != (err == nil) {
				t.Fatalf("login to %+v = %v, %v; digest matches %v", acct, res.Principal, err, good)
			}
			if err != nil {
				checkBadCredentials(t, "CRAM-MD5", res, err)
				continue
			}
			if res.Principal.Account() != user || res.Principal.Authzid() != "" {
				t.Fatalf("principal %v, want account %q", res.Principal, user)
			}
		}
		// An account without a password never logs in, though anyone
		// can compute the HMAC of an empty key.
		for _, acct := range []creds.Account{
			{Name: user, NoPrep: true},
			{Name: user, Password: clearPW(""), NoPrep: true},
			{Name: user},
			{Name: user, Password: clearPW("\u00AD")},
		} {
			if v := storeOf(acct); v != nil {
				res, err := login(v)
				checkBadCredentials(t, "CRAM-MD5", res, err)
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
			r.Subject = "testuser"
			return nil
		}
		return mech.ErrAuthFailed
	})
	f.Fuzz(func(t *testing.T, resp []byte, validate bool, reply []byte) {
		m := mech.XOAuth2{Scope: "s"}
		// Without a validator, nothing logs in.
		if res, err := m.ServerAttempt(ctx, serverInput(resp, true, nil)); err == nil || res.Principal != nil {
			t.Fatalf("no validator: %v, %v", res.Principal, err)
		} else {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse, creds.ErrMisconfigured}, string(resp))
		}
		// With validate, only testuser's "good" token is valid; otherwise
		// every token is, as issued to the user the client names.
		var seen *mech.TokenRequest
		in := serverInput(resp, true, nil)
		in.Tokens = validator
		if !validate {
			in.Tokens = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
				c := *r
				seen = &c
				r.Subject = r.User
				return nil
			})
		}
		res, err := m.ServerAttempt(ctx, in)
		if err != nil {
			checkFailed(t, res, err, []error{mech.ErrInvalidResponse}, string(resp))
			return
		}
		if p := res.Principal; p != nil {
			if p.Mechanism() != "XOAUTH2" || p.Authzid() != "" {
				t.Fatalf("principal %v", p)
			}
			if !bytes.Contains(resp, []byte("user="+p.Account()+"\x01")) {
				t.Fatalf("user %q not in %q", p.Account(), resp)
			}
			if validate {
				if p.Account() != "testuser" || !bytes.Contains(resp, []byte(" good\x01")) {
					t.Fatalf("accepted %q for %q", resp, p.Account())
				}
				return
			}
			if seen == nil || seen.Token == "" || !bytes.Contains(resp, []byte(" "+seen.Token+"\x01")) || seen.User != p.Account() {
				t.Fatalf("token request %+v from %q", seen, resp)
			}
			return
		}
		// Refused: the JSON error, then the client's reply.
		if !validate {
			t.Fatalf("a validator that accepts all, yet no principal: %+v", res)
		}
		in.Pairs = append(in.Pairs, mech.Pair{Challenge: res.Challenge, State: res.State, Response: reply})
		res2, err := m.ServerAttempt(ctx, in)
		var te *mech.TokenError
		switch {
		case len(reply) != 0:
			checkFailed(t, res2, err, []error{mech.ErrInvalidResponse}, string(resp), string(reply))
		case !errors.As(err, &te) || !errors.Is(err, mech.ErrAuthFailed) || res2.Principal != nil:
			t.Fatalf("after the reply: %v, want a *TokenError", err)
		case te.Status != "401" || te.Scope != "s":
			t.Fatalf("TokenError %+v", te)
		default:
			checkNoLeak(t, err, string(resp))
		}
	})
}

func FuzzExternalServer(f *testing.F) {
	for _, s := range []string{"testuser", "", "a\x00b", "\xff", strings.Repeat("a", 256), strings.Repeat("a", 255)} {
		f.Add([]byte(s), "CN=user", true)
		f.Add([]byte(s), "", false)
	}
	f.Fuzz(func(t *testing.T, resp []byte, ext string, initial bool) {
		in := serverInput(resp, initial, nil)
		in.Channel.External = ext
		res, err := mech.External{}.ServerAttempt(ctx, in)
		if err != nil {
			// Without the transport's identity, a well-formed authzid
			// fails authentication.
			sentinels := []error{mech.ErrInvalidResponse}
			if ext == "" {
				sentinels = append(sentinels, mech.ErrAuthFailed)
			}
			checkFailed(t, res, err, sentinels, string(resp))
			return
		}
		p := res.Principal
		if p == nil {
			t.Fatal("no error and no principal")
		}
		// The account is the transport's identity, the authzid the
		// message.
		if ext == "" || p.Account() != ext || p.Authzid() != string(resp) || p.Mechanism() != "EXTERNAL" {
			t.Fatalf("account %q authzid %q; want %q %q", p.Account(), p.Authzid(), ext, resp)
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
		// The server parses back what the client sent, and verifies it.
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			return mech.Plain{}.ServerAttempt(ctx, serverInput(res.Response, true, v))
		}
		if sres, err := login(&creds.Verifier{Store: new(creds.MemoryStore)}); !errors.Is(err, creds.ErrBadCredentials) {
			t.Fatalf("server refused the client's %q: %v, %v", res.Response, sres.Principal, err)
		}
		checkLogin(t, "PLAIN", login, authcid, authzid, password)
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
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			sin := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{
				{Challenge: []byte("Username:"), Response: r1.Response},
				{Challenge: []byte("Password:"), Response: r2.Response},
			}}
			return mech.Login{}.ServerAttempt(ctx, sin)
		}
		if sres, err := login(&creds.Verifier{Store: new(creds.MemoryStore)}); !errors.Is(err, creds.ErrBadCredentials) {
			t.Fatalf("server refused the client's %q, %q: %v, %v", r1.Response, r2.Response, sres.Principal, err)
		}
		checkLogin(t, "LOGIN", login, authcid, "", password)
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
		login := func(v *creds.Verifier) (mech.ServerResult, error) {
			in := &mech.ServerInput{Channel: &mech.Channel{}, Verifier: v, Pairs: []mech.Pair{{Challenge: challenge, Response: res.Response}}}
			return mech.CRAMMD5{}.ServerAttempt(ctx, in)
		}
		if sres, err := login(&creds.Verifier{Store: new(creds.MemoryStore)}); !errors.Is(err, creds.ErrBadCredentials) {
			t.Fatalf("server refused the client's %q: %v, %v", res.Response, sres.Principal, err)
		}
		// The client keyed the HMAC with the prepared password.
		key, err := prep.Query(password)
		if err != nil {
			t.Fatalf("client sent a password that fails SASLprep: %v", err)
		}
		checkLogin(t, "CRAM-MD5", login, authcid, "", key)
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
		var seen string
		sin := serverInput(res.Response, true, nil)
		sin.Tokens = mech.TokenValidatorFunc(func(_ context.Context, r *mech.TokenRequest) error {
			seen = r.Token
			r.Subject = r.User
			return nil
		})
		sres, err := mech.XOAuth2{}.ServerAttempt(ctx, sin)
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		if sres.Principal.Account() != authcid || sres.Principal.Authzid() != "" || seen != token {
			t.Fatalf("round trip: %v, token %q", sres.Principal, seen)
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
		in := serverInput(res.Response, true, nil)
		in.Channel.External = "CN=x"
		sres, err := mech.External{}.ServerAttempt(ctx, in)
		if err != nil {
			t.Fatalf("server refused the client's %q: %v", res.Response, err)
		}
		if sres.Principal.Authzid() != authzid || sres.Principal.Account() != "CN=x" {
			t.Fatalf("round trip: %v", sres.Principal)
		}
	})
}
