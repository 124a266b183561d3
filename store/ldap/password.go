package ldapstore

import (
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"

	pwhash "github.com/saslkit/saslkit/creds/hash"
	"golang.org/x/crypto/argon2"
)

// SchemeError reports a userPassword value this package cannot check: a
// scheme it does not support, a malformed value, or cost parameters beyond
// the bounds (a corrupt or hostile entry). Neither field ever holds any
// part of the value or of a password.
type SchemeError struct {
	// Scheme is the value's scheme, upper case and without braces
	// ("SSHA", "CRYPT", "ARGON2"), or "" for a value with none.
	Scheme string
	// Reason is a short fixed description of what is wrong.
	Reason string
}

// Error returns "saslkit/ldapstore: userPassword {SCHEME}: reason".
func (e *SchemeError) Error() string {
	if e.Scheme == "" {
		return "saslkit/ldapstore: userPassword: " + e.Reason
	}
	return "saslkit/ldapstore: userPassword {" + e.Scheme + "}: " + e.Reason
}

func schemeErr(scheme, reason string) *SchemeError {
	return &SchemeError{Scheme: scheme, Reason: reason}
}

// Verify checks password, byte for byte (no SASLprep), against value, a
// userPassword value in one of the schemes the package documentation
// lists. It returns nil if the password matches, an error wrapping
// [pwhash.ErrMismatch] if it does not, and a *[SchemeError] if the value
// cannot be checked. Comparisons are constant-time; cost parameters are
// checked against the bounds before any work is done. Verify never panics
// and is safe for concurrent use.
func Verify(value, password string) error {
	c, err := parseValue(value)
	if err != nil {
		return err
	}
	if !c.check(password) {
		return pwhash.ErrMismatch
	}
	return nil
}

// checker is a parsed userPassword value.
type checker interface {
	// check reports whether password is the value's, in time that does
	// not depend on where the two differ.
	check(password string) bool
	// class names what a check costs: values of one class cost the same.
	class() string
}

// parseValue parses a userPassword value: "{SCHEME}data", or a clear
// password (no scheme), as slapd reads it.
func parseValue(v string) (checker, error) {
	scheme, data, ok := splitScheme(v)
	if !ok {
		return clearValue(v), nil
	}
	switch scheme {
	case "CLEARTEXT":
		return clearValue(data), nil
	case "SHA", "SSHA", "SHA256", "SSHA256", "SHA384", "SSHA384", "SHA512", "SSHA512", "MD5", "SMD5":
		return parseDigest(scheme, data)
	case "CRYPT":
		return parseCrypt(data)
	case "PBKDF2", "PBKDF2-SHA1", "PBKDF2-SHA256", "PBKDF2-SHA512":
		return parsePBKDF2(scheme, data)
	case "PBKDF2_SHA256":
		return parsePBKDF2389(data)
	case "ARGON2":
		return parseArgon2(data)
	}
	return nil, schemeErr(scheme, "scheme not supported")
}

// splitScheme splits "{scheme}data", the scheme in upper case, as slapd
// matches scheme names without regard to case.
func splitScheme(v string) (scheme, data string, ok bool) {
	rest, ok := strings.CutPrefix(v, "{")
	if !ok {
		return "", "", false
	}
	scheme, data, ok = strings.Cut(rest, "}")
	if !ok || scheme == "" || len(scheme) > 32 {
		return "", "", false
	}
	return strings.ToUpper(scheme), data, true
}

// clearValue is a clear password: {CLEARTEXT}, or a value with no scheme.
type clearValue string

func (c clearValue) check(password string) bool { return equalHashed(string(c), password) }
func (clearValue) class() string                { return classClear }

// equalHashed compares two clear passwords in time that depends on
// neither's contents or length: both are hashed first. An empty stored
// password never matches.
func equalHashed(stored, offered string) bool {
	a, b := sha256.Sum256([]byte(stored)), sha256.Sum256([]byte(offered))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1 && stored != ""
}

// digestValue is {SHA}, {SSHA}, {SHA256}, ... {SMD5}: base64 of
// H(password || salt) || salt, the salt empty for the unsalted schemes.
type digestValue struct {
	newHash      func() hash.Hash
	digest, salt []byte
}

// digests maps the digest schemes to their hash and whether they are
// salted.
var digests = map[string]struct {
	newHash func() hash.Hash
	salted  bool
}{
	"SHA": {sha1.New, false}, "SSHA": {sha1.New, true},
	"SHA256": {sha256.New, false}, "SSHA256": {sha256.New, true},
	"SHA384": {sha512.New384, false}, "SSHA384": {sha512.New384, true},
	"SHA512": {sha512.New, false}, "SSHA512": {sha512.New, true},
	"MD5": {md5.New, false}, "SMD5": {md5.New, true},
}

func parseDigest(scheme, data string) (checker, error) {
	d := digests[scheme]
	newHash, salted := d.newHash, d.salted
	if len(data) > 4*(64+pwhash.MaxSaltLen) {
		return nil, schemeErr(scheme, "value too long")
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, schemeErr(scheme, "malformed base64")
	}
	size := newHash().Size()
	switch {
	case !salted && len(raw) != size:
		return nil, schemeErr(scheme, "digest of the wrong length")
	case salted && (len(raw) <= size || len(raw)-size > pwhash.MaxSaltLen):
		return nil, schemeErr(scheme, "salt of the wrong length")
	}
	return &digestValue{newHash: newHash, digest: raw[:size], salt: raw[size:]}, nil
}

func (d *digestValue) check(password string) bool {
	h := d.newHash()
	h.Write([]byte(password))
	h.Write(d.salt)
	return subtle.ConstantTimeCompare(h.Sum(nil), d.digest) == 1
}

func (d *digestValue) class() string { return "digest" }

// parseCrypt parses {CRYPT}: bcrypt ($2a$, $2b$, $2y$) and SHA-crypt ($5$,
// $6$). Other crypt(3) methods (DES, $1$ MD5-crypt, $y$ yescrypt, $7$
// scrypt, $gy$) are not supported.
func parseCrypt(data string) (checker, error) {
	switch {
	case strings.HasPrefix(data, "$2a$"), strings.HasPrefix(data, "$2b$"), strings.HasPrefix(data, "$2y$"):
		if _, err := pwhash.Scheme(data); err != nil {
			return nil, schemeErr("CRYPT", "malformed bcrypt hash or cost above the bound")
		}
		return bcryptValue(data), nil
	case strings.HasPrefix(data, "$5$"), strings.HasPrefix(data, "$6$"):
		return parseSHACrypt(data)
	}
	return nil, schemeErr("CRYPT", "crypt method not supported")
}

// bcryptValue is a bcrypt string, checked by package hash (whose bound on
// the cost parseCrypt applied).
type bcryptValue string

func (b bcryptValue) check(password string) bool { return pwhash.Verify(string(b), password) == nil }

func (b bcryptValue) class() string {
	// "$2y$10$…": the cost is the third field.
	f := strings.SplitN(string(b), "$", 4)
	return "bcrypt:" + f[2]
}

// pbkdf2Value is PBKDF2 (RFC 8018) with HMAC-SHA-1, -SHA-256 or -SHA-512.
type pbkdf2Value struct {
	name    string
	newHash func() hash.Hash
	iter    int
	salt    []byte
	dk      []byte
}

// parsePBKDF2 parses OpenLDAP's pw-pbkdf2 format,
// "{PBKDF2-SHA256}<iterations>$<salt>$<derived key>", with salt and key
// in passlib's adapted base64 ('.' for '+', no padding) as OpenLDAP
// writes them, or in standard padded base64 as 389 Directory Server's
// pwdchan plugin writes them. {PBKDF2} and {PBKDF2-SHA1} are HMAC-SHA-1.
// The derived key must be the hash's size, as both write it.
func parsePBKDF2(scheme, data string) (checker, error) {
	v := &pbkdf2Value{name: strings.ToLower(scheme)}
	switch scheme {
	case "PBKDF2", "PBKDF2-SHA1":
		v.name, v.newHash = "pbkdf2-sha1", sha1.New
	case "PBKDF2-SHA256":
		v.newHash = sha256.New
	case "PBKDF2-SHA512":
		v.newHash = sha512.New
	}
	f := strings.Split(data, "$")
	if len(f) != 3 {
		return nil, schemeErr(scheme, "malformed value")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || f[0] != strconv.Itoa(n) || n < 1 {
		return nil, schemeErr(scheme, "malformed iteration count")
	}
	if n > pwhash.MaxPBKDF2Rounds {
		return nil, schemeErr(scheme, "iteration count above the bound")
	}
	v.iter = n
	if v.salt, err = decodeAB64(f[1]); err != nil || len(v.salt) == 0 || len(v.salt) > pwhash.MaxSaltLen {
		return nil, schemeErr(scheme, "malformed salt")
	}
	if v.dk, err = decodeAB64(f[2]); err != nil || len(v.dk) != v.newHash().Size() {
		return nil, schemeErr(scheme, "malformed derived key")
	}
	return v, nil
}

// decodeAB64 decodes passlib's adapted base64 or standard base64, padded
// or not.
func decodeAB64(s string) ([]byte, error) {
	if len(s) > 4*pwhash.MaxSaltLen {
		return nil, errors.New("too long")
	}
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.Strict().DecodeString(s)
}

func (v *pbkdf2Value) check(password string) bool {
	dk, err := pbkdf2.Key(v.newHash, password, v.salt, v.iter, len(v.dk))
	return err == nil && subtle.ConstantTimeCompare(dk, v.dk) == 1
}

func (v *pbkdf2Value) class() string {
	return fmt.Sprintf("%s:%d:%d", v.name, v.iter, len(v.dk))
}

// The layout of 389 Directory Server's {PBKDF2_SHA256}: base64 of the
// iteration count (4 octets, big-endian), a 64-octet salt and a 256-octet
// PBKDF2-HMAC-SHA-256 key.
const (
	pbkdf2389Salt = 64
	pbkdf2389Key  = 256
)

func parsePBKDF2389(data string) (checker, error) {
	if len(data) > 1024 {
		return nil, schemeErr("PBKDF2_SHA256", "value too long")
	}
	raw, err := base64.StdEncoding.DecodeString(data)
	if err != nil || len(raw) != 4+pbkdf2389Salt+pbkdf2389Key {
		return nil, schemeErr("PBKDF2_SHA256", "malformed value")
	}
	n := binary.BigEndian.Uint32(raw)
	if n < 1 || n > pwhash.MaxPBKDF2Rounds {
		return nil, schemeErr("PBKDF2_SHA256", "iteration count out of bounds")
	}
	return &pbkdf2Value{
		name:    "pbkdf2_sha256",
		newHash: sha256.New,
		iter:    int(n),
		salt:    raw[4 : 4+pbkdf2389Salt],
		dk:      raw[4+pbkdf2389Salt:],
	}, nil
}

// argon2Value is OpenLDAP's {ARGON2}: a PHC string of Argon2i or Argon2id
// (RFC 9106), version 19,
// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>".
type argon2Value struct {
	id        bool
	m, t      uint32
	p         uint8
	salt, tag []byte
}

func parseArgon2(data string) (checker, error) {
	const scheme = "ARGON2"
	f := strings.Split(data, "$")
	if len(f) != 6 || f[0] != "" {
		return nil, schemeErr(scheme, "malformed value")
	}
	v := &argon2Value{}
	switch f[1] {
	case "argon2id":
		v.id = true
	case "argon2i":
	default:
		return nil, schemeErr(scheme, "only argon2i and argon2id are supported")
	}
	if f[2] != "v=19" {
		return nil, schemeErr(scheme, "only version 19 is supported")
	}
	var m, t, p uint64
	params := strings.Split(f[3], ",")
	if len(params) != 3 {
		return nil, schemeErr(scheme, "malformed parameters")
	}
	for i, dst := range []*uint64{&m, &t, &p} {
		key, val, ok := strings.Cut(params[i], "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || key != "mtp"[i:i+1] || val != strconv.FormatUint(n, 10) {
			return nil, schemeErr(scheme, "malformed parameters")
		}
		*dst = n
	}
	switch {
	case p < 1 || p > pwhash.MaxArgon2Threads:
		return nil, schemeErr(scheme, "parallelism out of bounds")
	case t < 1 || t > pwhash.MaxArgon2Time:
		return nil, schemeErr(scheme, "passes out of bounds")
	case m < 8*p || m > pwhash.MaxArgon2Memory:
		return nil, schemeErr(scheme, "memory out of bounds")
	}
	v.m, v.t, v.p = uint32(m), uint32(t), uint8(p)
	var err error
	e := base64.RawStdEncoding.Strict()
	if len(f[4]) > 2*pwhash.MaxSaltLen || len(f[5]) > 2*pwhash.MaxKeyLen {
		return nil, schemeErr(scheme, "salt or tag too long")
	}
	if v.salt, err = e.DecodeString(strings.TrimRight(f[4], "=")); err != nil || len(v.salt) < 8 {
		return nil, schemeErr(scheme, "malformed salt")
	}
	if v.tag, err = e.DecodeString(strings.TrimRight(f[5], "=")); err != nil || len(v.tag) < 4 {
		return nil, schemeErr(scheme, "malformed tag")
	}
	return v, nil
}

func (v *argon2Value) check(password string) bool {
	var tag []byte
	if v.id {
		tag = argon2.IDKey([]byte(password), v.salt, v.t, v.m, v.p, uint32(len(v.tag)))
	} else {
		tag = argon2.Key([]byte(password), v.salt, v.t, v.m, v.p, uint32(len(v.tag)))
	}
	return subtle.ConstantTimeCompare(tag, v.tag) == 1
}

func (v *argon2Value) class() string {
	kind := "argon2i"
	if v.id {
		kind = "argon2id"
	}
	return fmt.Sprintf("%s:m=%d,t=%d,p=%d", kind, v.m, v.t, v.p)
}

const classClear = "clear"
