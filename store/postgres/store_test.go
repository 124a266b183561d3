package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/outcome"
)

// The accounts of the lookup tests: names that SASLprep changes, and
// accounts that opt out of it.
func lookupAccounts(t *testing.T) []creds.Account {
	pw := hashed(t, "pencil", cheapPBKDF2)
	return []creds.Account{
		{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "pencil", 16, 4096)}},
		{Name: "Ⅸ", Password: pw},                    // NFKC: "IX"
		{Name: "carol\u00a0x", Password: "{PLAIN}x"}, // no-break space: "carol x"
		{Name: "Raw\u00adName", Password: pw, NoPrep: true},
		{Name: "bell\u0007", Password: pw, NoPrep: true}, // fails SASLprep
	}
}

func TestLookup(t *testing.T) {
	accounts := lookupAccounts(t)
	s := newTestStore(t, nil, accounts...)
	var mem creds.MemoryStore
	for _, a := range accounts {
		if err := mem.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	byName := map[string]creds.Account{}
	for _, a := range accounts {
		byName[a.Name] = a
	}
	ctx := testCtx(t, time.Minute)
	for _, tc := range []struct {
		name, lookup, want string // want "": unknown
	}{
		{"plain", "alice", "alice"},
		{"soft hyphen mapped to nothing", "al\u00adice", "alice"},
		{"NFKC of the query", "IX", "Ⅸ"},
		{"canonical spelling", "Ⅸ", "Ⅸ"},
		{"no-break space", "carol\u00a0x", "carol\u00a0x"},
		{"space", "carol x", "carol\u00a0x"},
		{"no-prep exact", "Raw\u00adName", "Raw\u00adName"},
		{"no-prep not prepared", "RawName", ""},
		{"no-prep name that fails SASLprep", "bell\u0007", "bell\u0007"},
		{"no case folding", "Alice", ""},
		{"unknown", "mallory", ""},
		{"empty", "", ""},
		{"fails SASLprep", "al\u0007ice", ""},
		{"NUL", "alice\x00", ""},
		{"invalid UTF-8", "alice\xff", ""},
		{"too long", strings.Repeat("a", creds.MaxInput+1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := s.Lookup(ctx, tc.lookup)
			memID, memErr := mem.Lookup(ctx, tc.lookup)
			if tc.want == "" {
				if !errors.Is(err, creds.ErrUnknownUser) {
					t.Fatalf("Lookup(%q) = %v, %v; want ErrUnknownUser", tc.lookup, id, err)
				}
				if !errors.Is(memErr, creds.ErrUnknownUser) {
					t.Errorf("MemoryStore disagrees: %v, %v", memID, memErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tc.lookup, err)
			}
			if got := id.AccountName(); got != tc.want {
				t.Errorf("AccountName() = %q, want %q", got, tc.want)
			}
			if memErr != nil || memID.AccountName() != tc.want {
				t.Errorf("MemoryStore disagrees: %v, %v", memID, memErr)
			}
			want := byName[tc.want]
			if diff := cmp.Diff(&want, id, ignoreCache); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
		})
	}
}

// accountKinds are one account of each kind of stored secret, with the
// password "pencil".
func accountKinds(t *testing.T) []creds.Account {
	return []creds.Account{
		{Name: "pbkdf2", Password: hashed(t, "pencil", cheapPBKDF2)},
		{Name: "bcrypt", Password: hashed(t, "pencil", cheapBcrypt)},
		{Name: "argon2id", Password: hashed(t, "pencil", cheapArgon2id)},
		{Name: "scrypt", Password: hashed(t, "pencil", cheapScrypt)},
		{Name: "clear", Password: "{PLAIN}pencil"},
		{Name: "keys", SCRAM: []creds.SCRAMKeys{
			keys(t, "SHA-1", "pencil", 12, 4096), keys(t, "SHA-256", "pencil", 16, 4096),
			keys(t, "SHA-512", "pencil", 16, 5000), keys(t, "SHA3-512", "pencil", 24, 4096),
		}},
		{Name: "noprep", Password: "{PLAIN}Pe\u00adncil", NoPrep: true},
	}
}

func TestCheckPassword(t *testing.T) {
	accounts := accountKinds(t)
	s := newTestStore(t, nil, accounts...)
	v := &creds.Verifier{Store: s}
	ctx := testCtx(t, time.Minute)
	for _, a := range accounts {
		password := "pencil"
		if a.NoPrep {
			password = "Pe\u00adncil"
		}
		t.Run(a.Name, func(t *testing.T) {
			got, err := v.CheckPassword(ctx, a.Name, password)
			if err != nil || got != a.Name {
				t.Errorf("right password: %q, %v", got, err)
			}
			if _, err := v.CheckPassword(ctx, a.Name, "wrong"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("wrong password: %v, want ErrBadCredentials", err)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		if _, err := v.CheckPassword(ctx, "mallory", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("unknown user: %v, want ErrBadCredentials", err)
		}
	})
	t.Run("CRAM-MD5 secret", func(t *testing.T) {
		got, err := v.CheckClear(ctx, "clear", func(secret string) bool { return secret == "pencil" })
		if err != nil || got != "clear" {
			t.Errorf("CheckClear: %q, %v", got, err)
		}
	})
}

func TestSCRAM(t *testing.T) {
	accounts := accountKinds(t)
	s := newTestStore(t, nil, accounts...)
	ctx := testCtx(t, time.Minute)
	for _, h := range []string{"SHA-1", "SHA-256", "SHA-512", "SHA3-512"} {
		t.Run(h, func(t *testing.T) {
			got, err := scramLogin(ctx, s, h, "keys", "pencil")
			if err != nil || got != "keys" {
				t.Errorf("right password: %q, %v", got, err)
			}
			if _, err := scramLogin(ctx, s, h, "keys", "wrong"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("wrong password: %v, want ErrBadCredentials", err)
			}
			if _, err := scramLogin(ctx, s, h, "mallory", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("unknown user: %v, want ErrBadCredentials", err)
			}
		})
	}
}

// profileSets are account sets whose profiles are compared with
// creds.MemoryStore's; each has one most common cost class.
func profileSets(t *testing.T) map[string][]creds.Account {
	pb := func(name string) creds.Account {
		return creds.Account{Name: name, Password: hashed(t, "pw", cheapPBKDF2)}
	}
	bc := func(name string) creds.Account {
		return creds.Account{Name: name, Password: hashed(t, "pw", cheapBcrypt)}
	}
	cl := func(name string) creds.Account { return creds.Account{Name: name, Password: "{PLAIN}pw"} }
	sk := func(name, h string, salt, iter int) creds.Account {
		return creds.Account{Name: name, SCRAM: []creds.SCRAMKeys{keys(t, h, "pw", salt, iter)}}
	}
	return map[string][]creds.Account{
		"empty":  nil,
		"clear":  {cl("a"), cl("b")},
		"pbkdf2": {pb("a"), pb("b"), pb("c"), bc("d"), cl("e"), cl("f"), cl("g"), cl("h")},
		"bcrypt": {pb("a"), bc("b"), bc("c"), {Name: "d", Password: hashed(t, "pw", cheapBcrypt), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-1", "pw", 12, 4096)}}},
		"keys": {sk("a", "SHA-256", 16, 4096), sk("b", "SHA-256", 16, 4096), sk("c", "SHA-256", 24, 8192),
			sk("d", "SHA-512", 32, 5000), pb("e"), {Name: "f", Password: hashed(t, "pw", cheapPBKDF2), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "pw", 24, 8192)}},
			{Name: "g", Password: hashed(t, "pw", cheapPBKDF2), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "pw", 24, 8192)}}},
		"no secret": {{Name: "a"}, {Name: "b"}, pb("c")},
	}
}

func TestProfile(t *testing.T) {
	for name, accounts := range profileSets(t) {
		t.Run(name, func(t *testing.T) {
			s := newTestStore(t, nil, accounts...)
			var mem creds.MemoryStore
			for _, a := range accounts {
				if err := mem.Add(a); err != nil {
					t.Fatal(err)
				}
			}
			checkProfile(t, mem.Profile(), s.Profile())
		})
	}
}

// checkProfile compares a store's profile with want, a MemoryStore's for
// the same accounts: the same SCRAM shapes and clear flag, and a decoy of
// the same cost class.
func checkProfile(t *testing.T, want, got creds.Profile) {
	t.Helper()
	if diff := cmp.Diff(want.SCRAM, got.SCRAM); diff != "" {
		t.Errorf("SCRAM shapes (-want +got):\n%s", diff)
	}
	if want.ClearSecrets != got.ClearSecrets {
		t.Errorf("ClearSecrets = %v, want %v", got.ClearSecrets, want.ClearSecrets)
	}
	var wd, gd *creds.Account
	if want.PasswordDecoy != nil {
		wd = want.PasswordDecoy.(*creds.Account)
	}
	if got.PasswordDecoy != nil {
		gd = got.PasswordDecoy.(*creds.Account)
	}
	if w, g := costClass(wd), costClass(gd); w != g {
		t.Errorf("decoy of class %q, want %q", g, w)
	}
}

func TestProfileRefresh(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	pb := creds.Account{Name: "a", Password: hashed(t, "pw", cheapPBKDF2)}
	t.Run("writes", func(t *testing.T) {
		s := newTestStore(t, &Config{ProfileRefresh: -1}, pb)
		var mem creds.MemoryStore
		mem.Add(pb)
		for _, a := range []creds.Account{
			{Name: "b", Password: hashed(t, "pw", cheapBcrypt)},
			{Name: "c", Password: hashed(t, "pw", cheapBcrypt), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-512", "pw", 20, 6000)}},
		} {
			if err := s.SetAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			mem.SetAccount(ctx, a)
			checkProfile(t, mem.Profile(), s.Profile())
		}
		for _, name := range []string{"c", "b"} {
			if err := s.DeleteAccount(ctx, name); err != nil {
				t.Fatal(err)
			}
			mem.DeleteAccount(ctx, name)
			checkProfile(t, mem.Profile(), s.Profile())
		}
	})
	// Rows written by SQL: seen at the next refresh.
	insertSQL := func(t *testing.T, s *Store) {
		t.Helper()
		for i, pw := range []string{hashed(t, "pw", cheapBcrypt), hashed(t, "pw", cheapBcrypt)} {
			name := fmt.Sprint("sql", i)
			if _, err := s.Pool().Exec(ctx, `INSERT INTO `+s.schema+`.accounts (name, lookup_name, password) VALUES ($1, $1, $2)`, name, pw); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Run("RefreshProfile", func(t *testing.T) {
		s := newTestStore(t, &Config{ProfileRefresh: -1}, pb)
		insertSQL(t, s)
		if got := costClass(s.Profile().PasswordDecoy.(*creds.Account)); !strings.HasPrefix(got, "$pbkdf2") {
			t.Errorf("decoy of class %q before the refresh, want the old pbkdf2", got)
		}
		if err := s.RefreshProfile(ctx); err != nil {
			t.Fatal(err)
		}
		if got := costClass(s.Profile().PasswordDecoy.(*creds.Account)); !strings.HasPrefix(got, "$2a$04") {
			t.Errorf("decoy of class %q after the refresh, want bcrypt", got)
		}
	})
	t.Run("periodic", func(t *testing.T) {
		s := newTestStore(t, &Config{ProfileRefresh: 30 * time.Millisecond}, pb)
		insertSQL(t, s)
		deadline := time.Now().Add(10 * time.Second)
		for !strings.HasPrefix(costClass(s.Profile().PasswordDecoy.(*creds.Account)), "$2a$04") {
			if time.Now().After(deadline) {
				t.Fatal("the profile was not refreshed within 10 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

func TestSetAccount(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	pw := hashed(t, "pencil", cheapPBKDF2)
	s := newTestStore(t, nil,
		creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "pencil", 16, 4096), keys(t, "SHA-512", "pencil", 16, 4096)}},
		creds.Account{Name: "A\u00a0", Password: pw},
		creds.Account{Name: "raw\u00ad", Password: pw, NoPrep: true},
	)
	t.Run("replace", func(t *testing.T) {
		repl := creds.Account{Name: "alice", Password: hashed(t, "crayon", cheapBcrypt), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-1", "crayon", 12, 4096)}}
		if err := s.SetAccount(ctx, repl); err != nil {
			t.Fatal(err)
		}
		id, err := s.Lookup(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&repl, id, ignoreCache); diff != "" {
			t.Errorf("replaced account (-want +got):\n%s", diff)
		}
	})
	t.Run("opt out of SASLprep", func(t *testing.T) {
		a := creds.Account{Name: "A\u00a0", Password: pw, NoPrep: true}
		if err := s.SetAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Lookup(ctx, "A "); !errors.Is(err, creds.ErrUnknownUser) {
			t.Errorf("a no-prep account matched its prepared name: %v", err)
		}
		if id, err := s.Lookup(ctx, "A\u00a0"); err != nil || !id.(*creds.Account).NoPrep {
			t.Errorf("Lookup = %v, %v", id, err)
		}
	})
	for _, tc := range []struct {
		name string
		a    creds.Account
		want string // in the error
	}{
		{"collides after SASLprep", creds.Account{Name: "A ", Password: pw}, `collides with account "A\u00a0"`},
		{"no-prep collides", creds.Account{Name: "raw", Password: pw}, `collides with account "raw\u00ad"`},
		{"empty name", creds.Account{Password: pw}, "empty"},
		{"name fails SASLprep", creds.Account{Name: "bell\u0007", Password: pw}, "SASLprep"},
		{"unknown encoding", creds.Account{Name: "bob", Password: "$nope$1$2"}, "password"},
		{"few iterations", creds.Account{Name: "bob", SCRAM: []creds.SCRAMKeys{{Hash: "SHA-256", Salt: []byte{1}, Iterations: 1000, StoredKey: make([]byte, 32), ServerKey: make([]byte, 32)}}}, "iteration"},
		{"two keys for a hash", creds.Account{Name: "bob", SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "x", 16, 4096), keys(t, "SHA-256", "y", 16, 4096)}}, "two sets"},
		{"NUL in a no-prep name", creds.Account{Name: "bob\x00", Password: pw, NoPrep: true}, "UTF-8 without NUL"},
		{"invalid UTF-8 no-prep name", creds.Account{Name: "bob\xff", Password: pw, NoPrep: true}, "UTF-8 without NUL"},
		{"NUL in a no-prep clear password", creds.Account{Name: "bob", Password: "{PLAIN}a\x00b", NoPrep: true}, "UTF-8 without NUL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SetAccount(ctx, tc.a)
			if !errors.Is(err, creds.ErrMisconfigured) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SetAccount = %v, want ErrMisconfigured with %q", err, tc.want)
			}
			var n int
			if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM `+s.schema+`.accounts`).Scan(&n); err != nil || n != 3 {
				t.Errorf("%d accounts after a refused write (%v), want 3", n, err)
			}
		})
	}
}

// TestSetAccountAtomic replaces an account again and again while lookups
// run: each sees the old account or the new, never a mix.
func TestSetAccountAtomic(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	versions := []creds.Account{
		{Name: "flip", Password: hashed(t, "one", cheapPBKDF2), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "one", 16, 4096)}},
		{Name: "flip", Password: hashed(t, "two", cheapBcrypt), SCRAM: []creds.SCRAMKeys{keys(t, "SHA-512", "two", 20, 4096), keys(t, "SHA-1", "two", 12, 4096)}},
	}
	s := newTestStore(t, &Config{ProfileRefresh: -1}, versions[0])
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	seen := make([]int, len(versions))
	var mu sync.Mutex
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				id, err := s.Lookup(ctx, "flip")
				if err != nil {
					errs <- err
					return
				}
				match := -1
				for i := range versions {
					if cmp.Diff(&versions[i], id, ignoreCache) == "" {
						match = i
					}
				}
				if match < 0 {
					errs <- fmt.Errorf("a mix of versions: password of class %q, %d SCRAM keys", costClass(id.(*creds.Account)), len(id.(*creds.Account).SCRAM))
					return
				}
				mu.Lock()
				seen[match]++
				mu.Unlock()
			}
		}()
	}
	for i := range 40 {
		if err := s.SetAccount(ctx, versions[(i+1)%2]); err != nil {
			t.Error(err)
			break
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if seen[0] == 0 || seen[1] == 0 {
		t.Errorf("lookups saw versions %v times: the test did not overlap the writes", seen)
	}
}

func TestDeleteAccount(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	pw := hashed(t, "pencil", cheapPBKDF2)
	s := newTestStore(t, nil,
		creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "pencil", 16, 4096)}},
		creds.Account{Name: "raw\u00ad", Password: pw, NoPrep: true},
		creds.Account{Name: "bob", Password: pw},
	)
	for _, tc := range []struct {
		name, del string
		err       error
	}{
		{"by another spelling", "al\u00adice", nil},
		{"gone", "alice", creds.ErrUnknownUser},
		{"no-prep by its prepared name", "raw", creds.ErrUnknownUser},
		{"no-prep", "raw\u00ad", nil},
		{"NUL", "bob\x00", creds.ErrUnknownUser},
		{"invalid UTF-8", "bob\xff", creds.ErrUnknownUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.DeleteAccount(ctx, tc.del); !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("DeleteAccount(%q) = %v, want %v", tc.del, err, tc.err)
			}
		})
	}
	var names []string
	rows, _ := s.Pool().Query(ctx, `SELECT name FROM `+s.schema+`.accounts`)
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if diff := cmp.Diff([]string{"bob"}, names); diff != "" {
		t.Errorf("accounts left (-want +got):\n%s", diff)
	}
	var keyRows int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM `+s.schema+`.scram_keys`).Scan(&keyRows); err != nil || keyRows != 0 {
		t.Errorf("%d SCRAM key rows left (%v), want 0", keyRows, err)
	}
}

// TestCorruptRow: a row written by SQL whose lookup_name is not its
// name's is refused, as a store failure, not matched.
func TestCorruptRow(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	s := newTestStore(t, nil)
	pw := hashed(t, "pencil", cheapPBKDF2)
	if _, err := s.Pool().Exec(ctx, `INSERT INTO `+s.schema+`.accounts (name, lookup_name, password) VALUES ('admin', 'bob', $1)`, pw); err != nil {
		t.Fatal(err)
	}
	_, err := s.Lookup(ctx, "bob")
	var se *Error
	if !errors.As(err, &se) || !errors.Is(err, ErrCorrupt) || errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("Lookup of a corrupt row = %v, want an *Error wrapping ErrCorrupt", err)
	}
	v := &creds.Verifier{Store: s}
	if _, err := v.CheckPassword(ctx, "bob", "pencil"); err == nil || errors.Is(err, creds.ErrBadCredentials) || outcome.Of(err) != outcome.Temporary {
		t.Errorf("CheckPassword = %v, want a temporary failure", err)
	}
	// The constraints refuse malformed keys written by SQL.
	_, err = s.Pool().Exec(ctx, `INSERT INTO `+s.schema+`.scram_keys (account_id, hash, salt, iterations, stored_key, server_key)
		SELECT id, 'SHA-256', '\x01', 4096, '\x0102', '\x0102' FROM `+s.schema+`.accounts`)
	if err == nil {
		t.Error("short SCRAM keys inserted")
	}
}

// TestCancelled: a cancelled ctx is a temporary failure, never an
// unknown user, for names that exist and names that do not.
func TestCancelled(t *testing.T) {
	s := newTestStore(t, nil, creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"alice", "mallory"} {
		_, err := s.Lookup(ctx, name)
		var se *Error
		if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || errors.Is(err, creds.ErrUnknownUser) {
			t.Errorf("Lookup(%q) with a cancelled ctx = %v, want an *Error wrapping context.Canceled", name, err)
		}
		if outcome.Of(err) != outcome.Temporary {
			t.Errorf("outcome.Of = %v, want temporary", outcome.Of(err))
		}
		v := &creds.Verifier{Store: s}
		if _, err := v.CheckPassword(ctx, name, "pencil"); err == nil || errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("CheckPassword(%q) with a cancelled ctx = %v, want a temporary failure", name, err)
		}
	}
}

// TestEnumerationCost: an unknown user's password check costs what a
// known user's wrong password costs, since the decoy is one of the
// store's accounts.
func TestEnumerationCost(t *testing.T) {
	h := hash.PBKDF2{Digest: "sha256", Rounds: 100_000}
	var accounts []creds.Account
	for i := range 3 {
		accounts = append(accounts, creds.Account{Name: fmt.Sprint("user", i), Password: hashed(t, "pencil", h)})
	}
	s := newTestStore(t, nil, accounts...)
	v := &creds.Verifier{Store: s}
	ctx := testCtx(t, time.Minute)
	median := func(name string) time.Duration {
		var d []time.Duration
		for range 7 {
			start := time.Now()
			if _, err := v.CheckPassword(ctx, name, "wrong"); !errors.Is(err, creds.ErrBadCredentials) {
				t.Fatalf("CheckPassword(%q): %v", name, err)
			}
			d = append(d, time.Since(start))
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	known, unknown := median("user1"), median("mallory")
	t.Logf("wrong password %v, unknown user %v", known, unknown)
	if unknown < known/2 || unknown > known*2 {
		t.Errorf("an unknown user costs %v, a wrong password %v", unknown, known)
	}
}
