package creds

import (
	"context"
	"crypto/hmac"
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
// checks; [MemoryStore] refuses longer account names.
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
	// lookup return an error wrapping [ErrMisconfigured] (input over
	// [MaxInput] fails first, with [ErrBadCredentials]).
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
	// context is done. Zero means runtime.GOMAXPROCS(0), which bounds the
	// memory of memory-hard hashes to that many times one hash's: 64 MiB
	// each for the default Argon2id of package hash.
	MaxConcurrent int

	once sync.Once
	sem  chan struct{}
}

func (v *Verifier) init() {
	v.once.Do(func() {
		n := v.MaxConcurrent
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		v.sem = make(chan struct{}, n)
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
// password is stored in the clear, in a store of hashed passwords, is
// checked against the decoy as well, so that its wrong password takes as
// long as an unknown user's. A name or password longer than [MaxInput]
// octets fails at once, as no account can match it.
func (v *Verifier) CheckPassword(ctx context.Context, name, password string) (string, error) {
	if len(name) > MaxInput || len(password) > MaxInput {
		return "", ErrBadCredentials
	}
	id, err := v.lookup(ctx, name)
	if err != nil {
		return "", err
	}
	prof := v.Store.Profile()
	if err := v.acquire(ctx); err != nil {
		return "", err
	}
	defer v.release()
	pc, ok := id.(PasswordChecker)
	if !ok {
		decoyPassword(&prof, password)
		return "", ErrBadCredentials
	}
	err = pc.CheckPassword(password)
	if a, ok := id.(*Account); ok && a.cheap() && prof.PasswordDecoy != nil {
		_ = prof.PasswordDecoy.CheckPassword(password)
	}
	if err != nil {
		return "", ErrBadCredentials
	}
	return id.AccountName(), nil
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
	id, err := v.lookup(ctx, name)
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
	mock, err := v.mockSCRAM(shape, name)
	if err != nil {
		return nil, err
	}
	if h, ok := id.(SCRAMKeyHolder); ok {
		if k, ok := h.SCRAMKeys(hash); ok && k.validate() == nil {
			return &SCRAMLookup{Keys: k, account: id.AccountName(), known: true}, nil
		}
	}
	return &SCRAMLookup{Keys: mock}, nil
}

// mockSCRAM derives mock keys for name: HMAC-SHA-256 under the secret,
// expanded to the salt and key lengths.
func (v *Verifier) mockSCRAM(s SCRAMShape, name string) (SCRAMKeys, error) {
	_, size, ok := scramHash(s.Hash)
	if !ok {
		return SCRAMKeys{}, fmt.Errorf("%w: unknown SCRAM hash", ErrMisconfigured)
	}
	if p, err := prep.Query(name); err == nil {
		// Every spelling of one name gets the same salt, as a real
		// account's spellings do.
		name = p
	}
	secret := v.Secret
	if len(secret) == 0 {
		secret = processSecret()
	}
	saltLen := min(max(s.SaltLen, 1), MaxSCRAMSalt)
	out := make([]byte, 0, saltLen+2*size+sha256.Size)
	m := hmac.New(sha256.New, secret)
	for i := byte(0); len(out) < saltLen+2*size; i++ {
		m.Reset()
		m.Write([]byte{i})
		m.Write([]byte("saslkit scram mock keys\x00"))
		m.Write([]byte(s.Hash))
		m.Write([]byte{0})
		m.Write([]byte(name))
		out = m.Sum(out)
	}
	return SCRAMKeys{
		Hash:       s.Hash,
		Salt:       out[:saltLen:saltLen],
		Iterations: s.Iterations,
		StoredKey:  out[saltLen : saltLen+size : saltLen+size],
		ServerKey:  out[saltLen+size : saltLen+2*size : saltLen+2*size],
	}, nil
}

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
