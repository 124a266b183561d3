package pgsasl

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/saslkit/saslkit/creds"
)

// ErrKeysFile means a keys file is malformed. The error names the line,
// never its content: a line holds a user's keys.
var ErrKeysFile = errors.New("pgsasl: malformed keys file")

// keysMark separates the user from the keys on a line of a keys file.
const keysMark = ":SCRAM-SHA-256$"

// ReadKeys reads accounts from r, one a line, in the form
//
//	user:SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>
//
// which is a role's name and its pg_authid.rolpassword, as
//
//	SELECT rolname || ':' || rolpassword FROM pg_authid WHERE rolpassword LIKE 'SCRAM-SHA-256$%'
//
// prints them. Blank lines and lines starting with "#" are skipped. The user
// is everything before the last ":SCRAM-SHA-256$" on the line, so a role
// name may hold colons. Names are matched byte for byte, as PostgreSQL
// matches role names (creds.Account.NoPrep); PostgreSQL made the keys from
// the password prepared with SASLprep, as saslkit's client prepares it.
//
// A malformed line, or a user given twice, is an error wrapping
// [ErrKeysFile] (or [creds.ErrBadSCRAMKeys] for keys that do not parse).
func ReadKeys(r io.Reader) (*creds.MemoryStore, error) {
	store := &creds.MemoryStore{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, keysMark)
		if i <= 0 {
			return nil, fmt.Errorf("%w: line %d: want user:SCRAM-SHA-256$…", ErrKeysFile, n)
		}
		keys, err := creds.ParseSCRAMKeys(line[i+1:])
		if err != nil {
			return nil, fmt.Errorf("pgsasl: keys file line %d: %w", n, err)
		}
		if err := store.Add(creds.Account{Name: line[:i], SCRAM: []creds.SCRAMKeys{keys}, NoPrep: true}); err != nil {
			return nil, fmt.Errorf("%w: line %d: %w", ErrKeysFile, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pgsasl: reading keys: %w", err)
	}
	return store, nil
}
