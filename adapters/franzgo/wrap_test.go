package franzgo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/saslkit/saslkit/adapters/franzgo"
	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/mech"
	"github.com/saslkit/saslkit/mech/scram"
)

// TestErrorThroughClient: an error of the session reaches the franz-go
// caller, where errors.Is finds saslkit's sentinel.
func TestErrorThroughClient(t *testing.T) {
	c := newCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimout)
	defer cancel()
	// An empty user name cannot be sent.
	m, err := franzgo.New(scram.Mechanism{}, creds.Client{Password: password}, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(m))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); !errors.Is(err, mech.ErrInvalidCredentials) {
		t.Fatalf("Ping = %v, want an error wrapping mech.ErrInvalidCredentials", err)
	}
}
