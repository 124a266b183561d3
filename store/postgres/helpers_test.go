package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
	"github.com/saslkit/saslkit/session"
)

// Cheap hashers: the tests compare paths through a store, not the
// hashes' strength.
var (
	cheapPBKDF2   = hash.PBKDF2{Digest: "sha256", Rounds: 1000}
	cheapBcrypt   = hash.Bcrypt{Cost: 4}
	cheapArgon2id = hash.Argon2id{Time: 1, Memory: 64, Threads: 1}
	cheapScrypt   = hash.Scrypt{N: 512, R: 8, P: 1}
)

// ignoreCache ignores creds.Account's unexported fields, which
// MemoryStore.Add sets and a database store does not.
var ignoreCache = cmpopts.IgnoreUnexported(creds.Account{})

// testCtx returns a context that ends with tb, or after d.
func testCtx(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}

// hashed returns password hashed with h.
func hashed(tb testing.TB, password string, h hash.Hasher) string {
	tb.Helper()
	enc, err := creds.HashPassword(password, h)
	if err != nil {
		tb.Fatal(err)
	}
	return enc
}

// keys returns the SCRAM keys of password for the hash named h, with a
// salt of saltLen random octets.
func keys(tb testing.TB, h, password string, saltLen, iter int) creds.SCRAMKeys {
	tb.Helper()
	salt := make([]byte, saltLen)
	for i := range salt {
		salt[i] = byte(i*7 + len(password))
	}
	k, err := creds.DeriveSCRAMKeys(h, password, salt, iter, false)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// scramHash returns the mechanism hash named h.
func scramHash(h string) scram.Hash {
	for _, x := range scram.Hashes {
		if x.Name() == h {
			return x
		}
	}
	panic("no SCRAM hash " + h)
}

// scramLogin runs a SCRAM exchange for hash h, client against a server on
// store, and returns the account that logged in.
func scramLogin(ctx context.Context, store creds.Store, h, user, password string) (string, error) {
	m := scram.Mechanism{Hash: scramHash(h)}
	srv, err := session.NewServer(m, mech.Channel{}, &session.Config{Verifier: &creds.Verifier{Store: store}})
	if err != nil {
		return "", err
	}
	cli := session.NewClient(m, creds.Client{Authcid: user, Password: password}, mech.Channel{}, nil)
	p, err := session.Run(ctx, cli, srv, nil)
	if err != nil {
		return "", err
	}
	return p.Account(), nil
}

// costClass names what checking a's password costs, as
// creds.MemoryStore's Profile counts it: the password without its salt
// and digest, or the first SCRAM keys' hash and iteration count.
func costClass(a *creds.Account) string {
	switch {
	case a == nil:
		return "<nil>"
	case a.Password != "":
		f := strings.Split(a.Password, "$")
		drop := 2
		if len(f) < 5 {
			drop = 1
		}
		return strings.Join(f[:len(f)-drop], "$")
	case len(a.SCRAM) > 0:
		return "scram:" + a.SCRAM[0].Hash + ":" + strconv.Itoa(a.SCRAM[0].Iterations)
	}
	return "none"
}
