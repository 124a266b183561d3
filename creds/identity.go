package creds

import (
	"crypto/rand"
	"encoding/base64"
	"errors"

	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/creds/prep"
)

// Identity is what a server knows about one user: the user's name and a way
// to check a secret. Implementations must be safe for concurrent use.
type Identity interface {
	// Authcid returns the user's authentication identity.
	Authcid() string
	// Compare checks secret against the identity's stored secret, after
	// preparing it as the identity's secret was prepared. It returns nil on
	// a match and an error wrapping ErrBadCredentials otherwise. It must
	// take time independent of where secret differs.
	Compare(secret string) error
	// Secret returns the clear-text secret, prepared, and true; or "" and
	// false when the identity does not hold one (a password hash).
	Secret() (string, bool)
}

// ClearIdentity is an identity whose secret is stored in the clear. It can
// be verified by every password mechanism, including CRAM-MD5.
//
// The zero value is an identity with an empty name that matches no
// credentials, since Compare refuses empty secrets.
type ClearIdentity struct {
	// Name is the authentication identity.
	Name string
	// Password is the stored password, in the clear.
	Password string
	// NoPrep turns off SASLprep: names and secrets are compared byte for
	// byte. By default both sides are prepared with SASLprep (RFC 4013).
	NoPrep bool
}

// Authcid returns c.Name.
func (c ClearIdentity) Authcid() string { return c.Name }

// Compare checks secret against c.Password in constant time, after
// preparing both with SASLprep unless c.NoPrep is set. An empty password
// never matches. Characters are compared as UTF-8: any Unicode password
// works, including code points Unicode 3.2 did not assign (emoji), which
// both sides keep as they are (RFC 3454's query profile). A password with a
// character SASLprep prohibits (a control character) never matches unless
// NoPrep is set.
func (c ClearIdentity) Compare(secret string) error {
	stored, ok := c.Secret()
	if !ok {
		return ErrBadCredentials
	}
	offered, err := prepareQuery(secret, c.NoPrep)
	if err != nil || stored == "" {
		return ErrBadCredentials
	}
	if !equalConstantTime(stored, offered) {
		return ErrBadCredentials
	}
	return nil
}

// Secret returns the prepared password. It returns false if the password
// cannot be prepared (it holds a character SASLprep prohibits).
func (c ClearIdentity) Secret() (string, bool) {
	s, err := prepareQuery(c.Password, c.NoPrep)
	if err != nil {
		return "", false
	}
	return s, true
}

// HashedIdentity is an identity whose password is stored as a hash, in one
// of the encodings understood by package [hash] (PBKDF2, bcrypt, Argon2id,
// scrypt). It cannot be verified by mechanisms that need the clear secret,
// such as CRAM-MD5: they return [ErrUnusable].
type HashedIdentity struct {
	// Name is the authentication identity.
	Name string
	// Hash is the encoded password hash, for example
	// "$pbkdf2-sha256$...". Create it with [NewHashedIdentity] so that the
	// password is prepared as Compare will prepare offered secrets.
	Hash string
	// NoPrep turns off SASLprep; it must match how Hash was made.
	NoPrep bool
}

// NewHashedIdentity prepares password with SASLprep (unless noprep is set),
// hashes it with h and returns the identity. If h is nil, [hash.Default] is
// used.
func NewHashedIdentity(name, password string, h hash.Hasher, noprep bool) (HashedIdentity, error) {
	if h == nil {
		h = hash.Default
	}
	p, err := prepare(password, noprep)
	if err != nil {
		return HashedIdentity{}, err
	}
	enc, err := h.Hash(p)
	if err != nil {
		return HashedIdentity{}, err
	}
	return HashedIdentity{Name: name, Hash: enc, NoPrep: noprep}, nil
}

// Authcid returns h.Name.
func (h HashedIdentity) Authcid() string { return h.Name }

// Compare prepares secret and verifies it against h.Hash. An empty password
// (after preparation) never matches. A malformed hash gives an error
// wrapping both ErrBadCredentials and the [*hash.FormatError].
func (h HashedIdentity) Compare(secret string) error {
	offered, err := prepareQuery(secret, h.NoPrep)
	if err != nil || offered == "" {
		// Spend the hash's cost anyway so that a prohibited character or an
		// empty password does not answer faster than a wrong password. An
		// empty password never matches, as for ClearIdentity.
		_ = hash.Verify(h.Hash, secret)
		return ErrBadCredentials
	}
	switch err := hash.Verify(h.Hash, offered); {
	case err == nil:
		return nil
	case errors.Is(err, hash.ErrMismatch):
		return ErrBadCredentials
	default:
		return errors.Join(ErrBadCredentials, err)
	}
}

// Secret returns false: a hashed identity holds no clear secret.
func (h HashedIdentity) Secret() (string, bool) { return "", false }

// Decoy returns an identity that matches every name and no secret. Its
// Compare costs what verifying against encoded costs. Pass it to
// [Server.Verify] in place of an unknown user's identity when the real
// identities are hashed, so that an unknown user takes as long to reject as a
// wrong password. encoded should be a hash made with the same scheme and
// parameters as the real ones, of a random password.
func Decoy(encoded string) Identity { return decoyIdentity{like: HashedIdentity{Hash: encoded}} }

// DecoyLike returns an identity that matches every name and no secret, and
// whose Compare does the work id's Compare does: verifying against it costs
// what verifying against id costs, but it never succeeds, even for id's own
// password. Any identity type works, including ones of other packages.
func DecoyLike(id Identity) Identity {
	if d, ok := id.(decoyIdentity); ok {
		return d
	}
	return decoyIdentity{like: id}
}

// decoyIdentity stands in for an unknown user. Its Secret is a random clear
// secret that no client can be expected to offer, so that mechanisms that
// need the clear secret (CRAM-MD5) do their usual work too; its Compare does
// the work of the identity it imitates. Server.Verify never lets it succeed.
type decoyIdentity struct{ like Identity }

func (d decoyIdentity) Authcid() string        { return "" }
func (d decoyIdentity) Secret() (string, bool) { return decoySecret, true }
func (d decoyIdentity) Compare(secret string) error {
	if d.like != nil {
		_ = d.like.Compare(secret)
		return ErrBadCredentials
	}
	_ = ClearIdentity{Password: decoySecret}.Compare(secret)
	return ErrBadCredentials
}

// decoySecret is random per process.
var decoySecret = func() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}()

var decoy Identity = decoyIdentity{}

// prepare prepares a stored secret (RFC 3454 section 7: unassigned code
// points are refused).
func prepare(s string, noprep bool) (string, error) {
	if noprep {
		return s, nil
	}
	return prep.Stored(s)
}

// prepareQuery prepares a secret a client offered.
func prepareQuery(s string, noprep bool) (string, error) {
	if noprep {
		return s, nil
	}
	return prep.Query(s)
}

// NamesEqual reports whether two authentication identities name the same
// user: they are equal byte for byte, or equal after SASLprep (query
// profile). It is the comparison [Server.Verify] uses.
func NamesEqual(a, b string) bool {
	if a == b {
		return true
	}
	pa, err := prep.Query(a)
	if err != nil {
		return false
	}
	pb, err := prep.Query(b)
	if err != nil {
		return false
	}
	return pa == pb
}
