package postgres

import (
	"testing"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/creds/storetest"
)

// TestStoretest runs the store conformance suite against the store, each
// property with a fresh schema of the shared cluster.
func TestStoretest(t *testing.T) {
	storetest.Run(t, storetest.Setup{
		New: func(t *testing.T, accounts []creds.Account) creds.Store {
			return newTestStore(t, nil, accounts...)
		},
	})
}
