package hash

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Hasher produces an encoded hash of a password, in a form accepted by
// [Verify]. Implementations in this package are safe for concurrent use as
// long as their Rand field (if any) is; the default, crypto/rand.Reader, is.
type Hasher interface {
	// Hash returns the encoded hash of password with a fresh random salt.
	// It returns an error if the Hasher's parameters are invalid or out of
	// the package bounds, or if reading the salt fails.
	Hash(password string) (string, error)
}

// Default is the Hasher recommended for new passwords: Argon2id with the
// second recommended parameter set of RFC 9106 (section 4): t=3 passes,
// m=64 MiB, p=4 lanes, a 16-byte salt and a 32-byte tag. It is the zero
// value [Argon2id]{} and is safe for concurrent use.
var Default Hasher = Argon2id{}

// ErrMismatch is returned (possibly wrapped; test with errors.Is) by
// [Verify] when the encoded hash is well formed but the password does not
// match it.
var ErrMismatch = errors.New("saslkit/hash: password does not match")

// FormatError reports an encoded hash that is malformed, uses an unknown or
// unsupported scheme, or has parameters outside the package bounds.
// Neither field ever contains any part of the encoded string or of a
// password.
type FormatError struct {
	// Scheme is the scheme name as returned by [Scheme] (for example
	// "argon2id"), or "" if the scheme could not be determined.
	Scheme string
	// Reason is a short fixed description of what is wrong.
	Reason string
}

// Error returns "saslkit/hash: malformed <scheme> hash: <reason>" (or
// "saslkit/hash: malformed hash: <reason>" when Scheme is empty).
func (e *FormatError) Error() string {
	if e.Scheme == "" {
		return "saslkit/hash: malformed hash: " + e.Reason
	}
	return "saslkit/hash: malformed " + e.Scheme + " hash: " + e.Reason
}

func formatErr(scheme, reason string) *FormatError {
	return &FormatError{Scheme: scheme, Reason: reason}
}

// Bounds enforced by [Verify] and [Scheme] on encoded hashes, and by the
// Hashers on their parameters. They keep one Verify call on a corrupt or
// hostile encoded string from allocating without bound or running for an
// unreasonable time.
const (
	// MaxPBKDF2Rounds is the largest accepted PBKDF2 iteration count
	// (16,777,216: about 4 s of CPU time with SHA-1 or SHA-256 and 14 s
	// with SHA-512 on a current server core).
	MaxPBKDF2Rounds = 1 << 24
	// MaxBcryptCost is the largest accepted bcrypt cost (2^20 rounds of
	// key expansion, about 90 s of CPU time). bcrypt's own limit is 31,
	// days of CPU time.
	MaxBcryptCost = 20
	// MaxArgon2Memory is the largest accepted Argon2 memory size in KiB
	// (1 GiB). Note that this excludes the 2 GiB first recommendation of
	// RFC 9106.
	MaxArgon2Memory = 1 << 20
	// MaxArgon2Time is the largest accepted number of Argon2 passes.
	MaxArgon2Time = 256
	// MaxArgon2Threads is the largest accepted Argon2 parallelism
	// (the limit of golang.org/x/crypto/argon2).
	MaxArgon2Threads = 255
	// MaxScryptLogN is the largest accepted log2 of the scrypt cost N.
	MaxScryptLogN = 20
	// MaxScryptR is the largest accepted scrypt block size r.
	MaxScryptR = 32
	// MaxScryptP is the largest accepted scrypt parallelism p.
	MaxScryptP = 16
	// MaxScryptMemory is the largest accepted scrypt working memory,
	// 128*r*N bytes (1 GiB).
	MaxScryptMemory = 1 << 30
	// MaxKeyLen is the largest accepted derived key (tag) length in bytes
	// for Argon2id and scrypt.
	MaxKeyLen = 1024
	// MaxSaltLen is the largest accepted salt length in bytes.
	MaxSaltLen = 1024
)

// Scheme returns the scheme name of encoded: "pbkdf2-sha1", "pbkdf2-sha256",
// "pbkdf2-sha512", "bcrypt", "argon2id", "scrypt" or "plain". Dovecot-style
// prefixes are resolved ("{BLF-CRYPT}$2y$..." is "bcrypt"). The whole string
// is parsed and its parameters checked against the package bounds without
// deriving any key, so a nil error means [Verify] will not return a
// [*FormatError] for encoded. Otherwise the error is a *FormatError.
func Scheme(encoded string) (string, error) {
	p, err := parse(encoded)
	if err != nil {
		return "", err
	}
	return p.scheme(), nil
}

// Verify checks password against encoded, choosing the scheme from encoded's
// prefix. It returns nil if the password matches, an error matching
// [ErrMismatch] if it does not, and a [*FormatError] if encoded is malformed,
// its scheme is unknown or unsupported, or its parameters exceed the package
// bounds. Key comparisons are constant-time. Verify never panics. It is safe
// for concurrent use.
//
// bcrypt only uses the first 72 bytes of a password. Rather than silently
// truncating, Verify returns ErrMismatch for a bcrypt hash and a password
// longer than 72 bytes, just as [Bcrypt.Hash] refuses such a password; so
// "password+suffix" never matches a hash of "password".
func Verify(encoded, password string) error {
	p, err := parse(encoded)
	if err != nil {
		return err
	}
	return p.verify(password)
}

// verifier is a parsed, bounds-checked encoded hash.
type verifier interface {
	scheme() string
	verify(password string) error
}

// parse dispatches on encoded's prefix and fully validates it.
func parse(encoded string) (verifier, error) {
	if encoded == "" {
		return nil, formatErr("", "empty")
	}
	if encoded[0] == '{' {
		return parseBraced(encoded)
	}
	if encoded[0] != '$' {
		return nil, formatErr("", "unknown scheme")
	}
	id, _, ok := strings.Cut(encoded[1:], "$")
	if !ok {
		return nil, formatErr("", "unknown scheme")
	}
	switch id {
	case "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512":
		return parsePBKDF2(encoded)
	case "2a", "2b", "2y":
		return parseBcrypt(encoded)
	case "argon2id":
		return parseArgon2id(encoded)
	case "argon2i", "argon2d":
		return nil, formatErr(id, "unsupported scheme")
	case "scrypt":
		return parseScrypt(encoded)
	}
	return nil, formatErr("", "unknown scheme")
}

// unsupportedBraced maps Dovecot scheme names that this package recognises
// but does not handle to their Scheme names.
var unsupportedBraced = map[string]string{
	"SCRAM-SHA-1":   "scram-sha-1",
	"SCRAM-SHA-256": "scram-sha-256",
	"SCRAM-SHA-512": "scram-sha-512",
	"ARGON2I":       "argon2i",
	"CRYPT":         "crypt",
	"MD5-CRYPT":     "md5-crypt",
	"SHA256-CRYPT":  "sha256-crypt",
	"SHA512-CRYPT":  "sha512-crypt",
	"SHA":           "sha",
	"SSHA":          "ssha",
	"SHA256":        "sha256",
	"SSHA256":       "ssha256",
	"SHA512":        "sha512",
	"SSHA512":       "ssha512",
	"MD5":           "md5",
	"PLAIN-MD5":     "plain-md5",
	"SMD5":          "smd5",
	"CRAM-MD5":      "cram-md5",
	"DIGEST-MD5":    "digest-md5",
	"PLAIN-TRUNC":   "plain-trunc",
	"PLAIN.B64":     "plain.b64",
	"PLAIN.HEX":     "plain.hex",
}

// maxBracedName bounds the length of a "{NAME}" prefix.
const maxBracedName = 32

func parseBraced(encoded string) (verifier, error) {
	end := strings.IndexByte(encoded, '}')
	if end < 0 || end > maxBracedName+1 {
		return nil, formatErr("", "unknown scheme")
	}
	name := strings.ToUpper(encoded[1:end])
	rest := encoded[end+1:]
	switch name {
	case "PLAIN", "CLEARTEXT":
		return plain(rest), nil
	case "BLF-CRYPT", "BCRYPT":
		return parseBcrypt(rest)
	case "ARGON2ID":
		return parseArgon2id(rest)
	case "PBKDF2":
		return parsePBKDF2(rest)
	}
	if s, ok := unsupportedBraced[name]; ok {
		return nil, formatErr(s, "unsupported scheme")
	}
	return nil, formatErr("", "unknown scheme")
}

// plain is a parsed cleartext password.
type plain string

func (plain) scheme() string { return "plain" }

// verify compares the UTF-8 bytes of password and the stored password in
// constant time. Both are first hashed with SHA-256 so that the comparison
// does not leak the stored password's length either.
func (p plain) verify(password string) error {
	a := sha256.Sum256([]byte(p))
	b := sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return ErrMismatch
	}
	return nil
}

// Cleartext is a Hasher that stores the password in clear, as
// "{PLAIN}"+password. It exists for tests and for migrating legacy
// databases; do not use it for new passwords. Its zero value is ready to
// use; it is safe for concurrent use and never returns an error.
type Cleartext struct{}

// Hash returns "{PLAIN}"+password and a nil error.
func (Cleartext) Hash(password string) (string, error) {
	return "{PLAIN}" + password, nil
}

// readSalt reads n random bytes from r, or from crypto/rand.Reader if r is
// nil.
func readSalt(r io.Reader, n int) ([]byte, error) {
	if err := checkSaltLen(n, 1); err != nil {
		return nil, err
	}
	if r == nil {
		r = rand.Reader
	}
	salt := make([]byte, n)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("saslkit/hash: reading salt: %w", err)
	}
	return salt, nil
}

// checkSaltLen reports an error if n is outside min..MaxSaltLen.
func checkSaltLen(n, min int) error {
	if n < min || n > MaxSaltLen {
		return fmt.Errorf("saslkit/hash: salt length %d outside %d..%d", n, min, MaxSaltLen)
	}
	return nil
}

// parseDecimal parses a canonical unsigned decimal (ASCII digits only, no
// sign, no leading zeros) not greater than max. It reports ok=false for
// anything else, including overflow.
func parseDecimal(s string, max uint64) (uint64, bool) {
	if s == "" || len(s) > 20 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// isB64 reports whether s consists only of base64 characters from the
// standard alphabet, passlib's '.' substitute and '=' padding. It rejects
// the whitespace that encoding/base64 would silently skip.
func isB64(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '.', c == '=':
		default:
			return false
		}
	}
	return true
}

// decodeRawB64 decodes unpadded standard base64 (as used in PHC strings) of
// at most max bytes, rejecting anything non-canonical.
func decodeRawB64(s string, max int) ([]byte, bool) {
	if len(s) > base64.StdEncoding.EncodedLen(max) || !isB64(s) || strings.ContainsAny(s, ".=") {
		return nil, false
	}
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	return b, err == nil && len(b) <= max
}

// decodePasslibB64 decodes standard padded base64 or passlib's ab64 ('.'
// for '+', unpadded) of at most max bytes.
func decodePasslibB64(s string, max int) ([]byte, bool) {
	if len(s) > base64.StdEncoding.EncodedLen(max) || !isB64(s) {
		return nil, false
	}
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
		if strings.Contains(s, ".") {
			return nil, false
		}
	} else if strings.Contains(s, ".") {
		s = strings.ReplaceAll(s, ".", "+")
	}
	b, err := enc.Strict().DecodeString(s)
	return b, err == nil && len(b) <= max
}
