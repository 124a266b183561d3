package postgres

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/internal/pgtest"
	"github.com/saslkit/saslkit/outcome"
)

// checkTemporary fails t unless err is the store's temporary failure: an
// *Error, never an unknown user or a wrong password.
func checkTemporary(t *testing.T, what string, err error) {
	t.Helper()
	var se *Error
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want a temporary failure", what)
	case errors.Is(err, creds.ErrUnknownUser), errors.Is(err, creds.ErrBadCredentials):
		t.Errorf("%s = %v: a store failure taken for an account's", what, err)
	case !errors.As(err, &se) || !se.Temporary():
		t.Errorf("%s = %v (%T), want an *Error", what, err, err)
	case outcome.Of(err) != outcome.Temporary:
		t.Errorf("%s: outcome.Of = %v, want temporary", what, outcome.Of(err))
	}
}

// TestDeadline holds locks in another transaction: every call that needs
// them fails at Config.QueryTimeout, or at the caller's earlier deadline,
// with a temporary failure.
func TestDeadline(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	const timeout = 300 * time.Millisecond
	alice := creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)}
	s := newTestStore(t, &Config{QueryTimeout: timeout, ProfileRefresh: -1}, alice)
	before := s.Profile()
	v := &creds.Verifier{Store: s}

	lock := func(t *testing.T, sql string) {
		tx, err := s.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tx.Rollback(context.Background()) })
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// bounded runs f and checks that it failed temporarily within
	// [min, max).
	bounded := func(t *testing.T, what string, min, max time.Duration, f func() error) {
		t.Helper()
		start := time.Now()
		err := f()
		took := time.Since(start)
		checkTemporary(t, what, err)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s = %v, want context.DeadlineExceeded", what, err)
		}
		if took < min || took >= max {
			t.Errorf("%s took %v, want %v to %v", what, took, min, max)
		}
	}
	t.Run("table locked", func(t *testing.T) {
		lock(t, `LOCK TABLE `+s.schema+`.accounts IN ACCESS EXCLUSIVE MODE`)
		bounded(t, "Lookup", timeout*8/10, 3*timeout, func() error {
			_, err := s.Lookup(ctx, "alice")
			return err
		})
		bounded(t, "Lookup of an unknown user", timeout*8/10, 3*timeout, func() error {
			_, err := s.Lookup(ctx, "mallory")
			return err
		})
		bounded(t, "Lookup with an earlier deadline", 0, timeout*8/10, func() error {
			c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := s.Lookup(c, "alice")
			return err
		})
		bounded(t, "CheckPassword", timeout*8/10, 3*timeout, func() error {
			_, err := v.CheckPassword(ctx, "alice", "pencil")
			return err
		})
		bounded(t, "SetAccount", timeout*8/10, 3*timeout, func() error {
			return s.SetAccount(ctx, creds.Account{Name: "bob", Password: "{PLAIN}x"})
		})
		bounded(t, "DeleteAccount", timeout*8/10, 3*timeout, func() error {
			return s.DeleteAccount(ctx, "alice")
		})
		bounded(t, "RefreshProfile", timeout*8/10, 3*timeout, func() error {
			return s.RefreshProfile(ctx)
		})
		if diff := cmp.Diff(before, s.Profile(), ignoreCache); diff != "" {
			t.Errorf("profile changed by a failed refresh (-want +got):\n%s", diff)
		}
	})
	t.Run("row locked", func(t *testing.T) {
		lock(t, `SELECT 1 FROM `+s.schema+`.accounts WHERE name = 'alice' FOR UPDATE`)
		bounded(t, "UpgradeSCRAM", timeout*8/10, 3*timeout, func() error {
			return s.UpgradeSCRAM(ctx, "alice", []creds.SCRAMKeys{keys(t, "SHA-256", "pencil", 16, 4096)})
		})
	})
	t.Run("recovered", func(t *testing.T) {
		if name, err := v.CheckPassword(ctx, "alice", "pencil"); err != nil || name != "alice" {
			t.Errorf("CheckPassword after the locks: %q, %v", name, err)
		}
	})
}

// TestDatabaseDown stops the postmaster, as a crash would, while lookups
// run: they fail temporarily, never as unknown users, the profile stays,
// and after a restart the pool reconnects and lookups work again.
func TestDatabaseDown(t *testing.T) {
	c := pgtest.Start(t, nil)
	ctx := testCtx(t, 2*time.Minute)
	s, err := Open(ctx, dsn(c), &Config{Migrate: true, QueryTimeout: time.Second, ProfileRefresh: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetAccount(ctx, creds.Account{Name: "alice", Password: hashed(t, "pencil", cheapPBKDF2)}); err != nil {
		t.Fatal(err)
	}
	before := s.Profile()
	v := &creds.Verifier{Store: s}

	// down is 1 from when the postmaster has exited to when it is
	// started again.
	var down atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(2 * time.Millisecond):
				}
				wasDown := down.Load() == 1
				name := "alice"
				if (g+i)%2 == 1 {
					name = "mallory"
				}
				_, err := s.Lookup(ctx, name)
				if err != nil {
					failures.Add(1)
				}
				switch {
				case name == "alice" && err != nil:
					checkTemporary(t, "Lookup(alice)", err)
				case wasDown && down.Load() == 1:
					checkTemporary(t, "Lookup(mallory) while down", err)
				case err != nil && !errors.Is(err, creds.ErrUnknownUser):
					checkTemporary(t, "Lookup(mallory)", err)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	c.Kill() // immediate shutdown: no checkpoint, as in a crash
	down.Store(1)
	time.Sleep(300 * time.Millisecond) // lookups and refreshes fail meanwhile
	_, err = v.CheckPassword(ctx, "alice", "pencil")
	checkTemporary(t, "CheckPassword while down", err)
	_, err = v.CheckPassword(ctx, "mallory", "pencil")
	checkTemporary(t, "CheckPassword of an unknown user while down", err)
	checkTemporary(t, "SetAccount while down", s.SetAccount(ctx, creds.Account{Name: "bob", Password: "{PLAIN}x"}))
	checkTemporary(t, "RefreshProfile while down", s.RefreshProfile(ctx))
	if diff := cmp.Diff(before, s.Profile(), ignoreCache); diff != "" {
		t.Errorf("profile changed while the database was down (-want +got):\n%s", diff)
	}
	if failures.Load() == 0 {
		t.Error("no lookup failed while the database was down")
	}

	down.Store(2)
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	deadline := restarted.Add(20 * time.Second)
	for {
		_, err := s.Lookup(ctx, "alice")
		if err == nil {
			break
		}
		checkTemporary(t, "Lookup after the restart", err)
		if time.Now().After(deadline) {
			t.Fatalf("lookups did not recover within 20 s of the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d lookups failed; they recovered %v after the restart", failures.Load(), time.Since(restarted))
	// Every connection of the pool works again.
	for i := range 20 {
		if name, err := v.CheckPassword(ctx, "alice", "pencil"); err != nil || name != "alice" {
			t.Fatalf("login %d after the restart: %q, %v", i, name, err)
		}
	}
	if _, err := v.CheckPassword(ctx, "mallory", "pencil"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("unknown user after the restart: %v, want ErrBadCredentials", err)
	}
}
