package scram

import (
	"crypto/hmac"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/prep"
)

// Identity is a [creds.Identity] backed by stored SCRAM keys, so that a
// user who has only SCRAM keys can still log in with PLAIN or LOGIN: Compare
// derives the keys from the offered password with the stored salt and
// iteration count and compares StoredKey in constant time. It holds no
// clear secret, so CRAM-MD5 cannot use it.
type Identity struct {
	// Name is the authentication identity.
	Name string
	// Hash and Keys are the stored keys.
	Hash Hash
	Keys Keys
	// NoPrep turns off SASLprep of offered passwords; it must match how
	// Keys were derived.
	NoPrep bool
}

var _ creds.Identity = Identity{}

// Authcid returns i.Name.
func (i Identity) Authcid() string { return i.Name }

// Secret returns false: SCRAM keys hold no clear secret.
func (i Identity) Secret() (string, bool) { return "", false }

// Compare derives StoredKey from secret and compares it with i.Keys. It
// returns nil on a match and [creds.ErrBadCredentials] otherwise, including
// for malformed keys.
func (i Identity) Compare(secret string) error {
	h := i.Hash
	if h.new == nil {
		h = SHA256
	}
	if !i.Keys.valid(h) || secret == "" {
		return creds.ErrBadCredentials
	}
	if !i.NoPrep {
		p, err := prep.Query(secret)
		if err != nil {
			return creds.ErrBadCredentials
		}
		secret = p
	}
	if !hmac.Equal(deriveClient(h, secret, i.Keys.Salt, i.Keys.Iterations).storedKey, i.Keys.StoredKey) {
		return creds.ErrBadCredentials
	}
	return nil
}
