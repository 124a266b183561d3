// Package scram implements the Salted Challenge Response Authentication
// Mechanism: SCRAM-SHA-1 (RFC 5802), SCRAM-SHA-256 (RFC 7677),
// SCRAM-SHA-512 (draft-melnikov-scram-sha-512) and SCRAM-SHA3-512
// (draft-melnikov-scram-sha3-512), each with its -PLUS variant, which binds
// the exchange to the TLS channel (RFC 5056, RFC 5929, RFC 9266).
//
// # Server
//
// The server never needs the password. It looks the user's salt, iteration
// count, StoredKey and ServerKey ([creds.SCRAMKeys]) up through the
// session's [creds.Verifier], the one path every mechanism checks secrets
// through, so one account record serves SCRAM and PLAIN. Keys are made with
// [creds.DeriveSCRAMKeys] and read from the formats of RFC 5803, Dovecot,
// gsasl --mkpasswd and PostgreSQL with [creds.ParseSCRAMKeys]. User names
// are prepared with SASLprep by the store, as RFC 5802 section 5.1 asks. An
// unknown user is given mock keys of the store's shape (salt length,
// iteration count), and the exchange runs to the proof and fails there
// exactly as for a wrong password: same steps, same error, same
// "e=invalid-proof".
//
// # Client
//
// The client verifies the server's signature ("v=") before it reports
// success, bounds the iteration count a server may ask for, and prepares
// the user name and password with SASLprep. A [KeyCache] spares the
// PBKDF2 cost on re-authentication.
//
// # Channel binding
//
// A -PLUS mechanism takes the binding from the session's [mech.Channel]
// ([mech.ServerTLSChannel] and [mech.ClientTLSChannel] fill it from a
// *tls.ConnectionState). A client with channel binding that runs a
// non-PLUS mechanism sends the "y" flag, and a server that has channel
// bindings to offer refuses "y" as a downgrade; a registry that offers no
// -PLUS variant hides the bindings from its sessions for that reason.
package scram

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"hash"
	"sync"
)

// Hash is a SCRAM hash function. Use the package's values.
type Hash struct {
	name string
	new  func() hash.Hash
	size int
	// mech and plus are the mechanism names, made once.
	mech, plus string
	// scratch pools the HMAC working memory of exchanges with this hash.
	scratch *sync.Pool
}

func newHash(name string, new func() hash.Hash, size int) Hash {
	h := Hash{name: name, new: new, size: size, mech: "SCRAM-" + name, plus: "SCRAM-" + name + "-PLUS"}
	h.scratch = &sync.Pool{New: func() any { return newScratch(h) }}
	return h
}

// The hash functions of the SCRAM family.
var (
	SHA1     = newHash("SHA-1", sha1.New, sha1.Size)
	SHA256   = newHash("SHA-256", sha256.New, sha256.Size)
	SHA512   = newHash("SHA-512", sha512.New, sha512.Size)
	SHA3_512 = newHash("SHA3-512", func() hash.Hash { return sha3.New512() }, 64)
)

// Hashes lists the package's hash functions, strongest first.
var Hashes = []Hash{SHA3_512, SHA512, SHA256, SHA1}

// Name returns the hash's name in SCRAM mechanism names: "SHA-256".
func (h Hash) Name() string { return h.name }

// Size returns the digest size in octets.
func (h Hash) Size() int { return h.size }

// New returns a new hash.Hash.
func (h Hash) New() hash.Hash { return h.new() }

// Mechanism returns the name of the SCRAM mechanism for h, with "-PLUS" if
// plus is set: "SCRAM-SHA-256-PLUS".
func (h Hash) Mechanism(plus bool) string {
	if plus {
		return h.plus
	}
	return h.mech
}

// HashByName returns the hash whose SCRAM mechanism name is name (upper
// case, with or without "-PLUS"), and whether name has "-PLUS".
func HashByName(name string) (h Hash, plus bool, ok bool) {
	for _, h := range Hashes {
		switch name {
		case h.Mechanism(false):
			return h, false, true
		case h.Mechanism(true):
			return h, true, true
		}
	}
	return Hash{}, false, false
}
