package creds_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// lookupName returns the AccountName of what m.Lookup(name) finds, or ""
// and the error.
func lookupName(m *creds.MemoryStore, name string) (string, error) {
	id, err := m.Lookup(ctx, name)
	if err != nil {
		if id != nil {
			return "", fmt.Errorf("identity %v with error %w", id, err)
		}
		return "", err
	}
	return id.AccountName(), nil
}

func TestMemoryStoreLookup(t *testing.T) {
	var m creds.MemoryStore
	for _, a := range []creds.Account{
		{Name: "admin", Password: "{PLAIN}a"},
		{Name: "IX", Password: "{PLAIN}9"},
		{Name: "ＸＩ", Password: "{PLAIN}11"}, // canonical name not in prepared form
		{Name: "so\u00ADft", Password: "{PLAIN}s"},
		{Name: "raw", Password: "{PLAIN}r", NoPrep: true},
		{Name: "\u2169", Password: "{PLAIN}10", NoPrep: true}, // ROMAN NUMERAL TEN, "X" after NFKC
		{Name: "bad\u0007name", Password: "{PLAIN}b", NoPrep: true},
	} {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%q): %v", a.Name, err)
		}
	}
	tests := []struct {
		query string
		want  string // canonical name; "" for an unknown user
	}{
		{"admin", "admin"},
		{"ａｄｍｉｎ", "admin"},       // fullwidth
		{"ad\u00ADmin", "admin"}, // soft hyphen
		{"ad\u200Bmin", "admin"}, // zero-width space
		{"𝐚𝐝𝐦𝐢𝐧", "admin"},       // mathematical bold
		{"admin\u200B", "admin"}, // trailing zero-width space
		{"Admin", ""},            // SASLprep does not fold case
		{"admin ", ""},
		{"adm\u0131n", ""}, // dotless i
		{"IX", "IX"},
		{"\u2168", "IX"}, // ROMAN NUMERAL NINE
		{"XI", "ＸＩ"},
		{"ＸＩ", "ＸＩ"},
		{"soft", "so\u00ADft"},
		{"so\u00ADft", "so\u00ADft"},
		{"raw", "raw"},
		{"ｒａｗ", ""}, // NoPrep: byte for byte only
		{"\u2169", "\u2169"},
		{"X", ""},
		{"bad\u0007name", "bad\u0007name"},
		{"badname", ""},
		{"", ""},
		{"\u00AD", ""},
		{"\xff", ""},
		{"nobody", ""},
		{"ad\u0007min", ""}, // prohibited
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q", tc.query), func(t *testing.T) {
			got, err := lookupName(&m, tc.query)
			if tc.want == "" {
				if !errors.Is(err, creds.ErrUnknownUser) {
					t.Errorf("Lookup = %q, %v; want ErrUnknownUser", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AccountName (-want +got):\n%s", diff)
			}
		})
	}
	if got := m.Len(); got != 7 {
		t.Errorf("Len = %d, want 7", got)
	}

	var empty creds.MemoryStore
	if id, err := empty.Lookup(ctx, "admin"); id != nil || !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("zero MemoryStore: Lookup = %v, %v; want ErrUnknownUser", id, err)
	}
	if empty.Len() != 0 {
		t.Errorf("zero MemoryStore: Len = %d", empty.Len())
	}
}

// TestMemoryStoreNoPrep: a NoPrep account "IX" is found by "IX" only; an
// ordinary one by every spelling SASLprep maps to it.
func TestMemoryStoreNoPrep(t *testing.T) {
	for _, tc := range []struct {
		noprep bool
		want   map[string]bool // query: found
	}{
		{false, map[string]bool{"IX": true, "\u2168": true, "ＩＸ": true, "I\u00ADX": true, "ix": false}},
		{true, map[string]bool{"IX": true, "\u2168": false, "ＩＸ": false, "I\u00ADX": false, "ix": false}},
	} {
		var m creds.MemoryStore
		if err := m.Add(creds.Account{Name: "IX", Password: "{PLAIN}pw", NoPrep: tc.noprep}); err != nil {
			t.Fatal(err)
		}
		for q, found := range tc.want {
			got, err := lookupName(&m, q)
			switch {
			case found && (err != nil || got != "IX"):
				t.Errorf("NoPrep %v: Lookup(%q) = %q, %v; want IX", tc.noprep, q, got, err)
			case !found && !errors.Is(err, creds.ErrUnknownUser):
				t.Errorf("NoPrep %v: Lookup(%q) = %q, %v; want ErrUnknownUser", tc.noprep, q, got, err)
			}
		}
	}
}

func TestMemoryStoreAdd(t *testing.T) {
	keys := mustKeys(t, "SHA-256", "pencil", 16, 4096, false)
	weak := keys
	weak.Iterations = 1000
	short := keys
	short.StoredKey = short.StoredKey[:16]
	unknownHash := keys
	unknownHash.Hash = "MD5"
	noSalt := keys
	noSalt.Salt = nil
	tests := []struct {
		name string
		a    creds.Account
		// wantText are parts of the error text.
		wantText []string
	}{
		{"empty name", creds.Account{Password: "{PLAIN}pw"}, []string{"empty"}},
		{"empty name noprep", creds.Account{Password: "{PLAIN}pw", NoPrep: true}, []string{"empty"}},
		{"name fails SASLprep", creds.Account{Name: "bad\u0007", Password: "{PLAIN}pw"}, []string{"SASLprep"}},
		{"name unassigned in Unicode 3.2", creds.Account{Name: "u\U0001F600", Password: "{PLAIN}pw"}, []string{"SASLprep"}},
		{"password in no encoding", creds.Account{Name: "u", Password: "hunter2"}, []string{`"u"`}},
		{"malformed hash", creds.Account{Name: "u", Password: "$pbkdf2-sha256$x$hunter2"}, []string{`"u"`}},
		{"SCRAM keys in Password", creds.Account{Name: "u", Password: keys.Dovecot()}, []string{`"u"`}},
		{"empty clear password", creds.Account{Name: "u", Password: "{PLAIN}"}, []string{"clear password"}},
		{"clear password fails SASLprep", creds.Account{Name: "u", Password: "{PLAIN}hunter\u0007"}, []string{"clear password"}},
		{"SCRAM below 4096 iterations", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{weak}}, []string{"1000", "4096"}},
		{"SCRAM keys of the wrong length", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{short}}, []string{`"u"`}},
		{"SCRAM unknown hash", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{unknownHash}}, []string{`"u"`}},
		{"SCRAM without salt", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{noSalt}}, []string{`"u"`}},
		{"two sets of SCRAM-SHA-256 keys", creds.Account{Name: "u", SCRAM: []creds.SCRAMKeys{keys, keys}}, []string{"SHA-256"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m creds.MemoryStore
			err := m.Add(tc.a)
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Fatalf("Add = %v, want ErrMisconfigured", err)
			}
			for _, w := range tc.wantText {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Errorf("error %q holds the password", err)
			}
			if m.Len() != 0 {
				t.Errorf("Len = %d after a refused Add", m.Len())
			}
		})
	}

	// What is valid.
	var m creds.MemoryStore
	for _, a := range []creds.Account{
		{Name: "clear", Password: "{PLAIN}pw"},
		{Name: "hashed", Password: mustHash(t, "pw", testPBKDF2)},
		{Name: "keys", SCRAM: []creds.SCRAMKeys{keys, mustKeys(t, "SHA-1", "pencil", 16, 4096, false)}},
		{Name: "both", Password: "{PLAIN}pw", SCRAM: []creds.SCRAMKeys{keys}},
		{Name: "nothing"},
		{Name: "noprep\u0007", Password: "{PLAIN}p\u0007w", NoPrep: true},
	} {
		if err := m.Add(a); err != nil {
			t.Errorf("Add(%q) = %v", a.Name, err)
		}
	}
	if m.Len() != 6 {
		t.Errorf("Len = %d, want 6", m.Len())
	}
}

// TestMemoryStoreCollision: two names that are one after SASLprep cannot
// both be stored, and the error names both.
func TestMemoryStoreCollision(t *testing.T) {
	tests := []struct {
		first, second creds.Account
	}{
		{creds.Account{Name: "alice"}, creds.Account{Name: "ａｌｉｃｅ"}},
		{creds.Account{Name: "ａｌｉｃｅ"}, creds.Account{Name: "alice"}},
		{creds.Account{Name: "alice"}, creds.Account{Name: "al\u00ADice"}},
		{creds.Account{Name: "alice"}, creds.Account{Name: "alice"}},
		{creds.Account{Name: "IX"}, creds.Account{Name: "\u2168"}},
		{creds.Account{Name: "IX", NoPrep: true}, creds.Account{Name: "\u2168"}},
		{creds.Account{Name: "IX"}, creds.Account{Name: "IX", NoPrep: true}},
		{creds.Account{Name: "raw", NoPrep: true}, creds.Account{Name: "raw", NoPrep: true}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q then %q", tc.first.Name, tc.second.Name), func(t *testing.T) {
			var m creds.MemoryStore
			tc.first.Password = "{PLAIN}first"
			tc.second.Password = "{PLAIN}second"
			if err := m.Add(tc.first); err != nil {
				t.Fatal(err)
			}
			err := m.Add(tc.second)
			if !errors.Is(err, creds.ErrMisconfigured) {
				t.Fatalf("second Add = %v, want ErrMisconfigured", err)
			}
			for _, name := range []string{tc.first.Name, tc.second.Name} {
				if !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
					t.Errorf("error %q does not name %q", err, name)
				}
			}
			if m.Len() != 1 {
				t.Errorf("Len = %d, want 1", m.Len())
			}
			// The first account is still the one found.
			id, err := m.Lookup(ctx, tc.first.Name)
			if err != nil {
				t.Fatal(err)
			}
			if err := id.(creds.PasswordChecker).CheckPassword("first"); err != nil {
				t.Errorf("first account's password: %v", err)
			}
		})
	}
}

// TestMemoryStoreAddCopies: the store keeps its own copy of an Account.
func TestMemoryStoreAddCopies(t *testing.T) {
	var m creds.MemoryStore
	a := creds.Account{Name: "u", Password: "{PLAIN}old"}
	if err := m.Add(a); err != nil {
		t.Fatal(err)
	}
	a.Password = "{PLAIN}new"
	id, err := m.Lookup(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	pc := id.(creds.PasswordChecker)
	wantErr(t, "old password", pc.CheckPassword("old"), nil)
	wantErr(t, "new password", pc.CheckPassword("new"), creds.ErrBadCredentials)
}

// decoyName returns the AccountName of p's PasswordDecoy, or "" if none.
func decoyName(t *testing.T, p creds.Profile) string {
	t.Helper()
	if p.PasswordDecoy == nil {
		return ""
	}
	id, ok := p.PasswordDecoy.(creds.Identity)
	if !ok {
		t.Fatalf("PasswordDecoy %T is not an Identity", p.PasswordDecoy)
	}
	return id.AccountName()
}

func TestMemoryStoreProfile(t *testing.T) {
	cheap := hash.PBKDF2{Digest: "sha256", Rounds: 1000}
	dear := hash.PBKDF2{Digest: "sha256", Rounds: 2000}
	longSalt := hash.PBKDF2{Digest: "sha256", Rounds: 1000, SaltLen: 32}
	tests := []struct {
		name     string
		accounts []creds.Account
		decoy    string // the AccountName of the decoy; "" for none
		clear    bool
		scram    []creds.SCRAMShape
	}{
		{name: "empty"},
		{name: "clear only", accounts: []creds.Account{{Name: "a", Password: "{PLAIN}a"}, {Name: "b", Password: "{PLAIN}b"}},
			clear: true},
		{name: "no secrets", accounts: []creds.Account{{Name: "a"}}},
		{name: "most common cost",
			accounts: []creds.Account{
				{Name: "dear1", Password: mustHash(t, "p", dear)},
				{Name: "cheap1", Password: mustHash(t, "p", cheap)},
				{Name: "cheap2", Password: mustHash(t, "p", cheap)},
				{Name: "clear1", Password: "{PLAIN}p"},
				{Name: "clear2", Password: "{PLAIN}p"},
				{Name: "clear3", Password: "{PLAIN}p"},
				{Name: "none1"}, {Name: "none2"}, {Name: "none3"}, {Name: "none4"},
			},
			// Clear passwords and accounts without one are never the
			// decoy, however many.
			decoy: "cheap1", clear: true},
		{name: "salt length is not a cost",
			accounts: []creds.Account{
				{Name: "bcrypt1", Password: mustHash(t, "p", testBcrypt)},
				{Name: "bcrypt2", Password: mustHash(t, "p", testBcrypt)},
				{Name: "short", Password: mustHash(t, "p", cheap)},
				{Name: "long1", Password: mustHash(t, "p", longSalt)},
				{Name: "long2", Password: mustHash(t, "p", longSalt)},
			},
			decoy: "short"},
		{name: "tie goes to the first seen",
			accounts: []creds.Account{
				{Name: "argon", Password: mustHash(t, "p", testArgon2id)},
				{Name: "scrypt", Password: mustHash(t, "p", testScrypt)},
			},
			decoy: "argon"},
		{name: "SCRAM shapes",
			accounts: []creds.Account{
				{Name: "k1", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 16, 4096, false), mustKeys(t, "SHA-1", "p", 12, 4096, false)}},
				{Name: "k2", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 24, 8192, false)}},
				{Name: "k3", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 24, 8192, false)}},
				{Name: "k4", Password: "{PLAIN}p", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-512", "p", 20, 5000, false)}},
			},
			// A SCRAM-only account's password check costs its PBKDF2:
			// the decoy is one of them, of the most common count.
			decoy: "k2", clear: true,
			scram: []creds.SCRAMShape{{Hash: "SHA-1", SaltLen: 12, Iterations: 4096}, {Hash: "SHA-256", SaltLen: 24, Iterations: 8192}, {Hash: "SHA-512", SaltLen: 20, Iterations: 5000}}},
		{name: "SCRAM salt length and count together",
			accounts: []creds.Account{
				{Name: "k1", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 16, 8192, false)}},
				{Name: "k2", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 16, 8192, false)}},
				{Name: "k3", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 28, 4096, false)}},
			},
			decoy: "k1",
			scram: []creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 16, Iterations: 8192}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m creds.MemoryStore
			for _, a := range tc.accounts {
				if err := m.Add(a); err != nil {
					t.Fatalf("Add(%q): %v", a.Name, err)
				}
			}
			p := m.Profile()
			if diff := cmp.Diff(tc.decoy, decoyName(t, p)); diff != "" {
				t.Errorf("PasswordDecoy (-want +got):\n%s", diff)
			}
			if p.ClearSecrets != tc.clear {
				t.Errorf("ClearSecrets = %v, want %v", p.ClearSecrets, tc.clear)
			}
			if diff := cmp.Diff(tc.scram, p.SCRAM); diff != "" {
				t.Errorf("SCRAM (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	var m creds.MemoryStore
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				name := fmt.Sprintf("u%d-%d", i, j)
				if err := m.Add(creds.Account{Name: name, Password: "{PLAIN}p"}); err != nil {
					t.Errorf("Add(%q): %v", name, err)
				}
				if got, err := lookupName(&m, name); err != nil || got != name {
					t.Errorf("Lookup(%q) = %q, %v", name, got, err)
				}
				_ = m.Profile()
				_ = m.Len()
			}
		}()
	}
	wg.Wait()
	if m.Len() != 8*50 {
		t.Errorf("Len = %d, want %d", m.Len(), 8*50)
	}
}

// TestMemoryStoreProfileFollowsAdd: the profile reflects every account
// added, however often it was read before.
func TestMemoryStoreProfileFollowsAdd(t *testing.T) {
	var m creds.MemoryStore
	steps := []struct {
		add   creds.Account
		decoy string
		clear bool
		scram []creds.SCRAMShape
	}{
		{creds.Account{Name: "clear", Password: "{PLAIN}p"}, "", true, nil},
		{creds.Account{Name: "hashed", Password: mustHash(t, "p", testPBKDF2)}, "hashed", true, nil},
		{creds.Account{Name: "k1", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 20, 4096, false)}}, "hashed", true,
			[]creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 20, Iterations: 4096}}},
		{creds.Account{Name: "k2", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "p", 20, 4096, false)}}, "k1", true,
			[]creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 20, Iterations: 4096}}},
	}
	if p := m.Profile(); p.PasswordDecoy != nil || p.ClearSecrets || p.SCRAM != nil {
		t.Errorf("empty store: Profile = %+v, want the zero Profile", p)
	}
	for _, s := range steps {
		if err := m.Add(s.add); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			p := m.Profile()
			got := []any{decoyName(t, p), p.ClearSecrets, p.SCRAM}
			if diff := cmp.Diff([]any{s.decoy, s.clear, s.scram}, got); diff != "" {
				t.Errorf("after adding %q: decoy, ClearSecrets, SCRAM (-want +got):\n%s", s.add.Name, diff)
			}
		}
	}
}

// TestMemoryStoreWrites: SetAccount adds and replaces, DeleteAccount
// removes, and the profile follows.
func TestMemoryStoreWrites(t *testing.T) {
	ctx := context.Background()
	var s creds.MemoryStore
	if err := s.SetAccount(ctx, creds.Account{Name: "alice", Password: "{PLAIN}one"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAccount(ctx, creds.Account{Name: "ａｌｉｃｅ", Password: "{PLAIN}two"}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Fatalf("another account spelled the same after SASLprep: %v, want ErrMisconfigured", err)
	}
	if err := s.SetAccount(ctx, creds.Account{Name: "alice", Password: "{PLAIN}two"}); err != nil {
		t.Fatalf("replace: %v", err)
	}
	if err := s.Add(creds.Account{Name: "alice", Password: "{PLAIN}three"}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("Add over an account: %v, want ErrMisconfigured", err)
	}
	v := &creds.Verifier{Store: &s}
	if _, err := v.CheckPassword(ctx, "alice", "one"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("old password after replace: %v", err)
	}
	if a, err := v.CheckPassword(ctx, "ａｌｉｃｅ", "two"); err != nil || a != "alice" {
		t.Errorf("new password after replace: %q, %v", a, err)
	}
	if s.Len() != 1 || !s.Profile().ClearSecrets {
		t.Errorf("Len %d, profile %+v", s.Len(), s.Profile())
	}
	if err := s.DeleteAccount(ctx, "ALICE"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("delete by another name: %v", err)
	}
	if err := s.DeleteAccount(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup(ctx, "alice"); !errors.Is(err, creds.ErrUnknownUser) || s.Len() != 0 || s.Profile().ClearSecrets {
		t.Errorf("after delete: %v, Len %d, profile %+v", err, s.Len(), s.Profile())
	}
}

// TestUpgrade: a verified password gives the account the SCRAM keys
// Verifier.Upgrade asks for; a wrong one gives nothing.
func TestUpgrade(t *testing.T) {
	ctx := context.Background()
	pw, err := creds.HashPassword("pencil", hash.PBKDF2{Digest: "sha256", Rounds: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var s creds.MemoryStore
	if err := s.Add(creds.Account{Name: "alice", Password: pw}); err != nil {
		t.Fatal(err)
	}
	v := &creds.Verifier{Store: &s, Upgrade: []string{"SHA-256", "SHA-512"}}
	has := func(h string) bool {
		id, err := s.Lookup(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		_, ok := id.(creds.SCRAMKeyHolder).SCRAMKeys(h)
		return ok
	}
	if _, err := v.CheckPassword(ctx, "alice", "wrong"); err == nil || has("SHA-256") {
		t.Fatalf("wrong password upgraded the account (%v)", err)
	}
	if _, err := v.CheckPassword(ctx, "alice", "pencil"); err != nil {
		t.Fatal(err)
	}
	if !has("SHA-256") || !has("SHA-512") {
		t.Fatal("no keys after a verified password")
	}
	id, _ := s.Lookup(ctx, "alice")
	k, _ := id.(creds.SCRAMKeyHolder).SCRAMKeys("SHA-256")
	if k.Iterations != creds.MinSCRAMIterations || len(k.Salt) != 16 {
		t.Errorf("keys of shape %d/%d", len(k.Salt), k.Iterations)
	}
	want, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", k.Salt, k.Iterations, false)
	if err != nil || string(want.StoredKey) != string(k.StoredKey) {
		t.Errorf("the keys are not the password's")
	}
	// A SCRAM lookup now finds them, and the store's profile offers
	// SCRAM-SHA-256.
	if l, err := v.LookupSCRAM(ctx, "alice", "SHA-256"); err != nil || l.Keys.Iterations != k.Iterations {
		t.Errorf("LookupSCRAM after upgrade: %v", err)
	}
}
