package hardening

// Regression tests for the weaknesses the one-Verifier redesign removed.
// Each fails on the code before it (commit ab610cd), for the reason its
// comment gives.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// scramFirst sends the client-first message "n,,n=<u>,r=<nonce>" to a
// SCRAM server of hash h over v and returns the salt and the iteration
// count of its server-first message. It sends the name as given, unlike a
// client, which prepares it first.
func scramFirst(t *testing.T, v *creds.Verifier, h scram.Hash, u string) (salt []byte, iter string) {
	t.Helper()
	s, err := session.NewServer(scram.Mechanism{Hash: h}, mech.Channel{}, &session.Config{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	step, err := s.StartInitial(ctx, []byte("n,,n="+u+",r=fyko+d2lbbFgONRv9qkxdawL"))
	if err != nil {
		t.Fatal(err)
	}
	n, iter := serverFirstShape(t, step.Challenge)
	for _, a := range splitAttrs(step.Challenge) {
		if len(a) > 2 && a[:2] == "s=" {
			salt, _ = base64.StdEncoding.DecodeString(a[2:])
		}
	}
	if len(salt) != n {
		t.Fatalf("server-first %q: salt of %d octets", step.Challenge, n)
	}
	return salt, iter
}

func splitAttrs(c []byte) []string {
	var out []string
	start := 0
	for i, b := range c {
		if b == ',' {
			out = append(out, string(c[start:i]))
			start = i + 1
		}
	}
	return append(out, string(c[start:]))
}

// gsaslStore returns a store of three users whose SCRAM keys for each of
// hashes were read from the form gsasl --mkpasswd and Dovecot write,
// "{SCRAM-SHA-256}<iter>,<salt>,<StoredKey>,<ServerKey>", with salts of
// saltLen octets (gsasl makes 12).
func gsaslStore(t *testing.T, saltLen, iter int, hashes ...string) *creds.MemoryStore {
	t.Helper()
	var store creds.MemoryStore
	for i := range 3 {
		a := creds.Account{Name: fmt.Sprintf("user%d", i)}
		for _, h := range hashes {
			salt := make([]byte, saltLen)
			if _, err := rand.Read(salt); err != nil {
				t.Fatal(err)
			}
			k, err := creds.DeriveSCRAMKeys(h, enumPassword, salt, iter, false)
			if err != nil {
				t.Fatal(err)
			}
			line := k.Dovecot()
			if k, err = creds.ParseSCRAMKeys(line); err != nil {
				t.Fatalf("ParseSCRAMKeys(%q): %v", line, err)
			}
			a.SCRAM = append(a.SCRAM, k)
		}
		if err := store.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return &store
}

// TestRegressionSCRAMMockSaltLength: an unknown user's mock salt has the
// length of the store's salts, and the mock iteration count is the
// store's. Before, the mock salt was 16 octets whatever the store held, so
// against the 12-octet salts of gsasl --mkpasswd an s= of 16 octets
// marked a user as unknown.
func TestRegressionSCRAMMockSaltLength(t *testing.T) {
	for _, tc := range []struct{ salt, iter int }{{12, 4096}, {24, 4100}, {16, 4096}} {
		store := gsaslStore(t, tc.salt, tc.iter, "SHA-256", "SHA-1")
		v := &creds.Verifier{Store: store, Secret: []byte("0123456789abcdef0123456789abcdef")}
		for _, h := range []scram.Hash{scram.SHA256, scram.SHA1} {
			real, realIter := scramFirst(t, v, h, "user0")
			mock, mockIter := scramFirst(t, v, h, "nobody")
			if len(real) != tc.salt || len(mock) != tc.salt {
				t.Errorf("%s, %d-octet salts: known user's s= has %d octets, unknown user's %d", h.Mechanism(false), tc.salt, len(real), len(mock))
			}
			if want := itoa(tc.iter); realIter != want || mockIter != want {
				t.Errorf("%s, %d iterations: known user's i=%s, unknown user's i=%s", h.Mechanism(false), tc.iter, realIter, mockIter)
			}
		}
	}
}

// TestRegressionSCRAMMockSaltStable: an unknown user is given the same
// salt at every attempt, by every server that shares the Verifier's
// Secret (or the same server after a restart), and for every spelling of
// the name that SASLprep maps to one string, as a real account is. Before,
// the mock salt was a MAC of the name as the client spelled it, so "Ⅸ"
// and "IX" got two salts where a real account "IX" has one, and a real
// account was not found under another spelling at all.
func TestRegressionSCRAMMockSaltStable(t *testing.T) {
	secret := []byte("shared secret of both servers!!!")
	store := gsaslStore(t, 12, 4096, "SHA-256")
	if err := store.Add(kindSCRAM.account(t, "IX", enumPassword)); err != nil {
		t.Fatal(err)
	}
	// Two servers, or one before and after a restart: two Verifiers, and
	// a store read anew.
	store2 := gsaslStore(t, 12, 4096, "SHA-256")
	a := &creds.Verifier{Store: store, Secret: secret}
	b := &creds.Verifier{Store: store2, Secret: bytesClone(secret)}
	first, _ := scramFirst(t, a, scram.SHA256, "nobody")
	for i, tc := range []struct {
		v    *creds.Verifier
		name string
	}{
		{a, "nobody"},       // a second attempt
		{b, "nobody"},       // another server
		{a, "nob\u00ADody"}, // SASLprep maps U+00AD (soft hyphen) to nothing
	} {
		if got, _ := scramFirst(t, tc.v, scram.SHA256, tc.name); string(got) != string(first) {
			t.Errorf("case %d, %q: mock salt %x, first attempt %x", i, tc.name, got, first)
		}
	}
	// The same for a name that is an account's in another spelling, and
	// for an unknown one whose spellings differ.
	real, _ := scramFirst(t, a, scram.SHA256, "IX")
	if got, _ := scramFirst(t, a, scram.SHA256, "\u2168"); string(got) != string(real) {
		t.Errorf("account IX spelled \u2168: salt %x, want the account's %x", got, real)
	}
	m1, _ := scramFirst(t, a, scram.SHA256, "XII")
	if m2, _ := scramFirst(t, a, scram.SHA256, "\u216B"); string(m2) != string(m1) {
		t.Errorf("unknown XII spelled \u216B: mock salt %x, XII's %x", m2, m1)
	}
	// The salt is keyed: another secret gives another salt.
	c := &creds.Verifier{Store: store, Secret: []byte("another secret of another server")}
	if got, _ := scramFirst(t, c, scram.SHA256, "nobody"); string(got) == string(first) {
		t.Errorf("another secret gives the same mock salt %x", got)
	}
}

func bytesClone(b []byte) []byte { return append([]byte(nil), b...) }

// countingStore hands out identities that count their password checks and
// delegate them to the store's accounts.
type countingStore struct {
	*creds.MemoryStore
	checks atomic.Int64
}

type countingIdentity struct {
	a *creds.Account
	n *atomic.Int64
}

func (c countingIdentity) AccountName() string { return c.a.AccountName() }

func (c countingIdentity) CheckPassword(pw string) error {
	c.n.Add(1)
	return c.a.CheckPassword(pw)
}

func (s *countingStore) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	id, err := s.MemoryStore.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return countingIdentity{id.(*creds.Account), &s.checks}, nil
}

// plainExchange runs PLAIN as u with password pw against cfg.
func plainExchange(t testing.TB, cfg *session.Config, u, pw string) (session.Step, error) {
	t.Helper()
	s, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s.StartInitial(ctx, []byte("\x00"+u+"\x00"+pw))
}

// allocBytes returns the allocations and the bytes allocated by one call
// of f, on average.
func allocBytes(f func()) (allocs float64, bytes uint64) {
	const runs = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	allocs = testing.AllocsPerRun(runs, f)
	runtime.ReadMemStats(&after)
	return allocs, (after.TotalAlloc - before.TotalAlloc) / (runs + 1)
}

// TestRegressionPrepFailureCost: a password that fails SASLprep ("\x01",
// a control character) is checked against a hashed account, or against an
// account's SCRAM keys, with the same hash work as a wrong password. Before,
// HashedIdentity.Compare and scram.Identity.Compare returned as soon as
// SASLprep failed, without hashing, so that such a password was answered
// far sooner than a wrong one.
//
// The proxy for the hash work is what the hash allocates, which is
// deterministic: PBKDF2's HMAC states, Argon2id's memory (512 KiB here).
// The early return allocated only the SASLprep error.
func TestRegressionPrepFailureCost(t *testing.T) {
	keys := kindLoadKeys.account(t, "keys", enumPassword)
	for _, a := range []creds.Account{
		keys,
		kindPBKDF2.account(t, "pbkdf2", enumPassword),
		kindArgon2id.account(t, "argon2id", enumPassword),
		kindBcrypt.account(t, "bcrypt", enumPassword),
	} {
		t.Run(a.Name, func(t *testing.T) {
			prohibited, pBytes := allocBytes(func() { _ = a.CheckPassword("\x01") })
			wrong, wBytes := allocBytes(func() { _ = a.CheckPassword("wrong-secret") })
			if prohibited < wrong {
				t.Errorf("Account.CheckPassword(\"\\x01\"): %v allocations (%d B), a wrong password %v (%d B): the hash was skipped", prohibited, pBytes, wrong, wBytes)
			}
			if a.Name == "argon2id" && pBytes < 512<<10 {
				t.Errorf("Account.CheckPassword(\"\\x01\") allocated %d B, less than Argon2id's 512 KiB", pBytes)
			}
			// Through PLAIN and the Verifier: the prohibited password
			// reaches the account's check, fails like a wrong one, and
			// costs an exchange with a wrong one.
			var ms creds.MemoryStore
			if err := ms.Add(a); err != nil {
				t.Fatal(err)
			}
			cs := &countingStore{MemoryStore: &ms}
			cfg := &session.Config{Verifier: &creds.Verifier{Store: cs}}
			_, err := plainExchange(t, cfg, a.Name, "\x01")
			if !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("PLAIN with \"\\x01\": %v, want ErrBadCredentials", err)
			}
			if n := cs.checks.Load(); n != 1 {
				t.Errorf("PLAIN with \"\\x01\": %d password checks, want 1", n)
			}
			_, wantErr := plainExchange(t, cfg, a.Name, "wrong-secret")
			if err.Error() != wantErr.Error() {
				t.Errorf("PLAIN with \"\\x01\": %q; with a wrong password: %q", err, wantErr)
			}
			sp, _ := allocBytes(func() { _, _ = plainExchange(t, cfg, a.Name, "\x01") })
			sw, _ := allocBytes(func() { _, _ = plainExchange(t, cfg, a.Name, "wrong-secret") })
			if sp < sw {
				t.Errorf("PLAIN exchange with \"\\x01\": %v allocations, with a wrong password %v", sp, sw)
			}
		})
	}
}

// decoyCounting is a store whose password decoy counts its checks.
type decoyCounting struct {
	*creds.MemoryStore
	decoys atomic.Int64
}

type countingChecker struct {
	c creds.PasswordChecker
	n *atomic.Int64
}

func (c countingChecker) CheckPassword(pw string) error {
	c.n.Add(1)
	return c.c.CheckPassword(pw)
}

func (s *decoyCounting) Profile() creds.Profile {
	p := s.MemoryStore.Profile()
	if p.PasswordDecoy != nil {
		p.PasswordDecoy = countingChecker{p.PasswordDecoy, &s.decoys}
	}
	return p
}

// TestRegressionMixedStoreCost: in a store of {PLAIN} and hashed accounts,
// the Verifier checks a {PLAIN} account's password against the decoy as
// well, so that its wrong password costs what a hashed account's and an
// unknown user's cost. Before, a ClearIdentity was compared in the clear
// and nothing more, while an unknown user was checked against a decoy like
// the identity added last (a hash): in a mixed store the two paths cost
// microseconds against milliseconds.
func TestRegressionMixedStoreCost(t *testing.T) {
	for _, spec := range []*storeSpec{storeSpecs[6], storeSpecs[8]} { // clear+bcrypt, loadtest
		s := buildStore(t, spec)
		ds := &decoyCounting{MemoryStore: s.store}
		if ds.Profile().PasswordDecoy == nil {
			t.Fatalf("%s: the store's profile has no password decoy", spec.name)
		}
		cfg := &session.Config{Verifier: &creds.Verifier{Store: ds}}
		clearUser, hashedUser := spec.known(spec.kinds[0]), spec.known(spec.kinds[1])
		for _, tc := range []struct {
			name, user, pw string
			ok             bool
			decoys         int64
		}{
			{"clear account, wrong password", clearUser, "wrong-secret", false, 1},
			{"clear account, right password", clearUser, enumPassword, true, 1},
			{"clear account, prohibited password", clearUser, "\x01", false, 1},
			{spec.kinds[1].name + " account, wrong password", hashedUser, "wrong-secret", false, 0},
			{"unknown user", "nobody", "wrong-secret", false, 1},
		} {
			for _, m := range []mech.Server{mech.Plain{}, mech.Login{}} {
				before := ds.decoys.Load()
				srv, err := session.NewServer(m, mech.Channel{Secure: true}, cfg)
				if err != nil {
					t.Fatal(err)
				}
				var step session.Step
				if m.Name() == "PLAIN" {
					step, err = srv.StartInitial(ctx, []byte("\x00"+tc.user+"\x00"+tc.pw))
				} else {
					for _, msg := range []string{"", tc.user, tc.pw} {
						if msg == "" {
							step, err = srv.Start(ctx)
						} else if err == nil {
							step, err = srv.Next(ctx, []byte(msg))
						}
					}
				}
				if got := ds.decoys.Load() - before; got != tc.decoys {
					t.Errorf("%s, %s, %s: %d decoy checks, want %d", spec.name, m.Name(), tc.name, got, tc.decoys)
				}
				if tc.ok != (err == nil && step.Done) || !tc.ok && !errors.Is(err, creds.ErrBadCredentials) {
					t.Errorf("%s, %s, %s: %+v, %v", spec.name, m.Name(), tc.name, step, err)
				}
			}
		}
	}
}

// TestRegressionCRAMHashedSameError: CRAM-MD5 over a store of clear and
// hashed accounts answers a hashed account (which CRAM-MD5 cannot check,
// even with the right password) exactly as it answers an unknown user:
// creds.ErrBadCredentials, after the same steps. Before, a hashed identity
// gave creds.ErrUnusable and an unknown user ErrBadCredentials, which told
// a client which names had accounts.
func TestRegressionCRAMHashedSameError(t *testing.T) {
	spec := &storeSpec{name: "clear+bcrypt+scram+argon2id", kinds: []*accountKind{kindClear, kindBcrypt, kindSCRAM, kindArgon2id}, count: []int{2, 2, 2, 1}}
	s := buildStore(t, spec)
	// The clear account logs in: CRAM-MD5 runs on this store.
	srv, err := s.newServer("CRAM-MD5")
	if err != nil {
		t.Fatal(err)
	}
	cli := s.newClient("CRAM-MD5", spec.known(kindClear), enumPassword)
	step, err := srv.Start(ctx)
	if err == nil {
		var resp []byte
		if resp, err = cli.Next(ctx, step.Challenge); err == nil {
			step, err = srv.Next(ctx, resp)
		}
	}
	if err != nil || !step.Done || step.Principal.Account() != spec.known(kindClear) {
		t.Fatalf("clear account: %+v, %v", step, err)
	}
	unknown := attempt(t, s, "CRAM-MD5", "nobody", enumPassword)
	if !unknown.bad {
		t.Fatalf("unknown user: %q, want ErrBadCredentials", unknown.err)
	}
	for _, k := range spec.kinds[1:] {
		// The right password: the account cannot be checked, and must not
		// be told from one that does not exist.
		got := attempt(t, s, "CRAM-MD5", spec.known(k), enumPassword)
		if got != unknown {
			t.Errorf("%s account: %+v; unknown user: %+v", k.name, got, unknown)
		}
	}
}

// blockingStore is a store whose password checks wait until released, and
// count how many run at once.
type blockingStore struct {
	looked   chan string   // a name, each time one is looked up
	entered  chan struct{} // a token, each time a check starts
	release  chan struct{} // closed to let the checks finish
	inside   atomic.Int64
	maxSeen  atomic.Int64
	finished atomic.Int64
}

type blockingIdentity struct {
	s    *blockingStore
	name string
}

func (b blockingIdentity) AccountName() string { return b.name }

func (b blockingIdentity) CheckPassword(pw string) error { return b.s.check(pw == enumPassword) }

func (s *blockingStore) check(ok bool) error {
	n := s.inside.Add(1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	s.entered <- struct{}{}
	<-s.release
	s.inside.Add(-1)
	s.finished.Add(1)
	if !ok {
		return creds.ErrBadCredentials
	}
	return nil
}

func (s *blockingStore) Lookup(_ context.Context, name string) (creds.Identity, error) {
	s.looked <- name
	if name == "nobody" {
		return nil, creds.ErrUnknownUser
	}
	return blockingIdentity{s, name}, nil
}

// Profile: an unknown user's password is checked against a decoy that
// blocks too, so that the bound is seen to hold decoys as well.
func (s *blockingStore) Profile() creds.Profile {
	return creds.Profile{PasswordDecoy: blockingDecoy{s}}
}

type blockingDecoy struct{ s *blockingStore }

func (d blockingDecoy) CheckPassword(string) error { return d.s.check(false) }

// TestRegressionVerificationBound: the Verifier runs at most MaxConcurrent
// password checks at once, decoys included; the others wait their turn, and
// one whose context ends while it waits returns the context's error. Before,
// there was no bound: every PLAIN exchange hashed at once, and a burst of
// logins against memory-hard hashes (64 MiB each for the default Argon2id)
// could exhaust memory before anyone authenticated.
func TestRegressionVerificationBound(t *testing.T) {
	const bound, n = 2, 7
	s := &blockingStore{
		looked:  make(chan string, n+1),
		entered: make(chan struct{}, n+1),
		release: make(chan struct{}),
	}
	cfg := &session.Config{Verifier: &creds.Verifier{Store: s, MaxConcurrent: bound}}
	// wait fails the test rather than hang if the Verifier misbehaves; it
	// asserts no timing.
	wait := func(c <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(30 * time.Second):
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	type result struct {
		user   string
		wantOK bool
		step   session.Step
		err    error
	}
	results := make(chan result, n)
	run := func(c context.Context, u, pw string) (session.Step, error) {
		srv, err := session.NewServer(mech.Plain{}, mech.Channel{Secure: true}, cfg)
		if err != nil {
			return session.Step{}, err
		}
		return srv.StartInitial(c, []byte("\x00"+u+"\x00"+pw))
	}
	var wg sync.WaitGroup
	for i := range n {
		// A third each: right password, wrong password, unknown user
		// (checked against the decoy).
		u, pw := fmt.Sprintf("u%d", i), enumPassword
		switch i % 3 {
		case 1:
			pw = "wrong-secret"
		case 2:
			u = "nobody"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			step, err := run(ctx, u, pw)
			results <- result{u, i%3 == 0, step, err}
		}()
	}
	// Every exchange reaches the Verifier; exactly bound of them get to
	// check, the rest wait.
	for range n {
		select {
		case <-s.looked:
		case <-time.After(30 * time.Second):
			t.Fatal("timed out waiting for the lookups")
		}
	}
	for range bound {
		wait(s.entered, "a check to start")
	}
	if got := s.inside.Load(); got != bound {
		t.Fatalf("%d checks running, want %d", got, bound)
	}
	// One more, whose context is cancelled while it waits for a slot.
	qctx, cancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() {
		_, err := run(qctx, "queued", enumPassword)
		queued <- err
	}()
	if got := <-s.looked; got != "queued" {
		t.Fatalf("looked up %q, want the queued exchange", got)
	}
	cancel()
	var qerr error
	select {
	case qerr = <-queued:
	case <-time.After(30 * time.Second):
		t.Fatal("the cancelled exchange did not return")
	}
	if !errors.Is(qerr, context.Canceled) {
		t.Errorf("cancelled while queued: %v, want context.Canceled", qerr)
	}
	if errors.Is(qerr, creds.ErrBadCredentials) {
		t.Errorf("cancelled while queued: %v is a failed login", qerr)
	}
	// Let every check finish; the queued ones then run, bound at a time.
	close(s.release)
	wg.Wait()
	close(results)
	for r := range results {
		switch {
		case !r.wantOK:
			if !errors.Is(r.err, creds.ErrBadCredentials) {
				t.Errorf("%s: %v, want ErrBadCredentials", r.user, r.err)
			}
		case r.err != nil || !r.step.Done || r.step.Principal.Account() != r.user:
			t.Errorf("%s: %+v, %v; want a login", r.user, r.step, r.err)
		}
	}
	if got := s.finished.Load(); got != n {
		t.Errorf("%d checks ran, want %d (the cancelled exchange must not check)", got, n)
	}
	if got := s.maxSeen.Load(); got != bound {
		t.Errorf("at most %d checks ran at once, want %d", got, bound)
	}
}
