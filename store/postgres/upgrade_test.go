package postgres

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/creds"
)

// accountKeys returns the SCRAM keys of the account name in s.
func accountKeys(t *testing.T, s *Store, name string) []creds.SCRAMKeys {
	t.Helper()
	id, err := s.Lookup(testCtx(t, 10*time.Second), name)
	if err != nil {
		t.Fatal(err)
	}
	return id.(*creds.Account).SCRAM
}

func TestUpgradeSCRAM(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	s := newTestStore(t, nil, creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)})
	k256 := keys(t, "SHA-256", "pencil", 16, 4096)
	if err := s.UpgradeSCRAM(ctx, "alice", []creds.SCRAMKeys{k256}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]creds.SCRAMKeys{k256}, accountKeys(t, s, "alice")); diff != "" {
		t.Errorf("keys after the first upgrade (-want +got):\n%s", diff)
	}
	// Keys for a hash the account has are left alone; the others added.
	other256, k512 := keys(t, "SHA-256", "other", 20, 5000), keys(t, "SHA-512", "pencil", 16, 4096)
	if err := s.UpgradeSCRAM(ctx, "alice", []creds.SCRAMKeys{other256, k512}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]creds.SCRAMKeys{k256, k512}, accountKeys(t, s, "alice")); diff != "" {
		t.Errorf("keys after the second upgrade (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		name, account string
		keys          []creds.SCRAMKeys
		err           error
	}{
		{"account gone", "mallory", []creds.SCRAMKeys{k256}, nil},
		{"not a canonical name", "al\u00adice", []creds.SCRAMKeys{keys(t, "SHA-1", "pencil", 16, 4096)}, nil},
		{"NUL", "alice\x00", []creds.SCRAMKeys{k256}, nil},
		{"no keys", "alice", nil, nil},
		{"malformed keys", "alice", []creds.SCRAMKeys{{Hash: "SHA-1", Salt: []byte{1}, Iterations: 4096, StoredKey: []byte{1}, ServerKey: []byte{1}}}, creds.ErrMisconfigured},
		{"two keys for a hash", "alice", []creds.SCRAMKeys{keys(t, "SHA-1", "a", 16, 4096), keys(t, "SHA-1", "b", 16, 4096)}, creds.ErrMisconfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpgradeSCRAM(ctx, tc.account, tc.keys)
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("UpgradeSCRAM = %v, want %v", err, tc.err)
			}
			if diff := cmp.Diff([]creds.SCRAMKeys{k256, k512}, accountKeys(t, s, "alice")); diff != "" {
				t.Errorf("keys changed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpgradeConcurrent runs two upgrades of one account at once, both
// held at the account's row until both wait there: one set of keys wins
// whole, the other adds nothing.
func TestUpgradeConcurrent(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	s := newTestStore(t, &Config{QueryTimeout: 20 * time.Second}, creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)})
	sets := [][]creds.SCRAMKeys{
		{keys(t, "SHA-256", "a", 16, 4096), keys(t, "SHA-512", "a", 16, 4096)},
		{keys(t, "SHA-512", "b", 20, 5000), keys(t, "SHA-256", "b", 20, 5000)},
	}
	// Hold the row, so that both upgrades are under way before either
	// can lock it.
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, `SELECT 1 FROM `+s.schema+`.accounts WHERE name = 'alice' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(sets))
	for i, set := range sets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.UpgradeSCRAM(ctx, "alice", set)
		}()
	}
	waitForLockWaiters(t, s, len(sets))
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("upgrade %d: %v", i, err)
		}
	}
	got := accountKeys(t, s, "alice")
	if len(got) != 2 {
		t.Fatalf("%d keys, want 2", len(got))
	}
	byHash := func(ks []creds.SCRAMKeys) map[string]creds.SCRAMKeys {
		m := map[string]creds.SCRAMKeys{}
		for _, k := range ks {
			m[k.Hash] = k
		}
		return m
	}
	won := 0
	for _, set := range sets {
		if cmp.Diff(byHash(set), byHash(got)) == "" {
			won++
		}
	}
	if won != 1 {
		t.Errorf("the keys are not one upgrade's whole set: %d-octet and %d-octet salts", len(got[0].Salt), len(got[1].Salt))
	}
}

// waitForLockWaiters waits until n backends wait for a lock.
func waitForLockWaiters(t *testing.T, s *Store, n int) {
	t.Helper()
	ctx := testCtx(t, 15*time.Second)
	for {
		var waiting int
		err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND strpos(query, $1) > 0 AND pid <> pg_backend_pid()`, `"`+s.schema+`".`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting >= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d backends wait for a lock, want %d", waiting, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestVerifierUpgrade: PLAIN logins through a Verifier with Upgrade give a
// password-only account SCRAM keys once, however many run at once, and
// SCRAM works from then on.
func TestVerifierUpgrade(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	s := newTestStore(t, nil,
		creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)},
		creds.Account{Name: "bob", SCRAM: []creds.SCRAMKeys{keys(t, "SHA-256", "crayon", 24, 5000)}},
	)
	v := &creds.Verifier{Store: s, Upgrade: []string{"SHA-256"}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if name, err := v.CheckPassword(ctx, "al\u00adice", "pencil"); err != nil || name != "alice" {
				t.Errorf("CheckPassword = %q, %v", name, err)
			}
		}()
	}
	wg.Wait()
	got := accountKeys(t, s, "alice")
	if len(got) != 1 || got[0].Hash != "SHA-256" {
		t.Fatalf("keys after the logins: %d, want one set for SHA-256", len(got))
	}
	// The store's shape: bob's keys.
	if len(got[0].Salt) != 24 || got[0].Iterations != 5000 {
		t.Errorf("upgraded keys have a %d-octet salt and %d iterations, want the store's 24 and 5000", len(got[0].Salt), got[0].Iterations)
	}
	if name, err := scramLogin(ctx, s, "SHA-256", "alice", "pencil"); err != nil || name != "alice" {
		t.Errorf("SCRAM after the upgrade: %q, %v", name, err)
	}
}
