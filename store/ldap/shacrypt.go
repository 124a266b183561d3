package ldapstore

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"strconv"
	"strings"
)

// SHA-crypt ("$5$" SHA-256 and "$6$" SHA-512 crypt, Ulrich Drepper's
// "Unix crypt using SHA-256 and SHA-512", the algorithm of glibc's and
// libxcrypt's crypt(3), which slapd's {CRYPT} scheme calls).

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxSalt       = 16
	// MaxCryptRounds is the largest SHA-crypt ("$5$", "$6$") rounds
	// count accepted (16,777,216: seconds of CPU time a check). crypt(3)
	// accepts up to 999,999,999, minutes of CPU time, which a corrupt or
	// hostile entry must not be able to make a login cost.
	MaxCryptRounds = 1 << 24
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// shaCrypt is a parsed "$5$[rounds=N$]salt$hash" or "$6$..." string.
type shaCrypt struct {
	sha512 bool
	rounds int
	salt   string
	sum    string // the encoded hash, as stored
}

// parseSHACrypt parses s, a crypt(3) string of SHA-crypt.
func parseSHACrypt(s string) (*shaCrypt, error) {
	c := &shaCrypt{rounds: shaCryptDefaultRounds}
	var rest string
	switch {
	case strings.HasPrefix(s, "$5$"):
		rest = s[3:]
	case strings.HasPrefix(s, "$6$"):
		c.sha512, rest = true, s[3:]
	default:
		return nil, schemeErr("CRYPT", "not SHA-crypt")
	}
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		n, after, ok := strings.Cut(r, "$")
		if !ok {
			return nil, schemeErr("CRYPT", "malformed rounds")
		}
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || n != strconv.Itoa(v) {
			return nil, schemeErr("CRYPT", "malformed rounds")
		}
		if v > MaxCryptRounds {
			return nil, schemeErr("CRYPT", "rounds above the bound")
		}
		// crypt(3) raises a low count to the minimum, and so must a
		// check of what it wrote.
		c.rounds = max(v, shaCryptMinRounds)
		rest = after
	}
	salt, sum, ok := strings.Cut(rest, "$")
	if !ok {
		return nil, schemeErr("CRYPT", "no hash")
	}
	want := 43
	if c.sha512 {
		want = 86
	}
	if len(salt) > shaCryptMaxSalt || len(sum) != want || !cryptChars(sum) || strings.ContainsAny(salt, "$:\n") {
		return nil, schemeErr("CRYPT", "malformed salt or hash")
	}
	c.salt, c.sum = salt, sum
	return c, nil
}

func cryptChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(cryptAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

// check reports whether password hashes to c's hash, comparing in
// constant time.
func (c *shaCrypt) check(password string) bool {
	got := shaCryptSum(c.sha512, []byte(password), []byte(c.salt), c.rounds)
	return subtle.ConstantTimeCompare([]byte(got), []byte(c.sum)) == 1
}

func (c *shaCrypt) class() string {
	if c.sha512 {
		return "sha512-crypt:" + strconv.Itoa(c.rounds)
	}
	return "sha256-crypt:" + strconv.Itoa(c.rounds)
}

// shaCryptSum computes the encoded hash of SHA-crypt, following the steps
// of Drepper's specification (numbered as there).
func shaCryptSum(is512 bool, p, s []byte, rounds int) string {
	newH := sha256.New
	if is512 {
		newH = sha512.New
	}
	size := newH().Size()
	// Steps 4-8: digest B = H(P S P).
	b := newH()
	b.Write(p)
	b.Write(s)
	b.Write(p)
	sumB := b.Sum(nil)
	// Steps 1-3, 9-12: digest A.
	a := newH()
	a.Write(p)
	a.Write(s)
	for n := len(p); n > 0; n -= size {
		a.Write(sumB[:min(n, size)])
	}
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(sumB)
		} else {
			a.Write(p)
		}
	}
	sumA := a.Sum(nil)
	// Steps 13-16: P', from digest DP of P repeated len(P) times.
	dp := newH()
	for range len(p) {
		dp.Write(p)
	}
	pp := repeatTo(dp.Sum(nil), len(p))
	// Steps 17-20: S', from digest DS of S repeated 16+A[0] times.
	ds := newH()
	for range 16 + int(sumA[0]) {
		ds.Write(s)
	}
	sp := repeatTo(ds.Sum(nil), len(s))
	// Step 21: the rounds.
	c := sumA
	var h hash.Hash = newH()
	for r := range rounds {
		h.Reset()
		if r&1 != 0 {
			h.Write(pp)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(sp)
		}
		if r%7 != 0 {
			h.Write(pp)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pp)
		}
		c = h.Sum(c[:0])
	}
	return encodeSHACrypt(is512, c)
}

// repeatTo returns sum repeated to n octets.
func repeatTo(sum []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, sum[:min(len(sum), n-len(out))]...)
	}
	return out
}

// The byte order of SHA-crypt's encoding: each triple becomes four
// characters, the last group two (SHA-512) or three (SHA-256).
var (
	order512 = [...][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
	order256 = [...][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
)

func encodeSHACrypt(is512 bool, sum []byte) string {
	var out []byte
	put := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out = append(out, cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	if is512 {
		for _, g := range order512 {
			put(sum[g[0]], sum[g[1]], sum[g[2]], 4)
		}
		put(0, 0, sum[63], 2)
	} else {
		for _, g := range order256 {
			put(sum[g[0]], sum[g[1]], sum[g[2]], 4)
		}
		put(0, sum[31], sum[30], 3)
	}
	return string(out)
}
