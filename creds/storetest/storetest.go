// Package storetest holds a [creds.Store] to the properties saslkit's
// in-memory store has, so that every backend (a database, a directory, a
// cache in front of either) passes one suite:
//
//   - an account is found under its name and every spelling SASLprep
//     (RFC 4013) maps to it, and the Verifier reports its canonical name,
//     never the client's spelling;
//   - an unknown name, and one that SASLprep refuses, is ErrUnknownUser;
//   - passwords in each encoding of package creds/hash check right and
//     wrong; SCRAM keys come back byte for byte, and a SCRAM exchange
//     logs in;
//   - the Profile describes the accounts: a password decoy of their cost
//     and the SCRAM shapes they have, so that an unknown user costs and
//     looks like a wrong password (the same error, the same number of
//     password checks, mock SCRAM keys of the real shape, and a time
//     within a factor of the wrong password's);
//   - lookups are safe for concurrent use, and a cancelled context never
//     makes a known user unknown;
//   - writes, for a store that is a [creds.AccountWriter]: replace,
//     delete, and names that collide after SASLprep refused;
//   - the credential upgrade, for a store that is a [creds.SCRAMUpgrader].
//
// Call [Run] from a backend's test.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// Setup describes the backend under test.
type Setup struct {
	// New returns a store holding exactly accounts, and nothing else. Run
	// calls it once per property, so each gets a fresh set; a backend may
	// share one server between calls if each call's accounts are apart
	// (a new schema, a new base DN).
	New func(t *testing.T, accounts []creds.Account) creds.Store
	// Schemes lists the password encodings the backend can hold, by the
	// prefix creds/hash writes ("$argon2id$", "$2a$", "$pbkdf2-sha256$",
	// "$scrypt$", "{PLAIN}"); nil means all of them.
	Schemes []string
	// NoSCRAM says the backend holds no SCRAM keys.
	NoSCRAM bool
	// NoClear says the backend holds no clear passwords (CRAM-MD5's).
	NoClear bool
}

// The accounts' password.
const password = "correct horse"

// hashers are the encodings the suite stores, at low cost so that it runs
// fast: a store's decoy must cost what they cost, whatever that is.
var hashers = []struct {
	prefix string
	h      interface {
		Hash(password string) (string, error)
	}
}{
	{"$argon2id$", hash.Argon2id{Time: 1, Memory: 8 * 1024, Threads: 1, KeyLen: 32, SaltLen: 16}},
	{"$2a$", hash.Bcrypt{Cost: 4}},
	{"$pbkdf2-sha256$", hash.PBKDF2{Digest: "sha256", Rounds: 2000}},
	{"$scrypt$", hash.Scrypt{N: 1024, R: 8, P: 1, KeyLen: 32, SaltLen: 16}},
}

func (s *Setup) scheme(prefix string) bool {
	return s.Schemes == nil || slices.Contains(s.Schemes, prefix)
}

// names are canonical account names, with a spelling of each that
// SASLprep maps to it.
var names = []struct{ canonical, other string }{
	{"alice", "ａｌｉｃｅ"},                 // fullwidth
	{"Bob", "B\u00adob"},               // a soft hyphen, mapped to nothing
	{"Ünïcode", "U\u0308ni\u0308code"}, // decomposed, NFKC composes it
	{"dave@example.org", "dave\uff20example.org"},
}

// accounts returns one account per name, all with the suite's password in
// encoding prefix (and SCRAM keys unless the backend holds none).
func (s *Setup) accounts(t *testing.T, prefix string) []creds.Account {
	t.Helper()
	var h interface{ Hash(string) (string, error) }
	for _, x := range hashers {
		if x.prefix == prefix {
			h = x.h
		}
	}
	var out []creds.Account
	for i, n := range names {
		a := creds.Account{Name: n.canonical}
		switch {
		case prefix == "{PLAIN}":
			a.Password = "{PLAIN}" + password
		case h != nil:
			pw, err := h.Hash(password)
			if err != nil {
				t.Fatal(err)
			}
			a.Password = pw
		}
		if !s.NoSCRAM {
			for _, hn := range []string{"SHA-1", "SHA-256"} {
				salt := []byte(fmt.Sprintf("salt-%02d-%s-xx", i, hn))[:16]
				k, err := creds.DeriveSCRAMKeys(hn, password, salt, 4096, false)
				if err != nil {
					t.Fatal(err)
				}
				a.SCRAM = append(a.SCRAM, k)
			}
		}
		out = append(out, a)
	}
	return out
}

// prefixes returns the password encodings the backend holds, hashed ones
// first.
func (s *Setup) prefixes() []string {
	var out []string
	for _, x := range hashers {
		if s.scheme(x.prefix) {
			out = append(out, x.prefix)
		}
	}
	if !s.NoClear && s.scheme("{PLAIN}") {
		out = append(out, "{PLAIN}")
	}
	return out
}

// Run checks the backend against every property, each in a subtest.
func Run(t *testing.T, s Setup) {
	t.Helper()
	if s.New == nil {
		t.Fatal("storetest: Setup needs New")
	}
	if len(s.prefixes()) == 0 {
		t.Fatal("storetest: Setup.Schemes leaves no password encoding")
	}
	t.Run("Names", func(t *testing.T) { s.names(t) })
	t.Run("Unknown", func(t *testing.T) { s.unknown(t) })
	for _, p := range s.prefixes() {
		t.Run("Passwords/"+strings.Trim(p, "${}"), func(t *testing.T) { s.passwords(t, p) })
	}
	if !s.NoSCRAM {
		t.Run("SCRAM", func(t *testing.T) { s.scram(t) })
	}
	t.Run("Enumeration", func(t *testing.T) { s.enumeration(t) })
	t.Run("Concurrent", func(t *testing.T) { s.concurrent(t) })
	t.Run("Cancelled", func(t *testing.T) { s.cancelled(t) })
	// The write properties run only for stores that can be written:
	// an empty store says which. A wrapper (a cache) may have the methods and report
	// errors.ErrUnsupported for a store without them.
	probe := s.New(t, nil)
	ctx := context.Background()
	if w, ok := probe.(creds.AccountWriter); ok && !errors.Is(w.SetAccount(ctx, creds.Account{}), errors.ErrUnsupported) {
		t.Run("Writes", func(t *testing.T) { s.writes(t) })
	}
	if u, ok := probe.(creds.SCRAMUpgrader); ok && !s.NoSCRAM && !errors.Is(u.UpgradeSCRAM(ctx, "nobody", nil), errors.ErrUnsupported) {
		t.Run("Upgrade", func(t *testing.T) { s.upgrade(t) })
	}
}

func (s *Setup) store(t *testing.T, accounts []creds.Account) (creds.Store, *creds.Verifier) {
	t.Helper()
	st := s.New(t, accounts)
	return st, &creds.Verifier{Store: st, Secret: []byte("storetest secret, 32 octets long")}
}

func (s *Setup) names(t *testing.T) {
	ctx := context.Background()
	st, v := s.store(t, s.accounts(t, s.prefixes()[0]))
	for _, n := range names {
		for _, spelling := range []string{n.canonical, n.other} {
			id, err := st.Lookup(ctx, spelling)
			if err != nil {
				t.Errorf("Lookup(%q): %v", spelling, err)
				continue
			}
			if got := id.AccountName(); got != n.canonical {
				t.Errorf("Lookup(%q) = account %q, want %q", spelling, got, n.canonical)
			}
			if a, err := v.CheckPassword(ctx, spelling, password); err != nil || a != n.canonical {
				t.Errorf("CheckPassword(%q) = %q, %v; want %q", spelling, a, err, n.canonical)
			}
		}
	}
}

func (s *Setup) unknown(t *testing.T) {
	ctx := context.Background()
	st, v := s.store(t, s.accounts(t, s.prefixes()[0]))
	for _, name := range []string{"nobody", "alic", "alice ", "ALICE", "bob", "\u0007bell", "x\u0000y", "*", "a)(uid=*", "%", "'; --", strings.Repeat("z", 1024)} {
		if _, err := st.Lookup(ctx, name); !errors.Is(err, creds.ErrUnknownUser) {
			t.Errorf("Lookup(%q): %v, want ErrUnknownUser", name, err)
		}
		if _, err := v.CheckPassword(ctx, name, password); !errors.Is(err, creds.ErrBadCredentials) {
			t.Errorf("CheckPassword(%q): %v, want ErrBadCredentials", name, err)
		}
	}
}

func (s *Setup) passwords(t *testing.T, prefix string) {
	ctx := context.Background()
	_, v := s.store(t, s.accounts(t, prefix))
	for _, n := range names {
		if a, err := v.CheckPassword(ctx, n.canonical, password); err != nil || a != n.canonical {
			t.Errorf("right password for %q: %q, %v", n.canonical, a, err)
		}
		for _, wrong := range []string{"correct horsE", "", "correct horse ", "x"} {
			if _, err := v.CheckPassword(ctx, n.canonical, wrong); !errors.Is(err, creds.ErrBadCredentials) {
				t.Errorf("wrong password %q for %q: %v", wrong, n.canonical, err)
			}
		}
	}
	if prefix == "{PLAIN}" {
		if !s.New(t, s.accounts(t, prefix)).Profile().ClearSecrets {
			t.Error("a store of clear passwords does not say so in its Profile")
		}
	}
}

func (s *Setup) scram(t *testing.T) {
	ctx := context.Background()
	accounts := s.accounts(t, s.prefixes()[0])
	st, v := s.store(t, accounts)
	for _, a := range accounts {
		id, err := st.Lookup(ctx, a.Name)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := id.(creds.SCRAMKeyHolder)
		if !ok {
			t.Fatalf("%s: identity %T holds no SCRAM keys", a.Name, id)
		}
		for _, want := range a.SCRAM {
			got, ok := h.SCRAMKeys(want.Hash)
			if !ok || got.Dovecot() != want.Dovecot() {
				t.Errorf("%s: %s keys differ from those stored (%v)", a.Name, want.Hash, want)
			}
		}
		if _, ok := h.SCRAMKeys("SHA-512"); ok {
			t.Errorf("%s: SHA-512 keys it was never given", a.Name)
		}
	}
	p := st.Profile()
	for _, hn := range []string{"SHA-1", "SHA-256"} {
		i := slices.IndexFunc(p.SCRAM, func(x creds.SCRAMShape) bool { return x.Hash == hn })
		if i < 0 || p.SCRAM[i].SaltLen != 16 || p.SCRAM[i].Iterations != 4096 {
			t.Errorf("Profile SCRAM shapes %+v, want %s with a 16-octet salt and 4096 iterations", p.SCRAM, hn)
		}
	}
	// A whole exchange, spelled otherwise, logs in the canonical name.
	cfg := &session.Config{Verifier: v}
	for _, n := range names {
		srv, err := session.NewServer(scram.Mechanism{}, mechChannel, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: n.other, Password: password}, mechChannel, nil)
		if p, err := session.Run(ctx, cli, srv, nil); err != nil || p.Account() != n.canonical {
			t.Errorf("SCRAM-SHA-256 as %q: %v", n.other, err)
		}
	}
}

// counting wraps a store and counts the password checks the Verifier
// makes, on identities and on the decoy.
type counting struct {
	creds.Store
	checks atomic.Int64
}

type countingChecker struct {
	creds.PasswordChecker
	n *atomic.Int64
}

func (c countingChecker) CheckPassword(pw string) error {
	c.n.Add(1)
	return c.PasswordChecker.CheckPassword(pw)
}

// countingIdentity forwards every capability of the identity it wraps.
type countingIdentity struct {
	id creds.Identity
	n  *atomic.Int64
}

func (c countingIdentity) AccountName() string { return c.id.AccountName() }
func (c countingIdentity) CheckPassword(pw string) error {
	c.n.Add(1)
	pc, ok := c.id.(creds.PasswordChecker)
	if !ok {
		return creds.ErrBadCredentials
	}
	return pc.CheckPassword(pw)
}
func (c countingIdentity) SCRAMKeys(h string) (creds.SCRAMKeys, bool) {
	if k, ok := c.id.(creds.SCRAMKeyHolder); ok {
		return k.SCRAMKeys(h)
	}
	return creds.SCRAMKeys{}, false
}
func (c countingIdentity) ClearSecret() (string, bool) {
	if k, ok := c.id.(creds.ClearSecretHolder); ok {
		return k.ClearSecret()
	}
	return "", false
}

func (c *counting) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	id, err := c.Store.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return countingIdentity{id, &c.checks}, nil
}

func (c *counting) Profile() creds.Profile {
	p := c.Store.Profile()
	if p.PasswordDecoy != nil {
		p.PasswordDecoy = countingChecker{p.PasswordDecoy, &c.checks}
	}
	return p
}

// enumeration checks that an unknown user is a wrong password: the same
// error, the same number of password checks, mock SCRAM keys of the real
// shape, and a time within a factor of the wrong password's.
func (s *Setup) enumeration(t *testing.T) {
	ctx := context.Background()
	for _, prefix := range s.prefixes() {
		if prefix == "{PLAIN}" {
			continue
		}
		st := s.New(t, s.accounts(t, prefix))
		c := &counting{Store: st}
		v := &creds.Verifier{Store: c, Secret: []byte("storetest secret, 32 octets long")}
		if st.Profile().PasswordDecoy == nil {
			t.Errorf("%s: a store of hashed passwords has no decoy", prefix)
			continue
		}
		try := func(name string) (int64, time.Duration, error) {
			c.checks.Store(0)
			start := time.Now()
			_, err := v.CheckPassword(ctx, name, "wrong password")
			return c.checks.Load(), time.Since(start), err
		}
		try("alice") // warm caches and connections
		try("nobody")
		var wrongT, unknownT []time.Duration
		for i := 0; i < 7; i++ {
			wn, wt, werr := try("alice")
			un, ut, uerr := try(fmt.Sprintf("nobody%d", i))
			if werr == nil || uerr == nil || werr.Error() != uerr.Error() {
				t.Fatalf("%s: wrong password %v, unknown user %v: want the same error", prefix, werr, uerr)
			}
			if wn != un || wn == 0 {
				t.Fatalf("%s: %d password checks for a wrong password, %d for an unknown user", prefix, wn, un)
			}
			wrongT, unknownT = append(wrongT, wt), append(unknownT, ut)
		}
		// The fastest of each: other load on the machine only adds
		// time, so the minimum is the cost itself. The decoy costs what
		// an account costs; a store round trip may differ, so the bound
		// is loose: a factor of 3.
		w, u := slices.Min(wrongT), slices.Min(unknownT)
		if u*3 < w || w*3 < u {
			t.Errorf("%s: a wrong password takes %v, an unknown user %v", prefix, w, u)
		}
		if !s.NoSCRAM {
			l, err := v.LookupSCRAM(ctx, "nobody", "SHA-256")
			if err != nil || len(l.Keys.Salt) != 16 || l.Keys.Iterations != 4096 {
				t.Errorf("%s: unknown user's SCRAM keys %v, %v; want the accounts' shape", prefix, l, err)
			}
		}
	}
}

func (s *Setup) concurrent(t *testing.T) {
	ctx := context.Background()
	st, _ := s.store(t, s.accounts(t, s.prefixes()[0]))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				n := names[(g+i)%len(names)]
				id, err := st.Lookup(ctx, n.other)
				if err != nil || id.AccountName() != n.canonical {
					errs <- fmt.Errorf("Lookup(%q): %v", n.other, err)
					return
				}
				if _, err := st.Lookup(ctx, "nobody"); !errors.Is(err, creds.ErrUnknownUser) {
					errs <- fmt.Errorf("Lookup(nobody): %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func (s *Setup) cancelled(t *testing.T) {
	st, _ := s.store(t, s.accounts(t, s.prefixes()[0]))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A store may ignore the context (in memory) or fail; it may not
	// call a known user unknown.
	if id, err := st.Lookup(ctx, "alice"); err == nil && id.AccountName() != "alice" || errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("Lookup with a cancelled context: %v, %v", id, err)
	}
}

func (s *Setup) writes(t *testing.T) {
	ctx := context.Background()
	st, v := s.store(t, s.accounts(t, s.prefixes()[0]))
	w := st.(creds.AccountWriter)
	// Replace alice's password.
	acct := creds.Account{Name: "alice", Password: "{PLAIN}new password"}
	if !s.scheme("{PLAIN}") || s.NoClear {
		pw, err := hashers[0].h.Hash("new password")
		if err != nil {
			t.Fatal(err)
		}
		acct.Password = pw
	}
	if err := w.SetAccount(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CheckPassword(ctx, "alice", password); !errors.Is(err, creds.ErrBadCredentials) {
		t.Errorf("old password after SetAccount: %v", err)
	}
	if a, err := v.CheckPassword(ctx, "ａｌｉｃｅ", "new password"); err != nil || a != "alice" {
		t.Errorf("new password after SetAccount: %q, %v", a, err)
	}
	// A new account whose name collides with Bob's after SASLprep.
	if err := w.SetAccount(ctx, creds.Account{Name: "Bob\u00ad", Password: acct.Password}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("a name that is Bob's after SASLprep: %v, want ErrMisconfigured", err)
	}
	// A malformed account.
	if err := w.SetAccount(ctx, creds.Account{Name: "", Password: acct.Password}); !errors.Is(err, creds.ErrMisconfigured) {
		t.Errorf("an empty name: %v, want ErrMisconfigured", err)
	}
	// Delete.
	if err := w.DeleteAccount(ctx, "dave@example.org"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Lookup(ctx, "dave@example.org"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("after DeleteAccount: %v", err)
	}
	if err := w.DeleteAccount(ctx, "dave@example.org"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("DeleteAccount of an unknown name: %v", err)
	}
	if id, err := st.Lookup(ctx, "Ünïcode"); err != nil || id.AccountName() != "Ünïcode" {
		t.Errorf("the others are untouched: %v", err)
	}
}

func (s *Setup) upgrade(t *testing.T) {
	ctx := context.Background()
	accounts := s.accounts(t, s.prefixes()[0])
	for i := range accounts {
		accounts[i].SCRAM = nil
	}
	st := s.New(t, accounts)
	v := &creds.Verifier{Store: st, Upgrade: []string{"SHA-256"}, Secret: []byte("storetest secret, 32 octets long")}
	if _, err := v.CheckPassword(ctx, "Bob", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if id, _ := st.Lookup(ctx, "Bob"); hasKeys(id, "SHA-256") {
		t.Error("a wrong password upgraded the account")
	}
	if _, err := v.CheckPassword(ctx, "B\u00adob", password); err != nil {
		t.Fatal(err)
	}
	id, err := st.Lookup(ctx, "Bob")
	if err != nil || !hasKeys(id, "SHA-256") {
		t.Fatalf("after a verified password: %v, keys %v", err, hasKeys(id, "SHA-256"))
	}
	if hasKeys(id, "SHA-1") {
		t.Error("keys for a hash Upgrade does not name")
	}
	srv, err := session.NewServer(scram.Mechanism{}, mechChannel, &session.Config{Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	cli := session.NewClient(scram.Mechanism{}, creds.Client{Authcid: "Bob", Password: password}, mechChannel, nil)
	if p, err := session.Run(ctx, cli, srv, nil); err != nil || p.Account() != "Bob" {
		t.Errorf("SCRAM after the upgrade: %v", err)
	}
	// Another upgrade does not replace the keys.
	k1, _ := id.(creds.SCRAMKeyHolder).SCRAMKeys("SHA-256")
	if _, err := v.CheckPassword(ctx, "Bob", password); err != nil {
		t.Fatal(err)
	}
	id, _ = st.Lookup(ctx, "Bob")
	if k2, _ := id.(creds.SCRAMKeyHolder).SCRAMKeys("SHA-256"); k2.Dovecot() != k1.Dovecot() {
		t.Error("a second login replaced the upgraded keys")
	}
}

// mechChannel is the channel of the suite's SCRAM exchanges: no TLS.
var mechChannel = mech.Channel{}

func hasKeys(id creds.Identity, h string) bool {
	k, ok := id.(creds.SCRAMKeyHolder)
	if !ok {
		return false
	}
	_, ok = k.SCRAMKeys(h)
	return ok
}
