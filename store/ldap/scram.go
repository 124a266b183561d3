package ldapstore

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strings"

	"github.com/saslkit/saslkit/creds"
)

// parseAuthPassword parses a value of the authPassword attribute (RFC 3112
// section 2.1: scheme, authInfo and authValue separated by "$", with
// optional spaces around each) that holds SCRAM keys as RFC 5803 lays
// them out: "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>",
// base64 throughout. ok is false, with no error, for a value of another
// scheme, which this package leaves alone.
func parseAuthPassword(v string) (k creds.SCRAMKeys, ok bool, err error) {
	if len(v) > 4096 {
		return creds.SCRAMKeys{}, false, creds.ErrBadSCRAMKeys
	}
	f := strings.Split(v, "$")
	for i := range f {
		f[i] = strings.Trim(f[i], " ")
	}
	if len(f) == 0 || !strings.HasPrefix(strings.ToUpper(f[0]), "SCRAM-") {
		return creds.SCRAMKeys{}, false, nil
	}
	k, err = creds.ParseSCRAMKeys(strings.Join(f, "$"))
	if err != nil {
		return creds.SCRAMKeys{}, true, err
	}
	return k, true, nil
}

// scramHash returns the hash function a SCRAM hash name names.
func scramHash(name string) func() hash.Hash {
	switch name {
	case "SHA-1":
		return sha1.New
	case "SHA-256":
		return sha256.New
	case "SHA-512":
		return sha512.New
	case "SHA3-512":
		return func() hash.Hash { return sha3.New512() }
	}
	return nil
}

// checkSCRAM reports whether password derives k's StoredKey (RFC 5802
// section 3), comparing in constant time. It does the whole derivation for
// any password, the empty one included.
func checkSCRAM(k creds.SCRAMKeys, password string) bool {
	h := scramHash(k.Hash)
	if h == nil {
		return false
	}
	salted, err := pbkdf2.Key(h, password, k.Salt, k.Iterations, h().Size())
	if err != nil {
		return false
	}
	m := hmac.New(h, salted)
	m.Write([]byte("Client Key"))
	d := h()
	d.Write(m.Sum(nil))
	return subtle.ConstantTimeCompare(d.Sum(nil), k.StoredKey) == 1
}
