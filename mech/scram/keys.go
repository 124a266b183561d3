package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/saslkit/saslkit/creds/prep"
)

// Limits on stored keys and on what a server may ask a client to compute.
const (
	// MaxIterations is the largest iteration count [ParseStored] accepts
	// and the default most a client computes (10,000,000).
	MaxIterations = 10_000_000
	// DefaultMinIterations is the default least iteration count a client
	// accepts: RFC 7677 section 4 asks for at least 4096.
	DefaultMinIterations = 4096
	// MaxSalt is the longest salt, in octets, accepted anywhere.
	MaxSalt = 256
)

// Keys is what a SCRAM server stores for a user (RFC 5802 section 3): the
// salt and iteration count of PBKDF2, and the StoredKey and ServerKey
// derived from the salted password. It holds no password.
type Keys struct {
	Salt       []byte
	Iterations int
	StoredKey  []byte
	ServerKey  []byte
}

// ErrBadKeys means stored keys are malformed or do not fit the hash. Its
// text never holds the keys.
var ErrBadKeys = errors.New("saslkit/scram: malformed stored keys")

// valid reports whether k can be used with h.
func (k *Keys) valid(h Hash) bool {
	return len(k.Salt) > 0 && len(k.Salt) <= MaxSalt &&
		k.Iterations > 0 && k.Iterations <= MaxIterations &&
		len(k.StoredKey) == h.size && len(k.ServerKey) == h.size
}

// Derive prepares password with SASLprep (unless noprep is set) and
// derives the stored keys for it with salt and iterations. A nil salt means
// 16 random octets. It returns an error if the password fails SASLprep or
// the parameters are out of range.
func Derive(h Hash, password string, salt []byte, iterations int, noprep bool) (Keys, error) {
	if iterations < 1 || iterations > MaxIterations {
		return Keys{}, errors.New("saslkit/scram: iteration count out of range")
	}
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := io.ReadFull(rand.Reader, salt); err != nil {
			return Keys{}, err
		}
	}
	if len(salt) == 0 || len(salt) > MaxSalt {
		return Keys{}, errors.New("saslkit/scram: salt length out of range")
	}
	if !noprep {
		p, err := prep.Stored(password)
		if err != nil {
			return Keys{}, err
		}
		password = p
	}
	salted := saltedPassword(h, password, salt, iterations)
	client := hmacSum(h, salted, "Client Key")
	return Keys{
		Salt:       append([]byte(nil), salt...),
		Iterations: iterations,
		StoredKey:  hashSum(h, client),
		ServerKey:  hmacSum(h, salted, "Server Key"),
	}, nil
}

func saltedPassword(h Hash, password string, salt []byte, iterations int) []byte {
	k, err := pbkdf2.Key(h.new, password, salt, iterations, h.size)
	if err != nil {
		// Only FIPS-mode restrictions make pbkdf2 fail; SCRAM cannot run.
		panic("saslkit/scram: pbkdf2: " + err.Error())
	}
	return k
}

func hmacSum(h Hash, key []byte, msg string) []byte {
	m := hmac.New(h.new, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hashSum(h Hash, b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}

// Format returns k in the form Dovecot and gsasl --mkpasswd use (after RFC
// 5803's fields): "{SCRAM-SHA-256}4096,<salt>,<StoredKey>,<ServerKey>",
// base64 throughout.
func (k Keys) Format(h Hash) string {
	e := base64.StdEncoding
	return "{" + h.Mechanism(false) + "}" + strconv.Itoa(k.Iterations) + "," +
		e.EncodeToString(k.Salt) + "," + e.EncodeToString(k.StoredKey) + "," + e.EncodeToString(k.ServerKey)
}

// FormatRFC5803 returns k in the form of RFC 5803 and PostgreSQL:
// "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>".
func (k Keys) FormatRFC5803(h Hash) string {
	e := base64.StdEncoding
	return h.Mechanism(false) + "$" + strconv.Itoa(k.Iterations) + ":" +
		e.EncodeToString(k.Salt) + "$" + e.EncodeToString(k.StoredKey) + ":" + e.EncodeToString(k.ServerKey)
}

// ParseStored parses stored SCRAM keys in either form:
//
//	{SCRAM-SHA-256}<iter>,<salt>,<StoredKey>,<ServerKey>   Dovecot, gsasl --mkpasswd
//	SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>    RFC 5803, PostgreSQL
//
// with standard base64. It returns the hash named and the keys, or an error
// wrapping [ErrBadKeys].
func ParseStored(s string) (Hash, Keys, error) {
	var name, iter, salt, stored, server string
	if rest, ok := strings.CutPrefix(s, "{"); ok {
		var body string
		name, body, ok = strings.Cut(rest, "}")
		if !ok {
			return Hash{}, Keys{}, ErrBadKeys
		}
		f := strings.Split(body, ",")
		if len(f) != 4 {
			return Hash{}, Keys{}, ErrBadKeys
		}
		iter, salt, stored, server = f[0], f[1], f[2], f[3]
	} else {
		f := strings.Split(s, "$")
		if len(f) != 3 {
			return Hash{}, Keys{}, ErrBadKeys
		}
		var ok1, ok2 bool
		name = f[0]
		iter, salt, ok1 = strings.Cut(f[1], ":")
		stored, server, ok2 = strings.Cut(f[2], ":")
		if !ok1 || !ok2 {
			return Hash{}, Keys{}, ErrBadKeys
		}
	}
	h, plus, ok := HashByName(strings.ToUpper(name))
	if !ok || plus {
		return Hash{}, Keys{}, ErrBadKeys
	}
	n, err := strconv.Atoi(iter)
	if err != nil || iter != strconv.Itoa(n) {
		return Hash{}, Keys{}, ErrBadKeys
	}
	var k Keys
	k.Iterations = n
	e := base64.StdEncoding.Strict()
	if k.Salt, err = e.DecodeString(salt); err != nil {
		return Hash{}, Keys{}, ErrBadKeys
	}
	if k.StoredKey, err = e.DecodeString(stored); err != nil {
		return Hash{}, Keys{}, ErrBadKeys
	}
	if k.ServerKey, err = e.DecodeString(server); err != nil {
		return Hash{}, Keys{}, ErrBadKeys
	}
	if !k.valid(h) {
		return Hash{}, Keys{}, ErrBadKeys
	}
	return h, k, nil
}
