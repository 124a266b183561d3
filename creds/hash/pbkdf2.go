package hash

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// PBKDF2 is a Hasher for PBKDF2 (RFC 8018) with HMAC-SHA-1, HMAC-SHA-256 or
// HMAC-SHA-512, producing the pysasl/passlib form
// "$pbkdf2-sha256$<rounds>$<salt>$<dk>" ("$pbkdf2-sha512$..." for SHA-512,
// "$pbkdf2$..." for SHA-1) with salt and derived key in standard padded
// base64. The derived key is as long as the hash's digest.
//
// The zero value is ready to use: PBKDF2-HMAC-SHA-256 with 600,000 rounds
// and a 16-byte salt from crypto/rand. A PBKDF2 value is safe for concurrent
// use if its Rand is.
type PBKDF2 struct {
	// Digest names the HMAC hash: "sha1", "sha256" or "sha512"; "" means
	// "sha256". (The field cannot be called Hash: that is the method.)
	Digest string
	// Rounds is the iteration count, 1..MaxPBKDF2Rounds. 0 means the
	// OWASP (2023) recommendation for Digest: 1,300,000 for sha1, 600,000
	// for sha256 and 210,000 for sha512.
	Rounds int
	// SaltLen is the salt length in bytes, 1..MaxSaltLen; 0 means 16.
	SaltLen int
	// Rand is the source of the salt; nil means crypto/rand.Reader.
	Rand io.Reader
}

// pbkdf2Params describes one supported PBKDF2 hash.
type pbkdf2Params struct {
	ident         string // modular-crypt identifier
	scheme        string // Scheme() name
	size          int    // digest size
	defaultRounds int
}

var pbkdf2Hashes = map[string]pbkdf2Params{
	"sha1":   {"pbkdf2", "pbkdf2-sha1", sha1.Size, 1_300_000},
	"sha256": {"pbkdf2-sha256", "pbkdf2-sha256", sha256.Size, 600_000},
	"sha512": {"pbkdf2-sha512", "pbkdf2-sha512", sha512.Size, 210_000},
}

// Hash returns the encoded PBKDF2 hash of password with a fresh salt. It
// returns an error if Digest names an unsupported hash, if Rounds or SaltLen
// is out of range, or if reading the salt fails.
func (h PBKDF2) Hash(password string) (string, error) {
	h, err := h.withDefaults()
	if err != nil {
		return "", err
	}
	name, rounds, hp := h.Digest, h.Rounds, pbkdf2Hashes[h.Digest]
	salt, err := readSalt(h.Rand, h.SaltLen)
	if err != nil {
		return "", err
	}
	dk, err := pbkdf2Key(name, password, salt, rounds, hp.size)
	if err != nil {
		return "", fmt.Errorf("saslkit/hash: PBKDF2: %w", err)
	}
	var b strings.Builder
	b.WriteByte('$')
	b.WriteString(hp.ident)
	b.WriteByte('$')
	b.WriteString(strconv.Itoa(rounds))
	b.WriteByte('$')
	b.WriteString(base64.StdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.StdEncoding.EncodeToString(dk))
	return b.String(), nil
}

// withDefaults returns h with zero fields replaced by their defaults, or an
// error if a field is out of range.
func (h PBKDF2) withDefaults() (PBKDF2, error) {
	if h.Digest == "" {
		h.Digest = "sha256"
	}
	hp, ok := pbkdf2Hashes[h.Digest]
	if !ok {
		return h, fmt.Errorf("saslkit/hash: unsupported PBKDF2 hash %q", h.Digest)
	}
	if h.Rounds == 0 {
		h.Rounds = hp.defaultRounds
	}
	if h.Rounds < 1 || h.Rounds > MaxPBKDF2Rounds {
		return h, fmt.Errorf("saslkit/hash: PBKDF2 rounds %d outside 1..%d", h.Rounds, MaxPBKDF2Rounds)
	}
	if h.SaltLen == 0 {
		h.SaltLen = 16
	}
	return h, checkSaltLen(h.SaltLen, 1)
}

func pbkdf2Key(name, password string, salt []byte, rounds, size int) ([]byte, error) {
	switch name {
	case "sha1":
		return pbkdf2.Key(sha1.New, password, salt, rounds, size)
	case "sha256":
		return pbkdf2.Key(sha256.New, password, salt, rounds, size)
	case "sha512":
		return pbkdf2.Key(sha512.New, password, salt, rounds, size)
	}
	return nil, fmt.Errorf("unsupported hash")
}

// pbkdf2Hash is a parsed PBKDF2 hash.
type pbkdf2Hash struct {
	name   string // "sha1", "sha256" or "sha512"
	params pbkdf2Params
	rounds int
	salt   []byte
	dk     []byte
}

func (p *pbkdf2Hash) scheme() string { return p.params.scheme }

func (p *pbkdf2Hash) verify(password string) error {
	dk, err := pbkdf2Key(p.name, password, p.salt, p.rounds, p.params.size)
	if err != nil {
		// Only possible when crypto/pbkdf2 refuses the parameters, e.g.
		// in FIPS 140-3 "only" mode.
		return formatErr(p.params.scheme, "parameters rejected by crypto/pbkdf2")
	}
	if subtle.ConstantTimeCompare(dk, p.dk) != 1 {
		return ErrMismatch
	}
	return nil
}

func parsePBKDF2(encoded string) (verifier, error) {
	f := strings.Split(encoded, "$")
	if len(f) < 2 || f[0] != "" {
		return nil, formatErr("", "unknown scheme")
	}
	var name string
	switch f[1] {
	case "pbkdf2":
		name = "sha1"
	case "pbkdf2-sha256":
		name = "sha256"
	case "pbkdf2-sha512":
		name = "sha512"
	default:
		return nil, formatErr("", "unknown scheme")
	}
	hp := pbkdf2Hashes[name]
	if len(f) != 5 {
		return nil, formatErr(hp.scheme, "wrong number of fields")
	}
	rounds, ok := parseDecimal(f[2], MaxPBKDF2Rounds)
	if !ok || rounds < 1 {
		return nil, formatErr(hp.scheme, "invalid or out-of-range rounds")
	}
	salt, ok := decodePasslibB64(f[3], MaxSaltLen)
	if !ok || len(salt) == 0 {
		return nil, formatErr(hp.scheme, "invalid salt")
	}
	dk, ok := decodePasslibB64(f[4], hp.size)
	if !ok || len(dk) != hp.size {
		return nil, formatErr(hp.scheme, "invalid derived key")
	}
	return &pbkdf2Hash{name: name, params: hp, rounds: int(rounds), salt: salt, dk: dk}, nil
}
