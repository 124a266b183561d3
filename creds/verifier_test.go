package creds_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
)

// funcStore is a Store whose Lookup is a function and whose Profile is
// fixed.
type funcStore struct {
	lookup  func(name string) (creds.Identity, error)
	profile creds.Profile
}

func (s *funcStore) Lookup(_ context.Context, name string) (creds.Identity, error) {
	return s.lookup(name)
}
func (s *funcStore) Profile() creds.Profile { return s.profile }

// failingStore is a Store whose lookups fail with err.
func failingStore(err error) *funcStore {
	return &funcStore{lookup: func(string) (creds.Identity, error) { return nil, err }}
}

// nameOnly is an Identity with no capability at all.
type nameOnly string

func (n nameOnly) AccountName() string { return string(n) }

// countingChecker is a PasswordChecker that counts its calls and accepts
// every password, so that a Verifier that trusted its answer would let
// anybody in.
type countingChecker struct {
	mu sync.Mutex
	n  int
}

func (c *countingChecker) CheckPassword(string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return nil
}

func (c *countingChecker) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// testStore returns a MemoryStore of:
//
//	admin   PBKDF2 "pencil"
//	scram   SCRAM-SHA-256 keys of "pencil" only (salt 24, 8192 iterations)
//	scram2  the same shape
//	cram    clear "pen\u00ADcil", "pencil" after SASLprep (CRAM-MD5)
//	raw     clear "pen\u00ADcil", NoPrep
//	nopw    no secret
func testStore(t testing.TB) *creds.MemoryStore {
	t.Helper()
	var m creds.MemoryStore
	for _, a := range []creds.Account{
		{Name: "admin", Password: mustHash(t, "pencil", testPBKDF2)},
		{Name: "scram", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "pencil", 24, 8192, false)}},
		{Name: "scram2", SCRAM: []creds.SCRAMKeys{mustKeys(t, "SHA-256", "other", 24, 8192, false)}},
		{Name: "cram", Password: "{PLAIN}pen\u00ADcil"},
		{Name: "raw", Password: "{PLAIN}pen\u00ADcil", NoPrep: true},
		{Name: "nopw"},
	} {
		if err := m.Add(a); err != nil {
			t.Fatalf("Add(%q): %v", a.Name, err)
		}
	}
	return &m
}

func TestVerifierCheckPassword(t *testing.T) {
	v := &creds.Verifier{Store: testStore(t)}
	tests := []struct {
		name, password string
		want           string // the account; "" for ErrBadCredentials
	}{
		{"admin", "pencil", "admin"},
		{"ａｄｍｉｎ", "pencil", "admin"},
		{"ad\u00ADmin", "pencil", "admin"},
		{"ad\u200Bmin", "pencil", "admin"},
		{"𝐚𝐝𝐦𝐢𝐧", "pencil", "admin"},
		{"admin", "ｐｅｎｃｉｌ", "admin"},
		{"admin", "wrong", ""},
		{"admin", "", ""},
		{"Admin", "pencil", ""},
		{"nobody", "pencil", ""},
		{"", "pencil", ""},
		{"scram", "pencil", "scram"}, // checked against its SCRAM keys
		{"scram", "other", ""},
		{"cram", "pencil", "cram"},
		{"cram", "pen\u00ADcil", "cram"},
		{"cram", "wrong", ""},
		{"raw", "pen\u00ADcil", "raw"},
		{"raw", "pencil", ""},
		{"nopw", "", ""},
		{"nopw", "pencil", ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q %q", tc.name, tc.password), func(t *testing.T) {
			got, err := v.CheckPassword(ctx, tc.name, tc.password)
			if tc.want == "" {
				if !errors.Is(err, creds.ErrBadCredentials) || got != "" {
					t.Errorf("CheckPassword = %q, %v; want ErrBadCredentials", got, err)
				}
				if errors.Is(err, creds.ErrUnknownUser) {
					t.Errorf("CheckPassword = %v: ErrUnknownUser escaped the Verifier", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("CheckPassword: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("account (-want +got):\n%s", diff)
			}
		})
	}

	// A wrong password and an unknown user cannot be told apart.
	_, wrong := v.CheckPassword(ctx, "admin", "wrong")
	_, unknown := v.CheckPassword(ctx, "nobody", "pencil")
	if diff := cmp.Diff(fmt.Sprint(wrong), fmt.Sprint(unknown)); diff != "" {
		t.Errorf("wrong password and unknown user differ (-wrong +unknown):\n%s", diff)
	}
}

// TestVerifierStoreErrors: a failed lookup is the store's error, never a
// wrong password; a missing store is a configuration error; a store's
// ErrUnknownUser never escapes.
func TestVerifierStoreErrors(t *testing.T) {
	down := errors.New("directory down")
	check := func(string) bool { return true }
	calls := map[string]func(v *creds.Verifier) error{
		"CheckPassword": func(v *creds.Verifier) error { _, err := v.CheckPassword(ctx, "admin", "pencil"); return err },
		"CheckClear":    func(v *creds.Verifier) error { _, err := v.CheckClear(ctx, "admin", check); return err },
		"LookupSCRAM":   func(v *creds.Verifier) error { _, err := v.LookupSCRAM(ctx, "admin", "SHA-256"); return err },
		"Profile":       func(v *creds.Verifier) error { _, err := v.Profile(); return err },
	}
	tests := []struct {
		name    string
		v       *creds.Verifier
		want    error
		profile bool // whether Profile fails too
	}{
		{"store down", &creds.Verifier{Store: failingStore(down)}, down, false},
		{"store down, wrapped", &creds.Verifier{Store: failingStore(fmt.Errorf("ldap: %w", down))}, down, false},
		{"nil Store", &creds.Verifier{}, creds.ErrMisconfigured, true},
		{"nil Verifier", nil, creds.ErrMisconfigured, true},
	}
	for _, tc := range tests {
		for method, call := range calls {
			t.Run(tc.name+"/"+method, func(t *testing.T) {
				err := call(tc.v)
				if method == "Profile" && !tc.profile {
					if err != nil {
						t.Errorf("Profile = %v", err)
					}
					return
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("%s = %v, want an error wrapping %v", method, err, tc.want)
				}
				if errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("%s = %v: a store failure is no wrong password", method, err)
				}
			})
		}
	}

	// A store may wrap ErrUnknownUser: it is still an unknown user.
	v := &creds.Verifier{Store: failingStore(fmt.Errorf("ldap: no entry: %w", creds.ErrUnknownUser))}
	if _, err := v.CheckPassword(ctx, "admin", "pencil"); !errors.Is(err, creds.ErrBadCredentials) || errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("CheckPassword with a wrapped ErrUnknownUser = %v, want ErrBadCredentials only", err)
	}
	if _, err := v.CheckClear(ctx, "admin", check); !errors.Is(err, creds.ErrBadCredentials) || errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("CheckClear with a wrapped ErrUnknownUser = %v, want ErrBadCredentials only", err)
	}
	l, err := v.LookupSCRAM(ctx, "admin", "SHA-256")
	if err != nil {
		t.Fatalf("LookupSCRAM with a wrapped ErrUnknownUser = %v, want mock keys", err)
	}
	if _, err := l.Account(); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("mock keys: Account = %v", err)
	}
}

// TestVerifierDecoy: an unknown user, an account without a password and a
// clear-password account in a hashed store are all checked against the
// store's decoy, whose answer never counts.
func TestVerifierDecoy(t *testing.T) {
	hashed := &creds.Account{Name: "hashed", Password: mustHash(t, "pw", testPBKDF2)}
	accounts := map[string]creds.Identity{
		"clear":  &creds.Account{Name: "clear", Password: "{PLAIN}pw"},
		"hashed": hashed,
		"none":   &creds.Account{Name: "none"},
		"nopw":   nameOnly("nopw"),
	}
	lookup := func(name string) (creds.Identity, error) {
		if id, ok := accounts[name]; ok {
			return id, nil
		}
		return nil, creds.ErrUnknownUser
	}
	tests := []struct {
		name, password string
		want           string // the account; "" for ErrBadCredentials
		decoys         int
	}{
		{"nobody", "pw", "", 1},
		{"nobody", "", "", 1},
		{"nopw", "pw", "", 1},
		{"none", "pw", "", 1},
		{"clear", "pw", "clear", 1},
		{"clear", "wrong", "", 1},
		{"hashed", "pw", "hashed", 0},
		{"hashed", "wrong", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.password, func(t *testing.T) {
			decoy := &countingChecker{}
			v := &creds.Verifier{Store: &funcStore{lookup: lookup, profile: creds.Profile{PasswordDecoy: decoy}}}
			got, err := v.CheckPassword(ctx, tc.name, tc.password)
			if tc.want == "" {
				if !errors.Is(err, creds.ErrBadCredentials) || got != "" {
					t.Errorf("CheckPassword = %q, %v; want ErrBadCredentials", got, err)
				}
			} else if err != nil || got != tc.want {
				t.Errorf("CheckPassword = %q, %v; want %q", got, err, tc.want)
			}
			if n := decoy.calls(); n != tc.decoys {
				t.Errorf("decoy checked %d times, want %d", n, tc.decoys)
			}
		})
	}

	// Without a decoy in the profile, unknown users still fail.
	v := &creds.Verifier{Store: &funcStore{lookup: lookup}}
	if got, err := v.CheckPassword(ctx, "nobody", "pw"); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("unknown user without a decoy = %q, %v; want ErrBadCredentials", got, err)
	}
}

// gate is a PasswordChecker that blocks until released, counting the
// checks that run at once.
type gate struct {
	entered chan struct{} // one value per check that started
	release chan struct{} // closed to let the checks finish

	mu             sync.Mutex
	cur, max, runs int
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (g *gate) CheckPassword(password string) error {
	g.mu.Lock()
	g.cur++
	g.runs++
	g.max = max(g.max, g.cur)
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.cur--
	g.mu.Unlock()
	if password == "right" {
		return nil
	}
	return creds.ErrBadCredentials
}

func (g *gate) counts() (maxRunning, runs int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max, g.runs
}

// gatedAccount is an account whose password check is g's.
type gatedAccount struct {
	name string
	*gate
}

func (a gatedAccount) AccountName() string { return a.name }

// gateStore is a store of gated accounts named "known…", whose decoy is
// the gate too.
func gateStore(g *gate) creds.Store {
	return &funcStore{
		lookup: func(name string) (creds.Identity, error) {
			if strings.HasPrefix(name, "known") {
				return gatedAccount{name, g}, nil
			}
			return nil, creds.ErrUnknownUser
		},
		profile: creds.Profile{PasswordDecoy: g},
	}
}

// waitEntered waits for n checks to start.
func waitEntered(t *testing.T, g *gate, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d checks started", i, n)
		}
	}
}

// TestVerifierMaxConcurrent: at most MaxConcurrent checks run at once,
// decoys included.
func TestVerifierMaxConcurrent(t *testing.T) {
	g := newGate()
	v := &creds.Verifier{Store: gateStore(g), MaxConcurrent: 2}
	type result struct {
		account string
		err     error
	}
	names := []string{"known1", "nobody1", "known2", "nobody2", "known3", "nobody3"}
	results := make([]result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := v.CheckPassword(ctx, name, "right")
			results[i] = result{a, err}
		}()
	}
	waitEntered(t, g, 2)
	// The others wait their turn.
	select {
	case <-g.entered:
		t.Error("a third check started while two ran, with MaxConcurrent 2")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.release)
	wg.Wait()
	maxRunning, runs := g.counts()
	if maxRunning != 2 || runs != len(names) {
		t.Errorf("%d checks ran, at most %d at once; want %d, at most 2", runs, maxRunning, len(names))
	}
	for i, name := range names {
		r := results[i]
		if strings.HasPrefix(name, "known") {
			if r.err != nil || r.account != name {
				t.Errorf("%s: %q, %v", name, r.account, r.err)
			}
		} else if !errors.Is(r.err, creds.ErrBadCredentials) {
			// The decoy accepts "right"; its answer must not count.
			t.Errorf("%s: %q, %v; want ErrBadCredentials", name, r.account, r.err)
		}
	}
}

// TestVerifierWaitCancelled: a check waiting its turn returns its
// context's error when the context is done, without checking.
func TestVerifierWaitCancelled(t *testing.T) {
	g := newGate()
	v := &creds.Verifier{Store: gateStore(g), MaxConcurrent: 1}
	first := make(chan error, 1)
	go func() {
		_, err := v.CheckPassword(ctx, "known1", "right")
		first <- err
	}()
	waitEntered(t, g, 1)

	for _, name := range []string{"known2", "nobody"} {
		cctx, cancel := context.WithCancel(ctx)
		waiting := make(chan error, 1)
		go func() {
			_, err := v.CheckPassword(cctx, name, "right")
			waiting <- err
		}()
		select {
		case err := <-waiting:
			t.Fatalf("%s: CheckPassword returned %v while the only slot was taken", name, err)
		case <-time.After(50 * time.Millisecond):
		}
		cancel()
		select {
		case err := <-waiting:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: cancelled wait = %v, want context.Canceled", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: CheckPassword did not return after its context was cancelled", name)
		}
	}
	deadline, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := v.CheckPassword(deadline, "known3", "right"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wait past the deadline = %v, want context.DeadlineExceeded", err)
	}

	close(g.release)
	if err := <-first; err != nil {
		t.Errorf("first check: %v", err)
	}
	if _, runs := g.counts(); runs != 1 {
		t.Errorf("%d checks ran, want 1: the cancelled ones must not", runs)
	}
	// The slot is free again.
	if a, err := v.CheckPassword(ctx, "known4", "right"); err != nil || a != "known4" {
		t.Errorf("after the wait: %q, %v", a, err)
	}
}

func TestVerifierCheckClear(t *testing.T) {
	v := &creds.Verifier{Store: testStore(t)}
	tests := []struct {
		name   string
		answer bool     // what check returns
		want   string   // the account; "" for ErrBadCredentials
		seen   []string // the secrets check saw; nil: one random secret
	}{
		{"cram", true, "cram", []string{"pencil"}},
		{"ｃｒａｍ", true, "cram", []string{"pencil"}},
		{"cram", false, "", []string{"pencil"}},
		{"raw", true, "raw", []string{"pen\u00ADcil"}},
		{"Raw", true, "", nil},
		// No clear password, or no account: check runs once with a
		// random secret, and its answer does not count.
		{"admin", true, "", nil},
		{"scram", true, "", nil},
		{"nopw", true, "", nil},
		{"nobody", true, "", nil},
		{"nobody", false, "", nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q %v", tc.name, tc.answer), func(t *testing.T) {
			var seen []string
			got, err := v.CheckClear(ctx, tc.name, func(secret string) bool {
				seen = append(seen, secret)
				return tc.answer
			})
			if tc.want == "" {
				if !errors.Is(err, creds.ErrBadCredentials) || got != "" {
					t.Errorf("CheckClear = %q, %v; want ErrBadCredentials", got, err)
				}
			} else if err != nil || got != tc.want {
				t.Errorf("CheckClear = %q, %v; want %q", got, err, tc.want)
			}
			if tc.seen != nil {
				if diff := cmp.Diff(tc.seen, seen); diff != "" {
					t.Errorf("secrets check saw (-want +got):\n%s", diff)
				}
				return
			}
			if len(seen) != 1 || len(seen[0]) < 16 || strings.Contains(seen[0], "pencil") {
				t.Errorf("check saw %q, want one random secret", seen)
			}
		})
	}
}

func TestVerifierLookupSCRAM(t *testing.T) {
	store := testStore(t)
	secret := []byte("0123456789abcdef0123456789abcdef")
	v := &creds.Verifier{Store: store, Secret: secret}
	stored := mustKeys(t, "SHA-256", "pencil", 24, 8192, false)

	// A known account: its keys, and its canonical name.
	for _, name := range []string{"scram", "ｓｃｒａｍ", "scr\u00ADam"} {
		l, err := v.LookupSCRAM(ctx, name, "SHA-256")
		if err != nil {
			t.Fatalf("LookupSCRAM(%q): %v", name, err)
		}
		if diff := cmp.Diff(stored, l.Keys); diff != "" {
			t.Errorf("LookupSCRAM(%q) keys (-want +got):\n%s", name, diff)
		}
		if a, err := l.Account(); err != nil || a != "scram" {
			t.Errorf("LookupSCRAM(%q).Account() = %q, %v; want scram", name, a, err)
		}
	}

	mock := func(v *creds.Verifier, name, hash string) creds.SCRAMKeys {
		t.Helper()
		l, err := v.LookupSCRAM(ctx, name, hash)
		if err != nil {
			t.Fatalf("LookupSCRAM(%q, %s): %v", name, hash, err)
		}
		if a, err := l.Account(); !errors.Is(err, creds.ErrBadCredentials) || a != "" {
			t.Errorf("LookupSCRAM(%q, %s).Account() = %q, %v; want ErrBadCredentials", name, hash, a, err)
		}
		return l.Keys
	}

	// Mock keys have the store's shape: salt length 24, 8192 iterations.
	// An account without SCRAM keys gets them too.
	for _, name := range []string{"nobody", "admin", "cram", "nopw", "Scram"} {
		k := mock(v, name, "SHA-256")
		got := []any{k.Hash, len(k.Salt), k.Iterations, len(k.StoredKey), len(k.ServerKey)}
		if diff := cmp.Diff([]any{"SHA-256", 24, 8192, 32, 32}, got); diff != "" {
			t.Errorf("%s: mock keys' hash, salt length, iterations, key lengths (-want +got):\n%s", name, diff)
		}
		if bytes.Equal(k.Salt, stored.Salt) || bytes.Equal(k.StoredKey, stored.StoredKey) {
			t.Errorf("%s: mock keys share the real account's salt or key", name)
		}
	}
	// A hash the store has no keys for: the default shape.
	k := mock(v, "nobody", "SHA-512")
	if diff := cmp.Diff([]any{"SHA-512", 16, 4096, 64, 64}, []any{k.Hash, len(k.Salt), k.Iterations, len(k.StoredKey), len(k.ServerKey)}); diff != "" {
		t.Errorf("SHA-512 mock keys (-want +got):\n%s", diff)
	}

	// Stable for one name, across calls and across Verifiers with the
	// same Secret; one for every spelling of the name; different between
	// names and between secrets.
	nobody := mock(v, "nobody", "SHA-256")
	same := map[string]creds.SCRAMKeys{
		"second call":               mock(v, "nobody", "SHA-256"),
		"another Verifier":          mock(&creds.Verifier{Store: store, Secret: bytes.Clone(secret)}, "nobody", "SHA-256"),
		"fullwidth spelling":        mock(v, "ｎｏｂｏｄｙ", "SHA-256"),
		"soft hyphen spelling":      mock(v, "no\u00ADbody", "SHA-256"),
		"mathematical spelling":     mock(v, "𝐧𝐨𝐛𝐨𝐝𝐲", "SHA-256"),
		"another Verifier, spelled": mock(&creds.Verifier{Store: store, Secret: bytes.Clone(secret)}, "ｎｏｂｏｄｙ", "SHA-256"),
	}
	for what, k := range same {
		if diff := cmp.Diff(nobody, k); diff != "" {
			t.Errorf("%s: mock keys differ (-first +got):\n%s", what, diff)
		}
	}
	differ := map[string]creds.SCRAMKeys{
		"another name":   mock(v, "nobody2", "SHA-256"),
		"case":           mock(v, "Nobody", "SHA-256"),
		"another secret": mock(&creds.Verifier{Store: store, Secret: []byte("another secret, 32 octets long..")}, "nobody", "SHA-256"),
		"no secret":      mock(&creds.Verifier{Store: store}, "nobody", "SHA-256"),
	}
	for what, k := range differ {
		// The salt is what a client sees; StoredKey and ServerKey never
		// leave the server, and no proof is accepted against them.
		if bytes.Equal(nobody.Salt, k.Salt) {
			t.Errorf("%s: mock salts are the same", what)
		}
	}
	// Without a Secret, the process's random one: stable within the
	// process.
	if diff := cmp.Diff(mock(&creds.Verifier{Store: store}, "nobody", "SHA-256"), mock(&creds.Verifier{Store: store}, "nobody", "SHA-256")); diff != "" {
		t.Errorf("mock keys without a Secret change between Verifiers (-first +second):\n%s", diff)
	}

	// Keys that are malformed are never used: mock keys instead.
	bad := stored
	bad.StoredKey = bad.StoredKey[:8]
	bv := &creds.Verifier{Store: &funcStore{lookup: func(string) (creds.Identity, error) {
		return &creds.Account{Name: "bad", SCRAM: []creds.SCRAMKeys{bad}}, nil
	}}}
	if k := mock(bv, "bad", "SHA-256"); len(k.StoredKey) != 32 {
		t.Errorf("malformed stored keys: got keys with a %d-octet StoredKey", len(k.StoredKey))
	}

	// The mechanism's result is fail-closed: a SCRAMLookup that the
	// Verifier did not make names no account.
	for _, l := range []*creds.SCRAMLookup{nil, {}, {Keys: stored}} {
		if a, err := l.Account(); !errors.Is(err, creds.ErrBadCredentials) || a != "" {
			t.Errorf("(%v).Account() = %q, %v; want ErrBadCredentials", l, a, err)
		}
	}

	// A hash that SCRAM does not know is a configuration error.
	if l, err := v.LookupSCRAM(ctx, "scram", "MD5"); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("LookupSCRAM(MD5) = %v, %v; want ErrMisconfigured", l, err)
	}
}

func TestVerifierProfile(t *testing.T) {
	store := testStore(t)
	p, err := (&creds.Verifier{Store: store}).Profile()
	if err != nil {
		t.Fatal(err)
	}
	want := store.Profile()
	if diff := cmp.Diff([]any{decoyName(t, want), want.ClearSecrets, want.SCRAM}, []any{decoyName(t, p), p.ClearSecrets, p.SCRAM}); diff != "" {
		t.Errorf("Profile (-store +verifier):\n%s", diff)
	}
	if diff := cmp.Diff([]creds.SCRAMShape{{Hash: "SHA-256", SaltLen: 24, Iterations: 8192}}, p.SCRAM); diff != "" {
		t.Errorf("SCRAM shapes (-want +got):\n%s", diff)
	}
	if !p.ClearSecrets {
		t.Error("ClearSecrets = false with clear passwords in the store")
	}
}

// failingChecker is an identity whose password check cannot be made.
type failingChecker struct{}

var errDirectoryDown = errors.New("directory down")

func (failingChecker) AccountName() string        { return "alice" }
func (failingChecker) CheckPassword(string) error { return errDirectoryDown }

type oneIdentity struct{ id creds.Identity }

func (s oneIdentity) Lookup(context.Context, string) (creds.Identity, error) { return s.id, nil }
func (oneIdentity) Profile() creds.Profile                                   { return creds.Profile{} }

// TestCheckPasswordFailure: a check that fails for another reason than a
// wrong password is not reported as one.
func TestCheckPasswordFailure(t *testing.T) {
	v := &creds.Verifier{Store: oneIdentity{failingChecker{}}}
	_, err := v.CheckPassword(context.Background(), "alice", "pw")
	if !errors.Is(err, errDirectoryDown) || errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("CheckPassword = %v, want the directory's error and not bad credentials", err)
	}
}
