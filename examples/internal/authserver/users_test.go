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
	k, err := creds.DeriveSCRAMKeys(h.Name(), "pencil", nil, iterations, false)
	if err != nil {
		t.Fatal(err)
	}
	return k.Dovecot()
}

// TestParseUsers loads a passwd-file with every scheme, made here with
// creds/hash and creds.DeriveSCRAMKeys, and checks what each user can do
// through a Verifier over the store.
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
	v := &creds.Verifier{Store: u}
	accts := u.Accounts()
	if len(accts) != len(tests)+1 || u.Len() != len(tests)+1 {
		t.Fatalf("%d accounts, %d in the store; want %d", len(accts), u.Len(), len(tests)+1)
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if accts[i] != (Account{Name: tc.name, Scheme: tc.scheme}) {
				t.Errorf("account %+v; want %s %s", accts[i], tc.name, tc.scheme)
			}
			id, err := u.Lookup(ctx, tc.name)
			if err != nil || id.AccountName() != tc.name {
				t.Fatalf("Lookup = %v, %v", id, err)
			}
			// PLAIN and LOGIN check against every scheme.
			if got, err := v.CheckPassword(ctx, tc.name, "pencil"); err != nil || got != tc.name {
				t.Errorf("right password: %q, %v", got, err)
			}
			if _, err := v.CheckPassword(ctx, tc.name, "pencil2"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("wrong password: %v", err)
			}
			_, clear := id.(creds.ClearSecretHolder).ClearSecret()
			if clear != tc.clear {
				t.Errorf("clear secret: %v", clear)
			}
			for _, h := range scram.Hashes {
				_, got := id.(creds.SCRAMKeyHolder).SCRAMKeys(h.Name())
				want := false
				for _, w := range tc.scram {
					want = want || w.Name() == h.Name()
				}
				if got != want {
					t.Errorf("%s keys: %v, want %v", h.Name(), got, want)
				}
			}
		})
	}
	if _, err := v.CheckPassword(ctx, "certonly", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("a user without a password logs in: %v", err)
	}
	// An unknown user is refused like a wrong password, after a check
	// against a decoy that costs what the store's hashes cost.
	if _, err := v.CheckPassword(ctx, "nobody", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	p := u.Profile()
	if p.PasswordDecoy == nil || !p.ClearSecrets {
		t.Errorf("profile %+v: want a password decoy and clear secrets", p)
	}
	// The mock keys of unknown users take the iteration count most users
	// have: 4096 for SHA-512, though scram512 has 5000.
	for _, s := range p.SCRAM {
		if s.Iterations != SCRAMIterations {
			t.Errorf("SCRAM-%s mock iterations %d; want the %d most users have", s.Hash, s.Iterations, SCRAMIterations)
		}
	}
	if len(p.SCRAM) != len(scram.Hashes) {
		t.Errorf("profile has %d SCRAM shapes, want %d", len(p.SCRAM), len(scram.Hashes))
	}
}

// TestProfileOnlySCRAM: a store of stored SCRAM keys gives unknown users
// mock keys of their iteration count, and a password decoy that costs
// their PBKDF2.
func TestProfileOnlySCRAM(t *testing.T) {
	u, err := ParseUsers(strings.NewReader("a:"+scramLine(t, scram.SHA256, 5000)+"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	p := u.Profile()
	if p.PasswordDecoy == nil {
		t.Error("no password decoy for stored-key users")
	}
	if len(p.SCRAM) != 1 || p.SCRAM[0].Hash != "SHA-256" || p.SCRAM[0].Iterations != 5000 || p.SCRAM[0].SaltLen != 16 {
		t.Errorf("SCRAM shapes %+v; want SHA-256, 16-octet salt, 5000 iterations", p.SCRAM)
	}
	l, err := (&creds.Verifier{Store: u}).LookupSCRAM(context.Background(), "nobody", "SHA-256")
	if err != nil {
		t.Fatal(err)
	}
	if l.Keys.Iterations != 5000 || len(l.Keys.Salt) != 16 {
		t.Errorf("unknown user's keys: %d iterations, %d-octet salt; want 5000 and 16", l.Keys.Iterations, len(l.Keys.Salt))
	}
	if _, err := l.Account(); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("unknown user's lookup names an account: %v", err)
	}
}

func TestParseUsersErrors(t *testing.T) {
	few := strings.Replace(scramLine(t, scram.SHA256, 4096), "}4096,", "}4000,", 1)
	fewSalt := strings.Split(few, ",")[1]
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
		{"scram below 4096", "user:" + few, fewSalt},
		{"malformed bcrypt", "user:{BLF-CRYPT}$2y$99$xyz", "$2y$99$xyz"},
		{"prohibited plain", "user:{PLAIN}pen\u0007cil", "pen\u0007cil"},
		{"scram plus", "user:{SCRAM-SHA-256-PLUS}4096,c2FsdA==,AAAA,AAAA", "c2FsdA=="},
		{"scheme holding a secret", "user:{SCRAM-hunter2}4096,c2FsdA==,AAAA,AAAA", "hunter2"},
		{"prohibited name", "us\u0007er:{PLAIN}pencil", "pencil"},
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
			if len(tc.line) > len("user") && strings.Contains(err.Error(), tc.line) {
				t.Errorf("error %q quotes the line", err)
			}
		})
	}
}

// TestParseUsersCollisions: two lines for one account, by the same name or
// by names that SASLprep makes the same, refuse to load, naming the line
// and never a password.
func TestParseUsersCollisions(t *testing.T) {
	tests := []struct {
		name, second string
	}{
		{"repeated", "alice:{PLAIN}secret-two"},
		{"fullwidth", "\uff41\uff4c\uff49\uff43\uff45:{PLAIN}secret-two"}, // ａｌｉｃｅ
		{"soft hyphen", "al\u00adice:{PLAIN}secret-two"},                  // mapped to nothing
		{"stored keys", "alice:" + scramLine(t, scram.SHA256, 4096)},
		{"no password", "alice:::::::nopassword=y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := "# users\nalice:{PLAIN}secret-one\nbob:{PLAIN}pencil\n" + tc.second + "\n"
			_, err := ParseUsers(strings.NewReader(file), []scram.Hash{scram.SHA256})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, "line 4") || !strings.Contains(msg, "line 2") {
				t.Errorf("error %q does not name lines 4 and 2", msg)
			}
			for _, secret := range []string{"secret-one", "secret-two", "pencil", tc.second} {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q quotes a secret or the line", msg)
				}
			}
		})
	}
	// Names that differ after SASLprep are two accounts.
	u, err := ParseUsers(strings.NewReader("alice:{PLAIN}a\nalicia:{PLAIN}b\nAlice:{PLAIN}c\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != 3 {
		t.Errorf("%d accounts; want 3", u.Len())
	}
}

// TestSpellings: a client may spell a name in any form that SASLprep
// maps to the account's, and logs in to the account by its canonical name.
func TestSpellings(t *testing.T) {
	u, err := ParseUsers(strings.NewReader("alice:{PLAIN}pencil\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&creds.Verifier{Store: u}).CheckPassword(context.Background(), "\uff41\uff4c\uff49\uff43\uff45", "pencil")
	if err != nil || got != "alice" {
		t.Errorf("CheckPassword(ａｌｉｃｅ) = %q, %v; want alice", got, err)
	}
	// A clear password is prepared too: "pa\u200Bssword" (a zero-width
	// space, which SASLprep drops) is "password", for PLAIN as for
	// CRAM-MD5.
	u, err = ParseUsers(strings.NewReader("bob:{PLAIN}pa\u200bssword\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	v := &creds.Verifier{Store: u}
	for _, pw := range []string{"password", "pass\u00adword", "pa\u200bssword"} {
		if got, err := v.CheckPassword(context.Background(), "bob", pw); err != nil || got != "bob" {
			t.Errorf("CheckPassword(bob, %+q) = %q, %v", pw, got, err)
		}
	}
	if _, err := v.CheckClear(context.Background(), "bob", func(s string) bool { return s == "password" }); err != nil {
		t.Errorf("CRAM-MD5's clear secret is not the prepared password: %v", err)
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
		{&mech.Error{Mechanism: "PLAIN", Err: creds.ErrBadCredentials}, AuthFailed},
		{&mech.FailureError{Data: []byte("e=invalid-proof"), Err: &mech.Error{Mechanism: "SCRAM-SHA-256", Err: creds.ErrBadCredentials}}, AuthFailed},
		{mech.ErrAuthFailed, AuthFailed},
		{&mech.Error{Mechanism: "EXTERNAL", Err: mech.ErrAuthFailed}, AuthFailed},
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
		{&mech.Error{Mechanism: "OAUTHBEARER", Reason: "no subject", Err: creds.ErrMisconfigured}, Temporary},
		{creds.ErrMisconfigured, Temporary},
		{errors.New("database down"), Temporary},
		{context.DeadlineExceeded, Temporary},
	}
	for _, tc := range tests {
		if got := Classify(tc.err); got != tc.want {
			t.Errorf("Classify(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}
