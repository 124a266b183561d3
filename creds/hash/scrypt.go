package hash

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// Scrypt is a Hasher for scrypt (RFC 7914), producing PHC/passlib strings
// "$scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>" with unpadded standard
// base64.
//
// Zero fields take defaults N=32768 (ln=15), R=8, P=1, KeyLen=32,
// SaltLen=16 and Rand crypto/rand.Reader, so the zero value is ready to use.
// A Scrypt value is safe for concurrent use if its Rand is.
type Scrypt struct {
	// N is the CPU/memory cost, a power of two from 2 to 1<<MaxScryptLogN.
	N int
	// R is the block size, 1..MaxScryptR.
	R int
	// P is the parallelism, 1..MaxScryptP.
	P int
	// KeyLen is the derived key length in bytes, 1..MaxKeyLen.
	KeyLen int
	// SaltLen is the salt length in bytes, 1..MaxSaltLen.
	SaltLen int
	// Rand is the source of the salt; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Hash returns the encoded scrypt hash of password with a fresh salt. It
// returns an error if a parameter is out of range (including 128*R*N above
// MaxScryptMemory) or reading the salt fails.
func (h Scrypt) Hash(password string) (string, error) {
	h, err := h.withDefaults()
	if err != nil {
		return "", err
	}
	n, r, p, keyLen := h.N, h.R, h.P, h.KeyLen
	ln := bits.TrailingZeros64(uint64(n))
	salt, err := readSalt(h.Rand, h.SaltLen)
	if err != nil {
		return "", err
	}
	key, err := scrypt.Key([]byte(password), salt, n, r, p, keyLen)
	if err != nil {
		return "", fmt.Errorf("saslkit/hash: scrypt: %w", err)
	}
	var b strings.Builder
	b.WriteString("$scrypt$ln=")
	b.WriteString(strconv.Itoa(ln))
	b.WriteString(",r=")
	b.WriteString(strconv.Itoa(r))
	b.WriteString(",p=")
	b.WriteString(strconv.Itoa(p))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String(), nil
}

// withDefaults returns h with zero fields replaced by their defaults, or an
// error if a field is out of range.
func (h Scrypt) withDefaults() (Scrypt, error) {
	if h.N == 0 {
		h.N = 1 << 15
	}
	if h.R == 0 {
		h.R = 8
	}
	if h.P == 0 {
		h.P = 1
	}
	if h.KeyLen == 0 {
		h.KeyLen = 32
	}
	if h.SaltLen == 0 {
		h.SaltLen = 16
	}
	if h.N < 2 || h.N&(h.N-1) != 0 {
		return h, fmt.Errorf("saslkit/hash: scrypt: N=%d is not a power of two above 1", h.N)
	}
	if h.R < 0 || h.P < 0 {
		return h, fmt.Errorf("saslkit/hash: scrypt: negative parameter")
	}
	ln := bits.TrailingZeros64(uint64(h.N))
	if reason := checkScrypt(uint64(ln), uint64(h.R), uint64(h.P)); reason != "" {
		return h, fmt.Errorf("saslkit/hash: scrypt: %s", reason)
	}
	if h.KeyLen < 1 || h.KeyLen > MaxKeyLen {
		return h, fmt.Errorf("saslkit/hash: scrypt: key length %d outside 1..%d", h.KeyLen, MaxKeyLen)
	}
	return h, checkSaltLen(h.SaltLen, 1)
}

// checkScrypt checks log2 N, r and p against the package bounds and returns
// a reason, or "".
func checkScrypt(ln, r, p uint64) string {
	switch {
	case ln < 1 || ln > MaxScryptLogN:
		return "ln out of range"
	case r < 1 || r > MaxScryptR:
		return "r out of range"
	case p < 1 || p > MaxScryptP:
		return "p out of range"
	case 128*r<<ln > MaxScryptMemory:
		return "memory (128*r*N) out of range"
	}
	return ""
}

// scryptHash is a parsed scrypt PHC string.
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

func (*scryptHash) scheme() string { return "scrypt" }

func (s *scryptHash) verify(password string) error {
	key, err := scrypt.Key([]byte(password), s.salt, 1<<s.ln, s.r, s.p, len(s.key))
	if err != nil {
		return formatErr("scrypt", "parameters rejected by scrypt")
	}
	if subtle.ConstantTimeCompare(key, s.key) != 1 {
		return ErrMismatch
	}
	return nil
}

func parseScrypt(encoded string) (verifier, error) {
	const scheme = "scrypt"
	f := strings.Split(encoded, "$")
	if len(f) < 2 || f[0] != "" || f[1] != scheme {
		return nil, formatErr("", "unknown scheme")
	}
	if len(f) != 5 {
		return nil, formatErr(scheme, "wrong number of fields")
	}
	v, ok := parsePHCParams(f[2], [3]string{"ln", "r", "p"}, [3]uint64{1 << 32, 1 << 32, 1 << 32})
	if !ok {
		return nil, formatErr(scheme, "invalid parameters")
	}
	if reason := checkScrypt(v[0], v[1], v[2]); reason != "" {
		return nil, formatErr(scheme, reason)
	}
	salt, ok := decodeRawB64(f[3], MaxSaltLen)
	if !ok || len(salt) < 1 {
		return nil, formatErr(scheme, "invalid salt")
	}
	key, ok := decodeRawB64(f[4], MaxKeyLen)
	if !ok || len(key) < 1 {
		return nil, formatErr(scheme, "invalid hash")
	}
	return &scryptHash{ln: int(v[0]), r: int(v[1]), p: int(v[2]), salt: salt, key: key}, nil
}
