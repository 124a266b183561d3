package creds

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"

	pwhash "github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/creds/prep"
)

// Identity is one account of a [Store], as the [Verifier] sees it. What a
// mechanism can check against it is given by the optional capabilities it
// implements: [PasswordChecker], [ClearSecretHolder], [SCRAMKeyHolder].
// Implementations must be safe for concurrent use.
type Identity interface {
	// AccountName returns the account's canonical name: the name the
	// application is given once the account authenticated.
	AccountName() string
}

// PasswordChecker is an [Identity] that can check a password: PLAIN,
// LOGIN and logins outside SASL use it.
type PasswordChecker interface {
	// CheckPassword returns nil if password is the account's, and an error
	// wrapping [ErrBadCredentials] if it is not. Any other error means the
	// check could not be made (a directory that verifies by bind is
	// unreachable): the [Verifier] returns it as it is, a temporary
	// failure, never a wrong password. It must take time
	// independent of the password: no early return for a password that
	// fails SASLprep, is empty or differs early. Its cost should be the
	// store's decoy's ([Profile].PasswordDecoy): the [Verifier] pads only
	// identities that hold a clear secret ([ClearSecretHolder]).
	CheckPassword(password string) error
}

// ClearSecretHolder is an [Identity] that holds its password in the clear,
// which CRAM-MD5 needs.
type ClearSecretHolder interface {
	// ClearSecret returns the password, prepared with SASLprep unless the
	// account opted out, and true; or "" and false if the account holds
	// none.
	ClearSecret() (string, bool)
}

// SCRAMKeyHolder is an [Identity] that holds SCRAM keys (RFC 5802 section
// 3), which the SCRAM mechanisms need.
type SCRAMKeyHolder interface {
	// SCRAMKeys returns the keys for the hash named hash ("SHA-256", as in
	// the mechanism name) and true, or false if the account has none.
	SCRAMKeys(hash string) (SCRAMKeys, bool)
}

// Account is the account record of this package: the [Identity] of a
// [MemoryStore], and a model for a database row. It has every capability:
// one Account serves PLAIN and LOGIN (from Password, or else from SCRAM
// keys), CRAM-MD5 (from a clear Password) and SCRAM (from its keys).
//
// An Account must not be modified once it has been added to a store.
type Account struct {
	// Name is the canonical account name. Clients may spell it in any
	// form that SASLprep maps to the same string, unless NoPrep is set.
	Name string
	// Password is the stored password in one of package hash's encodings:
	// a hash ("$argon2id$…", "$2y$…", "$pbkdf2-sha256$…", "$scrypt$…") or,
	// for CRAM-MD5, the clear password ("{PLAIN}pencil"). Make one with
	// [HashPassword]. Empty means the account has no password; PLAIN then
	// checks against its SCRAM keys.
	Password string
	// SCRAM holds the account's SCRAM keys, at most one per hash.
	SCRAM []SCRAMKeys
	// NoPrep turns off SASLprep for this account: its name is matched and
	// its password compared byte for byte. It must match how Password and
	// SCRAM were made.
	NoPrep bool

	// Set by MemoryStore.Add, so that a check does not parse and prepare
	// the stored password again:
	cost     uint8             // what checking Password costs
	hasClear bool              // clear is set
	clearSum [sha256.Size]byte // SHA-256 of clear, for equalSum
	clearPad *[padLen]byte     // clear padded with zeros, for equalPadded; nil if longer
	seq      uint64            // the order of Add, which breaks ties in a MemoryStore's profile
	clear    string            // the prepared clear password
}

// AccountName returns a.Name.
func (a *Account) AccountName() string { return a.Name }

// CheckPassword checks password against a.Password or, if a has none,
// against its first SCRAM keys, after SASLprep unless a.NoPrep is set. An
// empty password never matches. It does the same work whether or not the
// password prepares, so that a prohibited character answers no faster
// than a wrong password.
func (a *Account) CheckPassword(password string) error {
	offered, ok := password, true
	if !a.NoPrep {
		p, err := prep.Query(password)
		if err == nil {
			offered = p
		} else {
			ok = false
		}
	}
	ok = ok && offered != ""
	var err error
	switch {
	case a.clearPad != nil:
		err = equalPadded(a.clearPad, len(a.clear), offered)
	case a.hasClear:
		err = equalSum(&a.clearSum, a.clear != "", offered)
	default:
		err = a.checkStored(offered)
	}
	if err != nil || !ok {
		return ErrBadCredentials
	}
	return nil
}

// checkStored checks the prepared password against a's stored secret, for
// an account whose prepared clear password is not at hand.
func (a *Account) checkStored(offered string) error {
	var err error
	switch clear, isClear := clearPassword(a.Password); {
	case isClear:
		if !a.NoPrep {
			if p, err := prep.Query(clear); err == nil {
				clear = p
			}
		}
		err = equalHashed(clear, offered)
	case a.Password != "":
		err = pwhash.Verify(a.Password, offered)
	case len(a.SCRAM) > 0:
		err = a.SCRAM[0].checkPassword(offered)
	default:
		err = ErrBadCredentials
	}
	return err
}

// ClearSecret returns the prepared password of an account whose Password
// is stored in the clear ("{PLAIN}…" or "{CLEARTEXT}…").
func (a *Account) ClearSecret() (string, bool) {
	if a.hasClear {
		return a.clear, true
	}
	s, ok := clearPassword(a.Password)
	if !ok || s == "" {
		return "", false
	}
	if a.NoPrep {
		return s, true
	}
	p, err := prep.Query(s)
	if err != nil {
		return "", false
	}
	return p, true
}

// SCRAMKeys returns a's keys for the hash named hash.
func (a *Account) SCRAMKeys(hash string) (SCRAMKeys, bool) {
	for _, k := range a.SCRAM {
		if k.Hash == hash {
			return k, true
		}
	}
	return SCRAMKeys{}, false
}

// equalHashed compares the offered password with a clear stored one, both
// prepared, in time that depends on neither's contents or length: both are
// hashed first.
func equalHashed(stored, offered string) error {
	a := sha256.Sum256([]byte(stored))
	return equalSum(&a, stored != "", offered)
}

// padLen is the longest clear password equalPadded compares; longer
// ones are compared by their hashes.
const padLen = 256

// equalPadded compares the offered password with a clear stored one of n
// octets, held padded with zeros, in time that depends only on the offered
// password's length (which the client knows), never on the stored one's
// length or either's contents: it reads the same prefix of the padding
// whatever n is, and compares the lengths in constant time. An empty
// stored password never matches.
func equalPadded(pad *[padLen]byte, n int, offered string) error {
	m := min(len(offered), padLen) // longer cannot match: n <= padLen
	var v byte
	for i := 0; i < m; i++ {
		v |= offered[i] ^ pad[i]
	}
	ok := subtle.ConstantTimeByteEq(v, 0) &
		subtle.ConstantTimeEq(int32(min(len(offered), padLen+1)), int32(n)) &
		(1 ^ subtle.ConstantTimeEq(int32(n), 0))
	if ok != 1 {
		return ErrBadCredentials
	}
	return nil
}

// equalSum is equalHashed with the stored password's SHA-256 made once,
// when the account was stored; ok false (an empty stored password) never
// matches.
func equalSum(stored *[sha256.Size]byte, ok bool, offered string) error {
	b := sha256.Sum256([]byte(offered))
	if !ok || subtle.ConstantTimeCompare(stored[:], b[:]) != 1 {
		return ErrBadCredentials
	}
	return nil
}

// clearPassword returns the password of a "{PLAIN}" or "{CLEARTEXT}"
// encoding.
func clearPassword(enc string) (string, bool) {
	rest, ok := strings.CutPrefix(enc, "{")
	if !ok {
		return "", false
	}
	scheme, pw, ok := strings.Cut(rest, "}")
	if !ok || !strings.EqualFold(scheme, "PLAIN") && !strings.EqualFold(scheme, "CLEARTEXT") {
		return "", false
	}
	return pw, true
}

// Validate reports whether a can be stored, as [MemoryStore.Add] and every
// [AccountWriter] check it: an error wrapping [ErrMisconfigured] for an
// empty or overlong name, a name or clear password that fails SASLprep, a
// password in no known encoding, or SCRAM keys that are malformed, below
// [MinSCRAMIterations] or two for one hash. The error names the account,
// never a secret.
func (a *Account) Validate() error { return a.validate() }

// validate checks a before it is stored.
func (a *Account) validate() error {
	if a.Name == "" || len(a.Name) > MaxInput {
		return fmt.Errorf("%w: account name is empty or longer than %d octets", ErrMisconfigured, MaxInput)
	}
	if !a.NoPrep {
		if _, err := prep.Stored(a.Name); err != nil {
			return fmt.Errorf("%w: account %q: name fails SASLprep: %v", ErrMisconfigured, a.Name, err)
		}
	}
	if a.Password != "" {
		if _, err := pwhash.Scheme(a.Password); err != nil {
			return fmt.Errorf("%w: account %q: password: %v", ErrMisconfigured, a.Name, err)
		}
		if s, ok := clearPassword(a.Password); ok && !a.NoPrep {
			if _, err := prep.Stored(s); err != nil || s == "" {
				return fmt.Errorf("%w: account %q: clear password is empty or fails SASLprep", ErrMisconfigured, a.Name)
			}
		}
	}
	seen := map[string]bool{}
	for _, k := range a.SCRAM {
		if err := k.validate(); err != nil {
			return fmt.Errorf("account %q: %w", a.Name, err)
		}
		if k.Iterations < MinSCRAMIterations {
			return fmt.Errorf("%w: account %q: SCRAM iteration count %d is below %d, which clients refuse", ErrMisconfigured, a.Name, k.Iterations, MinSCRAMIterations)
		}
		if seen[k.Hash] {
			return fmt.Errorf("%w: account %q: two sets of SCRAM-%s keys", ErrMisconfigured, a.Name, k.Hash)
		}
		seen[k.Hash] = true
	}
	return nil
}

// HashPassword prepares password with SASLprep and hashes it with h, for
// [Account.Password]. A nil h means [pwhash.Default] (Argon2id).
func HashPassword(password string, h pwhash.Hasher) (string, error) {
	p, err := prep.Stored(password)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", errors.New("saslkit/creds: empty password")
	}
	if h == nil {
		h = pwhash.Default
	}
	return h.Hash(p)
}

// Limits on stored SCRAM keys.
const (
	// MinSCRAMIterations is the least iteration count [DeriveSCRAMKeys]
	// accepts: RFC 7677 section 4 asks for at least 4096, and SCRAM
	// clients (this library's among them) refuse fewer.
	MinSCRAMIterations = 4096
	// MaxSCRAMIterations is the largest iteration count stored keys may
	// have (10,000,000).
	MaxSCRAMIterations = 10_000_000
	// MaxSCRAMSalt is the longest salt, in octets, of stored keys.
	MaxSCRAMSalt = 256
)

// SCRAMKeys is what a SCRAM server stores for an account and one hash
// (RFC 5802 section 3): the salt and iteration count of PBKDF2, and the
// StoredKey and ServerKey derived from the salted password. It holds no
// password.
type SCRAMKeys struct {
	// Hash names the hash function as SCRAM mechanism names do: "SHA-1",
	// "SHA-256", "SHA-512" or "SHA3-512".
	Hash string
	// Salt and Iterations are PBKDF2's salt and iteration count.
	Salt       []byte
	Iterations int
	// StoredKey is H(ClientKey) and ServerKey HMAC(SaltedPassword,
	// "Server Key"), each the hash's size.
	StoredKey []byte
	ServerKey []byte
}

// scramHash returns the SCRAM hash function named name and its size.
func scramHash(name string) (func() hash.Hash, int, bool) {
	switch name {
	case "SHA-1":
		return sha1.New, sha1.Size, true
	case "SHA-256":
		return sha256.New, sha256.Size, true
	case "SHA-512":
		return sha512.New, sha512.Size, true
	case "SHA3-512":
		return newSHA3_512, 64, true
	}
	return nil, 0, false
}

func newSHA3_512() hash.Hash { return sha3.New512() }

func (k *SCRAMKeys) validate() error {
	_, size, ok := scramHash(k.Hash)
	switch {
	case !ok:
		return fmt.Errorf("%w: unknown SCRAM hash", ErrMisconfigured)
	case len(k.Salt) == 0 || len(k.Salt) > MaxSCRAMSalt:
		return fmt.Errorf("%w: SCRAM salt of %d octets is outside 1..%d", ErrMisconfigured, len(k.Salt), MaxSCRAMSalt)
	case k.Iterations < 1 || k.Iterations > MaxSCRAMIterations:
		return fmt.Errorf("%w: SCRAM iteration count %d is outside 1..%d", ErrMisconfigured, k.Iterations, MaxSCRAMIterations)
	case len(k.StoredKey) != size || len(k.ServerKey) != size:
		return fmt.Errorf("%w: SCRAM-%s keys are not %d octets", ErrMisconfigured, k.Hash, size)
	}
	return nil
}

// checkPassword derives StoredKey from the prepared password and compares
// it with k's in constant time.
func (k *SCRAMKeys) checkPassword(password string) error {
	h, _, ok := scramHash(k.Hash)
	if !ok {
		return ErrBadCredentials
	}
	_, stored, _ := deriveSCRAM(h, password, k.Salt, k.Iterations)
	if subtle.ConstantTimeCompare(stored, k.StoredKey) != 1 {
		return ErrBadCredentials
	}
	return nil
}

// deriveSCRAM returns ClientKey, StoredKey and ServerKey.
func deriveSCRAM(h func() hash.Hash, password string, salt []byte, iter int) (client, stored, server []byte) {
	salted, err := pbkdf2.Key(h, password, salt, iter, h().Size())
	if err != nil {
		// Only FIPS-mode restrictions make pbkdf2 fail; SCRAM cannot run.
		panic("saslkit/creds: pbkdf2: " + err.Error())
	}
	m := hmac.New(h, salted)
	m.Write([]byte("Client Key"))
	client = m.Sum(nil)
	d := h()
	d.Write(client)
	stored = d.Sum(nil)
	m = hmac.New(h, salted)
	m.Write([]byte("Server Key"))
	server = m.Sum(nil)
	return client, stored, server
}

// DeriveSCRAMKeys prepares password with SASLprep (unless noprep is set)
// and derives the SCRAM keys for the hash named hash with salt and
// iterations. A nil salt means 16 random octets. The iteration count must
// be at least [MinSCRAMIterations], which SCRAM clients require.
func DeriveSCRAMKeys(hash, password string, salt []byte, iterations int, noprep bool) (SCRAMKeys, error) {
	h, _, ok := scramHash(hash)
	if !ok {
		return SCRAMKeys{}, fmt.Errorf("saslkit/creds: unknown SCRAM hash %q", hash)
	}
	if iterations < MinSCRAMIterations || iterations > MaxSCRAMIterations {
		return SCRAMKeys{}, fmt.Errorf("saslkit/creds: SCRAM iteration count %d is outside %d..%d", iterations, MinSCRAMIterations, MaxSCRAMIterations)
	}
	if salt == nil {
		salt = make([]byte, 16)
		if _, err := io.ReadFull(rand.Reader, salt); err != nil {
			return SCRAMKeys{}, err
		}
	}
	if len(salt) == 0 || len(salt) > MaxSCRAMSalt {
		return SCRAMKeys{}, fmt.Errorf("saslkit/creds: SCRAM salt of %d octets is outside 1..%d", len(salt), MaxSCRAMSalt)
	}
	if !noprep {
		p, err := prep.Stored(password)
		if err != nil {
			return SCRAMKeys{}, err
		}
		password = p
	}
	if password == "" {
		return SCRAMKeys{}, errors.New("saslkit/creds: empty password")
	}
	_, stored, server := deriveSCRAM(h, password, salt, iterations)
	return SCRAMKeys{Hash: hash, Salt: append([]byte(nil), salt...), Iterations: iterations, StoredKey: stored, ServerKey: server}, nil
}

// String describes k without its keys, so that printing an account (%v,
// a log line) never writes them out: "SCRAM-SHA-256 keys (4096
// iterations, 16-octet salt)". Use [SCRAMKeys.Dovecot] or
// [SCRAMKeys.RFC5803] to store them.
func (k SCRAMKeys) String() string {
	return "SCRAM-" + k.Hash + " keys (" + strconv.Itoa(k.Iterations) + " iterations, " + strconv.Itoa(len(k.Salt)) + "-octet salt)"
}

// GoString is String, for %#v.
func (k SCRAMKeys) GoString() string { return k.String() }

// Dovecot returns k in the form Dovecot and gsasl --mkpasswd use:
// "{SCRAM-SHA-256}4096,<salt>,<StoredKey>,<ServerKey>", base64 throughout.
func (k SCRAMKeys) Dovecot() string {
	e := base64.StdEncoding
	return "{SCRAM-" + k.Hash + "}" + strconv.Itoa(k.Iterations) + "," +
		e.EncodeToString(k.Salt) + "," + e.EncodeToString(k.StoredKey) + "," + e.EncodeToString(k.ServerKey)
}

// RFC5803 returns k in the form of RFC 5803 and PostgreSQL:
// "SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>".
func (k SCRAMKeys) RFC5803() string {
	e := base64.StdEncoding
	return "SCRAM-" + k.Hash + "$" + strconv.Itoa(k.Iterations) + ":" +
		e.EncodeToString(k.Salt) + "$" + e.EncodeToString(k.StoredKey) + ":" + e.EncodeToString(k.ServerKey)
}

// ErrBadSCRAMKeys means stored SCRAM keys are malformed. Its text never
// holds the keys.
var ErrBadSCRAMKeys = errors.New("saslkit/creds: malformed stored SCRAM keys")

// ParseSCRAMKeys parses stored SCRAM keys in either form:
//
//	{SCRAM-SHA-256}<iter>,<salt>,<StoredKey>,<ServerKey>   Dovecot, gsasl --mkpasswd
//	SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>    RFC 5803, PostgreSQL
//
// with standard base64. It returns an error wrapping [ErrBadSCRAMKeys].
func ParseSCRAMKeys(s string) (SCRAMKeys, error) {
	var name, iter, salt, stored, server string
	if rest, ok := strings.CutPrefix(s, "{"); ok {
		var body string
		name, body, ok = strings.Cut(rest, "}")
		if !ok {
			return SCRAMKeys{}, ErrBadSCRAMKeys
		}
		f := strings.Split(body, ",")
		if len(f) != 4 {
			return SCRAMKeys{}, ErrBadSCRAMKeys
		}
		iter, salt, stored, server = f[0], f[1], f[2], f[3]
	} else {
		f := strings.Split(s, "$")
		if len(f) != 3 {
			return SCRAMKeys{}, ErrBadSCRAMKeys
		}
		var ok1, ok2 bool
		name = f[0]
		iter, salt, ok1 = strings.Cut(f[1], ":")
		stored, server, ok2 = strings.Cut(f[2], ":")
		if !ok1 || !ok2 {
			return SCRAMKeys{}, ErrBadSCRAMKeys
		}
	}
	hname, ok := strings.CutPrefix(strings.ToUpper(name), "SCRAM-")
	if !ok {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	if _, _, ok := scramHash(hname); !ok {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	n, err := strconv.Atoi(iter)
	if err != nil || iter != strconv.Itoa(n) {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	k := SCRAMKeys{Hash: hname, Iterations: n}
	e := base64.StdEncoding.Strict()
	if k.Salt, err = e.DecodeString(salt); err != nil {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	if k.StoredKey, err = e.DecodeString(stored); err != nil {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	if k.ServerKey, err = e.DecodeString(server); err != nil {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	if k.validate() != nil {
		return SCRAMKeys{}, ErrBadSCRAMKeys
	}
	return k, nil
}
