package ldapstore

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/saslkit/saslkit/creds"
	pwhash "github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/creds/storetest"
)

// userPasswordOf maps an Account.Password (package creds/hash's
// encodings) to the userPassword value of the same hash that slapd reads:
//
//	$2a$… $2b$… $2y$…          {CRYPT}$2a$…
//	$argon2id$…                {ARGON2}$argon2id$…
//	$pbkdf2-sha256$r$salt$key   {PBKDF2-SHA256}r$salt$key, adapted base64
//	                           (and $pbkdf2-sha512$, $pbkdf2$ as SHA-1)
//	{PLAIN}pw, {CLEARTEXT}pw   pw (clear: no scheme)
//
// $scrypt$ has no userPassword scheme: ok is false.
func userPasswordOf(p string) (v string, ok bool) {
	if scheme, data, isScheme := splitScheme(p); isScheme {
		switch scheme {
		case "PLAIN", "CLEARTEXT":
			if strings.HasPrefix(data, "{") {
				return "{CLEARTEXT}" + data, true
			}
			return data, true
		case "BLF-CRYPT", "BCRYPT", "ARGON2ID", "PBKDF2":
			return userPasswordOf(data)
		}
		return "", false
	}
	switch {
	case strings.HasPrefix(p, "$2a$"), strings.HasPrefix(p, "$2b$"), strings.HasPrefix(p, "$2y$"):
		return "{CRYPT}" + p, true
	case strings.HasPrefix(p, "$argon2id$"):
		return "{ARGON2}" + p, true
	case strings.HasPrefix(p, "$pbkdf2"):
		f := strings.Split(p, "$") // "", "pbkdf2-sha256", rounds, salt, key
		if len(f) != 5 {
			return "", false
		}
		scheme := map[string]string{"pbkdf2": "PBKDF2-SHA1", "pbkdf2-sha256": "PBKDF2-SHA256", "pbkdf2-sha512": "PBKDF2-SHA512"}[f[1]]
		salt, err1 := decodeAB64(f[3])
		key, err2 := decodeAB64(f[4])
		if scheme == "" || err1 != nil || err2 != nil {
			return "", false
		}
		return "{" + scheme + "}" + f[2] + "$" + ab64(salt) + "$" + ab64(key), true
	}
	return "", false
}

// ab64 encodes b in passlib's adapted base64, as OpenLDAP writes it.
func ab64(b []byte) string {
	return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".")
}

// entriesOf returns the entries of accounts: uid the name, userPassword
// the mapped password, authPassword the SCRAM keys (RFC 5803).
func entriesOf(t *testing.T, accounts []creds.Account) []entry {
	t.Helper()
	var out []entry
	for i, a := range accounts {
		if a.NoPrep {
			t.Fatalf("account %q: a directory has no per-account NoPrep", a.Name)
		}
		e := entry{cn: fmt.Sprintf("u%d", i), uid: []string{a.Name}}
		if a.Password != "" {
			v, ok := userPasswordOf(a.Password)
			if !ok {
				t.Fatalf("account %q: no userPassword scheme for its password", a.Name)
			}
			e.pw = []string{v}
		}
		for _, k := range a.SCRAM {
			e.auth = append(e.auth, k.RFC5803())
		}
		out = append(out, e)
	}
	return out
}

// TestStoretest runs the store conformance suite against slapd, the
// store reading userPassword and authPassword as the reader. Every
// encoding but $scrypt$ maps to a userPassword scheme.
func TestStoretest(t *testing.T) {
	d := startSlapd(t)
	storetest.Run(t, storetest.Setup{
		New: func(t *testing.T, accounts []creds.Account) creds.Store {
			base := d.ou()
			if len(accounts) > 0 {
				d.addEntries(base, entriesOf(t, accounts)...)
			}
			return open(t, d.config(base))
		},
		Schemes: []string{"$argon2id$", "$2a$", "$pbkdf2-sha256$", "{PLAIN}"},
	})
}

// TestStoretestBindVerify runs the suite with BindVerify, searching as the
// searcher, which reads no password attribute: slapd checks every
// password. The decoy is a real entry of the accounts' scheme with a
// random password, so that slapd hashes for an unknown user as for a
// wrong password. The searcher reads no SCRAM keys, and clear passwords
// stay in the directory.
func TestStoretestBindVerify(t *testing.T) {
	d := startSlapd(t)
	storetest.Run(t, storetest.Setup{
		New: func(t *testing.T, accounts []creds.Account) creds.Store {
			base := d.ou()
			cfg := d.config(base)
			cfg.BindDN, cfg.BindVerify = searcherDN, true
			// The decoy entry has a random password, in the accounts'
			// scheme and cost.
			var b [16]byte
			rand.Read(b[:])
			like := "$2a$04$"
			if len(accounts) > 0 {
				like = accounts[0].Password
			}
			entries := append(entriesOf(t, accounts), entry{cn: "decoy", pw: []string{decoyOf(t, like, hex.EncodeToString(b[:]))}})
			d.addEntries(base, entries...)
			cfg.DecoyDN = "cn=decoy," + base
			return open(t, cfg)
		},
		Schemes: []string{"$argon2id$", "$2a$", "$pbkdf2-sha256$"},
		NoSCRAM: true,
		NoClear: true,
	})
}

// decoyOf returns a userPassword value of password in the scheme and cost
// of the Account.Password like.
func decoyOf(t *testing.T, like, password string) string {
	t.Helper()
	var h pwhash.Hasher
	switch {
	case strings.HasPrefix(like, "$argon2id$"):
		c, err := parseValue("{ARGON2}" + like)
		if err != nil {
			t.Fatal(err)
		}
		a := c.(*argon2Value)
		h = pwhash.Argon2id{Time: a.t, Memory: a.m, Threads: a.p, KeyLen: uint32(len(a.tag)), SaltLen: len(a.salt)}
	case strings.HasPrefix(like, "$2"):
		cost := 0
		fmt.Sscanf(strings.Split(like, "$")[2], "%d", &cost)
		h = pwhash.Bcrypt{Cost: cost}
	case strings.HasPrefix(like, "$pbkdf2-sha256$"):
		rounds := 0
		fmt.Sscanf(strings.Split(like, "$")[2], "%d", &rounds)
		h = pwhash.PBKDF2{Digest: "sha256", Rounds: rounds}
	default:
		t.Fatalf("no decoy for %.10q", like)
	}
	enc, err := h.Hash(password)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := userPasswordOf(enc)
	if !ok {
		t.Fatal("decoy does not map")
	}
	return v
}
