package creds

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/saslkit/saslkit/creds/prep"
)

// Store holds a server's accounts. It must be safe for concurrent use.
// Only a [Verifier] calls it: mechanisms and applications go through the
// Verifier, which adds the decoys, the bound on concurrent work and the
// canonical names.
type Store interface {
	// Lookup returns the account that name names, spelled as the client
	// sent it: a store compares names after SASLprep (RFC 4013) unless an
	// account opts out. For a name it holds no account for, it returns an
	// error wrapping [ErrUnknownUser]. Any other error is a failure of the
	// store itself (a temporary failure), never a wrong password.
	Lookup(ctx context.Context, name string) (Identity, error)
	// Profile describes the secrets the store's accounts hold, for the
	// decoys of unknown users and for the checks made when a server is
	// built.
	Profile() Profile
}

// AccountWriter is a [Store] whose accounts can be changed through it, as
// a database-backed store's can. Stores that are read-only to the
// application (a directory, a file) do not implement it.
type AccountWriter interface {
	// SetAccount adds a, or replaces the account whose name is a.Name
	// with it, in one step: a concurrent Lookup sees the old account or
	// the new one, never a mix. A name that differs from another account's
	// but is the same after SASLprep, and a malformed account, give an
	// error wrapping [ErrMisconfigured].
	SetAccount(ctx context.Context, a Account) error
	// DeleteAccount removes the account name names, as Lookup finds it;
	// an error wrapping [ErrUnknownUser] if there is none.
	DeleteAccount(ctx context.Context, name string) error
}

// SCRAMUpgrader is a [Store] that can add SCRAM keys to an account, which
// a [Verifier] with Upgrade set does after a password it verified: the
// credential upgrade that lets a user who logged in with PLAIN use SCRAM
// from then on.
type SCRAMUpgrader interface {
	// UpgradeSCRAM adds keys to the account whose canonical name is
	// account, for the hashes it has no keys for, in one step (one
	// transaction, for a database): keys for a hash the account has gained
	// in the meantime are left alone. An account gone in the meantime is
	// not an error.
	UpgradeSCRAM(ctx context.Context, account string, keys []SCRAMKeys) error
}

// Profile describes what a [Store]'s accounts hold, so that an unknown
// user can be checked against something of the same shape and cost, and
// so that a server is refused at build time a mechanism the store cannot
// serve. The zero Profile describes a store whose password checks cost a
// clear comparison, that holds no clear passwords for CRAM-MD5 and no SCRAM
// keys.
type Profile struct {
	// PasswordDecoy is what an unknown user's password is checked against:
	// a PasswordChecker whose check costs what the store's usual account
	// costs (it may be one of the accounts: its result is ignored). Nil
	// means the accounts' passwords are compared in the clear, and a
	// clear decoy is used.
	PasswordDecoy PasswordChecker
	// ClearSecrets reports that accounts may hold clear passwords, which
	// CRAM-MD5 needs.
	ClearSecrets bool
	// SCRAM describes the SCRAM keys the accounts hold, one entry per
	// hash. A SCRAM mechanism whose hash has no entry cannot run.
	SCRAM []SCRAMShape
}

// SCRAMShape is the shape of a store's SCRAM keys for one hash, which the
// mock keys of unknown users take.
type SCRAMShape struct {
	// Hash names the hash: "SHA-256".
	Hash string
	// SaltLen is the salt length, in octets, and Iterations the iteration
	// count most of the store's keys for Hash have.
	SaltLen, Iterations int
}

// shape returns the shape of the keys for the hash named hash, and
// whether the store holds any.
func (p *Profile) shape(hash string) (SCRAMShape, bool) {
	for _, s := range p.SCRAM {
		if s.Hash == hash {
			return s, true
		}
	}
	return SCRAMShape{}, false
}

// MemoryStore is an in-memory [Store] of [Account] records. The zero value
// is an empty store. It is safe for concurrent use. A clear password of up
// to 256 octets is also kept padded to 256 octets, for a comparison whose
// time does not depend on its length.
//
// Its [Profile] follows what it holds: the password decoy is an account of
// the most common hashed scheme and cost (SCRAM keys count as one), nil
// when every password is clear, and the SCRAM shapes are the most common
// salt length and iteration count of each hash. Since a [Verifier] pads a
// clear account's check to the decoy's cost, one hashed account makes
// every clear account's login cost a hash: keep a store to one scheme, or
// accept that cost as the price of hiding which accounts are which.
type MemoryStore struct {
	mu      sync.RWMutex        // guards the fields below
	exact   map[string]*Account // NoPrep accounts, by name
	names   map[string]*Account // every account, by its prepared name
	classes map[string]*costClass
	order   []string // class names, in the order first seen
	shapes  map[string]map[[2]int]int
	clear   bool
	profile atomic.Pointer[Profile] // computed from the above on first use, nil after Add
	seq     atomic.Uint64           // the last Account.seq given
}

// costClass counts the accounts whose password check costs the same.
type costClass struct {
	n     int
	first *Account
}

// SetAccount implements [AccountWriter]: it stores a as [MemoryStore.Add]
// does, replacing the account named a.Name if there is one.
func (m *MemoryStore) SetAccount(_ context.Context, a Account) error {
	return m.put(a, true)
}

// DeleteAccount implements [AccountWriter].
func (m *MemoryStore) DeleteAccount(ctx context.Context, name string) error {
	id, err := m.Lookup(ctx, name)
	if err != nil {
		return err
	}
	acct := id.(*Account)
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.names {
		if v == acct {
			delete(m.names, k)
		}
	}
	if m.exact[acct.Name] == acct {
		delete(m.exact, acct.Name)
	}
	m.reindex()
	return nil
}

// UpgradeSCRAM implements [SCRAMUpgrader]: the account gets keys for the
// hashes it has none for.
func (m *MemoryStore) UpgradeSCRAM(ctx context.Context, account string, keys []SCRAMKeys) error {
	id, err := m.Lookup(ctx, account)
	if errors.Is(err, ErrUnknownUser) {
		return nil
	}
	if err != nil {
		return err
	}
	a := *id.(*Account)
	a.SCRAM = append([]SCRAMKeys(nil), a.SCRAM...)
	for _, k := range keys {
		if _, ok := a.SCRAMKeys(k.Hash); !ok {
			a.SCRAM = append(a.SCRAM, k)
		}
	}
	return m.put(a, true)
}

// Add stores a shallow copy of a: its SCRAM keys are shared, and must not
// be modified afterwards. It returns an error wrapping [ErrMisconfigured]
// if a is malformed (an empty name, a name or clear password that fails
// SASLprep, a password in no known encoding, bad SCRAM keys) or if a's name
// collides with an account's already stored: both are the same string after
// SASLprep, so that a client could not tell which it logs in to. The error
// names the accounts, never a secret.
func (m *MemoryStore) Add(a Account) error { return m.put(a, false) }

// put stores a, replacing an account of the same name if replace is set.
func (m *MemoryStore) put(a Account, replace bool) error {
	if err := a.validate(); err != nil {
		return err
	}
	key := a.Name
	if p, err := prep.Query(a.Name); err == nil {
		key = p
	}
	acct := &a
	acct.seq = m.seq.Add(1)
	if acct.cheap() {
		acct.cost = costCheap
	} else {
		acct.cost = costDear
	}
	acct.clear, acct.hasClear = acct.ClearSecret()
	if acct.hasClear {
		acct.clearSum = sha256.Sum256([]byte(acct.clear))
		if len(acct.clear) <= padLen {
			acct.clearPad = new([padLen]byte)
			copy(acct.clearPad[:], acct.clear)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if other, ok := m.names[key]; ok {
		if !replace || other.Name != a.Name {
			return fmt.Errorf("%w: account %q collides with account %q: both are %q after SASLprep", ErrMisconfigured, a.Name, other.Name, key)
		}
		delete(m.names, key)
		if m.exact[other.Name] == other {
			delete(m.exact, other.Name)
		}
		acct.seq = other.seq // replaced in place, as a database row is
		m.names[key] = acct
		if a.NoPrep {
			m.exact[a.Name] = acct
		}
		m.reindex()
		return nil
	}
	if m.names == nil {
		m.names = make(map[string]*Account)
		m.exact = make(map[string]*Account)
		m.classes = make(map[string]*costClass)
		m.shapes = make(map[string]map[[2]int]int)
	}
	m.names[key] = acct
	m.profile.Store(nil)
	if a.NoPrep {
		m.exact[a.Name] = acct
	}
	m.count(acct)
	return nil
}

// reindex rebuilds the cost classes and SCRAM shapes from the accounts,
// after a replacement or a deletion. m.mu must be held.
func (m *MemoryStore) reindex() {
	m.classes = make(map[string]*costClass)
	m.shapes = make(map[string]map[[2]int]int)
	m.order = m.order[:0]
	m.clear = false
	// In the order the accounts were added, so that ties in the profile
	// break as they did before.
	accts := make([]*Account, 0, len(m.names))
	for _, acct := range m.names {
		accts = append(accts, acct)
	}
	slices.SortFunc(accts, func(a, b *Account) int { return cmp.Compare(a.seq, b.seq) })
	for _, acct := range accts {
		m.count(acct)
	}
	m.profile.Store(nil)
}

// count adds acct to the cost classes and SCRAM shapes. m.mu must be held.
func (m *MemoryStore) count(acct *Account) {
	c := passwordClass(acct)
	if cc, ok := m.classes[c]; ok {
		cc.n++
	} else {
		m.classes[c] = &costClass{n: 1, first: acct}
		m.order = append(m.order, c)
	}
	if _, ok := acct.ClearSecret(); ok {
		m.clear = true
	}
	for _, k := range acct.SCRAM {
		s := m.shapes[k.Hash]
		if s == nil {
			s = make(map[[2]int]int)
			m.shapes[k.Hash] = s
		}
		s[[2]int{len(k.Salt), k.Iterations}]++
	}
}

// Lookup implements [Store]: an account that opted out of SASLprep
// matches its name byte for byte; every other account matches any
// spelling that SASLprep maps to its prepared name.
func (m *MemoryStore) Lookup(_ context.Context, name string) (Identity, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.exact) > 0 {
		if a, ok := m.exact[name]; ok {
			return a, nil
		}
	}
	// A name that is already some account's prepared name prepares to
	// itself (SASLprep is idempotent), so it needs no preparing.
	if a, ok := m.names[name]; ok && !a.NoPrep {
		return a, nil
	}
	p, err := prep.Query(name)
	if err != nil {
		return nil, ErrUnknownUser
	}
	if a, ok := m.names[p]; ok && !a.NoPrep {
		return a, nil
	}
	return nil, ErrUnknownUser
}

// Len returns the number of accounts.
func (m *MemoryStore) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.names)
}

// Profile implements [Store]. The Profile it returns shares its SCRAM
// slice with later calls; do not modify it.
func (m *MemoryStore) Profile() Profile {
	if p := m.profile.Load(); p != nil {
		return *p
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.profile.Load()
	if p == nil {
		prof := m.computeProfile()
		p = &prof
		m.profile.Store(p)
	}
	return *p
}

// computeProfile returns the profile of what m holds. m.mu must be held.
func (m *MemoryStore) computeProfile() Profile {
	p := Profile{ClearSecrets: m.clear}
	best := 0
	for _, c := range m.order {
		if c == classClear || c == classNone {
			continue
		}
		if cc := m.classes[c]; cc.n > best {
			best, p.PasswordDecoy = cc.n, cc.first
		}
	}
	for _, h := range []string{"SHA-1", "SHA-256", "SHA-512", "SHA3-512"} {
		s, ok := m.shapes[h]
		if !ok {
			continue
		}
		shape, n := SCRAMShape{Hash: h}, 0
		for k, c := range s {
			if c > n || c == n && (k[1] < shape.Iterations || k[1] == shape.Iterations && k[0] < shape.SaltLen) {
				shape.SaltLen, shape.Iterations, n = k[0], k[1], c
			}
		}
		p.SCRAM = append(p.SCRAM, shape)
	}
	return p
}

const (
	classClear = "clear"
	classNone  = "none"
)

// passwordClass names what checking a's password costs: accounts of one
// class cost the same.
func passwordClass(a *Account) string {
	switch {
	case a.Password != "":
		if _, ok := clearPassword(a.Password); ok {
			return classClear
		}
		enc := a.Password
		if strings.HasPrefix(enc, "{") {
			if _, rest, ok := strings.Cut(enc, "}"); ok {
				enc = rest
			}
		}
		f := strings.Split(enc, "$")
		// "$id$params…$salt$hash": the salt and the hash differ between
		// accounts of one cost; bcrypt's "$2y$cost$salthash" has one field
		// for both.
		drop := 2
		if len(f) < 5 {
			drop = 1
		}
		if len(f) > drop {
			f = f[:len(f)-drop]
		}
		return "hash:" + strings.Join(f, "$")
	case len(a.SCRAM) > 0:
		return fmt.Sprintf("scram:%s:%d", a.SCRAM[0].Hash, a.SCRAM[0].Iterations)
	}
	return classNone
}

// Values of Account.cost.
const (
	costUnknown = iota
	costCheap
	costDear
)

// cheap reports whether checking a's password costs a clear comparison at
// most, so that a Verifier pads it to the decoy's cost.
func (a *Account) cheap() bool {
	switch a.cost {
	case costCheap:
		return true
	case costDear:
		return false
	}
	if a.Password == "" {
		return len(a.SCRAM) == 0
	}
	_, clear := clearPassword(a.Password)
	return clear
}
