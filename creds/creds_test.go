package creds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

var ctx = context.Background()

// Cheap hashers, so that tests stay fast. Real deployments use
// hash.Default (Argon2id with 64 MiB).
var (
	testPBKDF2   = hash.PBKDF2{Digest: "sha256", Rounds: 1000}
	testBcrypt   = hash.Bcrypt{Cost: 4}
	testArgon2id = hash.Argon2id{Time: 1, Memory: 64, Threads: 1}
	testScrypt   = hash.Scrypt{N: 16, R: 1, P: 1, KeyLen: 32, SaltLen: 16}
)

// mustHash returns creds.HashPassword(password, h).
func mustHash(t testing.TB, password string, h hash.Hasher) string {
	t.Helper()
	enc, err := creds.HashPassword(password, h)
	if err != nil {
		t.Fatalf("HashPassword(%q): %v", password, err)
	}
	return enc
}

// mustRawHash hashes password as it is, without SASLprep, for NoPrep
// accounts.
func mustRawHash(t testing.TB, password string, h hash.Hasher) string {
	t.Helper()
	enc, err := h.Hash(password)
	if err != nil {
		t.Fatalf("Hash(%q): %v", password, err)
	}
	return enc
}

// mustKeys returns creds.DeriveSCRAMKeys with a fixed salt.
func mustKeys(t testing.TB, hashName, password string, saltLen, iterations int, noprep bool) creds.SCRAMKeys {
	t.Helper()
	salt := []byte(strings.Repeat("s", saltLen))
	k, err := creds.DeriveSCRAMKeys(hashName, password, salt, iterations, noprep)
	if err != nil {
		t.Fatalf("DeriveSCRAMKeys(%s, %q): %v", hashName, password, err)
	}
	return k
}

// wantErr fails the test unless err matches want: nil for nil, errors.Is
// otherwise.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s = %v, want nil", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s = %v, want an error wrapping %v", what, err, want)
	}
}

// TestAccountCheckPassword checks every encoding of Account.Password, and
// SCRAM-keys-only accounts, with SASLprep on and off.
func TestAccountCheckPassword(t *testing.T) {
	type offer struct {
		password string
		want     error
	}
	// Offers for an account whose password is "pass\u00ADword" prepared:
	// "password".
	prepared := []offer{
		{"password", nil},
		{"pass\u00ADword", nil}, // soft hyphen, mapped to nothing
		{"pass\u200Bword", nil}, // zero-width space, mapped to nothing
		{"ｐａｓｓｗｏｒｄ", nil},       // fullwidth, NFKC
		{"passwort", creds.ErrBadCredentials},
		{"Password", creds.ErrBadCredentials},
		{"pass\u0007word", creds.ErrBadCredentials}, // prohibited
		{"pass\xffword", creds.ErrBadCredentials},   // invalid UTF-8
		{"", creds.ErrBadCredentials},
		{"\u00AD", creds.ErrBadCredentials}, // prepares to empty
	}
	// Offers for a NoPrep account whose password is "pass\u00ADword"
	// byte for byte.
	raw := []offer{
		{"pass\u00ADword", nil},
		{"password", creds.ErrBadCredentials},
		{"pass\u200Bword", creds.ErrBadCredentials},
		{"", creds.ErrBadCredentials},
	}
	tests := []struct {
		name   string
		a      creds.Account
		offers []offer
	}{
		{"clear", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", hash.Cleartext{})}, prepared},
		{"clear CLEARTEXT", creds.Account{Name: "u", Password: "{CLEARTEXT}password"}, prepared},
		{"PBKDF2", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", testPBKDF2)}, prepared},
		{"PBKDF2-SHA-512", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", hash.PBKDF2{Digest: "sha512", Rounds: 1000})}, prepared},
		{"PBKDF2-SHA-1", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", hash.PBKDF2{Digest: "sha1", Rounds: 1000})}, prepared},
		{"bcrypt", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", testBcrypt)}, prepared},
		{"Argon2id", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", testArgon2id)}, prepared},
		{"scrypt", creds.Account{Name: "u", Password: mustHash(t, "pass\u00ADword", testScrypt)}, prepared},
		{"Dovecot prefix", creds.Account{Name: "u", Password: "{ARGON2ID}" + mustHash(t, "pass\u00ADword", testArgon2id)}, prepared},
		{"SCRAM-SHA-256 keys only", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pass\u00ADword", 16, 4096, false)}}, prepared},
		{"SCRAM-SHA-1 keys only", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-1", "pass\u00ADword", 16, 4096, false)}}, prepared},
		{"noprep clear", creds.Account{Name: "u", Password: "{PLAIN}pass\u00ADword", NoPrep: true}, raw},
		{"noprep PBKDF2", creds.Account{Name: "u", Password: mustRawHash(t, "pass\u00ADword", testPBKDF2), NoPrep: true}, raw},
		{"noprep SCRAM keys only", creds.Account{Name: "u", NoPrep: true, SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pass\u00ADword", 16, 4096, true)}}, raw},
		{"no secret", creds.Account{Name: "u"}, []offer{{"password", creds.ErrBadCredentials}, {"", creds.ErrBadCredentials}}},
		{"malformed hash", creds.Account{Name: "u", Password: "$pbkdf2-sha256$garbage"}, []offer{{"password", creds.ErrBadCredentials}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, o := range tc.offers {
				wantErr(t, fmt.Sprintf("CheckPassword(%q)", o.password), tc.a.CheckPassword(o.password), o.want)
			}
		})
	}
}

// TestAccountPasswordFirst: an account with both a Password and SCRAM
// keys checks the Password.
func TestAccountPasswordFirst(t *testing.T) {
	a := creds.Account{Name: "u", Password: mustHash(t, "pencil", testPBKDF2),
		SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "other", 16, 4096, false)}}
	wantErr(t, "CheckPassword(pencil)", a.CheckPassword("pencil"), nil)
	wantErr(t, "CheckPassword(other)", a.CheckPassword("other"), creds.ErrBadCredentials)
}

// TestAccountClearPasswordUnprepared: a clear password stored as written,
// not in its SASLprep form, serves PLAIN as it serves CRAM-MD5.
func TestAccountClearPasswordUnprepared(t *testing.T) {
	a := creds.Account{Name: "u", Password: "{PLAIN}\u2163"} // ROMAN NUMERAL FOUR, "IV" after NFKC
	if s, ok := a.ClearSecret(); !ok || s != "IV" {
		t.Fatalf("ClearSecret = %q, %v; want IV, true", s, ok)
	}
	wantErr(t, "CheckPassword(the stored password)", a.CheckPassword("\u2163"), nil)
	wantErr(t, "CheckPassword(IV)", a.CheckPassword("IV"), nil)
	wantErr(t, "CheckPassword(V)", a.CheckPassword("V"), creds.ErrBadCredentials)
	// A NoPrep account compares byte for byte.
	raw := creds.Account{Name: "u", Password: "{PLAIN}\u2163", NoPrep: true}
	wantErr(t, "NoPrep CheckPassword(the stored password)", raw.CheckPassword("\u2163"), nil)
	wantErr(t, "NoPrep CheckPassword(IV)", raw.CheckPassword("IV"), creds.ErrBadCredentials)
}

// TestAccountPrepFailureCostsTheSame: a password that fails SASLprep is
// still checked against the hash, so that it answers no faster than a
// wrong password. The proxy for the work is allocations: PBKDF2 makes
// dozens, an early return none, so half as many means no hash was run.
// (BenchmarkEnumeration in internal/hardening measures the cost itself.)
func TestAccountPrepFailureCostsTheSame(t *testing.T) {
	cheap := hash.PBKDF2{Digest: "sha256", Rounds: 1000}
	tests := []struct {
		name string
		a    creds.Account
	}{
		{"PBKDF2", creds.Account{Name: "u", Password: mustHash(t, "secret", cheap)}},
		{"SCRAM keys only", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "secret", 16, 4096, false)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wrong := testing.AllocsPerRun(3, func() { _ = tc.a.CheckPassword("wrong!") })
			for _, bad := range []string{"sec\u0007ret", "sec\xffret", "\u0627a", ""} {
				if err := tc.a.CheckPassword(bad); !errors.Is(err, creds.ErrBadCredentials) {
					t.Fatalf("CheckPassword(%q) = %v, want ErrBadCredentials", bad, err)
				}
				if got := testing.AllocsPerRun(3, func() { _ = tc.a.CheckPassword(bad) }); got < wrong/2 {
					t.Errorf("CheckPassword(%q): %v allocations, a wrong password %v: it returned before hashing", bad, got, wrong)
				}
			}
		})
	}
}

// TestAccountClearSecret: only clear passwords are given out, prepared
// unless the account opted out.
func TestAccountClearSecret(t *testing.T) {
	tests := []struct {
		name string
		a    creds.Account
		want string
		ok   bool
	}{
		{"PLAIN", creds.Account{Name: "u", Password: "{PLAIN}pencil"}, "pencil", true},
		{"plain lower case", creds.Account{Name: "u", Password: "{plain}pencil"}, "pencil", true},
		{"CLEARTEXT", creds.Account{Name: "u", Password: "{CLEARTEXT}pencil"}, "pencil", true},
		{"prepared", creds.Account{Name: "u", Password: "{PLAIN}pen\u00ADcil"}, "pencil", true},
		{"NFKC", creds.Account{Name: "u", Password: "{PLAIN}ｐｅｎｃｉｌ"}, "pencil", true},
		{"noprep", creds.Account{Name: "u", Password: "{PLAIN}pen\u00ADcil", NoPrep: true}, "pen\u00ADcil", true},
		{"empty", creds.Account{Name: "u", Password: "{PLAIN}"}, "", false},
		{"prohibited", creds.Account{Name: "u", Password: "{PLAIN}pen\u0007cil"}, "", false},
		{"hashed", creds.Account{Name: "u", Password: mustHash(t, "pencil", testPBKDF2)}, "", false},
		{"SCRAM keys", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 16, 4096, false)}}, "", false},
		{"none", creds.Account{Name: "u"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := tc.a.ClearSecret()
			if diff := cmp.Diff([]any{tc.want, tc.ok}, []any{s, ok}); diff != "" {
				t.Errorf("ClearSecret (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccountSCRAMKeys(t *testing.T) {
	k1 := mustKeys(t, "SHA-1", "pencil", 16, 4096, false)
	k256 := mustKeys(t, "SHA-256", "pencil", 16, 4096, false)
	a := creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{k1, k256}}
	for _, tc := range []struct {
		hash string
		want creds.SCRAMKeys
		ok   bool
	}{{"SHA-1", k1, true}, {"SHA-256", k256, true}, {"SHA-512", creds.SCRAMKeys{}, false}, {"sha-256", creds.SCRAMKeys{}, false}} {
		got, ok := a.SCRAMKeys(tc.hash)
		if ok != tc.ok {
			t.Errorf("SCRAMKeys(%q): ok = %v, want %v", tc.hash, ok, tc.ok)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("SCRAMKeys(%q) (-want +got):\n%s", tc.hash, diff)
		}
	}
	if got := a.AccountName(); got != "u" {
		t.Errorf("AccountName = %q", got)
	}
}

func TestHashPassword(t *testing.T) {
	// HashPassword prepares: the hash of "pass\u00ADword" is the hash of
	// "password".
	enc := mustHash(t, "pass\u00ADword", hash.Cleartext{})
	if diff := cmp.Diff("{PLAIN}password", enc); diff != "" {
		t.Errorf("HashPassword with Cleartext (-want +got):\n%s", diff)
	}
	enc = mustHash(t, "\u2163", testPBKDF2)
	if err := hash.Verify(enc, "IV"); err != nil {
		t.Errorf("hash of a prepared password: Verify(IV) = %v", err)
	}
	for _, bad := range []string{"", "\u00AD", "bad\u0007", "bad\xff"} {
		if enc, err := creds.HashPassword(bad, testPBKDF2); err == nil {
			t.Errorf("HashPassword(%q) = %q, want an error", bad, enc)
		}
	}
	if testing.Short() {
		return
	}
	// nil is the default hasher, Argon2id.
	enc, err := creds.HashPassword("pencil", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := hash.Scheme(enc); err != nil || s != "argon2id" {
		t.Errorf("HashPassword(nil hasher) scheme = %q, %v; want argon2id", s, err)
	}
}

func TestPrincipal(t *testing.T) {
	tests := []struct {
		name string
		p    *creds.Principal
		// mechanism, account, authzid, effective, trace, String
		want      []string
		anonymous bool
	}{
		{"account", creds.NewPrincipal("PLAIN", "alice", ""),
			[]string{"PLAIN", "alice", "", "alice", "", `PLAIN account="alice"`}, false},
		{"authzid", creds.NewPrincipal("PLAIN", "alice", "bob"),
			[]string{"PLAIN", "alice", "bob", "bob", "", `PLAIN account="alice" authzid="bob"`}, false},
		{"anonymous", creds.NewAnonymous("ANONYMOUS", "tim@example.com"),
			[]string{"ANONYMOUS", "", "", "", "tim@example.com", "ANONYMOUS anonymous"}, true},
		{"anonymous without trace", creds.NewAnonymous("ANONYMOUS", ""),
			[]string{"ANONYMOUS", "", "", "", "", "ANONYMOUS anonymous"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			got := []string{p.Mechanism(), p.Account(), p.Authzid(), p.Effective(), p.Trace(), p.String()}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Mechanism, Account, Authzid, Effective, Trace, String (-want +got):\n%s", diff)
			}
			if p.Anonymous() != tc.anonymous {
				t.Errorf("Anonymous = %v", p.Anonymous())
			}
		})
	}
}

func TestAuthorize(t *testing.T) {
	boom := errors.New("directory down")
	type call struct{ Account, Authzid string }
	var calls []call
	custom := creds.AuthorizerFunc(func(_ context.Context, account, authzid string) error {
		calls = append(calls, call{account, authzid})
		switch {
		case account == "admin" || authzid == "guest":
			return nil
		case authzid == "down":
			return boom
		}
		return fmt.Errorf("custom: %w", creds.ErrUnauthorized)
	})
	tests := []struct {
		name             string
		a                creds.Authorizer
		account, authzid string
		want             error
		wantAuthzid      string // of the returned principal
		calls            []call
	}{
		{name: "self only, no authzid", account: "alice"},
		{name: "self only, same", account: "alice", authzid: "alice"},
		{name: "self only, same after SASLprep", account: "alice", authzid: "al\u00ADice"},
		{name: "self only, same fullwidth", account: "alice", authzid: "ａｌｉｃｅ"},
		{name: "self only, account in another form", account: "IX", authzid: "\u2168"},
		{name: "self only, canonical name not prepared", account: "ＸＩ", authzid: "XI"},
		{name: "self only, both in other forms", account: "ＸＩ", authzid: "X\u00ADI"},
		{name: "self only, other", account: "alice", authzid: "bob", want: creds.ErrUnauthorized},
		{name: "self only, case differs", account: "alice", authzid: "Alice", want: creds.ErrUnauthorized},
		{name: "explicit self only", a: creds.SelfOnly, account: "alice", authzid: "bob", want: creds.ErrUnauthorized},
		{name: "prohibited authzid", a: custom, account: "admin", authzid: "bob\u0007", want: creds.ErrUnauthorized},
		{name: "authzid empty after SASLprep", a: custom, account: "admin", authzid: "\u00AD", want: creds.ErrUnauthorized},
		{name: "custom allows", a: custom, account: "admin", authzid: "bob", wantAuthzid: "bob", calls: []call{{"admin", "bob"}}},
		{name: "custom sees the prepared authzid", a: custom, account: "alice", authzid: "ｇｕｅｓｔ", wantAuthzid: "guest", calls: []call{{"alice", "guest"}}},
		{name: "custom refuses", a: custom, account: "alice", authzid: "bob", want: creds.ErrUnauthorized, calls: []call{{"alice", "bob"}}},
		{name: "custom temporary", a: custom, account: "alice", authzid: "down", want: boom, calls: []call{{"alice", "down"}}},
		{name: "custom not called without authzid", a: custom, account: "alice"},
		{name: "custom not called for the account itself", a: custom, account: "alice", authzid: "alice"},
		{name: "custom not called for the account itself, fullwidth", a: custom, account: "alice", authzid: "ａｌｉｃｅ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls = nil
			in := creds.NewPrincipal("PLAIN", tc.account, tc.authzid)
			p, err := creds.Authorize(ctx, tc.a, in)
			wantErr(t, "Authorize", err, tc.want)
			if tc.want == boom && errors.Is(err, creds.ErrUnauthorized) {
				t.Errorf("temporary failure %v wraps ErrUnauthorized: it is no refusal", err)
			}
			if diff := cmp.Diff(tc.calls, calls); diff != "" {
				t.Errorf("authorizer calls (-want +got):\n%s", diff)
			}
			if err != nil {
				if p != nil {
					t.Errorf("principal %v with error %v", p, err)
				}
				return
			}
			got := []string{p.Mechanism(), p.Account(), p.Authzid()}
			if diff := cmp.Diff([]string{"PLAIN", tc.account, tc.wantAuthzid}, got); diff != "" {
				t.Errorf("principal Mechanism, Account, Authzid (-want +got):\n%s", diff)
			}
		})
	}

	// An anonymous principal passes as it is.
	anon := creds.NewAnonymous("ANONYMOUS", "trace")
	calls = nil
	if p, err := creds.Authorize(ctx, custom, anon); err != nil || p != anon || len(calls) != 0 {
		t.Errorf("Authorize(anonymous) = %v, %v with %d calls", p, err, len(calls))
	}
	// SelfOnly refuses whatever reaches it.
	if err := creds.SelfOnly.Authorize(ctx, "alice", "bob"); !errors.Is(err, creds.ErrUnauthorized) {
		t.Errorf("SelfOnly.Authorize = %v, want ErrUnauthorized", err)
	}
}
