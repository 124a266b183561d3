package hash

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Bcrypt is a Hasher for bcrypt (golang.org/x/crypto/bcrypt), producing
// "$2a$<cost>$<salt+hash>" strings. The salt always comes from
// crypto/rand. The zero value is ready to use (cost bcrypt.DefaultCost, 10).
// A Bcrypt value is safe for concurrent use.
type Bcrypt struct {
	// Cost is the bcrypt cost, bcrypt.MinCost (4)..MaxBcryptCost; 0 means
	// bcrypt.DefaultCost.
	Cost int
}

// Hash returns the bcrypt hash of password. bcrypt only uses the first 72
// bytes of a password, so Hash returns an error wrapping
// bcrypt.ErrPasswordTooLong for a longer password rather than silently
// truncating it. It also returns an error if Cost is out of range.
func (h Bcrypt) Hash(password string) (string, error) {
	h, err := h.withDefaults()
	if err != nil {
		return "", err
	}
	cost := h.Cost
	if len(password) > 72 {
		return "", fmt.Errorf("saslkit/hash: %w", bcrypt.ErrPasswordTooLong)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return "", fmt.Errorf("saslkit/hash: bcrypt: %w", err)
	}
	return string(b), nil
}

// withDefaults returns h with a zero Cost replaced by bcrypt.DefaultCost, or
// an error if Cost is out of range.
func (h Bcrypt) withDefaults() (Bcrypt, error) {
	if h.Cost == 0 {
		h.Cost = bcrypt.DefaultCost
	}
	if h.Cost < bcrypt.MinCost || h.Cost > MaxBcryptCost {
		return h, fmt.Errorf("saslkit/hash: bcrypt cost %d outside %d..%d", h.Cost, bcrypt.MinCost, MaxBcryptCost)
	}
	return h, nil
}

// bcryptHash is a validated bcrypt string.
type bcryptHash struct {
	encoded string
	cost    int
}

func (*bcryptHash) scheme() string { return "bcrypt" }

func (p *bcryptHash) verify(password string) error {
	if len(password) > 72 {
		// bcrypt would ignore the excess bytes, so such a password
		// could only "match" by truncation; Hash refuses it too.
		return ErrMismatch
	}
	err := bcrypt.CompareHashAndPassword([]byte(p.encoded), []byte(password))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return ErrMismatch
	}
	return formatErr("bcrypt", "rejected by bcrypt")
}

// bcryptLen is the length of "$2a$NN$" + 22 salt + 31 hash characters.
const bcryptLen = 60

func isBcryptB64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '/'
}

func parseBcrypt(encoded string) (verifier, error) {
	if len(encoded) < 4 || encoded[0] != '$' || encoded[1] != '2' || encoded[3] != '$' {
		return nil, formatErr("", "unknown scheme")
	}
	switch encoded[2] {
	case 'a', 'b', 'y':
	default:
		return nil, formatErr("", "unknown scheme")
	}
	if len(encoded) != bcryptLen {
		return nil, formatErr("bcrypt", "wrong length")
	}
	if encoded[6] != '$' {
		return nil, formatErr("bcrypt", "invalid cost")
	}
	cost, ok := parseDecimal(encoded[4:6], MaxBcryptCost)
	if encoded[4] == '0' { // two-digit, zero-padded cost
		cost, ok = parseDecimal(encoded[5:6], MaxBcryptCost)
	}
	if !ok || cost < uint64(bcrypt.MinCost) {
		return nil, formatErr("bcrypt", "invalid or out-of-range cost")
	}
	for i := 7; i < bcryptLen; i++ {
		if !isBcryptB64(encoded[i]) {
			return nil, formatErr("bcrypt", "invalid salt or hash encoding")
		}
	}
	return &bcryptHash{encoded: encoded, cost: int(cost)}, nil
}
