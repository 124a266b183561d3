package hardening

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/registry"
	"github.com/saslkit/saslkit/session"
)

// The account stores that the enumeration test and benchmark run every
// mechanism against: one per password scheme, one of SCRAM keys only, and
// mixed stores, as servers have while they migrate from one scheme to
// another.

// shape is the salt length and iteration count of a store's SCRAM keys
// for one hash: what the mock keys of unknown users must look like.
type shape struct{ salt, iter int }

// accountKind is a kind of account: how its secret is stored.
type accountKind struct {
	name string
	// clear reports that the account holds its password in the clear.
	clear bool
	// scram lists the hashes of its SCRAM keys and their shape.
	scram map[string]shape
	// hasher hashes its password, for the hashed kinds.
	hasher hash.Hasher
}

var allSCRAM = []string{"SHA-256", "SHA-1", "SHA-512", "SHA3-512"}

func scramShapes(s shape, hashes ...string) map[string]shape {
	m := map[string]shape{}
	for _, h := range hashes {
		m[h] = s
	}
	return m
}

// The kinds of account. The hashes have cheap parameters: what is compared
// is the cost of two paths through the same hash, not the hash's strength.
var (
	kindClear    = &accountKind{name: "clear", clear: true}
	kindPBKDF2   = &accountKind{name: "pbkdf2", hasher: hash.PBKDF2{Digest: "sha256", Rounds: 2000}}
	kindBcrypt   = &accountKind{name: "bcrypt", hasher: hash.Bcrypt{Cost: 4}}
	kindArgon2id = &accountKind{name: "argon2id", hasher: hash.Argon2id{Time: 1, Memory: 512, Threads: 1}}
	kindScrypt   = &accountKind{name: "scrypt", hasher: hash.Scrypt{N: 512, R: 8, P: 1}}
	// SCRAM keys only, for every hash, with the 12-octet salts that gsasl
	// --mkpasswd makes and an iteration count that is not the library's
	// default, so that a mock count of 4096 would show.
	kindSCRAM = &accountKind{name: "scram", scram: scramShapes(shape{12, 5000}, allSCRAM...)}
	// The two kinds of examples/loadtest's passwd-file: {PLAIN} users, for
	// whom the server derives SCRAM-SHA-256 keys at load (16-octet salt,
	// 4096 iterations, as Dovecot does), and users with stored
	// SCRAM-SHA-256 keys only.
	kindLoadClear = &accountKind{name: "plain+keys", clear: true, scram: scramShapes(shape{16, 4096}, "SHA-256")}
	kindLoadKeys  = &accountKind{name: "keys", scram: scramShapes(shape{16, 4096}, "SHA-256")}
)

// account makes the account name of kind k with password pw.
func (k *accountKind) account(t testing.TB, name, pw string) creds.Account {
	t.Helper()
	a := creds.Account{Name: name}
	switch {
	case k.clear:
		a.Password = "{PLAIN}" + pw
	case k.hasher != nil:
		enc, err := creds.HashPassword(pw, k.hasher)
		if err != nil {
			t.Fatal(err)
		}
		a.Password = enc
	}
	for _, h := range allSCRAM {
		s, ok := k.scram[h]
		if !ok {
			continue
		}
		salt := make([]byte, s.salt)
		if _, err := rand.Read(salt); err != nil {
			t.Fatal(err)
		}
		keys, err := creds.DeriveSCRAMKeys(h, pw, salt, s.iter, false)
		if err != nil {
			t.Fatal(err)
		}
		a.SCRAM = append(a.SCRAM, keys)
	}
	return a
}

// storeSpec is one store: accounts of one or more kinds.
type storeSpec struct {
	name string
	// kinds are the kinds of account, in the order the store holds them,
	// each with its number of accounts.
	kinds []*accountKind
	count []int
	// names, if not nil, names the i-th account of kind k; the default is
	// "<kind>-<i>".
	names func(k *accountKind, i int) string
}

var storeSpecs = []*storeSpec{
	{name: "clear", kinds: []*accountKind{kindClear}, count: []int{4}},
	{name: "pbkdf2", kinds: []*accountKind{kindPBKDF2}, count: []int{4}},
	{name: "bcrypt", kinds: []*accountKind{kindBcrypt}, count: []int{4}},
	{name: "argon2id", kinds: []*accountKind{kindArgon2id}, count: []int{4}},
	{name: "scrypt", kinds: []*accountKind{kindScrypt}, count: []int{4}},
	{name: "scram", kinds: []*accountKind{kindSCRAM}, count: []int{4}},
	{name: "clear+bcrypt", kinds: []*accountKind{kindClear, kindBcrypt}, count: []int{3, 3}},
	{name: "clear+scram", kinds: []*accountKind{kindClear, kindSCRAM}, count: []int{3, 3}},
	// examples/loadtest: user/pencil and 100 generated users, every other
	// one {PLAIN} and the rest SCRAM-SHA-256 keys.
	{name: "loadtest", kinds: []*accountKind{kindLoadClear, kindLoadKeys}, count: []int{51, 50},
		names: func(k *accountKind, i int) string {
			if k == kindLoadClear && i == 0 {
				return "user"
			}
			if k == kindLoadClear {
				return fmt.Sprintf("load%03d", 2*(i-1))
			}
			return fmt.Sprintf("load%03d", 2*i+1)
		}},
}

func (s *storeSpec) accountName(k *accountKind, i int) string {
	if s.names != nil {
		return s.names(k, i)
	}
	return fmt.Sprintf("%s-%d", k.name, i)
}

// known returns the name of the first account of kind k: the known user
// whose wrong secret is compared with an unknown user.
func (s *storeSpec) known(k *accountKind) string { return s.accountName(k, 0) }

// clear reports whether the store holds clear passwords, which CRAM-MD5
// needs.
func (s *storeSpec) clear() bool {
	for _, k := range s.kinds {
		if k.clear {
			return true
		}
	}
	return false
}

// shape returns the shape of the store's keys for hash h, and whether it
// has any: the most common one (every store here has one per hash).
func (s *storeSpec) shape(h string) (shape, bool) {
	best, n := shape{}, 0
	for i, k := range s.kinds {
		if sh, ok := k.scram[h]; ok && s.count[i] > n {
			best, n = sh, s.count[i]
		}
	}
	return best, n > 0
}

// enumPassword is every known account's password, and enumToken the
// prefix of its bearer token.
const (
	enumPassword = "pencil"
	enumToken    = "tok-"
)

// enumStore is a built store and the server configuration over it.
type enumStore struct {
	spec  *storeSpec
	store *creds.MemoryStore
	cfg   *session.Config
	cache *scram.KeyCache
}

var (
	storesMu sync.Mutex // guards stores
	stores   = map[string]*enumStore{}
)

// buildStore returns the store of spec, built once per test binary (the
// SCRAM keys and hashes take a while under -race).
func buildStore(t testing.TB, spec *storeSpec) *enumStore {
	t.Helper()
	storesMu.Lock()
	defer storesMu.Unlock()
	if s, ok := stores[spec.name]; ok {
		return s
	}
	store := &creds.MemoryStore{}
	var names []string
	for i, k := range spec.kinds {
		for j := range spec.count[i] {
			name := spec.accountName(k, j)
			if err := store.Add(k.account(t, name, enumPassword)); err != nil {
				t.Fatal(err)
			}
			names = append(names, name)
		}
	}
	s := &enumStore{
		spec:  spec,
		store: store,
		cfg: &session.Config{
			Verifier:         &creds.Verifier{Store: store, Secret: []byte("enumeration test secret, 32 oct.")},
			Tokens:           newTokens(names),
			FinalAsChallenge: true,
		},
		// SCRAM clients cache their derived keys, so that what the
		// benchmark compares is the server's work, not the client's
		// PBKDF2.
		cache: &scram.KeyCache{},
	}
	stores[spec.name] = s
	return s
}

// tokens is a token validator like the example servers': one bearer
// token per account, compared by SHA-256 digest in constant time, and an
// unknown user compared against a decoy, so that both cost the same.
type tokens struct {
	byName map[string][sha256.Size]byte
	decoy  [sha256.Size]byte
}

func newTokens(names []string) *tokens {
	t := &tokens{byName: map[string][sha256.Size]byte{}, decoy: sha256.Sum256([]byte("decoy token of no account"))}
	for _, n := range names {
		t.byName[n] = sha256.Sum256([]byte(enumToken + n))
	}
	return t
}

func (t *tokens) ValidateToken(_ context.Context, r *mech.TokenRequest) error {
	want, ok := t.byName[r.User]
	if !ok {
		want = t.decoy
	}
	got := sha256.Sum256([]byte(r.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || !ok {
		return mech.ErrAuthFailed
	}
	r.Subject = r.User
	return nil
}

// secretMechs are the server mechanisms that check a secret: every
// built-in but EXTERNAL and ANONYMOUS, the SCRAM family with and without
// channel binding.
func secretMechs() []string {
	var out []string
	for _, n := range registry.BuiltinNames() {
		if n != "EXTERNAL" && n != "ANONYMOUS" {
			out = append(out, n)
		}
	}
	return out
}

// canRun reports whether mechanism name can run on the store: CRAM-MD5
// needs clear passwords, SCRAM-<H> keys for H. The answer comes from the
// spec, not from the store's Profile, so that a wrong Profile shows.
func (s *storeSpec) canRun(name string) bool {
	if name == "CRAM-MD5" {
		return s.clear()
	}
	if h, _, ok := scram.HashByName(name); ok {
		_, ok := s.shape(h.Name())
		return ok
	}
	return true
}

// channel is the channel mechanism name runs over: TLS, with a binding
// for -PLUS only (a SCRAM server with bindings refuses a non-PLUS client
// that could have bound).
func channel(name string) mech.Channel {
	ch := mech.Channel{Secure: true}
	if strings.HasSuffix(name, "-PLUS") {
		ch.Bindings = []mech.Binding{{Type: mech.TLSExporter, Data: bytes.Repeat([]byte{0x5a}, 32)}}
	}
	return ch
}

// newServer returns a server session of the built-in mechanism name over
// the store.
func (s *enumStore) newServer(name string) (*session.Server, error) {
	m, ok := registry.Builtin(name)
	if !ok {
		return nil, fmt.Errorf("no built-in %s", name)
	}
	return session.NewServer(m.(mech.Server), channel(name), s.cfg)
}

// newClient returns a client session of name for user u with secret sec,
// a password and a token.
func (s *enumStore) newClient(name, u, sec string) *session.Client {
	m, _ := registry.Builtin(name)
	if sm, ok := m.(scram.Mechanism); ok {
		sm.Cache = s.cache
		m = sm
	}
	return session.NewClient(m.(mech.Client), creds.Client{Authcid: u, Password: sec, Token: sec}, channel(name), nil)
}
