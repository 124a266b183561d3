package mech_test

import (
	"context"
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/hash"
)

// testHasher is a cheap hasher, so that tests stay fast.
var testHasher = hash.PBKDF2{Digest: "sha256", Rounds: 1000}

// newVerifier returns a Verifier over a new MemoryStore that holds
// accounts.
func newVerifier(t testing.TB, accounts ...creds.Account) *creds.Verifier {
	t.Helper()
	store := new(creds.MemoryStore)
	for _, a := range accounts {
		if err := store.Add(a); err != nil {
			t.Fatal(err)
		}
	}
	return &creds.Verifier{Store: store}
}

// hashed returns password hashed with testHasher, for Account.Password.
func hashed(t testing.TB, password string) string {
	t.Helper()
	enc, err := creds.HashPassword(password, testHasher)
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// clearPW returns password in the clear encoding of Account.Password,
// which CRAM-MD5 needs.
func clearPW(password string) string { return "{PLAIN}" + password }

// failingStore is a Store whose lookups fail: a database that is down.
type failingStore struct{ err error }

func (s failingStore) Lookup(context.Context, string) (creds.Identity, error) { return nil, s.err }
func (s failingStore) Profile() creds.Profile                                 { return creds.Profile{ClearSecrets: true} }

// principal returns p's mechanism, account, authzid and effective
// identity, for comparison with cmp.Diff.
func principal(p *creds.Principal) []string {
	if p == nil {
		return nil
	}
	return []string{p.Mechanism(), p.Account(), p.Authzid(), p.Effective()}
}
