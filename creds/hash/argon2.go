package hash

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2id is a Hasher for Argon2id (RFC 9106, version 0x13), producing PHC
// strings "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>" with
// unpadded standard base64.
//
// Zero fields take the second recommended option of RFC 9106 section 4:
// Time 3, Memory 65536 KiB (64 MiB), Threads 4, KeyLen 32, SaltLen 16, and
// Rand crypto/rand.Reader; so the zero value is ready to use. An Argon2id
// value is safe for concurrent use if its Rand is.
type Argon2id struct {
	// Time is the number of passes, 1..MaxArgon2Time.
	Time uint32
	// Memory is the memory size in KiB, 8*Threads..MaxArgon2Memory.
	Memory uint32
	// Threads is the degree of parallelism (lanes), 1..MaxArgon2Threads.
	Threads uint8
	// KeyLen is the tag length in bytes, 4..MaxKeyLen.
	KeyLen uint32
	// SaltLen is the salt length in bytes, 8..MaxSaltLen.
	SaltLen int
	// Rand is the source of the salt; nil means crypto/rand.Reader.
	Rand io.Reader
}

// Hash returns the encoded Argon2id hash of password with a fresh salt. It
// returns an error if a parameter is out of range or reading the salt fails.
func (h Argon2id) Hash(password string) (string, error) {
	h, err := h.withDefaults()
	if err != nil {
		return "", err
	}
	t, m, p, keyLen := h.Time, h.Memory, h.Threads, h.KeyLen
	salt, err := readSalt(h.Rand, h.SaltLen)
	if err != nil {
		return "", err
	}
	tag := argon2.IDKey([]byte(password), salt, t, m, p, keyLen)
	var b strings.Builder
	b.WriteString("$argon2id$v=")
	b.WriteString(strconv.Itoa(argon2.Version))
	b.WriteString("$m=")
	b.WriteString(strconv.FormatUint(uint64(m), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(t), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(tag))
	return b.String(), nil
}

// withDefaults returns h with zero fields replaced by their defaults, or an
// error if a field is out of range.
func (h Argon2id) withDefaults() (Argon2id, error) {
	if h.Time == 0 {
		h.Time = 3
	}
	if h.Memory == 0 {
		h.Memory = 64 * 1024
	}
	if h.Threads == 0 {
		h.Threads = 4
	}
	if h.KeyLen == 0 {
		h.KeyLen = 32
	}
	if h.SaltLen == 0 {
		h.SaltLen = 16
	}
	if reason := checkArgon2(uint64(h.Time), uint64(h.Memory), uint64(h.Threads)); reason != "" {
		return h, fmt.Errorf("saslkit/hash: argon2id: %s", reason)
	}
	if h.KeyLen < 4 || h.KeyLen > MaxKeyLen {
		return h, fmt.Errorf("saslkit/hash: argon2id: key length %d outside 4..%d", h.KeyLen, MaxKeyLen)
	}
	return h, checkSaltLen(h.SaltLen, 8)
}

// checkArgon2 checks t, m, p against the package bounds and returns a
// reason, or "".
func checkArgon2(t, m, p uint64) string {
	switch {
	case t < 1 || t > MaxArgon2Time:
		return "time out of range"
	case p < 1 || p > MaxArgon2Threads:
		return "parallelism out of range"
	case m < 8*p || m > MaxArgon2Memory:
		return "memory out of range"
	}
	return ""
}

// argon2Hash is a parsed Argon2id PHC string.
type argon2Hash struct {
	time, memory uint32
	threads      uint8
	salt, tag    []byte
}

func (*argon2Hash) scheme() string { return "argon2id" }

func (a *argon2Hash) verify(password string) error {
	tag := argon2.IDKey([]byte(password), a.salt, a.time, a.memory, a.threads, uint32(len(a.tag)))
	if subtle.ConstantTimeCompare(tag, a.tag) != 1 {
		return ErrMismatch
	}
	return nil
}

// parsePHCParams parses "k1=v1,k2=v2,k3=v3" with exactly the given keys in
// order, each value a canonical decimal not above max.
func parsePHCParams(s string, keys [3]string, max [3]uint64) ([3]uint64, bool) {
	var out [3]uint64
	for i, k := range keys {
		var field string
		if i < 2 {
			var ok bool
			field, s, ok = strings.Cut(s, ",")
			if !ok {
				return out, false
			}
		} else {
			field = s
		}
		v, ok := strings.CutPrefix(field, k+"=")
		if !ok {
			return out, false
		}
		n, ok := parseDecimal(v, max[i])
		if !ok {
			return out, false
		}
		out[i] = n
	}
	return out, true
}

func parseArgon2id(encoded string) (verifier, error) {
	const scheme = "argon2id"
	f := strings.Split(encoded, "$")
	if len(f) < 2 || f[0] != "" || f[1] != scheme {
		if len(f) >= 2 && f[0] == "" && (f[1] == "argon2i" || f[1] == "argon2d") {
			return nil, formatErr(f[1], "unsupported scheme")
		}
		return nil, formatErr("", "unknown scheme")
	}
	if len(f) != 6 {
		return nil, formatErr(scheme, "wrong number of fields")
	}
	if f[2] != "v=19" {
		if strings.HasPrefix(f[2], "v=") {
			return nil, formatErr(scheme, "unsupported version")
		}
		return nil, formatErr(scheme, "missing version")
	}
	// Parse with bounds slightly above the package ones so that an
	// out-of-range value gets the more precise reason below.
	v, ok := parsePHCParams(f[3], [3]string{"m", "t", "p"}, [3]uint64{1 << 32, 1 << 32, 1 << 32})
	if !ok {
		return nil, formatErr(scheme, "invalid parameters")
	}
	m, t, p := v[0], v[1], v[2]
	if reason := checkArgon2(t, m, p); reason != "" {
		return nil, formatErr(scheme, reason)
	}
	salt, ok := decodeRawB64(f[4], MaxSaltLen)
	if !ok || len(salt) < 8 {
		return nil, formatErr(scheme, "invalid salt")
	}
	tag, ok := decodeRawB64(f[5], MaxKeyLen)
	if !ok || len(tag) < 4 {
		return nil, formatErr(scheme, "invalid hash")
	}
	return &argon2Hash{time: uint32(t), memory: uint32(m), threads: uint8(p), salt: salt, tag: tag}, nil
}
