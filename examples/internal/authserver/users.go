package authserver

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
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
	// "SCRAM-SHA-256" or "BLF-CRYPT"; "TOKEN" for a bearer token.
	Scheme string
}

// Users is the accounts of a passwd-file: the identities that PLAIN, LOGIN,
// CRAM-MD5 and the IMAP LOGIN command verify against, and the SCRAM keys.
// It implements [creds.IdentityStore] and [scram.Store], and is safe for
// concurrent use once loaded.
type Users struct {
	ids      creds.MapStore
	keys     scram.MemoryStore
	accounts []Account
	derive   []scram.Hash // the hashes to derive {PLAIN} users' keys for
	// iterations counts, per SCRAM hash name, the users at each iteration
	// count, for the count given to unknown users.
	iterations map[string]map[int]int
}

// Identity implements [creds.IdentityStore]. For an unknown user it returns
// a decoy ([creds.Decoy]) that costs what a hashed user costs to verify, or
// nil when every user's password is stored in the clear.
func (u *Users) Identity(ctx context.Context, name string) (creds.Identity, error) {
	return u.ids.Identity(ctx, name)
}

// Keys implements [scram.Store].
func (u *Users) Keys(ctx context.Context, h scram.Hash, name string) (scram.Keys, error) {
	return u.keys.Keys(ctx, h, name)
}

// Accounts lists the users in file order.
func (u *Users) Accounts() []Account { return append([]Account(nil), u.accounts...) }

// MockIterations returns the iteration count most users have for h, for
// the SCRAM server to give unknown users, so that the count does not tell
// them apart.
func (u *Users) MockIterations(h scram.Hash) int {
	best, n := SCRAMIterations, 0
	for it, c := range u.iterations[h.Name()] {
		if c > n || c == n && it < best {
			best, n = it, c
		}
	}
	return best
}

func (u *Users) countIterations(h scram.Hash, it int) {
	if u.iterations == nil {
		u.iterations = make(map[string]map[int]int)
	}
	m := u.iterations[h.Name()]
	if m == nil {
		m = make(map[int]int)
		u.iterations[h.Name()] = m
	}
	m[it]++
}

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
// in derive (the hashes of the SCRAM mechanisms offered), as Dovecot does. A {SCRAM-…} user can use SCRAM with that hash, and
// PLAIN and LOGIN, which verify the password against the stored keys. A
// hashed user can use PLAIN and LOGIN only.
//
// The error names the line but never quotes it.
func ParseUsers(r io.Reader, derive []scram.Hash) (*Users, error) {
	u := &Users{derive: derive}
	var decoy string // a hash that costs what a real one costs
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
		password, _, _ := strings.Cut(rest, ":")
		acct, id, err := u.parsePassword(name, password)
		if err != nil {
			return nil, fmt.Errorf("users file line %d: %w", n, err)
		}
		if id != nil {
			u.ids.Add(id)
		}
		u.accounts = append(u.accounts, acct)
		if decoy == "" {
			decoy = decoyHash(id)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	if decoy != "" {
		u.ids.SetDecoy(creds.Decoy(decoy))
	}
	return u, nil
}

// parsePassword turns one password field into an identity and SCRAM keys.
func (u *Users) parsePassword(name, password string) (Account, creds.Identity, error) {
	if password == "" {
		return Account{Name: name, Scheme: "NONE"}, nil, nil
	}
	scheme := ""
	if rest, ok := strings.CutPrefix(password, "{"); ok {
		s, _, ok := strings.Cut(rest, "}")
		if !ok {
			return Account{}, nil, fmt.Errorf("unterminated {SCHEME}")
		}
		scheme = strings.ToUpper(s)
	}
	switch {
	case scheme == "PLAIN" || scheme == "CLEARTEXT":
		secret := password[len(scheme)+2:]
		id := creds.ClearIdentity{Name: name, Password: secret}
		if _, ok := id.Secret(); !ok || secret == "" {
			return Account{}, nil, fmt.Errorf("{%s} password is empty or fails SASLprep", scheme)
		}
		for _, h := range u.derive {
			k, err := scram.Derive(h, secret, nil, SCRAMIterations, false)
			if err != nil {
				return Account{}, nil, fmt.Errorf("deriving SCRAM keys: %w", err)
			}
			if err := u.keys.SetKeys(context.Background(), h, name, k); err != nil {
				return Account{}, nil, err
			}
			u.countIterations(h, SCRAMIterations)
		}
		return Account{Name: name, Scheme: "PLAIN"}, id, nil
	case strings.HasPrefix(scheme, "SCRAM-"):
		h, k, err := scram.ParseStored(password)
		if err != nil {
			return Account{}, nil, fmt.Errorf("{%s}: %w", scheme, err)
		}
		if err := u.keys.SetKeys(context.Background(), h, name, k); err != nil {
			return Account{}, nil, err
		}
		u.countIterations(h, k.Iterations)
		return Account{Name: name, Scheme: h.Mechanism(false)}, scram.Identity{Name: name, Hash: h, Keys: k}, nil
	}
	s, err := hash.Scheme(password)
	if err != nil {
		if scheme == "" {
			return Account{}, nil, fmt.Errorf("password has no {SCHEME} and is no known hash (Dovecot's default CRYPT is not supported): %w", err)
		}
		return Account{}, nil, err
	}
	if scheme == "" {
		scheme = strings.ToUpper(s)
	}
	return Account{Name: name, Scheme: scheme}, creds.HashedIdentity{Name: name, Hash: password}, nil
}

// decoyHash returns an encoded hash whose verification costs what verifying
// id costs, or "" when id is stored in the clear.
func decoyHash(id creds.Identity) string {
	switch id := id.(type) {
	case creds.HashedIdentity:
		// The decoy never matches whatever its hash, so a real user's hash
		// is as good as a fresh one of the same cost, and needs no parsing
		// of the cost parameters.
		return id.Hash
	case scram.Identity:
		// PLAIN against stored SCRAM keys runs PBKDF2 with the keys' hash
		// and iteration count.
		digest := map[string]string{"SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}[id.Hash.Name()]
		if digest == "" {
			digest = "sha512"
		}
		enc, err := hash.PBKDF2{Digest: digest, Rounds: id.Keys.Iterations}.Hash(randomSecret())
		if err != nil {
			return ""
		}
		return enc
	}
	return ""
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
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
// an authzid), anyone's. It sets r.Subject to the token's holder. A refused
// token gives [mech.ErrAuthFailed], for the mechanism to send its JSON
// error. The comparison is in constant time, of SHA-256 sums so that the
// token's length does not show either.
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
