package authserver

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

func mustHash(t *testing.T, h hash.Hasher) string {
	t.Helper()
	s, err := h.Hash("pencil")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scramLine(t *testing.T, h scram.Hash, iterations int) string {
	t.Helper()
	k, err := scram.Derive(h, "pencil", nil, iterations, false)
	if err != nil {
		t.Fatal(err)
	}
	return k.Format(h)
}

// TestParseUsers loads a passwd-file with every scheme, made here with
// creds/hash and scram.Derive, and checks what each user can do.
func TestParseUsers(t *testing.T) {
	ctx := context.Background()
	bcrypt := mustHash(t, hash.Bcrypt{Cost: 4})
	argon := mustHash(t, hash.Argon2id{Time: 1, Memory: 64, Threads: 1})
	pbkdf2 := mustHash(t, hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	pbkdf2sha1 := mustHash(t, hash.PBKDF2{Digest: "sha1", Rounds: 1000})
	tests := []struct {
		name, line string
		scheme     string
		clear      bool         // CRAM-MD5 can use it
		scram      []scram.Hash // SCRAM keys it has
	}{
		{"plain", "{PLAIN}pencil", "PLAIN", true, scram.Hashes},
		{"plainlower", "{plain}pencil:1000:1000::/home/x::", "PLAIN", true, scram.Hashes},
		{"cleartext", "{CLEARTEXT}pencil", "PLAIN", true, scram.Hashes},
		{"scram1", scramLine(t, scram.SHA1, 4096), "SCRAM-SHA-1", false, []scram.Hash{scram.SHA1}},
		{"scram256", scramLine(t, scram.SHA256, 4096) + ":::::::extra=y", "SCRAM-SHA-256", false, []scram.Hash{scram.SHA256}},
		{"scram512", scramLine(t, scram.SHA512, 5000), "SCRAM-SHA-512", false, []scram.Hash{scram.SHA512}},
		{"blf", "{BLF-CRYPT}" + bcrypt, "BLF-CRYPT", false, nil},
		{"bcrypt", "{BCRYPT}" + bcrypt, "BCRYPT", false, nil},
		{"barebcrypt", bcrypt, "BCRYPT", false, nil},
		{"argon", "{ARGON2ID}" + argon, "ARGON2ID", false, nil},
		{"bareargon", argon, "ARGON2ID", false, nil},
		{"pbkdf2", "{PBKDF2}" + pbkdf2, "PBKDF2", false, nil},
		{"pysasl", pbkdf2, "PBKDF2-SHA256", false, nil},
		{"pysasl1", pbkdf2sha1, "PBKDF2-SHA1", false, nil},
	}
	var file strings.Builder
	file.WriteString("# a comment\n\n")
	for _, tc := range tests {
		file.WriteString(tc.name + ":" + tc.line + "\r\n")
	}
	file.WriteString("certonly:::::::nopassword=y\n")
	u, err := ParseUsers(strings.NewReader(file.String()), scram.Hashes)
	if err != nil {
		t.Fatal(err)
	}
	accts := u.Accounts()
	if len(accts) != len(tests)+1 {
		t.Fatalf("%d accounts; want %d", len(accts), len(tests)+1)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if accts[i] != (Account{Name: tc.name, Scheme: tc.scheme}) {
				t.Errorf("account %+v; want %s %s", accts[i], tc.name, tc.scheme)
			}
			id, err := u.Identity(ctx, tc.name)
			if err != nil || id == nil || id.Authcid() != tc.name {
				t.Fatalf("Identity = %v, %v", id, err)
			}
			// PLAIN and LOGIN verify against every scheme.
			if err := creds.NewPasswordServer("PLAIN", tc.name, "", "pencil").Verify(id); err != nil {
				t.Errorf("right password: %v", err)
			}
			if err := creds.NewPasswordServer("PLAIN", tc.name, "", "pencil2").Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("wrong password: %v", err)
			}
			if _, ok := id.Secret(); ok != tc.clear {
				t.Errorf("clear secret: %v", ok)
			}
			for _, h := range scram.Hashes {
				_, err := u.Keys(ctx, h, tc.name)
				want := false
				for _, w := range tc.scram {
					want = want || w.Name() == h.Name()
				}
				if (err == nil) != want {
					t.Errorf("%s keys: %v", h.Name(), err)
				}
			}
		})
	}
	if id, _ := u.Identity(ctx, "certonly"); id != nil && id.Authcid() == "certonly" {
		t.Error("a user without a password has an identity")
	}
	// An unknown user gets a decoy that costs what a hash costs, and
	// matches nothing.
	id, err := u.Identity(ctx, "nobody")
	if err != nil || id == nil {
		t.Fatalf("unknown user: %v, %v", id, err)
	}
	if err := creds.NewPasswordServer("PLAIN", "nobody", "", "pencil").Verify(id); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	if got := u.MockIterations(scram.SHA512); got != 4096 {
		t.Errorf("SHA-512 mock iterations %d; want the 4096 most users have", got)
	}
}

func TestDecoyOnlySCRAM(t *testing.T) {
	u, err := ParseUsers(strings.NewReader("a:"+scramLine(t, scram.SHA256, 5000)+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := u.Identity(context.Background(), "nobody")
	if id == nil {
		t.Fatal("no decoy for stored-key users")
	}
	if got := u.MockIterations(scram.SHA256); got != 5000 {
		t.Errorf("mock iterations %d; want 5000", got)
	}
}

func TestParseUsersErrors(t *testing.T) {
	tests := []struct {
		name, line string
		secret     string // must not appear in the error
	}{
		{"no colon", "user", ""},
		{"no name", ":{PLAIN}pencil", "pencil"},
		{"unknown scheme", "user:{MD5-CRYPT}$1$abc$def", "$1$abc$def"},
		{"crypt", "user:abcdefgh", "abcdefgh"},
		{"unterminated", "user:{PLAIN", ""},
		{"empty plain", "user:{PLAIN}", ""},
		{"malformed scram", "user:{SCRAM-SHA-256}4096,c2FsdA==,AAAA,AAAA", "c2FsdA=="},
		{"malformed bcrypt", "user:{BLF-CRYPT}$2y$99$xyz", "$2y$99$xyz"},
		{"prohibited plain", "user:{PLAIN}pen\u0007cil", "pen\u0007cil"},
		{"scram plus", "user:{SCRAM-SHA-256-PLUS}4096,c2FsdA==,AAAA,AAAA", "c2FsdA=="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseUsers(strings.NewReader("# first\n"+tc.line+"\n"), scram.Hashes)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), "line 2") {
				t.Errorf("error %q does not name line 2", err)
			}
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("error %q quotes the password", err)
			}
		})
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	tok, err := ParseTokens(strings.NewReader("# tokens\nuser:tok123\nbob:tokbob\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, token, subject string
		ok                   bool
	}{
		{"user", "tok123", "user", true},
		{"bob", "tokbob", "bob", true},
		{"user", "tokbob", "", false},
		{"user", "tok12", "", false},
		{"nobody", "tok123", "", false},
		{"", "tokbob", "bob", true}, // OAUTHBEARER without a=
		{"", "nope", "", false},
		{"", "", "", false},
	}
	for _, tc := range tests {
		r := &mech.TokenRequest{Mechanism: "OAUTHBEARER", User: tc.user, Token: tc.token}
		err := tok.ValidateToken(ctx, r)
		if (err == nil) != tc.ok || r.Subject != tc.subject {
			t.Errorf("%q/%q: %v, subject %q", tc.user, tc.token, err, r.Subject)
		}
		if err != nil && !errors.Is(err, mech.ErrAuthFailed) {
			t.Errorf("%q/%q: %v does not wrap ErrAuthFailed", tc.user, tc.token, err)
		}
	}
	for name, file := range map[string]string{
		"no colon":  "user\n",
		"no token":  "user:\n",
		"duplicate": "user:a\nuser:b\n",
		"too long":  "user:" + strings.Repeat("x", mech.MaxToken+1) + "\n",
	} {
		if _, err := ParseTokens(strings.NewReader(file)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want Outcome
	}{
		{nil, OK},
		{creds.ErrBadCredentials, AuthFailed},
		{creds.ErrUnusable, AuthFailed},
		{&creds.ExternalError{}, AuthFailed},
		{&mech.TokenError{Status: "401"}, AuthFailed},
		{&mech.Error{Mechanism: "PLAIN", Err: mech.ErrInvalidResponse}, AuthFailed},
		{&session.LimitError{Err: session.ErrTooManySteps, Limit: 8}, AuthFailed},
		{session.ErrUnexpectedReply, AuthFailed},
		{creds.ErrUnauthorized, Unauthorized},
		{registry.ErrEncryptionRequired, EncryptionRequired},
		{registry.ErrUnknown, UnknownMechanism},
		{registry.ErrNotOffered, UnknownMechanism},
		{errCancelled, Cancelled},
		{session.ErrBase64, Syntax},
		{&mech.Error{Mechanism: "CRAM-MD5", Err: mech.ErrNoInitialResponse}, Syntax},
		{&session.LimitError{Err: session.ErrTooLarge, Limit: 1}, TooLarge},
		{errors.New("database down"), Temporary},
		{context.DeadlineExceeded, Temporary},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}
