package creds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/saslkit/saslkit/creds/prep"
)

// MaxInput is the longest name or password, in octets, that a [Verifier]
// looks up or checks (a longer one is an unknown user, or a wrong
// password); [MemoryStore] refuses longer account names.
const MaxInput = 1024

// MinSecret is the shortest [Verifier.Secret], in octets.
const MinSecret = 16

// Verifier is the one place where a server checks a secret: every
// built-in server mechanism that checks one goes through it, and so should
// protocol code that checks a password outside SASL (IMAP LOGIN, POP3
// USER/PASS, HTTP Basic).
//
// For an unknown user it does the work a wrong secret costs, against a
// decoy shaped like the store's accounts ([Store.Profile]), and returns
// [ErrBadCredentials]; a mechanism cannot tell the two apart, so neither
// can a client. On success it returns the account's canonical name.
//
// Set the fields before first use; a Verifier must not be copied or
// modified after that. Its methods are safe for concurrent use.
type Verifier struct {
	// Store holds the accounts. With a nil Store, Profile and every
	// lookup return an error wrapping [ErrMisconfigured] (in CheckPassword
	// and CheckClear, input over [MaxInput] fails first, with
	// [ErrBadCredentials]).
	Store Store
	// Secret keys the mock SCRAM salts and keys of unknown users. With the
	// same Secret, an unknown user is given the same salt across restarts
	// and across servers, as a real user is. If nil, a random secret is
	// made once per process, and an unknown user's salt changes with every
	// restart; an empty Secret counts as nil. Use at least 32 random
	// octets, kept as secret as the store: a Secret shorter than
	// [MinSecret] is refused as misconfigured, since anyone could compute
	// the mock salts it gives and tell unknown users apart.
	Secret []byte
	// MaxConcurrent is the most password checks (hash computations, decoys
	// included) that run at once; more wait their turn, or until their
	// context is done. A clear comparison in a store of clear passwords is
	// not bounded. Zero means runtime.GOMAXPROCS(0), which bounds the
	// memory of memory-hard hashes to that many times one hash's: 64 MiB
	// each for the default Argon2id of package hash.
	MaxConcurrent int
	// Upgrade lists the SCRAM hashes ("SHA-256", as in mechanism names)
	// for which a successful CheckPassword gives the account the keys it
	// lacks, made from the password it just verified, when the Store is a
	// [SCRAMUpgrader]: a user who logged in with PLAIN can use SCRAM from
	// then on. The keys take the shape of the store's keys for the hash
	// (Profile.SCRAM), or a 16-octet salt and [MinSCRAMIterations]. An
	// upgrade that fails leaves the account as it was; the login still
	// succeeds. Nil means none.
	Upgrade []string

	once       sync.Once
	sem        chan struct{}
	ipad, opad [sha256.BlockSize]byte // HMAC-SHA-256 pads of the secret
}

func (v *Verifier) init() {
	v.once.Do(func() {
		n := v.MaxConcurrent
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		v.sem = make(chan struct{}, n)
		key := v.Secret
		if len(key) == 0 {
			key = processSecret()
		}
		if len(key) > sha256.BlockSize {
			k := sha256.Sum256(key)
			key = k[:]
		}
		copy(v.ipad[:], key)
		copy(v.opad[:], key)
		for i := range v.ipad {
			v.ipad[i] ^= 0x36
			v.opad[i] ^= 0x5c
		}
	})
}

// Profile returns the store's profile, or an error wrapping
// [ErrMisconfigured] when v or its Store is nil or its Secret is too
// short. Mechanisms call it when a server is built, to refuse what the
// store cannot serve.
func (v *Verifier) Profile() (Profile, error) {
	if err := v.check(); err != nil {
		return Profile{}, err
	}
	return v.Store.Profile(), nil
}

// check reports what makes v unusable.
func (v *Verifier) check() error {
	switch {
	case v == nil || v.Store == nil:
		return fmt.Errorf("%w: no account store", ErrMisconfigured)
	case len(v.Secret) > 0 && len(v.Secret) < MinSecret:
		return fmt.Errorf("%w: the Verifier's secret has %d octets, fewer than %d", ErrMisconfigured, len(v.Secret), MinSecret)
	}
	return nil
}

// lookup returns name's identity, or nil for an unknown user.
func (v *Verifier) lookup(ctx context.Context, name string) (Identity, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	id, err := v.Store.Lookup(ctx, name)
	switch {
	case errors.Is(err, ErrUnknownUser):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return id, nil
}

// acquire waits for a slot for a password check.
func (v *Verifier) acquire(ctx context.Context) error {
	v.init()
	select {
	case v.sem <- struct{}{}:
		return nil
	default:
	}
	select {
	case v.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (v *Verifier) release() { <-v.sem }

// CheckPassword checks password for the account name names, as PLAIN and
// LOGIN do, and returns the account's canonical name. It returns an error
// wrapping [ErrBadCredentials] for a wrong password and, after the same
// work, for an unknown user or an account that holds no password; the
// store's error for a failed lookup; and ctx's error if ctx is done while
// it waits its turn ([Verifier.MaxConcurrent]).
//
// Every check costs what the store's usual account costs: an account whose
// password is stored in the clear (an [Account] with a clear or no
// password, or any [ClearSecretHolder] that holds one), in a store of
// hashed passwords, is checked against the decoy as well, so that its
// wrong password takes as long as an unknown user's. Other identities must
// cost what the decoy costs by themselves. A name or password longer than
// [MaxInput] octets fails at once, as no account can match it.
func (v *Verifier) CheckPassword(ctx context.Context, name, password string) (string, error) {
	if len(name) > MaxInput || len(password) > MaxInput {
		return "", ErrBadCredentials
	}
	id, err := v.lookup(ctx, name)
	if err != nil {
		return "", err
	}
	prof := v.Store.Profile()
	pc, ok := id.(PasswordChecker)
	// A clear comparison with no hash to pad it to is not the expensive
	// work the bound is for; everyone else takes a slot, decoys included.
	if prof.PasswordDecoy != nil || ok && !cheap(id) {
		if err := v.acquire(ctx); err != nil {
			return "", err
		}
		defer v.release()
	}
	if !ok {
		decoyPassword(&prof, password)
		return "", ErrBadCredentials
	}
	err = pc.CheckPassword(password)
	if prof.PasswordDecoy != nil && cheap(id) {
		_ = prof.PasswordDecoy.CheckPassword(password)
	}
	switch {
	case errors.Is(err, ErrBadCredentials):
		return "", ErrBadCredentials
	case err != nil:
		// The check itself failed (a directory that verifies by bind
		// went away): a temporary failure, not a wrong password.
		return "", err
	}
	v.upgrade(ctx, id, &prof, password)
	return id.AccountName(), nil
}

// upgrade gives the account id the SCRAM keys of v.Upgrade it lacks, made
// from password, which it just verified.
func (v *Verifier) upgrade(ctx context.Context, id Identity, prof *Profile, password string) {
	u, ok := v.Store.(SCRAMUpgrader)
	if !ok || len(v.Upgrade) == 0 {
		return
	}
	holder, _ := id.(SCRAMKeyHolder)
	noprep := false
	if a, ok := id.(*Account); ok {
		noprep = a.NoPrep
	}
	var keys []SCRAMKeys
	for _, h := range v.Upgrade {
		if holder != nil {
			if _, ok := holder.SCRAMKeys(h); ok {
				continue
			}
		}
		shape, ok := prof.shape(h)
		if !ok {
			shape = SCRAMShape{Hash: h, SaltLen: 16, Iterations: MinSCRAMIterations}
		}
		salt := make([]byte, shape.SaltLen)
		if _, err := rand.Read(salt); err != nil {
			return
		}
		k, err := DeriveSCRAMKeys(h, password, salt, shape.Iterations, noprep)
		if err != nil {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		_ = u.UpgradeSCRAM(ctx, id.AccountName(), keys)
	}
}

// cheap reports whether checking id's password costs a clear comparison:
// an Account whose password is clear or missing, or any identity that holds
// a clear secret.
func cheap(id Identity) bool {
	if a, ok := id.(*Account); ok {
		return a.cheap()
	}
	if h, ok := id.(ClearSecretHolder); ok {
		_, clear := h.ClearSecret()
		return clear
	}
	return false
}

// decoyPassword does the work of checking password against an unknown
// user.
func decoyPassword(p *Profile, password string) {
	if p.PasswordDecoy != nil {
		_ = p.PasswordDecoy.CheckPassword(password)
		return
	}
	_ = clearDecoy.CheckPassword(password)
}

// CheckClear runs check with the clear password of the account name names,
// as CRAM-MD5 does, and returns the account's canonical name if check
// returns true. For an unknown user, or an account that holds no clear
// password, it runs check with a random secret and returns an error
// wrapping [ErrBadCredentials], as it does when check returns false. check
// must compare in constant time.
func (v *Verifier) CheckClear(ctx context.Context, name string, check func(secret string) bool) (string, error) {
	if len(name) > MaxInput {
		return "", ErrBadCredentials
	}
	id, err := v.lookup(ctx, name)
	if err != nil {
		return "", err
	}
	var secret string
	h, ok := id.(ClearSecretHolder)
	if ok {
		secret, ok = h.ClearSecret()
	}
	if !ok || secret == "" {
		_ = check(decoySecret())
		return "", ErrBadCredentials
	}
	if !check(secret) {
		return "", ErrBadCredentials
	}
	return id.AccountName(), nil
}

// SCRAMLookup is the result of [Verifier.LookupSCRAM]: the keys to run
// the exchange with, real or mock. Only [SCRAMLookup.Account] tells which.
type SCRAMLookup struct {
	// Keys are the account's keys, or, for an unknown user or an account
	// without keys for the hash, mock keys of the store's shape that no
	// proof matches.
	Keys    SCRAMKeys
	account string
	known   bool
	salt    [2 * sha256.Size]byte // room for a mock salt, usually enough
}

// Account returns the canonical name of the account, once the mechanism
// has checked the client's proof against l.Keys. It returns an error
// wrapping [ErrBadCredentials] for mock keys, whatever the proof.
func (l *SCRAMLookup) Account() (string, error) {
	if l == nil || !l.known {
		return "", ErrBadCredentials
	}
	return l.account, nil
}

// LookupSCRAM returns the SCRAM keys for the hash named hash ("SHA-256")
// of the account name names. For an unknown user, or an account without
// such keys, it returns mock keys with the salt length and iteration count
// of the store's keys for hash, derived from [Verifier.Secret] and the
// prepared name, so that they are the same at every attempt; the work is
// the same either way. It returns the store's error for a failed lookup,
// and one wrapping [ErrMisconfigured] for a Verifier without a store or an
// unknown hash.
func (v *Verifier) LookupSCRAM(ctx context.Context, name, hash string) (*SCRAMLookup, error) {
	var id Identity
	var err error
	if len(name) <= MaxInput {
		id, err = v.lookup(ctx, name)
	} else if err = v.check(); err == nil {
		// No account has such a name: mock keys, as for any unknown user.
		name = name[:MaxInput]
	}
	if err != nil {
		return nil, err
	}
	prof := v.Store.Profile()
	shape, ok := prof.shape(hash)
	if !ok {
		shape = SCRAMShape{Hash: hash, SaltLen: 16, Iterations: MinSCRAMIterations}
	}
	// The mock keys are made for every user, known or not, so that an
	// unknown user costs what a known one costs.
	l := &SCRAMLookup{}
	if err := v.mockSCRAM(l, shape, name); err != nil {
		return nil, err
	}
	if h, ok := id.(SCRAMKeyHolder); ok {
		if k, ok := h.SCRAMKeys(hash); ok && k.validate() == nil {
			l.Keys, l.account, l.known = k, id.AccountName(), true
		}
	}
	return l, nil
}

// mockSCRAM returns mock keys for name: the salt is HMAC-SHA-256 of the
// prepared name under the secret, so that it is stable and unpredictable;
// StoredKey and ServerKey are random per process, since no proof is ever
// checked against them to success (SCRAMLookup.Account refuses mock keys)
// and they never leave the server.
func (v *Verifier) mockSCRAM(l *SCRAMLookup, s SCRAMShape, name string) error {
	_, size, ok := scramHash(s.Hash)
	if !ok {
		return fmt.Errorf("%w: unknown SCRAM hash", ErrMisconfigured)
	}
	if p, err := prep.Query(name); err == nil {
		// Every spelling of one name gets the same salt, as a real
		// account's spellings do.
		name = p
	}
	v.init()
	saltLen := min(max(s.SaltLen, 1), MaxSCRAMSalt)
	salt := l.salt[:0]
	for i := byte(0); len(salt) < saltLen; i++ {
		salt = v.mockMAC(salt, i, s.Hash, name)
	}
	keys := mockKeys()
	l.Keys = SCRAMKeys{
		Hash:       s.Hash,
		Salt:       salt[:saltLen:saltLen],
		Iterations: s.Iterations,
		StoredKey:  keys[:size:size],
		ServerKey:  keys[size : 2*size : 2*size],
	}
	return nil
}

// mockMAC appends block i of HMAC-SHA-256(secret, i || hash || 0 || name)
// to dst, with the pads computed once (RFC 2104).
func (v *Verifier) mockMAC(dst []byte, i byte, hash, name string) []byte {
	var buf [sha256.BlockSize + 64]byte
	m := append(buf[:0], v.ipad[:]...)
	m = append(m, i)
	m = append(m, hash...)
	m = append(m, 0)
	m = append(m, name...)
	inner := sha256.Sum256(m)
	o := append(buf[:0], v.opad[:]...)
	o = append(o, inner[:]...)
	sum := sha256.Sum256(o)
	return append(dst, sum[:]...)
}

// mockKeys is the StoredKey and ServerKey of mock keys, for the largest
// hash.
var mockKeys = sync.OnceValue(func() *[128]byte {
	var b [128]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("saslkit/creds: no randomness: " + err.Error())
	}
	return &b
})

var processSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("saslkit/creds: no randomness: " + err.Error())
	}
	return b
})

// decoySecret is a random clear secret, per process, that no client can be
// expected to offer.
var decoySecret = sync.OnceValue(func() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("saslkit/creds: no randomness: " + err.Error())
	}
	return base64.RawStdEncoding.EncodeToString(b)
})

// clearDecoy is checked in place of an unknown user in a store of clear
// passwords.
var clearDecoy = &Account{Name: "\x00decoy", Password: "{PLAIN}" + decoySecret()}
