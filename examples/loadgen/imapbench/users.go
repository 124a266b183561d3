package imapbench

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// The groups of accounts [WriteUsers] writes, one password scheme each.
const (
	// GroupPlain holds {PLAIN} passwords.
	GroupPlain = "plain"
	// GroupWrong holds {PLAIN} passwords too, for the refusal runs, kept
	// apart so that no account both succeeds and fails.
	GroupWrong = "wrong"
	// GroupBcrypt holds {BLF-CRYPT} bcrypt hashes of cost [BcryptCost].
	GroupBcrypt = "bcrypt"
	// GroupArgon2id holds {ARGON2ID} hashes with the parameters given to
	// WriteUsers.
	GroupArgon2id = "argon2id"
	// GroupSCRAM holds stored SCRAM-SHA-256 keys, {SCRAM-SHA-256} with
	// [SCRAMIterations] iterations.
	GroupSCRAM = "scram"
)

// Groups lists the groups in the order the file holds them.
var Groups = []string{GroupPlain, GroupWrong, GroupBcrypt, GroupArgon2id, GroupSCRAM}

// BcryptCost is the bcrypt cost of GroupBcrypt.
const BcryptCost = 5

// SCRAMIterations is the iteration count of GroupSCRAM's keys, the least
// RFC 7677 allows and the count Dovecot uses.
const SCRAMIterations = 4096

// Users holds the accounts of each group.
type Users map[string][]Account

// WriteUsers writes a Dovecot passwd-file ("name:{SCHEME}data" lines,
// which both examples/imapserver and Dovecot's passwd-file passdb read) to
// path, with n accounts in each of groups, named after the group
// ("bcrypt007") and with random passwords, and returns them. argon gives
// the Argon2id parameters. bcrypt hashes are written as "$2y$", the prefix
// Dovecot writes, which is the same algorithm as Go's "$2a$".
//
// What a file mixes matters to examples/imapserver: its store pads the
// check of a {PLAIN} password to the cost of the file's most common hash
// ([creds.Profile].PasswordDecoy), so that a clear account cannot be told
// from a hashed one by timing; Dovecot does not.
func WriteUsers(path string, groups []string, n int, argon hash.Argon2id) (Users, error) {
	users := make(Users)
	var b strings.Builder
	for _, g := range groups {
		for i := range n {
			a := Account{Name: fmt.Sprintf("%s%03d", g, i), Password: randomPassword()}
			var stored string
			switch g {
			case GroupPlain, GroupWrong:
				stored = "{PLAIN}" + a.Password
			case GroupBcrypt:
				h, err := hash.Bcrypt{Cost: BcryptCost}.Hash(a.Password)
				if err != nil {
					return nil, err
				}
				stored = "{BLF-CRYPT}" + strings.Replace(h, "$2a$", "$2y$", 1)
			case GroupArgon2id:
				h, err := argon.Hash(a.Password)
				if err != nil {
					return nil, err
				}
				stored = "{ARGON2ID}" + h
			case GroupSCRAM:
				k, err := creds.DeriveSCRAMKeys("SHA-256", a.Password, nil, SCRAMIterations, false)
				if err != nil {
					return nil, err
				}
				stored = k.Dovecot()
			default:
				return nil, fmt.Errorf("imapbench: unknown group %q", g)
			}
			fmt.Fprintf(&b, "%s:%s\n", a.Name, stored)
			users[g] = append(users[g], a)
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	return users, nil
}

func randomPassword() string {
	b := make([]byte, 12)
	rand.Read(b) // never fails (crypto/rand)
	return "pw-" + hex.EncodeToString(b)
}
