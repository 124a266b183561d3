package authserver

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/creds/prep"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// SCRAMIterations is the iteration count of the SCRAM keys derived at load
// for {PLAIN} users, as Dovecot derives them.
const SCRAMIterations = 4096

// Account describes one loaded user, without any secret, for the servers to
// print at start.
type Account struct {
	// Name is the user name.
	Name string
	// Scheme is the password scheme in upper case, such as "PLAIN",
	// "SCRAM-SHA-256" or "BLF-CRYPT"; "NONE" for a user without a
	// password, "TOKEN" for a bearer token.
	Scheme string
}

// Users is the accounts of a passwd-file, one [creds.Account] record per
// line in a [creds.MemoryStore]: the password (PLAIN, LOGIN, the IMAP LOGIN
// command, and CRAM-MD5 when it is stored in the clear) and the SCRAM keys
// of the same user. It implements [creds.Store], for a [creds.Verifier],
// and is safe for concurrent use once loaded.
//
// What an unknown user is checked against (a password decoy of the usual
// cost, mock SCRAM keys of the usual salt length and iteration count)
// follows from the store's [creds.MemoryStore.Profile]; the Verifier makes
// it.
type Users struct {
	store    creds.MemoryStore
	accounts []Account
}

// Lookup implements [creds.Store].
func (u *Users) Lookup(ctx context.Context, name string) (creds.Identity, error) {
	return u.store.Lookup(ctx, name)
}

// Profile implements [creds.Store].
func (u *Users) Profile() creds.Profile { return u.store.Profile() }

// Len returns the number of users.
func (u *Users) Len() int { return u.store.Len() }

// Accounts lists the users in file order.
func (u *Users) Accounts() []Account { return append([]Account(nil), u.accounts...) }

// ParseUsers reads a Dovecot passwd-file: one "name:password" line per
// user, where any further colon-separated fields (uid, gid, home, extra
// fields) are ignored, blank lines and lines starting with "#" are skipped,
// and the password is one of
//
//	{PLAIN}secret, {CLEARTEXT}secret          the password in the clear
//	{SCRAM-SHA-1}4096,salt,StoredKey,ServerKey  stored SCRAM keys (also
//	{SCRAM-SHA-256}…, {SCRAM-SHA-512}…)         SHA-256 and SHA-512)
//	{BLF-CRYPT}$2y$…, {BCRYPT}$2y$…, $2y$…     bcrypt
//	{ARGON2ID}$argon2id$…, $argon2id$…          Argon2id
//	{PBKDF2}$pbkdf2-sha256$…, $pbkdf2…$…        pysasl/passlib PBKDF2
//
// An empty password (Dovecot's "user:::::::nopassword=y") gives a user who
// cannot log in with a password. Scheme names ignore case.
//
// A {PLAIN} user can use every mechanism: SCRAM keys are derived for it at
// load, with a random salt and [SCRAMIterations] iterations, for each hash
// in derive (the hashes of the SCRAM mechanisms offered), as Dovecot does.
// A {SCRAM-…} user can use SCRAM with that hash, and PLAIN and LOGIN, which
// check the password against the stored keys. A hashed user can use PLAIN
// and LOGIN only.
//
// User names are compared after SASLprep (RFC 4013), so two lines whose
// names are the same string after SASLprep ("alice" and "ａｌｉｃｅ"), or
// one name given twice, are an error: a client could not tell which
// account it logs in to. Errors name the line, and may name the users, but
// never quote a password or the line.
func ParseUsers(r io.Reader, derive []scram.Hash) (*Users, error) {
	u := &Users{}
	type seen struct {
		name string
		line int
	}
	first := make(map[string]seen) // by prepared name
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("users file line %d: want name:password", n)
		}
		key, err := prep.Stored(name)
		if err != nil {
			// The error gives the rule and an offset, never the name.
			return nil, fmt.Errorf("users file line %d: user name fails SASLprep: %w", n, err)
		}
		if f, dup := first[key]; dup && f.name == name {
			return nil, fmt.Errorf("users file line %d: user %q is already on line %d", n, name, f.line)
		} else if dup {
			return nil, fmt.Errorf("users file line %d: user %q is the same as user %q of line %d after SASLprep (both are %q)", n, name, f.name, f.line, key)
		}
		password, _, _ := strings.Cut(rest, ":")
		acct, rec, err := parsePassword(name, password, derive)
		if err != nil {
			return nil, fmt.Errorf("users file line %d: %w", n, err)
		}
		if err := u.store.Add(rec); err != nil {
			// Add names the accounts and what is wrong, never a secret.
			return nil, fmt.Errorf("users file line %d: %w", n, err)
		}
		first[key] = seen{name, n}
		u.accounts = append(u.accounts, acct)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	return u, nil
}

// parsePassword turns one password field into the account record and its
// description.
func parsePassword(name, password string, derive []scram.Hash) (Account, creds.Account, error) {
	rec := creds.Account{Name: name}
	if password == "" {
		return Account{Name: name, Scheme: "NONE"}, rec, nil
	}
	scheme := ""
	if rest, ok := strings.CutPrefix(password, "{"); ok {
		s, _, ok := strings.Cut(rest, "}")
		if !ok {
			return Account{}, rec, fmt.Errorf("unterminated {SCHEME}")
		}
		scheme = strings.ToUpper(s)
	}
	switch {
	case scheme == "PLAIN" || scheme == "CLEARTEXT":
		secret := password[len(scheme)+2:]
		p, err := prep.Stored(secret)
		if err != nil || p == "" {
			return Account{}, rec, fmt.Errorf("{%s} password is empty or fails SASLprep", scheme)
		}
		// Kept in the clear, which CRAM-MD5 needs, and prepared, as
		// creds.HashPassword prepares a password before it hashes it.
		rec.Password = "{PLAIN}" + p
		for _, h := range derive {
			k, err := creds.DeriveSCRAMKeys(h.Name(), secret, nil, SCRAMIterations, false)
			if err != nil {
				return Account{}, rec, fmt.Errorf("deriving SCRAM-%s keys failed", h.Name())
			}
			rec.SCRAM = append(rec.SCRAM, k)
		}
		return Account{Name: name, Scheme: "PLAIN"}, rec, nil
	case strings.HasPrefix(scheme, "SCRAM-"):
		k, err := creds.ParseSCRAMKeys(password)
		if err != nil {
			// Not the scheme name either: it is part of the line.
			return Account{}, rec, fmt.Errorf("stored SCRAM keys: %w", err)
		}
		if k.Iterations < creds.MinSCRAMIterations {
			return Account{}, rec, fmt.Errorf("stored SCRAM-%s keys: iteration count %d is below %d, which clients refuse", k.Hash, k.Iterations, creds.MinSCRAMIterations)
		}
		rec.SCRAM = []creds.SCRAMKeys{k}
		return Account{Name: name, Scheme: "SCRAM-" + k.Hash}, rec, nil
	}
	s, err := hash.Scheme(password)
	if err != nil {
		if scheme == "" {
			return Account{}, rec, fmt.Errorf("password has no {SCHEME} and is no known hash (Dovecot's default CRYPT is not supported): %w", err)
		}
		return Account{}, rec, err
	}
	if s == "plain" {
		// Scheme resolves only {PLAIN} and {CLEARTEXT} to plain, both
		// handled above.
		return Account{}, rec, fmt.Errorf("unexpected clear password")
	}
	if scheme == "" {
		scheme = strings.ToUpper(s)
	}
	rec.Password = password
	return Account{Name: name, Scheme: scheme}, rec, nil
}

// Tokens holds bearer tokens for XOAUTH2 and OAUTHBEARER. It implements
// [mech.TokenValidator] and is safe for concurrent use once loaded.
type Tokens struct {
	names  []string
	tokens [][sha256.Size]byte // sha256 of each token, by index in names
	byName map[string]int
}

// ParseTokens reads "name:token" lines; blank lines and lines starting with
// "#" are skipped. A user has at most one token. The error names the line
// but never quotes it.
func ParseTokens(r io.Reader) (*Tokens, error) {
	t := &Tokens{byName: make(map[string]int)}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, token, ok := strings.Cut(line, ":")
		switch {
		case !ok || name == "" || token == "":
			return nil, fmt.Errorf("tokens file line %d: want name:token", n)
		case len(token) > mech.MaxToken:
			return nil, fmt.Errorf("tokens file line %d: token longer than %d octets", n, mech.MaxToken)
		}
		if _, dup := t.byName[name]; dup {
			return nil, fmt.Errorf("tokens file line %d: second token for a user", n)
		}
		t.byName[name] = len(t.names)
		t.names = append(t.names, name)
		t.tokens = append(t.tokens, sha256.Sum256([]byte(token)))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("tokens file: %w", err)
	}
	return t, nil
}

// Len returns the number of tokens.
func (t *Tokens) Len() int { return len(t.names) }

// Accounts lists the token holders in file order, with Scheme "TOKEN".
func (t *Tokens) Accounts() []Account {
	a := make([]Account, len(t.names))
	for i, n := range t.names {
		a[i] = Account{Name: n, Scheme: "TOKEN"}
	}
	return a
}

// ValidateToken implements [mech.TokenValidator]: the token must be the one
// the file holds for r.User, or, when r.User is empty (OAUTHBEARER without
// an authzid), anyone's. It sets r.Subject to the token's holder, which
// becomes the account that logged in. A refused token gives
// [mech.ErrAuthFailed], for the mechanism to send its JSON error. The
// comparison is in constant time, of SHA-256 sums so that the token's
// length does not show either.
func (t *Tokens) ValidateToken(_ context.Context, r *mech.TokenRequest) error {
	got := sha256.Sum256([]byte(r.Token))
	if r.User != "" {
		i, ok := t.byName[r.User]
		want := [sha256.Size]byte{} // an unknown user costs one comparison too
		if ok {
			want = t.tokens[i]
		}
		if subtle.ConstantTimeCompare(want[:], got[:]) == 1 && ok {
			r.Subject = r.User
			return nil
		}
		return mech.ErrAuthFailed
	}
	found := -1
	for i := range t.tokens {
		if subtle.ConstantTimeCompare(t.tokens[i][:], got[:]) == 1 && found < 0 {
			found = i
		}
	}
	if found < 0 {
		return mech.ErrAuthFailed
	}
	r.Subject = t.names[found]
	return nil
}
