package storetest_test

import (
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/storetest"
)

// TestMemoryStore holds the in-memory store to the suite, as every other
// backend is.
func TestMemoryStore(t *testing.T) {
	storetest.Run(t, storetest.Setup{
		New: func(t *testing.T, accounts []creds.Account) creds.Store {
			var s creds.MemoryStore
			for _, a := range accounts {
				if err := s.Add(a); err != nil {
					t.Fatal(err)
				}
			}
			return &s
		},
	})
}
